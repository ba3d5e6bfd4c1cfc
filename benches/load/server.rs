//! The server processes (the release binary, or this tool re-executed as a ceiling server), their databases, and the ceilings.

use super::*;

/// A server process of this run, killed on drop.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub(crate) fn start(mut cmd: Command, log: &Path) -> Res<Self> {
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

    pub(crate) async fn ready(&self, path: &str) -> Res<()> {
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
    pub(crate) fn peak_rss_mib(&self) -> f64 {
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
pub(crate) struct Database {
    pub(crate) url: String,
    pub(crate) admin_url: Option<String>,
    pub(crate) name: String,
}

impl Database {
    pub(crate) fn fresh(spec: &str, dir: &Path, phase: &str) -> Res<Self> {
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

    pub(crate) fn connect(&self) -> Res<csr_assess::db::AnyConnection> {
        use csr_assess::db::AnyConnection;
        Ok(match &self.admin_url {
            None => AnyConnection::Sqlite(SqliteConnection::establish(&self.url)?),
            Some(_) => AnyConnection::Postgresql(PgConnection::establish(&self.url)?),
        })
    }

    /// Bytes the database occupies now (SQLite pages including the WAL's, or
    /// `pg_database_size`).
    pub(crate) fn size(&self) -> Res<i64> {
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

pub(crate) fn serve_ceiling(kind: &str, bind: &str, database: &str) -> Res<()> {
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
pub(crate) async fn saturate<F, Fut>(clients: usize, seconds: u64, call: F) -> Res<Duration>
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

pub(crate) async fn ceiling(o: &Options, dir: &Path, kind: &'static str) -> Res<Vec<Row>> {
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
