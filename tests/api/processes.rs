//! The service as real processes: graceful shutdown on SIGTERM, and two instances sharing one
//! PostgreSQL database with nothing else in common.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{
    ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Client, FreshDatabase, PNG_BYTES, approve,
    claim_and_decide, fresh_postgres, multipart, submitted,
};
use crate::kit::process::Process;

/// Starts `csr-assess serve` on `database_url` with its data under `data`, and waits until it
/// listens.
pub(crate) fn serve(database_url: &str, data: &Path, env: &[(&str, &str)]) -> Process {
    let mut cmd = Process::service_command();
    cmd.arg("serve")
        .env("DATABASE_URL", database_url)
        .env("CSR_DATA_DIR", data)
        .env("CSR_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("CSR_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .envs(env.iter().copied());
    Process::start(cmd).unwrap_or_else(|e| panic!("{e}"))
}

/// The database URL of a fresh database on `backend` (kept alive by the returned guard).
pub(crate) fn database(backend: Backend, dir: &Path) -> FreshDatabase {
    match backend {
        Backend::Sqlite => FreshDatabase::sqlite(&dir.join("service.db")),
        Backend::Postgres => fresh_postgres(),
    }
}

async fn sigterm_lets_a_slow_request_finish(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = database(b, dir.path());
    let mut server = serve(&db.url, dir.path(), &[]);
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
    let pg = fresh_postgres();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // One set of signing keys, as a deployment distributes them (CSR_KEYS_DIR or CSR_JWT_KEYS).
    let keys = dir_a.path().join("shared-keys");
    let keys = keys.to_str().unwrap();
    let throttle = [("CSR_KEYS_DIR", keys), ("CSR_LOGIN_MAX_FAILURES", "4")];
    let one = serve(&pg.url, dir_a.path(), &throttle);
    let two = serve(&pg.url, dir_b.path(), &throttle);
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
    claim_and_decide(b, &reviewer, id).await;
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

/// A PostgreSQL server of this test alone (initdb in a temporary directory, its own port), so
/// it can be stopped and started without touching the machine's server.
struct PrivateCluster {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
}

impl PrivateCluster {
    fn bin_dir() -> std::path::PathBuf {
        let out = Command::new("pg_config").arg("--bindir").output();
        if let Ok(out) = out
            && out.status.success()
        {
            let dir = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            if Path::new(&dir).join("initdb").exists() {
                return dir.into();
            }
        }
        let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server binaries under /usr/lib/postgresql")
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .collect();
        found.sort();
        found.pop().expect("initdb")
    }

    /// Runs a server binary, as the `postgres` user when this test runs as root.
    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"));
        let mut cmd = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().expect(tool);
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn create() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // The postgres user must own the directory when we run as root.
        let _ = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Self {
            dir,
            bin: Self::bin_dir(),
            port,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        cluster.start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn start(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let data = self.data();
        let exe = self.bin.join("pg_ctl");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&exe)
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
        let _ = Command::new(exe)
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

/// Creates a submission on the 2024 schema under an Idempotency-Key.
async fn create_with_key(http: &Client, token: &str, key: &str) -> crate::helpers::Resp {
    http.request(
        actix_web::http::Method::POST,
        "/api/v1/submissions",
        Some(token),
        Some((
            "application/json",
            br#"{"schema_id":"cca-good-enterprise","version":"2024"}"#.to_vec(),
        )),
        &[("idempotency-key", key)],
    )
    .await
}

/// Creates submissions with an Idempotency-Key each, retrying a key until it is acknowledged;
/// returns (key, submission id) for each acknowledged one and every status seen, with the
/// slowest answer.
async fn idempotent_writer(
    http: &Client,
    token: &str,
    prefix: &str,
    until: Instant,
) -> (Vec<(String, i64)>, Vec<u16>, Duration) {
    let mut acknowledged = Vec::new();
    let mut statuses = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    while Instant::now() < until {
        let key = format!("{prefix}-{n}");
        loop {
            let started = Instant::now();
            let res = create_with_key(http, token, &key).await;
            slowest = slowest.max(started.elapsed());
            statuses.push(res.status);
            if res.status == 201 {
                acknowledged.push((key.clone(), res.json()["id"].as_i64().unwrap()));
                break;
            }
            assert_eq!(
                res.header("content-type").as_deref(),
                Some("application/problem+json"),
                "{}",
                res.text()
            );
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
        n += 1;
    }
    (acknowledged, statuses, slowest)
}

/// Connections the pool held while PostgreSQL restarted are dead, and the pool is not told: it
/// tests a connection that sat idle before handing it out, so not one request fails on them.
#[actix_rt::test]
async fn postgres_restart_while_idle_fails_no_request() {
    if crate::helpers::postgres_url().is_none() {
        eprintln!("CSR_TEST_POSTGRES_URL not set: the PostgreSQL idle restart test did not run");
        return;
    }
    let cluster = PrivateCluster::create();
    {
        use diesel::connection::SimpleConnection;
        use diesel::prelude::*;
        let mut conn = diesel::PgConnection::establish(&cluster.url("postgres")).unwrap();
        conn.batch_execute("CREATE DATABASE csr").unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&cluster.url("csr"), dir.path(), &[]);
    let http = &server.http;
    let e = http.enterprise().await;
    // Sixteen requests at once open every connection of the pool (eight).
    let all_at_once = || {
        futures_util::future::join_all(
            (0..16).map(|_| http.get("/api/v1/submissions", Some(&e.token))),
        )
    };
    for res in all_at_once().await {
        assert_eq!(res.status, 200, "{}", res.text());
    }
    cluster.stop();
    cluster.start();
    // Longer than a connection may sit idle untested.
    actix_rt::time::sleep(Duration::from_millis(2_500)).await;
    for res in all_at_once().await {
        assert_eq!(res.status, 200, "after the restart: {}", res.text());
    }
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[actix_rt::test]
async fn postgres_restart_under_load() {
    if crate::helpers::postgres_url().is_none() {
        eprintln!("CSR_TEST_POSTGRES_URL not set: the PostgreSQL restart test did not run");
        return;
    }
    let cluster = PrivateCluster::create();
    {
        use diesel::connection::SimpleConnection;
        use diesel::prelude::*;
        let mut conn = diesel::PgConnection::establish(&cluster.url("postgres")).unwrap();
        conn.batch_execute("CREATE DATABASE csr").unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let server = serve(
        &cluster.url("csr"),
        dir.path(),
        &[("CSR_DB_TIMEOUT_SECS", "2")],
    );
    let http = &server.http;
    let e = http.enterprise().await;

    // Two writers run for eight seconds; PostgreSQL is down from the second to the fifth.
    let until = Instant::now() + Duration::from_secs(8);
    let writers = futures_util::future::join(
        idempotent_writer(http, &e.token, "w1", until),
        idempotent_writer(http, &e.token, "w2", until),
    );
    let outage = async {
        actix_rt::time::sleep(Duration::from_secs(1)).await;
        cluster.stop();
        // During the outage: a quick 503 problem, not a hang.
        let started = Instant::now();
        let res = http.get("/api/v1/submissions", Some(&e.token)).await;
        res.problem(503, "service_unavailable");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(res.header("retry-after").as_deref(), Some("1"));
        let ready = http.get("/readyz", None).await;
        assert_eq!(ready.status, 503, "{}", ready.text());
        actix_rt::time::sleep(Duration::from_secs(2)).await;
        cluster.start();
        // Back within five seconds, without restarting the service.
        let back = Instant::now();
        loop {
            let res = http.get("/api/v1/submissions", Some(&e.token)).await;
            if res.status == 200 {
                break;
            }
            assert!(
                back.elapsed() < Duration::from_secs(5),
                "not recovered after {:?}: {}",
                back.elapsed(),
                res.text()
            );
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
        back.elapsed()
    };
    let (((ack1, st1, slow1), (ack2, st2, slow2)), recovery) =
        futures_util::future::join(writers, outage).await;
    let statuses: Vec<u16> = st1.into_iter().chain(st2).collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&503), "the outage was never seen");
    assert!(slow1.max(slow2) < Duration::from_secs(5), "a request hung");

    // Every acknowledged submission exists, each key made exactly one, and a retried key gives
    // back the same submission.
    let acknowledged: Vec<(String, i64)> = ack1.into_iter().chain(ack2).collect();
    let mut ids: Vec<i64> = acknowledged.iter().map(|(_, id)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        acknowledged.len(),
        "two keys gave one submission"
    );
    let mut stored: Vec<i64> = Vec::new();
    let mut page = "/api/v1/submissions?limit=200".to_owned();
    loop {
        let listed = http.get(&page, Some(&e.token)).await.json();
        stored.extend(
            listed["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].as_i64().unwrap()),
        );
        match listed["next_cursor"].as_str() {
            Some(cursor) => page = format!("/api/v1/submissions?limit=200&cursor={cursor}"),
            None => break,
        }
    }
    stored.sort_unstable();
    assert_eq!(
        stored, ids,
        "stored submissions differ from the acknowledged ones"
    );
    let (key, id) = &acknowledged[0];
    let again = create_with_key(http, &e.token, key).await;
    assert_eq!(again.json()["id"], *id);
    assert!(!server.log().contains("panicked"), "{}", server.log());
    eprintln!(
        "PostgreSQL restart: {} submissions acknowledged, {} answers 503 during the outage, \
         recovered {recovery:?} after the database came back",
        acknowledged.len(),
        statuses.iter().filter(|s| **s == 503).count()
    );
}
