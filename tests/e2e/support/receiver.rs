//! A real HTTP receiver on port 0: it records every request and answers
//! what the test scripts.

use std::{
    collections::{HashMap, VecDeque},
    net::TcpListener,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, dev::ServerHandle, web};
use serde_json::Value;
use tokio::sync::Notify;

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// A status with a header (`Retry-After`, `Location`, …).
    WithHeader(u16, &'static str, String),
    /// A status with a body.
    Body(u16, String),
    /// No answer at all (until the sender gives up).
    Hang,
    /// Answer after a delay.
    After(Duration, u16),
}

#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

struct State {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
    arrived: Notify,
}

#[derive(Clone)]
pub struct Receiver {
    pub base: String,
    state: Arc<State>,
    handle: ServerHandle,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let state = Arc::new(State {
            received: Mutex::default(),
            script: Mutex::default(),
            default: Mutex::new(Reply::Status(200)),
            arrived: Notify::new(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let shared = web::Data::from(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(shared.clone())
                .default_service(web::to(answer))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            base,
            state,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Answers the next requests with `replies`, in order, then as by default.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    /// Answers every request not scripted with `reply`.
    pub fn always(&self, reply: Reply) {
        *self.state.default.lock().unwrap() = reply;
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests arrived.
    pub async fn wait_for(&self, count: usize, seconds: u64) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let arrived = self.state.arrived.notified();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "the receiver got {} requests within {seconds} s, not {count}: {received:#?}",
                    received.len()
                );
            }
        }
    }

    /// Waits until a request of this event type arrived.
    pub async fn wait_for_event(&self, event_type: &str, seconds: u64) -> Received {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            let arrived = self.state.arrived.notified();
            if let Some(found) = self
                .received()
                .into_iter()
                .find(|r| r.event_type() == event_type)
            {
                return found;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "no {event_type} callback within {seconds} s; got {:#?}",
                    self.received()
                );
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if Arc::strong_count(&self.state) <= 2 {
            let handle = self.handle.clone();
            tokio::spawn(async move { handle.stop(false).await });
        }
    }
}

async fn answer(request: HttpRequest, body: web::Bytes, state: web::Data<State>) -> HttpResponse {
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    state.received.lock().unwrap().push(Received {
        method: request.method().to_string(),
        path: request.path().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        at: Instant::now(),
    });
    state.arrived.notify_waiters();
    let reply = state
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| state.default.lock().unwrap().clone());
    let status = |code: u16| actix_web::http::StatusCode::from_u16(code).unwrap();
    match reply {
        Reply::Status(code) => HttpResponse::build(status(code)).body(format!("status {code}")),
        Reply::WithHeader(code, name, value) => HttpResponse::build(status(code))
            .insert_header((name, value))
            .finish(),
        Reply::Body(code, body) => HttpResponse::build(status(code)).body(body),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            HttpResponse::Ok().finish()
        }
        Reply::After(delay, code) => {
            tokio::time::sleep(delay).await;
            HttpResponse::build(status(code)).finish()
        }
    }
}
