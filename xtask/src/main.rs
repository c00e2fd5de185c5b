//! `cargo xtask`: the project's automation, with no dependency beyond the Rust toolchain and
//! PostgreSQL's server binaries.
//!
//! Modules: [`cluster`] (the private PostgreSQL under `target/pg/`), [`tasks`] (the commands),
//! [`bench`] (`cargo xtask bench`).

#![expect(clippy::print_stdout, reason = "xtask talks to the terminal")]

use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod cluster;
mod tasks;

const USAGE: &str = "\
Usage: cargo xtask <command>

Commands:
  dev               start the private PostgreSQL, migrate, seed a sandbox org, print a key and
                    curl lines, and serve on :8080
  test [ARGS…]      the private PostgreSQL, then the whole test suite (ARGS go to the test
                    runner, e.g. a test name filter), clippy, rustfmt and the schema check
  ci                the same as `test` (what CI runs)
  db up|down|reset  start, stop, or delete and recreate the private PostgreSQL
  schema [--check]  regenerate crates/adapters/src/postgres/schema.rs from the migrations,
                    or check that it is up to date
  ui-test [ARGS…]   the browser tests in headless Chromium (Debian's chromium and
                    chromium-driver, installed when missing); screenshots in target/ui/
  bench [--seconds N] [--repetitions N] [--full] [--scenario S,…]
                    the release service under load beside pgbench on a durable private
                    cluster (target/bench/); prints the table, writes results.md and .json
  fuzz-api [ARGS…]  schemathesis (installed under target/ on first use) against the served
                    OpenAPI document, seed 1, 25 examples per operation; ARGS go to `st run`

DATABASE_URL, when set and reachable, is used instead of the private cluster.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dev") => tasks::dev(),
        Some("test" | "ci") => tasks::test(&args[1..]),
        Some("db") => match args.get(1).map(String::as_str) {
            Some("up") => tasks::db_up(),
            Some("down") => cluster::stop(&target_dir().join("pg")),
            Some("reset") => tasks::db_reset(),
            _ => usage(),
        },
        Some("schema") => tasks::schema(args.get(1).is_some_and(|a| a == "--check")),
        Some("fuzz-api") => tasks::fuzz_api(&args[1..]),
        Some("ui-test") => tasks::ui_test(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        None | Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            Ok(())
        }
        Some(_) => usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> anyhow::Result<()> {
    eprintln!("{USAGE}");
    anyhow::bail!("unknown command")
}

/// The workspace root.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().map(PathBuf::from).unwrap_or_default()
}

/// Cargo's target directory.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}
