//! The sandbox capture page: a person opens the one-time link and presses a button.

use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::{open, screenshot};
use crate::support::spawn_app;

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: cargo xtask ui-test"]
async fn the_capture_pages_buttons_apply_an_outcome_once() {
    let app = spawn_app().await;
    for (action, status, verdict) in
        [("approve", "completed", "approved"), ("require-review", "under_review", "needs_review")]
    {
        let session = app.session(json!({"external_ref": format!("browser_{action}")})).await;
        let id = session["id"].as_str().unwrap();
        let link = app.post(&format!("/api/v1/sessions/{id}/generate-one-time-link"), json!({})).await.json();
        let browser = open().await;
        browser.goto(link["capture_url"].as_str().unwrap()).await.unwrap();
        let reference = browser.find(Locator::Css("dl")).await.unwrap().text().await.unwrap();
        assert!(reference.contains(&format!("browser_{action}")), "{reference}");
        screenshot(&browser, &format!("capture-{action}-before")).await;
        browser.find(Locator::Css(&format!("button[value='{action}']"))).await.unwrap().click().await.unwrap();
        let outcome = browser.wait().for_element(Locator::Css("p.outcome")).await.unwrap().text().await.unwrap();
        assert!(outcome.starts_with("Done"), "{outcome}");
        screenshot(&browser, &format!("capture-{action}-after")).await;
        let read = app.get(&format!("/api/v1/sessions/{id}")).await.json();
        assert_eq!(read["status"], status);
        let result = app.get(&format!("/api/v1/sessions/{id}/result")).await;
        assert_eq!(result.status, StatusCode::OK);
        assert_eq!(result.json()["status"], verdict);
        // The link is spent: opening it again offers nothing.
        browser.goto(link["capture_url"].as_str().unwrap()).await.unwrap();
        let text = browser.wait().for_element(Locator::Css("main")).await.unwrap().text().await.unwrap();
        assert!(text.contains("used or has expired"), "{text}");
        browser.close().await.unwrap();
    }
}
