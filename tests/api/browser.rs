//! The public verification page in a real browser: headless Chromium renders the page of an
//! active and of a revoked certificate, the visible text is checked, and phone-sized screenshots
//! are saved under `target/screenshots/`. `.ci/run` installs Chromium and sets
//! `CSR_REQUIRE_BROWSER=1`, so there the test fails rather than skips without it.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::json;

use crate::helpers::{Backend, approve, spawn_app, submitted};

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var("CSR_CHROMIUM").ok(),
        Some("chromium".into()),
        Some("chromium-browser".into()),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(PathBuf::from)
        .find(|bin| {
            Command::new(bin)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Runs headless Chromium on `url`: returns the rendered DOM, and saves a screenshot.
fn render(bin: &Path, url: &str, screenshot: &Path, profile: &Path) -> String {
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=412,915",
        // A Chinese-speaking visitor; the English page asks with ?lang=en.
        "--accept-lang=zh-CN,zh",
        "--lang=zh-CN",
    ];
    let dom = Command::new(bin)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let shot = Command::new(bin)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    assert!(
        std::fs::metadata(screenshot)
            .map(|m| m.len() > 1000)
            .unwrap_or(false),
        "no screenshot"
    );
    String::from_utf8_lossy(&dom.stdout).into_owned()
}

/// The text a person sees: the DOM without tags.
fn visible_text(dom: &str) -> String {
    let body = dom.split("<body>").nth(1).unwrap_or(dom);
    let mut out = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[actix_rt::test]
async fn verification_pages_in_chromium() {
    let Some(bin) = chromium() else {
        assert!(
            std::env::var("CSR_REQUIRE_BROWSER").is_err(),
            "CSR_REQUIRE_BROWSER is set but Chromium is not installed"
        );
        eprintln!("Chromium not installed: browser test not run");
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    let e = app
        .enterprise_with(json!({ "name": "杭州放心食品有限公司" }))
        .await;
    let f = app
        .enterprise_with(json!({ "name": "宁波示例电器有限公司", "industry_code": "C3851" }))
        .await;
    let (_, reviewer) = app.staff("reviewer", json!({})).await;
    let id = submitted(&app, &e, "C1491", 2).await;
    let active = approve(&app, &reviewer, id).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = submitted(&app, &f, "C3851", 2).await;
    let revoked = approve(&app, &reviewer, id).await["number"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            &format!("/api/v1/certificates/{revoked}/revoke"),
            Some(&reviewer),
            &json!({ "reason": "虚假材料" }),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());

    let shots = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let profile = app.dir.path().join("chromium-profile");
    let pages = [
        (
            format!("{}/verify/{active}", app.base),
            "verify-active.png",
            vec![
                "证书验证",
                "杭州放心食品有限公司",
                "有效",
                "良好",
                "验证通过",
                active.as_str(),
            ],
        ),
        (
            format!("{}/verify/{active}?lang=en", app.base),
            "verify-active-en.png",
            vec![
                "Certificate verification",
                "VALID",
                "Good",
                "valid (Ed25519)",
            ],
        ),
        (
            format!("{}/verify/{revoked}", app.base),
            "verify-revoked.png",
            vec![
                "宁波示例电器有限公司",
                "已撤销 — 本证书无效",
                revoked.as_str(),
            ],
        ),
    ];
    for (url, file, expected) in pages {
        let (bin, shot, profile) = (bin.clone(), shots.join(file), profile.clone());
        let dom = actix_web::web::block(move || render(&bin, &url, &shot, &profile))
            .await
            .unwrap();
        let text = visible_text(&dom);
        for word in expected {
            assert!(
                text.contains(word),
                "{file}: {word:?} not visible in\n{text}"
            );
        }
        if file == "verify-active.png" {
            assert!(!text.contains("已撤销"), "{text}");
        }
    }
}
