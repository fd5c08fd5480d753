//! `openapi.yaml` as a test oracle: every response the e2e tests read is
//! checked against the schema the spec gives for its operation and status.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
};

use jsonschema::{Resource, Validator};
use serde_json::{Value, json};

const SPEC_URI: &str = "urn:jobcall:openapi";

pub struct Spec {
    pub document: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

pub static SPEC: LazyLock<Spec> = LazyLock::new(|| {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    let document: Value = serde_norway::from_str(&text).expect("openapi.yaml is YAML");
    Spec {
        document,
        validators: Mutex::default(),
    }
});

impl Spec {
    /// The path template of the spec that `path` (no query string) matches.
    pub fn template_of(&self, path: &str) -> Option<String> {
        let segments: Vec<_> = path.trim_start_matches('/').split('/').collect();
        self.document["paths"]
            .as_object()?
            .keys()
            .find_map(|template| {
                let parts: Vec<_> = template.trim_start_matches('/').split('/').collect();
                let matches = parts.len() == segments.len()
                    && parts
                        .iter()
                        .zip(&segments)
                        .all(|(p, s)| (p.starts_with('{') && !s.is_empty()) || p == s);
                matches.then(|| template.clone())
            })
    }

    /// A validator for the JSON Schema at `pointer` in the spec.
    pub fn validator(&self, pointer: &str) -> Arc<Validator> {
        let mut cache = self.validators.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(pointer.to_owned())
            .or_insert_with(|| {
                let resource = Resource::from_contents(self.document.clone()).unwrap();
                // A JSON pointer in a URI fragment: percent-encode all but the safe characters.
                let fragment: String = pointer
                    .bytes()
                    .map(|b| match b {
                        b'A'..=b'Z'
                        | b'a'..=b'z'
                        | b'0'..=b'9'
                        | b'-'
                        | b'.'
                        | b'_'
                        | b'~'
                        | b'/' => (b as char).to_string(),
                        other => format!("%{other:02X}"),
                    })
                    .collect();
                let reference = json!({"$ref": format!("{SPEC_URI}#{fragment}")});
                Arc::new(
                    jsonschema::options()
                        .with_resource(SPEC_URI, resource)
                        .should_validate_formats(true)
                        .build(&reference)
                        .unwrap_or_else(|e| {
                            panic!("the schema at {pointer} does not compile: {e}")
                        }),
                )
            })
            .clone()
    }

    /// Checks a response: its status must be documented for the operation,
    /// and its JSON body must match the documented schema.
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &Value,
    ) {
        let path = path.split('?').next().unwrap();
        let Some(template) = self.template_of(path) else {
            assert_eq!(
                status, 404,
                "{method} {path}: not in the spec, yet answered {status}"
            );
            return;
        };
        let operation = &self.document["paths"][&template][method.to_lowercase()];
        if operation.is_null() {
            assert_eq!(
                status, 405,
                "{method} {template}: not in the spec, yet answered {status}"
            );
            return;
        }
        let code = status.to_string();
        let class = format!("{}XX", status / 100);
        let key = [code.as_str(), class.as_str(), "default"]
            .into_iter()
            .find(|k| !operation["responses"][*k].is_null())
            .unwrap_or_else(|| panic!("{method} {template} answered {status}, which the spec does not document: {body}"));
        let mut response = operation["responses"][key].clone();
        if let Some(reference) = response["$ref"].as_str() {
            response = self.resolve(reference).clone();
        }
        let media = content_type.split(';').next().unwrap_or_default().trim();
        let escaped = |s: &str| s.replace('~', "~0").replace('/', "~1");
        let response_pointer = match operation["responses"][key]["$ref"].as_str() {
            Some(reference) => reference.trim_start_matches('#').to_owned(),
            None => format!(
                "/paths/{}/{}/responses/{key}",
                escaped(&template),
                method.to_lowercase()
            ),
        };
        if response["content"].is_null() {
            return;
        }
        assert!(
            !response["content"][media].is_null(),
            "{method} {template} {status}: answered {media}, the spec says {}",
            response["content"]
        );
        if media.ends_with("json") {
            let pointer = format!("{response_pointer}/content/{}/schema", escaped(media));
            let validator = self.validator(&pointer);
            let errors: Vec<String> = validator
                .iter_errors(body)
                .map(|e| format!("{}: {e}", e.instance_path))
                .collect();
            assert!(
                errors.is_empty(),
                "{method} {template} {status} breaks the spec: {errors:#?}\n{body:#}"
            );
        }
    }

    fn resolve(&self, reference: &str) -> &Value {
        self.document
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or(&Value::Null)
    }
}
