//! PostgreSQL's group commit of answer saves (`src/db/group.rs`, `Mode::Statements`): saves
//! queued together share one transaction, a failure in a group costs no other save its write,
//! and a group never holds the audit chain's lock while it waits for a row another writer holds.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use csr_assess::db::Db;
use csr_assess::error::{AppError, AppResult};
use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;

use crate::helpers::{Backend, TestApp, fresh_postgres, postgres_url, spawn_app};

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn skipped() -> bool {
    if postgres_url().is_none() {
        eprintln!("CSR_TEST_POSTGRES_URL not set: PostgreSQL test not run");
        return true;
    }
    false
}

/// Writes queued while another runs commit as one group. When one of the group fails (a
/// database error, which aborts the group's transaction, or a panic), the group is rolled back
/// and each write runs again alone: every other write is kept exactly once (the table's key
/// would refuse a second copy), and each failed one answers its own error.
#[actix_rt::test]
async fn a_failed_statement_costs_its_group_nothing() {
    if skipped() {
        return;
    }
    let fresh = fresh_postgres();
    let db = Db::open(&fresh.url, 4, Duration::from_secs(5)).unwrap();
    db.write(|conn| {
        diesel::sql_query("CREATE TABLE t (id BIGINT PRIMARY KEY)").execute(conn)?;
        Ok(())
    })
    .await
    .unwrap();
    let before = db.group_commits();
    let runs: Arc<Vec<AtomicUsize>> = Arc::new((0..=40).map(|_| AtomicUsize::new(0)).collect());

    let slow = hold_committer(&db).await;
    let failing = (1..=30i64).map(|i| {
        let (db, runs) = (db.clone(), runs.clone());
        async move {
            db.write_statement(i, move |conn| {
                runs[i as usize].fetch_add(1, Ordering::SeqCst);
                let sql = match i {
                    // Division by zero: the statement fails inside the group's transaction.
                    _ if i % 3 == 0 => format!("INSERT INTO t (id) VALUES ({i} / 0)"),
                    7 => panic!("a write that panics"),
                    _ => format!("INSERT INTO t (id) VALUES ({i})"),
                };
                diesel::sql_query(sql).execute(conn)?;
                Ok(i)
            })
            .await
        }
    });
    let rest = futures_util::future::join_all(failing).await;
    slow.await.unwrap().unwrap();
    for (i, r) in (1..=30i64).zip(&rest) {
        match i {
            _ if i % 3 == 0 || i == 7 => {
                assert!(matches!(r, Err(AppError::Internal(_))), "{i}: {r:?}")
            }
            _ => assert_eq!(r.as_ref().unwrap(), &i),
        }
    }
    // The thirty made one group. The writes before its first failure ran twice (in the
    // group, then alone), the failure and those after it once in the group, if reached, and
    // once alone.
    let (groups, writes) = db.group_commits();
    assert_eq!((groups - before.0, writes - before.1), (2, 31));
    assert_eq!(runs[1].load(Ordering::SeqCst), 2);
    assert_eq!(runs[2].load(Ordering::SeqCst), 2);
    assert_eq!(runs[30].load(Ordering::SeqCst), 1);
    let kept = ids(&db, "SELECT id AS n FROM t ORDER BY id").await;
    let expected: Vec<i64> = (1..=30).filter(|i| i % 3 != 0 && *i != 7).collect();
    assert_eq!(kept, expected);

    // A refusal (412: the statement ran and wrote nothing) aborts nothing: the group commits
    // once, and each of its writes runs once.
    let before = db.group_commits();
    let slow = hold_committer(&db).await;
    let fine = (31..=40i64).map(|i| {
        let (db, runs) = (db.clone(), runs.clone());
        async move {
            db.write_statement(i, move |conn| {
                runs[i as usize].fetch_add(1, Ordering::SeqCst);
                if i == 35 {
                    diesel::sql_query("SELECT 1 FROM t WHERE false").execute(conn)?;
                    return Err(AppError::PreconditionFailed);
                }
                diesel::sql_query(format!("INSERT INTO t (id) VALUES ({i})")).execute(conn)?;
                Ok(i)
            })
            .await
        }
    });
    let rest = futures_util::future::join_all(fine).await;
    slow.await.unwrap().unwrap();
    for (i, r) in (31..=40i64).zip(rest) {
        match i {
            35 => assert!(matches!(r, Err(AppError::PreconditionFailed)), "{r:?}"),
            _ => assert_eq!(r.unwrap(), i),
        }
        assert_eq!(runs[i as usize].load(Ordering::SeqCst), 1, "{i}");
    }
    let (groups, writes) = db.group_commits();
    assert_eq!((groups - before.0, writes - before.1), (2, 11));
    let kept = ids(&db, "SELECT count(*) AS n FROM t WHERE id > 30").await;
    assert_eq!(kept, vec![9]);
}

/// A save that finds no other queued or running sends its statement at once, on the thread
/// and connection of its checks (a group of one); otherwise it waits for the committing
/// thread's next group. A queued save whose caller has gone still counts until it is answered.
#[actix_rt::test]
async fn a_save_runs_alone_only_when_none_is_queued() {
    if skipped() {
        return;
    }
    let fresh = fresh_postgres();
    let db = Db::open(&fresh.url, 4, Duration::from_secs(5)).unwrap();
    let on_thread = || {
        let db = db.clone();
        async move {
            db.write_checked(
                0,
                |_| Ok(()),
                |_, _| Ok(std::thread::current().name().map(str::to_owned)),
            )
            .await
            .unwrap()
        }
    };
    let before = db.group_commits();
    assert_ne!(on_thread().await.as_deref(), Some("db-commit"));
    let after = db.group_commits();
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1));

    let slow = hold_committer(&db).await;
    assert_eq!(on_thread().await.as_deref(), Some("db-commit"));
    slow.await.unwrap().unwrap();

    let slow = hold_committer(&db).await;
    let gone = db.write_statement(0, |conn| {
        diesel::sql_query("SELECT pg_sleep(0.3)").execute(conn)?;
        Ok(())
    });
    // Polled once (queued), then dropped.
    assert!(futures_util::FutureExt::now_or_never(gone).is_none());
    slow.await.unwrap().unwrap();
    // The committing thread now runs the abandoned save for 0.3 s.
    assert_eq!(on_thread().await.as_deref(), Some("db-commit"));
}

/// Every writer changes a submission's row before it takes the audit chain's lock. A group
/// takes the rows of its submissions first, so it never holds the chain's lock while waiting
/// for such a writer, which would be a deadlock that PostgreSQL breaks by failing one side
/// after a second. Here the other writer holds the submission's row, the group queues
/// behind it, the writer then takes the chain's lock and commits, and the group follows:
/// nobody fails. (Taking the rows as each statement runs instead fails the writer here: the
/// group's first statement holds the chain's lock while its second waits for the row.)
#[actix_rt::test]
async fn a_group_takes_its_submissions_before_the_chain() {
    let Some((_app, db, id)) = draft_on_postgres().await else {
        return;
    };

    // The other writer: the submission's row, then (while the group waits) the chain's lock.
    let writer = {
        let db = db.clone();
        actix_rt::spawn(async move {
            db.write_alone(move |conn| -> AppResult<()> {
                diesel::sql_query(format!(
                    "UPDATE submissions SET revision = revision WHERE id = {id}"
                ))
                .execute(conn)?;
                std::thread::sleep(Duration::from_millis(600));
                lock_chain(conn)?;
                Ok(())
            })
            .await
        })
    };
    actix_rt::time::sleep(Duration::from_millis(100)).await;
    // The two writes queued behind a lone one form a group: the first holds the chain's lock
    // for half a second, the second changes the submission's row.
    let slow = hold_committer(&db).await;
    let chain = db.write_statement(0, |conn| {
        diesel::sql_query(format!(
            "WITH l AS MATERIALIZED (SELECT pg_advisory_xact_lock({})) \
             SELECT pg_sleep(0.5) FROM l",
            csr_assess::db::audit::CHAIN_LOCK
        ))
        .execute(conn)?;
        Ok(())
    });
    let row = db.write_statement(id, move |conn| {
        diesel::sql_query(format!(
            "UPDATE submissions SET revision = revision WHERE id = {id}"
        ))
        .execute(conn)?;
        Ok(())
    });
    let (chain, row) = futures_util::future::join(chain, row).await;
    assert!(writer.await.unwrap().is_ok(), "the other writer failed");
    slow.await.unwrap().unwrap();
    chain.unwrap();
    row.unwrap();
}

/// A group locks its submissions' rows `FOR NO KEY UPDATE`, the lock their `UPDATE` takes, and
/// not `FOR UPDATE`: a writer that only refers to a submission (a foreign key's check, as a
/// withdrawal's insert into the latest assessments makes) goes through while a group runs.
/// Here the group's first statement waits for such a writer's row to be committed. With
/// `FOR UPDATE` the writer would wait for the group, the statement would give up after ten
/// seconds, and the group would run again alone: the statement would run twice.
#[actix_rt::test]
async fn a_group_lets_others_refer_to_its_submissions() {
    let Some((_app, db, id)) = draft_on_postgres().await else {
        return;
    };
    let runs = Arc::new(AtomicUsize::new(0));
    let before = db.group_commits();

    let slow = hold_committer(&db).await;
    let waiting = {
        let runs = runs.clone();
        db.write_statement(id, move |conn| {
            runs.fetch_add(1, Ordering::SeqCst);
            diesel::sql_query(format!(
                "DO $$ BEGIN FOR i IN 1..500 LOOP \
                 IF EXISTS (SELECT 1 FROM answer_history WHERE submission_id = {id} \
                 AND criterion_id = 'probe') THEN RETURN; END IF; PERFORM pg_sleep(0.02); \
                 END LOOP; RAISE EXCEPTION 'the referring writer did not commit'; END $$"
            ))
            .execute(conn)?;
            Ok(())
        })
    };
    let second = db.write_statement(id, |conn| {
        diesel::sql_query("SELECT 1").execute(conn)?;
        Ok(())
    });
    let referring = {
        let (db, runs) = (db.clone(), runs.clone());
        async move {
            // Once the group holds the row and its first statement waits.
            while runs.load(Ordering::SeqCst) == 0 {
                actix_rt::time::sleep(Duration::from_millis(5)).await;
            }
            db.write_alone(move |conn| {
                diesel::sql_query(format!(
                    "INSERT INTO answer_history (submission_id, criterion_id, change, \
                     schema_version, changed_by, changed_at) SELECT id, 'probe', 'answered', \
                     version, created_by, now() FROM submissions WHERE id = {id}"
                ))
                .execute(conn)?;
                Ok(())
            })
            .await
        }
    };
    let ((waiting, second), referring) =
        futures_util::future::join(futures_util::future::join(waiting, second), referring).await;
    slow.await.unwrap().unwrap();
    referring.unwrap();
    waiting.unwrap();
    second.unwrap();
    // The two statements made one group (after the one holding the committing thread): else
    // the first ran alone, without the row's lock, and proved nothing.
    let (groups, writes) = db.group_commits();
    assert_eq!((groups - before.0, writes - before.1), (2, 3));
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the group was run again alone"
    );
}

/// A service on a fresh PostgreSQL database, its database handle and an enterprise's draft;
/// `None` when PostgreSQL is not configured. The service runs until the first is dropped.
async fn draft_on_postgres() -> Option<(TestApp, Db, i64)> {
    if skipped() {
        return None;
    }
    let app = spawn_app(Backend::Postgres).await;
    let e = app.enterprise().await;
    let draft = app.create_submission(&e.token, "2024").await;
    let db = app.state.db.clone();
    Some((app, db, draft.id))
}

/// A lone write that keeps the committing thread busy for 0.3 s, returned once it runs: what
/// is queued meanwhile makes the next group.
async fn hold_committer(db: &Db) -> actix_rt::task::JoinHandle<AppResult<()>> {
    let started = Arc::new(AtomicUsize::new(0));
    let (db, flag) = (db.clone(), started.clone());
    let slow = actix_rt::spawn(async move {
        db.write_statement(0, move |conn| {
            flag.fetch_add(1, Ordering::SeqCst);
            diesel::sql_query("SELECT pg_sleep(0.3)").execute(conn)?;
            Ok(())
        })
        .await
    });
    while started.load(Ordering::SeqCst) == 0 {
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
    slow
}

fn lock_chain(conn: &mut csr_assess::db::AnyConnection) -> AppResult<()> {
    diesel::sql_query(format!(
        "SELECT pg_advisory_xact_lock({})",
        csr_assess::db::audit::CHAIN_LOCK
    ))
    .execute(conn)?;
    Ok(())
}

async fn ids(db: &Db, sql: &'static str) -> Vec<i64> {
    db.read(move |conn| {
        Ok(diesel::sql_query(sql)
            .load::<N>(conn)?
            .into_iter()
            .map(|r| r.n)
            .collect())
    })
    .await
    .unwrap()
}
