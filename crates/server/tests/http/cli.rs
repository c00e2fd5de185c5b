//! The `casework` binary's admin subcommands, run as a user would, against a fresh database.

use std::process::Command;

use casework_adapters::testing::TestDatabase;
use serde_json::Value;

use crate::support::casework_command;

struct Run {
    success: bool,
    stdout: Value,
    stderr: String,
}

fn casework(db: &TestDatabase, args: &[&str]) -> Run {
    let output = casework_command(db).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    Run {
        success: output.status.success(),
        stdout: if stdout.trim().is_empty() { Value::Null } else { serde_json::from_str(&stdout).unwrap() },
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn error_of(run: &Run) -> Value {
    assert!(!run.success);
    let line = run
        .stderr
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON error: {}", run.stderr));
    serde_json::from_str(line).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_subcommands_print_the_documented_json() {
    let db = TestDatabase::new().await;
    let boot = casework(&db, &["admin", "bootstrap", "--org-name", "Acme"]);
    assert!(boot.success, "{}", boot.stderr);
    let object = boot.stdout.as_object().unwrap();
    assert_eq!(object.len(), 3);
    let org = object["org_id"].as_str().unwrap();
    assert!(org.starts_with("org_"));
    assert!(object["sandbox_key"].as_str().unwrap().starts_with("vk_sandbox_"));
    assert!(object["live_key"].as_str().unwrap().starts_with("vk_live_"));

    let user = casework(&db, &["admin", "create-user", "--org", org, "--name", "Rita", "--email", "rita@example.com"]);
    assert!(user.success, "{}", user.stderr);
    assert_eq!(user.stdout["role"], "reviewer");
    assert_eq!(user.stdout["active"], true);
    assert!(user.stdout["id"].as_str().unwrap().starts_with("orguser_"));
    let taken = casework(&db, &["admin", "create-user", "--org", org, "--name", "R", "--email", "RITA@example.com"]);
    assert_eq!(error_of(&taken)["error"], "email_taken");

    let user_id = user.stdout["id"].as_str().unwrap();
    let key = casework(
        &db,
        &[
            "admin",
            "create-key",
            "--org",
            org,
            "--env",
            "live",
            "--name",
            "rita",
            "--scopes",
            "cases:read,sessions:create",
            "--user",
            user_id,
        ],
    );
    assert!(key.success, "{}", key.stderr);
    assert!(key.stdout["key"].as_str().unwrap().starts_with("vk_live_"));
    assert_eq!(key.stdout["scopes"], serde_json::json!(["sessions:write", "cases:read"]));
    assert_eq!(key.stdout["environment"], "live");
    assert_eq!(key.stdout["org_user_id"], user.stdout["uuid"]);
    assert_eq!(key.stdout["revoked_at"], Value::Null);

    let bad_scope =
        casework(&db, &["admin", "create-key", "--org", org, "--env", "live", "--name", "x", "--scopes", "cases:all"]);
    assert_eq!(error_of(&bad_scope)["error"], "validation_failed");

    let key_id = key.stdout["id"].as_str().unwrap();
    let revoked = casework(&db, &["admin", "revoke-key", "--id", key_id]);
    assert!(revoked.success, "{}", revoked.stderr);
    assert_eq!(revoked.stdout["id"], key_id);
    assert!(revoked.stdout["revoked_at"].as_str().unwrap().ends_with('Z'));

    let missing = casework(&db, &["admin", "revoke-key", "--id", "key_000000000000000000000000"]);
    let error = error_of(&missing);
    assert_eq!(error["error"], "not_found");
    assert!(error["detail"].as_str().is_some());
}

#[test]
fn help_lists_every_admin_subcommand() {
    let output = Command::new(env!("CARGO_BIN_EXE_casework")).args(["admin", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for subcommand in ["bootstrap", "create-user", "create-key", "revoke-key"] {
        assert!(help.contains(subcommand), "{help}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_out_of_range_setting_stops_every_command_naming_its_key() {
    let db = TestDatabase::new().await;
    for args in [&["admin", "bootstrap", "--org-name", "Acme"][..], &["migrate"], &["serve", "--no-workers"]] {
        let output = casework_command(&db)
            .args(args)
            .env("CASEWORK__LIMITS__DEFAULT_RATE_LIMIT_PER_MINUTE", "10000000")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("limits.default_rate_limit_per_minute") && stderr.contains("1 to 100000"), "{stderr}");
        if args[0] == "admin" {
            let error: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
            assert_eq!(error["error"], "invalid_configuration");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn four_instances_migrating_at_once_all_succeed() {
    let db = TestDatabase::empty().await;
    let runs: Vec<std::process::Child> = (0..4)
        .map(|_| {
            casework_command(&db)
                .arg("migrate")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for run in runs {
        let output = run.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    let applied = db.texts("SELECT count(*)::text AS value FROM __diesel_schema_migrations").await;
    let embedded = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations")).unwrap().count();
    assert_eq!(applied, [embedded.to_string()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_binary_runs_from_any_directory_on_its_compiled_in_defaults() {
    let db = TestDatabase::new().await;
    let elsewhere = std::env::temp_dir();
    let output = Command::new(env!("CARGO_BIN_EXE_casework"))
        .arg("migrate")
        .current_dir(&elsewhere)
        .env_remove("CASEWORK_CONFIG_DIR")
        .env("CASEWORK_ENV", "test")
        .env("DATABASE_URL", db.url())
        .env("CASEWORK__SECURITY__PII_ENCRYPTION_KEYS", casework_adapters::testing::TEST_PII_KEY)
        .env("CASEWORK__SECURITY__BLOCKLIST_KEY", "a-blocklist-key-for-this-test")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn version_names_the_commit() {
    let output = Command::new(env!("CARGO_BIN_EXE_casework")).arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        text.starts_with(&format!("casework {} (", env!("CARGO_PKG_VERSION"))) && text.trim_end().ends_with(')'),
        "{text}"
    );
}
