//! A bounded load benchmark of the whole enterprise workflow against the real release server,
//! over HTTP on loopback, beside two ceilings measured in the same run on the same machine.
//!
//! ```text
//! cargo bench --bench load                                              # SQLite
//! cargo bench --bench load -- --database postgres://postgres@127.0.0.1:5432/postgres
//! cargo bench --bench load -- --quick                                   # a short smoke run
//! ```
//!
//! Phases, each with its own server process:
//! 1. ceiling `hello`: a trivial actix-web endpoint;
//! 2. ceiling `insert`: one bare insert per request through the service's own pool and
//!    transaction code (SQLite: WAL, `synchronous=FULL`, `BEGIN IMMEDIATE`);
//! 3. the service: answer saves at saturation (8 clients, each autosaving its own draft), then
//!    whole workflows at 1 and at 8 clients — create a submission on the 2024 schema, answer
//!    every criterion one request at a time, save them all again in one bulk request, attach one
//!    evidence file, submit, read the score, claim and approve as a reviewer, download the report.
//!
//! Afterwards the server is killed with SIGKILL and every acknowledged write (each answer's last
//! acknowledged value, each approval and certificate) is looked up in the database. Any 5xx,
//! any lost write or any unexpected status makes the run fail.
//!
//! The tool binds to 127.0.0.1 only and every phase is bounded by time or by count.
//!
//! `--crash-cycles N` checks crash safety instead of measuring: N times, the service starts on
//! the same database, every client runs workflows, and after a pseudo-random 0.3–2.3 s (fixed
//! seed) the server is killed with SIGKILL in the middle of its writes. After each kill the
//! database must pass `PRAGMA integrity_check` (SQLite) and hold every acknowledged write, and
//! after each restart the audit chain must verify.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use awc::http::Method;
use diesel::prelude::*;
use futures_util::future::join_all;
use serde_json::{Value, json};

const PASSWORD: &str = "Load-bench-passw0rd";
const ADMIN_EMAIL: &str = "admin@load.invalid";
const INDUSTRY: &str = "C1491";
/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

type Fail = Box<dyn std::error::Error>;
type Res<T> = Result<T, Fail>;

struct Options {
    database: String,
    clients: usize,
    seconds: u64,
    workflows_single: usize,
    workflows_per_client: usize,
    crash_cycles: usize,
}

impl Options {
    fn parse() -> Res<Self> {
        let mut o = Options {
            database: "sqlite".into(),
            clients: 8,
            seconds: 10,
            workflows_single: 10,
            workflows_per_client: 15,
            crash_cycles: 0,
        };
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut value = || args.next().ok_or(format!("{a} needs a value"));
            match a.as_str() {
                "--database" => o.database = value()?,
                "--clients" => o.clients = value()?.parse()?,
                "--seconds" => o.seconds = value()?.parse()?,
                "--workflows" => o.workflows_per_client = value()?.parse()?,
                "--crash-cycles" => o.crash_cycles = value()?.parse()?,
                "--quick" => {
                    o.seconds = 2;
                    o.workflows_single = 2;
                    o.workflows_per_client = 2;
                }
                // cargo bench passes --bench; nothing else is expected.
                "--bench" => {}
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        Ok(o)
    }
}

// ---------------------------------------------------------------------------------------------
// Measurements

#[derive(Default)]
struct Op {
    micros: Vec<u64>,
    statuses: BTreeMap<u16, u64>,
}

#[derive(Default, Clone)]
struct Recorder(Rc<RefCell<BTreeMap<&'static str, Op>>>);

impl Recorder {
    fn record(&self, op: &'static str, status: u16, elapsed: Duration) {
        let mut ops = self.0.borrow_mut();
        let o = ops.entry(op).or_default();
        o.micros.push(elapsed.as_micros() as u64);
        *o.statuses.entry(status).or_default() += 1;
    }

    fn take(&self) -> BTreeMap<&'static str, Op> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

struct Row {
    op: String,
    count: usize,
    rps: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    statuses: BTreeMap<u16, u64>,
}

impl Row {
    fn statuses(&self) -> String {
        self.statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn server_errors(&self) -> u64 {
        self.statuses.range(500..).map(|(_, n)| n).sum()
    }
}

fn quantile_ms(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn rows(ops: BTreeMap<&'static str, Op>, wall: Duration) -> Vec<Row> {
    ops.into_iter()
        .map(|(name, mut o)| {
            o.micros.sort_unstable();
            Row {
                op: name.to_owned(),
                count: o.micros.len(),
                rps: o.micros.len() as f64 / wall.as_secs_f64(),
                p50: quantile_ms(&o.micros, 0.5),
                p90: quantile_ms(&o.micros, 0.9),
                p99: quantile_ms(&o.micros, 0.99),
                max: quantile_ms(&o.micros, 1.0),
                statuses: o.statuses,
            }
        })
        .collect()
}

fn print_table(title: &str, rows: &[Row]) {
    println!("\n#### {title}\n");
    println!("| operation | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | statuses |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            r.op,
            r.count,
            r.rps,
            r.p50,
            r.p90,
            r.p99,
            r.max,
            r.statuses()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

struct Resp {
    status: u16,
    etag: Option<String>,
    body: Vec<u8>,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The response, or an error naming the operation when its status is not `want`.
    fn expect(self, op: &str, want: u16) -> Res<Self> {
        if self.status == want {
            Ok(self)
        } else {
            Err(format!(
                "{op}: status {} (wanted {want}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
            .into())
        }
    }
}

#[derive(Clone)]
struct Http {
    client: awc::Client,
    base: String,
    rec: Recorder,
}

struct Req<'a> {
    method: Method,
    path: &'a str,
    token: Option<&'a str>,
    if_match: Option<&'a str>,
    body: Option<(String, Vec<u8>)>,
}

impl<'a> Req<'a> {
    fn new(method: Method, path: &'a str) -> Self {
        Self {
            method,
            path,
            token: None,
            if_match: None,
            body: None,
        }
    }

    fn token(mut self, t: &'a str) -> Self {
        self.token = Some(t);
        self
    }

    fn if_match(mut self, e: &'a str) -> Self {
        self.if_match = Some(e);
        self
    }

    fn json(mut self, v: &Value) -> Self {
        self.body = Some(("application/json".into(), v.to_string().into_bytes()));
        self
    }
}

impl Http {
    fn new(base: String, rec: Recorder) -> Self {
        let client = awc::Client::builder()
            .timeout(Duration::from_secs(60))
            .finish();
        Self { client, base, rec }
    }

    async fn send(&self, op: &'static str, r: Req<'_>) -> Res<Resp> {
        let mut req = self
            .client
            .request(r.method, format!("{}{}", self.base, r.path));
        if let Some(t) = r.token {
            req = req.insert_header(("authorization", format!("Bearer {t}")));
        }
        if let Some(e) = r.if_match {
            req = req.insert_header(("if-match", e));
        }
        let started = Instant::now();
        let mut res = match r.body {
            Some((ct, body)) => req.insert_header(("content-type", ct)).send_body(body),
            None => req.send(),
        }
        .await
        .map_err(|e| format!("{op}: {e}"))?;
        let body = res
            .body()
            .limit(64 << 20)
            .await
            .map_err(|e| format!("{op}: {e}"))?;
        let status = res.status().as_u16();
        self.rec.record(op, status, started.elapsed());
        Ok(Resp {
            status,
            etag: res
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: body.to_vec(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A server process of this run, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(mut cmd: Command, log: &Path) -> Res<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let bind = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(log)?;
        let child = cmd
            .env("CSR_BIND", &bind)
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?;
        Ok(Self {
            child,
            base: format!("http://{bind}"),
        })
    }

    async fn ready(&self, path: &str) -> Res<()> {
        let client = awc::Client::default();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(res) = client.get(format!("{}{path}", self.base)).send().await
                && res.status().is_success()
            {
                return Ok(());
            }
            actix_rt::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("{} did not become ready", self.base).into())
    }

    /// Peak resident set size (VmHWM) in MiB.
    fn peak_rss_mib(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<f64>().ok())
            })
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

/// The database of one phase: a fresh SQLite file, or a fresh PostgreSQL database dropped at
/// the end.
struct Database {
    url: String,
    admin_url: Option<String>,
    name: String,
}

impl Database {
    fn fresh(spec: &str, dir: &Path, phase: &str) -> Res<Self> {
        if spec == "sqlite" {
            let path = dir.join(format!("{phase}.db"));
            return Ok(Self {
                url: path.display().to_string(),
                admin_url: None,
                name: phase.into(),
            });
        }
        let mut url = url::Url::parse(spec)?;
        let name = format!("csr_load_{}_{phase}", std::process::id());
        url.set_path(&format!("/{name}"));
        Ok(Self {
            url: url.to_string(),
            admin_url: Some(spec.to_owned()),
            name,
        })
    }

    fn connect(&self) -> Res<csr_assess::db::AnyConnection> {
        use csr_assess::db::AnyConnection;
        Ok(match &self.admin_url {
            None => AnyConnection::Sqlite(SqliteConnection::establish(&self.url)?),
            Some(_) => AnyConnection::Postgresql(PgConnection::establish(&self.url)?),
        })
    }

    /// Bytes the database occupies now (SQLite pages including the WAL's, or
    /// `pg_database_size`).
    fn size(&self) -> Res<i64> {
        #[derive(QueryableByName)]
        struct Size {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.connect()?;
        let sql = if self.admin_url.is_none() {
            "SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()"
        } else {
            "SELECT pg_database_size(current_database()) AS n"
        };
        Ok(diesel::sql_query(sql).get_result::<Size>(&mut conn)?.n)
    }
}

/// Drops the PostgreSQL database, on success and on every early return alike (declare the
/// database before its server, so that the server stops first).
impl Drop for Database {
    fn drop(&mut self) {
        if let Some(admin) = &self.admin_url
            && let Ok(mut conn) = PgConnection::establish(admin)
        {
            use diesel::connection::SimpleConnection;
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Ceilings: this same program, started again with `--serve-ceiling`.

fn serve_ceiling(kind: &str, bind: &str, database: &str) -> Res<()> {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let db = if kind == "insert" {
        let db = csr_assess::db::Db::open(database, 8, Duration::from_secs(5))?;
        let create = match db.backend() {
            csr_assess::db::Backend::Sqlite => {
                "CREATE TABLE IF NOT EXISTS bench_ceiling (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)"
            }
            csr_assess::db::Backend::Postgres => {
                "CREATE TABLE IF NOT EXISTS bench_ceiling (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)"
            }
        };
        db.blocking(|conn| {
            diesel::sql_query(create).execute(conn)?;
            Ok(())
        })
        .map_err(|e| e.to_string())?;
        Some(db)
    } else {
        None
    };
    let bind = bind.to_owned();
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            let app = App::new().route(
                "/hello",
                web::get().to(|| async { HttpResponse::Ok().body("hello") }),
            );
            match db.clone() {
                Some(db) => app.app_data(web::Data::new(db)).route(
                    "/insert",
                    web::post().to(|db: web::Data<csr_assess::db::Db>| async move {
                        db.write(|conn| {
                            diesel::sql_query("INSERT INTO bench_ceiling (body) VALUES ('x')")
                                .execute(conn)?;
                            Ok(())
                        })
                        .await
                        .map(|()| HttpResponse::Created().finish())
                    }),
                ),
                None => app,
            }
        })
        .bind(bind)?
        .run()
        .await
    })?;
    Ok(())
}

/// `clients` loops calling `call` until `seconds` have passed; returns the wall time.
async fn saturate<F, Fut>(clients: usize, seconds: u64, call: F) -> Res<Duration>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Res<()>>,
{
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let results = join_all((0..clients).map(|c| {
        let call = &call;
        async move {
            while Instant::now() < deadline {
                call(c).await?;
            }
            Res::Ok(())
        }
    }))
    .await;
    for r in results {
        r?;
    }
    Ok(started.elapsed())
}

async fn ceiling(o: &Options, dir: &Path, kind: &'static str) -> Res<Vec<Row>> {
    let db = Database::fresh(&o.database, dir, &format!("ceiling_{kind}"))?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["--serve-ceiling", kind, "--database", &db.url]);
    // `--bind` is passed through CSR_BIND by `Server::start`.
    let server = Server::start(cmd, &dir.join(format!("ceiling_{kind}.log")))?;
    server.ready("/hello").await?;
    let rec = Recorder::default();
    let http = Http::new(server.base.clone(), rec.clone());
    let (method, path) = if kind == "insert" {
        (Method::POST, "/insert")
    } else {
        (Method::GET, "/hello")
    };
    let want = if kind == "insert" { 201 } else { 200 };
    let wall = saturate(o.clients, o.seconds, |_| {
        let (http, method) = (&http, method.clone());
        async move {
            http.send(kind, Req::new(method, path))
                .await?
                .expect(kind, want)?;
            Ok(())
        }
    })
    .await?;
    drop(server);
    Ok(rows(rec.take(), wall))
}

// ---------------------------------------------------------------------------------------------
// The service

/// What the server acknowledged, to look up afterwards.
#[derive(Default)]
struct Acknowledged {
    /// (submission, criterion) → last acknowledged value.
    answers: HashMap<(i64, String), Value>,
    /// Approved submissions and their certificate numbers.
    certificates: Vec<(i64, String)>,
}

struct Actor {
    token: String,
}

struct Fixture {
    criteria: Vec<Value>,
    enterprises: Vec<Actor>,
    reviewers: Vec<Actor>,
}

fn answer_for(c: &Value, variant: usize) -> Value {
    match c["kind"].as_str().unwrap_or_default() {
        "yes_no" => json!({ "value": variant.is_multiple_of(2) }),
        "maturity" => json!({ "value": 2 + variant % 2 }),
        "single_choice" => {
            json!({ "value": c["options"][variant % c["options"].as_array().map_or(1, |a| a.len().max(1))]["id"] })
        }
        "multiple_choice" => json!({ "value": [c["options"][0]["id"]] }),
        "measured" => json!({ "value": c["measure"]["bands"][0]["threshold"] }),
        _ => json!({ "value": format!("我们开展了消费者教育活动，第 {variant} 次更新。") }),
    }
}

/// A value for the first workflow pass that keeps the level one reviewer may approve.
fn workflow_answer(c: &Value) -> Value {
    if c["kind"] == "maturity" {
        json!({ "value": 2 })
    } else {
        answer_for(c, 0)
    }
}

fn multipart(criteria: &str) -> (String, Vec<u8>) {
    let boundary = "csr-load-boundary-4f9a7c";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"criteria\"\r\n\r\n{criteria}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"proof.png\"\r\n\
         Content-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(PNG);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn login(http: &Http, email: &str) -> Res<String> {
    let res = http
        .send(
            "login",
            Req::new(Method::POST, "/api/v1/auth/login")
                .json(&json!({ "email": email, "password": PASSWORD })),
        )
        .await?
        .expect("login", 200)?;
    Ok(res.json()["access_token"]
        .as_str()
        .ok_or("no access token")?
        .to_owned())
}

async fn setup(http: &Http, clients: usize) -> Res<Fixture> {
    let admin = login(http, ADMIN_EMAIL).await?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let mut enterprises = Vec::new();
    let mut reviewers = Vec::new();
    for i in 0..clients {
        let email = format!("boss{i}-{stamp}@load.invalid");
        http.send(
            "register",
            Req::new(Method::POST, "/api/v1/enterprises").json(&json!({
                "credit_code": csr_assess::demo::credit_code(10, stamp % 100_000 * 100 + i as u64),
                "name": format!("负载测试食品有限公司{i}"),
                "industry_code": INDUSTRY,
                "region_code": "330106",
                "size": "small",
                "contact_email": "contact@load.invalid",
                "admin_email": email,
                "admin_password": PASSWORD,
            })),
        )
        .await?
        .expect("register", 201)?;
        enterprises.push(Actor {
            token: login(http, &email).await?,
        });
        let email = format!("reviewer{i}-{stamp}@load.invalid");
        http.send(
            "create_reviewer",
            Req::new(Method::POST, "/api/v1/users")
                .token(&admin)
                .json(&json!({ "email": email, "password": PASSWORD, "role": "reviewer" })),
        )
        .await?
        .expect("create_reviewer", 201)?;
        reviewers.push(Actor {
            token: login(http, &email).await?,
        });
    }
    let path =
        format!("/api/v1/schemas/cca-good-enterprise/versions/2024/resolved?industry={INDUSTRY}");
    let criteria = http
        .send(
            "schema",
            Req::new(Method::GET, &path).token(&enterprises[0].token),
        )
        .await?
        .expect("schema", 200)?
        .json()["criteria"]
        .as_array()
        .ok_or("no criteria")?
        .clone();
    Ok(Fixture {
        criteria,
        enterprises,
        reviewers,
    })
}

async fn create_submission(http: &Http, token: &str) -> Res<(i64, String)> {
    let res = http
        .send(
            "create_submission",
            Req::new(Method::POST, "/api/v1/submissions")
                .token(token)
                .json(&json!({ "schema_id": "cca-good-enterprise", "version": "2024" })),
        )
        .await?
        .expect("create_submission", 201)?;
    let id = res.json()["id"].as_i64().ok_or("no id")?;
    Ok((id, res.etag.ok_or("no etag")?))
}

async fn save_answer(
    http: &Http,
    ack: &RefCell<Acknowledged>,
    token: &str,
    id: i64,
    etag: &mut String,
    c: &Value,
    answer: Value,
) -> Res<()> {
    let criterion = c["id"].as_str().ok_or("criterion id")?;
    let path = format!("/api/v1/submissions/{id}/answers/{criterion}");
    let res = http
        .send(
            "answer_save",
            Req::new(Method::PUT, &path)
                .token(token)
                .if_match(etag)
                .json(&answer),
        )
        .await?
        .expect("answer_save", 200)?;
    *etag = res.etag.ok_or("no etag")?;
    ack.borrow_mut()
        .answers
        .insert((id, criterion.to_owned()), answer["value"].clone());
    Ok(())
}

/// One whole workflow for enterprise and reviewer `c`.
async fn workflow(http: &Http, fx: &Fixture, ack: &RefCell<Acknowledged>, c: usize) -> Res<()> {
    let (token, reviewer) = (&fx.enterprises[c].token, &fx.reviewers[c].token);
    let (id, mut etag) = create_submission(http, token).await?;
    for criterion in &fx.criteria {
        save_answer(
            http,
            ack,
            token,
            id,
            &mut etag,
            criterion,
            workflow_answer(criterion),
        )
        .await?;
    }
    let mut all = serde_json::Map::new();
    for criterion in &fx.criteria {
        let key = criterion["id"].as_str().ok_or("criterion id")?.to_owned();
        all.insert(key, workflow_answer(criterion));
    }
    let path = format!("/api/v1/submissions/{id}/answers");
    http.send(
        "answers_bulk",
        Req::new(Method::PATCH, &path)
            .token(token)
            .if_match(&etag)
            .json(&json!({ "answers": all })),
    )
    .await?
    .expect("answers_bulk", 200)?;
    for (criterion, answer) in all {
        ack.borrow_mut()
            .answers
            .insert((id, criterion), answer["value"].clone());
    }
    let needs: Vec<&str> = fx
        .criteria
        .iter()
        .filter(|c| c["evidence"]["required"] == true)
        .filter_map(|c| c["id"].as_str())
        .collect();
    let (ct, body) = multipart(&needs.join(","));
    let path = format!("/api/v1/submissions/{id}/evidence");
    let licence = http
        .send(
            "evidence_upload",
            Req {
                body: Some((ct, body)),
                ..Req::new(Method::POST, &path).token(token)
            },
        )
        .await?
        .expect("evidence_upload", 201)?
        .json();
    let path = format!("/api/v1/submissions/{id}");
    etag = http
        .send("submission_read", Req::new(Method::GET, &path).token(token))
        .await?
        .expect("submission_read", 200)?
        .etag
        .ok_or("no etag")?;
    let path = format!("/api/v1/submissions/{id}/submit");
    http.send(
        "submit",
        Req::new(Method::POST, &path).token(token).if_match(&etag),
    )
    .await?
    .expect("submit", 200)?;
    let path = format!("/api/v1/submissions/{id}");
    let score = http
        .send("score_read", Req::new(Method::GET, &path).token(token))
        .await?
        .expect("score_read", 200)?
        .json();
    if score["score"]["total"].as_f64().is_none() {
        return Err(format!("submission {id} has no score: {score}").into());
    }
    // The reviewer checks the enterprise's licence (the uploaded file) before approving.
    let path = format!("/api/v1/enterprises/{}/verify", score["enterprise_id"]);
    http.send(
        "enterprise_verify",
        Req::new(Method::POST, &path)
            .token(reviewer)
            .json(&json!({ "evidence_id": licence["id"] })),
    )
    .await?
    .expect("enterprise_verify", 200)?;
    let path = format!("/api/v1/reviews/{id}/claim");
    let claimed = http
        .send(
            "review_claim",
            Req::new(Method::POST, &path)
                .token(reviewer)
                .json(&json!({})),
        )
        .await?
        .expect("review_claim", 200)?
        .json();
    // Approval waits for a verdict on every red line and legal duty: accepted in one call.
    let verdicts: serde_json::Map<String, Value> = claimed["verdicts_required"]
        .as_array()
        .ok_or_else(|| format!("claim of {id} lists no verdicts_required: {claimed}"))?
        .iter()
        .filter_map(|c| c.as_str())
        .map(|c| (c.to_owned(), json!({ "verdict": "accept" })))
        .collect();
    let path = format!("/api/v1/reviews/{id}/verdicts");
    http.send(
        "review_verdicts",
        Req::new(Method::PUT, &path)
            .token(reviewer)
            .json(&json!({ "verdicts": verdicts })),
    )
    .await?
    .expect("review_verdicts", 200)?;
    let path = format!("/api/v1/reviews/{id}/approve");
    let approved = http
        .send(
            "review_approve",
            Req::new(Method::POST, &path)
                .token(reviewer)
                .json(&json!({ "comment": "符合要求" })),
        )
        .await?
        .expect("review_approve", 200)?
        .json();
    let number = approved["certificate"]["number"]
        .as_str()
        .ok_or_else(|| format!("approval of {id} issued no certificate: {approved}"))?;
    ack.borrow_mut().certificates.push((id, number.to_owned()));
    let path = format!("/api/v1/submissions/{id}/report.pdf");
    let pdf = http
        .send("report_pdf", Req::new(Method::GET, &path).token(token))
        .await?
        .expect("report_pdf", 200)?;
    if !pdf.body.starts_with(b"%PDF") {
        return Err("the report is not a PDF".into());
    }
    Ok(())
}

struct ServiceFigures {
    answer_save: Vec<Row>,
    answer_save_wall: Duration,
    workflows: Vec<(usize, usize, Duration, Vec<Row>)>,
    peak_rss_mib: f64,
    bytes_per_workflow: f64,
    checked_answers: usize,
    checked_certificates: usize,
}

/// The service's command line on `db`, its data under `data`.
fn service_command(db: &Database, data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_csr-assess"));
    cmd.arg("serve")
        .env("DATABASE_URL", &db.url)
        .env("CSR_DATA_DIR", data)
        .env("CSR_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("CSR_ADMIN_PASSWORD", PASSWORD)
        // Every client registers from this one address.
        .env("CSR_REGISTRATIONS_PER_ADDRESS", "100000")
        .env_remove("CSR_EVIDENCE_DIR")
        .env_remove("CSR_EVIDENCE_STORE")
        .env_remove("CSR_KEYS_DIR");
    cmd
}

async fn service(o: &Options, dir: &Path) -> Res<ServiceFigures> {
    let db = Database::fresh(&o.database, dir, "service")?;
    let cmd = service_command(&db, &dir.join("service-data"));
    let server = Server::start(cmd, &dir.join("service.log"))?;
    server.ready("/readyz").await?;
    let rec = Recorder::default();
    let http = Http::new(server.base.clone(), rec.clone());
    let fx = setup(&http, o.clients).await?;
    let ack = RefCell::new(Acknowledged::default());

    // Answer saves at saturation: each client autosaves its own draft, criterion after
    // criterion, changing the value each round.
    rec.take();
    let drafts = RefCell::new(Vec::new());
    for c in 0..o.clients {
        let (id, etag) = create_submission(&http, &fx.enterprises[c].token).await?;
        drafts.borrow_mut().push((id, etag, 0usize));
    }
    rec.take();
    let answer_save_wall = saturate(o.clients, o.seconds, |c| {
        let (http, fx, ack, drafts) = (&http, &fx, &ack, &drafts);
        async move {
            let (id, mut etag, n) = drafts.borrow()[c].clone();
            let criterion = &fx.criteria[n % fx.criteria.len()];
            let answer = answer_for(criterion, n / fx.criteria.len() + 1);
            let token = &fx.enterprises[c].token;
            save_answer(http, ack, token, id, &mut etag, criterion, answer).await?;
            drafts.borrow_mut()[c] = (id, etag, n + 1);
            Ok(())
        }
    })
    .await?;
    let answer_save = rows(rec.take(), answer_save_wall);

    // Whole workflows, at one client and at all of them.
    let size_before = db.size()?;
    let mut workflows = Vec::new();
    let mut total = 0;
    for (clients, per_client) in [(1, o.workflows_single), (o.clients, o.workflows_per_client)] {
        let started = Instant::now();
        let results = join_all((0..clients).map(|c| {
            let (http, fx, ack) = (&http, &fx, &ack);
            async move {
                for _ in 0..per_client {
                    workflow(http, fx, ack, c).await?;
                }
                Res::Ok(())
            }
        }))
        .await;
        for r in results {
            r?;
        }
        let wall = started.elapsed();
        total += clients * per_client;
        workflows.push((clients, clients * per_client, wall, rows(rec.take(), wall)));
    }
    let bytes_per_workflow = (db.size()? - size_before) as f64 / total as f64;
    let peak_rss_mib = server.peak_rss_mib();

    // Kill the server without warning, then look up every acknowledged write.
    drop(server);
    let ack = ack.into_inner();
    verify(&db, &ack)?;
    Ok(ServiceFigures {
        answer_save,
        answer_save_wall,
        workflows,
        peak_rss_mib,
        bytes_per_workflow,
        checked_answers: ack.answers.len(),
        checked_certificates: ack.certificates.len(),
    })
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn verify(db: &Database, ack: &Acknowledged) -> Res<()> {
    use csr_assess::db::schema::{answers, certificates, submissions};
    let mut conn = db.connect()?;
    let stored: Vec<(i64, String, String)> = answers::table
        .select((
            answers::submission_id,
            answers::criterion_id,
            answers::value,
        ))
        .load(&mut conn)?;
    let stored: HashMap<(i64, String), Value> = stored
        .into_iter()
        .map(|(s, c, v)| ((s, c), serde_json::from_str(&v).unwrap_or(Value::Null)))
        .collect();
    let mut lost = Vec::new();
    for (key, value) in &ack.answers {
        match stored.get(key) {
            Some(v) if same(v, value) => {}
            other => lost.push(format!(
                "answer {key:?}: acknowledged {value}, stored {other:?}"
            )),
        }
    }
    for (id, number) in &ack.certificates {
        let status: Option<String> = submissions::table
            .find(id)
            .select(submissions::status)
            .first(&mut conn)
            .optional()?;
        let cert: i64 = certificates::table
            .filter(certificates::number.eq(number))
            .filter(certificates::submission_id.eq(id))
            .count()
            .get_result(&mut conn)?;
        if status.as_deref() != Some("approved") || cert != 1 {
            lost.push(format!(
                "submission {id}: status {status:?}, certificate {number} rows {cert}"
            ));
        }
    }
    if lost.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} acknowledged writes missing:\n{}",
            lost.len(),
            lost.join("\n")
        )
        .into())
    }
}

/// `PRAGMA integrity_check` on a SQLite database (PostgreSQL keeps its own consistency).
fn integrity(db: &Database) -> Res<()> {
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    if db.admin_url.is_some() {
        return Ok(());
    }
    let mut conn = db.connect()?;
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut conn)?;
    let text: Vec<String> = rows.into_iter().map(|r| r.integrity_check).collect();
    if text == ["ok"] {
        Ok(())
    } else {
        Err(format!("integrity_check: {}", text.join("; ")).into())
    }
}

/// The audit chain verifies from the first entry to the last.
async fn audit_verifies(http: &Http, admin: &str) -> Res<i64> {
    let report = http
        .send(
            "audit_verify",
            Req::new(Method::GET, "/api/v1/audit/verify").token(admin),
        )
        .await?
        .expect("audit_verify", 200)?
        .json();
    if report["ok"] != true {
        return Err(format!("audit chain broken: {report}").into());
    }
    Ok(report["entries"].as_i64().unwrap_or_default())
}

async fn crash_cycles(o: &Options, dir: &Path) -> Res<()> {
    let db = Database::fresh(&o.database, dir, "crash")?;
    let data = dir.join("crash-data");
    let ack = RefCell::new(Acknowledged::default());
    let mut fixture: Option<(Fixture, String)> = None;
    let mut seed: u64 = 0x00C5_A55E;
    let mut killed_after = Vec::new();
    for cycle in 0..=o.crash_cycles {
        let server = Server::start(
            service_command(&db, &data),
            &dir.join(format!("crash-{cycle}.log")),
        )?;
        server.ready("/readyz").await?;
        let http = Http::new(server.base.clone(), Recorder::default());
        if fixture.is_none() {
            let fx = setup(&http, o.clients).await?;
            fixture = Some((fx, login(&http, ADMIN_EMAIL).await?));
        }
        let (fx, admin) = fixture.as_ref().ok_or("no fixture")?;
        let entries = audit_verifies(&http, admin).await?;
        if cycle == o.crash_cycles {
            eprintln!("crash: after {cycle} kills the audit chain of {entries} entries verifies");
            break;
        }
        // A linear congruential generator: the same schedule on every run.
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let millis = 300 + (seed >> 33) % 2000;
        let load = join_all((0..o.clients).map(|c| {
            let (http, ack) = (&http, &ack);
            async move {
                loop {
                    workflow(http, fx, ack, c).await?;
                }
            }
        }));
        let timer = actix_rt::time::sleep(Duration::from_millis(millis));
        futures_util::pin_mut!(load, timer);
        if let futures_util::future::Either::Left((results, _)) =
            futures_util::future::select(load, timer).await
        {
            let errors: Vec<String> = results
                .into_iter()
                .filter_map(|r: Res<()>| r.err().map(|e| e.to_string()))
                .collect();
            return Err(format!("cycle {cycle}: workflows failed: {}", errors.join("; ")).into());
        }
        // SIGKILL while requests are in flight; the unfinished ones were never acknowledged.
        drop(server);
        integrity(&db)?;
        verify(&db, &ack.borrow())?;
        killed_after.push(millis);
    }
    let ack = ack.into_inner();
    println!(
        "crash safety ({}): {} SIGKILLs after {:?} ms; {}audit chain verifies, \
         all {} acknowledged answers and {} certificates present",
        if db.admin_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        killed_after.len(),
        killed_after,
        if db.admin_url.is_some() {
            ""
        } else {
            "integrity_check ok after each kill, "
        },
        ack.answers.len(),
        ack.certificates.len()
    );
    Ok(())
}

fn rps_of(rows: &[Row], op: &str) -> f64 {
    rows.iter().find(|r| r.op == op).map_or(0.0, |r| r.rps)
}

async fn run(o: Options) -> Res<()> {
    let dir = tempfile::tempdir()?;
    if o.crash_cycles > 0 {
        return crash_cycles(&o, dir.path()).await;
    }
    let backend = if o.database == "sqlite" {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    eprintln!(
        "load: {backend}, {} clients, {} s per saturation phase",
        o.clients, o.seconds
    );
    let hello = ceiling(&o, dir.path(), "hello").await?;
    let insert = ceiling(&o, dir.path(), "insert").await?;
    let s = service(&o, dir.path()).await?;

    println!("### {backend} — {} clients\n", o.clients);
    print_table("Ceiling: trivial actix-web endpoint", &hello);
    print_table("Ceiling: one bare insert per request", &insert);
    print_table(
        &format!(
            "Answer save at saturation ({:.1} s)",
            s.answer_save_wall.as_secs_f64()
        ),
        &s.answer_save,
    );
    let save = rps_of(&s.answer_save, "answer_save");
    let hello_rps = rps_of(&hello, "hello");
    let insert_rps = rps_of(&insert, "insert");
    for (clients, n, wall, rows) in &s.workflows {
        print_table(
            &format!(
                "Workflows at {clients} client(s): {n} in {:.1} s = {:.0} per minute",
                wall.as_secs_f64(),
                *n as f64 / wall.as_secs_f64() * 60.0
            ),
            rows,
        );
    }
    println!("\n#### Summary\n");
    println!("| figure | value |\n|---|---:|");
    println!("| answer save req/s | {save:.0} |");
    println!(
        "| … as a fraction of the bare-insert ceiling ({insert_rps:.0} req/s) | {:.2} |",
        save / insert_rps.max(1.0)
    );
    println!(
        "| … as a fraction of the trivial-endpoint ceiling ({hello_rps:.0} req/s) | {:.3} |",
        save / hello_rps.max(1.0)
    );
    for (clients, n, wall, _) in &s.workflows {
        println!(
            "| workflows per minute at {clients} client(s) | {:.0} |",
            *n as f64 / wall.as_secs_f64() * 60.0
        );
    }
    println!("| server peak RSS | {:.1} MiB |", s.peak_rss_mib);
    println!(
        "| database growth per workflow | {:.1} KiB |",
        s.bytes_per_workflow / 1024.0
    );
    println!(
        "| acknowledged writes checked after SIGKILL | {} answers, {} certificates, none missing |",
        s.checked_answers, s.checked_certificates
    );
    let server_errors: u64 = [&hello, &insert, &s.answer_save]
        .into_iter()
        .chain(s.workflows.iter().map(|w| &w.3))
        .flatten()
        .map(Row::server_errors)
        .sum();
    println!("| server errors (5xx) | {server_errors} |");
    if server_errors > 0 {
        return Err(format!("{server_errors} server errors").into());
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve-ceiling") {
        let kind = args.get(i + 1).map_or("hello", String::as_str);
        let database = args
            .iter()
            .position(|a| a == "--database")
            .and_then(|j| args.get(j + 1))
            .map_or("", String::as_str);
        let bind = std::env::var("CSR_BIND").unwrap_or_else(|_| "127.0.0.1:0".into());
        if let Err(e) = serve_ceiling(kind, &bind, database) {
            eprintln!("ceiling server: {e}");
            std::process::exit(1);
        }
        return;
    }
    let result = Options::parse().and_then(|o| actix_rt::System::new().block_on(run(o)));
    if let Err(e) = result {
        eprintln!("load benchmark failed: {e}");
        std::process::exit(1);
    }
}
