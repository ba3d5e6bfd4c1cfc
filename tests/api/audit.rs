//! The tamper-evident audit log: the chain verifies, the database refuses changes, and a
//! flipped byte, a deleted middle entry and a cut-off tail are each found and named.

use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app};

backend_tests!(
    the_chain_verifies_and_the_database_refuses_changes,
    a_flipped_byte_is_found,
    a_deleted_middle_entry_is_found,
    a_truncated_tail_is_found,
    failures_and_refusals_are_recorded_with_server_request_ids,
    a_rewritten_chain_is_found_behind_a_published_head,
    a_cut_tail_shows_as_a_stale_checkpoint,
    parallel_appends_make_one_chain,
    parallel_saves_make_one_chain,
    a_long_append_spans_several_inserts,
    a_failed_write_leaves_no_entry_and_no_gap,
    a_head_without_a_hash_stops_the_write,
);

/// Some activity, a signed checkpoint, and the admin token.
async fn busy_app(b: Backend) -> (TestApp, String) {
    let app = spawn_app(b).await;
    for _ in 0..3 {
        app.enterprise().await;
    }
    let admin = app.admin_token().await;
    let res = app
        .post("/api/v1/audit/checkpoints", Some(&admin), &json!({}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["created"], true);
    (app, admin)
}

async fn report(app: &TestApp, admin: &str) -> Value {
    let res = app.get("/api/v1/audit/verify", Some(admin)).await;
    assert_eq!(res.status, 200, "{}", res.text());
    res.json()
}

/// Runs SQL as someone with direct database access would, bypassing the append-only guards.
async fn tamper(app: &TestApp, sql: &'static str) {
    let disable = match app.backend {
        Backend::Sqlite => {
            "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;
             DROP TRIGGER IF EXISTS audit_checkpoints_no_update;
             DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;"
        }
        Backend::Postgres => {
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
             ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_append_only;"
        }
    };
    app.state
        .db
        .write(move |conn| {
            use diesel::connection::SimpleConnection;
            conn.batch_execute(disable)?;
            diesel::sql_query(sql).execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

async fn the_chain_verifies_and_the_database_refuses_changes(b: Backend) {
    let (app, admin) = busy_app(b).await;
    let r = report(&app, &admin).await;
    assert_eq!(r["ok"], true, "{r}");
    assert!(r["entries"].as_i64().unwrap() > 10);
    assert_eq!(r["checkpoints"], 1);
    // A second checkpoint without new entries is not taken.
    let res = app
        .post("/api/v1/audit/checkpoints", Some(&admin), &json!({}))
        .await;
    assert_eq!(res.json()["created"], false);
    // The application's own connection cannot change or delete entries.
    for sql in [
        "UPDATE audit_log SET action = 'x' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 2",
    ] {
        let result = app
            .state
            .db
            .write(move |conn| Ok(diesel::sql_query(sql).execute(conn)?))
            .await;
        assert!(result.is_err(), "{sql} was allowed");
    }
    assert_eq!(report(&app, &admin).await["ok"], true);
    // Only administrators verify.
    let e = app.enterprise().await;
    app.get("/api/v1/audit/verify", Some(&e.token))
        .await
        .problem(403, "forbidden");
    // The keys that verify checkpoints are public.
    let keys = app
        .get("/.well-known/csr-assess/keys.json", None)
        .await
        .json();
    assert_eq!(keys["keys"][0]["crv"], "Ed25519");
}

async fn a_flipped_byte_is_found(b: Backend) {
    let (app, admin) = busy_app(b).await;
    tamper(
        &app,
        "UPDATE audit_log SET details = replace(details, '\"', '''') WHERE seq = 5",
    )
    .await;
    let r = report(&app, &admin).await;
    assert_eq!(r["ok"], false);
    assert_eq!(r["first_broken"]["seq"], 5, "{r}");
    assert_eq!(r["first_broken"]["kind"], "altered");
}

async fn a_deleted_middle_entry_is_found(b: Backend) {
    let (app, admin) = busy_app(b).await;
    tamper(&app, "DELETE FROM audit_log WHERE seq = 4").await;
    let r = report(&app, &admin).await;
    assert_eq!(r["first_broken"]["seq"], 4, "{r}");
    assert_eq!(r["first_broken"]["kind"], "missing");
}

async fn a_truncated_tail_is_found(b: Backend) {
    let (app, admin) = busy_app(b).await;
    let before = report(&app, &admin).await["entries"].as_i64().unwrap();
    tamper(
        &app,
        "DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) - 2 FROM audit_log)",
    )
    .await;
    let r = report(&app, &admin).await;
    assert_eq!(r["entries"], before - 2, "{r}");
    assert_eq!(r["first_broken"]["kind"], "truncated", "{r}");
    assert_eq!(r["first_broken"]["seq"], before - 1);
    // The command line reports the same and fails.
    if app.backend == Backend::Sqlite {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_csr-assess"))
            .args([
                "--data-dir",
                app.dir.path().to_str().unwrap(),
                "--database-url",
            ])
            .arg(app.dir.path().join("test.db"))
            .args(["audit", "verify"])
            .env_remove("CSR_JWT_KEYS")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("truncated")
                || String::from_utf8_lossy(&out.stdout).contains("truncated")
        );
    }
}

/// The review's F15: failed logins, the first throttled attempt, refused roles and refresh-token
/// reuse are audited, and every entry carries a request id, including those written at start-up
/// and by the schema loader.
async fn failures_and_refusals_are_recorded_with_server_request_ids(b: Backend) {
    let (app, admin) = busy_app(b).await;
    let e = app.enterprise().await;
    for _ in 0..6 {
        app.login(&e.admin_email, "wrong password here").await;
    }
    app.login("nobody@example.com", "wrong password here").await;
    app.get("/api/v1/users", Some(&e.token))
        .await
        .problem(403, "forbidden");
    let actions = app
        .state
        .db
        .read(|conn| {
            #[derive(diesel::QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::Text)]
                action: String,
                #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
                request_id: Option<String>,
            }
            let rows: Vec<Row> =
                diesel::sql_query("SELECT action, request_id FROM audit_log ORDER BY seq")
                    .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|r| (r.action, r.request_id))
                .collect::<Vec<_>>())
        })
        .await
        .unwrap();
    let missing: Vec<_> = actions.iter().filter(|(_, id)| id.is_none()).collect();
    assert!(
        missing.is_empty(),
        "entries without a request id: {missing:?}"
    );
    let count = |a: &str| actions.iter().filter(|(x, _)| x == a).count();
    assert_eq!(count("auth.login_failed"), 6, "{actions:?}");
    assert_eq!(count("auth.throttled"), 1, "{actions:?}");
    assert_eq!(count("access.refused"), 1, "{actions:?}");
    assert!(count("schema.version_loaded") > 0);
    let r = report(&app, &admin).await;
    assert_eq!(r["ok"], true, "{r}");
}

/// Rewrites the whole chain from entry `seq` on as the review did: the entry's actor changes and
/// every later hash is recomputed, so the chain is consistent again.
async fn rewrite_chain(app: &TestApp, seq: i64) {
    use csr_assess::domain::canonical::{canonical_json, sha256_hex};
    let entries = app
        .state
        .db
        .read(|conn| {
            use csr_assess::db::schema::audit_log;
            use diesel::prelude::*;
            Ok(audit_log::table
                .order(audit_log::seq)
                .select(csr_assess::db::audit::AuditEntry::as_select())
                .load(conn)?)
        })
        .await
        .unwrap();
    let mut prev = "0".repeat(64);
    let mut updates = Vec::new();
    for e in entries {
        let s = e.seq.unwrap();
        let actor = if s == seq {
            Some(999_999)
        } else {
            e.actor_user_id
        };
        let chained = json!({
            "seq": s,
            "occurred_at": e.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "actor_user_id": actor,
            "action": e.action,
            "entity_type": e.entity_type,
            "entity_id": e.entity_id,
            "enterprise_id": e.enterprise_id,
            "request_id": e.request_id,
            "details_digest": e.details_digest,
        });
        let mut bytes = prev.clone().into_bytes();
        bytes.extend_from_slice(canonical_json(&chained).as_bytes());
        let hash = sha256_hex(&bytes);
        if s >= seq {
            updates.push(format!(
                "UPDATE audit_log SET actor_user_id = {}, prev_hash = '{prev}', hash = '{hash}' WHERE seq = {s}",
                actor.map_or("NULL".to_owned(), |a| a.to_string())
            ));
        }
        prev = hash;
    }
    for sql in updates {
        tamper(app, Box::leak(sql.into_boxed_str())).await;
    }
}

async fn published_head(app: &TestApp) -> csr_assess::db::audit::Checkpoint {
    let res = app
        .get("/.well-known/csr-assess/audit-head.json", None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    serde_json::from_slice(&res.body).unwrap()
}

async fn verify_against(
    app: &TestApp,
    head: csr_assess::db::audit::Checkpoint,
) -> csr_assess::db::audit::Report {
    let jwks = app.state.signing.jwks();
    app.state
        .db
        .read(move |conn| {
            let expect = csr_assess::db::audit::Expect {
                max_age: None,
                head: Some(&head),
            };
            csr_assess::db::audit::verify(conn, &jwks, &expect)
        })
        .await
        .unwrap()
}

/// The review's F8: the chain rewritten with recomputed hashes and the checkpoints deleted.
/// The log without checkpoints fails on its own, and a head published before the rewrite names
/// the change, through the library and the command line.
async fn a_rewritten_chain_is_found_behind_a_published_head(b: Backend) {
    let (app, admin) = busy_app(b).await;
    let head = published_head(&app).await;
    assert!(head.entries > 5);
    // The database refuses to lose checkpoints.
    let deleted = app
        .state
        .db
        .write(|conn| Ok(diesel::sql_query("DELETE FROM audit_checkpoints").execute(conn)?))
        .await;
    assert!(deleted.is_err(), "checkpoints could be deleted");

    rewrite_chain(&app, 2).await;
    tamper(&app, "DELETE FROM audit_checkpoints").await;
    let r = report(&app, &admin).await;
    assert_eq!(r["ok"], false, "{r}");
    assert_eq!(r["first_broken"]["kind"], "no_checkpoint", "{r}");
    let r = verify_against(&app, head.clone()).await;
    let broken = r.first_broken.expect("the rewrite is found");
    assert_eq!(
        broken.kind,
        csr_assess::db::audit::BreakKind::Altered,
        "{broken:?}"
    );
    assert_eq!(broken.seq, head.entries);

    // A head whose signature does not verify is refused.
    let mut forged = head.clone();
    forged.entries += 1;
    let r = verify_against(&app, forged).await;
    assert_eq!(
        r.first_broken.expect("refused").kind,
        csr_assess::db::audit::BreakKind::BadHead
    );

    if app.backend == Backend::Sqlite {
        let file = app.dir.path().join("HEAD.json");
        std::fs::write(&file, serde_json::to_vec(&head).unwrap()).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_csr-assess"))
            .args([
                "--data-dir",
                app.dir.path().to_str().unwrap(),
                "--database-url",
            ])
            .arg(app.dir.path().join("test.db"))
            .args(["audit", "verify", "--max-age-secs", "0", "--against"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("differs from the head published"), "{text}");
    }
}

/// The review's F8: entries after the last checkpoint cut off. A head published after them
/// shows the cut; without one, the newest checkpoint is older than the interval allows.
async fn a_cut_tail_shows_as_a_stale_checkpoint(b: Backend) {
    let (app, admin) = busy_app(b).await;
    app.enterprise().await;
    let res = app
        .post("/api/v1/audit/checkpoints", Some(&admin), &json!({}))
        .await;
    assert_eq!(res.json()["created"], true);
    let head = published_head(&app).await;
    tamper(
        &app,
        "DELETE FROM audit_log WHERE seq > (SELECT MIN(entries) FROM audit_checkpoints)",
    )
    .await;
    tamper(
        &app,
        "DELETE FROM audit_checkpoints WHERE id = (SELECT MAX(id) FROM audit_checkpoints)",
    )
    .await;
    let r = verify_against(&app, head).await;
    assert_eq!(
        r.first_broken.expect("found").kind,
        csr_assess::db::audit::BreakKind::Truncated
    );
    // Without the published head: the remaining checkpoint is older than allowed.
    std::thread::sleep(std::time::Duration::from_millis(1_100));
    let jwks = app.state.signing.jwks();
    let r = app
        .state
        .db
        .read(move |conn| {
            let expect = csr_assess::db::audit::Expect {
                max_age: Some(chrono::Duration::seconds(1)),
                head: None,
            };
            csr_assess::db::audit::verify(conn, &jwks, &expect)
        })
        .await
        .unwrap();
    assert_eq!(
        r.first_broken.expect("found").kind,
        csr_assess::db::audit::BreakKind::StaleCheckpoint
    );
}

/// Appends `n % 3 + 1` entries about test entity `n` in one write: one alone, or several
/// through one call.
async fn append_some(app: &TestApp, n: usize) -> csr_assess::error::AppResult<()> {
    app.state
        .db
        .write(move |conn| {
            let events = (0..n % 3 + 1)
                .map(|k| csr_assess::db::audit::Event {
                    actor_user_id: None,
                    action: "test.parallel",
                    entity_type: "test",
                    entity_id: n.to_string(),
                    enterprise_id: None,
                    request_id: None,
                    details: json!({ "n": n, "k": k, "text": "并行追加" }),
                })
                .collect();
            csr_assess::db::audit::append_all(conn, events)?;
            // Held open after the append, so that on PostgreSQL appends overlap whatever the
            // scheduling (SQLite's one committing thread runs them one by one).
            std::thread::sleep(std::time::Duration::from_millis(2));
            Ok(())
        })
        .await
}

/// Appends racing each other on every pooled connection, of one entry and of several: every
/// entry lands, numbered without a gap or a repeat, a write's entries next to each other in
/// their order, and the chain verifies. On PostgreSQL each waits for the chain's lock, held by
/// the one before until its commit (without it, two appends read one head and the second meets
/// the unique index on the number); SQLite's single writer serialises them.
async fn parallel_appends_make_one_chain(b: Backend) {
    let (app, admin) = busy_app(b).await;
    let before = report(&app, &admin).await["entries"].as_i64().unwrap();
    let appends = (0..64).map(|n| append_some(&app, n));
    for result in futures_util::future::join_all(appends).await {
        result.expect("appended");
    }
    let appended: usize = (0..64).map(|n| n % 3 + 1).sum();
    assert_eq!(
        checkpoint_and_count(&app, &admin).await,
        (true, before + appended as i64)
    );
    for n in [0, 1, 2, 62, 63] {
        let entries = app
            .state
            .db
            .read(move |conn| csr_assess::db::audit::for_entity(conn, "test", &n.to_string()))
            .await
            .unwrap();
        let seqs: Vec<i64> = entries.iter().map(|e| e.seq.unwrap()).collect();
        let ks: Vec<Value> = entries
            .iter()
            .map(|e| serde_json::from_str::<Value>(&e.details).unwrap()["k"].clone())
            .collect();
        assert_eq!(seqs.len(), n % 3 + 1, "entity {n}");
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        assert_eq!(ks, (0..n % 3 + 1).map(|k| json!(k)).collect::<Vec<_>>());
    }
}

/// Answer saves of eight enterprises at once, each a run of saves chained by their ETags. On
/// PostgreSQL a save is one statement whose audit entry takes the chain's lock inside it: every
/// save is answered with its entry already in the chain, each entry reads the head the save
/// before it left, the chain verifies without a gap, and the entries' times follow the chain's
/// order.
async fn parallel_saves_make_one_chain(b: Backend) {
    let (app, admin) = busy_app(b).await;
    let mut drafts = Vec::new();
    for _ in 0..8 {
        let e = app.enterprise().await;
        let d = app.create_submission(&e.token, "2024").await;
        drafts.push((e.token, d));
    }
    let (_, before) = checkpoint_and_count(&app, &admin).await;
    const SAVES: i64 = 5;
    let runs = drafts.iter().map(|(token, d)| {
        let app = &app;
        async move {
            let mut etag = d.etag.clone();
            for n in 0..SAVES {
                let res = app
                    .send_if_match(
                        awc::http::Method::PUT,
                        &format!("{}/answers/lawful.compliance_system", d.path),
                        token,
                        &etag,
                        Some(&json!({ "value": n % 5 })),
                    )
                    .await;
                assert_eq!(res.status, 200, "{}", res.text());
                etag = res.header("etag").expect("etag");
                // Answered only once its entry is in the chain.
                let saved = app
                    .audit_of_submission(d.id)
                    .await
                    .iter()
                    .filter(|e| e.action == "submission.answers_saved" && e.seq.is_some())
                    .count();
                assert_eq!(saved as i64, n + 1, "submission {}", d.id);
            }
        }
    });
    futures_util::future::join_all(runs).await;
    assert_eq!(
        checkpoint_and_count(&app, &admin).await,
        (true, before + 8 * SAVES)
    );
    // Each entry's time is read under the chain's lock: in the chain's order, times never go
    // back, however the saves waited for one another.
    let mut entries = app
        .state
        .db
        .read(|conn| csr_assess::db::audit::recent(conn, None, 1_000))
        .await
        .unwrap();
    entries.sort_by_key(|e| e.seq);
    assert!(
        entries
            .windows(2)
            .all(|w| w[0].occurred_at <= w[1].occurred_at),
        "{:?}",
        entries
            .iter()
            .map(|e| (e.seq, e.occurred_at))
            .collect::<Vec<_>>()
    );
}

/// More entries in one call than one insert statement takes: they are chained across the
/// statements, in their order.
async fn a_long_append_spans_several_inserts(b: Backend) {
    let (app, admin) = busy_app(b).await;
    let before = report(&app, &admin).await["entries"].as_i64().unwrap();
    const N: usize = 2_345;
    app.state
        .db
        .write(|conn| {
            let events = (0..N)
                .map(|k| csr_assess::db::audit::Event {
                    actor_user_id: None,
                    action: "test.long",
                    entity_type: "test",
                    entity_id: "long".into(),
                    enterprise_id: None,
                    request_id: None,
                    details: json!({ "k": k }),
                })
                .collect();
            csr_assess::db::audit::append_all(conn, events)
        })
        .await
        .expect("appended");
    assert_eq!(
        checkpoint_and_count(&app, &admin).await,
        (true, before + N as i64)
    );
    let entries = app
        .state
        .db
        .read(|conn| csr_assess::db::audit::for_entity(conn, "test", "long"))
        .await
        .unwrap();
    let ks: Vec<i64> = entries
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(&e.details).unwrap()["k"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ks, (0..N as i64).collect::<Vec<_>>());
    let seqs: Vec<i64> = entries.iter().map(|e| e.seq.unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1));
}

/// Signs a checkpoint, verifies the log, and returns whether a checkpoint was made (none when
/// the last one covers every entry) and how many entries the log holds.
async fn checkpoint_and_count(app: &TestApp, admin: &str) -> (bool, i64) {
    let res = app
        .post("/api/v1/audit/checkpoints", Some(admin), &json!({}))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let r = report(app, admin).await;
    assert_eq!(r["ok"], true, "{r}");
    (
        res.json()["created"].as_bool().unwrap(),
        r["entries"].as_i64().unwrap(),
    )
}

/// A write that fails after appending keeps no entry and takes no number: the next write's
/// entry follows the last committed one and the chain verifies. (On SQLite the failed write's
/// savepoint is rolled back inside its group commit, beside other writes that are kept.)
async fn a_failed_write_leaves_no_entry_and_no_gap(b: Backend) {
    let (app, admin) = busy_app(b).await;
    let (_, before) = checkpoint_and_count(&app, &admin).await;
    let failed = app
        .state
        .db
        .write(|conn| {
            let events = (0..2)
                .map(|k| csr_assess::db::audit::Event {
                    actor_user_id: None,
                    action: "test.failed",
                    entity_type: "test",
                    entity_id: "failed".into(),
                    enterprise_id: None,
                    request_id: None,
                    details: json!({ "k": k }),
                })
                .collect();
            csr_assess::db::audit::append_all(conn, events)?;
            Err::<(), _>(csr_assess::error::AppError::internal(
                "the write fails after its entries",
            ))
        })
        .await;
    // The write's own error: its entries were appended, then it failed.
    match failed {
        Err(csr_assess::error::AppError::Internal(m)) => {
            assert_eq!(m, "the write fails after its entries")
        }
        other => panic!("{other:?}"),
    }
    append_some(&app, 0).await.expect("appended");
    assert_eq!(checkpoint_and_count(&app, &admin).await, (true, before + 1));
    let kept = app
        .state
        .db
        .read(|conn| csr_assess::db::audit::for_entity(conn, "test", "failed"))
        .await
        .unwrap();
    assert!(kept.is_empty(), "{kept:?}");
    let last = app
        .state
        .db
        .read(|conn| csr_assess::db::audit::for_entity(conn, "test", "0"))
        .await
        .unwrap();
    assert_eq!(last.last().and_then(|e| e.seq), Some(before + 1));
}

/// Someone with database access erases the head's hash: the chain cannot be extended, so an
/// answer save fails as a whole. Its answer and its new revision are not kept, and no entry is
/// added after the broken head.
async fn a_head_without_a_hash_stops_the_write(b: Backend) {
    let (app, admin) = busy_app(b).await;
    let e = app.enterprise().await;
    let d = app.create_submission(&e.token, "2024").await;
    tamper(
        &app,
        "UPDATE audit_log SET hash = NULL WHERE seq = (SELECT MAX(seq) FROM audit_log)",
    )
    .await;
    let entries_before = app
        .state
        .db
        .read(|conn| csr_assess::db::audit::recent(conn, None, 1))
        .await
        .unwrap();
    let res = app
        .send_if_match(
            awc::http::Method::PUT,
            &format!("{}/answers/lawful.no_unfair_conditions", d.path),
            &e.token,
            &d.etag,
            Some(&json!({ "value": true })),
        )
        .await;
    res.problem(500, "internal_error");
    let now = app.get(&d.path, Some(&e.token)).await;
    assert_eq!(now.header("etag").as_deref(), Some(d.etag.as_str()));
    assert!(now.json()["answers"].as_object().unwrap().is_empty());
    let entries_after = app
        .state
        .db
        .read(|conn| csr_assess::db::audit::recent(conn, None, 1))
        .await
        .unwrap();
    assert_eq!(entries_after[0].id, entries_before[0].id);
    let r = report(&app, &admin).await;
    assert_eq!(r["ok"], false, "{r}");
}
