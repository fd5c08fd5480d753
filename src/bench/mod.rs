//! `jobcall bench`: the numbers a user chooses a job service by, measured on
//! this machine against the real server (a child process, over loopback),
//! on SQLite and, when given a server, on PostgreSQL.
//!
//! - accept: `POST /v1/jobs` (echo, callback URL set) from 64 keep-alive
//!   connections for a fixed time: requests/s, p50/p99, errors;
//! - end-to-end: at a fixed 200 jobs/s, from sending the submit to the
//!   receiver getting `job.succeeded`: p50/p95/p99;
//! - sustained: callbacks delivered per second while the backlog the accept
//!   phase left drains, and how long it takes to drain;
//! - the same with 1,000,000 finished jobs already stored;
//! - peak RSS of the server in each phase.

mod load;
mod receiver;
mod seed;
mod server;
mod soak;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use jobcall_jobs::secrets::EncryptionKey;
use serde_json::Value;

use load::Client;
use receiver::Receiver;
use server::{Server, run};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// A PostgreSQL server to also measure on (a database is created and dropped).
    #[arg(long)]
    postgres: Option<String>,
    /// Seconds each load phase runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Connections of the accept phase.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Submissions per second of the end-to-end phase.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Finished jobs stored before the last phases; 0 skips them.
    #[arg(long, default_value_t = 1_000_000)]
    stored: u64,
    /// Keep the servers' logs here (JSON lines), one file per backend.
    #[arg(long)]
    log_dir: Option<std::path::PathBuf>,
    /// The servers' log filter (`JOBCALL_LOG_LEVEL`).
    #[arg(long, default_value = "warn,jobcall=info")]
    log_level: String,
    /// Instead of the phases, a soak of this many seconds: a steady rate with
    /// a short retention, sampled every `--soak-window` seconds.
    #[arg(long)]
    soak: Option<u64>,
    /// Submissions per second of the soak.
    #[arg(long, default_value_t = 300)]
    soak_rate: u32,
    /// The soak's retention of finished jobs, in seconds.
    #[arg(long, default_value_t = 60)]
    soak_retention: u64,
    /// Seconds between the soak's samples.
    #[arg(long, default_value_t = 60)]
    soak_window: u64,
    /// Finished jobs, past their retention, stored before the soak starts:
    /// the first windows measure accepting while they are purged.
    #[arg(long, default_value_t = 0)]
    soak_stored: u64,
    /// Runs the server under this command, split at spaces: a profiler, say
    /// `perf record -g -o /tmp/perf.data` or `heaptrack -o /tmp/heap`.
    #[arg(long)]
    server_wrapper: Option<String>,
}

/// What one backend measured.
struct Report {
    backend: String,
    rows: Vec<(String, String, &'static str)>,
}

pub async fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    let mut reports = Vec::new();
    let backends = std::iter::once(("SQLite", None)).chain(
        args.postgres
            .as_deref()
            .map(|url| ("PostgreSQL", Some(url))),
    );
    for (backend, postgres) in backends {
        reports.push(match args.soak {
            Some(seconds) => {
                soak::soak(backend, postgres, &args, Duration::from_secs(seconds)).await?
            }
            None => measure(backend, postgres, &args).await?,
        });
    }
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("\njobcall bench: {cpus} CPUs, load generator and receiver on the same machine\n");
    for report in reports {
        println!("### {}\n", report.backend);
        println!("| measure | value | target |");
        println!("|---|---:|---|");
        for (measure, value, target) in report.rows {
            println!("| {measure} | {value} | {target} |");
        }
        println!();
    }
    Ok(())
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// A server for one backend, its database, a client and a receiver.
struct Setup {
    _dir: tempfile::TempDir,
    database_url: String,
    /// The PostgreSQL server and the database to drop at the end.
    drop_database: Option<(String, String)>,
    receiver: Receiver,
    env: Vec<(String, String)>,
    client_id: String,
    token: String,
    log: std::path::PathBuf,
}

impl Setup {
    async fn new(
        backend: &str,
        postgres: Option<&str>,
        args: &BenchArgs,
        extra_env: &[(&str, String)],
    ) -> anyhow::Result<Setup> {
        let dir = tempfile::tempdir()?;
        let (database_url, drop_database) = match postgres {
            None => (
                format!("sqlite://{}", dir.path().join("bench.db").display()),
                None,
            ),
            Some(server) => {
                let name = format!(
                    "jobcall_bench_{}",
                    ulid::Ulid::generate().to_string().to_lowercase()
                );
                let admin = sqlx::PgPool::connect(server).await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await?;
                admin.close().await;
                let mut url = url::Url::parse(server)?;
                url.set_path(&name);
                (url.to_string(), Some((server.to_owned(), name)))
            }
        };
        let receiver = Receiver::start().await?;
        let mut env: Vec<(String, String)> = [
            ("JOBCALL_DATA_DIR", dir.path().to_str().unwrap_or(".")),
            ("JOBCALL_DATABASE_URL", database_url.as_str()),
            ("JOBCALL_LISTEN", "127.0.0.1:0"),
            (
                "JOBCALL_JWT_SECRET",
                "benchmark-secret-of-at-least-thirty-two-bytes",
            ),
            (
                "JOBCALL_SECRETS_KEY",
                &EncryptionKey::generate().to_base64(),
            ),
            ("JOBCALL_OUTBOUND_ALLOW_CIDRS", "127.0.0.0/8"),
            ("JOBCALL_OUTBOUND_ALLOW_HTTP", "true"),
            ("JOBCALL_SUBMIT_RATE_PER_CLIENT", "0"),
            ("JOBCALL_MAX_QUEUED_JOBS", "100000000"),
            ("JOBCALL_LOG_LEVEL", args.log_level.as_str()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.extend(extra_env.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let created: Value =
            serde_json::from_str(&run(&["client", "create", "bench", "--json"], &env)?)?;
        let client_id = created["id"].as_str().unwrap_or_default().to_owned();
        let token = run(
            &[
                "token",
                "--client",
                &client_id,
                "--scope",
                "jobs:read jobs:write",
                "--ttl",
                "12h",
            ],
            &env,
        )?
        .trim()
        .to_owned();
        let log = match &args.log_dir {
            Some(logs) => {
                std::fs::create_dir_all(logs)?;
                logs.join(format!("{}.log", backend.to_lowercase()))
            }
            None => dir.path().join("server.log"),
        };
        Ok(Setup {
            _dir: dir,
            database_url,
            drop_database,
            receiver,
            env,
            client_id,
            token,
            log,
        })
    }

    async fn start_server(&self, args: &BenchArgs) -> anyhow::Result<Server> {
        Server::start(&self.env, &self.log, args.server_wrapper.as_deref()).await
    }

    async fn finish(self) -> anyhow::Result<()> {
        if let Some((server, name)) = self.drop_database {
            let admin = sqlx::PgPool::connect(&server).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&admin)
            .await?;
            admin.close().await;
        }
        Ok(())
    }
}

fn backend_title(backend: &str, postgres: Option<&str>) -> String {
    format!(
        "{backend}{}",
        if postgres.is_none() {
            " (WAL, synchronous=NORMAL)"
        } else {
            ""
        }
    )
}

async fn measure(
    backend: &str,
    postgres: Option<&str>,
    args: &BenchArgs,
) -> anyhow::Result<Report> {
    eprintln!("== {backend}");
    let setup = Setup::new(backend, postgres, args, &[]).await?;
    let receiver = &setup.receiver;
    let mut server = setup.start_server(args).await?;
    let mut rows = Vec::new();
    let client = Arc::new(Client::new(server.address, &setup.token, &receiver.url));
    // Warm up: connections, caches, the query planner.
    client.closed_loop(8, Duration::from_secs(2)).await?;
    drain(&client, receiver, Duration::from_secs(120)).await?;

    phases(&mut rows, "", &server, &client, receiver, args).await?;

    if args.stored > 0 {
        server.stop().await?;
        eprintln!("   seeding {} finished jobs", args.stored);
        let seeding = Instant::now();
        seed::seed(
            &setup.database_url,
            &setup.client_id,
            &receiver.url,
            args.stored,
        )
        .await?;
        eprintln!("   seeded in {:.0} s", seeding.elapsed().as_secs_f64());
        server = setup.start_server(args).await?;
        // A new client numbers its jobs from 0 again.
        receiver.forget();
        let client = Arc::new(Client::new(server.address, &setup.token, &receiver.url));
        client.closed_loop(8, Duration::from_secs(2)).await?;
        drain(&client, receiver, Duration::from_secs(120)).await?;
        let stored = format!("{} stored: ", thousands(args.stored as f64));
        phases(&mut rows, &stored, &server, &client, receiver, args).await?;
    }
    server.stop().await?;
    setup.finish().await?;
    Ok(Report {
        backend: backend_title(backend, postgres),
        rows,
    })
}

/// Accept (and the drain it leaves: sustained), then end-to-end.
async fn phases(
    rows: &mut Vec<(String, String, &'static str)>,
    prefix: &str,
    server: &Server,
    client: &Arc<Client>,
    receiver: &Receiver,
    args: &BenchArgs,
) -> anyhow::Result<()> {
    let seconds = Duration::from_secs(args.seconds);
    eprintln!(
        "   accept: {} connections for {} s",
        args.connections, args.seconds
    );
    server.reset_peak_rss();
    let before = receiver.succeeded();
    let run = client.closed_loop(args.connections, seconds).await?;
    let during = receiver.succeeded() - before;
    let load_ended = Instant::now();
    let accepted = run.latencies_us.len();
    let mut latencies: Vec<f64> = run
        .latencies_us
        .iter()
        .map(|us| *us as f64 / 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let rate = accepted as f64 / run.elapsed.as_secs_f64();
    let drained = drain(client, receiver, Duration::from_secs(600)).await?;
    let drain_time = load_ended.elapsed();
    let after_load = (accepted - during.min(accepted)) as f64;
    let sustained = after_load / drain_time.as_secs_f64().max(0.001);
    rows.push((
        format!(
            "{prefix}accept: requests/s ({} connections, {} s)",
            args.connections, args.seconds
        ),
        thousands(rate),
        "≥ 10,000 (SQLite), ≥ 5,000 (PostgreSQL)",
    ));
    rows.push((
        format!("{prefix}accept: p50 / p99 latency"),
        format!(
            "{:.1} / {:.1} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        ),
        "p99 ≤ 15 ms",
    ));
    rows.push((
        format!("{prefix}accept: errors"),
        run.errors.to_string(),
        "0",
    ));
    rows.push((
        format!("{prefix}sustained: jobs done with callback delivered /s (draining the backlog)"),
        thousands(sustained),
        "≥ 3,000",
    ));
    rows.push((
        format!("{prefix}sustained: callbacks delivered during the accept phase /s"),
        thousands(during as f64 / run.elapsed.as_secs_f64()),
        "",
    ));
    rows.push((
        format!(
            "{prefix}drain after load stops ({} jobs left)",
            thousands(after_load)
        ),
        format!(
            "{:.1} s{}",
            drain_time.as_secs_f64(),
            if drained { "" } else { " (not all)" }
        ),
        "",
    ));
    rows.push((
        format!("{prefix}accept + drain: peak RSS"),
        mb(server.peak_rss_mb()),
        "≤ 60 MB",
    ));

    eprintln!("   end-to-end: {} jobs/s for {} s", args.rate, args.seconds);
    server.reset_peak_rss();
    let load::OpenRun { sent, errors, .. } = client.open_loop(args.rate, seconds).await?;
    drain(client, receiver, Duration::from_secs(120)).await?;
    let mut latencies: Vec<f64> = sent
        .iter()
        .filter_map(|(seq, at)| {
            receiver
                .arrival(*seq)
                .map(|arrived| arrived.duration_since(*at).as_secs_f64() * 1000.0)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    let missing = sent.len() - latencies.len();
    rows.push((
        format!("{prefix}end-to-end at {}/s: p50 / p95 / p99", args.rate),
        format!(
            "{:.2} / {:.2} / {:.2} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            percentile(&latencies, 0.99)
        ),
        "p50 ≤ 2 ms, p99 ≤ 5 ms",
    ));
    rows.push((
        format!("{prefix}end-to-end: errors / callbacks missing"),
        format!("{errors} / {missing}"),
        "0 / 0",
    ));
    rows.push((
        format!("{prefix}end-to-end: peak RSS"),
        mb(server.peak_rss_mb()),
        "≤ 60 MB",
    ));
    Ok(())
}

/// Waits until every accepted job has called back; false on timeout.
async fn drain(client: &Client, receiver: &Receiver, limit: Duration) -> anyhow::Result<bool> {
    let deadline = Instant::now() + limit;
    while (receiver.succeeded() as u64) < client.accepted() {
        if Instant::now() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(true)
}

fn thousands(n: f64) -> String {
    let whole = n.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn mb(value: Option<f64>) -> String {
    value.map_or("n/a".into(), |mb| format!("{mb:.0} MB"))
}
