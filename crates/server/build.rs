//! Records the commit the binary is built from (`casework --version`, `casework_build_info`):
//! `CASEWORK_COMMIT` when the build sets it (a container build without `.git`), else git's.

fn main() {
    println!("cargo:rerun-if-env-changed=CASEWORK_COMMIT");
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");
    let commit = std::env::var("CASEWORK_COMMIT").ok().filter(|c| !c.is_empty()).unwrap_or_else(|| {
        std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned())
    });
    println!("cargo:rustc-env=CASEWORK_COMMIT={commit}");
}
