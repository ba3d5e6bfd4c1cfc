//! Enterprise registration, credit-code validation, members and tenant isolation.

use actix_web::http::Method;
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, assert_invisible, credit_code, spawn_app, unique_email};

backend_tests!(
    registration_creates_enterprise_and_admin,
    credit_codes_are_checked,
    duplicate_credit_code_is_409,
    industry_and_region_are_validated,
    enterprise_admin_adds_members,
    enterprises_are_invisible_to_other_tenants,
);

async fn registration_creates_enterprise_and_admin(b: Backend) {
    let app = spawn_app(b).await;
    let body = app.registration();
    let res = app.post("/api/v1/enterprises", None, &body).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let e = res.json();
    assert_eq!(e["credit_code"], body["credit_code"]);
    assert_eq!(e["name"], "杭州放心食品有限公司");
    assert_eq!(e["industry_code"], "C1491");
    assert_eq!(e["size"], "small");
    let id = e["id"].as_i64().unwrap();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/enterprises/{id}"))
    );

    let token = app
        .token(body["admin_email"].as_str().unwrap(), PASSWORD)
        .await;
    let me = app.get("/api/v1/me", Some(&token)).await.json();
    assert_eq!(me["role"], "enterprise_admin");
    assert_eq!(me["enterprise_id"], id);
    assert_eq!(me["enterprise"]["credit_code"], body["credit_code"]);
    assert!(me.get("password_hash").is_none());

    let got = app
        .get(&format!("/api/v1/enterprises/{id}"), Some(&token))
        .await;
    assert_eq!(got.json()["id"], id);
}

async fn credit_codes_are_checked(b: Backend) {
    let app = spawn_app(b).await;
    let valid = credit_code();
    // Every single-character substitution is caught, and the field is named.
    let alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    for pos in [0, 5, 9, 16, 17] {
        let mut chars: Vec<char> = valid.chars().collect();
        let old = chars[pos];
        chars[pos] = alphabet.chars().find(|c| *c != old).unwrap();
        let mutated: String = chars.into_iter().collect();
        let mut body = app.registration();
        body["credit_code"] = json!(mutated);
        let res = app.post("/api/v1/enterprises", None, &body).await;
        assert_eq!(res.invalid_fields(), ["credit_code"], "{mutated}");
    }
    for bad in ["", "123", "91350100M000100YO3", "91350100M000100Y43X"] {
        let mut body = app.registration();
        body["credit_code"] = json!(bad);
        let res = app.post("/api/v1/enterprises", None, &body).await;
        assert_eq!(res.invalid_fields(), ["credit_code"], "{bad}");
    }
    // Lower case is accepted and stored upper case.
    let mut body = app.registration();
    body["credit_code"] = json!(valid.to_lowercase());
    let res = app.post("/api/v1/enterprises", None, &body).await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["credit_code"], valid);
}

async fn duplicate_credit_code_is_409(b: Backend) {
    let app = spawn_app(b).await;
    let first = app.registration();
    assert_eq!(
        app.post("/api/v1/enterprises", None, &first).await.status,
        201
    );
    let mut second = app.registration();
    second["credit_code"] = first["credit_code"].clone();
    let res = app.post("/api/v1/enterprises", None, &second).await;
    res.problem(409, "already_exists");
    // Nothing of the refused registration remains: its admin cannot log in.
    app.login(second["admin_email"].as_str().unwrap(), PASSWORD)
        .await
        .problem(401, "invalid_credentials");
    let admin = app.admin_token().await;
    let list = app.get("/api/v1/enterprises", Some(&admin)).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // A taken admin e-mail is a conflict too.
    let mut third = app.registration();
    third["admin_email"] = first["admin_email"].clone();
    app.post("/api/v1/enterprises", None, &third)
        .await
        .problem(409, "already_exists");
}

async fn industry_and_region_are_validated(b: Backend) {
    let app = spawn_app(b).await;
    for (field, value) in [
        ("industry_code", "Z99"),
        ("industry_code", "C12"),
        ("industry_code", "K7"),
        ("region_code", "990106"),
        ("region_code", "3301"),
        ("contact_email", "not-an-address"),
        ("admin_password", "too short"),
        ("name", "   "),
    ] {
        let mut body = app.registration();
        body[field] = json!(value);
        let res = app.post("/api/v1/enterprises", None, &body).await;
        assert_eq!(res.invalid_fields(), [field], "{field}={value}");
    }
    // A valid division or section is not enough: profiles are chosen by class, and the answer
    // says so.
    for coarse in ["C38", "C381", "F"] {
        let mut body = app.registration();
        body["industry_code"] = json!(coarse);
        let p = app
            .post("/api/v1/enterprises", None, &body)
            .await
            .problem(422, "validation_failed");
        assert_eq!(p["errors"][0]["field"], "industry_code");
        let message = p["errors"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("class code") && message.contains("C3811"),
            "{message}"
        );
    }
    // Several bad fields are all reported at once.
    let mut body = app.registration();
    body["industry_code"] = json!("Z");
    body["region_code"] = json!("x");
    assert_eq!(
        app.post("/api/v1/enterprises", None, &body)
            .await
            .invalid_fields(),
        ["industry_code", "region_code"]
    );
}

async fn enterprise_admin_adds_members(b: Backend) {
    let app = spawn_app(b).await;
    let a = app.enterprise().await;
    let email = unique_email("member");
    let path = format!("/api/v1/enterprises/{}/users", a.id);
    let res = app
        .post(
            &path,
            Some(&a.token),
            &json!({ "email": email, "password": PASSWORD, "display_name": "王小明" }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["role"], "enterprise_member");
    assert_eq!(res.json()["enterprise_id"], a.id);

    let member = app.token(&email, PASSWORD).await;
    // Members cannot add users.
    app.post(
        &path,
        Some(&member),
        &json!({ "email": unique_email("m2"), "password": PASSWORD }),
    )
    .await
    .problem(403, "forbidden");
    // A weak password or bad e-mail is named.
    let res = app
        .post(
            &path,
            Some(&a.token),
            &json!({ "email": "nope", "password": "short" }),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["email", "password"]);
    // The member list shows both users.
    let users = app.get(&path, Some(&member)).await.json();
    assert_eq!(users["items"].as_array().unwrap().len(), 2);
}

async fn enterprises_are_invisible_to_other_tenants(b: Backend) {
    let app = spawn_app(b).await;
    let a = app.enterprise().await;
    let b_ent = app.enterprise().await;
    let missing = 9_999_999;
    for (method, suffix) in [(Method::GET, ""), (Method::GET, "/users")] {
        assert_invisible(
            &app,
            &b_ent.token,
            method,
            &format!("/api/v1/enterprises/{}{suffix}", a.id),
            &format!("/api/v1/enterprises/{missing}{suffix}"),
        )
        .await;
    }
    // Adding a user to another tenant's enterprise is the same 404, and nothing is created.
    let res = app
        .post(
            &format!("/api/v1/enterprises/{}/users", a.id),
            Some(&b_ent.token),
            &json!({ "email": unique_email("intruder"), "password": PASSWORD }),
        )
        .await;
    res.problem(404, "not_found");
    let users = app
        .get(
            &format!("/api/v1/enterprises/{}/users", a.id),
            Some(&a.token),
        )
        .await
        .json();
    assert_eq!(users["items"].as_array().unwrap().len(), 1);
    // A user of A is invisible to B's admin too.
    let a_users = app
        .get(
            &format!("/api/v1/enterprises/{}/users", a.id),
            Some(&a.token),
        )
        .await
        .json();
    let a_admin_id = a_users["items"][0]["id"].as_i64().unwrap();
    assert_invisible(
        &app,
        &b_ent.token,
        Method::GET,
        &format!("/api/v1/users/{a_admin_id}"),
        &format!("/api/v1/users/{missing}"),
    )
    .await;
}
