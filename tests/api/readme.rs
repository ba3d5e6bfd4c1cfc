//! The README stays true: its walkthrough is run verbatim against a live server.

use std::process::Command;

use crate::helpers::{Backend, spawn_app};

/// The shell block that follows the `<!-- walkthrough -->` marker in README.md.
fn walkthrough() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = readme
        .split("<!-- walkthrough -->")
        .nth(1)
        .expect("walkthrough marker");
    let start = after.find("```sh\n").expect("sh block") + "```sh\n".len();
    let len = after[start..].find("```").expect("block end");
    after[start..start + len].to_owned()
}

#[actix_rt::test]
async fn readme_walkthrough_works() {
    let app = spawn_app(Backend::Sqlite).await;
    let script = walkthrough().replace("http://localhost:8080", &app.base);
    assert!(script.contains("curl"));
    let base = app.base.clone();
    let workdir = app.dir.path().to_owned();
    let out = actix_web::web::block(move || {
        Command::new("bash")
            .current_dir(workdir)
            .args(["-euo", "pipefail", "-c", &script])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{base}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The registration answered, and /me returned the enterprise administrator.
    assert!(
        stdout.contains(r#""credit_code":"91350100M000100Y43""#),
        "{stdout}"
    );
    assert!(stdout.contains(r#""role":"enterprise_admin""#), "{stdout}");
    assert!(
        stdout.contains(r#""email":"admin@example.com""#),
        "{stdout}"
    );
}

/// The integration walkthrough of docs/INTEGRATION.md (`docs/integration_walkthrough.py`), run
/// as written against a live server: register, subscribe, answer, submit, approval by the
/// association, signed webhooks received, certificate fetched and verified offline.
#[actix_rt::test]
async fn the_integration_walkthrough_runs() {
    let Some(python) = crate::helpers::python_with("rfc8785, cryptography") else {
        return;
    };
    let app = crate::helpers::spawn_app_with(Backend::Sqlite, |s| {
        s.webhook_poll_ms = 50;
        s.webhook_allowed_hosts = vec!["127.0.0.1".into()];
    })
    .await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/integration_walkthrough.py"
    );
    let args = [
        script.to_owned(),
        app.base.clone(),
        crate::helpers::ADMIN_EMAIL.to_owned(),
        crate::helpers::ADMIN_PASSWORD.to_owned(),
        crate::helpers::credit_code(),
    ];
    let out = actix_web::web::block(move || Command::new(python).args(args).output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in [
        "webhook registered",
        "submitted",
        "webhook: submission.approved",
        "webhook: certificate.issued",
        "certificate verified offline",
    ] {
        assert!(stdout.contains(step), "{step} missing:\n{stdout}");
    }
}
