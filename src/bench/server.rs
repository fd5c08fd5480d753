//! The server under test: the real `jobcall serve`, a child process of the
//! benchmark, with its peak resident memory read from /proc.

use std::{
    fs::File,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

pub struct Server {
    /// The server, or the wrapper it runs under.
    child: Child,
    /// The server's own process id (not the wrapper's).
    pid: u32,
    pub address: SocketAddr,
}

/// Runs `jobcall <args>` to completion with `env`; returns its stdout.
pub fn run(args: &[&str], env: &[(String, String)]) -> anyhow::Result<String> {
    let output = Command::new(std::env::current_exe()?)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()?;
    anyhow::ensure!(
        output.status.success(),
        "jobcall {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

impl Server {
    pub async fn start(
        env: &[(String, String)],
        log: &Path,
        wrapper: Option<&str>,
    ) -> anyhow::Result<Server> {
        let exe = std::env::current_exe()?;
        let mut command = match wrapper.map(str::split_whitespace) {
            Some(mut words) => {
                let mut command = Command::new(words.next().unwrap_or_default());
                command.args(words).arg(exe);
                command
            }
            None => Command::new(exe),
        };
        let child = command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("JOBCALL_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(log)?)
            .spawn()?;
        let mut server = Server {
            pid: child.id(),
            child,
            address: "127.0.0.1:0".parse()?,
        };
        for _ in 0..600 {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let listening = text
                .lines()
                .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
                .find(|line| line["message"] == "listening");
            if let Some(line) = listening {
                server.address = line["address"].as_str().unwrap_or_default().parse()?;
                server.pid = line["pid"].as_u64().map_or(server.pid, |pid| pid as u32);
                return Ok(server);
            }
            anyhow::ensure!(
                server.child.try_wait()?.is_none(),
                "the server exited while starting:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the server did not start")
    }

    fn proc(&self, file: &str) -> PathBuf {
        PathBuf::from(format!("/proc/{}/{file}", self.pid))
    }

    /// Starts a new peak-memory measurement.
    pub fn reset_peak_rss(&self) {
        let _ = std::fs::write(self.proc("clear_refs"), "5");
    }

    /// The peak resident set since the last reset, in MB.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(self.proc("status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }

    /// The resident set now, in MB.
    pub fn rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(self.proc("status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }

    /// CPU time the server has used so far (user and system).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(self.proc("stat")).ok()?;
        // Fields after the command name, which is in parentheses.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // Linux reports in clock ticks of 1/100 s (USER_HZ).
        Some(Duration::from_millis(ticks * 10))
    }

    /// SIGTERM, and waits for the exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()?;
        for _ in 0..1200 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child.kill()?;
        anyhow::bail!("the server did not stop within 60 s")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
