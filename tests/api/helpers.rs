//! Test harness: `spawn_app`, an HTTP client that returns status, headers and JSON, fixture
//! builders and the tenant-isolation assertion.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::Method;
use actix_web::web;
use csr_assess::config::{Secret, Settings};
use csr_assess::domain::CreditCode;
use csr_assess::startup::Application;
use csr_assess::state::AppState;
use serde_json::{Value, json};

pub use crate::kit::database::FreshDatabase;
pub use crate::kit::http::{Client, Request, Resp};

pub const ADMIN_EMAIL: &str = "admin@test.example";
pub const ADMIN_PASSWORD: &str = "admin password for tests";
pub const PASSWORD: &str = "a long enough password";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares each listed `async fn name(backend: Backend)` as a test on SQLite and on PostgreSQL.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[actix_rt::test]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[actix_rt::test]
                async fn $name() {
                    if $crate::helpers::postgres_url().is_none() {
                        eprintln!("CSR_TEST_POSTGRES_URL not set: PostgreSQL variant not run");
                        return;
                    }
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

pub fn postgres_url() -> Option<String> {
    std::env::var("CSR_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// A fresh PostgreSQL database on the server at `CSR_TEST_POSTGRES_URL`, dropped with the value.
pub fn fresh_postgres() -> FreshDatabase {
    let server = postgres_url().expect("CSR_TEST_POSTGRES_URL");
    FreshDatabase::postgres(&server, "csr_test").unwrap_or_else(|e| panic!("{e}"))
}

pub struct TestApp {
    pub http: Client,
    /// The metrics listener's port, when `metrics_bind` was set.
    pub metrics_port: Option<u16>,
    pub state: web::Data<AppState>,
    pub dir: tempfile::TempDir,
    pub backend: Backend,
    _pg: Option<FreshDatabase>,
}

impl std::ops::Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.http
    }
}

impl Resp {
    /// Asserts a problem+json error with this status and code; returns the problem.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text());
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "body: {}",
            self.text()
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert_eq!(p["code"], code, "problem: {p}");
        assert!(p["title"].is_string() && p["detail"].is_string());
        p
    }

    /// The fields named by a 422 validation problem.
    #[track_caller]
    pub fn invalid_fields(&self) -> Vec<String> {
        let p = self.problem(422, "validation_failed");
        p["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().expect("field").to_owned())
            .collect()
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let pg = (backend == Backend::Postgres).then(fresh_postgres);
    let mut settings = Settings::from_env().expect("default settings");
    settings.bind = "127.0.0.1:0".into();
    settings.data_dir = dir.path().to_owned();
    settings.keys_dir = None;
    settings.workers = Some(1);
    settings.db_pool_size = 4;
    settings.database_url = Some(Secret::new(match &pg {
        Some(db) => db.url.clone(),
        None => dir.path().join("test.db").display().to_string(),
    }));
    settings.admin_email = ADMIN_EMAIL.into();
    settings.admin_password = Some(Secret::new(ADMIN_PASSWORD));
    // Tests register many enterprises from one address; the throttle has its own test.
    settings.registrations_per_address = 100_000;
    tweak(&mut settings);
    start(settings, dir, pg, backend).await
}

/// Starts an app on the database of `app` (a second instance, or a restart).
pub async fn spawn_sibling(app: &TestApp, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = app.state.settings.clone();
    settings.bind = "127.0.0.1:0".into();
    settings.keys_dir = Some(app.dir.path().join("keys"));
    tweak(&mut settings);
    let dir = tempfile::tempdir().expect("tempdir");
    start(settings, dir, None, app.backend).await
}

async fn start(
    settings: Settings,
    dir: tempfile::TempDir,
    pg: Option<FreshDatabase>,
    backend: Backend,
) -> TestApp {
    let state = AppState::init(settings).await.expect("app state");
    csr_assess::accounts::bootstrap_admin(&state)
        .await
        .expect("bootstrap admin");
    let app = Application::build(state).expect("build app");
    actix_rt::spawn(app.server);
    TestApp {
        http: Client::new(format!("http://127.0.0.1:{}", app.port)),
        metrics_port: app.metrics_port,
        state: app.state,
        dir,
        backend,
        _pg: pg,
    }
}

static SEQ: AtomicU64 = AtomicU64::new(1);

/// A valid credit code that no other fixture in this process uses.
pub fn credit_code() -> String {
    let n = SEQ.fetch_add(1, Ordering::Relaxed) + std::process::id() as u64 * 1000;
    let body = format!("91330106MA{:07}", n % 10_000_000);
    CreditCode::complete(&body).expect("valid body").to_string()
}

pub fn unique_email(prefix: &str) -> String {
    format!(
        "{prefix}-{}@example.com",
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

/// An enterprise registered through the API, with its administrator logged in.
#[derive(Debug, Clone)]
pub struct Enterprise {
    pub id: i64,
    pub admin_email: String,
    pub token: String,
    pub refresh: String,
}

impl TestApp {
    /// The audit log's entries about submission `id`, oldest first.
    pub async fn audit_of_submission(&self, id: i64) -> Vec<csr_assess::db::audit::AuditEntry> {
        self.state
            .db
            .read(move |conn| {
                csr_assess::db::audit::for_entity(conn, "submission", &id.to_string())
            })
            .await
            .expect("the submission's audit entries")
    }

    /// The PostgreSQL database of this app, if it made one.
    pub fn database_name(&self) -> Option<String> {
        self._pg
            .as_ref()
            .and_then(|db| db.name().map(str::to_owned))
    }
}

impl Client {
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut r = Request::new(method, path);
        r.token = token;
        r.headers = headers.to_vec();
        r.body = body.map(|(ct, bytes)| (ct.to_owned(), bytes));
        self.try_send(r).await.expect("request sent and body read")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.request(Method::GET, path, token, None, &[]).await
    }

    pub async fn send_json(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Resp {
        let bytes = serde_json::to_vec(body).expect("json");
        self.request(method, path, token, Some(("application/json", bytes)), &[])
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send_json(Method::POST, path, token, body).await
    }

    /// Logs in and returns the token response.
    pub async fn login(&self, email: &str, password: &str) -> Resp {
        self.post(
            "/api/v1/auth/login",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// Logs in and returns the access token, failing the test otherwise.
    pub async fn token(&self, email: &str, password: &str) -> String {
        let res = self.login(email, password).await;
        assert_eq!(res.status, 200, "login of {email}: {}", res.text());
        res.json()["access_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.token(ADMIN_EMAIL, ADMIN_PASSWORD).await
    }

    pub fn registration(&self) -> Value {
        json!({
            "credit_code": credit_code(),
            "name": "杭州放心食品有限公司",
            "industry_code": "C1491",
            "region_code": "330106",
            "size": "small",
            "contact_email": "contact@example.com",
            "admin_email": unique_email("boss"),
            "admin_password": PASSWORD,
        })
    }

    /// Registers an enterprise with `overrides` applied and logs its administrator in.
    pub async fn enterprise_with(&self, overrides: Value) -> Enterprise {
        let mut body = self.registration();
        if let (Some(b), Some(o)) = (body.as_object_mut(), overrides.as_object()) {
            for (k, v) in o {
                b.insert(k.clone(), v.clone());
            }
        }
        let res = self.post("/api/v1/enterprises", None, &body).await;
        assert_eq!(res.status, 201, "registration: {}", res.text());
        let email = body["admin_email"].as_str().expect("email").to_owned();
        let login = self.login(&email, PASSWORD).await;
        assert_eq!(login.status, 200, "{}", login.text());
        let tokens = login.json();
        Enterprise {
            id: res.json()["id"].as_i64().expect("id"),
            admin_email: email,
            token: tokens["access_token"].as_str().expect("at").to_owned(),
            refresh: tokens["refresh_token"].as_str().expect("rt").to_owned(),
        }
    }

    pub async fn enterprise(&self) -> Enterprise {
        self.enterprise_with(json!({})).await
    }

    /// Creates a staff user through the admin API and returns their access token.
    /// A new member of enterprise `e`, added by its administrator, logged in.
    pub async fn member_token(&self, e: &Enterprise) -> String {
        let email = unique_email("member");
        let res = self
            .post(
                &format!("/api/v1/enterprises/{}/users", e.id),
                Some(&e.token),
                &json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        self.token(&email, PASSWORD).await
    }

    pub async fn staff(&self, role: &str, extra: Value) -> (i64, String) {
        let admin = self.admin_token().await;
        let email = unique_email(role);
        let mut body = json!({ "email": email, "password": PASSWORD, "role": role });
        if let (Some(b), Some(o)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in o {
                b.insert(k.clone(), v.clone());
            }
        }
        let res = self.post("/api/v1/users", Some(&admin), &body).await;
        assert_eq!(res.status, 201, "{}", res.text());
        (
            res.json()["id"].as_i64().expect("id"),
            self.token(&email, PASSWORD).await,
        )
    }
}

/// Tenant isolation: `outsider` asking for another tenant's object gets exactly the response
/// of a missing object, so nothing reveals that it exists.
pub async fn assert_invisible(
    app: &Client,
    outsider: &str,
    method: Method,
    path: &str,
    missing: &str,
) {
    let other = app
        .request(method.clone(), path, Some(outsider), None, &[])
        .await;
    let absent = app
        .request(method, missing, Some(outsider), None, &[])
        .await;
    other.problem(404, "not_found");
    absent.problem(404, "not_found");
    assert_eq!(
        other.body, absent.body,
        "{path} differs from a missing object"
    );
}

/// A multipart/form-data body with one file and its criteria.
pub fn multipart(
    filename: &str,
    content_type: &str,
    content: &[u8],
    criteria: &str,
) -> (String, Vec<u8>) {
    let boundary = "csr-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"criteria\"\r\n\r\n{criteria}\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A small but real PDF.
pub fn pdf_bytes(text: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {text}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n").into_bytes()
}

pub const PNG_BYTES: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// The best answer to a resolved criterion, as the API takes it.
pub fn best_answer(c: &Value) -> Value {
    match c["kind"].as_str().unwrap_or_default() {
        "yes_no" => json!({ "value": true }),
        "maturity" => json!({ "value": 4 }),
        "single_choice" => {
            let best = c["options"]
                .as_array()
                .into_iter()
                .flatten()
                .max_by(|a, b| {
                    a["points"]
                        .as_f64()
                        .partial_cmp(&b["points"].as_f64())
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .map(|o| o["id"].clone())
                .unwrap_or_default();
            json!({ "value": best })
        }
        "multiple_choice" => {
            let all: Vec<Value> = c["options"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| o["id"].clone())
                .collect();
            json!({ "value": all })
        }
        "measured" => json!({ "value": c["measure"]["bands"][0]["threshold"] }),
        _ => json!({ "value": "我们开展了多项可持续消费活动。" }),
    }
}

/// A submission and its current ETag.
pub struct Draft {
    pub id: i64,
    pub etag: String,
    pub path: String,
}

impl Draft {
    /// Submission `id` when its ETag does not matter (evidence uploads take none).
    pub fn of(id: i64) -> Self {
        Self {
            id,
            etag: String::new(),
            path: format!("/api/v1/submissions/{id}"),
        }
    }
}

impl Client {
    /// Discards draft `d` with its ETag, as its enterprise's administrator `token` (204).
    pub async fn discard(&self, token: &str, d: &Draft) {
        let gone = self
            .send_if_match(Method::DELETE, &d.path, token, &d.etag, None)
            .await;
        assert_eq!(gone.status, 204, "{}", gone.text());
    }

    pub async fn create_submission(&self, token: &str, version: &str) -> Draft {
        let res = self
            .post(
                "/api/v1/submissions",
                Some(token),
                &json!({ "schema_id": "cca-good-enterprise", "version": version }),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        let id = res.json()["id"].as_i64().expect("id");
        Draft {
            id,
            etag: res.header("etag").expect("etag"),
            path: format!("/api/v1/submissions/{id}"),
        }
    }

    /// The criteria a submission must answer.
    pub async fn criteria_of(&self, token: &str, industry: &str, version: &str) -> Vec<Value> {
        let res = self
            .get(
                &format!("/api/v1/schemas/cca-good-enterprise/versions/{version}/resolved?industry={industry}"),
                Some(token),
            )
            .await;
        res.json()["criteria"].as_array().expect("criteria").clone()
    }

    /// Sends JSON with an If-Match header.
    pub async fn send_if_match(
        &self,
        method: Method,
        path: &str,
        token: &str,
        etag: &str,
        body: Option<&Value>,
    ) -> Resp {
        let body = body.map(|b| ("application/json", serde_json::to_vec(b).expect("json")));
        self.request(method, path, Some(token), body, &[("if-match", etag)])
            .await
    }

    /// Saves answers in bulk and returns the new ETag.
    pub async fn answer_all(
        &self,
        token: &str,
        draft: &mut Draft,
        answers: serde_json::Map<String, Value>,
    ) {
        let res = self
            .send_if_match(
                Method::PATCH,
                &format!("{}/answers", draft.path),
                token,
                &draft.etag,
                Some(&json!({ "answers": answers })),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        draft.etag = res.header("etag").expect("etag");
    }

    pub async fn upload(
        &self,
        token: &str,
        draft: &Draft,
        filename: &str,
        content_type: &str,
        content: &[u8],
        criteria: &str,
    ) -> Resp {
        let (ct, body) = multipart(filename, content_type, content, criteria);
        self.request(
            Method::POST,
            &format!("{}/evidence", draft.path),
            Some(token),
            Some((ct.as_str(), body)),
            &[],
        )
        .await
    }

    /// Re-reads the ETag of a submission.
    pub async fn etag_of(&self, token: &str, draft: &mut Draft) {
        let res = self.get(&draft.path, Some(token)).await;
        draft.etag = res.header("etag").expect("etag");
    }
}

/// Answers every criterion (maturity ones at `maturity`), attaches evidence and submits; the
/// enterprise's licence is then verified, so that the submission can be approved.
pub async fn submitted(app: &Client, e: &Enterprise, industry: &str, maturity: u8) -> i64 {
    let id = submitted_unverified(app, e, industry, maturity).await;
    verify_enterprise(app, &e.token, id).await;
    id
}

/// [`submitted`] without the licence check.
pub async fn submitted_unverified(
    app: &Client,
    e: &Enterprise,
    industry: &str,
    maturity: u8,
) -> i64 {
    submitted_with(app, e, industry, |c| {
        if c["kind"] == "maturity" {
            json!({ "value": maturity })
        } else {
            best_answer(c)
        }
    })
    .await
}

/// A submitted 2024 self-assessment with every criterion answered by `answer`, evidence
/// attached where required; the licence is not checked.
pub async fn submitted_with(
    app: &Client,
    e: &Enterprise,
    industry: &str,
    answer: impl Fn(&Value) -> Value,
) -> i64 {
    let mut d = answered_draft(app, e, industry, answer).await;
    app.etag_of(&e.token, &mut d).await;
    let res = app
        .send_if_match(
            Method::POST,
            &format!("{}/submit", d.path),
            &e.token,
            &d.etag,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    d.id
}

/// A 2024 draft with every criterion of `industry` answered by `answer` and evidence attached
/// to each criterion that requires it.
pub async fn answered_draft(
    app: &Client,
    e: &Enterprise,
    industry: &str,
    answer: impl Fn(&Value) -> Value,
) -> Draft {
    let mut d = app.create_submission(&e.token, "2024").await;
    let criteria = app.criteria_of(&e.token, industry, "2024").await;
    let mut answers = serde_json::Map::new();
    let mut needs = Vec::new();
    for c in &criteria {
        let id = c["id"].as_str().unwrap().to_owned();
        if c["evidence"]["required"] == true {
            needs.push(id.clone());
        }
        answers.insert(id, answer(c));
    }
    app.answer_all(&e.token, &mut d, answers).await;
    let res = app
        .upload(
            &e.token,
            &d,
            "proof.png",
            "image/png",
            PNG_BYTES,
            &needs.join(","),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    d
}

/// Has the administrator check the business licence of submission `id`'s enterprise (its first
/// evidence file), as approval requires.
pub async fn verify_enterprise(app: &Client, enterprise_token: &str, id: i64) {
    let s = app
        .get(&format!("/api/v1/submissions/{id}"), Some(enterprise_token))
        .await
        .json();
    let files = app
        .get(
            &format!("/api/v1/submissions/{id}/evidence"),
            Some(enterprise_token),
        )
        .await
        .json();
    let admin = app.admin_token().await;
    let res = app
        .post(
            &format!("/api/v1/enterprises/{}/verify", s["enterprise_id"]),
            Some(&admin),
            &json!({ "evidence_id": files["items"][0]["id"], "note": "营业执照与信用代码一致" }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
}

/// Claims a submission for review and accepts every red line and legal duty, as approval
/// requires; returns the review view.
pub async fn claim_and_decide(app: &Client, reviewer: &str, id: i64) -> Value {
    let res = app
        .post(
            &format!("/api/v1/reviews/{id}/claim"),
            Some(reviewer),
            &json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    decide_gates(app, reviewer, id).await
}

/// Accepts every red line and legal duty of the open review round that has no verdict yet;
/// returns the review view.
pub async fn decide_gates(app: &Client, reviewer: &str, id: i64) -> Value {
    let view = app
        .get(&format!("/api/v1/reviews/{id}"), Some(reviewer))
        .await
        .json();
    let required = view["verdicts_required"]
        .as_array()
        .expect("verdicts_required");
    if required.is_empty() {
        return view;
    }
    let verdicts: serde_json::Map<String, Value> = required
        .iter()
        .map(|c| {
            (
                c.as_str().unwrap().to_owned(),
                json!({ "verdict": "accept" }),
            )
        })
        .collect();
    let res = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/reviews/{id}/verdicts"),
            Some(reviewer),
            &json!({ "verdicts": verdicts }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let view = res.json();
    assert_eq!(view["verdicts_required"], json!([]), "{view}");
    view
}

/// Claims and approves a submission whose level needs one reviewer; returns the certificate.
pub async fn approve(app: &Client, reviewer: &str, id: i64) -> Value {
    claim_and_decide(app, reviewer, id).await;
    let res = app
        .post(
            &format!("/api/v1/reviews/{id}/approve"),
            Some(reviewer),
            &json!({ "comment": "符合要求" }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()["certificate"].clone()
}

/// `value` with every member named in `keys`, at any depth, replaced by `"[redacted]"`: the
/// parts of a response that change from run to run (numbers, dates, signatures, generated
/// names), so that the rest can be compared with a snapshot.
pub fn redacted(value: &Value, keys: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if keys.contains(&k.as_str()) && !v.is_null() {
                        json!("[redacted]")
                    } else {
                        redacted(v, keys)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| redacted(v, keys)).collect()),
        other => other.clone(),
    }
}

/// A Python interpreter that imports `modules` (comma-separated), for the independent checks
/// written in Python (the certificate verifier, the Standard Webhooks reference library):
/// `CSR_VERIFIER_PYTHON` or `python3`. `.ci/run` installs them and sets `CSR_REQUIRE_VERIFIER`,
/// so there a test fails rather than skips without them.
pub fn python_with(modules: &str) -> Option<String> {
    let python = std::env::var("CSR_VERIFIER_PYTHON").unwrap_or_else(|_| "python3".into());
    let ready = std::process::Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        assert!(
            std::env::var("CSR_REQUIRE_VERIFIER").is_err(),
            "CSR_REQUIRE_VERIFIER is set but {python} lacks {modules}"
        );
        eprintln!("{python} lacks {modules}: the check in Python is not run");
    }
    ready.then_some(python)
}

/// Today in China (UTC+8), as the service counts deadlines.
pub fn china_today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}
