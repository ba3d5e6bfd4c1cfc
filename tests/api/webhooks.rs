//! Webhooks end to end: a receiver on a local port gets the events a review raises, signed as
//! Standard Webhooks prescribe (checked with the specification's Python reference library);
//! failures are retried in order, two instances deliver each event once, a lease left by a dead
//! instance is taken over, an endpoint that keeps failing is disabled, and targets are checked.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Client, FreshDatabase, TestApp, fresh_postgres,
    spawn_app_with, spawn_sibling, submitted,
};

backend_tests!(
    review_events_arrive_signed,
    a_failing_endpoint_gets_every_event_once_in_order,
    two_instances_deliver_each_event_once,
    a_dead_instances_lease_is_taken_over,
    a_killed_server_delivers_after_restart,
    an_endpoint_that_keeps_failing_is_disabled,
    targets_and_subscriptions_are_checked,
);

/// One request the receiver accepted.
#[derive(Debug, Clone)]
struct Received {
    headers: BTreeMap<String, String>,
    body: String,
}

/// How a receiver answers.
#[derive(Clone, Copy)]
enum Answer {
    /// 500 to the first n requests, 204 to the others.
    FailFirst(usize),
    /// 500 to every request.
    FailAlways,
    /// Never answers the first request (its sender dies waiting), 204 to the others.
    StallFirst,
}

/// A webhook receiver on 127.0.0.1 that keeps the requests it acknowledged (2xx).
#[derive(Clone)]
struct Receiver {
    url: String,
    accepted: Arc<Mutex<Vec<Received>>>,
    requests: Arc<AtomicUsize>,
    /// Every request's `webhook-id`, acknowledged or not.
    seen: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    fn start(fail_first: usize, fail_always: bool) -> Self {
        Self::answering(if fail_always {
            Answer::FailAlways
        } else {
            Answer::FailFirst(fail_first)
        })
    }

    fn answering(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let r = Self {
            url,
            accepted: Arc::default(),
            requests: Arc::default(),
            seen: Arc::default(),
        };
        let shared = r.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || shared.serve_one(stream, answer));
            }
        });
        r
    }

    fn serve_one(&self, mut stream: std::net::TcpStream, answer: Answer) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut headers = BTreeMap::new();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap_or_default();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap_or_default();
        let n = self.requests.fetch_add(1, Ordering::SeqCst);
        self.seen
            .lock()
            .unwrap()
            .push(headers.get("webhook-id").cloned().unwrap_or_default());
        let fail = match answer {
            Answer::FailFirst(first) => n < first,
            Answer::FailAlways => true,
            Answer::StallFirst if n == 0 => {
                std::thread::sleep(Duration::from_secs(60));
                return;
            }
            Answer::StallFirst => false,
        };
        if !fail {
            self.accepted.lock().unwrap().push(Received {
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let status = if fail {
            "500 Internal Server Error"
        } else {
            "204 No Content"
        };
        let _ = stream.write_all(
            format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        );
    }

    fn accepted(&self) -> Vec<Received> {
        self.accepted.lock().unwrap().clone()
    }

    /// Waits until `n` requests were accepted (at most 20 s).
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.accepted();
            if got.len() >= n {
                return got;
            }
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{} of {n} webhooks arrived", self.accepted().len());
    }
}

fn event_type(r: &Received) -> String {
    serde_json::from_str::<Value>(&r.body).unwrap()["type"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An app whose worker polls every 20 ms, retries after 20 ms and may call 127.0.0.1.
async fn webhook_app(b: Backend, tweak: impl FnOnce(&mut csr_assess::config::Settings)) -> TestApp {
    spawn_app_with(b, |s| {
        s.webhook_poll_ms = 20;
        s.webhook_retry_base_ms = 20;
        s.webhook_allowed_hosts = vec!["127.0.0.1".into()];
        tweak(s);
    })
    .await
}

/// Registers `url` for `types` with `token`; returns (id, secret).
async fn register(app: &Client, token: &str, url: &str, types: &[&str]) -> (i64, String) {
    let res = app
        .post(
            "/api/v1/webhooks",
            Some(token),
            &json!({ "url": url, "event_types": types, "description": "测试接收端" }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let body = res.json();
    (
        body["id"].as_i64().unwrap(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

/// The reference library of the Standard Webhooks specification accepts every request, and
/// refuses one whose body changed.
fn verify_with_reference(secret: &str, received: &[Received]) {
    let Some(python) = crate::helpers::python_with("standardwebhooks") else {
        return;
    };
    let cases: Vec<Value> = received
        .iter()
        .map(|r| json!({ "headers": r.headers, "body": r.body }))
        .collect();
    let script = r#"
import json, sys, time
from standardwebhooks.webhooks import Webhook
secret, cases = sys.argv[1], json.loads(sys.stdin.read())
wh = Webhook(secret)
for case in cases:
    headers = {k: v for k, v in case["headers"].items() if k.startswith("webhook-")}
    wh.verify(case["body"], headers)
    try:
        wh.verify(case["body"].replace("}", " }", 1), headers)
    except Exception:
        pass
    else:
        sys.exit("a changed body verified")
print(len(cases))
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", script, secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&cases).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        cases.len().to_string()
    );
}

/// A review's events reach the enterprise's endpoint signed and in order: evidence requested,
/// returned; then, after resubmission, approved with the certificate issued, and suspended. An
/// industry body in scope hears the certificate events only; one out of scope hears nothing.
async fn review_events_arrive_signed(b: Backend) {
    let app = webhook_app(b, |_| {}).await;
    let e = app.enterprise().await;
    let receiver = Receiver::start(0, false);
    let all = [
        "submission.returned",
        "submission.approved",
        "submission.rejected",
        "evidence.requested",
        "certificate.issued",
        "certificate.suspended",
        "certificate.reinstated",
        "certificate.revoked",
        "certificate.expiring",
    ];
    let (_, secret) = register(&app, &e.token, &receiver.url, &all).await;
    let body_receiver = Receiver::start(0, false);
    let (_, body) = app
        .staff("industry_body", json!({ "industry_scopes": ["C14"] }))
        .await;
    register(&app, &body, &body_receiver.url, &["certificate.issued"]).await;
    let other_receiver = Receiver::start(0, false);
    let (_, other) = app
        .staff("industry_body", json!({ "industry_scopes": ["C39"] }))
        .await;
    register(&app, &other, &other_receiver.url, &["certificate.issued"]).await;

    let id = submitted(&app, &e, "C1491", 2).await;
    let (_, r) = app.staff("reviewer", json!({})).await;
    app.post(&format!("/api/v1/reviews/{id}/claim"), Some(&r), &json!({}))
        .await;
    let res = app
        .send_json(
            Method::PUT,
            &format!("/api/v1/reviews/{id}/verdicts/lawful.staff_training"),
            Some(&r),
            &json!({ "verdict": "request_evidence", "comment": "请提供培训记录" }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = app
        .post(
            &format!("/api/v1/reviews/{id}/return"),
            Some(&r),
            &json!({ "comment": "请补充培训记录" }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let got = receiver.wait_for(2).await;
    assert_eq!(
        got.iter().map(event_type).collect::<Vec<_>>(),
        ["evidence.requested", "submission.returned"]
    );
    let returned: Value = serde_json::from_str(&got[1].body).unwrap();
    assert_eq!(returned["data"]["submission_id"], id);
    assert_eq!(returned["data"]["comment"], "请补充培训记录");

    // Resubmitted and approved: approval and certificate; then suspended.
    let path = format!("/api/v1/submissions/{id}");
    let etag = app.get(&path, Some(&e.token)).await.header("etag").unwrap();
    let res = app
        .send_if_match(
            Method::POST,
            &format!("{path}/submit"),
            &e.token,
            &etag,
            None,
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let number = crate::helpers::approve(&app, &r, id).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let admin = app.admin_token().await;
    app.post(
        &format!("/api/v1/certificates/{number}/suspend"),
        Some(&admin),
        &json!({ "reason": "投诉调查" }),
    )
    .await;
    let got = receiver.wait_for(5).await;
    assert_eq!(
        got.iter().map(event_type).collect::<Vec<_>>(),
        [
            "evidence.requested",
            "submission.returned",
            "submission.approved",
            "certificate.issued",
            "certificate.suspended"
        ]
    );
    let suspended: Value = serde_json::from_str(&got[4].body).unwrap();
    assert_eq!(suspended["data"]["certificate"]["number"], number.as_str());
    assert_eq!(suspended["data"]["certificate"]["status"], "suspended");
    assert_eq!(suspended["data"]["reason"], "投诉调查");
    // Every message has its own id and a fresh timestamp.
    let ids: std::collections::BTreeSet<&String> =
        got.iter().map(|r| &r.headers["webhook-id"]).collect();
    assert_eq!(ids.len(), got.len());
    let now = chrono::Utc::now().timestamp();
    for r in &got {
        let ts: i64 = r.headers["webhook-timestamp"].parse().unwrap();
        assert!((now - ts).abs() < 120, "{ts}");
        assert_eq!(r.headers["content-type"], "application/json");
        let expected = csr_assess::domain::webhook::signature(
            &base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                secret.trim_start_matches("whsec_"),
            )
            .unwrap(),
            &r.headers["webhook-id"],
            ts,
            &r.body,
        );
        assert_eq!(r.headers["webhook-signature"], expected);
    }
    verify_with_reference(&secret, &got);

    // The industry body in scope heard of the certificate only; the other, nothing.
    let heard = body_receiver.wait_for(1).await;
    assert_eq!(
        heard.iter().map(event_type).collect::<Vec<_>>(),
        ["certificate.issued"]
    );
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    assert!(other_receiver.accepted().is_empty());
    assert_eq!(body_receiver.accepted().len(), 1);
}

/// Raises `n` events for enterprise `e`: evidence requests on its claimed submission.
async fn raise(app: &Client, reviewer: &str, id: i64, criteria: &[String]) {
    for c in criteria {
        let res = app
            .send_json(
                Method::PUT,
                &format!("/api/v1/reviews/{id}/verdicts/{c}"),
                Some(reviewer),
                &json!({ "verdict": "request_evidence", "comment": format!("证据 {c}") }),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
    }
}

/// A submitted submission claimed by a reviewer, and `n` of its criteria.
async fn claimed(app: &Client, n: usize) -> (crate::helpers::Enterprise, String, i64, Vec<String>) {
    let e = app.enterprise().await;
    let id = submitted(app, &e, "C1491", 2).await;
    let (_, r) = app.staff("reviewer", json!({})).await;
    app.post(&format!("/api/v1/reviews/{id}/claim"), Some(&r), &json!({}))
        .await;
    let view = app
        .get(&format!("/api/v1/submissions/{id}"), Some(&e.token))
        .await
        .json();
    let criteria: Vec<String> = view["answers"]
        .as_object()
        .unwrap()
        .keys()
        .take(n)
        .cloned()
        .collect();
    assert_eq!(criteria.len(), n);
    (e, r, id, criteria)
}

fn requested_criteria(got: &[Received]) -> Vec<String> {
    got.iter()
        .map(|r| {
            serde_json::from_str::<Value>(&r.body).unwrap()["data"]["criterion_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// The endpoint fails twice, then recovers: every event arrives once, in the order raised, and
/// the delivery log shows the retries.
async fn a_failing_endpoint_gets_every_event_once_in_order(b: Backend) {
    let app = webhook_app(b, |_| {}).await;
    let (e, r, id, criteria) = claimed(&app, 4).await;
    let receiver = Receiver::start(2, false);
    let (hook, _) = register(&app, &e.token, &receiver.url, &["evidence.requested"]).await;
    raise(&app, &r, id, &criteria).await;
    let got = receiver.wait_for(4).await;
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.accepted().len(), 4, "an event arrived twice");
    assert_eq!(requested_criteria(&got), criteria);
    assert_eq!(receiver.requests.load(Ordering::SeqCst), 6);
    let log = app
        .get(
            &format!("/api/v1/webhooks/{hook}/deliveries"),
            Some(&e.token),
        )
        .await
        .json();
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["attempts"], 3);
    assert_eq!(items[0]["state"], "delivered");
    assert_eq!(items[0]["last_status"], 204);
    assert!(items[1..].iter().all(|d| d["attempts"] == 1), "{log}");
    // Redelivery sends the same message again.
    let first = items[0]["id"].as_i64().unwrap();
    let res = app
        .post(
            &format!("/api/v1/webhooks/{hook}/deliveries/{first}/redeliver"),
            Some(&e.token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status, 202, "{}", res.text());
    let again = receiver.wait_for(5).await;
    assert_eq!(again[4].headers["webhook-id"], got[0].headers["webhook-id"]);
    // Another enterprise sees neither the endpoint nor its log.
    let outsider = app.enterprise().await;
    for path in [
        format!("/api/v1/webhooks/{hook}"),
        format!("/api/v1/webhooks/{hook}/deliveries"),
    ] {
        app.get(&path, Some(&outsider.token))
            .await
            .problem(404, "not_found");
    }
    // Nor can they change it, nor can an industry body.
    let (_, body) = app
        .staff("industry_body", json!({ "industry_scopes": ["C"] }))
        .await;
    for token in [&outsider.token, &body] {
        for (method, path) in [
            (Method::POST, format!("/api/v1/webhooks/{hook}/enable")),
            (
                Method::POST,
                format!("/api/v1/webhooks/{hook}/deliveries/{first}/redeliver"),
            ),
            (Method::DELETE, format!("/api/v1/webhooks/{hook}")),
        ] {
            app.request(method, &path, Some(token), None, &[])
                .await
                .problem(404, "not_found");
        }
    }
    assert_eq!(
        app.get(&format!("/api/v1/webhooks/{hook}"), Some(&e.token))
            .await
            .status,
        200
    );
}

/// Two instances on one database, both polling: each event is delivered once.
async fn two_instances_deliver_each_event_once(b: Backend) {
    let app = webhook_app(b, |_| {}).await;
    let sibling = spawn_sibling(&app, |_| {}).await;
    let (e, r, id, criteria) = claimed(&app, 20).await;
    let receiver = Receiver::start(0, false);
    register(&app, &e.token, &receiver.url, &["evidence.requested"]).await;
    let (first, second) = criteria.split_at(10);
    raise(&app, &r, id, first).await;
    raise(&sibling, &r, id, second).await;
    let got = receiver.wait_for(20).await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let got_now = receiver.accepted();
    assert_eq!(
        got_now.len(),
        20,
        "{} deliveries for 20 events",
        got_now.len()
    );
    let ids: std::collections::BTreeSet<&String> =
        got.iter().map(|r| &r.headers["webhook-id"]).collect();
    assert_eq!(ids.len(), 20);
    assert_eq!(requested_criteria(&got), criteria);
}

/// A delivery leased by an instance that died before sending is sent by another once the lease
/// runs out.
async fn a_dead_instances_lease_is_taken_over(b: Backend) {
    // This instance only writes events: its worker is off.
    let app = webhook_app(b, |s| s.webhook_poll_ms = 0).await;
    let (e, r, id, criteria) = claimed(&app, 1).await;
    let receiver = Receiver::start(0, false);
    register(&app, &e.token, &receiver.url, &["evidence.requested"]).await;
    raise(&app, &r, id, &criteria).await;
    // An instance takes the delivery for three seconds and dies.
    let lease = std::time::Duration::from_secs(3);
    let leased_at = std::time::Instant::now();
    let leased = app
        .state
        .db
        .write(move |conn| {
            let at = csr_assess::db::now();
            let until = at + chrono::Duration::from_std(lease).unwrap();
            csr_assess::db::webhooks::claim(conn, at, until, 10)
        })
        .await
        .unwrap();
    assert_eq!(leased.len(), 1);
    let restarted = spawn_sibling(&app, |s| s.webhook_poll_ms = 20).await;
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    // Checked only while the lease certainly holds (a slow start of the sibling on a busy
    // machine must not make the test pass or fail by chance).
    if leased_at.elapsed() < lease - std::time::Duration::from_millis(200) {
        assert!(receiver.accepted().is_empty(), "sent while leased");
    }
    let got = receiver.wait_for(1).await;
    assert_eq!(requested_criteria(&got), criteria);
    drop(restarted);
}

/// Deliveries that keep failing past the retry window are given up and the endpoint disabled;
/// enabling it again resumes the pending ones.
async fn an_endpoint_that_keeps_failing_is_disabled(b: Backend) {
    let app = webhook_app(b, |s| s.webhook_retry_window_secs = 0).await;
    let (e, r, id, criteria) = claimed(&app, 1).await;
    let receiver = Receiver::start(0, true);
    let (hook, _) = register(&app, &e.token, &receiver.url, &["evidence.requested"]).await;
    raise(&app, &r, id, &criteria).await;
    let mut view = Value::Null;
    for _ in 0..200 {
        view = app
            .get(&format!("/api/v1/webhooks/{hook}"), Some(&e.token))
            .await
            .json();
        if view["disabled_at"].is_string() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        view["disabled_reason"]
            .as_str()
            .unwrap_or_default()
            .contains("failed"),
        "{view}"
    );
    let log = app
        .get(
            &format!("/api/v1/webhooks/{hook}/deliveries"),
            Some(&e.token),
        )
        .await
        .json();
    assert_eq!(log["items"][0]["state"], "failed", "{log}");
    assert_eq!(log["items"][0]["last_status"], 500, "{log}");
    let enabled = app
        .post(
            &format!("/api/v1/webhooks/{hook}/enable"),
            Some(&e.token),
            &json!({}),
        )
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.text());
    assert!(enabled.json()["disabled_at"].is_null());
    let deleted = app
        .request(
            Method::DELETE,
            &format!("/api/v1/webhooks/{hook}"),
            Some(&e.token),
            None,
            &[],
        )
        .await;
    assert_eq!(deleted.status, 204);
    app.get(&format!("/api/v1/webhooks/{hook}"), Some(&e.token))
        .await
        .problem(404, "not_found");
}

/// Targets must be https on public hosts unless the operator allows them; industry bodies may
/// subscribe to certificate events only; members and reviewers register nothing.
async fn targets_and_subscriptions_are_checked(b: Backend) {
    let app = spawn_app_with(b, |s| s.webhook_poll_ms = 0).await;
    let e = app.enterprise().await;
    for url in [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://192.168.1.10/x",
        "https://169.254.169.254/latest",
        "https://localhost/x",
        "ftp://hooks.example.com/x",
    ] {
        let fields = app
            .post(
                "/api/v1/webhooks",
                Some(&e.token),
                &json!({ "url": url, "event_types": ["certificate.issued"] }),
            )
            .await
            .invalid_fields();
        assert_eq!(fields, ["url"], "{url}");
    }
    let fields = app
        .post(
            "/api/v1/webhooks",
            Some(&e.token),
            &json!({ "url": "https://hooks.example.com/x", "event_types": [] }),
        )
        .await
        .invalid_fields();
    assert_eq!(fields, ["event_types"]);
    let res = app
        .post(
            "/api/v1/webhooks",
            Some(&e.token),
            &json!({ "url": "https://hooks.example.com/x", "event_types": ["certificate.deleted"] }),
        )
        .await;
    assert!(res.status == 400 || res.status == 422, "{}", res.text());
    assert!(res.text().contains("event_types"), "{}", res.text());
    let (_, body) = app
        .staff("industry_body", json!({ "industry_scopes": ["C14"] }))
        .await;
    let fields = app
        .post(
            "/api/v1/webhooks",
            Some(&body),
            &json!({ "url": "https://hooks.example.com/x",
                     "event_types": ["certificate.issued", "submission.returned"] }),
        )
        .await
        .invalid_fields();
    assert_eq!(fields, ["event_types[1]"]);
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    app.post(
        "/api/v1/webhooks",
        Some(&reviewer),
        &json!({ "url": "https://hooks.example.com/x", "event_types": ["certificate.issued"] }),
    )
    .await
    .problem(403, "forbidden");
    // A registered endpoint lists without its secret.
    let (id, _) = register(
        &app,
        &e.token,
        "https://hooks.example.com/csr",
        &["certificate.issued"],
    )
    .await;
    let listed = app.get("/api/v1/webhooks", Some(&e.token)).await.json();
    assert_eq!(listed["items"][0]["id"], id);
    assert!(listed["items"][0].get("secret").is_none(), "{listed}");
    // A retried registration with its Idempotency-Key registers nothing more.
    let body = serde_json::to_vec(&json!({
        "url": "https://hooks.example.com/erp", "event_types": ["certificate.revoked"],
    }))
    .unwrap();
    let send = || {
        app.request(
            Method::POST,
            "/api/v1/webhooks",
            Some(&e.token),
            Some(("application/json", body.clone())),
            &[("idempotency-key", "register-erp")],
        )
    };
    let first = send().await;
    assert_eq!(first.status, 201, "{}", first.text());
    let again = send().await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(again.json(), first.json());
    let listed = app.get("/api/v1/webhooks", Some(&e.token)).await.json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
}

/// A real server is killed (SIGKILL) while an endpoint holds its request unanswered; after a
/// restart on the same database, the delivery's lease runs out and the event is sent again,
/// with the same `webhook-id`, and acknowledged.
async fn a_killed_server_delivers_after_restart(b: Backend) {
    use crate::kit::process::Process;
    let dir = tempfile::tempdir().unwrap();
    let db = match b {
        Backend::Sqlite => FreshDatabase::sqlite(&dir.path().join("service.db")),
        Backend::Postgres => fresh_postgres(),
    };
    let serve = || {
        let mut cmd = Process::service_command();
        cmd.arg("serve")
            .env("DATABASE_URL", &db.url)
            .env("CSR_DATA_DIR", dir.path())
            .env("CSR_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("CSR_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("CSR_WEBHOOK_POLL_MS", "50")
            .env("CSR_WEBHOOK_TIMEOUT_SECS", "1")
            .env("CSR_WEBHOOK_ALLOWED_HOSTS", "127.0.0.1");
        Process::start(cmd).unwrap_or_else(|e| panic!("{e}"))
    };
    let mut first = serve();
    let (e, r, id, criteria) = claimed(&first.http, 1).await;
    let receiver = Receiver::answering(Answer::StallFirst);
    register(
        &first.http,
        &e.token,
        &receiver.url,
        &["evidence.requested"],
    )
    .await;
    raise(&first.http, &r, id, &criteria).await;
    for _ in 0..200 {
        if receiver.requests.load(Ordering::SeqCst) > 0 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(
        receiver.requests.load(Ordering::SeqCst),
        1,
        "no delivery started"
    );
    first.signal("KILL");
    first.wait(Duration::from_secs(10));
    let second = serve();
    let got = receiver.wait_for(1).await;
    assert_eq!(requested_criteria(&got), criteria);
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0], seen[1], "the redelivery is the same message");
    drop(second);
}
