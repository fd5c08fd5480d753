//! Field-level validation errors: what the API turns into the `errors`
//! member of a problem+json response.

use serde::Serialize;

/// One problem with one field of a request, named by its dotted path
/// (`input.delay_ms`, `metadata.team`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, with its field nested under `parent`.
    pub fn under(self, parent: &str) -> Self {
        let field = if self.field.is_empty() {
            parent.to_owned()
        } else {
            format!("{parent}.{}", self.field)
        };
        Self { field, ..self }
    }
}
