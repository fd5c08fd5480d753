//! Asymmetric callback signatures (Standard Webhooks `v1a`, ed25519): chosen
//! per client, alongside or instead of `v1`, public keys served to the
//! client, rotated with an overlap. (The independent verifiers in Python and
//! Node are in `tools.rs`.)

use std::time::Duration;

use jobcall_api::auth::Scope;
use jobcall_entity::ClientId;
use jobcall_jobs::callbacks::signing::Verifier;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    e2e,
    support::{Backend, Received, TestApp},
};

/// The schemes of a `webhook-signature` header, in order.
fn schemes(callback: &Received) -> Vec<String> {
    callback
        .header("webhook-signature")
        .split_whitespace()
        .map(|signature| signature.split_once(',').unwrap().0.to_owned())
        .collect()
}

fn verifies(verifier: &str, callback: &Received) -> bool {
    let timestamp = callback.header("webhook-timestamp").parse().unwrap();
    Verifier::parse(verifier).unwrap().verifies(
        callback.header("webhook-signature"),
        callback.header("webhook-id"),
        timestamp,
        &callback.body,
    )
}

/// Submits an echo job as `token` with a callback, and returns its callback.
async fn one_callback(app: &TestApp, token: &str) -> Received {
    let before = app.receiver.received().len();
    let (status, job) = app
        .post(
            token,
            "/v1/jobs",
            &json!({"kind": "echo", "callback_url": app.receiver.url("/hook")}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    app.receiver.wait_for(before + 1, 20).await[before].clone()
}

fn public_keys(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["public_key"].as_str().unwrap().to_owned())
        .collect()
}

e2e! {
    async fn a_client_created_with_v1a_signs_with_both_and_reads_its_public_key(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let (status, created) = app
            .post(&app.client.token, "/v1/clients", &json!({"name": "both", "signatures": ["v1a", "v1"]}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["signatures"], json!(["v1", "v1a"]));
        let public_key = created["signing_public_key"].as_str().unwrap().to_owned();
        let secret = created["signing_secret"].as_str().unwrap().to_owned();
        let id = ClientId::parse(created["id"].as_str().unwrap()).unwrap();
        let token = app.token(&id, &[Scope::JobsRead, Scope::JobsWrite]);

        let callback = one_callback(&app, &token).await;
        assert_eq!(schemes(&callback), ["v1", "v1a"]);
        assert!(verifies(&secret, &callback));
        assert!(verifies(&public_key, &callback));
        assert!(!verifies(&app.client.signing_secret, &callback), "another client's secret");

        // The client reads its own keys; another client cannot see them.
        let (status, keys) = app.get(&token, &format!("/v1/clients/{id}/signing-keys")).await;
        assert_eq!(status, StatusCode::OK, "{keys}");
        assert_eq!(keys["signatures"], json!(["v1", "v1a"]));
        assert_eq!(public_keys(&keys), [public_key.as_str()]);
        assert_eq!(keys["data"][0]["algorithm"], "ed25519");
        assert!(keys["data"][0]["expires_at"].is_null());
        let other = app.new_client("other").await;
        let (status, _) = app.get(&other.token, &format!("/v1/clients/{id}/signing-keys")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = app
            .get(&other.token, &format!("/v1/clients/{}/signing-keys", ClientId::generate()))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Only an admin rotates.
        let (status, _) = app
            .post(&token, &format!("/v1/clients/{id}/rotate-signing-key"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // A v1 client has no key until it asks for one.
        let (_, keys) = app.get(&other.token, &format!("/v1/clients/{}/signing-keys", other.id)).await;
        assert_eq!(keys, json!({"signatures": ["v1"], "data": []}));
        app.stop().await;
    }
}

e2e! {
    async fn a_client_can_sign_with_v1a_instead_of_v1(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let path = format!("/v1/clients/{}", app.client.id);
        for (body, field) in [
            (json!({"signatures": []}), "signatures"),
            (json!({"signatures": ["v2"]}), "signatures.0"),
            (json!({"signatures": "v1a"}), "signatures"),
            (json!({"signatures": ["v1", "v1a", "v1"]}), "signatures"),
            (json!({"signatures": ["v1a", "v1a"]}), "signatures.1"),
        ] {
            let response = app
                .request(reqwest::Method::PATCH, &app.client.token, &path)
                .json(&body)
                .send()
                .await
                .unwrap();
            let (status, problem) =
                crate::support::read_response(reqwest::Method::PATCH, &path, response).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
        }
        let response = app
            .request(reqwest::Method::PATCH, &app.client.token, &path)
            .json(&json!({"signatures": ["v1a"]}))
            .send()
            .await
            .unwrap();
        let (status, client) =
            crate::support::read_response(reqwest::Method::PATCH, &path, response).await;
        assert_eq!(status, StatusCode::OK, "{client}");
        assert_eq!(client["signatures"], json!(["v1a"]));
        let (_, keys) = app
            .get(&app.client.token, &format!("{path}/signing-keys"))
            .await;
        let [public_key] = &public_keys(&keys)[..] else { panic!("{keys}") };

        let callback = one_callback(&app, &app.client.token).await;
        assert_eq!(schemes(&callback), ["v1a"], "v1 no longer signs");
        assert!(verifies(public_key, &callback));
        assert!(!verifies(&app.client.signing_secret, &callback));
        app.stop().await;
    }
}

e2e! {
    async fn a_rotated_key_keeps_signing_until_the_overlap_ends(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let admin = &app.client.token;
        let (_, created) = app
            .post(admin, "/v1/clients", &json!({"name": "rotating", "signatures": ["v1a"]}))
            .await;
        let old = created["signing_public_key"].as_str().unwrap().to_owned();
        let id = ClientId::parse(created["id"].as_str().unwrap()).unwrap();
        let token = app.token(&id, &[Scope::JobsWrite]);

        let (status, rotated) = app
            .post(admin, &format!("/v1/clients/{id}/rotate-signing-key"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        let keys = public_keys(&rotated);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1], old, "the new key first");
        let new = keys[0].clone();
        assert!(rotated["data"][0]["expires_at"].is_null());
        assert!(rotated["data"][1]["expires_at"].is_string());

        let during = one_callback(&app, &token).await;
        assert_eq!(schemes(&during), ["v1a", "v1a"]);
        assert!(verifies(&new, &during) && verifies(&old, &during));

        let overlap = app.settings.api.secret_rotation_overlap;
        app.advance(overlap + Duration::from_secs(2)).await;
        let after = one_callback(&app, &token).await;
        assert_eq!(schemes(&after), ["v1a"]);
        assert!(verifies(&new, &after));
        assert!(!verifies(&old, &after));
        let (_, keys) = app.get(admin, &format!("/v1/clients/{id}/signing-keys")).await;
        assert_eq!(public_keys(&keys), [new]);

        // Rotating the v1 secret leaves the keys alone.
        let (status, _) = app
            .post(admin, &format!("/v1/clients/{id}/rotate-secret"), &json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
        let (_, keys) = app.get(admin, &format!("/v1/clients/{id}/signing-keys")).await;
        assert_eq!(keys["data"][0]["expires_at"], Value::Null);
        let (status, _) = app
            .post(admin, &format!("/v1/clients/{}/rotate-signing-key", ClientId::generate()), &json!({}))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        app.stop().await;
    }
}
