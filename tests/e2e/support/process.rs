//! The real `jobcall` binary as a child process: for `kill -9`, restarts,
//! SIGTERM and reading its logs.

use std::{
    fs::{File, OpenOptions},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::Value;

pub const BINARY: &str = env!("CARGO_BIN_EXE_jobcall");

pub struct ServerProcess {
    child: Option<Child>,
    role: String,
    env: Vec<(String, String)>,
    pub log: PathBuf,
    /// `http://127.0.0.1:<port>` of the current run.
    pub base: String,
}

impl ServerProcess {
    /// Starts `jobcall <role>` with `env` (JSON logs appended to `log`) and
    /// waits until it listens.
    pub async fn start(role: &str, env: Vec<(String, String)>, log: &Path) -> ServerProcess {
        let mut process = ServerProcess {
            child: None,
            role: role.to_owned(),
            env,
            log: log.to_path_buf(),
            base: String::new(),
        };
        process.spawn().await;
        process
    }

    async fn spawn(&mut self) {
        let lines_before = log_lines(&self.log).len();
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(BINARY)
            .arg(&self.role)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("JOBCALL_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the jobcall binary starts");
        self.child = Some(child);
        // Every role listens: the API, or a worker's health and metrics.
        let ready = "listening";
        for _ in 0..300 {
            let lines = log_lines(&self.log);
            if let Some(line) = lines[lines_before.min(lines.len())..]
                .iter()
                .find(|l| l["message"] == ready)
            {
                if let Some(address) = line["address"].as_str() {
                    self.base = format!("http://{address}");
                }
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "jobcall {} exited with {status} while starting:\n{}",
                    self.role,
                    tail(&self.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("jobcall {} did not start:\n{}", self.role, tail(&self.log));
    }

    /// SIGKILL: no shutdown, no flush, no goodbye.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, then waits for the exit; returns the exit code.
    pub async fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        for _ in 0..600 {
            if let Some(status) = child.try_wait().unwrap() {
                return status.code();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().unwrap();
        panic!("jobcall {} did not stop within 30 s of SIGTERM", self.role);
    }

    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn().await;
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// The log, one JSON object per line (lines that are not JSON are skipped).
pub fn log_lines(path: &Path) -> Vec<Value> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<_> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Runs a `jobcall` command to completion; returns its stdout.
pub fn run(args: &[&str], env: &[(String, String)]) -> String {
    let output = Command::new(BINARY)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("JOBCALL_LOG_FORMAT", "json")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "jobcall {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Runs a `jobcall` command to completion with its log appended to `log`,
/// as `jobcall … 2>>log` would; `env` may choose the log format (JSON
/// otherwise).
pub fn run_logged(args: &[&str], env: &[(String, String)], log: &Path) {
    let stderr = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let status = Command::new(BINARY)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("JOBCALL_LOG_FORMAT", "json")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .status()
        .unwrap();
    assert!(status.success(), "jobcall {args:?} failed:\n{}", tail(log));
}

/// A log file in `dir`.
pub fn log_file(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.log"));
    File::create(&path).unwrap();
    path
}

/// Runs `jobcall <args>` with `env` and expects it to refuse: to exit with a
/// failure within 30 s (it is killed and the test fails if it starts
/// instead). Returns what it wrote to stderr.
pub async fn refused(args: &[&str], env: &[(String, String)]) -> String {
    let mut child = Command::new(BINARY)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the jobcall binary starts");
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            assert!(!status.success(), "jobcall {args:?} succeeded: {stderr}");
            return stderr;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    panic!("jobcall {args:?} did not refuse to start within 30 s");
}
