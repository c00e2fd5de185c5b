//! The rules table of API.md §2 over HTTP: each action's success and each refusal code.

use casework_domain::directory::Scope;
use casework_domain::ports::DirectoryRepository;
use casework_domain::tenant::{Environment, Settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Reply, Reviewer, TestApp, spawn_app};

fn path(case: &Value, action: &str) -> String {
    format!("/api/v1/cases/{}/{action}", case["id"].as_str().unwrap())
}

async fn ok(reply: Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json()
}

async fn events(app: &TestApp, case: &Value) -> Vec<String> {
    let body = app.get(&path(case, "events")).await.json();
    body["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_owned()).collect()
}

async fn set_settings(app: &TestApp, change: impl FnOnce(&mut Settings)) {
    let tenant = app.tenant(Environment::Sandbox);
    let mut settings = app.state.store.settings(tenant).await.unwrap();
    change(&mut settings);
    app.state.store.update_settings(tenant, &(&settings).into(), app.state.service.now()).await.unwrap();
}

async fn claimed(app: &TestApp, reviewer: &Reviewer) -> Value {
    let case = app.case().await;
    ok(app.post_as(reviewer, &path(&case, "claim"), json!({})).await).await
}

#[tokio::test]
async fn claim_starts_a_lease_and_the_holder_renews_it() {
    let app = spawn_app().await;
    let alice = app.reviewer("Alice").await;
    let case = claimed(&app, &alice).await;
    assert_eq!(case["status"], "in_review");
    assert_eq!(case["assigned_to"], alice.uuid.as_str());
    assert_eq!(case["version"], 2);
    assert!(case["claim_expires_at"].as_str().unwrap() > case["claimed_at"].as_str().unwrap());
    let renewed = ok(app.post_as(&alice, &path(&case, "claim"), json!({})).await).await;
    assert_eq!(renewed["claimed_at"], case["claimed_at"]);
    assert_eq!(events(&app, &case).await, vec!["created", "claimed", "claim_renewed"]);
}

#[tokio::test]
async fn claim_over_another_live_lease_names_the_holder() {
    let app = spawn_app().await;
    let (alice, bob) = (app.reviewer("Alice").await, app.reviewer("Bob").await);
    let case = claimed(&app, &alice).await;
    let reply = app.post_as(&bob, &path(&case, "claim"), json!({})).await;
    let body = reply.assert_error(409, "case_already_claimed");
    assert_eq!(body["claimed_by"], alice.uuid.as_str());
    assert_eq!(body["claim_expires_at"], case["claim_expires_at"]);
    assert!(!reply.text.contains("Alice"), "no names in the refusal");
}

#[tokio::test]
async fn the_reviewer_rules_of_a_request() {
    let app = spawn_app().await;
    let (alice, bob) = (app.reviewer("Alice").await, app.reviewer("Bob").await);
    let case = app.case().await;
    // No reviewer at all: 422 before anything else.
    let reply = app.post(&path(&case, "claim"), json!({})).await;
    reply.assert_error(422, "validation_failed");
    assert_eq!(reply.field_errors(), vec![("reviewer_id".to_owned(), "required".to_owned())]);
    // A personal key acting for someone else.
    let reply = app.post_as(&alice, &path(&case, "claim"), json!({"reviewer_id": bob.uuid})).await;
    reply.assert_error(403, "reviewer_mismatch");
    // Unknown or malformed reviewers.
    for bad in ["orguser_000000000000000000000000", "bob", "00000000-0000-0000-0000-000000000000"] {
        app.post(&path(&case, "claim"), json!({"reviewer_id": bad})).await.assert_error(422, "invalid_reviewer");
    }
    // The case's 404 answers before the reviewer's 422.
    let ghost = json!({"id": "rvc_000000000000000000000000"});
    app.post(&path(&ghost, "claim"), json!({"reviewer_id": "bob"})).await.assert_error(404, "not_found");
    // An all-scope key (no bound user) may act for any reviewer.
    let case = ok(app.post(&path(&case, "claim"), json!({"reviewer_id": bob.id.public()})).await).await;
    assert_eq!(case["assigned_to"], bob.uuid.as_str());
    let events = app.get(&path(&case, "events")).await.json();
    assert_eq!(events["data"][1]["actor"], json!({"type": "org_user", "id": bob.uuid, "name": "Bob"}));
}

#[tokio::test]
async fn release_rules() {
    let app = spawn_app().await;
    let (alice, bob) = (app.reviewer("Alice").await, app.reviewer("Bob").await);
    let case = claimed(&app, &alice).await;
    app.post_as(&bob, &path(&case, "release"), json!({})).await.assert_error(403, "not_claim_holder");
    let released = ok(app.post_as(&alice, &path(&case, "release"), json!({})).await).await;
    assert_eq!((released["status"].clone(), released["assigned_to"].clone()), (json!("open"), Value::Null));
    assert_eq!(released["claim_expires_at"], Value::Null);
    app.post_as(&alice, &path(&case, "release"), json!({})).await.assert_error(409, "case_not_claimed");
    // With no body at all, a key without a reviewer may release any lease.
    let case = claimed(&app, &alice).await;
    let reply = app.call(Method::POST, &path(&case, "release"), Some(&app.key), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
}

#[tokio::test]
async fn assign_rules() {
    let app = spawn_app().await;
    let (alice, bob) = (app.reviewer("Alice").await, app.reviewer("Bob").await);
    let case = app.case().await;
    let assigned =
        ok(app.post(&path(&case, "assign"), json!({"assignee_id": bob.uuid, "reason": "expert"})).await).await;
    assert_eq!((assigned["status"].clone(), assigned["assigned_to"].clone()), (json!("open"), json!(bob.uuid)));
    // Advisory: someone else may still claim it.
    let claimed = ok(app.post_as(&alice, &path(&case, "claim"), json!({})).await).await;
    assert_eq!(claimed["assigned_to"], alice.uuid.as_str());
    // Assigning the live holder changes nothing.
    let same = ok(app.post(&path(&case, "assign"), json!({"assignee_id": alice.uuid})).await).await;
    assert_eq!(same["version"], claimed["version"]);
    // Over Alice's live lease, Bob needs cases:admin.
    app.post_as(&bob, &path(&case, "assign"), json!({"assignee_id": bob.uuid}))
        .await
        .assert_error(403, "not_claim_holder");
    let admin = app.key_with(Environment::Sandbox, &Scope::ALL, Some(bob.id)).await;
    let reply =
        app.call(Method::POST, &path(&case, "assign"), Some(&admin), Some(json!({"assignee_id": bob.uuid}))).await;
    let taken = ok(reply).await;
    assert_eq!((taken["status"].clone(), taken["claim_expires_at"].clone()), (json!("open"), Value::Null));
    app.post(&path(&case, "assign"), json!({"assignee_id": "nobody"})).await.assert_error(422, "invalid_reviewer");
    let reply = app.post(&path(&case, "assign"), json!({})).await;
    assert_eq!(reply.field_errors(), vec![("assignee_id".to_owned(), "required".to_owned())]);
    assert_eq!(events(&app, &case).await, vec!["created", "assigned", "claimed", "assigned"]);
}

#[tokio::test]
async fn escalation_to_a_named_senior_reviewer() {
    let app = spawn_app().await;
    let (alice, senior, bob) = (app.reviewer("Alice").await, app.reviewer("Senior").await, app.reviewer("Bob").await);
    let case = claimed(&app, &alice).await;
    let body = json!({"escalated_to": senior.uuid, "reason": "possible PEP", "notes": "see watchlist hit"});
    let escalated = ok(app.post_as(&alice, &path(&case, "escalate"), body).await).await;
    assert_eq!(escalated["status"], "escalated");
    assert_eq!(
        (escalated["escalated_to"].clone(), escalated["assigned_to"].clone()),
        (json!(senior.uuid), json!(senior.uuid))
    );
    assert_eq!(escalated["escalation_reason"], "possible PEP");
    assert_eq!(escalated["claim_expires_at"], Value::Null);
    app.post_as(&alice, &path(&case, "escalate"), json!({})).await.assert_error(409, "case_already_escalated");
    app.post_as(&bob, &path(&case, "claim"), json!({})).await.assert_error(403, "not_escalation_target");
    app.post_as(&bob, &path(&case, "approve"), json!({})).await.assert_error(403, "not_escalation_target");
    let held = ok(app.post_as(&senior, &path(&case, "claim"), json!({})).await).await;
    assert_eq!(held["status"], "escalated");
    let decided = ok(app.post_as(&senior, &path(&case, "approve"), json!({})).await).await;
    assert_eq!((decided["status"].clone(), decided["decision"].clone()), (json!("approved"), json!("approved")));
    assert_eq!(events(&app, &case).await, vec!["created", "claimed", "escalated", "note_added", "claimed", "approved"]);
    let notes = app.get(&path(&case, "notes")).await.json();
    assert_eq!(notes["data"][0]["content"], "see watchlist hit");
    assert_eq!(
        (notes["data"][0]["author_type"].clone(), notes["data"][0]["author_name"].clone()),
        (json!("org"), json!("Alice"))
    );
}

#[tokio::test]
async fn escalate_with_an_unknown_target_is_invalid_reviewer() {
    let app = spawn_app().await;
    let case = app.case().await;
    app.post(&path(&case, "escalate"), json!({"escalated_to": "orguser_000000000000000000000000"}))
        .await
        .assert_error(422, "invalid_reviewer");
}

#[tokio::test]
async fn a_final_decision_sets_the_session_and_freezes_the_case() {
    let app = spawn_app().await;
    let alice = app.reviewer("Alice").await;
    let case = claimed(&app, &alice).await;
    let body = json!({"rejection_reason": "forged document", "rejection_reason_code": "document_fraud", "notes": "UV pattern missing"});
    let rejected = ok(app.post_as(&alice, &path(&case, "reject"), body).await).await;
    assert_eq!((rejected["status"].clone(), rejected["decision"].clone()), (json!("rejected"), json!("rejected")));
    assert_eq!(rejected["rejection_reason_code"], "document_fraud");
    assert_eq!(rejected["assigned_to"], alice.uuid.as_str());
    assert!(rejected["decided_at"].is_string());
    assert_eq!(rejected["sla"]["status"], "met");
    let session = app.get(&format!("/api/v1/sessions/{}", case["session_id"].as_str().unwrap())).await.json();
    assert_eq!(session["status"], "declined");
    for action in ["claim", "release", "escalate", "approve"] {
        app.post_as(&alice, &path(&case, action), json!({})).await.assert_error(409, "case_already_decided");
    }
    app.post(&path(&case, "assign"), json!({"assignee_id": alice.uuid}))
        .await
        .assert_error(409, "case_already_decided");
    // Notes, tags and client data still change on a final case; priority does not.
    let reply = app
        .call(
            Method::PATCH,
            &format!("/api/v1/cases/{}", case["id"].as_str().unwrap()),
            Some(&app.key),
            Some(json!({"tags": ["fraud"]})),
        )
        .await;
    assert_eq!(ok(reply).await["tags"], json!(["fraud"]));
    let reply = app
        .call(
            Method::PATCH,
            &format!("/api/v1/cases/{}", case["id"].as_str().unwrap()),
            Some(&app.key),
            Some(json!({"priority": "normal"})),
        )
        .await;
    reply.assert_error(409, "case_already_decided");
    assert_eq!(app.post(&path(&case, "notes"), json!({"content": "follow-up"})).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn reject_needs_a_reason_and_approve_ignores_one() {
    let app = spawn_app().await;
    let alice = app.reviewer("Alice").await;
    let case = claimed(&app, &alice).await;
    let reply = app.post_as(&alice, &path(&case, "reject"), json!({"rejection_reason_code": "nope"})).await;
    reply.assert_error(422, "validation_failed");
    let mut errors = reply.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("rejection_reason".to_owned(), "required".to_owned()),
            ("rejection_reason_code".to_owned(), "invalid_value".to_owned())
        ]
    );
    let approved = ok(app.post_as(&alice, &path(&case, "approve"), json!({"rejection_reason": "ignored"})).await).await;
    assert_eq!(approved["rejection_reason"], Value::Null);
    let session = app.get(&format!("/api/v1/sessions/{}", case["session_id"].as_str().unwrap())).await.json();
    assert_eq!(session["status"], "approved");
}

#[tokio::test]
async fn dual_review_end_to_end() {
    let app = spawn_app().await;
    set_settings(&app, |s| s.dual_review = true).await;
    let (alice, bob) = (app.reviewer("Alice").await, app.reviewer("Bob").await);
    let case = claimed(&app, &alice).await;
    let body =
        json!({"rejection_reason": "blurry", "rejection_reason_code": "document_invalid", "add_to_blocklist": true});
    let recommended = ok(app.post_as(&alice, &path(&case, "reject"), body).await).await;
    assert_eq!(recommended["status"], "pending_second_review");
    assert_eq!(recommended["decision"], Value::Null);
    assert_eq!(recommended["assigned_to"], Value::Null);
    assert_eq!(recommended["recommendation"]["decision"], "rejected");
    assert_eq!(recommended["recommendation"]["reviewer_id"], alice.uuid.as_str());
    assert_eq!(recommended["recommendation"]["rejection_reason_code"], "document_invalid");
    app.post_as(&alice, &path(&case, "claim"), json!({})).await.assert_error(409, "second_reviewer_required");
    app.post_as(&alice, &path(&case, "approve"), json!({})).await.assert_error(409, "same_reviewer");
    app.post(&path(&case, "assign"), json!({"assignee_id": alice.uuid}))
        .await
        .assert_error(409, "second_reviewer_required");
    let counts = app.get("/api/v1/cases/counts").await.json();
    assert_eq!(counts["pending_second_review"], 1);
    let decided = ok(app.post_as(&bob, &path(&case, "approve"), json!({})).await).await;
    assert_eq!((decided["status"].clone(), decided["assigned_to"].clone()), (json!("approved"), json!(bob.uuid)));
    assert_eq!(decided["rejection_reason"], Value::Null, "the final reviewer's own fields apply");
    let blocklist = app.get("/api/v1/blocklist").await.json();
    assert_eq!(blocklist["pagination"]["total"], 0, "the recommender's blocklist request does not apply");
    assert_eq!(events(&app, &case).await, vec!["created", "claimed", "recommended", "approved"]);
}

#[tokio::test]
async fn a_final_reject_adds_the_document_number_to_the_blocklist() {
    let app = spawn_app().await;
    let alice = app.reviewer("Alice").await;
    let case = claimed(&app, &alice).await;
    let body = json!({"rejection_reason": "fraud", "add_to_blocklist": true});
    ok(app.post_as(&alice, &path(&case, "reject"), body).await).await;
    let blocklist = app.get("/api/v1/blocklist").await.json();
    assert_eq!(blocklist["pagination"]["total"], 1);
    let entry = &blocklist["data"][0];
    assert_eq!(entry["case_id"], case["uuid"]);
    assert!(entry["id"].as_str().unwrap().starts_with("blk_"));
    assert_eq!(entry.as_object().unwrap().len(), 4, "never the hash: {entry}");
}

#[tokio::test]
async fn stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let alice = app.reviewer("Alice").await;
    let case = app.case().await;
    let claim = |tag: &'static str| {
        app.client
            .post(format!("{}{}", app.address, path(&case, "claim")))
            .header("X-API-Key", &alice.key)
            .header("If-Match", tag)
            .json(&json!({}))
            .send()
    };
    let reply = claim("\"7\"").await.unwrap();
    assert_eq!(reply.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(reply.json::<Value>().await.unwrap()["error"], "precondition_failed");
    assert_eq!(app.get(&format!("/api/v1/cases/{}", case["id"].as_str().unwrap())).await.json()["version"], 1);
    let reply = claim("version one").await.unwrap();
    assert_eq!(reply.status(), StatusCode::BAD_REQUEST);
    let reply = claim("W/\"1\"").await.unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(reply.headers()["etag"], "\"2\"");
}

#[tokio::test]
async fn two_racing_approvals_have_one_winner() {
    let app = spawn_app().await;
    let (alice, bob) = (app.reviewer("Alice").await, app.reviewer("Bob").await);
    for _ in 0..5 {
        let case = app.case().await;
        let (approve, reject) = (path(&case, "approve"), path(&case, "reject"));
        let (a, b) = tokio::join!(
            app.post_as(&alice, &approve, json!({})),
            app.post_as(&bob, &reject, json!({"rejection_reason": "no"}))
        );
        let statuses = [a.status.as_u16(), b.status.as_u16()];
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?} {} {}", a.text, b.text);
        let loser = if a.status == StatusCode::OK { b } else { a };
        let code = loser.json()["error"].as_str().unwrap().to_owned();
        assert!(code == "case_already_decided" || code == "case_already_claimed", "{}", loser.text);
        assert_eq!(events(&app, &case).await.len(), 2, "one decision event");
    }
}

#[tokio::test]
async fn a_lapsed_lease_reads_as_released_and_is_persisted_once() {
    let app = spawn_app().await;
    let (alice, bob) = (app.reviewer("Alice").await, app.reviewer("Bob").await);
    let case = claimed(&app, &alice).await;
    app.state.clock.shift(time::Duration::minutes(31));
    let read = app.get(&format!("/api/v1/cases/{}", case["id"].as_str().unwrap())).await.json();
    assert_eq!((read["status"].clone(), read["assigned_to"].clone()), (json!("open"), Value::Null));
    assert_eq!(read["claim_expires_at"], Value::Null);
    let unassigned = app.get("/api/v1/cases?tab=unassigned&status=open").await.json();
    assert_eq!(unassigned["pagination"]["total"], 1);
    let counts = app.call(Method::GET, "/api/v1/cases/counts", Some(&alice.key), None).await.json();
    assert_eq!((counts["mine"].clone(), counts["unassigned"].clone()), (json!(0), json!(1)));
    // An accepted mutation persists the lapse first.
    let taken = ok(app.post_as(&bob, &path(&case, "claim"), json!({})).await).await;
    assert_eq!(taken["version"], 4);
    assert_eq!(events(&app, &case).await, vec!["created", "claimed", "claim_expired", "claimed"]);
    let timeline = app.get(&path(&case, "events")).await.json();
    assert_eq!(timeline["data"][2]["actor"], json!({"type": "system", "id": null, "name": "casework"}));
    // The sweeper has nothing left to do for it.
    assert_eq!(app.state.service.sweep_lapsed_claims(100).await.unwrap(), 0);
}

#[tokio::test]
async fn the_sweeper_persists_lapses_once() {
    let app = spawn_app().await;
    let alice = app.reviewer("Alice").await;
    let case = claimed(&app, &alice).await;
    assert_eq!(app.state.service.sweep_lapsed_claims(100).await.unwrap(), 0);
    app.state.clock.shift(time::Duration::minutes(31));
    let (a, b) = tokio::join!(app.state.service.sweep_lapsed_claims(100), app.state.service.sweep_lapsed_claims(100));
    assert_eq!(a.unwrap() + b.unwrap(), 1, "two sweepers never record one lapse twice");
    assert_eq!(events(&app, &case).await, vec!["created", "claimed", "claim_expired"]);
    let read = app.get(&format!("/api/v1/cases/{}", case["id"].as_str().unwrap())).await.json();
    assert_eq!((read["status"].clone(), read["version"].clone()), (json!("open"), json!(3)));
}

#[tokio::test]
async fn more_rows_of_the_rules_table() {
    let app = spawn_app().await;
    set_settings(&app, |s| s.dual_review = true).await;
    let (alice, bob) = (app.reviewer("Alice").await, app.reviewer("Bob").await);
    let case = claimed(&app, &alice).await;
    ok(app.post_as(&alice, &path(&case, "approve"), json!({})).await).await;
    // pending_second_review: no escalation; another reviewer claims it for the second review.
    app.post(&path(&case, "escalate"), json!({})).await.assert_error(409, "invalid_transition");
    let held = ok(app.post_as(&bob, &path(&case, "claim"), json!({})).await).await;
    assert_eq!(
        (held["status"].clone(), held["assigned_to"].clone()),
        (json!("pending_second_review"), json!(bob.uuid))
    );
    // The recommender cannot decide over Bob's lease either way.
    app.post_as(&alice, &path(&case, "reject"), json!({"rejection_reason": "x"}))
        .await
        .assert_error(409, "case_already_claimed");
    ok(app.post_as(&bob, &path(&case, "approve"), json!({})).await).await;
    // A final case refuses overrides and PII corrections.
    let override_path = format!("/api/v1/cases/{}/checks/face_match/override", case["id"].as_str().unwrap());
    let session = app.get(&format!("/api/v1/sessions/{}", case["session_id"].as_str().unwrap())).await.json();
    assert_eq!(session["status"], "approved");
    app.post(&override_path, json!({})).await.assert_error(404, "not_found");
    let pii = app
        .call(
            Method::PUT,
            &format!("{}/result/pii", path(&case, "").trim_end_matches('/')),
            Some(&app.key),
            Some(json!({"extracted_data": {"gender": "F"}})),
        )
        .await;
    pii.assert_error(409, "case_already_decided");
}

#[tokio::test]
async fn an_override_on_a_final_case_is_refused() {
    let app = spawn_app().await;
    let alice = app.reviewer("Alice").await;
    let session =
        app.session(json!({"status": "under_review", "checks": [{"policy": "face_match", "status": "failed"}]})).await;
    let case = app.get(&format!("/api/v1/cases/{}", session["case_id"].as_str().unwrap())).await.json();
    ok(app.post_as(&alice, &path(&case, "approve"), json!({})).await).await;
    let override_path = format!("/api/v1/cases/{}/checks/face_match/override", case["id"].as_str().unwrap());
    app.post(&override_path, json!({"passed": true})).await.assert_error(409, "case_already_decided");
}

#[tokio::test]
async fn patch_honours_if_match_and_created_resources_carry_location() {
    let app = spawn_app().await;
    let reply = app.post("/api/v1/sessions", json!({"status": "under_review"})).await;
    let session = reply.json();
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/sessions/{}", session["id"].as_str().unwrap()).as_str())
    );
    let other = app.session(json!({})).await;
    let created = app.post("/api/v1/cases", json!({"session_id": other["id"]})).await;
    let case = created.json();
    assert_eq!(created.header("location"), Some(format!("/api/v1/cases/{}", case["id"].as_str().unwrap()).as_str()));
    let patch = |tag: &'static str| {
        app.client
            .patch(format!("{}/api/v1/cases/{}", app.address, case["id"].as_str().unwrap()))
            .header("X-API-Key", &app.key)
            .header("If-Match", tag)
            .json(&json!({"priority": "high"}))
            .send()
    };
    assert_eq!(patch("\"9\"").await.unwrap().status(), StatusCode::PRECONDITION_FAILED);
    let ok_reply = patch("\"1\"").await.unwrap();
    assert_eq!((ok_reply.status(), ok_reply.headers()["etag"].to_str().unwrap()), (StatusCode::OK, "\"2\""));
}
