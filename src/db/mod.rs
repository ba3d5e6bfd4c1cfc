//! Storage: one binary on embedded SQLite (default) or PostgreSQL (`postgres://` URL).
//!
//! Both backends share `schema.rs` and the query code through diesel's multi-connection; each
//! has its own migration folder, embedded in the binary and applied at start. Pool checkout and
//! queries run on actix's blocking pool, except SQLite's reads by key through [`Db::lookup`],
//! which take an idle connection on the calling thread or none.

pub mod audit;
pub mod certificates;
pub mod complaint_months;
pub mod complaints;
pub mod console_sessions;
pub mod enterprises;
pub mod evidence;
mod group;
pub mod idempotency;
pub mod reviews;
pub mod rollups;
pub mod schema;
pub mod schema_versions;
pub mod sql;
pub mod submissions;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::web;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel::{Connection, ConnectionError, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::{AppError, AppResult};

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum AnyConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the database lives, parsed from `DATABASE_URL` or the default SQLite path.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres(url.to_owned())
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            Self::Sqlite(PathBuf::from(path))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    fn connect(&self) -> Result<AnyConnection, ConnectionError> {
        match self {
            Self::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                // Every query here is short. Where the planner's row estimates are stale (a
                // server without autovacuum, a table that just grew), PostgreSQL would JIT-compile
                // single-row statements, at tens of milliseconds each. The audit chain's append
                // reads the head after taking its lock, which needs READ COMMITTED whatever the
                // server's default (a snapshot taken before the wait would miss the last entry).
                conn.batch_execute(
                    "SET jit = off; SET default_transaction_isolation = 'read committed'",
                )
                .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                Ok(AnyConnection::Postgresql(conn))
            }
            Self::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.display().to_string())?;
                // Per-connection settings; journal_mode=WAL is set once in `prepare`. Deleted
                // content is overwritten (secure_delete), so erased personal data does not
                // linger in free pages of the file.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;",
                )
                .map_err(|e| ConnectionError::BadConnection(e.to_string()))?;
                Ok(AnyConnection::Sqlite(conn))
            }
        }
    }

    /// Creates what the database needs to exist (file directory, PostgreSQL database), sets
    /// SQLite's WAL mode and applies pending migrations. Returns the versions applied.
    pub fn prepare(&self) -> Result<Vec<String>, String> {
        let applied = match self {
            Self::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    crate::files::private_dir(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
                crate::files::private_file(path)
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                let mut conn = SqliteConnection::establish(&path.display().to_string())
                    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                conn.batch_execute("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;")
                    .map_err(|e| e.to_string())?;
                conn.run_pending_migrations(SQLITE_MIGRATIONS)
                    .map_err(|e| format!("migration failed: {e}"))?
                    .iter()
                    .map(|v| v.to_string())
                    .collect()
            }
            Self::Postgres(url) => {
                let mut conn = match PgConnection::establish(url) {
                    Ok(c) => c,
                    Err(e) if e.to_string().contains("does not exist") => {
                        create_postgres_database(url)?;
                        PgConnection::establish(url).map_err(|e| e.to_string())?
                    }
                    Err(e) => return Err(format!("cannot connect to PostgreSQL: {e}")),
                };
                // Serialise concurrent starts of several instances on one database.
                conn.batch_execute("SELECT pg_advisory_lock(7271001)")
                    .map_err(|e| e.to_string())?;
                let result = conn
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.iter().map(|v| v.to_string()).collect())
                    .map_err(|e| format!("migration failed: {e}"));
                let _ = conn.batch_execute("SELECT pg_advisory_unlock(7271001)");
                result?
            }
        };
        Ok(applied)
    }
}

/// Creates the database named in `url` through the server's `postgres` database.
fn create_postgres_database(url: &str) -> Result<(), String> {
    let mut parsed = url::Url::parse(url).map_err(|e| format!("invalid DATABASE_URL: {e}"))?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "cannot create database {name:?}: use letters, digits, _ and -"
        ));
    }
    parsed.set_path("/postgres");
    let mut admin = PgConnection::establish(parsed.as_str())
        .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
    match admin.batch_execute(&format!("CREATE DATABASE \"{name}\"")) {
        Ok(()) => Ok(()),
        // Another instance created it meanwhile.
        Err(e) if e.to_string().contains("already exists") => Ok(()),
        Err(e) => Err(format!("cannot create database {name}: {e}")),
    }
}

pub struct Manager(Location);

/// A pooled connection. A PostgreSQL connection is tested before use only when it has been
/// idle for a while ([`IDLE_TEST`]; a `SELECT 1` before every request's first statement would
/// be a round trip each), and any connection when it comes back after a use that failed the
/// way a lost connection fails ([`Pooled::used`]): one that no longer answers is closed instead
/// of being handed to the next request. So is one returned by a panicking thread or with a
/// transaction left open.
pub struct Pooled {
    conn: AnyConnection,
    /// When it was opened or last came back to the pool.
    idle_since: Instant,
    suspect: bool,
    lost: bool,
}

/// How long a PostgreSQL connection may sit in the pool before it is tested at checkout: a
/// connection dropped meanwhile (a server restart, `idle_session_timeout`, a firewall) fails
/// the test, not a request.
const IDLE_TEST: Duration = Duration::from_secs(2);

impl Pooled {
    /// Passes `result` through, noting whether it may have come from a lost connection.
    fn used<T>(&mut self, result: AppResult<T>) -> AppResult<T> {
        if matches!(
            result,
            Err(AppError::Unavailable(_) | AppError::Internal(_))
        ) {
            self.suspect = true;
        }
        result
    }
}

impl std::ops::Deref for Pooled {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = ConnectionError;

    fn connect(&self) -> Result<Pooled, ConnectionError> {
        Ok(Pooled {
            conn: self.0.connect()?,
            idle_since: Instant::now(),
            suspect: false,
            lost: false,
        })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), ConnectionError> {
        conn.batch_execute("SELECT 1")
            .map_err(|e| ConnectionError::BadConnection(e.to_string()))
    }

    /// A round trip only after a failed use, to tell a lost connection from a failed query.
    fn has_broken(&self, conn: &mut Pooled) -> bool {
        use diesel::r2d2::R2D2Connection;
        conn.idle_since = Instant::now();
        conn.lost
            || std::thread::panicking()
            || conn.conn.is_broken()
            || (std::mem::take(&mut conn.suspect) && self.is_valid(conn).is_err())
    }
}

/// A connection from `pool`, a PostgreSQL one tested first when it has been idle longer than
/// [`IDLE_TEST`]; one that fails the test is closed and the next taken.
fn checkout(pool: &Pool<Manager>) -> AppResult<PooledConnection<Manager>> {
    for _ in 0..pool.max_size() {
        let mut conn = pool.get()?;
        let stale = matches!(conn.conn, AnyConnection::Postgresql(_))
            && conn.idle_since.elapsed() > IDLE_TEST;
        if !stale || conn.batch_execute("SELECT 1").is_ok() {
            return Ok(conn);
        }
        conn.lost = true;
    }
    Ok(pool.get()?)
}

/// The connection pool, cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    backend: Backend,
    /// SQLite admits one writer at a time. Writers of this process queue here, and each is
    /// woken the moment the one before it commits, instead of polling SQLite's lock through
    /// its busy handler, whose sleeps (up to 100 ms each) would be the tail latency of every
    /// write under concurrency. Other processes on the same file still meet the busy handler.
    writer: Arc<Mutex<()>>,
    /// SQLite's writes through [`Db::write`], and PostgreSQL's through [`Db::write_statement`]
    /// and [`Db::write_checked`], commit in groups ([`group`]); a PostgreSQL save that finds
    /// none queued or running commits alone on its pooled connection, a group of one.
    committer: Arc<group::Committer>,
}

impl Db {
    /// Prepares the database (migrations) and opens the pool.
    pub fn open(url: &str, max_size: u32, timeout: Duration) -> Result<Self, String> {
        let location = Location::parse(url);
        let applied = location.prepare()?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "applied migrations");
        }
        let backend = location.backend();
        let writer: Arc<Mutex<()>> = Arc::default();
        let mode = match backend {
            Backend::Sqlite => group::Mode::Savepoints,
            Backend::Postgres => group::Mode::Statements,
        };
        let committer = Arc::new(
            group::Committer::start(location.clone(), writer.clone(), mode)
                .map_err(|e| e.to_string())?,
        );
        let pool = Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(timeout)
            .test_on_check_out(false)
            .build(Manager(location))
            .map_err(|e| format!("cannot open the database pool: {e}"))?;
        Ok(Self {
            pool,
            backend,
            writer,
            committer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers (a trivial query on a pooled connection).
    pub async fn ping(&self) -> AppResult<()> {
        self.read(|conn| Ok(conn.batch_execute("SELECT 1")?)).await
    }

    /// Connections open and idle, for metrics.
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let s = self.pool.state();
        (s.connections, s.idle_connections, self.pool.max_size())
    }

    /// A read of a few rows by key, such as the session check every request makes. On SQLite
    /// it runs on the calling thread when a pooled connection is idle: such a read takes
    /// microseconds, less than handing it to the blocking pool and back, two thread wake-ups
    /// that wait for a free core on a busy server. Otherwise (PostgreSQL, where each statement
    /// is a network round trip, or no idle connection) it runs as [`Db::read`] does. The
    /// price: a read that meets a lock SQLite makes readers wait for (recovering the log after
    /// a crash, another process holding the file exclusively) waits on the calling thread, up
    /// to the busy timeout.
    pub async fn lookup<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        if self.backend == Backend::Sqlite {
            // `try_get` neither waits for a connection nor opens one.
            if let Some(mut conn) = self.pool.try_get() {
                let result = f(&mut conn);
                return conn.used(result);
            }
        }
        self.read(f).await
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    pub async fn read<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = checkout(&pool)?;
            let result = f(&mut conn);
            conn.used(result)
        })
        .await?
    }

    /// Runs `f` on one consistent view of the database, for figures that must agree with one
    /// another: a read transaction (deferred on SQLite, where WAL gives it a snapshot;
    /// `REPEATABLE READ, READ ONLY` on PostgreSQL) on the blocking pool.
    pub async fn snapshot<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut pooled = checkout(&pool)?;
            let conn: &mut AnyConnection = &mut pooled;
            let result = conn.transaction(|conn| {
                if let AnyConnection::Postgresql(_) = conn {
                    use diesel::RunQueryDsl as _;
                    diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                        .execute(conn)?;
                }
                f(conn)
            });
            pooled.used(result)
        })
        .await?
    }

    /// Runs `f` in a write transaction and returns once it is durable: on SQLite under a
    /// savepoint of the next group commit ([`group`]), on PostgreSQL in a transaction of its
    /// own on the blocking pool. Either way `f`'s changes are all kept or all undone.
    pub async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        match self.backend {
            Backend::Sqlite => self.committer.write(f).await,
            Backend::Postgres => self.write_alone(f).await,
        }
    }

    /// [`Db::write`] for a write that `f` makes with one statement, which changes the row of
    /// `submission` and no row another writer changes without changing that one, and which
    /// `f` can make again (it reads nothing before its statement). On PostgreSQL `f` runs in
    /// the next group of such statements, or alone on no transaction ([`group`]); it may run
    /// twice, and only one run's changes are kept. `f` answers [`AppError::PreconditionFailed`]
    /// only when its statement ran and wrote nothing. On SQLite this is [`Db::write`]. Saves
    /// use [`Db::write_checked`]; this always goes through the committing thread, which is how
    /// tests fill a group.
    pub async fn write_statement<T, F>(&self, submission: i64, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        match self.backend {
            Backend::Postgres => self.committer.write_statement(submission, f).await,
            Backend::Sqlite => self.write(f).await,
        }
    }

    /// Checks a write with `check` and makes it with `write`, one statement as in
    /// [`Db::write_statement`]. On SQLite both run in one transaction of the next group. On
    /// PostgreSQL `check` reads on a pooled connection, and `write` runs right after it on the
    /// same connection, on no transaction, when no other such statement is queued or running;
    /// otherwise in the next group, as [`Db::write_statement`] does. `write` must find the
    /// database as `check` left it (a revision it names) or write nothing, and make its write
    /// one statement (alone, it runs on no transaction).
    pub async fn write_checked<P, T, C, W>(
        &self,
        submission: i64,
        check: C,
        write: W,
    ) -> AppResult<T>
    where
        P: Send + 'static,
        T: Send + 'static,
        C: FnOnce(&mut AnyConnection) -> AppResult<P> + Send + 'static,
        W: Fn(&mut AnyConnection, &P) -> AppResult<T> + Send + 'static,
    {
        enum Next<T, P, W> {
            Done(T),
            Queue(P, W),
        }
        if self.backend == Backend::Sqlite {
            return self
                .write(move |conn| {
                    let checked = check(conn)?;
                    write(conn, &checked)
                })
                .await;
        }
        let committer = self.committer.clone();
        let next = self
            .read(move |conn| {
                let checked = check(conn)?;
                match committer.alone() {
                    Some(_alone) => Ok(Next::Done(write(conn, &checked)?)),
                    None => Ok(Next::Queue(checked, write)),
                }
            })
            .await?;
        match next {
            Next::Done(done) => Ok(done),
            Next::Queue(checked, write) => {
                self.committer
                    .write_statement(submission, move |conn| write(conn, &checked))
                    .await
            }
        }
    }

    /// Groups committed and the writes they held since start (SQLite's writes, PostgreSQL's
    /// saves).
    pub fn group_commits(&self) -> (u64, u64) {
        self.committer.counts()
    }

    /// Runs `f` in a write transaction of its own (`BEGIN IMMEDIATE` on SQLite) on the
    /// blocking pool, committed before the next writer starts.
    pub async fn write_alone<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        let db = self.clone();
        web::block(move || db.blocking(f)).await?
    }

    /// [`Db::write`] on the calling thread, for command-line tools and the blocking pool.
    pub fn blocking<T>(&self, f: impl FnOnce(&mut AnyConnection) -> AppResult<T>) -> AppResult<T> {
        let _turn = match self.backend {
            Backend::Sqlite => Some(self.writer.lock().unwrap_or_else(PoisonError::into_inner)),
            Backend::Postgres => None,
        };
        let mut conn = checkout(&self.pool)?;
        let result = write_tx(&mut conn, f);
        conn.used(result)
    }
}

impl Db {
    /// On SQLite, copies the write-ahead log into the database file and truncates it, so that
    /// earlier versions of overwritten pages (erased personal data) leave the log; a reader in
    /// progress may keep some frames until the next call. Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> AppResult<()> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let (pool, writer) = (self.pool.clone(), self.writer.clone());
        web::block(move || -> AppResult<()> {
            // Between two groups of writes: a checkpoint waiting for readers holds SQLite's
            // write lock, and a group starting meanwhile would fail on its busy timeout.
            let _turn = writer.lock().unwrap_or_else(PoisonError::into_inner);
            let mut conn = pool.get()?;
            let result = conn
                .batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")
                .map_err(AppError::from);
            conn.used(result)
        })
        .await?
    }
}

/// Runs `f` in a transaction that takes SQLite's write lock up front, so two writers never
/// deadlock upgrading read locks; on PostgreSQL an ordinary transaction.
pub fn write_tx<T>(
    conn: &mut AnyConnection,
    f: impl FnOnce(&mut AnyConnection) -> AppResult<T>,
) -> AppResult<T> {
    match conn {
        AnyConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
            let result = f(conn);
            let AnyConnection::Sqlite(inner) = conn else {
                return Err(AppError::internal("connection changed backend"));
            };
            match result {
                Ok(value) => {
                    AnsiTransactionManager::commit_transaction(inner)?;
                    Ok(value)
                }
                Err(e) => {
                    AnsiTransactionManager::rollback_transaction(inner)?;
                    Err(e)
                }
            }
        }
        AnyConnection::Postgresql(_) => conn.transaction(f),
    }
}

/// The current time as stored: UTC, truncated to microseconds so both backends agree.
pub fn now() -> chrono::NaiveDateTime {
    let micros = chrono::Utc::now().timestamp_micros();
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .naive_utc()
}
