//! The soak: a steady submission rate with callbacks for a long while, with
//! a short retention, so that the sweep deletes as fast as jobs arrive. What
//! a server left running for months must show: memory, database size, rows
//! per table and accept latency flat from the first window to the last.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use super::{
    args::BenchArgs,
    load::Client,
    report::{Report, mb, percentile, thousands},
    seed,
    setup::{Setup, backend_title, drain},
};

/// One window's samples, taken at its end.
struct Sample {
    at: Duration,
    accept_p99_ms: f64,
    e2e_p99_ms: f64,
    errors: u64,
    missing: usize,
    rss_mb: Option<f64>,
    cpu_us_per_job: Option<f64>,
    database_mb: f64,
    jobs: f64,
    events: f64,
    attempts: f64,
    queue_tasks: f64,
    purged: f64,
}

/// The value of the first sample of `name` (labels included) in `metrics`.
fn metric(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

pub async fn soak(
    backend: &str,
    postgres: Option<&str>,
    args: &BenchArgs,
    length: Duration,
) -> anyhow::Result<Report> {
    eprintln!(
        "== {backend}: soak of {} s at {}/s, retention {} s",
        length.as_secs(),
        args.soak_rate,
        args.soak_retention
    );
    let retention = args.soak_retention.to_string();
    let extra = [
        ("JOBCALL_RETENTION_SECONDS", retention.clone()),
        ("JOBCALL_RETENTION_FAILED_SECONDS", retention),
        ("JOBCALL_RETENTION_SWEEP_INTERVAL_MS", "5000".to_owned()),
    ];
    let setup = Setup::new(backend, postgres, args, &extra).await?;
    let receiver = &setup.receiver;
    let mut server = setup.start_server(args).await?;
    if args.soak_stored > 0 {
        // Finished a day ago: the first sweeps purge them all while the
        // load runs, which the first windows' accept latency shows.
        server.stop().await?;
        eprintln!(
            "   seeding {} finished jobs to purge",
            thousands(args.soak_stored as f64)
        );
        seed::seed(
            &setup.database_url,
            &setup.client_id,
            &receiver.url,
            args.soak_stored,
        )
        .await?;
        server = setup.start_server(args).await?;
    }
    let client = Arc::new(Client::new(server.address, &setup.token, &receiver.url));
    client.closed_loop(4, Duration::from_secs(2)).await?;
    drain(&client, receiver, Duration::from_secs(60)).await?;

    let window = Duration::from_secs(args.soak_window.max(5));
    let windows = (length.as_secs() / window.as_secs()).max(2);
    let started = Instant::now();
    let mut samples = Vec::new();
    for _ in 0..windows {
        let cpu_before = server.cpu_time();
        let run = client.open_loop(args.soak_rate, window).await?;
        drain(&client, receiver, Duration::from_secs(30)).await?;
        let cpu = cpu_before.zip(server.cpu_time()).map(|(a, b)| b - a);
        let mut accept: Vec<f64> = run.accept_us.iter().map(|us| *us as f64 / 1000.0).collect();
        accept.sort_by(f64::total_cmp);
        let e2e = receiver.end_to_end_ms(&run.sent);
        let metrics = client.get_text("/metrics").await?;
        let table =
            |name: &str| metric(&metrics, &format!("jobcall_table_rows{{table=\"{name}\"}}"));
        let sample = Sample {
            at: started.elapsed(),
            accept_p99_ms: percentile(&accept, 0.99),
            e2e_p99_ms: percentile(&e2e, 0.99),
            errors: run.errors,
            missing: run.sent.len() - e2e.len(),
            rss_mb: server.rss_mb(),
            cpu_us_per_job: cpu.map(|cpu| cpu.as_micros() as f64 / run.sent.len().max(1) as f64),
            database_mb: metric(&metrics, "jobcall_database_size_bytes") / 1_000_000.0,
            jobs: table("jobs"),
            events: table("events"),
            attempts: table("delivery_attempts"),
            queue_tasks: table("queue_tasks"),
            purged: metric(&metrics, "jobcall_rows_purged_total{table=\"jobs\"}"),
        };
        eprintln!(
            "   {:>5.0} s: RSS {}, database {:.1} MB, jobs {}, accept p99 {:.1} ms, e2e p99 {:.1} ms, CPU/job {:.0} µs",
            sample.at.as_secs_f64(),
            mb(sample.rss_mb),
            sample.database_mb,
            thousands(sample.jobs),
            sample.accept_p99_ms,
            sample.e2e_p99_ms,
            sample.cpu_us_per_job.unwrap_or(f64::NAN),
        );
        samples.push(sample);
    }
    server.stop().await?;
    setup.finish().await?;

    // The first window after the retention has started to delete is the
    // baseline: before it, storage only grows.
    let settled = samples
        .iter()
        .position(|s| s.at.as_secs() > args.soak_retention + 10)
        .unwrap_or(0);
    let (first, last) = (&samples[settled], &samples[samples.len() - 1]);
    let both = |what: &str, f: &dyn Fn(&Sample) -> String| {
        (
            what.to_owned(),
            format!("{} → {}", f(first), f(last)),
            "flat within noise",
        )
    };
    let errors: u64 = samples.iter().map(|s| s.errors).sum();
    let missing: usize = samples.iter().map(|s| s.missing).sum();
    let rows = vec![
        (
            format!(
                "soak: {} s at {}/s, retention {} s; from {:.0} s to {:.0} s",
                length.as_secs(),
                args.soak_rate,
                args.soak_retention,
                first.at.as_secs_f64(),
                last.at.as_secs_f64()
            ),
            String::new(),
            "",
        ),
        both("RSS", &|s| mb(s.rss_mb)),
        both("database size", &|s| format!("{:.1} MB", s.database_mb)),
        both("rows: jobs", &|s| thousands(s.jobs)),
        both("rows: events", &|s| thousands(s.events)),
        both("rows: delivery attempts", &|s| thousands(s.attempts)),
        both("rows: queue tasks", &|s| thousands(s.queue_tasks)),
        both("accept p99", &|s| format!("{:.1} ms", s.accept_p99_ms)),
        both("end-to-end p99", &|s| format!("{:.1} ms", s.e2e_p99_ms)),
        both("server CPU per job", &|s| {
            format!("{:.0} µs", s.cpu_us_per_job.unwrap_or(f64::NAN))
        }),
        (
            "jobs purged by retention".to_owned(),
            thousands(last.purged),
            "",
        ),
        (
            format!(
                "accept p99 per window (the first ones purge {} stored jobs)",
                thousands(args.soak_stored as f64)
            ),
            samples
                .iter()
                .map(|s| format!("{:.1}", s.accept_p99_ms))
                .collect::<Vec<_>>()
                .join(", ")
                + " ms",
            "p99 ≤ 15 ms",
        ),
        (
            "errors / callbacks missing".to_owned(),
            format!("{errors} / {missing}"),
            "0 / 0",
        ),
    ];
    Ok(Report {
        backend: format!("{} — soak", backend_title(backend, postgres)),
        rows,
    })
}
