//! `jobcall listen`: a local receiver for callbacks while you integrate.
//! Every POST it gets (any path) is printed as one line: the event type,
//! the job id and status, the latency since the event's `timestamp`, and
//! whether its signature is valid for the `--secret` given (`whsec_…` for
//! `v1`, `whpk_…` for `v1a`), or `unchecked` without one. `--json` prints
//! one JSON object per line instead. It answers `204` to everything, so
//! that jobcall does not retry while you read (a real receiver answers
//! 401 to a bad signature).

use std::{
    io::Write,
    net::{SocketAddr, TcpListener},
    sync::Mutex,
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use jobcall_jobs::callbacks::signing::Verifier;
use serde::Serialize;
use serde_json::Value;

/// How far a `webhook-timestamp` may be from now, as the Standard Webhooks
/// libraries allow.
const TOLERANCE_SECONDS: i64 = 5 * 60;
/// The largest callback read (a job's input and result, and the envelope).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// What `listen` was asked to do.
pub struct Listen {
    pub host: String,
    pub port: u16,
    pub verifier: Option<Verifier>,
    pub json: bool,
}

/// One callback, as printed.
#[derive(Debug, Serialize, PartialEq)]
pub struct Line {
    #[serde(rename = "type")]
    pub event_type: String,
    pub job_id: Option<String>,
    pub status: Option<String>,
    /// Milliseconds from the event's `timestamp` to its arrival here.
    pub latency_ms: Option<i64>,
    /// `valid`, `invalid` or `unchecked`.
    pub signature: &'static str,
    /// Why it is invalid, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    pub webhook_id: String,
    pub path: String,
}

impl Line {
    /// Reads a callback: its headers (by lower-case name), body and path,
    /// at `now_ms`.
    pub fn read(
        header: impl Fn(&str) -> Option<String>,
        body: &[u8],
        path: &str,
        verifier: Option<&Verifier>,
        now_ms: i64,
    ) -> Line {
        let text = String::from_utf8_lossy(body);
        let event: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let field = |pointer: &str| event.pointer(pointer).and_then(Value::as_str);
        let latency_ms = field("/timestamp")
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| now_ms - t.timestamp_millis());
        let webhook_id = header("webhook-id").unwrap_or_default();
        let (signature, reason) = match verifier {
            None => ("unchecked", None),
            Some(verifier) => match check(verifier, &header, &webhook_id, &text, now_ms) {
                Ok(()) => ("valid", None),
                Err(reason) => ("invalid", Some(reason)),
            },
        };
        Line {
            event_type: field("/type").unwrap_or("(not an event)").to_owned(),
            job_id: field("/data/id").map(str::to_owned),
            status: field("/data/status").map(str::to_owned),
            latency_ms,
            signature,
            reason,
            webhook_id,
            path: path.to_owned(),
        }
    }

    /// The line for a person: `job.succeeded  job_01…  succeeded  12 ms
    /// signature valid`.
    pub fn text(&self) -> String {
        let latency = self
            .latency_ms
            .map_or_else(|| "?".to_owned(), |ms| format!("{ms} ms"));
        let signature = match self.reason {
            Some(reason) => format!("signature invalid ({reason})"),
            None => format!("signature {}", self.signature),
        };
        format!(
            "{:<14} {:<31} {:<10} {:>8}  {}",
            self.event_type,
            self.job_id.as_deref().unwrap_or("-"),
            self.status.as_deref().unwrap_or("-"),
            latency,
            signature
        )
    }
}

/// Whether the callback's signature verifies, and its timestamp is fresh.
fn check(
    verifier: &Verifier,
    header: &impl Fn(&str) -> Option<String>,
    id: &str,
    body: &str,
    now_ms: i64,
) -> Result<(), &'static str> {
    let (Some(timestamp), Some(signature)) =
        (header("webhook-timestamp"), header("webhook-signature"))
    else {
        return Err("no webhook-timestamp or webhook-signature");
    };
    let timestamp: i64 = timestamp.parse().map_err(|_| "unreadable timestamp")?;
    if (now_ms / 1000 - timestamp).abs() > TOLERANCE_SECONDS {
        return Err("timestamp more than 5 minutes away");
    }
    if verifier.verifies(&signature, id, timestamp, body) {
        Ok(())
    } else {
        Err("no signature matches the key")
    }
}

struct Printer {
    verifier: Option<Verifier>,
    json: bool,
    out: Mutex<std::io::Stdout>,
}

async fn receive(
    request: HttpRequest,
    body: web::Bytes,
    printer: web::Data<Printer>,
) -> HttpResponse {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let now_ms = chrono::Utc::now().timestamp_millis();
    let line = Line::read(
        header,
        &body,
        request.path(),
        printer.verifier.as_ref(),
        now_ms,
    );
    let printed = if printer.json {
        serde_json::to_string(&line).expect("a line serializes")
    } else {
        line.text()
    };
    let mut out = printer.out.lock().unwrap_or_else(|p| p.into_inner());
    let _ = writeln!(out, "{printed}");
    let _ = out.flush();
    HttpResponse::NoContent().finish()
}

/// Listens until interrupted. The address it listens on goes to stderr
/// first (`--port 0` picks a free one).
pub async fn run(listen: Listen) -> anyhow::Result<()> {
    let listener = TcpListener::bind((listen.host.as_str(), listen.port))
        .map_err(|e| anyhow::anyhow!("cannot listen on {}:{}: {e}", listen.host, listen.port))?;
    let address: SocketAddr = listener.local_addr()?;
    let checking = match &listen.verifier {
        None => "signatures unchecked: give --secret whsec_… or whpk_… to check them",
        Some(Verifier::Secret(_)) => "checking v1 signatures with the whsec_ secret",
        Some(Verifier::PublicKey(_)) => "checking v1a signatures with the whpk_ public key",
    };
    eprintln!("listening on http://{address} ({checking}); Ctrl-C stops");
    let printer = web::Data::new(Printer {
        verifier: listen.verifier,
        json: listen.json,
        out: Mutex::new(std::io::stdout()),
    });
    HttpServer::new(move || {
        App::new()
            .app_data(printer.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .default_service(web::to(receive))
    })
    .workers(1)
    .listen(listener)?
    .run()
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobcall_jobs::{
        callbacks::signing::signature_header, secrets::SigningSecret, signers::Signers,
    };

    fn headers(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_callback_is_one_readable_line() {
        let secret = SigningSecret::generate();
        let body = r#"{"type":"job.succeeded","timestamp":"2026-11-24T12:00:00.000Z","data":{"id":"job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z","status":"succeeded"}}"#;
        let sent_ms = 1_795_521_600_000; // 2026-11-24T12:00:00Z
        let signature = signature_header(
            &Signers::v1(vec![secret.clone()]),
            "evt_1",
            sent_ms / 1000,
            body,
        );
        let given = headers(&[
            ("webhook-id", "evt_1".into()),
            ("webhook-timestamp", (sent_ms / 1000).to_string()),
            ("webhook-signature", signature),
        ]);
        let verifier = Verifier::Secret(secret);
        let line = Line::read(
            &given,
            body.as_bytes(),
            "/hook",
            Some(&verifier),
            sent_ms + 42,
        );
        assert_eq!(line.event_type, "job.succeeded");
        assert_eq!(
            line.job_id.as_deref(),
            Some("job_01JD3XQZ8Z8Z8Z8Z8Z8Z8Z8Z8Z")
        );
        assert_eq!(line.latency_ms, Some(42));
        assert_eq!(line.signature, "valid");
        assert!(
            line.text().contains("42 ms") && line.text().ends_with("signature valid"),
            "{}",
            line.text()
        );

        let wrong = Verifier::Secret(SigningSecret::generate());
        let line = Line::read(&given, body.as_bytes(), "/hook", Some(&wrong), sent_ms);
        assert_eq!(
            (line.signature, line.reason),
            ("invalid", Some("no signature matches the key"))
        );
        let late = Line::read(
            &given,
            body.as_bytes(),
            "/hook",
            Some(&verifier),
            sent_ms + 600_000,
        );
        assert_eq!(late.reason, Some("timestamp more than 5 minutes away"));
        let unchecked = Line::read(&given, b"not json", "/x", None, sent_ms);
        assert_eq!(
            (unchecked.event_type.as_str(), unchecked.signature),
            ("(not an event)", "unchecked")
        );
        assert_eq!(unchecked.text().split_whitespace().nth(3), Some("-"));
    }
}
