//! The December security review's findings that belong to no other resource's tests: bounded
//! evidence uploads, the evidence quota under parallel uploads, invisible characters in names
//! and unsafe evidence filenames.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;

use crate::helpers::{Backend, PNG_BYTES, multipart, pdf_bytes, spawn_app, spawn_app_with};

backend_tests!(
    a_flood_of_form_parts_is_refused_early,
    the_quota_holds_under_parallel_uploads,
    names_refuse_invisible_characters,
    evidence_filenames_are_stored_clean,
    pages_carry_a_strict_content_security_policy,
    a_slow_body_is_cut_off,
    registration_is_throttled_and_does_not_name_the_taken_value,
);

/// F2: a chunked upload streaming 30 MB of `criteria` parts is answered 413 after a bounded
/// amount, and the connection is dropped instead of reading the rest.
async fn a_flood_of_form_parts_is_refused_early(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let head = format!(
        "POST {}/evidence HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary=X\r\nTransfer-Encoding: chunked\r\n\r\n",
        d.path, e.token
    );
    let part = "--X\r\nContent-Disposition: form-data; name=\"criteria\"\r\n\r\n".to_owned()
        + &"a,".repeat(2000)
        + "\r\n";
    let (answer, sent) = stream_chunks(&port, &head, None, &part).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(sent < 30_000_000, "the server read all {sent} bytes");
    // A part whose headers never end (the parser buffers them) is cut off at the body cap.
    let (answer, sent) = stream_chunks(
        &port,
        &head,
        Some("--X\r\nContent-Disposition: form-data; name=\"criteria\"\r\nX-Filler: "),
        &"a".repeat(4000),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(sent < 30_000_000, "the server read all {sent} bytes");

    // A new client for each upload: the floods took long enough for the server to close pooled
    // connections, and the server answers the first upload before reading all of its body, then
    // closes that connection, which a pooled client could otherwise reuse for the second.
    let fresh = || crate::helpers::Client::new(app.base.clone());
    // An upload naming more criteria than any schema has is a short 422, not an echo.
    let ids: Vec<String> = (0..5000).map(|i| format!("x.c{i}")).collect();
    let (ct, body) = multipart("a.pdf", "application/pdf", &pdf_bytes("x"), &ids.join(","));
    let res = fresh()
        .request(
            actix_web::http::Method::POST,
            &format!("{}/evidence", d.path),
            Some(&e.token),
            Some((ct.as_str(), body)),
            &[],
        )
        .await;
    assert_eq!(res.invalid_fields(), ["criteria"]);
    assert!(res.body.len() < 2_000, "{} bytes", res.body.len());
    // Unknown criteria are listed up to a bound, with the number left out.
    let ids: Vec<String> = (0..150).map(|i| format!("x.c{i}")).collect();
    let (ct, body) = multipart("a.pdf", "application/pdf", &pdf_bytes("x"), &ids.join(","));
    let res = fresh()
        .request(
            actix_web::http::Method::POST,
            &format!("{}/evidence", d.path),
            Some(&e.token),
            Some((ct.as_str(), body)),
            &[],
        )
        .await;
    let problem = res.json();
    assert_eq!(res.status, 422);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 50);
    assert_eq!(problem["errors_omitted"], 100);
}

/// Sends `head`, then `first` and `repeat` as chunks until 30 MB are sent or the server stops
/// reading; returns the server's answer and how much was sent.
async fn stream_chunks(
    port: &str,
    head: &str,
    first: Option<&str>,
    repeat: &str,
) -> (String, usize) {
    let chunk = |s: &str| format!("{:x}\r\n{s}\r\n", s.len());
    let (port, head) = (
        port.to_owned(),
        head.to_owned() + &first.map(chunk).unwrap_or_default(),
    );
    let chunk = chunk(repeat);
    actix_web::rt::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = stream.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            let mut sent = 0usize;
            if stream.write_all(head.as_bytes()).is_err() {
                return sent;
            }
            while sent < 30_000_000 {
                if stream.write_all(chunk.as_bytes()).is_err() {
                    break;
                }
                sent += chunk.len();
            }
            sent
        });
        reader
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut answer = vec![0u8; 4096];
        let n = reader.read(&mut answer).unwrap_or(0);
        answer.truncate(n);
        let _ = reader.shutdown(std::net::Shutdown::Both);
        (
            String::from_utf8_lossy(&answer).into_owned(),
            writer.join().unwrap(),
        )
    })
    .await
    .unwrap()
}

/// F9: ten parallel uploads to ten drafts of one enterprise store no more than the quota.
async fn the_quota_holds_under_parallel_uploads(b: Backend) {
    let app = spawn_app_with(b, |s| s.evidence_quota_bytes = 2_000).await;
    let e = app.enterprise().await;
    let mut drafts = Vec::new();
    for _ in 0..10 {
        drafts.push(app.create_submission(&e.token, "2024").await);
    }
    let uploads = drafts.iter().enumerate().map(|(i, d)| {
        let mut file = pdf_bytes(&format!("file {i}"));
        file.resize(899, b' ');
        let (app, token) = (&app, e.token.as_str());
        async move {
            app.upload(
                token,
                d,
                "q.pdf",
                "application/pdf",
                &file,
                "lawful.compliance_system",
            )
            .await
            .status
        }
    });
    let statuses = futures_util::future::join_all(uploads).await;
    let stored = statuses.iter().filter(|s| **s == 201).count();
    assert_eq!(stored, 2, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 413).count(),
        8,
        "{statuses:?}"
    );
}

/// F14: names that would look like another enterprise's are refused, naming the field.
async fn names_refuse_invisible_characters(b: Backend) {
    let app = spawn_app(b).await;
    for name in [
        "Beta\u{3164}食品有限公司",
        "Beta\u{2800}食品有限公司",
        "Beta\u{00AD}食品有限公司",
        "Beta\u{FE0F}食品有限公司",
        "Beta\u{E0041}食品有限公司",
        "Beta\u{180E}食品有限公司",
    ] {
        let mut body = app.registration();
        body["name"] = json!(name);
        let res = app.post("/api/v1/enterprises", None, &body).await;
        assert_eq!(res.invalid_fields(), ["name"], "{name:?}");
    }
}

/// F16: evidence filenames keep no path, control or bidirectional characters.
async fn evidence_filenames_are_stored_clean(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    for (given, stored) in [
        ("../../../../etc/cron.d/x.pdf", "x.pdf"),
        ("C:\\\\Windows\\\\y.pdf", "y.pdf"),
        ("发票 \u{202E}fdp.pdf", "发票 fdp.pdf"),
    ] {
        let res = app
            .upload(
                &e.token,
                &d,
                given,
                "application/pdf",
                &pdf_bytes(given),
                "lawful.compliance_system",
            )
            .await;
        assert_eq!(res.status, 201, "{given}: {}", res.text());
        assert_eq!(res.json()["filename"], stored, "{given}");
    }
}

/// F16: the HTML pages and the API browser forbid inline script and framing, and no response
/// sends a referrer.
async fn pages_carry_a_strict_content_security_policy(b: Backend) {
    let app = spawn_app(b).await;
    for path in ["/directory", "/verify/CSR-2026-000001-0", "/docs/"] {
        let res = app.get(path, None).await;
        let policy = res.header("content-security-policy").unwrap_or_default();
        assert!(policy.contains("default-src 'none'"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        let script = policy
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap_or_default();
        assert!(!script.contains("unsafe-inline"), "{path}: {policy}");
        assert_eq!(
            res.header("referrer-policy").as_deref(),
            Some("no-referrer")
        );
        assert_eq!(res.header("x-frame-options").as_deref(), Some("DENY"));
    }
    let api = app.get("/healthz", None).await;
    assert_eq!(
        api.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
}

/// F16: a body sent a byte at a time is cut off at the body deadline; the database, the
/// evidence files and their directory are the service user's alone.
async fn a_slow_body_is_cut_off(b: Backend) {
    let app = spawn_app_with(b, |s| s.body_timeout_secs = 1).await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let started = std::time::Instant::now();
    let answer = actix_web::rt::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
        stream
            .write_all(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                  Content-Length: 100\r\n\r\n{",
            )
            .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut answer = vec![0u8; 1024];
        // One more byte a second, as the review's slow client did, until the server answers.
        let mut reader = stream.try_clone().unwrap();
        let writer = std::thread::spawn(move || {
            for _ in 0..15 {
                std::thread::sleep(Duration::from_millis(500));
                if stream.write_all(b" ").is_err() {
                    break;
                }
            }
        });
        let n = reader.read(&mut answer).unwrap_or(0);
        let _ = reader.shutdown(std::net::Shutdown::Both);
        writer.join().unwrap();
        String::from_utf8_lossy(&answer[..n]).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );

    #[cfg(unix)]
    if b == Backend::Sqlite {
        use std::os::unix::fs::PermissionsExt;
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
        assert_eq!(res.status, 201, "{}", res.text());
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&app.dir.path().join("test.db")), 0o600);
        let evidence = app.dir.path().join("evidence");
        assert_eq!(mode(&evidence), 0o700);
        let mut files = Vec::new();
        let mut dirs = vec![evidence];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    assert_eq!(mode(&path), 0o700, "{}", path.display());
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        assert!(!files.is_empty());
        for f in files {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
    }
}

/// F13: registrations per address are limited, and a taken credit code or e-mail gets one
/// answer that does not say which of the two is taken.
async fn registration_is_throttled_and_does_not_name_the_taken_value(b: Backend) {
    let app = spawn_app_with(b, |s| s.registrations_per_address = 3).await;
    let first = app.registration();
    let res = app.post("/api/v1/enterprises", None, &first).await;
    assert_eq!(res.status, 201, "{}", res.text());
    let mut same_email = app.registration();
    same_email["admin_email"] = first["admin_email"].clone();
    let by_email = app.post("/api/v1/enterprises", None, &same_email).await;
    let mut same_code = app.registration();
    same_code["credit_code"] = first["credit_code"].clone();
    let by_code = app.post("/api/v1/enterprises", None, &same_code).await;
    let (a, b_) = (
        by_email.problem(409, "already_exists"),
        by_code.problem(409, "already_exists"),
    );
    assert_eq!(a["detail"], b_["detail"]);
    let res = app
        .post("/api/v1/enterprises", None, &app.registration())
        .await;
    res.problem(429, "too_many_requests");
    assert!(res.header("retry-after").is_some());
}
