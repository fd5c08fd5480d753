//! The benchmark's clients: plain HTTP/1.1 keep-alive connections driven by
//! hyper, as lean as a client can be, so the machine's cores go to jobcall.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, client::conn::http1::SendRequest, header};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpStream, sync::Mutex};

pub struct Client {
    address: SocketAddr,
    authorization: String,
    callback_url: String,
    /// Numbers the jobs: the receiver matches callbacks to submissions by it.
    next_seq: Arc<AtomicU64>,
    /// Submissions that were not accepted (and will not call back).
    refused: Arc<AtomicU64>,
}

/// What one open-loop run measured.
pub struct OpenRun {
    /// When each sequence number was sent.
    pub sent: Vec<(u64, Instant)>,
    /// From the scheduled send to the 202, per accepted submission.
    pub accept_us: Vec<u32>,
    pub errors: u64,
}

/// What one closed-loop run measured.
#[derive(Default)]
pub struct Run {
    pub latencies_us: Vec<u32>,
    pub errors: u64,
    pub elapsed: Duration,
}

impl Client {
    pub fn new(address: SocketAddr, token: &str, callback_url: &str) -> Self {
        Self {
            address,
            authorization: format!("Bearer {token}"),
            callback_url: callback_url.to_owned(),
            next_seq: Arc::new(AtomicU64::new(0)),
            refused: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Submissions accepted so far: the callbacks to expect.
    pub fn accepted(&self) -> u64 {
        self.next_seq.load(Ordering::Relaxed) - self.refused.load(Ordering::Relaxed)
    }

    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(self.address).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(sender)
    }

    fn request(&self, seq: u64) -> Request<Full<Bytes>> {
        let body = format!(
            r#"{{"kind":"echo","input":{{"message":"bench"}},"callback_url":"{}","metadata":{{"bench_seq":"{seq}"}}}}"#,
            self.callback_url
        );
        Request::post("/v1/jobs")
            .header(header::HOST, "127.0.0.1")
            .header(header::AUTHORIZATION, &self.authorization)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("a well-formed request")
    }

    /// Sends one submission; true when it was accepted.
    async fn submit(&self, sender: &mut SendRequest<Full<Bytes>>, seq: u64) -> bool {
        let accepted = match sender.send_request(self.request(seq)).await {
            Ok(response) => {
                response.status() == 202 && response.into_body().collect().await.is_ok()
            }
            Err(_) => false,
        };
        if !accepted {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        accepted
    }

    /// `connections` connections submitting back to back for `duration`.
    pub async fn closed_loop(
        self: &Arc<Self>,
        connections: usize,
        duration: Duration,
    ) -> anyhow::Result<Run> {
        let started = Instant::now();
        let deadline = started + duration;
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let mut sender = self.connect().await?;
            let client = self.clone();
            tasks.push(tokio::spawn(async move {
                let mut run = Run::default();
                while Instant::now() < deadline {
                    let seq = client.next_seq.fetch_add(1, Ordering::Relaxed);
                    let sent = Instant::now();
                    if client.submit(&mut sender, seq).await {
                        run.latencies_us
                            .push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    } else {
                        run.errors += 1;
                        match client.connect().await {
                            Ok(fresh) => sender = fresh,
                            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                }
                run
            }));
        }
        let mut total = Run::default();
        for task in tasks {
            let run = task.await?;
            total.latencies_us.extend(run.latencies_us);
            total.errors += run.errors;
        }
        total.elapsed = started.elapsed();
        Ok(total)
    }

    /// Submissions at a fixed `rate` per second for `duration`, each sent on
    /// schedule whatever the previous ones are doing (an open loop, so a
    /// slow response cannot hide the latency that follows it).
    pub async fn open_loop(
        self: &Arc<Self>,
        rate: u32,
        duration: Duration,
    ) -> anyhow::Result<OpenRun> {
        let idle: Arc<Mutex<Vec<SendRequest<Full<Bytes>>>>> = Arc::new(Mutex::new(Vec::new()));
        for _ in 0..16 {
            idle.lock().await.push(self.connect().await?);
        }
        let interval = Duration::from_secs_f64(1.0 / rate as f64);
        let count = (duration.as_secs_f64() * rate as f64) as u64;
        let start = tokio::time::Instant::now();
        let errors = Arc::new(AtomicU64::new(0));
        let accept_us = Arc::new(std::sync::Mutex::new(Vec::with_capacity(count as usize)));
        let mut sent = Vec::with_capacity(count as usize);
        let mut tasks = Vec::with_capacity(count as usize);
        for i in 0..count {
            tokio::time::sleep_until(start + interval * i as u32).await;
            let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            sent.push((seq, Instant::now()));
            let (client, idle, errors) = (self.clone(), idle.clone(), errors.clone());
            let accept_us = accept_us.clone();
            let scheduled = Instant::now();
            tasks.push(tokio::spawn(async move {
                // An idle connection may have been closed by the server's
                // keep-alive timeout: skip those rather than count them.
                let mut taken = None;
                while let Some(mut sender) = idle.lock().await.pop() {
                    if sender.ready().await.is_ok() {
                        taken = Some(sender);
                        break;
                    }
                }
                let mut sender = match taken {
                    Some(sender) => sender,
                    None => match client.connect().await {
                        Ok(sender) => sender,
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            client.refused.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    },
                };
                if client.submit(&mut sender, seq).await {
                    let took = scheduled.elapsed().as_micros().min(u32::MAX as u128) as u32;
                    accept_us
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(took);
                    idle.lock().await.push(sender);
                } else {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        for task in tasks {
            task.await?;
        }
        let accept_us = std::mem::take(&mut *accept_us.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(OpenRun {
            sent,
            accept_us,
            errors: errors.load(Ordering::Relaxed),
        })
    }

    /// The body of `GET path` (no token: for `/metrics`).
    pub async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        let mut sender = self.connect().await?;
        let request = Request::get(path)
            .header(header::HOST, "127.0.0.1")
            .body(Full::new(Bytes::new()))?;
        let response = sender.send_request(request).await?;
        let body = response.into_body().collect().await?.to_bytes();
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}
