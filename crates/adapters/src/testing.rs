//! Test support: a fresh PostgreSQL database per test, cloned from a migrated template.
//!
//! Tests run in parallel (one process per test under nextest), share nothing and never depend on
//! order: each gets its own database, dropped when it ends. The template is migrated once per
//! set of migrations, under an advisory lock, and renamed into place only when complete, so a
//! crashed run never leaves a half-migrated template behind.
//!
//! The server comes from `CASEWORK_TEST_DATABASE_URL` (set by `cargo xtask test`), or else from
//! the private cluster that `cargo xtask db up` started.

#![expect(clippy::expect_used, clippy::panic, reason = "test support: a failure here is a failed test")]

use std::sync::Arc;
use std::time::Duration;

use diesel::migration::MigrationSource;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::SecretString;
use sha2::{Digest, Sha256};

use crate::crypto::{BlocklistHasher, PiiCipher};
use crate::postgres::{MIGRATIONS, PgStore, PoolOptions, build_pool, run_migrations};

/// The PII key tests encrypt with.
pub const TEST_PII_KEY: &str = "test:5f0e3c1d2b4a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// The maintenance database URL of the test server.
///
/// # Panics
/// When no server is configured: tests are run with `cargo xtask test`.
pub fn server_url() -> String {
    if let Ok(url) = std::env::var("CASEWORK_TEST_DATABASE_URL") {
        return url;
    }
    let port_file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pg/port");
    match std::fs::read_to_string(&port_file) {
        Ok(port) => format!("postgres://postgres@127.0.0.1:{}/postgres", port.trim()),
        Err(_) => {
            panic!("no test database server: run the tests with `cargo xtask test` (or `cargo xtask db up` first)")
        }
    }
}

/// `server` with its database replaced by `database`.
pub fn url_for(server: &str, database: &str) -> String {
    let (base, query) = server.split_once('?').map_or((server, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// The template's name, keyed by the content of every migration (names and `up.sql` text), so
/// an edited migration is never tested against a template built from its older text.
fn template_name() -> String {
    let mut hasher = Sha256::new();
    let migrations = MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS).unwrap_or_default();
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    for migration in &migrations {
        let name = migration.name().to_string();
        let up = std::fs::read(directory.join(&name).join("up.sql"))
            .unwrap_or_else(|error| panic!("read the migration {name}: {error}"));
        hasher.update(name.as_bytes());
        hasher.update((up.len() as u64).to_le_bytes());
        hasher.update(&up);
    }
    let digest = hasher.finalize();
    format!("casework_test_template_{}", hex::encode(&digest[..8]))
}

async fn execute(connection: &mut AsyncPgConnection, sql: &str) -> Result<usize, diesel::result::Error> {
    diesel::sql_query(sql).execute(connection).await
}

async fn database_exists(connection: &mut AsyncPgConnection, name: &str) -> bool {
    use diesel::sql_types::Text;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        #[expect(dead_code, reason = "only its presence matters")]
        found: i32,
    }
    diesel::sql_query("SELECT 1 AS found FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(name)
        .load::<Found>(connection)
        .await
        .is_ok_and(|rows| !rows.is_empty())
}

/// Creates the migrated template once (per set of migrations) and returns its name.
async fn ensure_template(server: &str) -> String {
    let template = template_name();
    let mut admin = AsyncPgConnection::establish(server).await.expect("connect to the test server");
    if database_exists(&mut admin, &template).await {
        return template;
    }
    execute(&mut admin, "SELECT pg_advisory_lock(727274)").await.expect("template lock");
    if !database_exists(&mut admin, &template).await {
        let building = format!("{template}_building");
        execute(&mut admin, &format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .await
            .expect("drop stale template");
        execute(&mut admin, &format!("CREATE DATABASE {building}")).await.expect("create template");
        run_migrations(&SecretString::from(url_for(server, &building))).await.expect("migrate template");
        execute(&mut admin, &format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await
            .expect("publish template");
    }
    execute(&mut admin, "SELECT pg_advisory_unlock(727274)").await.expect("template unlock");
    template
}

/// A database of one test's own, dropped when the value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// A fresh, migrated database.
    ///
    /// # Panics
    /// When the test server cannot be reached.
    pub async fn new() -> Self {
        let server = server_url();
        let template = ensure_template(&server).await;
        let name = format!("casework_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&server).await.expect("connect to the test server");
        let create = format!("CREATE DATABASE {name} TEMPLATE {template}");
        // Cloning fails while another session is connected to the template; that is brief.
        let mut attempt = 0;
        while let Err(error) = execute(&mut admin, &create).await {
            attempt += 1;
            assert!(attempt < 50, "cannot create a test database: {error}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let url = url_for(&server, &name);
        Self { server, name, url }
    }

    /// A fresh database with nothing in it (not even the migrations).
    ///
    /// # Panics
    /// When the test server cannot be reached.
    pub async fn empty() -> Self {
        let server = server_url();
        let name = format!("casework_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = AsyncPgConnection::establish(&server).await.expect("connect to the test server");
        execute(&mut admin, &format!("CREATE DATABASE {name}")).await.expect("create an empty database");
        let url = url_for(&server, &name);
        Self { server, name, url }
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `sql` (a test's own statement, never built from input) and returns, for every row,
    /// the text column the statement names `value`.
    ///
    /// # Panics
    /// When the statement fails.
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        let mut connection = AsyncPgConnection::establish(&self.url).await.expect("connect to the test database");
        let rows: Vec<Row> = diesel::sql_query(sql).load(&mut connection).await.expect("test query");
        rows.into_iter().map(|row| row.value).collect()
    }

    /// Pool options for it (small pool, short timeouts).
    pub fn pool_options(&self) -> PoolOptions {
        PoolOptions {
            url: SecretString::from(self.url.clone()),
            max_size: 8,
            wait_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(10),
        }
    }

    /// A store over it, with the test PII key.
    ///
    /// # Panics
    /// When the pool cannot be built.
    pub fn store(&self) -> PgStore {
        let pool = build_pool(&self.pool_options()).expect("pool");
        PgStore::new(pool, Arc::new(test_cipher()), Arc::new(BlocklistHasher::new(b"test-blocklist-key")))
    }
}

/// The cipher tests use.
///
/// # Panics
/// Never: the test key is well-formed.
pub fn test_cipher() -> PiiCipher {
    PiiCipher::from_config(&[TEST_PII_KEY]).expect("test key")
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let drop_sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop may run inside a runtime: use a thread with a runtime of its own.
        let handle = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut admin) = AsyncPgConnection::establish(&server).await {
                    let _ = execute(&mut admin, &drop_sql).await;
                }
            });
        });
        let _ = handle.join();
    }
}

/// A PostgreSQL cluster of one test's own, for tests that stop and restart the server (outage
/// tests never touch the cluster the other tests share). As root it runs as `postgres`.
#[derive(Debug)]
pub struct PrivateCluster {
    bin: std::path::PathBuf,
    root: std::path::PathBuf,
    port: u16,
    run_as_postgres: bool,
}

impl PrivateCluster {
    fn command(&self, program: &str) -> std::process::Command {
        let path = self.bin.join(program);
        if self.run_as_postgres {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            std::process::Command::new(path)
        }
    }

    /// Creates and starts a new cluster on a free port.
    ///
    /// # Panics
    /// When PostgreSQL's server binaries are missing or the cluster cannot start.
    pub fn start() -> Self {
        let bin = std::process::Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .map(|o| std::path::PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            .filter(|dir| dir.join("initdb").is_file())
            .or_else(|| {
                let mut dirs: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .filter_map(|e| e.ok())
                    .map(|e| e.path().join("bin"))
                    .collect();
                dirs.sort();
                dirs.pop()
            })
            .expect("PostgreSQL server binaries");
        let root = std::env::temp_dir().join(format!("casework-outage-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&root).expect("cluster folder");
        let run_as_postgres = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if run_as_postgres {
            std::process::Command::new("chown").arg("postgres:").arg(&root).status().expect("chown");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("port").port();
        let cluster = Self { bin, root, port, run_as_postgres };
        let initdb = cluster
            .command("initdb")
            .arg("-D")
            .arg(cluster.root.join("data"))
            .args(["-U", "postgres", "--auth=trust", "--no-sync"])
            .output()
            .expect("initdb runs");
        assert!(initdb.status.success(), "initdb: {}", String::from_utf8_lossy(&initdb.stderr));
        cluster.start_again();
        cluster
    }

    /// Starts the (stopped) cluster on its port.
    ///
    /// # Panics
    /// When it does not start.
    pub fn start_again(&self) {
        self.start_with("");
    }

    /// The cluster's own folder (for certificates and keys a test writes; owned by the server's
    /// user when run as root).
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// Makes `path` (in [`Self::root`]) the server's: owned by it, readable by it alone.
    pub fn hand_over(&self, path: &std::path::Path) {
        if self.run_as_postgres {
            std::process::Command::new("chown").arg("postgres:").arg(path).status().expect("chown");
        }
        std::process::Command::new("chmod").arg("600").arg(path).status().expect("chmod");
    }

    /// Replaces the client authentication rules (`pg_hba.conf`); takes effect at the next start.
    pub fn set_hba(&self, rules: &str) {
        let path = self.root.join("data").join("pg_hba.conf");
        std::fs::write(&path, rules).expect("write pg_hba.conf");
        self.hand_over(&path);
    }

    /// Stops the cluster (fast) and starts it again with `extra` server options
    /// (`-c ssl=on …`).
    ///
    /// # Panics
    /// When it does not start.
    pub fn restart_with(&self, extra: &str) {
        self.stop_with("fast");
        self.start_with(extra);
    }

    fn start_with(&self, extra: &str) {
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories='{}' -c fsync=off {extra}",
            self.port,
            self.root.display()
        );
        let status = self
            .command("pg_ctl")
            .arg("start")
            .args(["-w", "-D"])
            .arg(self.root.join("data"))
            .arg("-l")
            .arg(self.root.join("log"))
            .arg("-o")
            .arg(options)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("pg_ctl start");
        assert!(status.success(), "the private cluster did not start");
    }

    /// Stops the cluster at once (connections are cut).
    pub fn stop(&self) {
        self.stop_with("immediate");
    }

    /// Stops the cluster with `mode` (`fast`: sessions are terminated, transactions rolled back;
    /// `immediate`: the server vanishes).
    pub fn stop_with(&self, mode: &str) {
        let _ = self
            .command("pg_ctl")
            .arg("stop")
            .args(["-m", mode, "-w", "-D"])
            .arg(self.root.join("data"))
            .stdout(std::process::Stdio::null())
            .status();
    }

    /// The maintenance database's URL.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
