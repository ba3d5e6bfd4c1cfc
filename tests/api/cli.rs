//! The command line, run as a real process.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::{Backend, PASSWORD, spawn_app_with};
use crate::kit::process::Process;

/// The binary, with no setting inherited from the environment of the tests.
fn bin() -> Command {
    Process::service_command()
}

#[test]
fn help_lists_commands() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["serve", "migrate", "user", "keys", "--bind", "CSR_BIND"] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
    let out = bin().args(["user", "create", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for word in [
        "--email",
        "--role",
        "--region",
        "--industries",
        "--password-env",
    ] {
        assert!(text.contains(word), "{word} missing from:\n{text}");
    }
}

#[actix_rt::test]
async fn migrate_and_user_create_then_login() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = bin()
        .args(["--data-dir", data, "migrate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("csr-assess.db").exists());

    // Password from an environment variable.
    let out = bin()
        .args([
            "--data-dir",
            data,
            "user",
            "create",
            "--email",
            "Rev@Example.com",
            "--role",
            "reviewer",
            "--region",
            "33",
            "--password-env",
            "REVIEWER_PW",
        ])
        .env("REVIEWER_PW", PASSWORD)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Password from standard input.
    let mut child = bin()
        .args([
            "--data-dir",
            data,
            "user",
            "create",
            "--email",
            "body@example.com",
            "--role",
            "industry_body",
            "--industries",
            "C13,C14",
        ])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Bad input is explained and fails.
    let out = bin()
        .args([
            "--data-dir",
            data,
            "user",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "industry_body",
            "--password-env",
            "REVIEWER_PW",
        ])
        .env("REVIEWER_PW", PASSWORD)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("industry_scopes"));

    // The server started on the same database knows both users.
    let db = dir.path().join("csr-assess.db").display().to_string();
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.database_url = Some(csr_assess::config::Secret::new(db));
    })
    .await;
    let token = app.token("rev@example.com", PASSWORD).await;
    let me = app.get("/api/v1/me", Some(&token)).await.json();
    assert_eq!(me["role"], "reviewer");
    assert_eq!(me["region_scope"], "33");
    let token = app.token("body@example.com", PASSWORD).await;
    assert_eq!(
        app.get("/api/v1/me", Some(&token)).await.json()["industry_scopes"][1],
        "C14"
    );

    // Disabling from the command line ends the running session at once; enabling restores logins.
    let user_command = |verb: &str| {
        bin()
            .args([
                "--data-dir",
                data,
                "user",
                verb,
                "--email",
                "BODY@example.com",
            ])
            .args(["--reason", "left the industry body"])
            .output()
            .unwrap()
    };
    let out = user_command("disable");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.get("/api/v1/me", Some(&token))
        .await
        .problem(401, "invalid_token");
    assert_eq!(app.login("body@example.com", PASSWORD).await.status, 401);
    let out = user_command("enable");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    app.token("body@example.com", PASSWORD).await;
    let out = bin()
        .args([
            "--data-dir",
            data,
            "user",
            "disable",
            "--email",
            "nobody@example.com",
        ])
        .args(["--reason", "x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user"));
}

#[test]
fn keys_rotate_adds_an_active_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let keys = dir.path().join("keys");
    for _ in 0..2 {
        let out = bin()
            .args(["--data-dir", data, "keys", "rotate"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let file = csr_assess::auth::jwt::KeyFile::load_or_create(&keys).unwrap();
    // The first call created a key and rotated to a second; the second call added a third.
    assert_eq!(file.keys.len(), 3);
    assert_eq!(file.active, file.keys[2].kid);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keys.join("jwt-keys.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "key file readable by others");
    }
}

/// The server's log lines on standard error until it listens, with `CSR_LOG_FORMAT` set to
/// `format` (or unset).
fn startup_log(format: Option<&str>) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = bin();
    cmd.args(["--data-dir", dir.path().to_str().unwrap()])
        .env("CSR_ADMIN_PASSWORD", PASSWORD);
    if let Some(format) = format {
        cmd.env("CSR_LOG_FORMAT", format);
    }
    let server = Process::start(cmd).unwrap();
    server.log().lines().map(str::to_owned).collect()
}

/// Human-readable logs written to a file or a pipe carry no terminal colour codes.
#[test]
fn text_logs_to_a_pipe_have_no_colour_codes() {
    for line in startup_log(None) {
        assert!(!line.contains('\u{1b}'), "escape code in {line:?}");
    }
}

#[test]
fn json_logs_on_request() {
    let lines = startup_log(Some("json"));
    assert!(lines.len() >= 2);
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            v["timestamp"].is_string() && v["level"].is_string(),
            "{line}"
        );
    }
    // The configured password is never logged.
    assert!(!lines.iter().any(|l| l.contains(PASSWORD)));
}

#[test]
fn first_start_prints_a_generated_admin_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // `serve` runs until stopped; start it, read its log until it listens, then stop it.
    let run = |expect_password: bool| {
        let mut cmd = bin();
        cmd.args(["--data-dir", data, "serve"]);
        let text = Process::start(cmd).unwrap().log();
        assert_eq!(
            text.contains("Password (shown once)"),
            expect_password,
            "{text}"
        );
        assert!(text.contains("/docs/"), "{text}");
        text
    };
    let first = run(true);
    assert!(first.contains("POST /api/v1/auth/password"));
    run(false);
}

#[test]
fn schema_commands() {
    let root = env!("CARGO_MANIFEST_DIR");
    let shipped: Vec<String> = ["2007", "2014", "2024"]
        .iter()
        .map(|v| format!("{root}/schemas/cca-good-enterprise/{v}.json"))
        .collect();
    let out = bin()
        .args(["schema", "validate"])
        .args(&shipped)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).matches("ok ").count(),
        3
    );

    // A broken copy fails with the path of each problem inside the document.
    let dir = tempfile::tempdir().unwrap();
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&shipped[2]).unwrap()).unwrap();
    doc["criteria"][3]["weight"] = serde_json::json!(-1);
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = bin()
        .args(["schema", "validate"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/criteria/3/weight"), "{err}");

    // A semantic problem: the changelog no longer matches the difference to 2014.
    doc["criteria"][3]["weight"] = serde_json::json!(7);
    std::fs::write(&broken, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = bin()
        .args(["schema", "validate"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/changelog/reweighted"), "{err}");

    let out = bin()
        .args(["schema", "diff", "2014", "2024"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let diff: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        diff["added"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("fair_trade.no_price_discrimination"))
    );

    let out = bin().args(["schema", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(text.contains("cca-good-enterprise 2024"));
}
