//! Browser tests: the pages a person uses, in headless Chromium driven over WebDriver
//! (`chromedriver`). They need a browser, so they are ignored by `cargo xtask test`; `cargo
//! xtask ui-test` installs Chromium and chromedriver when missing, starts the driver, and runs
//! them. Screenshots land in `target/ui/`.

#![expect(clippy::unwrap_used, clippy::panic, reason = "test helpers: a failure is a failed test")]

#[expect(dead_code, reason = "shared with the HTTP tests; the browser tests use part of it")]
#[path = "../http/support.rs"]
mod support;

mod audit;
mod browser;
mod capture;
mod console;
