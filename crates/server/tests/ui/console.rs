//! The console in a browser: sign-in, next → note → approve by keyboard, a refusal when another
//! reviewer holds the case, the audited PII reveal, and a second browser's counts updating live.

use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, Locator};
use serde_json::json;

use crate::audit;
use crate::browser::{open, screenshot};
use crate::support::{TestApp, spawn_app};

const PASSWORD: &str = "amber-kestrel-79-lantern";

/// A person with a password; returns their id.
async fn person(app: &TestApp, name: &str) -> String {
    let email = format!("{}@example.com", name.to_lowercase());
    let created = app.post("/api/v1/org-users", json!({"name": name, "email": email})).await.json();
    let id = created["id"].as_str().unwrap().to_owned();
    let url = app.post(&format!("/api/v1/org-users/{id}/invitation"), json!({})).await.json()["url"]
        .as_str()
        .unwrap()
        .to_owned();
    app.client.post(&url).form(&[("password", PASSWORD), ("confirmation", PASSWORD)]).send().await.unwrap();
    id
}

async fn sign_in(app: &TestApp, browser: &Client, name: &str) {
    browser.goto(&format!("{}/console/sign-in", app.address)).await.unwrap();
    browser
        .find(Locator::Css("#email"))
        .await
        .unwrap()
        .send_keys(&format!("{}@example.com", name.to_lowercase()))
        .await
        .unwrap();
    browser.find(Locator::Css("#password")).await.unwrap().send_keys(PASSWORD).await.unwrap();
    browser.find(Locator::Css("button[type=submit]")).await.unwrap().click().await.unwrap();
    browser.wait().for_element(Locator::Css("nav.tabs")).await.unwrap();
}

/// Presses one key, as a person does (to whatever has the focus).
async fn press(browser: &Client, key: char) {
    let keys =
        KeyActions::new("keyboard".to_owned()).then(KeyAction::Down { value: key }).then(KeyAction::Up { value: key });
    browser.perform_actions(keys).await.unwrap();
}

/// Waits (5 s at most) until the text of `css` satisfies `done`, across page loads; returns it.
async fn text_when(browser: &Client, css: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(element) = browser.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
            && (done(&text) || Instant::now() > deadline)
        {
            return text;
        }
        assert!(Instant::now() < deadline, "{css} never appeared");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn count(browser: &Client, tab: &str) -> String {
    browser.find(Locator::Css(&format!(".count[data-tab='{tab}']"))).await.unwrap().text().await.unwrap()
}

#[tokio::test]
#[ignore = "needs Chromium and chromedriver: cargo xtask ui-test"]
async fn a_reviewer_works_the_queue_by_keyboard_and_a_second_browser_sees_it_live() {
    let app = spawn_app().await;
    person(&app, "Rita").await;
    person(&app, "Sam").await;
    let sam_key = app.reviewer("Sam API").await;
    for _ in 0..3 {
        app.post("/api/v1/cases/demo", json!({})).await;
    }
    let rita = open().await;
    sign_in(&app, &rita, "Rita").await;
    screenshot(&rita, "console-queue").await;
    assert_eq!(count(&rita, "unassigned").await, "3");
    let problems = audit::problems(&rita).await;
    assert!(problems.is_empty(), "the queue page: {problems:#?}");
    audit::fails_on_a_planted_problem(&rita).await;

    // A second browser watches the queue.
    let sam = open().await;
    sign_in(&app, &sam, "Sam").await;
    assert_eq!(count(&sam, "unassigned").await, "3");

    // n: the next case, claimed; the other browser's count follows.
    // Timed from the key press, before the claim commits: an upper bound of commit → screen.
    let claimed_at = Instant::now();
    press(&rita, 'n').await;
    let deadline = claimed_at + Duration::from_secs(5);
    while count(&sam, "unassigned").await != "2" {
        assert!(Instant::now() < deadline, "the second browser never saw the claim");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let live = claimed_at.elapsed();
    eprintln!("console live update: a claim reached the other browser's counts in {live:?}");
    assert!(live < Duration::from_secs(1), "{live:?}");
    screenshot(&sam, "console-live-count").await;
    rita.wait().for_element(Locator::Css("main[data-case]")).await.unwrap();

    // The evidence, the audited reveal, a note, then a: approve.
    let case_id = rita.find(Locator::Css("main[data-case]")).await.unwrap().attr("data-case").await.unwrap().unwrap();
    screenshot(&rita, "console-case").await;
    let problems = audit::problems(&rita).await;
    assert!(problems.is_empty(), "the case page: {problems:#?}");
    // The other browser watches the case Rita took: her next steps appear there as they commit.
    sam.goto(&format!("{}/console/cases/{case_id}", app.address)).await.unwrap();
    sam.wait().for_element(Locator::Css("main[data-case]")).await.unwrap();
    let masked = rita.find(Locator::Css("dl.data")).await.unwrap().text().await.unwrap();
    assert!(masked.contains("••••"), "{masked}");
    rita.find(Locator::Css("form[action$='/reveal'] button")).await.unwrap().click().await.unwrap();
    let shown = text_when(&rita, "dl.data", |text| !text.contains("••••")).await;
    assert!(!shown.contains("••••"), "{shown}");
    screenshot(&rita, "console-pii-revealed").await;
    rita.find(Locator::Css("#note"))
        .await
        .unwrap()
        .send_keys("Documents consistent; face match above threshold.")
        .await
        .unwrap();
    rita.find(Locator::Css("form[action$='/note'] button")).await.unwrap().click().await.unwrap();
    let notes = text_when(&rita, "ul.notes", |text| text.contains("Documents consistent")).await;
    assert!(notes.contains("Documents consistent"), "{notes}");
    let told = text_when(&sam, "#live", |text| text.contains("Rita: note added")).await;
    assert!(told.contains("Rita: note added"), "{told}");
    let timeline = sam.find(Locator::Css("ol.timeline")).await.unwrap().text().await.unwrap();
    assert!(timeline.contains("note_added by Rita"), "{timeline}");
    screenshot(&sam, "console-case-live").await;
    // Typing in a field never triggers a shortcut.
    rita.find(Locator::Css("#note")).await.unwrap().send_keys("a").await.unwrap();
    assert!(rita.find(Locator::Css("main[data-case]")).await.is_ok(), "still on the case page");
    rita.execute("document.activeElement.blur()", vec![]).await.unwrap();
    press(&rita, 'a').await;
    rita.wait().for_element(Locator::Css("nav.tabs")).await.unwrap();
    let case = app.get(&format!("/api/v1/cases/{case_id}")).await.json();
    assert_eq!(case["status"], "approved");
    let events = app.get(&format!("/api/v1/cases/{case_id}/events")).await.json();
    let approved = events["data"].as_array().unwrap().iter().find(|e| e["type"] == "approved").unwrap();
    assert_eq!(
        (approved["actor"]["type"].clone(), approved["actor"]["name"].clone()),
        (json!("org_user"), json!("Rita"))
    );

    // Another reviewer holds the next case: the console shows the API's refusal.
    let next =
        app.get("/api/v1/cases?tab=unassigned&limit=1").await.json()["data"][0]["id"].as_str().unwrap().to_owned();
    app.post_as(&sam_key, &format!("/api/v1/cases/{next}/claim"), json!({})).await;
    rita.goto(&format!("{}/console/cases/{next}", app.address)).await.unwrap();
    press(&rita, 'c').await;
    let refusal = rita.wait().for_element(Locator::Css("p.alert")).await.unwrap().text().await.unwrap();
    assert!(refusal.contains("claimed by another reviewer until"), "{refusal}");
    screenshot(&rita, "console-refusal").await;
    // Tablet width: the queue still works.
    rita.set_window_size(820, 1180).await.unwrap();
    rita.goto(&format!("{}/console", app.address)).await.unwrap();
    rita.wait().for_element(Locator::Css("nav.tabs")).await.unwrap();
    screenshot(&rita, "console-queue-tablet").await;
    rita.close().await.unwrap();
    sam.close().await.unwrap();
}
