//! Authentication, scopes, isolation between clients, secret rotation,
//! limits, and secrets kept out of logs.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jobcall::Customize;
use jobcall_api::auth::{Claims, Scope, TokenIssuer};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{
    e2e,
    support::{Backend, Reply, TestApp, deployment::Deployment, eventually, process::log_lines},
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}")).unwrap()
}

async fn status_with(app: &TestApp, authorization: Option<&str>) -> (StatusCode, String, Value) {
    let mut request = app.http.get(app.url("/v1/jobs"));
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        challenge,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn forge(header: &Value, claims: &Value, signature: &str) -> String {
    format!(
        "{}.{}.{signature}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

e2e! {
    async fn requests_without_a_valid_token_are_refused(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let exp = jsonwebtoken::get_current_timestamp() + 600;
        let claims = json!({"sub": app.client.id, "scope": "jobs:read jobs:write admin", "exp": exp});
        let expired = jsonwebtoken::encode(
            &Header::default(),
            &json!({"sub": app.client.id, "scope": "jobs:read", "exp": exp - 3600}),
            &EncodingKey::from_secret(crate::support::JWT_SECRET.as_bytes()),
        )
        .unwrap();
        let wrong_key = TokenIssuer::hs256(b"another-secret-of-at-least-32-bytes!!", None, None)
            .mint(&app.client.id, &[Scope::JobsRead], Duration::from_secs(60))
            .unwrap();
        let stranger = app.token(&jobcall_entity::ClientId::generate(), &[Scope::JobsRead]);
        let no_exp = jsonwebtoken::encode(
            &Header::default(),
            &json!({"sub": app.client.id, "scope": "jobs:read"}),
            &EncodingKey::from_secret(crate::support::JWT_SECRET.as_bytes()),
        )
        .unwrap();
        let unsigned = forge(&json!({"alg": "none", "typ": "JWT"}), &claims, "");
        let weaker = forge(&json!({"alg": "HS512"}), &claims, "c2lnbmF0dXJl");

        let (status, challenge, problem) = status_with(&app, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(challenge, r#"Bearer realm="jobcall""#);
        assert_eq!(problem["status"], 401);
        for (authorization, why) in [
            ("Basic dXNlcjpwYXNz".to_owned(), "another scheme"),
            ("Bearer".to_owned(), "no token"),
            ("Bearer not.a.token".to_owned(), "garbage"),
            (format!("Bearer {expired}"), "expired"),
            (format!("Bearer {wrong_key}"), "signed with another key"),
            (format!("Bearer {stranger}"), "an unknown client"),
            (format!("Bearer {no_exp}"), "no exp"),
            (format!("Bearer {unsigned}"), "alg none"),
            (format!("Bearer {weaker}"), "another algorithm"),
        ] {
            let (status, challenge, problem) = status_with(&app, Some(&authorization)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{why}: {problem}");
            assert!(challenge.starts_with("Bearer realm=\"jobcall\""), "{why}: {challenge}");
            let detail = problem["detail"].as_str().unwrap();
            assert!(!detail.contains(authorization.trim_start_matches("Bearer ")) || authorization.len() < 12, "{why}: the token is echoed");
        }
        let (status, _, _) = status_with(&app, Some(&format!("bearer {}", app.client.token))).await;
        assert_eq!(status, StatusCode::OK, "the scheme is case-insensitive");
    }
}

e2e! {
    async fn each_operation_needs_its_scope(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let reader = app.token(&app.client.id, &[Scope::JobsRead]);
        let writer = app.token(&app.client.id, &[Scope::JobsWrite]);
        let job = app.submit(json!({"kind": "echo"})).await;
        let id = job["id"].as_str().unwrap();

        let (status, problem) = app.post(&reader, "/v1/jobs", &json!({"kind": "echo"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(problem["detail"].as_str().unwrap().contains("jobs:write"));
        assert_eq!(app.post(&reader, &format!("/v1/jobs/{id}/cancel"), &json!({})).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.post(&reader, &format!("/v1/jobs/{id}/deliveries"), &json!({})).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&reader, &format!("/v1/jobs/{id}")).await.0, StatusCode::OK);

        assert_eq!(app.get(&writer, &format!("/v1/jobs/{id}")).await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&writer, "/v1/jobs").await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&writer, "/v1/kinds").await.0, StatusCode::FORBIDDEN);
        assert_eq!(app.post(&writer, "/v1/jobs", &json!({"kind": "echo"})).await.0, StatusCode::ACCEPTED);

        for token in [&reader, &writer] {
            assert_eq!(app.post(token, "/v1/clients", &json!({"name": "x"})).await.0, StatusCode::FORBIDDEN);
            let rotate = format!("/v1/clients/{}/rotate-secret", app.client.id);
            assert_eq!(app.post(token, &rotate, &json!({})).await.0, StatusCode::FORBIDDEN);
        }
    }
}

e2e! {
    async fn clients_never_see_each_others_jobs(backend: Backend) {
        let app = TestApp::spawn(backend).await;
        let other = app.new_client("other").await;
        let mine = app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/a")})).await;
        let id = mine["id"].as_str().unwrap();
        app.finished(id).await;
        for path in [format!("/v1/jobs/{id}"), format!("/v1/jobs/{id}?wait=1"), format!("/v1/jobs/{id}/deliveries")] {
            let (status, problem) = app.get(&other.token, &path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {problem}");
        }
        for path in [format!("/v1/jobs/{id}/cancel"), format!("/v1/jobs/{id}/deliveries")] {
            assert_eq!(app.post(&other.token, &path, &json!({})).await.0, StatusCode::NOT_FOUND, "{path}");
        }
        let (_, theirs) = app.get(&other.token, "/v1/jobs").await;
        assert_eq!(theirs["data"], json!([]));
        let (_, filtered) = app.get(&other.token, "/v1/jobs?status=succeeded&kind=echo").await;
        assert_eq!(filtered["data"], json!([]));
        let (_, mine_listed) = app.get(&app.client.token, "/v1/jobs").await;
        assert_eq!(mine_listed["data"].as_array().unwrap().len(), 1);
        // A cursor taken from another client's list reveals nothing either.
        let (_, after) = app.get(&other.token, "/v1/jobs?cursor=job_7ZZZZZZZZZZZZZZZZZZZZZZZZZ").await;
        assert_eq!(after["data"], json!([]));
    }
}

e2e! {
    async fn a_rotated_secret_keeps_signing_during_the_overlap(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| s.secret_rotation_overlap_seconds = 4, Customize::default()).await;
        let old = app.client.signing_secret.clone();
        let (status, rotated) = app.post(&app.client.token, &format!("/v1/clients/{}/rotate-secret", app.client.id), &json!({})).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        let new = rotated["signing_secret"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        // The rotation went through this process: its workers sign with
        // the new secret at once, no cache to wait out.
        app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let during = app.receiver.wait_for(1, 10).await.remove(0);
        let signatures: Vec<_> = during.header("webhook-signature").split(' ').collect();
        assert_eq!(signatures.len(), 2, "{signatures:?}");
        assert!(crate::callbacks::signed_by(&new, &during) && crate::callbacks::signed_by(&old, &during));

        app.advance(Duration::from_millis(4100)).await;
        app.submit(json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        let after = app.receiver.wait_for(2, 10).await.remove(1);
        assert_eq!(after.header("webhook-signature").split(' ').count(), 1);
        assert!(crate::callbacks::signed_by(&new, &after));
        assert!(!crate::callbacks::signed_by(&old, &after));

        let (status, _) = app.post(&app.client.token, "/v1/clients/cli_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z/rotate-secret", &json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, problem) = app.post(&app.client.token, "/v1/clients", &json!({"name": ""})).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("name")));
    }
}

e2e! {
    async fn submissions_beyond_the_client_rate_get_429(backend: Backend) {
        let app = TestApp::spawn_with(backend, |s| s.submit_rate_per_client = 3, Customize::default()).await;
        let other = app.new_client("other").await;
        for _ in 0..3 {
            app.submit(json!({"kind": "echo"})).await;
        }
        let response = app.request(Method::POST, &app.client.token, "/v1/jobs").json(&json!({"kind": "echo"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&retry_after), "{retry_after}");
        assert_eq!(app.post(&other.token, "/v1/jobs", &json!({"kind": "echo"})).await.0, StatusCode::ACCEPTED, "limits are per client");
        app.advance(Duration::from_millis(400)).await;
        assert_eq!(app.post(&app.client.token, "/v1/jobs", &json!({"kind": "echo"})).await.0, StatusCode::ACCEPTED);
    }
}

e2e! {
    async fn a_full_queue_answers_503(backend: Backend) {
        let app = TestApp::spawn_with(
            backend,
            |s| {
                s.max_queued_jobs = 3;
                s.worker_concurrency = 1;
            },
            Customize::default(),
        )
        .await;
        let mut accepted = 0;
        let response = loop {
            let response = app.request(Method::POST, &app.client.token, "/v1/jobs").json(&json!({"kind": "echo", "input": {"delay_ms": 20_000}})).send().await.unwrap();
            if response.status() != StatusCode::ACCEPTED {
                break response;
            }
            accepted += 1;
            assert!(accepted < 10, "never refused");
        };
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["type"], "urn:jobcall:problem:unavailable");
        assert!((3..=4).contains(&accepted), "{accepted}");
    }
}

e2e! {
    async fn urls_must_be_https_unless_configured_and_inputs_are_capped(backend: Backend) {
        let app = TestApp::spawn_with(
            backend,
            |s| {
                s.outbound_allow_http = false;
                s.max_input_bytes = 200;
            },
            Customize::default(),
        )
        .await;
        let (status, problem) = app.post(&app.client.token, "/v1/jobs", &json!({"kind": "echo", "callback_url": app.receiver.url("/hook")})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(problem["errors"][0]["message"].as_str().unwrap().contains("https"), "{problem}");
        let (status, problem) = app.post(&app.client.token, "/v1/jobs", &json!({"kind": "echo", "input": {"message": "x".repeat(300)}})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["errors"][0]["field"], "input");
        let (status, problem) = app
            .post(&app.client.token, "/v1/jobs", &json!({"kind": "http.request", "input": {"url": "https://[::ffff:169.254.169.254]/latest"}}))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(problem["errors"][0]["field"], "input.url");
        let long = format!("https://example.com/{}", "a".repeat(2100));
        let (status, problem) = app.post(&app.client.token, "/v1/jobs", &json!({"kind": "echo", "callback_url": long})).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("callback_url")));
    }
}

e2e! {
    async fn asymmetric_keys_verify_and_algorithm_confusion_fails(backend: Backend) {
        for (algorithm, name) in [(Algorithm::RS256, "rs256"), (Algorithm::ES256, "es256"), (Algorithm::EdDSA, "eddsa")] {
            let public = format!("{FIXTURES}/{name}-public.pem");
            let app = TestApp::spawn_with(
                backend.clone(),
                |s| {
                    s.jwt_algorithm = format!("{algorithm:?}");
                    s.jwt_public_key = Some(public.clone());
                    s.jwt_issuer = Some("https://auth.example".into());
                    s.jwt_audience = Some("jobcall".into());
                },
                Customize::default(),
            )
            .await;
            let issuer = TokenIssuer::from_private_pem(
                algorithm,
                &fixture(&format!("{name}-private.pem")),
                Some("https://auth.example".into()),
                Some("jobcall".into()),
            )
            .unwrap();
            let token = issuer.mint(&app.client.id, &[Scope::JobsRead], Duration::from_secs(60)).unwrap();
            let (status, _, _) = status_with(&app, Some(&format!("Bearer {token}"))).await;
            assert_eq!(status, StatusCode::OK, "{algorithm:?}");

            // The classic confusion: an HS256 token whose HMAC key is the public key.
            let claims = Claims {
                sub: app.client.id.to_string(),
                scope: "jobs:read".into(),
                exp: jsonwebtoken::get_current_timestamp() + 60,
                iat: None,
                iss: Some("https://auth.example".into()),
                aud: Some("jobcall".into()),
            };
            let confused = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&fixture(&format!("{name}-public.pem")))).unwrap();
            let (status, _, _) = status_with(&app, Some(&format!("Bearer {confused}"))).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{algorithm:?} accepted an HS256 token");
            let other_issuer = TokenIssuer::from_private_pem(algorithm, &fixture(&format!("{name}-private.pem")), Some("https://evil.example".into()), Some("jobcall".into()))
                .unwrap()
                .mint(&app.client.id, &[Scope::JobsRead], Duration::from_secs(60))
                .unwrap();
            assert_eq!(status_with(&app, Some(&format!("Bearer {other_issuer}"))).await.0, StatusCode::UNAUTHORIZED);
            app.stop().await;
        }
    }
}

e2e! {
    async fn secrets_never_reach_the_logs(backend: Backend) {
        let deployment = Deployment::new(&backend, &[("JOBCALL_LOG_LEVEL", "debug")]).await;
        let receiver = crate::support::Receiver::start().await;
        let server = deployment.start("serve", "serve").await;
        let http = &deployment.http;
        let base = &server.base;
        let auth = |request: reqwest::RequestBuilder| request.bearer_auth(&deployment.token);

        let job = deployment
            .try_submit(base, &json!({"kind": "echo", "callback_url": receiver.url("/hook"), "callback_events": ["job.started", "job.succeeded"]}))
            .await
            .unwrap();
        receiver.wait_for_event("job.succeeded", 10).await;
        deployment.finished(base, job["id"].as_str().unwrap(), 10).await;
        let created: Value = auth(http.post(format!("{base}/v1/clients"))).json(&json!({"name": "second"})).send().await.unwrap().json().await.unwrap();
        let rotated: Value = auth(http.post(format!("{base}/v1/clients/{}/rotate-secret", deployment.client_id))).send().await.unwrap().json().await.unwrap();
        receiver.always(Reply::Status(200));
        auth(http.post(format!("{base}/v1/callbacks/test"))).json(&json!({"url": receiver.url("/probe")})).send().await.unwrap();
        let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2VjcmV0LXNpZ25hdHVyZQ";
        http.get(format!("{base}/v1/jobs")).bearer_auth(forged).send().await.unwrap();
        http.get(format!("{base}/v1/jobs")).header("Authorization", "Basic c2VjcmV0OnBhc3N3b3Jk").send().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;

        let log = std::fs::read_to_string(&server.log).unwrap();
        let lines = log_lines(&server.log);
        assert!(lines.len() > 10, "the log has {} lines", lines.len());
        let secrets = [
            ("the JWT secret", crate::support::JWT_SECRET.to_owned()),
            ("the secrets key", deployment.secrets_key.clone()),
            ("the token", deployment.token.clone()),
            ("a forged token", forged.to_owned()),
            ("a basic credential", "c2VjcmV0OnBhc3N3b3Jk".to_owned()),
            ("the signing secret", deployment.signing_secret.clone()),
            ("the signing key", deployment.signing_secret.trim_start_matches("whsec_").to_owned()),
            ("a created client's secret", created["signing_secret"].as_str().unwrap().to_owned()),
            ("a rotated secret", rotated["signing_secret"].as_str().unwrap().to_owned()),
        ];
        for (what, secret) in secrets {
            assert!(!log.contains(&secret), "{what} appears in the log");
        }
        assert!(!log.to_lowercase().contains("authorization"), "an Authorization header appears in the log");
        assert!(!log.contains("whsec_"), "a signing secret appears in the log");
        eventually(1, "nothing", || async { Some(()) }).await;
    }
}
