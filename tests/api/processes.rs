//! The service as real processes: graceful shutdown on SIGTERM, and two instances sharing one
//! PostgreSQL database with nothing else in common.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Client, PNG_BYTES, PgDatabase, approve, multipart,
    submitted,
};

/// A `csr-assess serve` process, killed on drop if still running.
pub struct Process {
    child: Child,
    pub http: Client,
    log: Arc<Mutex<String>>,
}

impl Process {
    /// Starts the service on `database_url` with its data under `data`, and waits until it
    /// listens.
    pub fn start(database_url: &str, data: &Path, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_csr-assess"));
        for var in [
            "CSR_KEYS_DIR",
            "CSR_EVIDENCE_DIR",
            "CSR_EVIDENCE_STORE",
            "CSR_LOG_FORMAT",
        ] {
            cmd.env_remove(var);
        }
        cmd.arg("serve")
            .env("DATABASE_URL", database_url)
            .env("CSR_DATA_DIR", data)
            .env("CSR_BIND", "127.0.0.1:0")
            .env("CSR_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("CSR_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start csr-assess");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let url = line[at + "listening on ".len()..]
                        .split(';')
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send(url);
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("the service did not start: {}", log.lock().unwrap()));
        Self {
            child,
            http: Client::new(base),
            log,
        }
    }

    pub fn address(&self) -> String {
        self.http.base.trim_start_matches("http://").to_owned()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, at most `limit`.
    pub fn wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "still running after {limit:?}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The database URL of a fresh database on `backend` (kept alive by the returned guard).
fn database(backend: Backend, dir: &Path) -> (String, Option<PgDatabase>) {
    match backend {
        Backend::Sqlite => (dir.join("service.db").display().to_string(), None),
        Backend::Postgres => {
            let db = PgDatabase::create();
            (db.url.clone(), Some(db))
        }
    }
}

async fn sigterm_lets_a_slow_request_finish(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (url, _pg) = database(b, dir.path());
    let mut server = Process::start(&url, dir.path(), &[]);
    let http = &server.http;
    let e = http.enterprise().await;
    let d = http.create_submission(&e.token, "2024").await;

    // An evidence upload whose body arrives over two seconds.
    let (content_type, body) = multipart(
        "slow.png",
        "image/png",
        PNG_BYTES,
        "lawful.compliance_system",
    );
    let head = format!(
        "POST {}/evidence HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        d.path,
        e.token,
        body.len()
    );
    let addr = server.address();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let slow = std::thread::spawn(move || {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (first, rest) = body.split_at(body.len() / 2);
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(first).unwrap();
        started_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(2));
        stream.write_all(rest).unwrap();
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        response
    });
    started_rx.recv().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.signal("TERM");
    // New connections are refused while the slow request is still being served.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        TcpStream::connect(server.address()).is_err(),
        "a new connection was accepted after SIGTERM"
    );
    let response = actix_web::rt::task::spawn_blocking(move || slow.join().unwrap())
        .await
        .unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the slow request did not finish: {response}"
    );
    let status = server.wait(Duration::from_secs(35));
    assert!(status.success(), "exit {status:?}: {}", server.log());
}

/// Two processes on one PostgreSQL database, with their own data directories (so their own
/// disks) and nothing else shared: everything an enterprise and a reviewer do spreads over both.
#[actix_rt::test]
async fn two_instances_share_one_postgres() {
    if crate::helpers::postgres_url().is_none() {
        eprintln!("CSR_TEST_POSTGRES_URL not set: the two-instance test did not run");
        return;
    }
    let pg = PgDatabase::create();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // One set of signing keys, as a deployment distributes them (CSR_KEYS_DIR or CSR_JWT_KEYS).
    let keys = dir_a.path().join("shared-keys");
    let keys = keys.to_str().unwrap();
    let throttle = [("CSR_KEYS_DIR", keys), ("CSR_LOGIN_MAX_FAILURES", "4")];
    let one = Process::start(&pg.url, dir_a.path(), &throttle);
    let two = Process::start(&pg.url, dir_b.path(), &throttle);
    let (a, b) = (&one.http, &two.http);

    // Registered and logged in through one, working through the other.
    let e = a.enterprise().await;
    let me = b.get("/api/v1/me", Some(&e.token)).await;
    assert_eq!(me.status, 200, "{}", me.text());
    // Evidence uploaded through one downloads, byte for byte, through the other.
    let mut d = b.create_submission(&e.token, "2024").await;
    let res = a
        .upload(
            &e.token,
            &d,
            "proof.png",
            "image/png",
            PNG_BYTES,
            "lawful.compliance_system",
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let evidence = res.json()["id"].as_i64().unwrap();
    let res = b
        .get(&format!("{}/evidence/{evidence}", d.path), Some(&e.token))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.body, PNG_BYTES);
    b.etag_of(&e.token, &mut d).await;

    // A submission made through one, reviewed through the other; twenty concurrent approvals
    // spread over both give one certificate.
    let (_, reviewer) = {
        let admin = b.admin_token().await;
        let email = crate::helpers::unique_email("reviewer");
        let res = a
            .post(
                "/api/v1/users",
                Some(&admin),
                &json!({ "email": email, "password": crate::helpers::PASSWORD, "role": "reviewer" }),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.text());
        (
            email.clone(),
            b.token(&email, crate::helpers::PASSWORD).await,
        )
    };
    let id = submitted(a, &e, "C1491", 2).await;
    let res = b
        .post(
            &format!("/api/v1/reviews/{id}/claim"),
            Some(&reviewer),
            &json!({}),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let approvals = (0..20).map(|i| {
        let http = if i % 2 == 0 { a } else { b };
        let path = format!("/api/v1/reviews/{id}/approve");
        let reviewer = reviewer.clone();
        async move {
            http.post(&path, Some(&reviewer), &json!({ "comment": "符合要求" }))
                .await
                .status
        }
    });
    let statuses = futures_util::future::join_all(approvals).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    let certificates = count_certificates(&pg.url, id);
    assert_eq!(certificates, 1);
    // A second approved enterprise, approved through the other instance, numbers apart.
    let e2 = b.enterprise().await;
    let id2 = submitted(b, &e2, "C1491", 2).await;
    let cert2 = approve(a, &reviewer, id2).await;
    assert!(cert2["number"].is_string(), "{cert2}");
    assert_eq!(count_certificates(&pg.url, id2), 1);

    // Login throttling counts failures made through either instance.
    for i in 0..4 {
        let http = if i % 2 == 0 { a } else { b };
        let res = http.login(&e.admin_email, "wrong password here").await;
        assert_eq!(res.status, 401, "{}", res.text());
    }
    for http in [a, b] {
        http.login(&e.admin_email, crate::helpers::PASSWORD)
            .await
            .problem(429, "too_many_requests");
    }
}

fn count_certificates(url: &str, submission: i64) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = diesel::PgConnection::establish(url).unwrap();
    diesel::sql_query(format!(
        "SELECT count(*) AS n FROM certificates WHERE submission_id = {submission}"
    ))
    .get_result::<Count>(&mut conn)
    .unwrap()
    .n
}

backend_tests!(sigterm_lets_a_slow_request_finish);
