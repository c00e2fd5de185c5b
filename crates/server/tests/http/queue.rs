//! The queue: claim-next (including many reviewers racing), counts, tags and demo cases.

use std::collections::HashSet;

use casework_domain::directory::Scope;
use casework_domain::ports::DirectoryRepository;
use casework_domain::tenant::Environment;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Reviewer, TestApp, spawn_app};

async fn patch(app: &TestApp, case: &Value, body: Value) -> Value {
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let reply = app.call(Method::PATCH, &path, Some(&app.key), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json()
}

async fn next(app: &TestApp, reviewer: &Reviewer, body: Value) -> crate::support::Reply {
    app.post_as(reviewer, "/api/v1/cases/next", body).await
}

#[tokio::test]
async fn next_hands_out_by_priority_then_age_and_embeds_the_session() {
    let app = spawn_app().await;
    let alice = app.reviewer("Alice").await;
    let oldest = app.case().await;
    let urgent = app.case().await;
    let tagged = app.case().await;
    patch(&app, &urgent, json!({"priority": "urgent"})).await;
    patch(&app, &tagged, json!({"tags": ["pep"], "priority": "low"})).await;
    let first = next(&app, &alice, json!({})).await.json();
    assert_eq!(first["id"], urgent["id"]);
    assert_eq!(first["status"], "in_review");
    assert_eq!(first["session"]["uuid"], urgent["session_id"]);
    let pep = next(&app, &alice, json!({"tag": "pep"})).await.json();
    assert_eq!(pep["id"], tagged["id"]);
    next(&app, &alice, json!({"priority": "high"})).await.assert_error(404, "queue_empty");
    let last = next(&app, &alice, json!({})).await.json();
    assert_eq!(last["id"], oldest["id"]);
    next(&app, &alice, json!({})).await.assert_error(404, "queue_empty");
}

#[tokio::test]
async fn next_validates_its_body_and_needs_a_reviewer() {
    let app = spawn_app().await;
    let reply = app.post("/api/v1/cases/next", json!({})).await;
    assert_eq!(reply.field_errors(), vec![("reviewer_id".to_owned(), "required".to_owned())]);
    let alice = app.reviewer("Alice").await;
    let reply = next(&app, &alice, json!({"priority": "asap", "tag": "Bad Tag"})).await;
    reply.assert_error(422, "validation_failed");
    let mut errors = reply.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        vec![("priority".to_owned(), "invalid_value".to_owned()), ("tag".to_owned(), "invalid_value".to_owned())]
    );
}

#[tokio::test]
async fn next_skips_assigned_cases_and_own_recommendations() {
    let app = spawn_app().await;
    let (alice, bob) = (app.reviewer("Alice").await, app.reviewer("Bob").await);
    let tenant = app.tenant(Environment::Sandbox);
    let mut settings = app.state.store.settings(tenant).await.unwrap();
    settings.dual_review = true;
    app.state.store.update_settings(tenant, &(&settings).into(), app.state.service.now()).await.unwrap();
    let assigned = app.case().await;
    let path = format!("/api/v1/cases/{}/assign", assigned["id"].as_str().unwrap());
    app.post(&path, json!({"assignee_id": bob.uuid})).await;
    let case = app.case().await;
    let claimed = next(&app, &alice, json!({})).await.json();
    assert_eq!(claimed["id"], case["id"]);
    let path = format!("/api/v1/cases/{}/approve", case["id"].as_str().unwrap());
    assert_eq!(app.post_as(&alice, &path, json!({})).await.status, StatusCode::OK);
    next(&app, &alice, json!({})).await.assert_error(404, "queue_empty");
    let second = next(&app, &bob, json!({})).await.json();
    assert_eq!((second["id"].clone(), second["status"].clone()), (case["id"].clone(), json!("pending_second_review")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_reviewers_drain_two_hundred_cases_each_handed_out_once() {
    let app = spawn_app().await;
    for _ in 0..200 {
        app.session(json!({"status": "under_review"})).await;
    }
    let mut reviewers = Vec::new();
    for n in 0..16 {
        reviewers.push(app.reviewer(&format!("Reviewer{n}")).await);
    }
    let handed: Vec<Vec<String>> = futures_util::future::join_all(reviewers.iter().map(|reviewer| {
        let app = &app;
        async move {
            let mut mine = Vec::new();
            loop {
                let reply = next(app, reviewer, json!({})).await;
                match reply.status {
                    StatusCode::OK => mine.push(reply.json()["id"].as_str().unwrap().to_owned()),
                    StatusCode::NOT_FOUND => return mine,
                    other => panic!("unexpected {other}: {}", reply.text),
                }
            }
        }
    }))
    .await;
    let all: Vec<&String> = handed.iter().flatten().collect();
    let distinct: HashSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), 200, "every case handed out");
    assert_eq!(distinct.len(), 200, "no case handed out twice");
    let counts = app.get("/api/v1/cases/counts").await.json();
    assert_eq!((counts["unassigned"].clone(), counts["all"].clone()), (json!(0), json!(200)));
}

#[tokio::test]
async fn counts_follow_every_tab() {
    let app = spawn_app().await;
    let (alice, senior) = (app.reviewer("Alice").await, app.reviewer("Senior").await);
    for _ in 0..3 {
        app.case().await;
    }
    let mine = next(&app, &alice, json!({})).await.json();
    let escalated = app.case().await;
    let path = format!("/api/v1/cases/{}/escalate", escalated["id"].as_str().unwrap());
    app.post(&path, json!({"escalated_to": senior.uuid})).await;
    let counts = app.call(Method::GET, "/api/v1/cases/counts", Some(&alice.key), None).await.json();
    assert_eq!(counts, json!({"unassigned": 2, "mine": 1, "pending_second_review": 0, "escalated": 1, "all": 4}));
    let counts = app.get(&format!("/api/v1/cases/counts?reviewer_id={}", senior.uuid)).await.json();
    assert_eq!(counts["mine"], 1, "an escalation target owns the escalated case");
    let counts = app.get("/api/v1/cases/counts?reviewer_id=not-an-id").await.json();
    assert_eq!(counts["mine"], 0);
    let listed = app.call(Method::GET, "/api/v1/cases?tab=mine", Some(&alice.key), None).await.json();
    assert_eq!(listed["data"][0]["id"], mine["id"]);
}

#[tokio::test]
async fn tags_are_listed_with_counts() {
    let app = spawn_app().await;
    let (a, b) = (app.case().await, app.case().await);
    patch(&app, &a, json!({"tags": ["pep", "vip", "pep"]})).await;
    patch(&app, &b, json!({"tags": ["pep"]})).await;
    let tags = app.get("/api/v1/cases/tags").await.json();
    assert_eq!(tags, json!({"data": [{"tag": "pep", "count": 2}, {"tag": "vip", "count": 1}]}));
    let listed = app.get("/api/v1/cases?tag=vip,absent").await.json();
    assert_eq!(listed["pagination"]["total"], 1);
}

#[tokio::test]
async fn demo_cases_are_sandbox_only_and_limited() {
    let app = spawn_app().await;
    for _ in 0..3 {
        let reply = app.post("/api/v1/cases/demo", json!({})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let body = reply.json();
        assert_eq!(body["is_demo"], true);
        assert_eq!(body["session"]["checks"].as_array().unwrap().len(), 5);
        assert!(body["session"]["extracted_data"]["first_name"].is_string());
    }
    app.post("/api/v1/cases/demo", json!({})).await.assert_error(409, "demo_limit_reached");
    let live = app.key_with(Environment::Live, &Scope::ALL, None).await;
    app.call(Method::POST, "/api/v1/cases/demo", Some(&live), Some(json!({}))).await.assert_error(403, "sandbox_only");
}

/// The counts and list totals as a plain count of the rows would give them, for `reviewer`.
async fn counted(app: &TestApp, reviewer: &Reviewer) -> Value {
    let lapsed = "(claim_expires_at IS NOT NULL AND claim_expires_at <= now())";
    let sql = format!(
        "SELECT json_build_object(\
           'unassigned', count(*) FILTER (WHERE (status = 'open' AND assigned_to IS NULL) OR (status = 'in_review' AND {lapsed})), \
           'mine', count(*) FILTER (WHERE status NOT IN ('approved', 'rejected') AND \
               ((assigned_to = '{r}' AND NOT {lapsed}) OR ({lapsed} AND status = 'escalated' AND escalated_to = '{r}'))), \
           'pending_second_review', count(*) FILTER (WHERE status = 'pending_second_review'), \
           'escalated', count(*) FILTER (WHERE status = 'escalated'), \
           'all', count(*))::text AS value FROM cases",
        r = reviewer.uuid
    );
    serde_json::from_str(&app.db.texts(&sql).await[0]).unwrap()
}

async fn assert_counts_match_rows(app: &TestApp, reviewer: &Reviewer, moment: &str) {
    let expected = counted(app, reviewer).await;
    let counts = app.call(Method::GET, "/api/v1/cases/counts", Some(&reviewer.key), None).await.json();
    assert_eq!(counts, expected, "{moment}: the counts");
    for (tab, field) in
        [("", "all"), ("&tab=unassigned", "unassigned"), ("&tab=mine", "mine"), ("&tab=escalated", "escalated")]
    {
        let listed =
            app.call(Method::GET, &format!("/api/v1/cases?limit=1{tab}"), Some(&reviewer.key), None).await.json();
        assert_eq!(listed["pagination"]["total"], expected[field], "{moment}: the total of {field}");
    }
}

#[tokio::test]
async fn counts_and_totals_from_the_tallies_match_the_rows() {
    let app = spawn_app().await;
    let senior = app.reviewer("Senior").await;
    let reviewers =
        [app.reviewer("A").await, app.reviewer("B").await, app.reviewer("C").await, app.reviewer("D").await];
    for _ in 0..30 {
        app.case().await;
    }
    assert_counts_match_rows(&app, &reviewers[0], "opened").await;
    // The compactor folds small batches all along, while reviewers race through the queue.
    let store = app.state.store.clone();
    let folding = tokio::spawn(async move {
        loop {
            store.compact_tallies(3).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    });
    futures_util::future::join_all(reviewers.iter().map(|reviewer| {
        let (app, senior) = (&app, &senior);
        async move {
            for step in 0..5 {
                let case = next(app, reviewer, json!({})).await.json();
                let path = |action: &str| format!("/api/v1/cases/{}/{action}", case["id"].as_str().unwrap());
                let reply = match step {
                    0 | 1 => app.post_as(reviewer, &path("approve"), json!({})).await,
                    2 => app.post_as(reviewer, &path("release"), json!({})).await,
                    3 => {
                        app.post_as(
                            reviewer,
                            &path("escalate"),
                            json!({"escalated_to": senior.uuid, "reason": "a second look"}),
                        )
                        .await
                    }
                    _ => continue,
                };
                assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
            }
        }
    }))
    .await;
    folding.abort();
    assert_counts_match_rows(&app, &reviewers[0], "after the race").await;
    // Leases that lapse (time alone, no write) read as unassigned at once.
    let lapsed = app
        .db
        .texts(
            "UPDATE cases SET claim_expires_at = now() - interval '1 second' \
             WHERE id IN (SELECT id FROM cases WHERE status = 'in_review' ORDER BY id LIMIT 2) RETURNING id::text AS value",
        )
        .await;
    assert_eq!(lapsed.len(), 2);
    app.state.store.forget_counts(None);
    assert_counts_match_rows(&app, &reviewers[0], "after two lapses").await;
    // Rows written around the service, in bulk, are tallied too.
    app.db
        .texts(
            "UPDATE cases SET priority = 'high', assigned_to = NULL WHERE status = 'open' RETURNING id::text AS value",
        )
        .await;
    app.state.store.forget_counts(None);
    assert_counts_match_rows(&app, &reviewers[1], "after a bulk update").await;
    while app.state.store.compact_tallies(1000).await.unwrap() > 0 {}
    assert_counts_match_rows(&app, &reviewers[2], "everything folded").await;
    let deltas = app.db.texts("SELECT count(*)::text AS value FROM case_tally_deltas").await;
    assert_eq!(deltas, ["0"]);
}
