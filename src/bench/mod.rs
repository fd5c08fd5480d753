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

mod args;
mod load;
mod receiver;
mod report;
mod seed;
mod server;
mod setup;
mod soak;

pub use args::BenchArgs;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use load::Client;
use receiver::Receiver;
use report::{Report, mb, percentile, thousands};
use server::Server;
use setup::{Setup, backend_title, drain};

pub async fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    let mut reports = Vec::new();
    let sqlite = (!args.postgres_only).then_some(("SQLite", None));
    let backends = sqlite.into_iter().chain(
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
    let latencies = receiver.end_to_end_ms(&sent);
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
