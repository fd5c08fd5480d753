//! The server and `openapi.yaml` agree.

use serde_json::Value;

use crate::support::spec::SPEC;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[test]
fn every_route_is_in_the_spec_and_every_spec_path_is_served() {
    let mut served: Vec<(String, String)> = jobcall_api::routes()
        .flat_map(|(path, methods)| {
            methods
                .iter()
                .map(move |m| (path.to_string(), m.to_lowercase()))
        })
        .collect();
    let mut documented: Vec<(String, String)> = SPEC.document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(move |m| (path.clone(), m.to_string()))
        })
        .collect();
    served.sort();
    documented.sort();
    assert_eq!(served, documented);
}

#[test]
fn every_operation_has_an_id_a_summary_and_examples() {
    for (path, item) in SPEC.document["paths"].as_object().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            assert!(operation["operationId"].is_string(), "{method} {path}");
            assert!(operation["summary"].is_string(), "{method} {path}");
            // What some response of the operation says about its media types.
            let any_media = |test: &dyn Fn(&str, &Value) -> bool| {
                operation["responses"]
                    .as_object()
                    .unwrap()
                    .values()
                    .any(|response| {
                        let response = match response["$ref"].as_str() {
                            Some(r) => SPEC.document.pointer(r.trim_start_matches('#')).unwrap(),
                            None => response,
                        };
                        response["content"].as_object().is_some_and(|content| {
                            content
                                .iter()
                                .any(|(media_type, media)| test(media_type, media))
                        })
                    })
            };
            let has_example = any_media(&|_, media| !media["examples"].is_null());
            let answers_json = any_media(&|media_type, _| media_type.ends_with("json"));
            assert!(
                has_example || !answers_json,
                "{method} {path} has no example"
            );
        }
    }
}

/// Every example in the spec matches the schema beside it.
#[test]
fn every_example_matches_its_schema() {
    let mut checked = 0;
    walk(&SPEC.document, "", &mut |pointer, media| {
        let Some(examples) = media["examples"].as_object() else {
            return;
        };
        let validator = SPEC.validator(&format!("{pointer}/schema"));
        for (name, example) in examples {
            let example = match example["$ref"].as_str() {
                Some(r) => SPEC.document.pointer(r.trim_start_matches('#')).unwrap(),
                None => example,
            };
            let errors: Vec<String> = validator
                .iter_errors(&example["value"])
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "example {name} at {pointer}: {errors:?}");
            checked += 1;
        }
    });
    assert!(checked >= 20, "only {checked} examples found");
}

/// Calls `visit` with every media-type object (`content/<type>`) and its pointer.
fn walk(value: &Value, pointer: &str, visit: &mut dyn FnMut(&str, &Value)) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let child_pointer =
                    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                if pointer.ends_with("/content") && child.get("schema").is_some() {
                    visit(&child_pointer, child);
                }
                walk(child, &child_pointer, visit);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{pointer}/{i}"), visit);
            }
        }
        _ => {}
    }
}
