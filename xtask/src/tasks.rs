//! The commands: `dev`, `test`, `db`, `schema`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cluster::{self, psql};
use crate::{target_dir, workspace_root};

const DEV_DATABASE: &str = "casework_dev";
const SCHEMA_DATABASE: &str = "casework_schema_check";
const SCHEMA_FILE: &str = "crates/adapters/src/postgres/schema.rs";
const DIESEL_CLI_VERSION: &str = "2.3.14";

/// A URL to the maintenance database of the server to use: `DATABASE_URL`'s server when set and
/// reachable, else the private cluster (started if needed).
fn server_url() -> Result<String> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        if psql(&url, "select 1").is_ok() {
            eprintln!("xtask: using DATABASE_URL");
            return Ok(url);
        }
        eprintln!("xtask: DATABASE_URL is set but not reachable; using the private cluster");
    }
    Ok(cluster::ensure_running(&target_dir().join("pg"))?.url("postgres"))
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

fn recreate_database(server: &str, database: &str) -> Result<String> {
    psql(server, &format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))?;
    psql(server, &format!("CREATE DATABASE {database}"))?;
    Ok(with_database(server, database))
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run(command: &mut Command) -> Result<()> {
    let status = command.status().with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// Builds the `casework` binary and returns its path.
fn build_server() -> Result<PathBuf> {
    run(cargo().args(["build", "--quiet", "--package", "casework-server", "--bin", "casework"]))?;
    Ok(target_dir().join("debug").join("casework"))
}

/// Runs `casework ARGS` against `database_url` and returns its standard output.
fn casework(binary: &Path, database_url: &str, args: &[&str]) -> Result<String> {
    let output = Command::new(binary)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("CASEWORK_ENV", "development")
        .current_dir(workspace_root())
        .output()
        .with_context(|| format!("running casework {}", args.join(" ")))?;
    if !output.status.success() {
        bail!("casework {} failed:\n{}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `cargo xtask dev`.
pub fn dev() -> Result<()> {
    let server = server_url()?;
    let exists = psql(&server, &format!("SELECT 1 FROM pg_database WHERE datname = '{DEV_DATABASE}'"))?;
    if exists.trim().is_empty() {
        psql(&server, &format!("CREATE DATABASE {DEV_DATABASE}"))?;
    }
    let url = with_database(&server, DEV_DATABASE);
    let binary = build_server()?;
    casework(&binary, &url, &["migrate"])?;
    let bootstrap: serde_json::Value =
        serde_json::from_str(&casework(&binary, &url, &["admin", "bootstrap", "--org-name", "Casework dev"])?)?;
    let org = bootstrap["org_id"].as_str().context("bootstrap printed no org_id")?;
    let key = bootstrap["sandbox_key"].as_str().context("bootstrap printed no sandbox_key")?;
    let seeded: serde_json::Value =
        serde_json::from_str(&casework(&binary, &url, &["admin", "seed-demo", "--org", org, "--count", "5"])?)?;
    let first_case = seeded["case_ids"][0].as_str().unwrap_or("rvc_…");
    let port = std::env::var("CASEWORK__SERVER__PORT").unwrap_or_else(|_| "8080".into());
    println!(
        "\nCasework dev: a sandbox organization ({org}) with {} open cases.\n\n\
         API key (sandbox, every scope): {key}\n\n\
         Try:\n  \
         curl -s -H 'X-API-Key: {key}' http://127.0.0.1:{port}/api/v1/cases\n  \
         curl -s -H 'X-API-Key: {key}' http://127.0.0.1:{port}/api/v1/cases/{first_case}\n",
        seeded["case_ids"].as_array().map_or(0, Vec::len)
    );
    let status = Command::new(&binary)
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("CASEWORK_ENV", "development")
        .current_dir(workspace_root())
        .status()?;
    if !status.success() {
        bail!("casework serve exited with {status}");
    }
    Ok(())
}

/// `cargo xtask test` (and `ci`): the suite, then clippy, rustfmt and the schema check.
pub fn test(runner_args: &[String]) -> Result<()> {
    let server = server_url()?;
    // Test databases of earlier runs (each test normally drops its own).
    let leftovers = psql(&server, "SELECT datname FROM pg_database WHERE datname LIKE 'casework\\_test\\_%'")?;
    for database in leftovers.lines().map(str::trim).filter(|d| !d.is_empty()) {
        psql(&server, &format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"))?;
    }
    let nextest = cargo().args(["nextest", "--version"]).output().is_ok_and(|o| o.status.success());
    let mut tests = cargo();
    if nextest {
        tests.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        tests.args(["test", "--workspace", "--no-fail-fast"]);
    }
    tests.args(runner_args).env("CASEWORK_TEST_DATABASE_URL", &server);
    run(&mut tests)?;
    if !runner_args.is_empty() {
        // A filtered run is a developer's quick loop: skip the whole-tree checks.
        return Ok(());
    }
    if nextest {
        // The runner does not run documentation examples; they are checked here.
        run(cargo().args(["test", "--quiet", "--workspace", "--doc"]))?;
    }
    run(cargo().args(["clippy", "--quiet", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    check_schema(&server)?;
    eprintln!("xtask: all checks passed");
    Ok(())
}

/// `cargo xtask db up`.
pub fn db_up() -> Result<()> {
    let url = server_url()?;
    println!("{url}");
    Ok(())
}

/// `cargo xtask db reset`: delete the private cluster and create it anew.
pub fn db_reset() -> Result<()> {
    cluster::destroy(&target_dir().join("pg"))?;
    db_up()
}

/// `cargo xtask schema [--check]`.
pub fn schema(check: bool) -> Result<()> {
    let server = server_url()?;
    if check {
        return check_schema(&server);
    }
    let generated = print_schema(&server)?;
    std::fs::write(workspace_root().join(SCHEMA_FILE), generated)?;
    eprintln!("xtask: wrote {SCHEMA_FILE}");
    Ok(())
}

fn check_schema(server: &str) -> Result<()> {
    let generated = print_schema(server)?;
    let committed = std::fs::read_to_string(workspace_root().join(SCHEMA_FILE))?;
    if generated != committed {
        bail!("{SCHEMA_FILE} is out of date with the migrations: run `cargo xtask schema` and commit it");
    }
    eprintln!("xtask: {SCHEMA_FILE} matches the migrations");
    Ok(())
}

/// Migrates a scratch database and prints its schema with `diesel print-schema`.
fn print_schema(server: &str) -> Result<String> {
    let diesel = diesel_cli()?;
    let url = recreate_database(server, SCHEMA_DATABASE)?;
    casework(&build_server()?, &url, &["migrate"])?;
    let output = Command::new(diesel)
        .args(["print-schema", "--database-url", &url, "--config-file"])
        .arg(workspace_root().join("diesel.toml"))
        .current_dir(workspace_root())
        .output()?;
    psql(server, &format!("DROP DATABASE IF EXISTS {SCHEMA_DATABASE} WITH (FORCE)"))?;
    if !output.status.success() {
        bail!("diesel print-schema failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// `diesel` from PATH, else installed once under `target/tools` (it needs libpq to build).
fn diesel_cli() -> Result<PathBuf> {
    let on_path = Command::new("diesel").arg("--version").output().is_ok_and(|o| o.status.success());
    if on_path {
        return Ok(PathBuf::from("diesel"));
    }
    let root = target_dir().join("tools");
    let binary = root.join("bin").join("diesel");
    if !binary.is_file() {
        eprintln!("xtask: installing diesel_cli {DIESEL_CLI_VERSION} under {} (once)", root.display());
        let status = cargo()
            .args(["install", "--quiet", "--locked", "diesel_cli", "--version", DIESEL_CLI_VERSION])
            .args(["--no-default-features", "--features", "postgres", "--root"])
            .arg(&root)
            .status()?;
        if !status.success() {
            bail!(
                "installing diesel_cli failed; it links libpq: install it (Debian/Ubuntu: \
                 apt-get install -y libpq-dev; macOS: brew install libpq) and run again"
            );
        }
    }
    Ok(binary)
}

const FUZZ_DATABASE: &str = "casework_fuzz";
const SCHEMATHESIS_VERSION: &str = "4.32.5";

/// `cargo xtask fuzz-api`: schemathesis against the served OpenAPI document, with a fixed seed
/// and bounded examples, installed into a virtual environment under `target/` on first use.
pub fn fuzz_api(extra: &[String]) -> Result<()> {
    let venv = target_dir().join("fuzz-venv");
    let st = venv.join("bin").join("st");
    if !st.is_file() {
        eprintln!("xtask: installing schemathesis {SCHEMATHESIS_VERSION} into {} (once)", venv.display());
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        run(Command::new(venv.join("bin").join("pip")).args([
            "install",
            "--quiet",
            &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
        ]))?;
    }
    let server = server_url()?;
    let url = recreate_database(&server, FUZZ_DATABASE)?;
    let binary = build_server()?;
    casework(&binary, &url, &["migrate"])?;
    let bootstrap: serde_json::Value =
        serde_json::from_str(&casework(&binary, &url, &["admin", "bootstrap", "--org-name", "Fuzz"])?)?;
    let org = bootstrap["org_id"].as_str().context("bootstrap printed no org_id")?;
    let key = bootstrap["sandbox_key"].as_str().context("bootstrap printed no sandbox_key")?.to_owned();
    casework(&binary, &url, &["admin", "seed-demo", "--org", org, "--count", "5"])?;
    // Fuzzing sends thousands of requests: lift the rate limit so they reach the handlers.
    psql(&url, "UPDATE environment_settings SET rate_limit_per_minute = 100000")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut serve = Command::new(&binary)
        .arg("serve")
        .env("DATABASE_URL", &url)
        .env("CASEWORK_ENV", "development")
        .env("CASEWORK__SERVER__PORT", port.to_string())
        .env("CASEWORK__LOG__LEVEL", "warn")
        .current_dir(workspace_root())
        .spawn()?;
    let report = target_dir().join("fuzz-report");
    let status = Command::new(&st)
        .arg("run")
        .arg(format!("http://127.0.0.1:{port}/api/v1/openapi.json"))
        .args(["--header", &format!("X-API-Key: {key}")])
        // Every check but `positive_data_acceptance`: a schema cannot say which ids exist, and
        // the contract answers a well-formed id that names nothing with 404 or 422.
        .args(["--checks", "all", "--exclude-checks", "positive_data_acceptance"])
        // A valid settings patch may set the rate limit to 1 request a minute, and the stateful
        // phase may revoke the fuzzing key itself: every operation after either answers 429 or
        // 401 and goes untested. The HTTP tests cover these two operations.
        .args(["--exclude-operation-id", "patch_organization_settings", "--exclude-method", "DELETE"])
        .args(["--seed", "1", "--max-examples", "25", "--workers", "2"])
        .args(["--request-timeout", "10", "--wait-for-schema", "30", "--report", "junit", "--report-dir"])
        .arg(&report)
        .args(extra)
        .status();
    let _ = serve.kill();
    let _ = serve.wait();
    psql(&server, &format!("DROP DATABASE IF EXISTS {FUZZ_DATABASE} WITH (FORCE)"))?;
    if !status?.success() {
        bail!("schemathesis found failures (report in {})", report.display());
    }
    eprintln!("xtask: schemathesis found no failures");
    Ok(())
}

/// Debian's Chromium and its WebDriver, as `cargo xtask ui-test` uses them.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// `cargo xtask ui-test [ARGS…]`: the browser tests in headless Chromium, which is installed
/// (Debian's `chromium` and `chromium-driver`) when missing; screenshots under `target/ui/`.
pub fn ui_test(extra: &[String]) -> Result<()> {
    if !Path::new(CHROMIUM).is_file() || !Path::new(CHROMEDRIVER).is_file() {
        eprintln!("xtask: installing Debian's chromium and chromium-driver (once)");
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    let server = server_url()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("starting chromedriver")?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            let _ = driver.kill();
            bail!("chromedriver did not start on port {port}");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let nextest = cargo().args(["nextest", "--version"]).output().is_ok_and(|o| o.status.success());
    let mut tests = cargo();
    if nextest {
        tests.args(["nextest", "run", "-p", "casework-server", "--test", "ui", "--run-ignored", "only"]);
    } else {
        tests.args(["test", "-p", "casework-server", "--test", "ui", "--", "--ignored"]);
    }
    let status = tests
        .args(extra)
        .env("CASEWORK_TEST_DATABASE_URL", &server)
        .env("CASEWORK_WEBDRIVER", format!("http://127.0.0.1:{port}"))
        .env("CASEWORK_CHROMIUM", CHROMIUM)
        .status();
    let _ = driver.kill();
    let _ = driver.wait();
    if !status?.success() {
        bail!("browser tests failed (screenshots in {})", target_dir().join("ui").display());
    }
    eprintln!("xtask: browser tests passed; screenshots in {}", target_dir().join("ui").display());
    Ok(())
}
