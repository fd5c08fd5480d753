//! Input schemas: generated from the input type, published as JSON Schema
//! (draft 2020-12) and enforced with a compiled validator, so the schema a
//! client reads is the one its input is checked against.
//!
//! The validator is compiled as draft 7. The documents are written with
//! subschemas inline and only keywords that mean the same in both drafts
//! (see [`SAME_IN_DRAFT_7`]; formats are annotations, as in 2020-12), so
//! the check is the published one; and it spares the process jsonschema's
//! draft 2020-12 meta-schema validator, built on first use and kept for
//! good, which weighs some 15 MB.

use jsonschema::{Draft, Validator, error::ValidationErrorKind};
use schemars::{JsonSchema, generate::SchemaSettings};
use serde_json::Value;

use crate::validation::{FieldError, FieldErrors};

pub(crate) struct InputSchema {
    document: Value,
    validator: Validator,
}

impl InputSchema {
    pub(crate) fn of<T: JsonSchema>() -> Self {
        let mut settings = SchemaSettings::draft2020_12();
        settings.inline_subschemas = true;
        let document = settings
            .into_generator()
            .into_root_schema_for::<T>()
            .to_value();
        let validator = draft_7_validator(&document).unwrap_or_else(|e| {
            panic!(
                "the generated schema of {} is invalid: {e}",
                T::schema_name()
            )
        });
        Self {
            document,
            validator,
        }
    }

    pub(crate) fn document(&self) -> &Value {
        &self.document
    }

    /// The violations of the schema, each naming its field relative to the
    /// input: the first [`FieldErrors::MAX`] described, the rest counted.
    /// Messages quote the offending value, shortened (see [`FieldError::new`]).
    pub(crate) fn violations(&self, input: &Value) -> FieldErrors {
        let mut errors = FieldErrors::new();
        for error in self.validator.iter_errors(input) {
            if errors.is_full() {
                // Counting is cheap; describing means formatting the value.
                errors.omit(match &error.kind {
                    ValidationErrorKind::AdditionalProperties { unexpected } => unexpected.len(),
                    _ => 1,
                });
                continue;
            }
            let path = dotted(error.instance_path.as_str());
            match &error.kind {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    for name in unexpected {
                        errors.push(FieldError::new(join(&path, name), "is not a known field"));
                    }
                }
                ValidationErrorKind::Required { property } => {
                    let name = property.as_str().unwrap_or_default();
                    errors.push(FieldError::new(join(&path, name), "is required"));
                }
                ValidationErrorKind::OneOfNotValid { .. } => errors.push(FieldError::new(
                    path,
                    "matches none of the allowed forms (see the kind's input schema)",
                )),
                ValidationErrorKind::OneOfMultipleValid { .. } => errors.push(FieldError::new(
                    path,
                    "matches more than one of the allowed forms",
                )),
                _ => errors.push(FieldError::new(path, error.to_string())),
            }
        }
        errors
    }
}

/// The keywords input schemas may use: those that mean the same in draft 7
/// and draft 2020-12.
const SAME_IN_DRAFT_7: &[&str] = &[
    "$schema",
    "title",
    "description",
    "default",
    "examples",
    "type",
    "enum",
    "const",
    "format",
    "properties",
    "required",
    "additionalProperties",
    "minProperties",
    "maxProperties",
    "items",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "oneOf",
    "anyOf",
    "allOf",
    "not",
];

fn draft_7_validator(document: &Value) -> Result<Validator, String> {
    if let Some(keyword) = keywords(document)
        .into_iter()
        .find(|keyword| !SAME_IN_DRAFT_7.contains(&keyword.as_str()))
    {
        return Err(format!("`{keyword}` does not mean the same in draft 7"));
    }
    let mut enforced = document.clone();
    if let Some(object) = enforced.as_object_mut() {
        object.remove("$schema");
    }
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .should_validate_formats(false)
        .build(&enforced)
        .map_err(|e| e.to_string())
}

/// Every keyword of a schema and its subschemas (property names are not
/// keywords; `items` may be an array in draft 7 only, so is not allowed to be).
fn keywords(schema: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let Some(object) = schema.as_object() else {
        return found;
    };
    for (keyword, value) in object {
        found.push(keyword.clone());
        match keyword.as_str() {
            "properties" => {
                for subschema in value.as_object().into_iter().flat_map(|p| p.values()) {
                    found.extend(keywords(subschema));
                }
            }
            "oneOf" | "anyOf" | "allOf" => {
                for subschema in value.as_array().into_iter().flatten() {
                    found.extend(keywords(subschema));
                }
            }
            "items" if value.is_array() => found.push("items (array)".into()),
            "items" | "additionalProperties" | "not" => found.extend(keywords(value)),
            _ => {}
        }
    }
    found
}

/// `/headers/X-Trace` → `headers.X-Trace`.
fn dotted(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keywords_that_differ_in_draft_7_are_refused() {
        for schema in [
            json!({"$ref": "#/$defs/A", "$defs": {"A": {"type": "string"}}}),
            json!({"type": "object", "properties": {"a": {"prefixItems": [{"type": "string"}]}}}),
            json!({"type": "array", "items": [{"type": "string"}]}),
            json!({"type": "object", "unevaluatedProperties": false}),
            json!({"dependentRequired": {"a": ["b"]}}),
        ] {
            assert!(draft_7_validator(&schema).is_err(), "{schema}");
        }
        assert!(
            draft_7_validator(
                &json!({"type": "object", "properties": {"a": {"type": "string", "format": "uri"}}})
            )
            .is_ok()
        );
    }

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    #[serde(deny_unknown_fields)]
    struct Tags {
        #[schemars(extend("maxProperties" = 50))]
        tags: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn violations_are_capped_and_do_not_echo_the_input() {
        let schema = InputSchema::of::<Tags>();
        let tags: serde_json::Map<String, Value> =
            (0..20_000).map(|i| (format!("t{i}"), json!(i))).collect();
        let unknown: serde_json::Map<String, Value> =
            (0..20_000).map(|i| (format!("u{i}"), json!(i))).collect();
        let mut input = json!({"tags": tags});
        input.as_object_mut().unwrap().extend(unknown);
        let errors = schema.violations(&input);
        assert_eq!(errors.kept().len(), FieldErrors::MAX);
        // 20,000 unknown fields, 20,000 mistyped tags, one "too many tags".
        assert_eq!(errors.kept().len() + errors.omitted(), 40_001);
        for error in errors.kept() {
            assert!(
                error.message.chars().count() <= FieldError::MAX_CHARS + 1,
                "{}",
                error.message
            );
        }
    }

    #[test]
    fn formats_stay_annotations_as_in_2020_12() {
        let validator = draft_7_validator(&json!({"type": "string", "format": "uri"})).unwrap();
        assert!(validator.is_valid(&json!("not a uri")));
    }
}
