//! Hostile and malformed input: deep nesting, huge bodies (declared and chunked), invalid UTF-8,
//! invisible characters in names, Unicode normalisation, a full evidence disk, and a server
//! error that must reveal nothing but its request id. Every answer is a 4xx or 5xx problem, the
//! service keeps serving, and nothing half-written is left behind.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use actix_web::http::Method;
use serde_json::json;

use crate::helpers::{Backend, PASSWORD, PNG_BYTES, TestApp, pdf_bytes, spawn_app, spawn_app_with};

/// Sends raw bytes on a new connection and returns the status and the whole response text.
/// Runs off the test's runtime thread, which also drives the server.
async fn raw(app: &TestApp, request: &[u8]) -> (u16, String) {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let request = request.to_vec();
    actix_web::rt::task::spawn_blocking(move || raw_blocking(&addr, request))
        .await
        .unwrap()
}

fn raw_blocking(addr: &str, request: Vec<u8>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    // The server may answer before it has read everything we send: write from another thread
    // while this one reads, so the answer is read as soon as it comes.
    let mut writer = stream.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(&request);
    });
    let mut response = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = sending.join();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
    (status, text)
}

fn assert_problem(status: u16, text: &str, expected: u16) {
    assert_eq!(status, expected, "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{text}"
    );
}

/// The service still answers normally.
async fn assert_alive(app: &TestApp) {
    assert_eq!(app.get("/healthz", None).await.status, 200);
}

async fn deep_nesting_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    // Half a megabyte of brackets: within the size limit, far past any sane depth.
    let deep = format!("{}{}", "[".repeat(250_000), "]".repeat(250_000));
    for (method, path, token, body) in [
        (
            Method::POST,
            "/api/v1/enterprises".to_owned(),
            None,
            deep.clone(),
        ),
        (
            Method::PATCH,
            format!("{}/answers", d.path),
            Some(e.token.as_str()),
            format!(r#"{{"answers":{{"lawful.staff_training":{{"value":{deep}}}}}}}"#),
        ),
        (
            Method::POST,
            "/api/v1/auth/login".to_owned(),
            None,
            format!(r#"{{"email":{deep}}}"#),
        ),
    ] {
        let res = app
            .request(
                method.clone(),
                &path,
                token,
                Some(("application/json", body.into_bytes())),
                &[("if-match", d.etag.as_str())],
            )
            .await;
        assert!(
            res.status == 400 || res.status == 422,
            "{method} {path}: {} {}",
            res.status,
            res.text()
        );
        assert_eq!(
            res.header("content-type").as_deref(),
            Some("application/problem+json")
        );
    }
    assert_alive(&app).await;
    // Nothing was saved.
    let view = app.get(&d.path, Some(&e.token)).await.json();
    assert_eq!(view["revision"], 1, "{view}");
}

async fn huge_bodies_are_refused(b: Backend) {
    let app = spawn_app_with(b, |s| {
        s.json_limit_bytes = 64 * 1024;
        s.evidence_max_bytes = 100 * 1024;
    })
    .await;
    // Declared: a 5 GB Content-Length is refused before any of it is read.
    let (status, text) = raw(
        &app,
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 5000000000\r\nConnection: close\r\n\r\n{",
    )
    .await;
    assert_problem(status, &text, 413);
    // Chunked, with no length given: refused once the limit is passed.
    let mut chunked = b"POST /api/v1/enterprises HTTP/1.1\r\nHost: x\r\n\
        Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    let chunk = vec![b' '; 16 * 1024];
    for _ in 0..16 {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(&chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, text) = raw(&app, &chunked).await;
    assert_problem(status, &text, 413);
    // An evidence file larger than the limit, chunked: 413, and nothing stored.
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    let big = vec![b'%'; (app.state.settings.evidence_max_bytes + 1024) as usize];
    let res = app
        .upload(
            &e.token,
            &d,
            "big.pdf",
            "application/pdf",
            &big,
            "lawful.compliance_system",
        )
        .await;
    res.problem(413, "payload_too_large");
    assert_eq!(app.state.evidence.count().await.unwrap(), 0);
    assert_eq!(app.state.evidence.partial_files(), 0);
    let list = app
        .get(&format!("{}/evidence", d.path), Some(&e.token))
        .await;
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 0);
    assert_alive(&app).await;
}

async fn invalid_utf8_is_refused(b: Backend) {
    let app = spawn_app(b).await;
    let mut body = br#"{"email":"a@example.com","password":""#.to_vec();
    body.extend_from_slice(b"\xff\xfe\xfd\"}");
    let res = app
        .request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(("application/json", body)),
            &[],
        )
        .await;
    assert!(res.status == 400 || res.status == 422, "{}", res.text());
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    // In the path and in the query string.
    let (status, text) = raw(
        &app,
        b"GET /api/v1/public/certificates/%FF%FE HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_problem(status, &text, 404);
    let admin = app.admin_token().await;
    let res = app
        .get("/api/v1/stats/funnel?industry=%FF%FE", Some(&admin))
        .await;
    assert!(res.status == 400 || res.status == 422, "{}", res.text());
    assert_alive(&app).await;
}

/// PostgreSQL text cannot hold U+0000: found by schemathesis as 503s on PostgreSQL.
async fn nul_characters_are_refused(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let res = app
        .post(
            "/api/v1/submissions",
            Some(&e.token),
            &json!({ "schema_id": "cca-good-enterprise", "version": "D\u{0}" }),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["body"]);
    for path in [
        "/api/v1/public/certificates?q=a%00b",
        "/api/v1/schemas/cca-good-enterprise/diff?from=%00&to=2024",
    ] {
        let res = app.get(path, Some(&e.token)).await;
        assert_eq!(res.invalid_fields(), ["query"], "{path}");
    }
    assert_alive(&app).await;
}

async fn names_are_normalised_and_clean(b: Backend) {
    let app = spawn_app(b).await;
    // Invisible formatting and control characters are refused, naming the field.
    for bad in [
        "放心\u{202E}食品有限公司",
        "放心\u{2066}食品",
        "放心\u{7}食品",
        "放心\u{200B}食品",
    ] {
        let mut body = app.registration();
        body["name"] = json!(bad);
        let res = app.post("/api/v1/enterprises", None, &body).await;
        assert_eq!(res.invalid_fields(), ["name"], "{bad:?}");
    }
    // A combining accent is stored composed (NFC); a full-width credit code is the same code.
    let mut body = app.registration();
    let code = body["credit_code"].as_str().unwrap().to_owned();
    let full_width: String = code
        .chars()
        .map(|c| char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap())
        .collect();
    body["credit_code"] = json!(full_width);
    body["name"] = json!("Cafe\u{301} 放心食品有限公司");
    body["industry_code"] = json!("Ｃ１４９１");
    let res = app.post("/api/v1/enterprises", None, &body).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let created = res.json();
    assert_eq!(created["name"], "Caf\u{e9} 放心食品有限公司");
    assert_eq!(created["credit_code"], code.as_str());
    assert_eq!(created["industry_code"], "C1491");
    let mut again = app.registration();
    again["credit_code"] = json!(code);
    app.post("/api/v1/enterprises", None, &again)
        .await
        .problem(409, "already_exists");
    // Display names follow the same rules.
    let email = body["admin_email"].as_str().unwrap();
    let token = app.token(email, PASSWORD).await;
    let id = created["id"].as_i64().unwrap();
    let res = app
        .post(
            &format!("/api/v1/enterprises/{id}/users"),
            Some(&token),
            &json!({ "email": "m@example.com", "password": PASSWORD, "display_name": "李\u{202E}四" }),
        )
        .await;
    assert_eq!(res.invalid_fields(), ["display_name"]);
    let res = app
        .post(
            &format!("/api/v1/enterprises/{id}/users"),
            Some(&token),
            &json!({ "email": "ｍ２@example.com", "password": PASSWORD, "display_name": "Zoe\u{308}" }),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.json()["display_name"], "Zo\u{eb}");
    assert_eq!(res.json()["email"], "m2@example.com");
}

/// A small tmpfs mounted over a directory for as long as this value lives.
struct TinyDisk {
    path: std::path::PathBuf,
}

impl TinyDisk {
    fn mount(path: &std::path::Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(path).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CSR_REQUIRE_MOUNT").is_none(),
                "cannot mount a tmpfs (needs root), and CSR_REQUIRE_MOUNT is set"
            );
            eprintln!("cannot mount a tmpfs (needs root): the full-disk check did not run");
            return None;
        }
        Some(Self {
            path: path.to_owned(),
        })
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.path)
            .status();
    }
}

async fn a_full_evidence_disk_is_a_clear_507(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    let Some(_disk) = TinyDisk::mount(&evidence, "256k") else {
        return;
    };
    let app = spawn_app_with(b, |s| {
        s.evidence_store = Some(csr_assess::config::EvidenceStoreKind::Disk);
        s.evidence_dir = Some(evidence.clone());
    })
    .await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    let mut first = pdf_bytes("first");
    first.resize(150 * 1024, b' ');
    let res = app
        .upload(
            &e.token,
            &d,
            "a.pdf",
            "application/pdf",
            &first,
            "lawful.compliance_system",
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let mut second = pdf_bytes("second");
    second.resize(150 * 1024, b' ');
    let res = app
        .upload(
            &e.token,
            &d,
            "b.pdf",
            "application/pdf",
            &second,
            "lawful.compliance_system",
        )
        .await;
    res.problem(507, "insufficient_storage");
    // No partial file, no row, and the first file is intact.
    assert_eq!(app.state.evidence.partial_files(), 0);
    assert_eq!(app.state.evidence.count().await.unwrap(), 1);
    let list = app
        .get(&format!("{}/evidence", d.path), Some(&e.token))
        .await
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let id = list["items"][0]["id"].as_i64().unwrap();
    let res = app
        .get(&format!("{}/evidence/{id}", d.path), Some(&e.token))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.body, first);
    // A small file still fits.
    let res = app
        .upload(
            &e.token,
            &d,
            "c.png",
            "image/png",
            PNG_BYTES,
            "lawful.compliance_system",
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
}

async fn a_server_error_shows_only_its_request_id(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    let res = app
        .upload(
            &e.token,
            &d,
            "a.png",
            "image/png",
            PNG_BYTES,
            "lawful.compliance_system",
        )
        .await;
    let evidence = res.json();
    let sha = evidence["sha256"].as_str().unwrap().to_owned();
    // Lose the stored content behind the service's back, then ask for it.
    app.state.evidence.remove(&sha).await;
    let res = app
        .get(
            &format!("{}/evidence/{}", d.path, evidence["id"]),
            Some(&e.token),
        )
        .await;
    let problem = res.problem(500, "internal_error");
    let request_id = res.header("x-request-id").unwrap();
    assert_eq!(problem["request_id"], request_id.as_str());
    let text = res.text();
    for secret in [sha.as_str(), "evidence", "store", "/tmp", "missing"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let mut keys: Vec<&String> = problem.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["code", "detail", "request_id", "status", "title", "type"],
        "{problem}"
    );
    assert_alive(&app).await;
}

/// A fault of the service (here a table gone behind its back) is a 500 naming the request id,
/// never the 503 "retry shortly" of an outage, which clients would retry for ever.
async fn an_unknown_database_error_is_a_500_not_an_outage(b: Backend) {
    use diesel::connection::SimpleConnection;
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    app.state
        .db
        .write(|conn| Ok(conn.batch_execute("DROP TABLE idempotent_requests")?))
        .await
        .expect("drop");
    let body = json!({ "schema_id": "cca-good-enterprise", "version": "2024" });
    let res = app
        .request(
            Method::POST,
            "/api/v1/submissions",
            Some(&e.token),
            Some(("application/json", body.to_string().into_bytes())),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    let problem = res.problem(500, "internal_error");
    assert!(res.header("retry-after").is_none());
    let request_id = res.header("x-request-id").unwrap();
    assert_eq!(problem["request_id"], request_id.as_str());
    assert!(
        !res.text().contains("idempotent_requests"),
        "{}",
        res.text()
    );
    assert_alive(&app).await;
}

backend_tests!(
    an_unknown_database_error_is_a_500_not_an_outage,
    deep_nesting_is_refused,
    huge_bodies_are_refused,
    invalid_utf8_is_refused,
    nul_characters_are_refused,
    names_are_normalised_and_clean,
    a_full_evidence_disk_is_a_clear_507,
    a_server_error_shows_only_its_request_id,
);
