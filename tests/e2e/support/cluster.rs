//! A PostgreSQL server of one test's own (initdb into a temporary folder),
//! so that the test can restart it without disturbing any other test.

use std::{path::PathBuf, process::Command};

use super::Backend;

pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Cluster {
    /// A fresh cluster, running; `None` (the test skips) without the
    /// PostgreSQL server binaries, unless `TEST_REQUIRE_POSTGRES` is set.
    pub fn start() -> Option<Cluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|versions| {
                versions
                    .filter_map(Result::ok)
                    .map(|v| v.path().join("bin"))
                    .find(|b| b.join("initdb").exists())
            });
        let Some(bin) = bin else {
            if std::env::var_os("TEST_REQUIRE_POSTGRES").is_some() {
                panic!("TEST_REQUIRE_POSTGRES is set but no PostgreSQL server binaries were found");
            }
            eprintln!("skipped: no PostgreSQL server binaries under /usr/lib/postgresql");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("jobcall-pg-")
            .tempdir()
            .unwrap();
        // PostgreSQL refuses to run as root: the cluster belongs to `postgres`.
        run(Command::new("chown")
            .args(["postgres:postgres"])
            .arg(dir.path()));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster { bin, dir, port };
        run(cluster
            .as_postgres("initdb")
            .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
            .arg(cluster.data()));
        cluster.pg_ctl("start");
        Some(cluster)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_postgres(&self, program: &str) -> Command {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join(program));
        command
    }

    fn pg_ctl(&self, action: &str) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        run(self
            .as_postgres("pg_ctl")
            .args([action, "-w", "-m", "fast", "-D"])
            .arg(self.data())
            .args(["-o", &options, "-l"])
            .arg(self.dir.path().join("server.log")));
    }

    /// Stops and starts the server; every connection to it breaks.
    pub fn restart(&self) {
        self.pg_ctl("restart");
    }

    pub fn backend(&self) -> Backend {
        Backend::Postgres(std::sync::Arc::new(format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            self.port
        )))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .as_postgres("pg_ctl")
            .args(["stop", "-m", "immediate", "-D"])
            .arg(self.data())
            .output();
    }
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
