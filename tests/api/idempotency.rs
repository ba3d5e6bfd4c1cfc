//! `Idempotency-Key` on every creating request: a retry with the same key and request is
//! answered with the first response and creates nothing; the same key with another request is
//! 422; keys are their sender's own. (Evidence uploads, approvals and webhooks have their own
//! tests beside their features.)

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::{Backend, Client, PASSWORD, Resp, spawn_app, unique_email};

backend_tests!(
    every_creating_request_replays_a_retry,
    a_registration_retry_proves_itself_with_its_password,
    parallel_registrations_with_one_key_register_once,
    keys_are_their_senders_own,
);

/// POSTs `body` as JSON with `key`.
async fn keyed(app: &Client, path: &str, token: Option<&str>, key: &str, body: &Value) -> Resp {
    let bytes = serde_json::to_vec(body).unwrap();
    app.request(
        Method::POST,
        path,
        token,
        Some(("application/json", bytes)),
        &[("Idempotency-Key", key)],
    )
    .await
}

/// Sends the request twice with one key: the second answer is the first, marked replayed,
/// with the same status, body, `Location` and `ETag`. Returns the first answer's body.
async fn sent_twice(
    app: &Client,
    path: &str,
    token: Option<&str>,
    key: &str,
    body: &Value,
) -> Value {
    let first = keyed(app, path, token, key, body).await;
    assert!(
        first.status < 300,
        "{path}: {} {}",
        first.status,
        first.text()
    );
    assert!(first.header("idempotent-replayed").is_none(), "{path}");
    let again = keyed(app, path, token, key, body).await;
    assert_eq!(again.status, first.status, "{path}: {}", again.text());
    assert_eq!(
        again.header("idempotent-replayed").as_deref(),
        Some("true"),
        "{path}"
    );
    assert_eq!(again.json(), first.json(), "{path}");
    for h in ["location", "etag"] {
        assert_eq!(again.header(h), first.header(h), "{path}: {h}");
    }
    first.json()
}

/// The same key with a different request: 422 naming the header.
async fn refused(app: &Client, path: &str, token: Option<&str>, key: &str, body: &Value) {
    let res = keyed(app, path, token, key, body).await;
    let problem = res.problem(422, "idempotency_key_reused");
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key", "{path}");
}

async fn count(app: &Client, path: &str, token: &str) -> usize {
    let res = app.get(path, Some(token)).await;
    assert_eq!(res.status, 200, "{path}: {}", res.text());
    let body = res.json();
    body.get("items")
        .unwrap_or(&body)
        .as_array()
        .map_or(0, Vec::len)
}

async fn every_creating_request_replays_a_retry(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;

    // Registration (no login).
    let registration = app.registration();
    let made = sent_twice(&app, "/api/v1/enterprises", None, "reg-1", &registration).await;
    let enterprise_id = made["id"].as_i64().unwrap();
    let mut other = registration.clone();
    other["name"] = json!("另一家公司");
    refused(&app, "/api/v1/enterprises", None, "reg-1", &other).await;
    assert_eq!(count(&app, "/api/v1/enterprises", &admin).await, 1);
    let boss = app
        .token(registration["admin_email"].as_str().unwrap(), PASSWORD)
        .await;

    // A member added by the enterprise's administrator.
    let members = format!("/api/v1/enterprises/{enterprise_id}/users");
    let member = json!({ "email": unique_email("member"), "password": PASSWORD });
    let made = sent_twice(&app, &members, Some(&boss), "member-1", &member).await;
    assert_eq!(made["role"], "enterprise_member");
    let other = json!({ "email": unique_email("member"), "password": PASSWORD });
    refused(&app, &members, Some(&boss), "member-1", &other).await;
    assert_eq!(count(&app, &members, &boss).await, 2);

    // A staff account.
    let reviewer =
        json!({ "email": unique_email("reviewer"), "password": PASSWORD, "role": "reviewer" });
    let made = sent_twice(&app, "/api/v1/users", Some(&admin), "staff-1", &reviewer).await;
    assert_eq!(made["role"], "reviewer");
    let mut other = reviewer.clone();
    other["region_scope"] = json!("33");
    refused(&app, "/api/v1/users", Some(&admin), "staff-1", &other).await;
    let reviewers = count(&app, "/api/v1/users?role=reviewer", &admin).await;
    assert_eq!(reviewers, 1);

    // A submission, with its ETag.
    let start = json!({ "schema_id": "cca-good-enterprise", "version": "2024" });
    let made = sent_twice(&app, "/api/v1/submissions", Some(&boss), "sub-1", &start).await;
    assert_eq!(made["status"], "draft");
    let older = json!({ "schema_id": "cca-good-enterprise", "version": "2014" });
    refused(&app, "/api/v1/submissions", Some(&boss), "sub-1", &older).await;
    assert_eq!(count(&app, "/api/v1/submissions", &boss).await, 1);

    // A draft schema version.
    let versions = "/api/v1/schemas/cca-good-enterprise/versions";
    let doc = crate::schemas::draft_2025(&app, &admin).await;
    let made = sent_twice(&app, versions, Some(&admin), "draft-1", &doc).await;
    assert_eq!(made["version"], "2025");
    let mut other = doc.clone();
    other["effective_date"] = json!("2025-04-01");
    refused(&app, versions, Some(&admin), "draft-1", &other).await;

    // An audit checkpoint: the retry names the checkpoint the first request signed, although
    // the log has grown since.
    let checkpoints = "/api/v1/audit/checkpoints";
    let made = sent_twice(&app, checkpoints, Some(&admin), "cp-1", &json!({})).await;
    let fresh = keyed(&app, checkpoints, Some(&admin), "cp-2", &json!({})).await;
    assert_eq!(fresh.status, 200, "{}", fresh.text());
    assert_ne!(fresh.json()["checkpoint"], made["checkpoint"]);

    // The document declares the key on each of them.
    let doc = app.get("/openapi.json", None).await.json();
    for (path, operation) in [
        ("/api/v1/enterprises", "post"),
        ("/api/v1/enterprises/{id}/users", "post"),
        ("/api/v1/users", "post"),
        ("/api/v1/submissions", "post"),
        ("/api/v1/schemas/{id}/versions", "post"),
        ("/api/v1/audit/checkpoints", "post"),
    ] {
        let params = doc["paths"][path][operation]["parameters"].as_array();
        let declared = params
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header");
        assert!(
            declared,
            "{operation} {path} does not declare Idempotency-Key"
        );
    }
}

/// A registration names no user before it exists; a retry is recognised by its request and
/// must carry the password the first set (otherwise 422, and nothing about the first is told).
async fn a_registration_retry_proves_itself_with_its_password(b: Backend) {
    let app = spawn_app(b).await;
    let registration = app.registration();
    let first = keyed(&app, "/api/v1/enterprises", None, "reg", &registration).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let mut guess = registration.clone();
    guess["admin_password"] = json!("another password of length");
    let res = keyed(&app, "/api/v1/enterprises", None, "reg", &guess).await;
    res.problem(422, "idempotency_key_reused");
    assert!(
        !res.text()
            .contains(&registration["credit_code"].to_string())
    );
    // Without the key, the retry is the plain conflict it always was.
    app.post("/api/v1/enterprises", None, &registration)
        .await
        .problem(409, "already_exists");
    let again = keyed(&app, "/api/v1/enterprises", None, "reg", &registration).await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.json(), first.json());
}

/// Four registrations sent at once with one key (a client retrying over a slow link): one
/// enterprise is registered and every answer is its.
async fn parallel_registrations_with_one_key_register_once(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let registration = app.registration();
    let sends = (0..4).map(|_| keyed(&app, "/api/v1/enterprises", None, "once", &registration));
    let answers = futures_util::future::join_all(sends).await;
    let ids: Vec<Value> = answers
        .iter()
        .map(|r| {
            assert_eq!(r.status, 201, "{}", r.text());
            r.json()["id"].clone()
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let replayed = answers
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_some())
        .count();
    assert_eq!(replayed, 3);
    assert_eq!(count(&app, "/api/v1/enterprises", &admin).await, 1);
}

/// One user's key never replays another user's response: two members of one enterprise using
/// the same key each start their own submission.
async fn keys_are_their_senders_own(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let member = app.member_token(&e).await;
    let start = json!({ "schema_id": "cca-good-enterprise", "version": "2024" });
    let a = keyed(&app, "/api/v1/submissions", Some(&e.token), "k", &start).await;
    let b2 = keyed(&app, "/api/v1/submissions", Some(&member), "k", &start).await;
    assert_eq!((a.status, b2.status), (201, 201), "{}", b2.text());
    assert!(b2.header("idempotent-replayed").is_none());
    assert_ne!(a.json()["id"], b2.json()["id"]);
    // A discarded draft's key is forgotten with it: a retry starts a new draft.
    let id = a.json()["id"].as_i64().unwrap();
    let etag = a.header("etag").unwrap();
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/submissions/{id}"),
            Some(&e.token),
            None,
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text());
    let again = keyed(&app, "/api/v1/submissions", Some(&e.token), "k", &start).await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert!(again.header("idempotent-replayed").is_none());
    assert_ne!(again.json()["id"], json!(id));
}
