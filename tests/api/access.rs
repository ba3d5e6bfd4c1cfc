//! The authorization matrix, generated from the served OpenAPI document: every operation declares
//! who may call it, and every role (and an anonymous caller) calls every operation. Undeclared
//! roles are refused before anything else happens; declared roles are never refused at the role
//! level; an enterprise's objects are invisible (404) to another enterprise's users everywhere;
//! and every documented operation is a registered route.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, PASSWORD, TestApp, approve, spawn_app, spawn_app_with, submitted, unique_email,
};

const ROLES: [&str; 7] = [
    "admin",
    "reviewer",
    "industry_body",
    "enterprise_admin",
    "enterprise_member",
    "complaint_officer",
    "complaint_platform",
];

/// One documented operation and the roles its `security` declares (`None`: public).
struct Operation {
    method: Method,
    path: String,
    roles: Option<Vec<String>>,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let security = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path} declares no access (security)"));
            assert!(!security.is_empty(), "{method} {path}: empty security list");
            let roles = if security.iter().any(|r| r == &json!({})) {
                None
            } else {
                let names: Vec<String> = security
                    .iter()
                    .flat_map(|r| r["bearer"].as_array().cloned().unwrap_or_default())
                    .map(|n| n.as_str().unwrap().to_owned())
                    .collect();
                assert!(!names.is_empty(), "{method} {path}: no roles declared");
                for n in &names {
                    assert!(ROLES.contains(&n.as_str()), "{method} {path}: role {n}");
                }
                Some(names)
            };
            ops.push(Operation {
                method,
                path: path.clone(),
                roles,
            });
        }
    }
    ops
}

/// Objects of enterprise A that the path parameters point at.
struct Fixture {
    enterprise: i64,
    submission: i64,
    evidence: i64,
    user: i64,
    certificate: String,
    complaint: i64,
    incident: i64,
}

impl Fixture {
    /// The concrete path of `template`. Writes to schemas aim at a version that does not exist,
    /// so exercising them changes nothing the rest of the matrix reads.
    fn path(&self, method: &Method, template: &str) -> String {
        let id = if template.starts_with("/api/v1/enterprises/") {
            self.enterprise.to_string()
        } else if template.starts_with("/api/v1/complaints/") {
            self.complaint.to_string()
        } else if template.starts_with("/api/v1/complaint-incidents/") {
            self.incident.to_string()
        } else if template.starts_with("/api/v1/users/") {
            self.user.to_string()
        } else if template.starts_with("/api/v1/schemas/") {
            "cca-good-enterprise".to_owned()
        } else {
            self.submission.to_string()
        };
        let version = if method == Method::GET {
            "2024"
        } else {
            "9999"
        };
        template
            .replace("{id}", &id)
            .replace("{evidence_id}", &self.evidence.to_string())
            .replace("{criterion}", "lawful.staff_training")
            .replace("{version}", version)
            .replace("{number}", &self.certificate)
    }

    /// Whether the path names an object that belongs to enterprise A.
    fn owned_by_enterprise(template: &str) -> bool {
        [
            "enterprises",
            "submissions",
            "reviews",
            "users",
            "complaints",
            "complaint-incidents",
        ]
        .iter()
        .any(|r| template.starts_with(&format!("/api/v1/{r}/{{id}}")))
    }
}

async fn call(app: &TestApp, op: &Operation, path: &str, token: Option<&str>) -> (u16, Value) {
    let body = (op.method != Method::GET && op.method != Method::DELETE)
        .then(|| ("application/json", b"{}".to_vec()));
    let res = app.request(op.method.clone(), path, token, body, &[]).await;
    let problem = if res.header("content-type").as_deref() == Some("application/problem+json") {
        res.json()
    } else {
        Value::Null
    };
    (res.status, problem)
}

/// The application with enterprise A's objects, the callers of every role, and A's outsiders.
struct Matrix {
    app: TestApp,
    ops: Vec<Operation>,
    fixture: Fixture,
    /// `(role, token)` of a user of each role; the enterprise roles belong to A.
    insiders: Vec<(&'static str, String)>,
    /// Enterprise B's admin and member.
    outsiders: Vec<(&'static str, String)>,
}

const METRICS_TOKEN: &str = "matrix-metrics-token";

async fn matrix(b: Backend) -> Matrix {
    let app = spawn_app_with(b, |s| {
        s.metrics_token = Some(csr_assess::config::Secret::new(METRICS_TOKEN));
        s.group_complaint_threshold = 2;
    })
    .await;
    let doc = app.get("/openapi.json", None).await.json();
    let ops = operations(&doc);
    assert!(ops.len() > 60, "only {} operations documented", ops.len());

    // Enterprise A owns the objects; enterprise B's users are the outsiders.
    let a = app.enterprise().await;
    let b_ent = app.enterprise().await;
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    let (_, industry) = app
        .staff("industry_body", json!({ "industry_scopes": ["C14"] }))
        .await;
    let admin = app.admin_token().await;
    let a_member = app.member_token(&a).await;
    let b_member = app.member_token(&b_ent).await;
    let submission = submitted(&app, &a, "C1491", 2).await;
    let certificate = approve(&app, &reviewer, submission).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let evidence = app
        .get(
            &format!("/api/v1/submissions/{submission}/evidence"),
            Some(&a.token),
        )
        .await
        .json()["items"][0]["id"]
        .as_i64()
        .unwrap();
    // Two complaints against A on one issue: a group-complaint incident. The officer records
    // them, so they are on the case.
    let (_, officer) = app.staff("complaint_officer", json!({})).await;
    let (_, platform) = app.staff("complaint_platform", json!({})).await;
    let credit_code = app
        .get(&format!("/api/v1/enterprises/{}", a.id), Some(&a.token))
        .await
        .json()["credit_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut complaint = 0;
    let mut incident = 0;
    for token in [&officer, &platform] {
        let res = app
            .post(
                "/api/v1/complaints",
                Some(token),
                &json!({
                    "credit_code": credit_code, "category": "quality", "channel": "online",
                    "description": "质量问题", "contact": { "name": "张", "phone": "13800000000" },
                }),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        complaint = res.json()["id"].as_i64().unwrap();
        incident = res.json()["incident_id"].as_i64().unwrap_or_default();
    }
    assert!(incident > 0);
    let me = app.get("/api/v1/me", Some(&a.token)).await.json();
    let fixture = Fixture {
        enterprise: a.id,
        submission,
        evidence,
        user: me["id"].as_i64().unwrap(),
        certificate,
        complaint,
        incident,
    };
    Matrix {
        ops,
        fixture,
        insiders: vec![
            ("admin", admin),
            ("reviewer", reviewer),
            ("industry_body", industry),
            ("enterprise_admin", a.token.clone()),
            ("enterprise_member", a_member),
            ("complaint_officer", officer),
            ("complaint_platform", platform),
        ],
        outsiders: vec![
            ("enterprise_admin", b_ent.token.clone()),
            ("enterprise_member", b_member),
        ],
        app,
    }
}

async fn every_role_calls_every_route(b: Backend) {
    let Matrix {
        app,
        ops,
        fixture,
        insiders,
        outsiders,
    } = matrix(b).await;
    let mut exercised = 0;
    // Refusals first: they must not change anything, so the order of operations is free.
    for op in &ops {
        let path = fixture.path(&op.method, &op.path);
        let Some(roles) = &op.roles else {
            let (status, _) = call(&app, op, &path, None).await;
            assert!(
                status != 401 && status != 403 && status < 500,
                "anonymous {} {path}: public route answered {status}",
                op.method
            );
            exercised += 1;
            continue;
        };
        let (status, p) = call(&app, op, &path, None).await;
        assert_eq!(status, 401, "anonymous {} {path}: {p}", op.method);
        for (role, token) in insiders.iter().chain(&outsiders) {
            if roles.iter().any(|r| r == role) {
                continue;
            }
            let (status, p) = call(&app, op, &path, Some(token.as_str())).await;
            assert_eq!(status, 403, "{role} {} {path}: {p}", op.method);
            assert_eq!(p["code"], "forbidden", "{role} {} {path}: {p}", op.method);
            exercised += 1;
        }
        // Another enterprise's users who hold an admitted role see nothing of enterprise A.
        if Fixture::owned_by_enterprise(&op.path) {
            for (role, token) in &outsiders {
                if !roles.iter().any(|r| r == role) {
                    continue;
                }
                let (status, p) = call(&app, op, &path, Some(token.as_str())).await;
                assert_eq!(status, 404, "outsider {role} {} {path}: {p}", op.method);
                assert_eq!(p["code"], "not_found", "outsider {role} {path}: {p}");
                exercised += 1;
            }
        }
    }
    // Then every admitted role: never refused for its role, never a server error.
    for op in &ops {
        let Some(roles) = &op.roles else { continue };
        let path = fixture.path(&op.method, &op.path);
        for (role, token) in &insiders {
            if !roles.iter().any(|r| r == role) {
                continue;
            }
            let (status, p) = call(&app, op, &path, Some(token.as_str())).await;
            assert!(
                status != 401 && status != 403 && status != 405 && status < 500,
                "{role} {} {path} answered {status}: {p}",
                op.method
            );
            exercised += 1;
        }
    }
    eprintln!("{} operations, {exercised} role × route calls", ops.len());
    assert!(exercised > 250, "only {exercised} role × route calls");

    // Every documented operation was routed to a resource with exactly its template, and the
    // router matched nothing that is not documented (beyond the API browser under /docs).
    let metrics = app.get("/metrics", Some(METRICS_TOKEN)).await.text();
    let mut served = std::collections::BTreeSet::new();
    for line in metrics.lines() {
        if let Some(labels) = line.strip_prefix("csr_http_requests_total{") {
            let method = labels.split("method=\"").nth(1).unwrap().split('"').next();
            let route = labels.split("route=\"").nth(1).unwrap().split('"').next();
            served.insert((method.unwrap().to_owned(), route.unwrap().to_owned()));
        }
    }
    for op in &ops {
        assert!(
            served.contains(&(op.method.to_string(), op.path.clone())),
            "{} {} is documented but not routed",
            op.method,
            op.path
        );
    }
    for (method, route) in &served {
        let documented = ops
            .iter()
            .any(|op| op.method.as_str() == method && &op.path == route);
        assert!(
            documented || route == "unmatched" || route.starts_with("/docs/"),
            "{method} {route} is routed but not documented"
        );
    }
}

/// Other spellings of `path` (the concrete path of `template`): each letter and digit of each
/// literal segment percent-encoded alone, in lower- and upper-case hex; every one encoded at once;
/// double encoding; `%2F` for each slash; a trailing slash, `//`, `/./` and `..` segments.
fn variants(template: &str, path: &str) -> Vec<String> {
    let literal: Vec<bool> = template.split('/').map(|s| !s.contains('{')).collect();
    let segments: Vec<&str> = path.split('/').collect();
    assert_eq!(literal.len(), segments.len(), "{template} vs {path}");
    let join = |segs: &[String]| segs.join("/");
    let owned: Vec<String> = segments.iter().map(|s| (*s).to_owned()).collect();
    let encode = |c: char, upper: bool| {
        let hex = format!("%{:02x}", c as u32);
        if upper { hex.to_ascii_uppercase() } else { hex }
    };
    let mut out = Vec::new();
    let mut everything = owned.clone();
    for (i, seg) in segments.iter().enumerate() {
        if !literal[i] || seg.is_empty() {
            continue;
        }
        for (j, c) in seg.char_indices() {
            if !c.is_ascii_alphanumeric() {
                continue;
            }
            for upper in [false, true] {
                let hex = encode(c, upper);
                if upper && hex == encode(c, false) {
                    continue;
                }
                let mut segs = owned.clone();
                segs[i] = format!("{}{hex}{}", &seg[..j], &seg[j + c.len_utf8()..]);
                out.push(join(&segs));
            }
        }
        everything[i] = seg.chars().map(|c| encode(c, true)).collect();
        let mut segs = owned.clone();
        let first = seg.chars().next().unwrap();
        segs[i] = format!("%25{:02X}{}", first as u32, &seg[first.len_utf8()..]);
        out.push(join(&segs));
    }
    out.push(join(&everything));
    for i in 2..segments.len() {
        let mut segs = owned.clone();
        let merged = format!("{}%2F{}", segs[i - 1], segs[i]);
        segs.splice(i - 1..=i, [merged]);
        out.push(join(&segs));
    }
    let last = segments.len() - 1;
    let before_last = join(&owned[..last]);
    // `/docs` redirects to `/docs/`, which is another documented route.
    if template != "/docs" {
        out.push(format!("{path}/"));
    }
    out.push(format!("{before_last}//{}", owned[last]));
    out.push(format!("{before_last}/./{}", owned[last]));
    out.push(format!("{before_last}/x/../{}", owned[last]));
    out.push(format!("{before_last}/%2e/{}", owned[last]));
    out.push(path.replacen('/', "//", 2));
    out
}

/// Every operation through every spelling of its path: a spelling answers exactly what the
/// plain path answers, or 404 (405 where it names another path). A caller refused on the plain path is refused on every spelling;
/// admitted callers compare their reads (writes would change what the next call sees).
async fn encoded_paths_grant_no_more_access(b: Backend) {
    let Matrix {
        app,
        ops,
        fixture,
        insiders,
        outsiders,
    } = matrix(b).await;
    let callers: Vec<(&str, Option<&str>)> = std::iter::once(("anonymous", None))
        .chain(
            insiders
                .iter()
                .chain(&outsiders)
                .map(|(r, t)| (*r, Some(t.as_str()))),
        )
        .collect();
    let mut checked = 0;
    for op in &ops {
        let path = fixture.path(&op.method, &op.path);
        let spellings = variants(&op.path, &path);
        for (role, token) in &callers {
            let admitted = match (&op.roles, token) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(roles), Some(_)) => roles.iter().any(|r| r == role),
            };
            if admitted && op.method != Method::GET {
                continue;
            }
            let (plain, _) = call(&app, op, &path, *token).await;
            if !admitted {
                assert!(
                    plain == 401 || plain == 403,
                    "{role} {} {path}: {plain}",
                    op.method
                );
            }
            // In groups no larger than the render queue, which refuses report renders past it.
            let mut answers = Vec::new();
            for chunk in spellings.chunks(app.state.renderers.bound()) {
                let some = chunk.iter().map(|v| call(&app, op, v, *token));
                answers.extend(futures_util::future::join_all(some).await);
            }
            for (spelling, (status, p)) in spellings.iter().zip(answers) {
                // A spelling that names another path (`1%2Fusers` is one `{id}`) may also meet
                // that path's refusals: 405, or 401/403 where that path admits fewer roles —
                // never more access than the plain path.
                assert!(
                    status == plain || matches!(status, 401 | 403 | 404 | 405),
                    "{role} {} {spelling}: {status} where {path} answers {plain}: {p}",
                    op.method
                );
                checked += 1;
            }
        }
    }
    eprintln!("{} operations, {checked} spellings checked", ops.len());
    assert!(checked > 10_000, "only {checked} spellings checked");
}

/// The review's reproduction: an enterprise member creating an administrator through
/// `/api/v1/%75sers` is refused, and no account is created.
async fn percent_encoded_path_does_not_make_an_administrator(b: Backend) {
    let app = spawn_app(b).await;
    let a = app.enterprise().await;
    let member = app.member_token(&a).await;
    let email = unique_email("evil-admin");
    let body = json!({ "email": email, "password": PASSWORD, "role": "admin" });
    for path in [
        "/api/v1/%75sers",
        "/api/v1/%75%73%65%72%73",
        "/%61pi/v1/users",
    ] {
        let res = app
            .request(
                Method::POST,
                path,
                Some(&member),
                Some(("application/json", body.to_string().into_bytes())),
                &[],
            )
            .await;
        res.problem(403, "forbidden");
    }
    assert_eq!(app.login(&email, PASSWORD).await.status, 401);
    let admin = app.admin_token().await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/%75sers",
            Some(&admin),
            Some(("application/json", body.to_string().into_bytes())),
            &[],
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
}

backend_tests!(
    every_role_calls_every_route,
    encoded_paths_grant_no_more_access,
    percent_encoded_path_does_not_make_an_administrator
);
