//! Group commit. One thread of the process owns a write connection and takes the writes queued
//! for it together, so that they share one commit; no caller hears of success before its write
//! is durable. A write never waits for others to arrive: the group is whatever queued while the
//! previous one committed, so a lone write commits at once.
//!
//! **SQLite** ([`Mode::Savepoints`]) admits one writer, and each commit writes the pages it
//! changed to the write-ahead log and waits for `fsync` (`synchronous = FULL`). The group is one
//! transaction with each write under its own savepoint (a write that fails is rolled back to
//! its savepoint, alone); pages several writes share (the audit log's tail, an answer
//! history's) are written once per group, and the group pays one `fsync`.
//!
//! **PostgreSQL** ([`Mode::Statements`]) takes the answer saves that find another queued or
//! running, each one statement that changes one submission and appends its audit entry. Each
//! append takes the audit chain's lock, held to the end of the commit, so saves committed one
//! by one wait for each other's commit and flush.
//! A group runs its saves in one transaction, which holds the lock once and flushes once:
//! it locks the group's submissions' rows first (`FOR NO KEY UPDATE`, in order of id), then
//! runs the statements and commits. This relies on an order every writer keeps, and which
//! nothing but review enforces: a writer changes a submission's row (its revision's bump)
//! before it appends, and locks nothing a save's statement needs after it appends. A group
//! therefore never holds the chain's lock while it waits for a row whose holder waits for that
//! lock (`tests/api/commits.rs` builds that situation). When a save of the group fails other
//! than by a refusal that wrote nothing (412), the group is rolled back and each save runs
//! again alone, on no transaction; a save can run again because it is a function of what its
//! checks read ([`Committer::write_statement`]). A lone save runs on no transaction at once, as
//! one statement is atomic; so does a save that finds no other queued or running, on its own
//! pooled connection, without the committing thread ([`Committer::alone`]). The price of one
//! thread: a save waiting for its submission's row (held by a long write to that submission)
//! holds up the saves queued behind it, as on SQLite.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use tokio::sync::oneshot;

use super::{AnyConnection, IDLE_TEST, Location};
use crate::error::{AppError, AppResult};

/// At most this many writes share one commit, so that one group's answers are not held back
/// behind an unbounded queue.
const MAX_GROUP: usize = 64;

/// How a committer runs a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// One transaction, each write under a savepoint (SQLite).
    Savepoints,
    /// One transaction of single statements that can run again alone (PostgreSQL's saves).
    Statements,
}

/// One queued write.
trait Work: Send {
    /// Runs the write (inside the group's transaction, or alone); whether it succeeded.
    fn run(&mut self, conn: &mut AnyConnection) -> bool;
    /// The submission whose row the write changes, locked before the group's first statement
    /// ([`Mode::Statements`]).
    fn submission(&self) -> Option<i64> {
        None
    }
    /// The error of the write's last run, if it failed.
    fn failure(&self) -> Option<&AppError>;
    /// Answers the caller: the write's own error if it failed, else `failed` when the group
    /// did not commit, else its result.
    fn answer(self: Box<Self>, failed: Option<&AppError>);
}

/// A write's last result and where its answer goes.
struct Outcome<T> {
    result: Option<AppResult<T>>,
    reply: oneshot::Sender<AppResult<T>>,
}

impl<T> Outcome<T> {
    fn new(reply: oneshot::Sender<AppResult<T>>) -> Self {
        Self {
            result: None,
            reply,
        }
    }

    /// Keeps the result of a run (a panic is an internal error); whether it succeeded.
    fn keep(&mut self, run: std::thread::Result<AppResult<T>>) -> bool {
        let result = run.unwrap_or_else(|_| Err(AppError::internal("a database write panicked")));
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn failure(&self) -> Option<&AppError> {
        self.result.as_ref()?.as_ref().err()
    }
}

/// A write of [`Mode::Savepoints`], run once.
struct Pending<T, F> {
    f: Option<F>,
    outcome: Outcome<T>,
}

impl<T, F> Work for Pending<T, F>
where
    T: Send,
    F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send,
{
    fn run(&mut self, conn: &mut AnyConnection) -> bool {
        let run = match self.f.take() {
            Some(f) => catch_unwind(AssertUnwindSafe(|| f(conn))),
            None => Ok(Err(AppError::internal("a database write ran twice"))),
        };
        self.outcome.keep(run)
    }

    fn failure(&self) -> Option<&AppError> {
        self.outcome.failure()
    }

    fn answer(self: Box<Self>, failed: Option<&AppError>) {
        reply(self.outcome, failed);
    }
}

/// A write of [`Mode::Statements`]: one statement on one submission, which may run more than
/// once.
struct Again<T, F> {
    f: F,
    submission: i64,
    outcome: Outcome<T>,
    /// Counted until answered, even when the caller has gone.
    busy: Busy,
}

impl<T, F> Work for Again<T, F>
where
    T: Send,
    F: Fn(&mut AnyConnection) -> AppResult<T> + Send,
{
    fn run(&mut self, conn: &mut AnyConnection) -> bool {
        self.outcome
            .keep(catch_unwind(AssertUnwindSafe(|| (self.f)(conn))))
    }

    fn submission(&self) -> Option<i64> {
        Some(self.submission)
    }

    fn failure(&self) -> Option<&AppError> {
        self.outcome.failure()
    }

    fn answer(self: Box<Self>, failed: Option<&AppError>) {
        let Self { outcome, busy, .. } = *self;
        drop(busy);
        reply(outcome, failed);
    }
}

/// Answers a caller: the write's own error if it failed, else `failed` when the group did not
/// commit, else its result.
fn reply<T>(outcome: Outcome<T>, failed: Option<&AppError>) {
    let result = match (outcome.result, failed) {
        (Some(Err(own)), _) => Err(own),
        (_, Some(failed)) => Err(failed.clone()),
        (Some(ok), None) => ok,
        (None, None) => Err(AppError::internal("a database write was not run")),
    };
    // The caller may have gone (a dropped request); its write stands.
    let _ = outcome.reply.send(result);
}

/// The queue of the committing thread; the thread ends when this is dropped.
pub(super) struct Committer {
    queue: Mutex<Sender<Box<dyn Work>>>,
    counts: Arc<Counts>,
    /// Statements of [`Mode::Statements`] queued or running, alone or in a group ([`Busy`]).
    busy: Arc<AtomicUsize>,
}

/// One statement of [`Mode::Statements`] counted as queued or running until this is dropped:
/// one queued for the committing thread, dropped once answered, or one running alone
/// ([`Committer::alone`]). The count tells only where the next save runs, never whether it
/// is right.
pub(super) struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Groups committed (or failed) and the writes they held, since start.
#[derive(Default)]
struct Counts {
    groups: AtomicU64,
    writes: AtomicU64,
}

impl Committer {
    /// Starts the committing thread, with its own connection to `location`. It takes `turn`
    /// for each group (SQLite's writers of this process queue on it, see [`super::Db`]).
    pub(super) fn start(location: Location, turn: Arc<Mutex<()>>, mode: Mode) -> AppResult<Self> {
        let (tx, rx) = channel::<Box<dyn Work>>();
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        std::thread::Builder::new()
            .name("db-commit".into())
            .spawn(move || run(&location, &turn, mode, &rx, &c))
            .map_err(|e| AppError::internal(format!("cannot start the committing thread: {e}")))?;
        Ok(Self {
            queue: Mutex::new(tx),
            counts,
            busy: Arc::default(),
        })
    }

    /// (groups, writes) since start.
    pub(super) fn counts(&self) -> (u64, u64) {
        (
            self.counts.groups.load(Ordering::Relaxed),
            self.counts.writes.load(Ordering::Relaxed),
        )
    }

    /// Runs `f` in the next group and returns its result once the group has committed.
    pub(super) async fn write<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Box::new(Pending {
            f: Some(f),
            outcome: Outcome::new(reply),
        }))?;
        answer
            .await
            .map_err(|_| AppError::internal("the database writer dropped a write"))?
    }

    /// Runs `f`, one statement that changes `submission`'s row and nothing another writer
    /// changes without it, in the next group ([`Mode::Statements`]); it may run twice (in the
    /// group, then alone after the group failed), and only one run's changes are kept. `f`
    /// answers [`AppError::PreconditionFailed`] only when its statement ran and wrote nothing;
    /// any other error is taken to have aborted the group's transaction.
    pub(super) async fn write_statement<T, F>(&self, submission: i64, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut AnyConnection) -> AppResult<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.enqueue(Box::new(Again {
            f,
            submission,
            outcome: Outcome::new(reply),
            busy: Busy::new(&self.busy),
        }))?;
        answer
            .await
            .map_err(|_| AppError::internal("the database writer dropped a write"))?
    }

    /// When no statement is queued or running, leave to run one alone on the caller's
    /// connection, on no transaction: it commits alone either way, and the committing thread
    /// would only add two thread wake-ups. Counted as a group of one.
    pub(super) fn alone(&self) -> Option<Busy> {
        self.busy
            .compare_exchange(0, 1, Ordering::Relaxed, Ordering::Relaxed)
            .ok()?;
        self.counts.groups.fetch_add(1, Ordering::Relaxed);
        self.counts.writes.fetch_add(1, Ordering::Relaxed);
        Some(Busy(self.busy.clone()))
    }

    fn enqueue(&self, work: Box<dyn Work>) -> AppResult<()> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(work)
            .map_err(|_| AppError::Unavailable("the database writer has stopped".into()))
    }
}

fn run(
    location: &Location,
    turn: &Mutex<()>,
    mode: Mode,
    queue: &Receiver<Box<dyn Work>>,
    counts: &Counts,
) {
    let mut conn: Option<AnyConnection> = None;
    // When the connection was last used, to test a PostgreSQL one that has been idle as the
    // pool does (`IDLE_TEST`).
    let mut used = Instant::now();
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        group.extend(queue.try_iter().take(MAX_GROUP - 1));
        counts.groups.fetch_add(1, Ordering::Relaxed);
        counts
            .writes
            .fetch_add(group.len() as u64, Ordering::Relaxed);
        let _turn = turn.lock().unwrap_or_else(PoisonError::into_inner);
        let outcome = match conn.take() {
            Some(c) => Ok(c),
            None => location
                .connect()
                .map_err(|e| AppError::Unavailable(e.to_string())),
        }
        .and_then(|mut c| match mode {
            Mode::Savepoints => {
                commit(&mut c, &mut group)?;
                Ok(Some(c))
            }
            Mode::Statements => {
                // A connection dropped while idle (a server restart) fails the test, not the
                // group.
                if used.elapsed() > IDLE_TEST && c.batch_execute("SELECT 1").is_err() {
                    c = location
                        .connect()
                        .map_err(|e| AppError::Unavailable(e.to_string()))?;
                }
                statements(&mut c, &mut group)?;
                // Every write's outcome is final here (a failed group ran each write again
                // alone): a connection a write may have lost is tested, and dropped if it
                // fails, without failing writes that committed.
                let lost = group.iter().any(|w| {
                    matches!(
                        w.failure(),
                        Some(AppError::Unavailable(_) | AppError::Internal(_))
                    )
                }) && c.batch_execute("SELECT 1").is_err();
                Ok((!lost).then_some(c))
            }
        });
        used = Instant::now();
        let failed = match outcome {
            Ok(c) => {
                conn = c;
                None
            }
            // The connection is dropped: its transaction state is unknown. The next group
            // opens a new one.
            Err(e) => {
                tracing::error!(error = %e, writes = group.len(), "a group of writes failed");
                Some(e)
            }
        };
        for work in group {
            work.answer(failed.as_ref());
        }
    }
}

/// Runs the group in one transaction, each write under its own savepoint, and commits.
fn commit(conn: &mut AnyConnection, group: &mut [Box<dyn Work>]) -> AppResult<()> {
    fn sqlite(conn: &mut AnyConnection) -> AppResult<&mut diesel::SqliteConnection> {
        match conn {
            AnyConnection::Sqlite(c) => Ok(c),
            AnyConnection::Postgresql(_) => Err(AppError::internal("group commit is for SQLite")),
        }
    }
    /// Transactions open on the connection: 1 inside the group, 2 inside a write's savepoint.
    fn depth(c: &mut diesel::SqliteConnection) -> AppResult<u32> {
        Ok(AnsiTransactionManager::transaction_manager_status_mut(c)
            .transaction_depth()?
            .map_or(0, |d| d.get()))
    }
    /// A write that left a nested transaction open (one that panicked inside it, say) would
    /// turn the group's COMMIT into a RELEASE: the group fails instead, and dropping the
    /// connection rolls it all back.
    fn expect_depth(c: &mut diesel::SqliteConnection, want: u32) -> AppResult<()> {
        match depth(c)? {
            d if d == want => Ok(()),
            d => Err(AppError::internal(format!(
                "a write left {d} transactions open where {want} were expected"
            ))),
        }
    }
    AnsiTransactionManager::begin_transaction_sql(sqlite(conn)?, "BEGIN IMMEDIATE")?;
    for work in group.iter_mut() {
        AnsiTransactionManager::begin_transaction(sqlite(conn)?)?;
        let ok = work.run(conn);
        let c = sqlite(conn)?;
        expect_depth(c, 2)?;
        if ok {
            AnsiTransactionManager::commit_transaction(c)?;
        } else {
            AnsiTransactionManager::rollback_transaction(c)?;
        }
        expect_depth(c, 1)?;
    }
    let c = sqlite(conn)?;
    if let Err(e) = AnsiTransactionManager::commit_transaction(c) {
        let _ = AnsiTransactionManager::rollback_transaction(c);
        return Err(e.into());
    }
    expect_depth(c, 0)
}

/// Runs a group of [`Mode::Statements`]: a lone statement on no transaction; several in one
/// transaction that first locks their submissions' rows (`FOR NO KEY UPDATE`, the lock each
/// statement's `UPDATE` takes anyway), or, when any of them fails other than by a refusal that
/// wrote nothing, each again alone after the transaction is rolled back. Errors are those of
/// `BEGIN`, `COMMIT` and `ROLLBACK`; each write keeps its own outcome.
fn statements(conn: &mut AnyConnection, group: &mut [Box<dyn Work>]) -> AppResult<()> {
    fn pg(conn: &mut AnyConnection) -> AppResult<&mut diesel::PgConnection> {
        match conn {
            AnyConnection::Postgresql(c) => Ok(c),
            AnyConnection::Sqlite(_) => {
                Err(AppError::internal("statement groups are for PostgreSQL"))
            }
        }
    }
    if let [lone] = group {
        lone.run(conn);
        return Ok(());
    }
    let mut ids: Vec<i64> = group.iter().filter_map(|w| w.submission()).collect();
    ids.sort_unstable();
    ids.dedup();
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    // One round trip. Integers only: nothing a caller wrote is in this text. Through diesel's
    // transaction manager, so that a write opening a transaction of its own gets a savepoint.
    AnsiTransactionManager::begin_transaction_sql(
        pg(conn)?,
        &if ids.is_empty() {
            "BEGIN".to_owned()
        } else {
            format!(
                "BEGIN; SELECT 1 FROM submissions WHERE id IN ({}) ORDER BY id FOR NO KEY UPDATE",
                ids.join(",")
            )
        },
    )?;
    // A refusal (the submission moved on: the statement ran and wrote nothing) leaves the
    // transaction usable; any other failure may have aborted it.
    let aborted = group.iter_mut().any(|w| {
        w.run(conn);
        w.failure()
            .is_some_and(|e| !matches!(e, AppError::PreconditionFailed))
    });
    if !aborted {
        AnsiTransactionManager::commit_transaction(pg(conn)?)?;
        return Ok(());
    }
    AnsiTransactionManager::rollback_transaction(pg(conn)?)?;
    for work in group.iter_mut() {
        work.run(conn);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use diesel::RunQueryDsl;
    use diesel::sql_types::BigInt;

    use crate::db::Db;
    use crate::error::{AppError, AppResult};

    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    /// Writes queued together commit together, and each keeps its own outcome: a write that
    /// fails or panics is undone alone, the others of its group stay.
    #[actix_rt::test]
    async fn a_group_commits_once_and_undoes_only_its_failed_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(
            &dir.path().join("group.db").display().to_string(),
            2,
            Duration::from_secs(5),
        )
        .unwrap();
        db.write(|conn| {
            diesel::sql_query("CREATE TABLE t (id INTEGER PRIMARY KEY)").execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
        let before = db.group_commits();
        // The first write holds the committing thread while the others queue behind it.
        let slow = db.write(|conn| {
            std::thread::sleep(Duration::from_millis(200));
            diesel::sql_query("INSERT INTO t (id) VALUES (0)").execute(conn)?;
            Ok(0)
        });
        let writes = (1..=30i64).map(|i| {
            let db = db.clone();
            async move {
                db.write(move |conn| {
                    diesel::sql_query(format!("INSERT INTO t (id) VALUES ({i})")).execute(conn)?;
                    match i % 3 {
                        0 => Err(AppError::PreconditionFailed),
                        1 if i == 7 => panic!("a write that panics"),
                        _ => Ok(i),
                    }
                })
                .await
            }
        });
        let (first, rest) =
            futures_util::future::join(slow, futures_util::future::join_all(writes)).await;
        assert_eq!(first.unwrap(), 0);
        for (i, r) in (1..=30i64).zip(&rest) {
            match (i % 3, i) {
                (0, _) => assert!(matches!(r, Err(AppError::PreconditionFailed)), "{i}: {r:?}"),
                (1, 7) => assert!(matches!(r, Err(AppError::Internal(_))), "{i}: {r:?}"),
                _ => assert_eq!(r.as_ref().unwrap(), &i),
            }
        }
        let kept: Vec<i64> = db
            .read(|conn| {
                Ok(diesel::sql_query("SELECT id AS n FROM t ORDER BY id")
                    .load::<N>(conn)?
                    .into_iter()
                    .map(|r| r.n)
                    .collect())
            })
            .await
            .unwrap();
        let expected: Vec<i64> = (0..=30)
            .filter(|i| *i == 0 || (i % 3 != 0 && *i != 7))
            .collect();
        assert_eq!(kept, expected);
        let (groups, writes) = db.group_commits();
        assert_eq!(writes - before.1, 31);
        // The thirty queued while the first ran: far fewer commits than writes.
        assert!(groups - before.0 <= 3, "{} groups", groups - before.0);

        // A write that panics inside a transaction of its own leaves it open: its group fails
        // as a whole (nothing of it stays, nobody hears of success), and the next group works.
        let nested = db.write(|conn| {
            diesel::sql_query("INSERT INTO t (id) VALUES (100)").execute(conn)?;
            diesel::Connection::transaction(conn, |conn| -> AppResult<()> {
                diesel::sql_query("INSERT INTO t (id) VALUES (101)").execute(conn)?;
                panic!("a write that panics inside its own transaction")
            })
        });
        assert!(matches!(nested.await, Err(AppError::Internal(_))));
        db.write(|conn| {
            diesel::sql_query("INSERT INTO t (id) VALUES (102)").execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
        let after: Vec<i64> = db
            .read(|conn| {
                Ok(
                    diesel::sql_query("SELECT id AS n FROM t WHERE id >= 100 ORDER BY id")
                        .load::<N>(conn)?
                        .into_iter()
                        .map(|r| r.n)
                        .collect(),
                )
            })
            .await
            .unwrap();
        assert_eq!(after, vec![102]);
    }
}
