//! Login, token validation (RFC 8725 cases), refresh rotation and reuse detection, logout,
//! password changes, throttling and rehashing.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use csr_assess::auth::jwt::KeyFile;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::{
    Backend, PASSWORD, TestApp, spawn_app, spawn_app_with, spawn_sibling, unique_email,
};

backend_tests!(
    login_issues_eddsa_access_token_and_refresh_token,
    unknown_email_and_wrong_password_look_the_same,
    emails_are_normalised_at_login,
    invalid_tokens_are_401,
    refresh_rotates_and_reuse_revokes_the_family,
    logout_ends_the_session,
    password_change,
    login_is_throttled_per_account,
    login_is_throttled_per_address,
    parallel_guesses_are_counted_before_checking,
    a_throttled_pair_does_not_lock_the_holder_out_elsewhere,
    current_password_guesses_are_throttled,
    access_tokens_stop_when_their_session_ends,
    disabled_users_lose_access_at_once,
    weak_hashes_are_upgraded_at_login,
    rotated_keys_keep_old_tokens_valid_across_instances,
);

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn header_and_claims(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    (decode_part(parts[0]), decode_part(parts[1]))
}

/// Signs `claims` with the app's real active key, under a header of our choosing.
fn forge(app: &TestApp, header: Header, claims: &Value) -> String {
    let file = KeyFile::load_or_create(&app.dir.path().join("keys")).unwrap();
    let active = file.active.clone();
    forge_with(&file, &active, header, claims)
}

/// Signs `claims` with key `kid` of `file`.
fn forge_with(file: &KeyFile, kid: &str, mut header: Header, claims: &Value) -> String {
    let key = file.keys.iter().find(|k| k.kid == kid).unwrap();
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend(STANDARD.decode(&key.seed).unwrap());
    if header.kid.is_none() {
        header.kid = Some(kid.to_owned());
    }
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_ed_der(&der)).unwrap()
}

fn at_header() -> Header {
    let mut h = Header::new(Algorithm::EdDSA);
    h.typ = Some("at+jwt".into());
    h
}

async fn login_issues_eddsa_access_token_and_refresh_token(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let res = app.login(&e.admin_email, PASSWORD).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("cache-control").as_deref(), Some("no-store"));
    let body = res.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert!(body["refresh_token"].as_str().unwrap().len() > 40);
    let (header, claims) = header_and_claims(body["access_token"].as_str().unwrap());
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "at+jwt");
    assert!(header["kid"].is_string());
    for claim in ["iss", "aud", "sub", "exp", "iat", "nbf"] {
        assert!(!claims[claim].is_null(), "missing {claim}");
    }
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        900
    );
    assert_eq!(claims["role"], "enterprise_admin");
}

async fn unknown_email_and_wrong_password_look_the_same(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let wrong = app.login(&e.admin_email, "not the password at all").await;
    let unknown = app
        .login("nobody@example.com", "not the password at all")
        .await;
    wrong.problem(401, "invalid_credentials");
    unknown.problem(401, "invalid_credentials");
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(
        wrong.header("www-authenticate"),
        unknown.header("www-authenticate")
    );
}

async fn emails_are_normalised_at_login(b: Backend) {
    let app = spawn_app(b).await;
    let email = unique_email("case");
    let e = app
        .enterprise_with(json!({ "admin_email": email.to_uppercase() }))
        .await;
    assert_eq!(e.admin_email, email.to_uppercase());
    // Stored lower case, and full-width letters fold to the same account.
    app.token(&format!("  {}  ", email), PASSWORD).await;
    let full_width: String = email
        .chars()
        .map(|c| match c {
            'a'..='z' => char::from_u32(c as u32 - 'a' as u32 + 0xFF41).unwrap(),
            _ => c,
        })
        .collect();
    app.token(&full_width, PASSWORD).await;
}

async fn invalid_tokens_are_401(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let good = e.token.clone();
    assert_eq!(app.get("/api/v1/me", Some(&good)).await.status, 200);
    let (_, claims) = header_and_claims(&good);
    let now = chrono::Utc::now().timestamp();
    let with = |k: &str, v: Value| {
        let mut c = claims.clone();
        c[k] = v;
        c
    };
    // Sanity check of the forging helper: a correctly forged token is accepted.
    let forged = forge(&app, at_header(), &claims);
    assert_eq!(app.get("/api/v1/me", Some(&forged)).await.status, 200);

    let none_token = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"at+jwt"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut hs = Header::new(Algorithm::HS256);
    hs.typ = Some("at+jwt".into());
    let hs256 =
        jsonwebtoken::encode(&hs, &claims, &EncodingKey::from_secret(b"secret").unwrap()).unwrap();
    let mut unknown_kid = at_header();
    unknown_kid.kid = Some("not-a-key".into());
    let mut plain_jwt = Header::new(Algorithm::EdDSA);
    plain_jwt.typ = Some("JWT".into());
    let mut no_iat = claims.clone();
    no_iat.as_object_mut().unwrap().remove("iat");
    let mut tampered = good.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");

    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("garbage", Some("not-a-jwt".into())),
        ("alg none", Some(none_token)),
        ("HS256", Some(hs256)),
        ("unknown kid", Some(forge(&app, unknown_kid, &claims))),
        ("typ JWT", Some(forge(&app, plain_jwt, &claims))),
        (
            "expired",
            Some(forge(&app, at_header(), &with("exp", json!(now - 3600)))),
        ),
        (
            "not yet valid",
            Some(forge(&app, at_header(), &with("nbf", json!(now + 3600)))),
        ),
        (
            "wrong audience",
            Some(forge(
                &app,
                at_header(),
                &with("aud", json!("someone-else")),
            )),
        ),
        (
            "wrong issuer",
            Some(forge(&app, at_header(), &with("iss", json!("evil")))),
        ),
        ("no iat", Some(forge(&app, at_header(), &no_iat))),
        ("bad signature", Some(tampered)),
        ("refresh token as bearer", Some(e.refresh.clone())),
    ];
    for (name, token) in cases {
        let res = app.get("/api/v1/me", token.as_deref()).await;
        assert_eq!(res.status, 401, "{name}: {}", res.text());
        assert_eq!(
            res.header("www-authenticate").as_deref(),
            Some("Bearer"),
            "{name}"
        );
        res.json();
    }
}

async fn refresh_rotates_and_reuse_revokes_the_family(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let first = e.refresh.clone();
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": first }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let second = res.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    let access = res.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/v1/me", Some(&access)).await.status, 200);

    // Replaying the first token is reuse: refused as such, and the whole family dies with it.
    let reused = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": first }),
        )
        .await;
    let problem = reused.problem(401, "refresh_token_reused");
    assert!(
        problem["detail"].as_str().unwrap().contains("already used"),
        "{problem}"
    );
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": second }),
    )
    .await
    .problem(401, "invalid_refresh_token");
    // Another login is a separate family and unaffected.
    let other = app.login(&e.admin_email, PASSWORD).await.json();
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": other["refresh_token"] }),
        )
        .await;
    assert_eq!(res.status, 200);
    // Unknown tokens are refused.
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": "rt_forged" }),
    )
    .await
    .problem(401, "invalid_refresh_token");
    // The reuse is in the audit log.
    let entries = app
        .state
        .db
        .read(|conn| csr_assess::db::audit::for_entity(conn, "user", "2"))
        .await
        .unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e.action == "auth.refresh_token_reused"),
        "{entries:?}"
    );
}

async fn logout_ends_the_session(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let res = app
        .post(
            "/api/v1/auth/logout",
            None,
            &json!({ "refresh_token": e.refresh }),
        )
        .await;
    assert_eq!(res.status, 204);
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": e.refresh }),
    )
    .await
    .problem(401, "invalid_refresh_token");
    // Logging out twice is harmless.
    let again = app
        .post(
            "/api/v1/auth/logout",
            None,
            &json!({ "refresh_token": e.refresh }),
        )
        .await;
    assert_eq!(again.status, 204);
}

async fn password_change(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let path = "/api/v1/auth/password";
    let new = "an entirely new passphrase";
    app.post(
        path,
        None,
        &json!({ "current_password": PASSWORD, "new_password": new }),
    )
    .await
    .problem(401, "missing_token");
    let res = app
        .post(
            path,
            Some(&e.token),
            &json!({ "current_password": "wrong password!", "new_password": new }),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["current_password"]);
    let res = app
        .post(
            path,
            Some(&e.token),
            &json!({ "current_password": PASSWORD, "new_password": "short" }),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["new_password"]);
    let res = app
        .post(
            path,
            Some(&e.token),
            &json!({ "current_password": PASSWORD, "new_password": new }),
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text());
    app.login(&e.admin_email, PASSWORD)
        .await
        .problem(401, "invalid_credentials");
    app.token(&e.admin_email, new).await;
    // Sessions from before the change are ended.
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": e.refresh }),
    )
    .await
    .problem(401, "invalid_refresh_token");
}

async fn login_is_throttled_per_account(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    for _ in 0..5 {
        app.login(&e.admin_email, "wrong password here")
            .await
            .problem(401, "invalid_credentials");
    }
    let res = app.login(&e.admin_email, PASSWORD).await;
    res.problem(429, "too_many_requests");
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    // An unknown account behaves the same way.
    for _ in 0..5 {
        app.login("ghost@example.com", "wrong password here").await;
    }
    app.login("ghost@example.com", "wrong password here")
        .await
        .problem(429, "too_many_requests");
    // Other accounts are unaffected.
    let other = app.enterprise().await;
    app.token(&other.admin_email, PASSWORD).await;
}

async fn login_is_throttled_per_address(b: Backend) {
    let app = spawn_app_with(b, |s| s.login_max_failures_per_address = 3).await;
    let e = app.enterprise().await;
    for i in 0..3 {
        app.login(&format!("user{i}@example.com"), "wrong password here")
            .await
            .problem(401, "invalid_credentials");
    }
    app.login(&e.admin_email, PASSWORD)
        .await
        .problem(429, "too_many_requests");
}

/// The review's race: 30 wrong passwords at once are all counted before any is checked, so no
/// more than the limit (5) are evaluated; a right password in the same burst is no exception.
async fn parallel_guesses_are_counted_before_checking(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let guesses: Vec<String> = (0..30).map(|i| format!("guess number {i:02}")).collect();
    let mut attempts: Vec<_> = guesses
        .iter()
        .map(|g| app.login(&e.admin_email, g))
        .collect();
    attempts.push(app.login(&e.admin_email, PASSWORD));
    let answers = futures_util::future::join_all(attempts).await;
    let count = |s: u16| answers.iter().filter(|r| r.status == s).count();
    assert!(
        count(401) + count(200) <= 5,
        "{} wrong and {} right passwords evaluated",
        count(401),
        count(200)
    );
    assert_eq!(count(401) + count(200) + count(429), 31);
    app.login(&e.admin_email, PASSWORD)
        .await
        .problem(429, "too_many_requests");
}

/// A login from another address, as curl sends it from 127.0.0.2.
fn login_from(app: &TestApp, source: &str, email: &str, password: &str) -> u16 {
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--interface",
            source,
        ])
        .args(["-H", "Content-Type: application/json", "-d"])
        .arg(json!({ "email": email, "password": password }).to_string())
        .arg(app.url("/api/v1/auth/login"))
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).parse().unwrap_or(0)
}

/// Locking is per (account, address): guessing from one address does not keep the account's
/// holder out from theirs, and successful logins do not use up an address's allowance.
async fn a_throttled_pair_does_not_lock_the_holder_out_elsewhere(b: Backend) {
    let app = spawn_app_with(b, |s| s.login_max_failures_per_address = 3).await;
    let e = app.enterprise().await;
    for _ in 0..3 {
        app.login(&e.admin_email, "wrong password here")
            .await
            .problem(401, "invalid_credentials");
    }
    app.login(&e.admin_email, PASSWORD)
        .await
        .problem(429, "too_many_requests");
    assert_eq!(login_from(&app, "127.0.0.2", &e.admin_email, PASSWORD), 200);
    for _ in 0..5 {
        assert_eq!(login_from(&app, "127.0.0.3", &e.admin_email, PASSWORD), 200);
    }

    // Guessing one account from many addresses meets the account-wide limit.
    let app = spawn_app_with(b, |s| s.login_max_failures_per_account = 4).await;
    let e = app.enterprise().await;
    let sources = [
        "127.0.0.4",
        "127.0.0.5",
        "127.0.0.6",
        "127.0.0.7",
        "127.0.0.8",
    ];
    let answers: Vec<u16> = sources
        .iter()
        .map(|ip| login_from(&app, ip, &e.admin_email, "wrong password here"))
        .collect();
    assert_eq!(answers, [401, 401, 401, 401, 429]);
    // An e-mail of any length makes throttling keys of bounded length.
    let long = "x".repeat(500_000);
    app.login(&long, "wrong password here")
        .await
        .problem(401, "invalid_credentials");
}

/// Someone holding a stolen access token cannot guess the current password faster than a login.
async fn current_password_guesses_are_throttled(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let change = |current: &str| json!({ "current_password": current, "new_password": "a brand new passphrase" });
    let (app_ref, token) = (&app, e.token.as_str());
    let guesses: Vec<_> = (0..12)
        .map(|i| {
            let body = change(&format!("guess number {i:02}"));
            async move {
                app_ref
                    .post("/api/v1/auth/password", Some(token), &body)
                    .await
            }
        })
        .collect();
    let answers = futures_util::future::join_all(guesses).await;
    let wrong = answers.iter().filter(|r| r.status == 422).count();
    let throttled = answers.iter().filter(|r| r.status == 429).count();
    assert!(
        wrong <= 5 && wrong + throttled == 12,
        "{wrong} evaluated, {throttled} throttled"
    );
    app.post("/api/v1/auth/password", Some(&e.token), &change(PASSWORD))
        .await
        .problem(429, "too_many_requests");
    // The same counters as logins: this address is held back, the holder's own is not.
    app.login(&e.admin_email, PASSWORD)
        .await
        .problem(429, "too_many_requests");
    assert_eq!(login_from(&app, "127.0.0.2", &e.admin_email, PASSWORD), 200);
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/me", Some(token)).await.status
}

/// Logout, refresh-token reuse and a password change end the access tokens of the sessions they
/// end at once, on every instance serving the database; other sessions carry on.
async fn access_tokens_stop_when_their_session_ends(b: Backend) {
    let app = spawn_app(b).await;
    let sibling = spawn_sibling(&app, |_| {}).await;
    let e = app.enterprise().await;
    let second = app.login(&e.admin_email, PASSWORD).await.json();
    let second_token = second["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&sibling, &e.token).await, 200);

    let res = app
        .post(
            "/api/v1/auth/logout",
            None,
            &json!({ "refresh_token": e.refresh }),
        )
        .await;
    assert_eq!(res.status, 204);
    for instance in [&app, &sibling] {
        let res = instance.get("/api/v1/me", Some(&e.token)).await;
        res.problem(401, "invalid_token");
        assert_eq!(me_status(instance, &second_token).await, 200);
    }

    // A reused refresh token ends its session, access tokens included.
    let rotated = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": second["refresh_token"] }),
        )
        .await
        .json();
    let rotated_token = rotated["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&sibling, &rotated_token).await, 200);
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": second["refresh_token"] }),
    )
    .await
    .problem(401, "refresh_token_reused");
    assert_eq!(me_status(&sibling, &rotated_token).await, 401);
    assert_eq!(me_status(&sibling, &second_token).await, 401);

    // A password change ends every session of the user.
    let third = app.token(&e.admin_email, PASSWORD).await;
    let fourth = app.token(&e.admin_email, PASSWORD).await;
    let res = sibling
        .post(
            "/api/v1/auth/password",
            Some(&third),
            &json!({ "current_password": PASSWORD, "new_password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.text());
    assert_eq!(me_status(&app, &third).await, 401);
    assert_eq!(me_status(&app, &fourth).await, 401);
    let fresh = app.token(&e.admin_email, "a brand new passphrase").await;
    assert_eq!(me_status(&sibling, &fresh).await, 200);
}

/// Administrators disable and re-enable users through the API and the command line; a disabled
/// user's tokens stop at once, writes included, and nobody disables their own account.
async fn disabled_users_lose_access_at_once(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let admin = app.admin_token().await;
    let me = app.get("/api/v1/me", Some(&e.token)).await.json();
    let id = me["id"].as_i64().unwrap();
    let reason = json!({ "reason": "account under investigation" });

    let res = app
        .post(
            &format!("/api/v1/users/{id}/disable"),
            Some(&e.token),
            &reason,
        )
        .await;
    res.problem(403, "forbidden");
    let res = app
        .post(
            &format!("/api/v1/users/{id}/disable"),
            Some(&admin),
            &json!({}),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["reason"]);
    let res = app
        .post(
            &format!("/api/v1/users/{id}/disable"),
            Some(&admin),
            &reason,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["disabled"], true);
    app.get("/api/v1/me", Some(&e.token))
        .await
        .problem(401, "invalid_token");
    let draft = app
        .post(
            "/api/v1/submissions",
            Some(&e.token),
            &json!({ "schema_id": "cca-good-enterprise", "version": "2024" }),
        )
        .await;
    draft.problem(401, "invalid_token");
    app.login(&e.admin_email, PASSWORD)
        .await
        .problem(401, "invalid_credentials");
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": e.refresh }),
    )
    .await
    .problem(401, "invalid_refresh_token");

    let res = app
        .post(&format!("/api/v1/users/{id}/enable"), Some(&admin), &reason)
        .await;
    assert_eq!(res.json()["disabled"], false);
    let token = app.token(&e.admin_email, PASSWORD).await;
    assert_eq!(me_status(&app, &token).await, 200);

    let admin_id = app.get("/api/v1/me", Some(&admin)).await.json()["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/users/{admin_id}/disable"),
        Some(&admin),
        &reason,
    )
    .await
    .problem(409, "own_account");
    let audit = app.get("/api/v1/audit/verify", Some(&admin)).await;
    assert_eq!(audit.status, 200);
}

async fn weak_hashes_are_upgraded_at_login(b: Backend) {
    let app = spawn_app_with(b, |s| s.argon2_memory_kib = 24_576).await;
    let e = app.enterprise().await;
    // Store a hash made with the minimum parameters, as an older configuration would have.
    let mut weak = app.state.settings.clone();
    weak.argon2_memory_kib = csr_assess::config::ARGON2_MIN_MEMORY_KIB;
    let hash = csr_assess::auth::password::Hasher::new(&weak)
        .unwrap()
        .hash(PASSWORD)
        .unwrap();
    assert!(hash.contains("m=19456"));
    let email = e.admin_email.to_lowercase();
    let db = app.state.db.clone();
    let stored = |email: String| {
        let db = db.clone();
        async move {
            db.read(move |conn| csr_assess::db::users::find_by_email(conn, &email))
                .await
                .unwrap()
                .unwrap()
        }
    };
    let user = stored(email.clone()).await;
    app.state
        .db
        .write(move |conn| csr_assess::db::users::set_password_hash(conn, user.id, &hash, None))
        .await
        .unwrap();
    app.token(&email, PASSWORD).await;
    let after = stored(email.clone()).await.password_hash;
    assert!(
        after.starts_with("$argon2id$") && after.contains("m=24576"),
        "{after}"
    );
    app.token(&email, PASSWORD).await;
}

async fn rotated_keys_keep_old_tokens_valid_across_instances(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let (old_header, _) = header_and_claims(&e.token);
    // Rotate the key, then start a second instance on the same database and keys.
    let keys = app.dir.path().join("keys");
    let mut file = KeyFile::load_or_create(&keys).unwrap();
    let new_kid = file.rotate().kid.clone();
    file.save(&keys).unwrap();
    let second = spawn_sibling(&app, |_| {}).await;
    // The old token, signed by the old key on the first instance, works on the second.
    let me = second.get("/api/v1/me", Some(&e.token)).await;
    assert_eq!(me.status, 200, "{}", me.text());
    // New tokens are signed with the new key and work on the second instance.
    let fresh = second.token(&e.admin_email, PASSWORD).await;
    let (new_header, _) = header_and_claims(&fresh);
    assert_eq!(new_header["kid"], new_kid.as_str());
    assert_ne!(new_header["kid"], old_header["kid"]);
    assert_eq!(second.get("/api/v1/me", Some(&fresh)).await.status, 200);
    // A refresh token issued by the first instance rotates on the second.
    let res = second
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": e.refresh }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());

    // Retiring the old key (command line) ends the tokens it signed on the next start; the
    // active key cannot be retired.
    let old_kid = old_header["kid"].as_str().unwrap().to_owned();
    let retire = |kid: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_csr-assess"))
            .args(["keys", "retire", "--kid", kid])
            .env("CSR_KEYS_DIR", &keys)
            .env_remove("CSR_JWT_KEYS")
            .output()
            .unwrap()
    };
    assert!(!retire(&new_kid).status.success());
    let out = retire(&old_kid);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let third = spawn_sibling(&app, |_| {}).await;
    let current = second.token(&e.admin_email, PASSWORD).await;
    assert_eq!(third.get("/api/v1/me", Some(&current)).await.status, 200);
    let mut forged_claims = header_and_claims(&current).1;
    forged_claims["exp"] = json!(chrono::Utc::now().timestamp() + 600);
    let mut header = at_header();
    header.kid = Some(old_kid.clone());
    let file = KeyFile::load_or_create(&keys).unwrap();
    assert!(file.is_retired(&old_kid));
    let old_signed = forge_with(&file, &old_kid, header, &forged_claims);
    third
        .get("/api/v1/me", Some(&old_signed))
        .await
        .problem(401, "invalid_token");
}
