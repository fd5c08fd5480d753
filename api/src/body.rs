//! Reading JSON request bodies: the media type (415), the size limit (413),
//! the syntax (400), then the fields one by one, so that every missing,
//! mistyped or unknown field is named in one response (up to
//! [`FieldErrors::MAX`] of them; the rest are counted).

use actix_web::{HttpRequest, http::header, web};
use futures::StreamExt;
use jobcall_jobs::validation::{FieldError, FieldErrors};
use serde_json::{Map, Value};

use crate::error::ApiError;

/// Reads the body as a JSON object.
pub async fn read_object(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Map<String, Value>, ApiError> {
    if !is_json(request) {
        return Err(ApiError::UnsupportedMediaType);
    }
    if let Some(length) = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && length > limit
    {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::BadRequest(format!("the request body could not be read: {e}"))
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::BadRequest(format!(
            "the request body is not valid JSON: {e}"
        ))),
    }
}

/// `application/json`, or any `+json` type, with any parameters.
fn is_json(request: &HttpRequest) -> bool {
    let Some(value) = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A number with no fraction that fits an `i64` (`65.0`, `1e3`).
fn whole(value: &Value) -> Option<i64> {
    let float = value.as_f64()?;
    let fits = float.fract() == 0.0 && float >= i64::MIN as f64 && float < i64::MAX as f64;
    fits.then_some(float as i64)
}

/// Takes the fields of a JSON object one by one, collecting every problem.
pub struct Fields {
    object: Map<String, Value>,
    errors: FieldErrors,
}

impl Fields {
    pub fn new(object: Map<String, Value>) -> Self {
        Self {
            object,
            errors: FieldErrors::new(),
        }
    }

    pub fn required_string(&mut self, name: &str) -> Option<String> {
        self.field(name, true, "a string", |value| match value {
            Value::String(s) => Ok(s),
            other => Err(other),
        })
    }

    pub fn optional_string(&mut self, name: &str) -> Option<String> {
        self.field(name, false, "a string", |value| match value {
            Value::String(s) => Ok(s),
            other => Err(other),
        })
    }

    /// An integer; as JSON Schema counts them, `65.0` is one too.
    pub fn optional_integer(&mut self, name: &str) -> Option<i64> {
        self.field(name, false, "an integer", |value| {
            value.as_i64().or_else(|| whole(&value)).ok_or(value)
        })
    }

    pub fn optional_object(&mut self, name: &str) -> Option<Map<String, Value>> {
        self.field(name, false, "an object", |value| match value {
            Value::Object(map) => Ok(map),
            other => Err(other),
        })
    }

    /// An array of at most `max_items` strings. A longer one is one error,
    /// not one per item: the array is refused before its items are looked at.
    pub fn optional_strings(&mut self, name: &str, max_items: usize) -> Option<Vec<String>> {
        let items = self.field(name, false, "an array of strings", |value| match value {
            Value::Array(items) => Ok(items),
            other => Err(other),
        })?;
        if items.len() > max_items {
            self.errors.push(FieldError::new(
                name,
                format!("has {} items; at most {max_items} are allowed", items.len()),
            ));
            return None;
        }
        let mut strings = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Value::String(s) => strings.push(s),
                other => self.wrong_type(&format!("{name}.{i}"), "a string", &other),
            }
        }
        Some(strings)
    }

    /// An array of `items.start()` to `items.end()` values, any values: the
    /// caller reads each. One outside that many is one error.
    pub fn required_array(
        &mut self,
        name: &str,
        items: std::ops::RangeInclusive<usize>,
    ) -> Option<Vec<Value>> {
        let values = self.field(name, true, "an array", |value| match value {
            Value::Array(values) => Ok(values),
            other => Err(other),
        })?;
        if !items.contains(&values.len()) {
            self.errors.push(FieldError::new(
                name,
                format!(
                    "has {} items; {} to {} are allowed",
                    values.len(),
                    items.start(),
                    items.end()
                ),
            ));
            return None;
        }
        Some(values)
    }

    /// An integer that may be given as null: `None` when absent,
    /// `Some(None)` when null.
    pub fn nullable_integer(&mut self, name: &str) -> Option<Option<i64>> {
        match self.object.get(name) {
            None => None,
            Some(Value::Null) => {
                self.object.remove(name);
                Some(None)
            }
            Some(_) => self.optional_integer(name).map(Some),
        }
    }

    fn field<T>(
        &mut self,
        name: &str,
        required: bool,
        expected: &str,
        convert: impl FnOnce(Value) -> Result<T, Value>,
    ) -> Option<T> {
        // An explicit null means the same as leaving the field out.
        match self.object.remove(name) {
            Some(Value::Null) | None => {
                if required {
                    self.errors.push(FieldError::new(name, "is required"));
                }
                None
            }
            Some(value) => match convert(value) {
                Ok(converted) => Some(converted),
                Err(value) => {
                    self.wrong_type(name, expected, &value);
                    None
                }
            },
        }
    }

    fn wrong_type(&mut self, name: &str, expected: &str, got: &Value) {
        let got = match got {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        self.errors.push(FieldError::new(
            name,
            format!("must be {expected}, not {got}"),
        ));
    }

    /// Ends the reading: fields nobody took are unknown. Fails with every
    /// problem found.
    pub fn finish(mut self) -> Result<(), ApiError> {
        let mut unknown: Vec<_> = self.object.keys().collect();
        unknown.sort();
        for name in unknown {
            self.errors
                .push(FieldError::new(name.as_str(), "is not a known field"));
        }
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> Fields {
        Fields::new(value.as_object().unwrap().clone())
    }

    fn errors(result: Result<(), ApiError>) -> Vec<FieldError> {
        match result {
            Err(ApiError::Validation(errors)) => errors.into_iter().collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reports_missing_mistyped_and_unknown_fields_together() {
        let mut f = fields(
            json!({"kind": 5, "timeout_seconds": "soon", "colour": "red", "events": ["a", 1]}),
        );
        assert_eq!(f.required_string("kind"), None);
        assert_eq!(f.required_string("url"), None);
        assert_eq!(f.optional_integer("timeout_seconds"), None);
        assert_eq!(f.optional_strings("events", 5), Some(vec!["a".to_owned()]));
        let found = errors(f.finish());
        let named: Vec<_> = found
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("kind", "must be a string, not a number"),
                ("url", "is required"),
                ("timeout_seconds", "must be an integer, not a string"),
                ("events.1", "must be a string, not a number"),
                ("colour", "is not a known field"),
            ]
        );
    }

    #[test]
    fn long_arrays_and_many_unknown_fields_cost_a_bounded_answer() {
        let mut body = json!({"events": vec![1; 340_000]});
        let object = body.as_object_mut().unwrap();
        for i in 0..10_000 {
            object.insert(format!("{}{i}", "x".repeat(1000)), json!(1));
        }
        let mut f = fields(body);
        assert_eq!(f.optional_strings("events", 5), None);
        let Err(ApiError::Validation(found)) = f.finish() else {
            panic!("refused")
        };
        assert_eq!(found.kept().len(), FieldErrors::MAX);
        assert_eq!(found.kept()[0].field, "events");
        assert!(found.kept()[0].message.contains("at most 5"));
        assert_eq!(found.omitted(), 10_001 - FieldErrors::MAX);
        assert!(found.kept()[1].field.chars().count() <= FieldError::MAX_CHARS + 1);
    }

    #[test]
    fn whole_numbers_are_integers_as_json_schema_says() {
        let mut f = fields(json!({"a": 65.0, "b": 1e3, "c": 1.5, "d": 1e300}));
        assert_eq!(f.optional_integer("a"), Some(65));
        assert_eq!(f.optional_integer("b"), Some(1000));
        assert_eq!(f.optional_integer("c"), None);
        assert_eq!(f.optional_integer("d"), None);
        assert_eq!(errors(f.finish()).len(), 2);
    }

    #[test]
    fn null_is_the_same_as_absent() {
        let mut f = fields(json!({"callback_url": null}));
        assert_eq!(f.optional_string("callback_url"), None);
        assert!(f.finish().is_ok());
    }
}
