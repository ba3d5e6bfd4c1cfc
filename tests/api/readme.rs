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
