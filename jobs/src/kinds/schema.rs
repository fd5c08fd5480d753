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

use crate::validation::FieldError;

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

    /// Every violation of the schema, each naming its field relative to the input.
    pub(crate) fn violations(&self, input: &Value) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for error in self.validator.iter_errors(input) {
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

    #[test]
    fn formats_stay_annotations_as_in_2020_12() {
        let validator = draft_7_validator(&json!({"type": "string", "format": "uri"})).unwrap();
        assert!(validator.is_valid(&json!("not a uri")));
    }
}
