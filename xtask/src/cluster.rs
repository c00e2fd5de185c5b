//! The private PostgreSQL cluster under `target/pg/`: found, created, started and reused.
//!
//! Where newcomers and CI trip, this module decides for them and says so:
//! - PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user, and
//!   when that user cannot enter the checkout (a `0700` temporary folder) the data directory
//!   moves to a folder it can enter, under the system's temporary directory.
//! - A Unix socket path must stay under 107 bytes; a long checkout path moves the socket too.
//! - A cluster left running by a killed run is found through its `postmaster.pid` and reused.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The longest Unix socket path PostgreSQL accepts (sun_path is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;
const SUPERUSER: &str = "postgres";

/// A running cluster, reachable over TCP on 127.0.0.1.
pub struct Cluster {
    /// The TCP port it listens on.
    pub port: u16,
}

impl Cluster {
    /// A URL for `database` as the superuser (trust authentication, loopback only).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }
}

/// The server binaries of one PostgreSQL installation.
pub struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    /// Finds `initdb`, `pg_ctl` and `postgres`, or says exactly what to install.
    pub fn find() -> Result<Self> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
            candidates.push(PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
        }
        let mut debian: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
            .map(|dir| dir.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect())
            .unwrap_or_default();
        debian.sort_by_key(|path| std::cmp::Reverse(version_of(path)));
        candidates.extend(debian);
        for brew in ["/opt/homebrew", "/usr/local"] {
            for version in ["17", "16", "15"] {
                candidates.push(PathBuf::from(format!("{brew}/opt/postgresql@{version}/bin")));
            }
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        candidates
            .into_iter()
            .find(|dir| ["initdb", "pg_ctl", "postgres"].iter().all(|b| dir.join(b).is_file()))
            .map(|dir| Self { dir })
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "PostgreSQL's server binaries (initdb, pg_ctl, postgres) were not found.\n\
                     Install them, then run the command again:\n  \
                     Debian/Ubuntu: sudo apt-get install -y postgresql\n  \
                     macOS:         brew install postgresql@16\n\
                     Or set DATABASE_URL to a PostgreSQL server you can create databases on."
                )
            })
    }

    /// The path of one binary.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn version_of(path: &Path) -> u32 {
    path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// Where the cluster's files go, and who runs it.
struct Layout {
    /// Holds `data/`, `sock/`, `port` and `server.log`.
    root: PathBuf,
    /// `Some("postgres")` when invoked as root.
    run_as: Option<String>,
}

impl Layout {
    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log(&self) -> PathBuf {
        self.root.join("server.log")
    }

    fn port_file(&self) -> PathBuf {
        self.root.join("port")
    }

    fn socket_dir(&self) -> PathBuf {
        let preferred = self.root.join("sock");
        // ".s.PGSQL.65535" is 14 bytes, plus the separator.
        if preferred.as_os_str().len() + 15 < MAX_SOCKET_PATH { preferred } else { short_temp_dir("sock", &self.root) }
    }

    /// Runs `program` as the cluster's user.
    fn command(&self, program: &Path) -> Command {
        match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.arg("-u").arg(user).arg("--").arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    fn user_can_enter(&self, dir: &Path) -> bool {
        match &self.run_as {
            None => true,
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--", "test", "-x"])
                .arg(dir)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
        }
    }
}

fn short_temp_dir(purpose: &str, key: &Path) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    std::env::temp_dir().join(format!("casework-pg-{purpose}-{:016x}", hasher.finish()))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn layout(target_pg: &Path) -> Result<Layout> {
    fs::create_dir_all(target_pg).with_context(|| format!("creating {}", target_pg.display()))?;
    let run_as = is_root().then(|| SUPERUSER.to_owned());
    let mut layout = Layout { root: target_pg.to_path_buf(), run_as };
    if layout.run_as.is_some() && !layout.user_can_enter(target_pg) {
        let moved = short_temp_dir("data", target_pg);
        eprintln!(
            "xtask: the `{SUPERUSER}` user cannot enter {}; the cluster's files go to {} instead.",
            target_pg.display(),
            moved.display()
        );
        layout.root = moved;
    }
    fs::create_dir_all(&layout.root)?;
    fs::create_dir_all(layout.socket_dir())?;
    if let Some(user) = &layout.run_as {
        for dir in [layout.root.clone(), layout.socket_dir()] {
            let status = Command::new("chown").arg("-R").arg(format!("{user}:")).arg(&dir).status()?;
            if !status.success() {
                bail!("could not give {} to the `{user}` user", dir.display());
            }
        }
    }
    Ok(layout)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// The port of the running postmaster of `data`, if one is alive.
fn running_port(layout: &Layout, binaries: &Binaries) -> Option<u16> {
    let status = layout.command(&binaries.path("pg_ctl")).arg("status").arg("-D").arg(layout.data()).output().ok()?;
    if !status.status.success() {
        return None;
    }
    // postmaster.pid: line 4 is the port.
    let pid_file = fs::read_to_string(layout.data().join("postmaster.pid")).ok()?;
    pid_file.lines().nth(3)?.trim().parse().ok()
}

/// Settings for tests: fast, not crash-safe (a lost cluster is recreated).
pub const FAST: &str = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300";

/// Starts (or reuses) the test cluster under `target_pg`.
pub fn ensure_running(target_pg: &Path) -> Result<Cluster> {
    ensure_running_with(target_pg, FAST)
}

/// Starts (or reuses) the cluster under `target_pg` with `settings` (`-c name=value …`) added
/// to its start-up options; a running cluster is reused as it is.
pub fn ensure_running_with(target_pg: &Path, settings: &str) -> Result<Cluster> {
    let binaries = Binaries::find()?;
    let layout = layout(target_pg)?;
    if !layout.data().join("PG_VERSION").is_file() {
        init(&layout, &binaries)?;
    }
    if let Some(port) = running_port(&layout, &binaries) {
        wait_ready(port, &binaries)?;
        return Ok(Cluster { port });
    }
    let stored = fs::read_to_string(layout.port_file()).ok().and_then(|p| p.trim().parse().ok());
    let port = match stored {
        Some(port) if port_is_free(port) => port,
        _ => free_port()?,
    };
    fs::write(layout.port_file(), port.to_string())?;
    eprintln!("xtask: starting PostgreSQL on 127.0.0.1:{port} (data in {})", layout.data().display());
    let options = format!(
        "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='{}' {settings}",
        layout.socket_dir().display()
    );
    let output = layout
        .command(&binaries.path("pg_ctl"))
        .arg("start")
        .arg("-w")
        .arg("-t")
        .arg("60")
        .arg("-D")
        .arg(layout.data())
        .arg("-l")
        .arg(layout.log())
        .arg("-o")
        .arg(options)
        .stdout(Stdio::null())
        .output()?;
    if !output.status.success() {
        let log = fs::read_to_string(layout.log()).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        bail!(
            "PostgreSQL did not start:\n{}\n--- last lines of {} ---\n{}",
            String::from_utf8_lossy(&output.stderr),
            layout.log().display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    wait_ready(port, &binaries)?;
    Ok(Cluster { port })
}

fn init(layout: &Layout, binaries: &Binaries) -> Result<()> {
    eprintln!("xtask: creating a PostgreSQL cluster in {}", layout.data().display());
    let output = layout
        .command(&binaries.path("initdb"))
        .arg("-D")
        .arg(layout.data())
        .args(["-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"])
        .output()?;
    if !output.status.success() {
        bail!("initdb failed:\n{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

fn wait_ready(port: u16, binaries: &Binaries) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = Command::new(binaries.path("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if ready {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("PostgreSQL on port {port} did not become ready within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops the cluster if it runs.
pub fn stop(target_pg: &Path) -> Result<()> {
    let binaries = Binaries::find()?;
    let layout = layout(target_pg)?;
    if running_port(&layout, &binaries).is_some() {
        let status = layout
            .command(&binaries.path("pg_ctl"))
            .arg("stop")
            .args(["-m", "fast", "-w", "-D"])
            .arg(layout.data())
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            bail!("pg_ctl stop failed");
        }
        eprintln!("xtask: PostgreSQL stopped");
    }
    Ok(())
}

/// Stops the cluster and deletes its files.
pub fn destroy(target_pg: &Path) -> Result<()> {
    stop(target_pg)?;
    let layout = layout(target_pg)?;
    for dir in [layout.data(), layout.socket_dir()] {
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
    }
    Ok(())
}

/// Runs SQL on the server behind `url` with `psql` (from the same installation).
pub fn psql(url: &str, sql: &str) -> Result<String> {
    psql_with(url, &["-c", sql])
}

/// Runs the SQL file `path` with psql variables `vars` (`:name`, `:'name'` in the file).
pub fn psql_file(url: &str, path: &Path, vars: &[(&str, String)]) -> Result<String> {
    let mut args: Vec<String> = Vec::new();
    for (name, value) in vars {
        args.extend(["-v".to_owned(), format!("{name}={value}")]);
    }
    args.extend(["-f".to_owned(), path.display().to_string()]);
    psql_with(url, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn psql_with(url: &str, args: &[&str]) -> Result<String> {
    let psql = Binaries::find().map(|b| b.path("psql")).unwrap_or_else(|_| PathBuf::from("psql"));
    let output =
        Command::new(psql).args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", url]).args(args).output()?;
    if !output.status.success() {
        bail!("psql failed: {}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
