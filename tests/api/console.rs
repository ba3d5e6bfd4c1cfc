//! The web console over HTTP — sessions, cookies, CSRF and `Origin` checks, timeouts, roles —
//! and in a real browser: `tests/console/flow.mjs` (Playwright on Debian's Chromium, axe-core)
//! drives a reviewer from login to a four-eyes certificate. `.ci/run` installs the npm packages
//! and sets `CSR_REQUIRE_BROWSER=1`, so there the browser test fails rather than skips.

use std::path::Path;

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, PASSWORD, Resp, TestApp, spawn_app, spawn_app_with,
    submitted, unique_email,
};

backend_tests!(
    sessions_are_cookies_the_browser_cannot_read,
    forms_need_the_token_and_the_origin,
    sessions_end_when_idle_revoked_or_the_password_changes,
    pages_check_the_role_and_the_reach,
    sessions_end_at_expiry_on_disabling_and_on_a_new_login,
    the_licence_is_checked_from_the_review_page,
    a_reviewer_reaches_a_certificate_in_a_browser,
    complaints_are_handled_in_the_console,
);

fn origin(app: &TestApp) -> String {
    app.base.clone()
}

/// Signs in through the console's form; returns the `Cookie` header value.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> String {
    let res = form(
        app,
        "/console/login",
        None,
        &[("email", email), ("password", password)],
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let set = res.header("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap().to_owned()
}

/// POSTs a URL-encoded form from the console's own origin.
async fn form(app: &TestApp, path: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Resp {
    let body = serde_urlencoded::to_string(fields).unwrap().into_bytes();
    let origin = origin(app);
    let mut headers = vec![("Origin", origin.as_str())];
    if let Some(c) = cookie {
        headers.push(("Cookie", c));
    }
    app.request(
        Method::POST,
        path,
        None,
        Some(("application/x-www-form-urlencoded", body)),
        &headers,
    )
    .await
}

async fn page(app: &TestApp, path: &str, cookie: &str) -> Resp {
    app.request(Method::GET, path, None, None, &[("Cookie", cookie)])
        .await
}

/// The CSRF token in a page's forms.
fn csrf(res: &Resp) -> String {
    let text = res.text();
    let at = text
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &text[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

async fn sessions_are_cookies_the_browser_cannot_read(b: Backend) {
    let app = spawn_app(b).await;
    // Signed out, a page sends to the login form and back.
    let res = app.get("/console/reviews?industry=C14", None).await;
    assert_eq!(res.status, 303);
    assert_eq!(
        res.header("location").as_deref(),
        Some("/console/login?next=%2Fconsole%2Freviews%3Findustry%3DC14")
    );
    let login = app.get("/console/login", None).await;
    assert_eq!(login.status, 200);
    let policy = login.header("content-security-policy").unwrap();
    assert!(
        policy.contains("script-src 'self'") && !policy.contains("unsafe"),
        "{policy}"
    );
    // The cookie: HttpOnly, SameSite=Strict, the whole host; the answer is not stored.
    let res = form(
        &app,
        "/console/login",
        None,
        &[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("next", "//evil.example/"),
        ],
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.text());
    assert_eq!(
        res.header("location").as_deref(),
        Some("/console/"),
        "no open redirect"
    );
    let cookie = res.header("set-cookie").unwrap();
    for part in ["csr_console=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http here: {cookie}");
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let home = page(&app, "/console/", &cookie).await;
    assert_eq!(home.status, 200);
    assert_eq!(home.header("cache-control").as_deref(), Some("no-store"));
    // The token is stored only as its digest.
    let token = cookie.split('=').nth(1).unwrap().to_owned();
    let stored: Vec<String> = app
        .state
        .db
        .read(|conn| {
            use csr_assess::db::schema::console_sessions::dsl::*;
            use diesel::prelude::*;
            Ok(console_sessions.select(token_hash).load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], token);
    // A wrong password: the same throttled, audited check as the API's login.
    let res = form(
        &app,
        "/console/login",
        None,
        &[("email", ADMIN_EMAIL), ("password", "wrong-password-1")],
    )
    .await;
    assert_eq!(res.status, 401);
    assert!(
        res.text().contains(ADMIN_EMAIL),
        "the e-mail stays in the form"
    );
    assert!(res.header("set-cookie").is_none());

    // Behind https, the cookie is Secure and carries the __Host- prefix.
    let https = spawn_app_with(b, |s| s.public_url = Some("https://csr.example.org".into())).await;
    let body = serde_urlencoded::to_string([("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .unwrap();
    let res = https
        .request(
            Method::POST,
            "/console/login",
            None,
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
            &[("Origin", "https://csr.example.org")],
        )
        .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let cookie = res.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("__Host-csr_console=") && cookie.contains("Secure"),
        "{cookie}"
    );
    assert_eq!(
        res.header("strict-transport-security").as_deref(),
        Some("max-age=31536000")
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();
    assert_eq!(page(&https, "/console/", &cookie).await.status, 200);

    // `/console` goes home; the language switch stays inside the console.
    let res = app.get("/console", None).await;
    assert_eq!(
        (res.status, res.header("location").as_deref()),
        (303, Some("/console/"))
    );
    for (next, to) in [
        ("/console/sessions", "/console/sessions"),
        ("//evil.example/", "/console/"),
        ("https://evil.example/", "/console/"),
    ] {
        let q = serde_urlencoded::to_string([("next", next)]).unwrap();
        let res = app.get(&format!("/console/lang/en?{q}"), None).await;
        assert_eq!(res.status, 303);
        assert_eq!(res.header("location").as_deref(), Some(to), "{next}");
        assert!(res.header("set-cookie").unwrap().starts_with("csr_lang=en"));
    }
}

async fn sessions_end_at_expiry_on_disabling_and_on_a_new_login(b: Backend) {
    let app = spawn_app(b).await;
    let admin = app.admin_token().await;
    let email = unique_email("rev");
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({ "email": email, "password": PASSWORD, "role": "reviewer" }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let reviewer_id = res.json()["id"].as_i64().unwrap();
    // Past its absolute expiry a session ends, however busy.
    let busy = sign_in(&app, &email, PASSWORD).await;
    assert_eq!(page(&app, "/console/", &busy).await.status, 200);
    app.state
        .db
        .write(|conn| {
            use csr_assess::db::schema::console_sessions::dsl::*;
            use diesel::prelude::*;
            let past = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1);
            diesel::update(console_sessions)
                .set(expires_at.eq(past))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(page(&app, "/console/", &busy).await.status, 303);
    // A new login in the same browser ends the session it held.
    let first = sign_in(&app, &email, PASSWORD).await;
    let body =
        serde_urlencoded::to_string([("email", email.as_str()), ("password", PASSWORD)]).unwrap();
    let origin = app.base.clone();
    let res = app
        .request(
            Method::POST,
            "/console/login",
            None,
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
            &[("Origin", origin.as_str()), ("Cookie", first.as_str())],
        )
        .await;
    assert_eq!(res.status, 303);
    let set = res.header("set-cookie").unwrap();
    let second = set.split(';').next().unwrap().to_owned();
    assert_eq!(page(&app, "/console/", &first).await.status, 303);
    assert_eq!(page(&app, "/console/", &second).await.status, 200);
    // Someone else's session cannot be ended by its id.
    let admin_cookie = sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let admin_token = csrf(&page(&app, "/console/sessions", &admin_cookie).await);
    let list = page(&app, "/console/sessions", &second).await.text();
    let at = list.find("/console/sessions/").unwrap() + "/console/sessions/".len();
    let theirs = &list[at..at + list[at..].find('/').unwrap()];
    let res = form(
        &app,
        &format!("/console/sessions/{theirs}/revoke"),
        Some(&admin_cookie),
        &[("csrf", &admin_token)],
    )
    .await;
    assert_eq!(res.status, 404);
    assert_eq!(page(&app, "/console/", &second).await.status, 200);
    // Disabling the account ends its console sessions at once.
    let res = app
        .post(
            &format!("/api/v1/users/{reviewer_id}/disable"),
            Some(&admin),
            &json!({ "reason": "离职" }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(page(&app, "/console/", &second).await.status, 303);
}

async fn forms_need_the_token_and_the_origin(b: Backend) {
    let app = spawn_app(b).await;
    let cookie = sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let sessions = page(&app, "/console/sessions", &cookie).await;
    let token = csrf(&sessions);
    // Another site's form: refused by its Origin, whatever it carries.
    for bad_origin in [None, Some("https://evil.example"), Some("null")] {
        let mut headers = vec![("Cookie", cookie.as_str())];
        if let Some(o) = bad_origin {
            headers.push(("Origin", o));
        }
        let body = format!("csrf={token}").into_bytes();
        let res = app
            .request(
                Method::POST,
                "/console/logout",
                None,
                Some(("application/x-www-form-urlencoded", body)),
                &headers,
            )
            .await;
        assert_eq!(res.status, 403, "{bad_origin:?}");
    }
    // Percent-encoded paths reach the same checks: no session, no page; no origin, no form.
    let res = app.get("/%63onsole/reviews", None).await;
    assert_eq!(res.status, 303, "{}", res.text());
    for path in ["/%63onsole/logout", "/console/%6Cogout"] {
        let body = format!("csrf={token}").into_bytes();
        let res = app
            .request(
                Method::POST,
                path,
                None,
                Some(("application/x-www-form-urlencoded", body)),
                &[
                    ("Cookie", cookie.as_str()),
                    ("Origin", "https://evil.example"),
                ],
            )
            .await;
        assert_eq!(res.status, 403, "{path}");
    }
    // Our origin without the token, or with another session's: refused.
    let other = sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let other_token = csrf(&page(&app, "/console/sessions", &other).await);
    for fields in [
        vec![],
        vec![("csrf", other_token.as_str())],
        vec![("csrf", "")],
    ] {
        let res = form(&app, "/console/logout", Some(&cookie), &fields).await;
        assert_eq!(res.status, 403, "{fields:?}");
        assert!(res.header("content-type").unwrap().starts_with("text/html"));
    }
    assert_eq!(
        page(&app, "/console/", &cookie).await.status,
        200,
        "still signed in"
    );
    // Logging in from another site is refused too (login CSRF).
    let body = serde_urlencoded::to_string([("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .unwrap();
    let res = app
        .request(
            Method::POST,
            "/console/login",
            None,
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_eq!(res.status, 403);
    // With both, logout ends the session wherever its cookie is used.
    let res = form(&app, "/console/logout", Some(&cookie), &[("csrf", &token)]).await;
    assert_eq!(res.status, 303);
    assert!(res.header("set-cookie").unwrap().contains("csr_console=;"));
    assert_eq!(page(&app, "/console/", &cookie).await.status, 303);
    assert_eq!(
        page(&app, "/console/", &other).await.status,
        200,
        "other sessions stay"
    );
}

async fn sessions_end_when_idle_revoked_or_the_password_changes(b: Backend) {
    let app = spawn_app_with(b, |s| s.console_idle_secs = 2).await;
    let a = sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    // Idle past the timeout: gone.
    actix_rt::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(page(&app, "/console/", &a).await.status, 303);
    // One session ends another from the sessions page.
    let first = sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let second = sign_in(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let list = page(&app, "/console/sessions", &second).await;
    let text = list.text();
    let ids: Vec<&str> = text
        .match_indices("/console/sessions/")
        .map(|(i, _)| &text[i + 18..i + 18 + text[i + 18..].find('/').unwrap()])
        .collect();
    assert!(ids.len() >= 2, "{text}");
    let token = csrf(&list);
    // The older of the two live ones (the list is newest first).
    let res = form(
        &app,
        &format!("/console/sessions/{}/revoke", ids[1]),
        Some(&second),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(res.status, 303);
    assert_eq!(page(&app, "/console/", &first).await.status, 303);
    assert_eq!(page(&app, "/console/", &second).await.status, 200);
    // A password change through the API ends console sessions too.
    let api = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/auth/password",
            Some(&api),
            &json!({ "current_password": ADMIN_PASSWORD, "new_password": "a brand new passphrase 42" }),
        )
        .await;
    assert!(res.status < 300, "{}", res.text());
    assert_eq!(page(&app, "/console/", &second).await.status, 303);
}

async fn pages_check_the_role_and_the_reach(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let id = submitted(&app, &e, "C1491", 3).await;
    // An enterprise user signs in but is no reviewer.
    let ent = sign_in(&app, &e.admin_email, PASSWORD).await;
    let res = page(&app, "/console/reviews", &ent).await;
    assert_eq!(res.status, 403);
    assert!(res.header("content-type").unwrap().starts_with("text/html"));
    assert_eq!(
        page(&app, &format!("/console/reviews/{id}"), &ent)
            .await
            .status,
        404
    );
    // A reviewer of another region sees neither the submission in the queue nor its page.
    let email = unique_email("far");
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({ "email": email, "password": PASSWORD, "role": "reviewer", "region_scope": "11" }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let far = sign_in(&app, &email, PASSWORD).await;
    let queue = page(&app, "/console/reviews", &far).await;
    assert_eq!(queue.status, 200);
    assert!(
        !queue
            .text()
            .contains(&format!("/console/reviews/{id}/claim"))
    );
    assert_eq!(
        page(&app, &format!("/console/reviews/{id}"), &far)
            .await
            .status,
        404
    );
    assert_eq!(
        page(&app, &format!("/console/submissions/{id}/evidence/1"), &far)
            .await
            .status,
        404
    );
    // A bad filter is named beside its field; the page still answers.
    let res = page(&app, "/console/reviews?min_age_days=-3&industry=Z99", &far).await;
    assert_eq!(res.status, 422);
    let text = res.text();
    assert!(
        text.contains("id=\"e-age\"") && text.contains("id=\"e-industry\""),
        "{text}"
    );
    assert!(text.contains("value=\"Z99\""), "the typed filter stays");
    // Another enterprise's self-assessment and report are missing, not forbidden.
    let other = app.enterprise().await;
    let theirs = sign_in(&app, &other.admin_email, PASSWORD).await;
    for path in [
        format!("/console/submissions/{id}"),
        format!("/console/submissions/{id}/report.pdf"),
    ] {
        assert_eq!(page(&app, &path, &theirs).await.status, 404, "{path}");
    }
    assert_eq!(
        page(&app, &format!("/console/submissions/{id}"), &ent)
            .await
            .status,
        200
    );
    // Charts are drawn in the console's language and run nothing when opened directly.
    let chart = page(&app, "/console/statistics/funnel.svg", &far).await;
    assert_eq!(chart.status, 200);
    assert_eq!(
        chart.header("content-type").as_deref(),
        Some("image/svg+xml")
    );
    assert!(
        chart
            .header("content-security-policy")
            .unwrap()
            .contains("sandbox")
    );
    assert!(chart.text().contains("采用情况"), "{}", chart.text());
    let english = format!("{far}; csr_lang=en");
    let chart = page(&app, "/console/statistics/funnel.svg", &english).await;
    assert!(chart.text().contains("Adoption funnel"), "{}", chart.text());
    assert_eq!(
        page(&app, "/console/statistics/nothing.svg", &far)
            .await
            .status,
        404
    );
    // Unknown console paths are 404, like the API's.
    assert_eq!(page(&app, "/console/nothing-here", &far).await.status, 404);
}

async fn the_licence_is_checked_from_the_review_page(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let id = crate::helpers::submitted_unverified(&app, &e, "C1491", 3).await;
    let email = unique_email("rev");
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({ "email": email, "password": PASSWORD, "role": "reviewer" }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let cookie = sign_in(&app, &email, PASSWORD).await;
    let queue = page(&app, "/console/reviews", &cookie).await;
    let token = csrf(&queue);
    let res = form(
        &app,
        &format!("/console/reviews/{id}/claim"),
        Some(&cookie),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let review = page(&app, &format!("/console/reviews/{id}"), &cookie).await;
    let text = review.text();
    assert!(
        text.contains("id=\"licence-file\""),
        "the licence form is offered"
    );
    let licence = format!("/console/reviews/{id}/licence/{}", e.id);
    // No file chosen: named beside the field.
    let res = form(
        &app,
        &licence,
        Some(&cookie),
        &[("csrf", &token), ("evidence_id", "")],
    )
    .await;
    assert_eq!(res.status, 422);
    assert!(res.text().contains("id=\"e-licence\""));
    let files = app
        .get(
            &format!("/api/v1/submissions/{id}/evidence"),
            Some(&e.token),
        )
        .await
        .json();
    let file = files["items"][0]["id"].to_string();
    let res = form(
        &app,
        &licence,
        Some(&cookie),
        &[
            ("csrf", &token),
            ("evidence_id", &file),
            ("note", "营业执照与信用代码一致"),
        ],
    )
    .await;
    assert_eq!(res.status, 303, "{}", res.text());
    let enterprise = app
        .get(&format!("/api/v1/enterprises/{}", e.id), Some(&e.token))
        .await
        .json();
    assert!(enterprise["verified_at"].is_string(), "{enterprise}");
    let review = page(&app, &format!("/console/reviews/{id}"), &cookie).await;
    assert!(
        !review.text().contains("id=\"licence-file\""),
        "checked: the form is gone"
    );
    // A certificate change without a reason is refused beside the field (no certificate here:
    // the number is unknown, so 404).
    let res = form(
        &app,
        &format!("/console/reviews/{id}/certificate/CCA-2026-000000"),
        Some(&cookie),
        &[("csrf", &token), ("action", "suspend"), ("reason", "x")],
    )
    .await;
    assert_eq!(res.status, 404);
}

/// Installs the pinned npm packages of the browser test (`tests/console/package-lock.json`)
/// once per test run, when npm is there and they are not.
fn install_browser_tools(root: &Path) {
    static ONCE: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut done = ONCE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if *done
        || root
            .join("tests/console/node_modules/playwright-core")
            .is_dir()
    {
        return;
    }
    *done = true;
    let status = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(root.join("tests/console"))
        .status();
    if !status.as_ref().is_ok_and(|s| s.success()) {
        eprintln!("npm ci in tests/console failed: {status:?}");
    }
}

/// Walks the reviewer's path in Chromium; see `tests/console/flow.mjs`.
async fn a_reviewer_reaches_a_certificate_in_a_browser(b: Backend) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let node_modules = root.join("tests/console/node_modules");
    install_browser_tools(root);
    let chromium = std::env::var("CSR_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = node_modules.join("playwright-core").is_dir() && Path::new(&chromium).exists();
    if !ready {
        assert!(
            std::env::var_os("CSR_REQUIRE_BROWSER").is_none(),
            "the console browser test needs `npm ci --prefix tests/console` and {chromium}"
        );
        eprintln!("Playwright or Chromium missing: console browser test not run");
        return;
    }
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let id = submitted(&app, &e, "C1491", 4).await;
    let admin = app.admin_token().await;
    let mut reviewers = Vec::new();
    for name in ["first", "second"] {
        let email = unique_email(name);
        let res = app
            .post(
                "/api/v1/users",
                Some(&admin),
                &json!({ "email": email, "password": PASSWORD, "role": "reviewer", "display_name": format!("评审员{name}") }),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        reviewers.push(json!({ "email": email, "password": PASSWORD }));
    }
    let body_email = unique_email("industry");
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({ "email": body_email, "password": PASSWORD, "role": "industry_body", "industry_scopes": ["C14"] }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let draft = crate::schemas::draft_2025(&app, &admin).await;
    let res = app
        .post(
            "/api/v1/schemas/cca-good-enterprise/versions",
            Some(&admin),
            &draft,
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    // A complaint against the enterprise, and the officer who handles it.
    let officer_email = unique_email("officer");
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &json!({ "email": officer_email, "password": PASSWORD, "role": "complaint_officer", "region_scope": "33" }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let officer = app.token(&officer_email, PASSWORD).await;
    let code = app
        .get(&format!("/api/v1/enterprises/{}", e.id), Some(&e.token))
        .await
        .json()["credit_code"]
        .clone();
    let res = app
        .post(
            "/api/v1/complaints",
            Some(&officer),
            &json!({
                "credit_code": code, "category": "after_sales", "channel": "hotline",
                "description": "冰箱不制冷", "contact": { "name": "赵女士", "phone": "13700001111" },
            }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let complaint = res.json()["id"].clone();
    let criteria = app.criteria_of(&e.token, "C1491", "2024").await;
    let required = |c: &Value| c["red_line"] == true || c["statutory"] == true;
    let request = criteria.iter().find(|c| required(c)).unwrap()["id"].clone();
    let optional = criteria
        .iter()
        .find(|c| !required(c) && c["kind"] != "free_text" && c["kind"] != "yes_no")
        .unwrap()["id"]
        .clone();
    let shots = root.join("target").join("screenshots");
    let fixture = json!({
        "base": app.base,
        "chromium": chromium,
        "shots": shots,
        "submission": id,
        "enterpriseToken": e.token,
        "reviewer1": reviewers[0],
        "reviewer2": reviewers[1],
        "industryBody": { "email": body_email, "password": PASSWORD },
        "industryScope": "C14",
        "admin": { "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD },
        "enterprise": { "email": e.admin_email, "password": PASSWORD },
        "draftVersion": "2025",
        "requestCriterion": request,
        "optionalCriterion": optional,
        "complaint": complaint,
        "officer": { "email": officer_email, "password": PASSWORD },
    });
    let path = app.dir.path().join("fixture.json");
    std::fs::write(&path, fixture.to_string()).unwrap();
    let script = root.join("tests/console/flow.mjs");
    let out = actix_rt::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .arg(script)
            .arg(&path)
            .output()
    })
    .await
    .unwrap()
    .expect("node runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("console flow: ok"), "{stdout}");
    // The certificate exists and the audit log names the console's actions.
    let s = app
        .get(&format!("/api/v1/submissions/{id}"), Some(&e.token))
        .await
        .json();
    assert_eq!(s["status"], "approved", "{s}");
    let c = app
        .get(&format!("/api/v1/complaints/{complaint}"), Some(&e.token))
        .await
        .json();
    assert_eq!(c["state"], "closed", "{c}");
}

/// A complaint from the officer's and the enterprise's pages: the list marks it, the enterprise
/// acknowledges and proposes, the officer shows the consumer's details (audited), records the
/// answer and closes it; another enterprise's user gets 404; a reviewer decides a surveillance
/// review from the console.
async fn complaints_are_handled_in_the_console(b: Backend) {
    let app = crate::helpers::spawn_app_with(b, |s| s.complaint_sweep_secs = 0).await;
    let e = app.enterprise().await;
    let other = app.enterprise().await;
    let code = app
        .get(&format!("/api/v1/enterprises/{}", e.id), Some(&e.token))
        .await
        .json()["credit_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let officer_email = crate::helpers::unique_email("officer");
    let admin = app.admin_token().await;
    let res = app
        .post(
            "/api/v1/users",
            Some(&admin),
            &serde_json::json!({ "email": officer_email, "password": PASSWORD, "role": "complaint_officer", "region_scope": "33" }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let officer = app.token(&officer_email, PASSWORD).await;
    let res = app
        .post(
            "/api/v1/complaints",
            Some(&officer),
            &serde_json::json!({
                "credit_code": code, "category": "after_sales", "channel": "hotline",
                "description": "冰箱不制冷", "contact": { "name": "赵女士", "phone": "13700001111" },
            }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let id = res.json()["id"].as_i64().unwrap();
    let case = format!("/console/complaints/{id}");

    let ent = sign_in(&app, &e.admin_email, PASSWORD).await;
    let list = page(&app, "/console/complaints", &ent).await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert!(list.text().contains(&case), "{}", list.text());
    let p = page(&app, &case, &ent).await;
    assert!(
        !p.text().contains("13700001111"),
        "no contact before asking"
    );
    let token = csrf(&p);
    let step = |action: &'static str, text: &'static str, cookie: String, token: String| {
        let app = &app;
        let path = format!("/console/complaints/{id}/step");
        async move {
            form(
                app,
                &path,
                Some(&cookie),
                &[("csrf", &token), ("action", action), ("text", text)],
            )
            .await
        }
    };
    assert_eq!(
        step("acknowledge", "", ent.clone(), token.clone())
            .await
            .status,
        303
    );
    assert_eq!(
        step("propose", "上门更换压缩机", ent.clone(), token.clone())
            .await
            .status,
        303
    );
    let shown = form(
        &app,
        &format!("{case}/personal-data"),
        Some(&ent),
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    assert!(shown.text().contains("13700001111"));
    assert_eq!(shown.header("cache-control").as_deref(), Some("no-store"));

    let off = sign_in(&app, &officer_email, PASSWORD).await;
    let p = page(&app, &case, &off).await;
    assert!(p.text().contains("上门更换压缩机"), "{}", p.text());
    let token = csrf(&p);
    assert_eq!(
        step("accept", "", off.clone(), token.clone()).await.status,
        303
    );
    assert_eq!(
        step("close", "", off.clone(), token.clone()).await.status,
        303
    );
    // A step the state does not allow is refused, and nothing changes.
    let refused = step("close", "", off.clone(), token.clone()).await;
    assert_eq!(refused.status, 409, "{}", refused.text());
    let view = app
        .get(&format!("/api/v1/complaints/{id}"), Some(&officer))
        .await
        .json();
    assert_eq!(
        (view["state"].as_str(), view["outcome"].as_str()),
        (Some("closed"), Some("reconciled"))
    );

    let outsider = sign_in(&app, &other.admin_email, PASSWORD).await;
    assert_eq!(page(&app, &case, &outsider).await.status, 404);
    let listed = page(&app, "/console/complaints", &outsider).await;
    assert!(!listed.text().contains(&case));
    let surveillance = page(&app, "/console/surveillance", &off).await;
    assert_eq!(surveillance.status, 403);
}
