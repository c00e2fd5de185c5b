//! Rebuilds the crate when a migration is added or removed: the embedded migrations are read at
//! compile time, and a new folder is not a file the compiler already tracks.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
