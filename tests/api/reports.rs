//! PDF reports and certificates: Chinese and English text that extracts back exactly, page
//! numbers, determinism, size, access control, and the signed payload inside the certificate.

use std::process::Command;

use actix_web::http::Method;
use serde_json::json;

use crate::helpers::{Backend, TestApp, approve, assert_invisible, spawn_app, submitted};

backend_tests!(
    reports_and_certificates_as_pdf,
    certificates_not_in_force_say_so_on_the_page
);

/// The text of a PDF, as pdftotext (poppler) extracts it.
pub(crate) fn pdf_text(app: &TestApp, bytes: &[u8], name: &str) -> String {
    let path = app.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&path)
        .arg("-")
        .output();
    match out {
        // Compared without whitespace: extraction drops or adds spaces around CJK text.
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .collect(),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "pdftotext (poppler-utils) is needed"
            );
            String::new()
        }
    }
}

fn page_size(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let at = text.find("/MediaBox")?;
    Some(text[at..at + 40].split(']').next()?.to_owned())
}

async fn reports_and_certificates_as_pdf(b: Backend) {
    let app = spawn_app(b).await;
    let e = app
        .enterprise_with(json!({ "name": "杭州放心食品有限公司" }))
        .await;
    let id = submitted(&app, &e, "C1491", 2).await;
    let path = format!("/api/v1/submissions/{id}/report.pdf");

    let res = app.get(&path, Some(&e.token)).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        res.header("content-type").as_deref(),
        Some("application/pdf")
    );
    assert!(res.body.starts_with(b"%PDF-"));
    assert!(res.body.len() < 300_000, "{} bytes", res.body.len());
    // Deterministic: the same data gives the same bytes.
    let again = app.get(&path, Some(&e.token)).await;
    assert_eq!(again.body, res.body);
    let text = pdf_text(&app, &res.body, "report.pdf");
    if !text.is_empty() {
        for expected in [
            "消费者权益保护社会责任自评报告",
            "杭州放心食品有限公司",
            "第 1 页 / 共",
            "各主题得分",
            "改进建议",
            "《消费者权益保护法》（2013年修正）第十六条",
        ] {
            let expected: String = expected.split_whitespace().collect();
            assert!(
                text.contains(&expected),
                "{expected:?} missing from the report text"
            );
        }
    }
    let en = app.get(&format!("{path}?lang=en"), Some(&e.token)).await;
    let text = pdf_text(&app, &en.body, "report-en.pdf");
    if !text.is_empty() {
        for expected in [
            "Consumer protection self-assessment report",
            "Page 1 of",
            "Where to improve",
            "Consumer Rights Protection Law (2013 amendment), art. 16",
        ] {
            let expected: String = expected.split_whitespace().collect();
            assert!(
                text.contains(&expected),
                "{expected:?} missing from the English report"
            );
        }
    }
    // Other enterprises cannot fetch it.
    let other = app.enterprise().await;
    assert_invisible(
        &app,
        &other.token,
        Method::GET,
        &path,
        "/api/v1/submissions/999999/report.pdf",
    )
    .await;

    // The certificate: landscape, public, with the signed payload inside.
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    let number = approve(&app, &reviewer, id).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .get(&format!("/api/v1/public/certificates/{number}.pdf"), None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let size = page_size(&res.body).unwrap_or_default();
    assert!(
        size.contains("841.") && size.contains("595."),
        "not landscape A4: {size}"
    );
    assert_eq!(
        app.get(&format!("/api/v1/public/certificates/{number}.pdf"), None)
            .await
            .body,
        res.body
    );
    let text = pdf_text(&app, &res.body, "certificate.pdf");
    if !text.is_empty() {
        for expected in [
            "良好企业保护消费者利益社会责任评价证书",
            "杭州放心食品有限公司",
            number.as_str(),
            "/verify/",
        ] {
            let expected: String = expected.split_whitespace().collect();
            assert!(
                text.contains(&expected),
                "{expected:?} missing from the certificate"
            );
        }
    }
    // The signed payload travels in the document's subject and verifies against the public keys.
    let path = app.dir.path().join("certificate.pdf");
    if let Ok(out) = Command::new("pdfinfo").arg(&path).output() {
        let info = String::from_utf8_lossy(&out.stdout);
        let subject = info
            .lines()
            .find_map(|l| l.strip_prefix("Subject:"))
            .unwrap_or_default()
            .trim();
        let signed: csr_assess::certification::SignedCertificate =
            serde_json::from_str(subject).unwrap();
        let jwks: csr_assess::auth::signing::Jwks = serde_json::from_value(
            app.get("/.well-known/csr-assess/keys.json", None)
                .await
                .json(),
        )
        .unwrap();
        signed.verify(&jwks).unwrap();
        assert_eq!(signed.payload.number, number);
    }
    app.get("/api/v1/public/certificates/CSR-2026-000001-0.pdf", None)
        .await
        .problem(404, "not_found");
    // The JSON view still answers next to the PDF.
    assert_eq!(
        app.get(&format!("/api/v1/public/certificates/{number}"), None)
            .await
            .json()["number"],
        number
    );
}

#[actix_rt::test]
async fn industry_median_needs_five_enterprises() {
    let app = spawn_app(Backend::Sqlite).await;
    let mut ids = Vec::new();
    let mut first = None;
    for i in 0..5 {
        let e = app.enterprise().await;
        ids.push(submitted(&app, &e, "C1491", (i % 4 + 1) as u8).await);
        first.get_or_insert(e);
        let e = first.as_ref().unwrap();
        let res = app
            .get(
                &format!("/api/v1/submissions/{}/report.pdf", ids[0]),
                Some(&e.token),
            )
            .await;
        let text = pdf_text(&app, &res.body, "median.pdf");
        if text.is_empty() {
            return;
        }
        let shown = text.contains("红色竖线：本行业中位数");
        assert_eq!(shown, i == 4, "after {} enterprises", i + 1);
    }
}

#[actix_rt::test]
async fn report_render_from_the_command_line() {
    let app = spawn_app(Backend::Sqlite).await;
    let e = app.enterprise().await;
    let first = submitted(&app, &e, "C1491", 3).await;
    submitted(&app, &e, "C1491", 2).await;
    let data = app.dir.path().to_str().unwrap().to_owned();
    let db = app.dir.path().join("test.db");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_csr-assess"))
            .args(["--data-dir", &data, "--database-url"])
            .arg(&db)
            .args(args)
            .env_remove("CSR_JWT_KEYS")
            .output()
            .unwrap()
    };
    let one = app.dir.path().join("one.pdf");
    let out = run(&[
        "report",
        "render",
        "--submission",
        &first.to_string(),
        "-o",
        one.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let via_api = app
        .get(
            &format!("/api/v1/submissions/{first}/report.pdf"),
            Some(&e.token),
        )
        .await;
    assert_eq!(
        std::fs::read(&one).unwrap(),
        via_api.body,
        "the CLI and the API render the same bytes"
    );

    let dir = app.dir.path().join("all");
    let out = run(&[
        "report",
        "render",
        "--all",
        "--out",
        dir.to_str().unwrap(),
        "--lang",
        "en",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2/2") && stderr.contains("rendered 2 report(s)"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
    let out = run(&[
        "report",
        "render",
        "--submission",
        "999",
        "-o",
        one.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
}

/// Runs a poppler or zbar tool; in CI a missing tool fails the test.
fn tool(name: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(name).args(args).output() {
        Ok(out) => Some(out),
        Err(_) => {
            assert!(
                std::env::var("CI").is_err(),
                "{name} is needed (installed by .ci/run)"
            );
            None
        }
    }
}

/// Text of every page, with the values that change from run to run replaced.
fn redacted_text(path: &std::path::Path, replace: &[(&str, &str)]) -> Option<String> {
    let out = tool("pdftotext", &["-layout", path.to_str()?, "-"])?;
    assert!(out.status.success());
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    // Column positions depend on the widest line (a signature differs from run to run): keep
    // the words and their order, not the spacing.
    Some(
        text.lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

fn page_count(path: &std::path::Path) -> Option<usize> {
    let out = tool("pdfinfo", &[path.to_str()?])?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Snapshots of the extracted text of a report in each language and of a certificate; page
/// counts; page 1 rendered to PNG; the certificate's QR code decoded.
#[actix_rt::test]
async fn pdf_text_snapshots_pages_and_qr_code() {
    let app = spawn_app(Backend::Sqlite).await;
    let e = app
        .enterprise_with(
            json!({ "name": "杭州放心食品有限公司", "credit_code": "91350100M000100Y43" }),
        )
        .await;
    let id = submitted(&app, &e, "C1491", 2).await;
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    let number = approve(&app, &reviewer, id).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let cert = app
        .get(&format!("/api/v1/public/certificates/{number}"), None)
        .await
        .json();
    let issued = cert["issued_on"].as_str().unwrap().to_owned();
    let expires = cert["expires_on"].as_str().unwrap().to_owned();
    let kid = cert["signed"]["kid"].as_str().unwrap().to_owned();
    let signature = cert["signed"]["signature"].as_str().unwrap().to_owned();
    let replace = [
        (issued.as_str(), "[issued]"),
        (expires.as_str(), "[expires]"),
        (number.as_str(), "[number]"),
        (app.base.as_str(), "[base]"),
        ("http://127.0.0.1:0", "[base]"),
        (kid.as_str(), "[kid]"),
        (signature.as_str(), "[signature]"),
    ];
    let dir = app.dir.path();
    let files = [
        (
            "report_zh",
            format!("/api/v1/submissions/{id}/report.pdf"),
            7,
        ),
        (
            "report_en",
            format!("/api/v1/submissions/{id}/report.pdf?lang=en"),
            7,
        ),
        (
            "certificate",
            format!("/api/v1/public/certificates/{number}.pdf"),
            1,
        ),
    ];
    for (name, url, pages) in files {
        let res = app.get(&url, Some(&e.token)).await;
        assert_eq!(res.status, 200);
        let path = dir.join(format!("{name}.pdf"));
        std::fs::write(&path, &res.body).unwrap();
        let Some(text) = redacted_text(&path, &replace) else {
            return;
        };
        insta::assert_snapshot!(format!("pdf_{name}"), text);
        assert_eq!(page_count(&path), Some(pages), "{name}");
        // Honest names: an assessment (评价), never a certification (认证), by a named issuer;
        // law references carry their year.
        let flat: String = text.split_whitespace().collect();
        assert!(!flat.contains("认证"), "{name}: {text}");
        if name != "report_en" {
            assert!(flat.contains("评价"), "{name}: {text}");
        }
        if name == "certificate" {
            assert!(
                flat.contains("示例消费者协会") && flat.contains("第三十八条"),
                "{text}"
            );
            // The issuer's seal, with its text from the settings.
            assert!(flat.contains("评价专用章"), "{text}");
        }
        if name == "report_zh" {
            assert!(flat.contains("（2013年修正）第"), "{text}");
        }
        let png = dir.join(name);
        let out = tool(
            "pdftoppm",
            &[
                "-png",
                "-r",
                "100",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                path.to_str().unwrap(),
                png.to_str().unwrap(),
            ],
        )
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            std::fs::metadata(dir.join(format!("{name}.png")))
                .unwrap()
                .len()
                > 10_000
        );
    }
    // The QR code on the certificate leads to its verification page.
    let png = dir.join("certificate.png");
    if let Some(out) = tool("zbarimg", &["--quiet", "--raw", png.to_str().unwrap()]) {
        let decoded = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(decoded, format!("http://127.0.0.1:0/verify/{number}"));
    }
}

/// The subject (signed payload) and the text of a certificate PDF; pdftotext is required.
fn subject_and_text(app: &TestApp, bytes: &[u8]) -> (String, String) {
    let path = app.dir.path().join("status.pdf");
    std::fs::write(&path, bytes).unwrap();
    let run = |tool: &str, args: &[&str]| {
        let out = Command::new(tool)
            .args(args)
            .arg(&path)
            .args(if tool == "pdftotext" {
                &["-"][..]
            } else {
                &[][..]
            })
            .output()
            .unwrap_or_else(|e| panic!("{tool} (poppler-utils) is needed: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let info = run("pdfinfo", &[]);
    let subject = info
        .lines()
        .find_map(|l| l.strip_prefix("Subject:"))
        .unwrap_or_default()
        .trim()
        .to_owned();
    let text = run("pdftotext", &["-layout"]).split_whitespace().collect();
    (subject, text)
}

/// The review's F5: a suspended or revoked certificate's PDF says so across the page, and its
/// signed payload is unchanged.
async fn certificates_not_in_force_say_so_on_the_page(b: Backend) {
    let app = spawn_app(b).await;
    let e = app.enterprise().await;
    let id = submitted(&app, &e, "C1491", 2).await;
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    let number = approve(&app, &reviewer, id).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let pdf = format!("/api/v1/public/certificates/{number}.pdf");
    let (signed, text) = subject_and_text(&app, &app.get(&pdf, None).await.body);
    assert!(!signed.is_empty());
    assert!(
        !text.contains("无效") && !text.contains("REVOKED"),
        "{text}"
    );
    let admin = app.admin_token().await;
    for (action, zh, en) in [
        ("suspend", "已暂停", "SUSPENDED"),
        ("revoke", "已撤销", "REVOKED"),
    ] {
        let res = app
            .post(
                &format!("/api/v1/certificates/{number}/{action}"),
                Some(&admin),
                &json!({ "reason": "投诉调查" }),
            )
            .await;
        assert_eq!(res.status, 200, "{}", res.text());
        let res = app.get(&pdf, None).await;
        assert_eq!(res.status, 200);
        let (subject, text) = subject_and_text(&app, &res.body);
        assert!(text.contains(zh) && text.contains(en), "{action}: {text}");
        assert!(text.contains("本证书无效"), "{action}: {text}");
        assert_eq!(subject, signed, "the signed payload changed");
    }
}
