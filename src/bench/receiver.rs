//! The benchmark's callback receiver: answers 204 at once and notes when
//! each job's `job.succeeded` arrived, keyed by the sequence number the job
//! carries in its metadata.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The first arrival of each job's `job.succeeded`, by sequence number
/// (deliveries are at-least-once: a repeat is not counted again).
#[derive(Default)]
pub struct Arrivals {
    succeeded: Mutex<HashMap<u64, Instant>>,
}

pub struct Receiver {
    pub url: String,
    pub arrivals: Arc<Arrivals>,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let arrivals = Arc::new(Arrivals::default());
        let shared = arrivals.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let arrivals = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| receive(request, arrivals.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Receiver { url, arrivals })
    }

    /// Forgets every arrival: for a new server (and client) whose sequence
    /// numbers start again at 0.
    pub fn forget(&self) {
        self.arrivals.succeeded.lock().unwrap().clear();
    }

    /// How many jobs have called back so far.
    pub fn succeeded(&self) -> usize {
        self.arrivals.succeeded.lock().unwrap().len()
    }

    /// When the job with this sequence number called back.
    pub fn arrival(&self, seq: u64) -> Option<Instant> {
        self.arrivals.succeeded.lock().unwrap().get(&seq).copied()
    }

    /// From each send to its callback, in ms, sorted; jobs that did not
    /// call back are left out.
    pub fn end_to_end_ms(&self, sent: &[(u64, Instant)]) -> Vec<f64> {
        let mut latencies: Vec<f64> = sent
            .iter()
            .filter_map(|(seq, at)| {
                self.arrival(*seq)
                    .map(|arrived| arrived.duration_since(*at).as_secs_f64() * 1000.0)
            })
            .collect();
        latencies.sort_by(f64::total_cmp);
        latencies
    }
}

async fn receive(
    request: Request<Incoming>,
    arrivals: Arc<Arrivals>,
) -> Result<Response<Empty<Bytes>>, hyper::Error> {
    let body = request.into_body().collect().await?.to_bytes();
    let arrived = Instant::now();
    if let Ok(event) = serde_json::from_slice::<serde_json::Value>(&body)
        && event["type"] == "job.succeeded"
        && let Some(seq) = event["data"]["metadata"]["bench_seq"]
            .as_str()
            .and_then(|s| s.parse().ok())
    {
        arrivals
            .succeeded
            .lock()
            .unwrap()
            .entry(seq)
            .or_insert(arrived);
    }
    Ok(Response::builder().status(204).body(Empty::new()).unwrap())
}
