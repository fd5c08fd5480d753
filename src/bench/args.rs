//! The benchmark's command line.

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// A PostgreSQL server to also measure on (a database is created and dropped).
    #[arg(long)]
    pub postgres: Option<String>,
    /// With `--postgres`: measure only there, not on SQLite too.
    #[arg(long)]
    pub postgres_only: bool,
    /// Seconds each load phase runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Connections of the accept phase.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Submissions per second of the end-to-end phase.
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// Finished jobs stored before the last phases; 0 skips them.
    #[arg(long, default_value_t = 1_000_000)]
    pub stored: u64,
    /// Keep the servers' logs here (JSON lines), one file per backend.
    #[arg(long)]
    pub log_dir: Option<std::path::PathBuf>,
    /// The servers' log filter (`JOBCALL_LOG_LEVEL`).
    #[arg(long, default_value = "warn,jobcall=info")]
    pub log_level: String,
    /// Instead of the phases, a soak of this many seconds: a steady rate with
    /// a short retention, sampled every `--soak-window` seconds.
    #[arg(long)]
    pub soak: Option<u64>,
    /// Submissions per second of the soak.
    #[arg(long, default_value_t = 300)]
    pub soak_rate: u32,
    /// The soak's retention of finished jobs, in seconds.
    #[arg(long, default_value_t = 60)]
    pub soak_retention: u64,
    /// Seconds between the soak's samples.
    #[arg(long, default_value_t = 60)]
    pub soak_window: u64,
    /// Finished jobs, past their retention, stored before the soak starts:
    /// the first windows measure accepting while they are purged.
    #[arg(long, default_value_t = 0)]
    pub soak_stored: u64,
    /// Runs the server under this command, split at spaces: a profiler, say
    /// `perf record -g -o /tmp/perf.data` or `heaptrack -o /tmp/heap`.
    #[arg(long)]
    pub server_wrapper: Option<String>,
}
