//! The processes a bench run drives: the load generator (its modes as JSON lines) and a release
//! `casework serve` on a free port, logging to `target/bench/server.log`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::bench_dir;
use crate::workspace_root;

/// The load generator.
pub(super) struct Load(pub(super) PathBuf);

impl Load {
    pub(super) fn json(&self, args: &[&str]) -> Result<Value> {
        let output = Command::new(&self.0).args(args).stderr(Stdio::inherit()).output()?;
        if !output.status.success() {
            bail!("load {} failed", args.join(" "));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let last = text.lines().last().unwrap_or_default();
        serde_json::from_str(last).with_context(|| format!("load {}: {text}", args[0]))
    }

    pub(super) fn call(&self, url: &str, key: &str, method: &str, path: &str, body: &Value) -> Result<Value> {
        let body = body.to_string();
        self.json(&["call", "--url", url, "--key", key, "--method", method, "--path", path, "--body", &body])
    }
}

/// A running `casework serve`.
pub(super) struct Server {
    child: Child,
    pub(super) url: String,
}

impl Server {
    pub(super) fn start(binary: &Path, database_url: &str) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = std::fs::File::create(bench_dir().join("server.log"))?;
        let child = Command::new(binary)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("CASEWORK_ENV", "development")
            .env("CASEWORK__SERVER__PORT", port.to_string())
            .env("CASEWORK__LOG__FORMAT", "json")
            .env("CASEWORK__LOG__LEVEL", "info")
            .current_dir(workspace_root())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("casework serve did not listen within 30 s (see target/bench/server.log)");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self { child, url: format!("http://127.0.0.1:{port}") })
    }

    /// Resident and peak resident memory, in MiB.
    pub(super) fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}
