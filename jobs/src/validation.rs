//! Field-level validation errors: what the API turns into the `errors`
//! member of a problem+json response.
//!
//! A request can hold as many mistakes as it has bytes (a 680 KB array of
//! 340,000 numbers where strings belong), so [`FieldErrors`] keeps the first
//! [`FieldErrors::MAX`] and only counts the rest, and [`FieldError::new`]
//! shortens what it quotes: no error answer is much larger than its request,
//! and reading a bad request costs about as much memory as a good one.

use serde::Serialize;

/// One problem with one field of a request, named by its dotted path
/// (`input.delay_ms`, `metadata.team`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    /// The longest field path and message kept, in characters: names and
    /// values come from the client, and are quoted to help it, not echoed
    /// back whole.
    pub const MAX_CHARS: usize = 200;

    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: shorten(field.into()),
            message: shorten(message.into()),
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

/// `text` cut to [`FieldError::MAX_CHARS`], with `…` where it was cut.
fn shorten(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(FieldError::MAX_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// The problems found in one request: the first [`FieldErrors::MAX`] kept,
/// the others counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    kept: Vec<FieldError>,
    omitted: usize,
}

impl FieldErrors {
    /// The most errors one answer reports.
    pub const MAX: usize = 50;

    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, error: FieldError) {
        if self.kept.len() < Self::MAX {
            self.kept.push(error);
        } else {
            self.omitted += 1;
        }
    }

    /// Whether another error would be kept: callers that build costly
    /// messages (formatting a validator's error) can count instead.
    pub fn is_full(&self) -> bool {
        self.kept.len() >= Self::MAX
    }

    /// Counts an error without building it (see [`FieldErrors::is_full`]).
    pub fn omit(&mut self, count: usize) {
        self.omitted += count;
    }

    /// Takes `other`'s errors (kept and counted) as they are.
    pub fn append(&mut self, other: FieldErrors) {
        for error in other.kept {
            self.push(error);
        }
        self.omitted += other.omitted;
    }

    /// Takes `other`'s errors (kept and counted), each nested under `parent`.
    pub fn append_under(&mut self, other: FieldErrors, parent: &str) {
        for error in other.kept {
            self.push(error.under(parent));
        }
        self.omitted += other.omitted;
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty() && self.omitted == 0
    }

    /// The errors kept, in the order found.
    pub fn kept(&self) -> &[FieldError] {
        &self.kept
    }

    /// How many errors were found beyond those kept.
    pub fn omitted(&self) -> usize {
        self.omitted
    }

    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.kept.iter()
    }
}

impl From<FieldError> for FieldErrors {
    fn from(error: FieldError) -> Self {
        let mut errors = Self::new();
        errors.push(error);
        errors
    }
}

impl From<Vec<FieldError>> for FieldErrors {
    fn from(found: Vec<FieldError>) -> Self {
        found.into_iter().collect()
    }
}

impl FromIterator<FieldError> for FieldErrors {
    fn from_iter<I: IntoIterator<Item = FieldError>>(found: I) -> Self {
        let mut errors = Self::new();
        errors.extend(found);
        errors
    }
}

impl Extend<FieldError> for FieldErrors {
    fn extend<I: IntoIterator<Item = FieldError>>(&mut self, found: I) {
        for error in found {
            self.push(error);
        }
    }
}

impl IntoIterator for FieldErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;

    /// The errors kept (the count of the others is lost).
    fn into_iter(self) -> Self::IntoIter {
        self.kept.into_iter()
    }
}

impl<'a> IntoIterator for &'a FieldErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.kept.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_errors_and_counts_the_rest() {
        let errors: FieldErrors = (0..340_000)
            .map(|i| FieldError::new(format!("callback_events.{i}"), "must be a string"))
            .collect();
        assert_eq!(errors.kept().len(), FieldErrors::MAX);
        assert_eq!(errors.kept()[0].field, "callback_events.0");
        assert_eq!(errors.omitted(), 340_000 - FieldErrors::MAX);
        let mut outer = FieldErrors::from(FieldError::new("kind", "is required"));
        outer.append_under(errors, "input");
        assert_eq!(outer.kept().len(), FieldErrors::MAX);
        assert_eq!(outer.kept()[1].field, "input.callback_events.0");
        assert_eq!(outer.omitted(), 340_000 - FieldErrors::MAX + 1);
    }

    #[test]
    fn long_names_and_messages_are_shortened() {
        let error = FieldError::new("é".repeat(10_000), "x".repeat(10_000));
        assert_eq!(error.field.chars().count(), FieldError::MAX_CHARS + 1);
        assert!(error.field.ends_with('…'));
        assert_eq!(error.message.chars().count(), FieldError::MAX_CHARS + 1);
        let short = FieldError::new("kind", "is required");
        assert_eq!(
            (short.field.as_str(), short.message.as_str()),
            ("kind", "is required")
        );
    }
}
