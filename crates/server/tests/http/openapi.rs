//! The OpenAPI document describes exactly the routes the app serves, and `/docs` renders it.

use casework_domain::tenant::Environment;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::spawn_app;

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{case_id}" => "rvc_000000000000000000000000",
            "{session_id}" => "ses_000000000000000000000000",
            "{id}" => "00000000-0000-0000-0000-000000000000",
            "{policy}" => "face_match",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_document_lists_every_route_and_nothing_more() {
    let app = spawn_app().await;
    let reply = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.json();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 25, "{:?}", paths.keys().collect::<Vec<_>>());
    // A key with no scope reaches every documented operation and is refused by scope (403),
    // which proves the route exists with that method.
    let scopeless = app.key_with(Environment::Sandbox, &[], None).await;
    let all = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
    for (path, item) in paths {
        let documented: Vec<Method> =
            all.iter().filter(|m| item.get(m.as_str().to_lowercase()).is_some()).cloned().collect();
        for method in &all {
            let reply = app.call(method.clone(), &concrete(path), Some(&scopeless), None).await;
            if documented.contains(method) {
                reply.assert_error(403, "insufficient_scope");
                let operation = &item[method.as_str().to_lowercase()];
                let scopes = operation["security"][0]["api_key"].as_array().unwrap();
                assert!(!scopes.is_empty(), "{method} {path} documents its scopes");
            } else {
                reply.assert_error(405, "method_not_allowed");
                let allow: Vec<&str> = documented.iter().map(Method::as_str).collect();
                assert_eq!(reply.header("allow"), Some(allow.join(", ").as_str()), "{method} {path}");
            }
        }
    }
    let codes: Vec<&str> = document["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for code in ["queue_empty", "case_already_claimed", "idempotency_mismatch", "rate_limited", "service_unavailable"] {
        assert!(codes.contains(&code), "{code} is documented");
    }
}

#[tokio::test]
async fn docs_render_from_the_binary() {
    let app = spawn_app().await;
    // `/docs` leads to the viewer, whose page and scripts come from the binary itself.
    let reply = app.call(Method::GET, "/docs", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("content-type").unwrap().starts_with("text/html"));
    assert!(reply.text.contains("swagger-ui-bundle.js"), "{}", reply.text);
    assert!(!reply.text.contains("http://") && !reply.text.contains("https://"), "no external assets");
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-initializer.js"] {
        let reply = app.call(Method::GET, &format!("/docs/{asset}"), None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{asset}");
        assert!(reply.text.len() > 100, "{asset}");
    }
    let initializer = app.call(Method::GET, "/docs/swagger-initializer.js", None, None).await;
    assert!(initializer.text.contains("/api/v1/openapi.json"), "{}", initializer.text);
}
