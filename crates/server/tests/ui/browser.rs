//! A headless Chromium session over WebDriver, and screenshots under `target/ui/`.

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

/// A new browser at 1280×800, through the driver `cargo xtask ui-test` started.
pub async fn open() -> Client {
    let driver = std::env::var("CASEWORK_WEBDRIVER")
        .unwrap_or_else(|_| panic!("CASEWORK_WEBDRIVER is not set: run the browser tests with `cargo xtask ui-test`"));
    let profile = std::env::temp_dir().join(format!("casework-ui-{}", uuid::Uuid::new_v4()));
    let options = json!({
        "binary": std::env::var("CASEWORK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned()),
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--window-size=1280,800", format!("--user-data-dir={}", profile.display())],
    });
    let capabilities = [("goog:chromeOptions".to_owned(), options)].into_iter().collect();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector).capabilities(capabilities).connect(&driver).await.unwrap()
}

/// Saves a screenshot as `target/ui/<name>.png`.
pub async fn screenshot(client: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}
