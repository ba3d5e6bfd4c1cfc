//! Staff accounts created by administrators, and role checks.

use actix_web::http::Method;
use serde_json::json;

use crate::helpers::{ADMIN_EMAIL, Backend, PASSWORD, spawn_app, unique_email};

backend_tests!(
    first_admin_exists,
    admin_creates_reviewers_and_industry_bodies,
    staff_accounts_are_validated,
    roles_are_enforced,
);

async fn first_admin_exists(b: Backend) {
    let app = spawn_app(b).await;
    let token = app.admin_token().await;
    let me = app.get("/api/v1/me", Some(&token)).await.json();
    assert_eq!(me["role"], "admin");
    assert_eq!(me["email"], ADMIN_EMAIL);
    assert!(me["enterprise"].is_null());
}

async fn admin_creates_reviewers_and_industry_bodies(b: Backend) {
    let app = spawn_app(b).await;
    let (_, reviewer) = app.staff("reviewer", json!({ "region_scope": "33" })).await;
    let me = app.get("/api/v1/me", Some(&reviewer)).await.json();
    assert_eq!(me["role"], "reviewer");
    assert_eq!(me["region_scope"], "33");

    let (_, national) = app.staff("reviewer", json!({})).await;
    assert!(app.get("/api/v1/me", Some(&national)).await.json()["region_scope"].is_null());

    let (id, body) = app
        .staff(
            "industry_body",
            json!({ "industry_scopes": ["c13", "C14"] }),
        )
        .await;
    let me = app.get("/api/v1/me", Some(&body)).await.json();
    assert_eq!(me["industry_scopes"], json!(["C13", "C14"]));

    let admin = app.admin_token().await;
    let list = app
        .get("/api/v1/users?role=industry_body", Some(&admin))
        .await
        .json();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], id);
    // Paging: one at a time, following the `Link: rel="next"` header, meets every user once,
    // in order; the last page has no next cursor and no link.
    let all: Vec<i64> = app
        .get("/api/v1/users?limit=200", Some(&admin))
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert!(all.len() >= 2, "{all:?}");
    let mut walked = Vec::new();
    let mut next = Some("/api/v1/users?limit=1".to_owned());
    while let Some(page) = next.take() {
        let res = app.get(&page, Some(&admin)).await;
        let body = res.json();
        walked.extend(
            body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["id"].as_i64().unwrap()),
        );
        let link = res.header("link");
        assert_eq!(
            link.is_some(),
            body["next_cursor"].is_string(),
            "{body} {link:?}"
        );
        next = link.map(|l| {
            let target = l
                .strip_prefix('<')
                .and_then(|l| l.split_once(">; rel=\"next\""))
                .unwrap()
                .0;
            assert!(target.contains(&format!("cursor={}", body["next_cursor"].as_str().unwrap())));
            assert!(target.contains("limit=1"), "{target}");
            target.to_owned()
        });
        assert!(walked.len() <= all.len(), "{walked:?}");
    }
    assert_eq!(walked, all);
    // The old parameter, and cursors not handed out, are refused, naming the parameter.
    let p = app
        .get("/api/v1/users?after=1", Some(&admin))
        .await
        .problem(400, "malformed_request");
    assert!(p["detail"].as_str().unwrap().contains("`after`"), "{p}");
    app.get("/api/v1/users?cursor=123", Some(&admin))
        .await
        .invalid_fields();
}

async fn staff_accounts_are_validated(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let cases = [
        (json!({ "role": "industry_body" }), "industry_scopes"),
        (
            json!({ "role": "industry_body", "industry_scopes": ["Z1"] }),
            "industry_scopes[0]",
        ),
        (
            json!({ "role": "reviewer", "industry_scopes": ["C13"] }),
            "industry_scopes",
        ),
        (
            json!({ "role": "reviewer", "region_scope": "99" }),
            "region_scope",
        ),
        (
            json!({ "role": "admin", "region_scope": "33" }),
            "region_scope",
        ),
        (json!({ "role": "enterprise_admin" }), "role"),
        (
            json!({ "role": "reviewer", "password": "short" }),
            "password",
        ),
        (json!({ "role": "superuser" }), "role"),
    ];
    for (extra, field) in cases {
        let mut body = json!({ "email": unique_email("s"), "password": PASSWORD });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let res = app.post("/api/v1/users", Some(&admin), &body).await;
        assert_eq!(res.invalid_fields(), [field], "{body}");
    }
    // Duplicate e-mail, whatever its case.
    let email = unique_email("dup");
    let body = json!({ "email": email, "password": PASSWORD, "role": "reviewer" });
    assert_eq!(
        app.post("/api/v1/users", Some(&admin), &body).await.status,
        201
    );
    let body = json!({ "email": email.to_uppercase(), "password": PASSWORD, "role": "admin" });
    app.post("/api/v1/users", Some(&admin), &body)
        .await
        .problem(409, "already_exists");
}

async fn roles_are_enforced(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    let (_, body) = app
        .staff("industry_body", json!({ "industry_scopes": ["C13"] }))
        .await;
    let new_user = json!({ "email": unique_email("x"), "password": PASSWORD, "role": "admin" });
    for token in [&e.token, &reviewer, &body] {
        app.post("/api/v1/users", Some(token), &new_user)
            .await
            .problem(403, "forbidden");
        app.get("/api/v1/users", Some(token))
            .await
            .problem(403, "forbidden");
        app.get("/api/v1/enterprises", Some(token))
            .await
            .problem(403, "forbidden");
    }
    // Reviewers never add users to enterprises: refused for the role, whatever the enterprise.
    app.post(
        &format!("/api/v1/enterprises/{}/users", e.id),
        Some(&reviewer),
        &json!({ "email": unique_email("y"), "password": PASSWORD }),
    )
    .await
    .problem(403, "forbidden");
    // Without a token, authenticated routes are 401.
    for (method, path) in [
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/api/v1/users"),
        (Method::GET, "/api/v1/enterprises"),
        (Method::GET, "/api/v1/users/1"),
    ] {
        app.request(method, path, None, None, &[])
            .await
            .problem(401, "missing_token");
    }
    // Users can read themselves.
    let me = app.get("/api/v1/me", Some(&reviewer)).await.json();
    let own = app
        .get(&format!("/api/v1/users/{}", me["id"]), Some(&reviewer))
        .await;
    assert_eq!(own.status, 200);
}
