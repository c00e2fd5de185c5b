//! The console's people (API.md §8): invitations, passwords, sign-in with lockouts, sessions
//! that end with sign-out or deactivation, CSRF on every form, and the queue page.

use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{TestApp, spawn_app};

const PASSWORD: &str = "amber-kestrel-79-lantern";

fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(Policy::none()).build().unwrap()
}

/// Invites `email`'s user (created as `role`) and sets their password; returns the user id.
async fn person(app: &TestApp, name: &str, role: &str) -> String {
    let created = app
        .post(
            "/api/v1/org-users",
            json!({"name": name, "email": format!("{}@example.com", name.to_lowercase()), "role": role}),
        )
        .await
        .json();
    let id = created["id"].as_str().unwrap().to_owned();
    let invitation = app.post(&format!("/api/v1/org-users/{id}/invitation"), json!({})).await;
    assert_eq!(invitation.status, StatusCode::CREATED, "{}", invitation.text);
    let url = invitation.json()["url"].as_str().unwrap().to_owned();
    let set = browser().post(&url).form(&[("password", PASSWORD), ("confirmation", PASSWORD)]).send().await.unwrap();
    assert_eq!(set.status(), StatusCode::SEE_OTHER);
    id
}

async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    browser()
        .post(format!("{}/console/sign-in", app.address))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// The session cookie a sign-in set.
fn cookie(response: &reqwest::Response) -> String {
    let set = response.headers()["set-cookie"].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

async fn get(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    browser().get(format!("{}{path}", app.address)).header("Cookie", cookie).send().await.unwrap()
}

/// Posts a form to `path` with a CSRF token that is not the session's.
async fn forged(app: &TestApp, session: &str, path: &str) -> StatusCode {
    let reply = browser().post(format!("{}{path}", app.address)).header("Cookie", session).form(&[("csrf", "forged")]);
    reply.send().await.unwrap().status()
}

/// The value of the first `marker"…"` in a page.
fn attribute(html: &str, marker: &str) -> String {
    let start = html.find(marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn csrf(html: &str) -> String {
    attribute(html, "name=\"csrf\" value=\"")
}

#[tokio::test]
async fn an_invitation_sets_a_password_once() {
    let app = spawn_app().await;
    let created = app.post("/api/v1/org-users", json!({"name": "Rita", "email": "rita@example.com"})).await.json();
    let id = created["id"].as_str().unwrap();
    let invitation = app.post(&format!("/api/v1/org-users/{id}/invitation"), json!({})).await.json();
    let url = invitation["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/console/invitation/", app.address)), "{url}");
    assert!(invitation["expires_at"].is_string());
    let form = browser().get(url).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains("Welcome, Rita"));
    let differ = browser()
        .post(url)
        .form(&[("password", PASSWORD), ("confirmation", "other-password-1234")])
        .send()
        .await
        .unwrap();
    assert_eq!(differ.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let short = browser().post(url).form(&[("password", "short"), ("confirmation", "short")]).send().await.unwrap();
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let common = browser()
        .post(url)
        .form(&[("password", "password1234"), ("confirmation", "password1234")])
        .send()
        .await
        .unwrap();
    assert!(common.text().await.unwrap().contains("too common"));
    let set = browser().post(url).form(&[("password", PASSWORD), ("confirmation", PASSWORD)]).send().await.unwrap();
    assert_eq!(
        (set.status(), set.headers()["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/console/sign-in")
    );
    let again = browser().post(url).form(&[("password", PASSWORD), ("confirmation", PASSWORD)]).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "single-use");
    let stored = app.db.texts("SELECT password_hash AS value FROM org_users").await;
    assert!(stored[0].starts_with("$argon2id$") && !stored[0].contains(PASSWORD));
    // A new invitation voids the password.
    app.post(&format!("/api/v1/org-users/{id}/invitation"), json!({})).await;
    assert_eq!(sign_in(&app, "rita@example.com", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    let foreign = app.foreign_key().await;
    let refused =
        app.call(Method::POST, &format!("/api/v1/org-users/{id}/invitation"), Some(&foreign), Some(json!({}))).await;
    refused.assert_error(404, "not_found");
}

#[tokio::test]
async fn a_person_signs_in_works_the_queue_and_signs_out() {
    let app = spawn_app().await;
    person(&app, "Rita", "reviewer").await;
    app.case().await;
    let signed = sign_in(&app, "RITA@example.com", PASSWORD).await;
    assert_eq!((signed.status(), signed.headers()["location"].to_str().unwrap()), (StatusCode::SEE_OTHER, "/console"));
    let set_cookie = signed.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set_cookie.contains(attribute), "{attribute} in {set_cookie}");
    }
    let session = cookie(&signed);
    let queue = get(&app, "/console", &session).await;
    assert_eq!(queue.status(), StatusCode::OK);
    let csp = queue.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = queue.text().await.unwrap();
    assert!(html.contains("Rita") && html.contains("data-tab=\"unassigned\">1<"), "{html}");
    let stylesheet = browser().get(format!("{}/console/assets/console.css", app.address)).send().await.unwrap();
    assert_eq!(stylesheet.status(), StatusCode::OK);
    // Forms need the session's CSRF token.
    assert_eq!(forged(&app, &session, "/console/sign-out").await, StatusCode::FORBIDDEN);
    let token = csrf(&html);
    let out = browser()
        .post(format!("{}/console/sign-out", app.address))
        .header("Cookie", &session)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(get(&app, "/console", &session).await.status(), StatusCode::SEE_OTHER, "the session ended");
    let attempts = app.get("/api/v1/sign-in-attempts").await.json();
    assert_eq!(attempts["data"][0]["outcome"], "succeeded");
}

#[tokio::test]
async fn five_failures_lock_the_account_for_fifteen_minutes() {
    let app = spawn_app().await;
    person(&app, "Sam", "reviewer").await;
    for _ in 0..5 {
        assert_eq!(sign_in(&app, "sam@example.com", "wrong-password-123").await.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = sign_in(&app, "sam@example.com", PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "locked even with the right password");
    assert!(locked.text().await.unwrap().contains("locked"));
    let unknown = sign_in(&app, "nobody@example.com", "whatever-password").await;
    assert_eq!(unknown.status(), StatusCode::TOO_MANY_REQUESTS, "the client address is locked too");
    app.state.clock.shift(time::Duration::minutes(16));
    assert_eq!(sign_in(&app, "sam@example.com", PASSWORD).await.status(), StatusCode::SEE_OTHER);
    let attempts = app.get("/api/v1/sign-in-attempts?limit=100").await.json();
    let outcomes: Vec<&str> =
        attempts["data"].as_array().unwrap().iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["succeeded", "locked", "failed", "failed", "failed", "failed", "failed"]);
}

#[tokio::test]
async fn a_deactivated_persons_session_ends_at_once() {
    let app = spawn_app().await;
    let id = person(&app, "Ola", "senior_reviewer").await;
    let session = cookie(&sign_in(&app, "ola@example.com", PASSWORD).await);
    assert_eq!(get(&app, "/console", &session).await.status(), StatusCode::OK);
    let off = app
        .call(Method::PATCH, &format!("/api/v1/org-users/{id}"), Some(&app.key), Some(json!({"active": false})))
        .await;
    assert_eq!(off.status, StatusCode::OK);
    assert_eq!(get(&app, "/console", &session).await.status(), StatusCode::SEE_OTHER);
    // Idle sessions end after 30 minutes.
    app.call(Method::PATCH, &format!("/api/v1/org-users/{id}"), Some(&app.key), Some(json!({"active": true}))).await;
    let session = cookie(&sign_in(&app, "ola@example.com", PASSWORD).await);
    app.state.clock.shift(time::Duration::minutes(31));
    assert_eq!(get(&app, "/console", &session).await.status(), StatusCode::SEE_OTHER);
}

/// Posts a console form with the page's CSRF token.
async fn submit(app: &TestApp, session: &str, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let page = get(app, "/console", session).await.text().await.unwrap();
    let token = csrf(&page);
    let mut form: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
    form.extend_from_slice(fields);
    browser().post(format!("{}{path}", app.address)).header("Cookie", session).form(&form).send().await.unwrap()
}

#[tokio::test]
async fn a_reviewer_takes_the_next_case_notes_and_decides_in_the_console() {
    let app = spawn_app().await;
    let rita = person(&app, "Rita", "reviewer").await;
    let case = app.case().await;
    let id = case["id"].as_str().unwrap();
    let session = cookie(&sign_in(&app, "rita@example.com", PASSWORD).await);
    let next = submit(&app, &session, "/console/next", &[]).await;
    assert_eq!(
        (next.status(), next.headers()["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, format!("/console/cases/{id}").as_str())
    );
    let page = get(&app, &format!("/console/cases/{id}"), &session).await.text().await.unwrap();
    assert!(page.contains("Approve") && page.contains("first_name") && !page.contains("Ada"), "masked by default");
    let version = case_version(&page);
    let noted = submit(
        &app,
        &session,
        &format!("/console/cases/{id}/note"),
        &[("content", "Looks fine."), ("version", &version)],
    )
    .await;
    assert_eq!(noted.status(), StatusCode::SEE_OTHER);
    let revealed = submit(&app, &session, &format!("/console/cases/{id}/reveal"), &[("version", &version)]).await;
    assert!(revealed.text().await.unwrap().contains("Ada"), "revealed");
    let stale = submit(&app, &session, &format!("/console/cases/{id}/approve"), &[("version", "1")]).await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert!(stale.text().await.unwrap().contains("reload"));
    let approved = submit(&app, &session, &format!("/console/cases/{id}/approve"), &[("version", &version)]).await;
    assert_eq!(approved.status(), StatusCode::SEE_OTHER, "{:?}", approved.text().await);
    let events = app.get(&format!("/api/v1/cases/{id}/events")).await.json();
    let trail: Vec<(String, String)> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["actor"]["id"].as_str().unwrap_or_default().to_owned()))
        .collect();
    let rita_uuid = casework_domain::id::OrgUserId::parse(&rita).unwrap().uuid().to_string();
    for kind in ["claimed", "note_added", "pii_revealed", "approved"] {
        assert!(trail.contains(&(kind.to_owned(), rita_uuid.clone())), "{kind} by Rita: {trail:?}");
    }
    let reveal = events["data"].as_array().unwrap().iter().find(|e| e["type"] == "pii_revealed").unwrap();
    assert!(reveal["changes"]["extracted_data"]["fields"].as_array().unwrap().contains(&json!("first_name")));
    assert!(!reveal.to_string().contains("Ada"), "names, never values");
}

fn case_version(page: &str) -> String {
    attribute(page, "data-version=\"")
}

#[tokio::test]
async fn refusals_show_the_apis_detail_and_foreign_cases_are_not_found() {
    let app = spawn_app().await;
    person(&app, "Rita", "reviewer").await;
    let sam = app.reviewer("Sam").await;
    let case = app.case().await;
    let id = case["id"].as_str().unwrap();
    app.post_as(&sam, &format!("/api/v1/cases/{id}/claim"), json!({})).await;
    let session = cookie(&sign_in(&app, "rita@example.com", PASSWORD).await);
    let page = get(&app, &format!("/console/cases/{id}"), &session).await.text().await.unwrap();
    assert!(!page.contains("Approve <kbd>"), "decision buttons only for the lease holder");
    let claim = submit(&app, &session, &format!("/console/cases/{id}/claim"), &[]).await;
    assert_eq!(claim.status(), StatusCode::CONFLICT);
    assert!(claim.text().await.unwrap().contains("claimed by another reviewer until"));
    assert_eq!(forged(&app, &session, &format!("/console/cases/{id}/claim")).await, StatusCode::FORBIDDEN);
    let foreign = app.foreign_key().await;
    let theirs = app
        .call(Method::POST, "/api/v1/sessions", Some(&foreign), Some(json!({"status": "under_review"})))
        .await
        .json();
    let their_case = theirs["case_id"].as_str().unwrap();
    let refused = get(&app, &format!("/console/cases/{their_case}"), &session).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn counts_stream_live_from_committed_events() {
    let app = spawn_app().await;
    person(&app, "Rita", "reviewer").await;
    let sam = app.reviewer("Sam").await;
    let case = app.case().await;
    let session = cookie(&sign_in(&app, "rita@example.com", PASSWORD).await);
    let mut stream =
        browser().get(format!("{}/console/live", app.address)).header("Cookie", &session).send().await.unwrap();
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let first = String::from_utf8(stream.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(first.contains("event: counts") && first.contains("\"unassigned\":1"), "{first}");
    app.post_as(&sam, &format!("/api/v1/cases/{}/claim", case["id"].as_str().unwrap()), json!({})).await;
    let update = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        loop {
            let chunk = String::from_utf8(stream.chunk().await.unwrap().unwrap().to_vec()).unwrap();
            if chunk.contains("event: counts") {
                return chunk;
            }
        }
    })
    .await
    .expect("an update within a second or so");
    assert!(update.contains("\"unassigned\":0"), "{update}");
    let polled = get(&app, "/console/counts.json", &session).await.text().await.unwrap();
    assert!(polled.contains("\"unassigned\":0"), "{polled}");
}

/// Reads the stream until a chunk contains `marker`; everything read so far.
async fn read_until(stream: &mut reqwest::Response, marker: &str) -> String {
    let mut read = String::new();
    tokio::time::timeout(std::time::Duration::from_secs(3), async {
        while !read.contains(marker) {
            read.push_str(std::str::from_utf8(&stream.chunk().await.unwrap().unwrap()).unwrap());
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {marker} in time; read: {read}"));
    read
}

#[tokio::test]
async fn a_case_stream_tells_what_happened_and_replays_what_a_reconnection_missed() {
    let app = spawn_app().await;
    person(&app, "Rita", "reviewer").await;
    let sam = app.reviewer("Sam").await;
    let case = app.case().await;
    let id = case["id"].as_str().unwrap();
    let session = cookie(&sign_in(&app, "rita@example.com", PASSWORD).await);
    let page = get(&app, &format!("/console/cases/{id}"), &session).await.text().await.unwrap();
    let shown = attribute(&page, "data-events=\"");
    assert_eq!(shown, "1", "the page shows the created event");
    let open = |after: Option<&str>, last: Option<&str>| {
        let mut request = browser()
            .get(format!(
                "{}/console/live?case={id}{}",
                app.address,
                after.map(|a| format!("&after={a}")).unwrap_or_default()
            ))
            .header("Cookie", &session);
        if let Some(last) = last {
            request = request.header("Last-Event-ID", last);
        }
        request.send()
    };
    let mut stream = open(Some(&shown), None).await.unwrap();
    let opening = read_until(&mut stream, "event: case").await;
    assert!(!opening.contains("event: activity"), "nothing new since the page: {opening}");
    app.post_as(&sam, &format!("/api/v1/cases/{id}/claim"), json!({})).await;
    let claimed = read_until(&mut stream, "event: activity").await;
    assert!(
        claimed.contains("id: 2\nevent: activity")
            && claimed.contains("\"type\":\"claimed\"")
            && claimed.contains("Sam"),
        "{claimed}"
    );
    drop(stream);
    // While disconnected: a note and a release.
    app.post_as(&sam, &format!("/api/v1/cases/{id}/notes"), json!({"content": "looks fine"})).await;
    app.post_as(&sam, &format!("/api/v1/cases/{id}/release"), json!({})).await;
    let mut resumed = open(Some("1"), Some("2")).await.unwrap();
    let replayed = read_until(&mut resumed, "id: 4\n").await;
    assert!(!replayed.contains("id: 2\n"), "Last-Event-ID wins over the page's position: {replayed}");
    let note = replayed.find("\"type\":\"note_added\"").expect("the note is replayed");
    let release = replayed.find("\"type\":\"released\"").expect("the release is replayed");
    assert!(note < release, "in order: {replayed}");
    drop(resumed);
    // A lapse commits nothing, yet the stream says so when it happens.
    app.post_as(&sam, &format!("/api/v1/cases/{id}/claim"), json!({})).await;
    let shortened = app
        .db
        .texts(&format!(
            "UPDATE cases SET claim_expires_at = now() + interval '1 second' WHERE id = '{}' RETURNING id::text AS value",
            casework_domain::id::CaseId::parse(id).unwrap().uuid()
        ))
        .await;
    assert_eq!(shortened.len(), 1);
    let mut watching = open(None, None).await.unwrap();
    let held = read_until(&mut watching, "event: case").await;
    assert!(held.contains("\"holder\""), "{held}");
    let lapsed = read_until(&mut watching, "\"lease\":null").await;
    assert!(!lapsed.contains("event: activity"), "no event to replay without a position: {lapsed}");
}

#[tokio::test]
async fn the_queue_filters_sorts_searches_and_pages() {
    let app = spawn_app().await;
    person(&app, "Rita", "reviewer").await;
    let mut ids = Vec::new();
    for n in 0..27 {
        let session = app.session(json!({"status": "under_review", "external_ref": format!("ref_{n:02}")})).await;
        ids.push(session["case_id"].as_str().unwrap().to_owned());
    }
    let urgent = app
        .get(&format!(
            "/api/v1/cases?session_id={}",
            app.get("/api/v1/sessions?external_ref=ref_05").await.json()["data"][0]["id"].as_str().unwrap()
        ))
        .await
        .json()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        Method::PATCH,
        &format!("/api/v1/cases/{urgent}"),
        Some(&app.key),
        Some(json!({"priority": "urgent", "tags": ["pep"]})),
    )
    .await;
    let session = cookie(&sign_in(&app, "rita@example.com", PASSWORD).await);
    let first = get(&app, "/console?tab=all", &session).await.text().await.unwrap();
    assert!(first.contains("Cases: 27 · page 1") && first.contains("Next page"), "paged by 25");
    let second = get(&app, "/console?tab=all&page=1", &session).await.text().await.unwrap();
    assert!(second.contains("page 2") && second.matches("data-href=").count() == 2, "{second}");
    let filtered = get(&app, "/console?tab=all&priority=urgent", &session).await.text().await.unwrap();
    assert!(filtered.contains(&urgent) && filtered.matches("data-href=").count() == 1);
    let tagged = get(&app, "/console?tab=all&tag=pep", &session).await.text().await.unwrap();
    assert_eq!(tagged.matches("data-href=").count(), 1);
    let sorted = get(&app, "/console?tab=all&sort=priority", &session).await.text().await.unwrap();
    let first_row = sorted.split("data-href=\"/console/cases/").nth(1).unwrap();
    assert!(first_row.starts_with(&urgent), "urgent first");
    let searched = get(&app, "/console?q=REF_1", &session).await.text().await.unwrap();
    assert_eq!(searched.matches("data-href=").count(), 10, "ref_10 … ref_19");
    let late = app
        .db
        .texts(&format!(
            "UPDATE cases SET entered_review_at = now() - interval '30 hours' WHERE id = '{}' RETURNING id::text AS value",
            casework_domain::id::CaseId::parse(&urgent).unwrap().uuid()
        ))
        .await;
    assert_eq!(late.len(), 1);
    let overdue = get(&app, "/console?tab=all&sla=overdue", &session).await.text().await.unwrap();
    assert!(overdue.contains(&urgent) && overdue.matches("data-href=").count() == 1, "{overdue}");
    let on_track = get(&app, "/console?tab=all&sla=on_track", &session).await.text().await.unwrap();
    assert!(on_track.contains("Cases: 26") && !on_track.contains(&urgent));
    let paged = get(&app, "/console?tab=all&sla=on_track&q=", &session).await.text().await.unwrap();
    let next = paged.split("<a href=\"/console?").find(|link| link.contains(">Next page<")).unwrap();
    assert!(next.contains("sla=on_track") && next.contains("tab=all"), "the filter is kept when paging: {next}");
}

#[tokio::test]
async fn the_case_page_assigns_escalates_overrides_and_edits() {
    let app = spawn_app().await;
    let rita = person(&app, "Rita", "senior_reviewer").await;
    let sam = person(&app, "Sam", "reviewer").await;
    let case = app.case().await;
    let id = case["id"].as_str().unwrap();
    let session = cookie(&sign_in(&app, "rita@example.com", PASSWORD).await);
    let path = |action: &str| format!("/console/cases/{id}/{action}");
    let edited = submit(&app, &session, &path("edit"), &[("priority", "high"), ("tags", "pep, watchlist")]).await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let bad = submit(&app, &session, &path("edit"), &[("priority", "high"), ("tags", "Not A Tag")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let assigned = submit(&app, &session, &path("assign"), &[("to", sam.as_str())]).await;
    assert_eq!(assigned.status(), StatusCode::SEE_OTHER);
    let api = app.get(&format!("/api/v1/cases/{id}")).await.json();
    assert_eq!(api["priority"], "high");
    assert_eq!(api["tags"], json!(["pep", "watchlist"]));
    assert_eq!(
        api["assigned_to"].as_str().unwrap(),
        casework_domain::id::OrgUserId::parse(&sam).unwrap().uuid().to_string()
    );
    submit(&app, &session, &path("claim"), &[]).await;
    let overridden = submit(
        &app,
        &session,
        &path("override"),
        &[("policy", "face_match"), ("passed", "true"), ("reason", "manual check")],
    )
    .await;
    assert_eq!(overridden.status(), StatusCode::NOT_FOUND, "this session has no face_match check: the API's 404");
    let escalated =
        submit(&app, &session, &path("escalate"), &[("to", rita.as_str()), ("reason", "needs a senior")]).await;
    assert_eq!(escalated.status(), StatusCode::SEE_OTHER);
    let api = app.get(&format!("/api/v1/cases/{id}")).await.json();
    assert_eq!(
        (api["status"].clone(), api["escalation_reason"].clone()),
        (json!("escalated"), json!("needs a senior"))
    );
}

#[tokio::test]
async fn extracted_data_is_corrected_after_a_reveal() {
    let app = spawn_app().await;
    person(&app, "Rita", "reviewer").await;
    let case = app.case().await;
    let id = case["id"].as_str().unwrap();
    let session = cookie(&sign_in(&app, "rita@example.com", PASSWORD).await);
    submit(&app, &session, &format!("/console/cases/{id}/claim"), &[]).await;
    let page = get(&app, &format!("/console/cases/{id}"), &session).await.text().await.unwrap();
    let version = case_version(&page);
    let revealed = submit(&app, &session, &format!("/console/cases/{id}/reveal"), &[]).await.text().await.unwrap();
    assert!(revealed.contains("name=\"pii.first_name\" value=\"Ada\""), "{revealed}");
    let corrected = submit(
        &app,
        &session,
        &format!("/console/cases/{id}/pii"),
        &[("version", &version), ("pii.first_name", "Adah")],
    )
    .await;
    assert_eq!(corrected.status(), StatusCode::SEE_OTHER);
    let api = app.get(&format!("/api/v1/cases/{id}")).await.json();
    assert_eq!(api["session"]["extracted_data"]["first_name"], "Adah");
    let bad = submit(&app, &session, &format!("/console/cases/{id}/pii"), &[("pii.date_of_birth", "1990-02-30")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let revealed = submit(&app, &session, &format!("/console/cases/{id}/reveal"), &[]).await.text().await.unwrap();
    assert!(revealed.contains("name=\"address.city\""), "the address has its own fields: {revealed}");
    let moved = submit(
        &app,
        &session,
        &format!("/console/cases/{id}/pii"),
        &[
            ("pii.first_name", "Adah"),
            ("address.line1", "1 Main St"),
            ("address.line2", ""),
            ("address.city", "Lyon"),
            ("address.state", ""),
            ("address.zip", "69001"),
            ("address.country", "FR"),
        ],
    )
    .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let api = app.get(&format!("/api/v1/cases/{id}")).await.json();
    assert_eq!(
        api["session"]["extracted_data"]["address"],
        json!({"line1": "1 Main St", "city": "Lyon", "zip": "69001", "country": "FR"})
    );
    let events = app.get(&format!("/api/v1/cases/{id}/events")).await.json();
    let last = events["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "pii_updated");
    let named = last.to_string();
    assert!(named.contains("address") && !named.contains("first_name"), "only what changed is named: {named}");
}
