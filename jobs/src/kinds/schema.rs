//! Input schemas: generated from the input type, published as JSON Schema
//! (draft 2020-12) and enforced with a compiled validator, so the schema a
//! client reads is the one its input is checked against.

use jsonschema::{Validator, error::ValidationErrorKind};
use schemars::{JsonSchema, generate::SchemaSettings};
use serde_json::Value;

use crate::validation::FieldError;

pub(crate) struct InputSchema {
    document: Value,
    validator: Validator,
}

impl InputSchema {
    pub(crate) fn of<T: JsonSchema>() -> Self {
        let generator = SchemaSettings::draft2020_12().into_generator();
        let document = generator.into_root_schema_for::<T>().to_value();
        let validator = jsonschema::validator_for(&document).unwrap_or_else(|e| {
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
