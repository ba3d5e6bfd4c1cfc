//! The databases of the phases, the server processes (the service, or this tool re-executed as
//! a ceiling server), and the ceilings.

use super::*;

/// A fresh database for one phase: a SQLite file under `dir`, or a new PostgreSQL database on
/// the server at `spec`, dropped at the end (declare it before its server, so that the server
/// stops first).
pub(crate) fn fresh_database(spec: &str, dir: &Path, phase: &str) -> Res<FreshDatabase> {
    if spec == "sqlite" {
        return Ok(FreshDatabase::sqlite(&dir.join(format!("{phase}.db"))));
    }
    Ok(FreshDatabase::postgres(spec, &format!("csr_load_{phase}"))?)
}

/// Bytes the database occupies now (SQLite pages including the WAL's, or
/// `pg_database_size`).
pub(crate) fn database_size(db: &FreshDatabase) -> Res<i64> {
    #[derive(QueryableByName)]
    struct Size {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = db.connect()?;
    let sql = if db.is_postgres() {
        "SELECT pg_database_size(current_database()) AS n"
    } else {
        "SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()"
    };
    Ok(diesel::sql_query(sql).get_result::<Size>(&mut conn)?.n)
}

/// Starts a server process and waits until `ready` answers 2xx.
pub(crate) async fn start_server(cmd: Command, ready: &str) -> Res<Process> {
    let server = Process::start(cmd)?;
    server.http.wait_until_ok(ready).await?;
    Ok(server)
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
        let server = HttpServer::new(move || {
            let app = App::new().route(
                "/hello",
                web::get().to(|| async { HttpResponse::Ok().body("hello") }),
            );
            match db.clone() {
                Some(db) => app.app_data(web::Data::new(db)).route(
                    "/insert",
                    web::post().to(|db: web::Data<csr_assess::db::Db>| async move {
                        // One transaction and one commit per insert: the reference the
                        // answer save is measured against.
                        db.write_alone(|conn| {
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
        .bind(bind)?;
        // The line the kit's `Process::start` waits for.
        for addr in server.addrs() {
            eprintln!("listening on http://{addr}");
        }
        server.run().await
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
    let db = fresh_database(&o.database, dir, &format!("ceiling_{kind}"))?;
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["--serve-ceiling", kind, "--database", &db.url]);
    // The address comes through CSR_BIND, set by `Process::start`.
    let server = start_server(cmd, "/hello").await?;
    let rec = Recorder::default();
    let http = Http::new(server.http.clone(), rec.clone());
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
