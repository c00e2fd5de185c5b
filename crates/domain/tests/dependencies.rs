//! The domain crate does no I/O: it depends on no database, web framework, runtime or
//! configuration crate (STYLE.md rule 1).

use std::process::Command;

#[test]
fn the_domain_depends_on_no_io_framework() {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--quiet",
            "--package",
            "casework-domain",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let tree = String::from_utf8_lossy(&output.stdout);
    let crates: Vec<&str> = tree.lines().filter_map(|line| line.split_whitespace().next()).collect();
    assert!(crates.contains(&"casework-domain"), "{tree}");
    for forbidden in
        ["diesel", "diesel-async", "actix-web", "actix-http", "tokio", "tokio-postgres", "config", "reqwest"]
    {
        assert!(!crates.contains(&forbidden), "casework-domain depends on {forbidden}:\n{tree}");
    }
}
