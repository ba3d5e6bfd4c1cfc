//! The append-only, tamper-evident audit log. Every state change appends an entry in the same
//! transaction; entry n carries h_n = SHA-256(h_{n-1} ‖ canonical entry), the database refuses
//! updates and deletes, and signed checkpoints record how long the log was, so a changed byte, a
//! removed entry and a cut-off tail are each found by [`verify`].

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{audit_checkpoints, audit_log};
use super::sql::{FirstRow, concrete};
use super::{AnyConnection, now};
use crate::auth::signing::{self, Jwks, ServiceKeys};
use crate::domain::canonical::{canonical_json, sha256_hex};
use crate::error::AppResult;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Serialises appends on PostgreSQL (SQLite's write transactions already do).
pub const CHAIN_LOCK: i64 = 7_271_002;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    pub enterprise_id: Option<i64>,
    pub request_id: Option<String>,
    pub details: String,
    pub seq: Option<i64>,
    pub details_digest: Option<String>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// One event to append; `details` is a JSON object.
#[derive(Debug)]
pub struct Event<'a> {
    pub actor_user_id: Option<i64>,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: String,
    pub enterprise_id: Option<i64>,
    pub request_id: Option<&'a str>,
    pub details: serde_json::Value,
}

/// What the hash of an entry covers.
#[derive(Serialize)]
struct Chained<'a> {
    seq: i64,
    occurred_at: String,
    actor_user_id: Option<i64>,
    action: &'a str,
    entity_type: &'a str,
    entity_id: &'a str,
    enterprise_id: Option<i64>,
    request_id: Option<&'a str>,
    details_digest: &'a str,
}

impl<'a> Chained<'a> {
    fn of(event: &'a Event<'a>, digest: &'a str, occurred_at: NaiveDateTime, seq: i64) -> Self {
        Chained {
            seq,
            occurred_at: timestamp(occurred_at),
            actor_user_id: event.actor_user_id,
            action: event.action,
            entity_type: event.entity_type,
            entity_id: &event.entity_id,
            enterprise_id: event.enterprise_id,
            request_id: event.request_id,
            details_digest: digest,
        }
    }
}

fn entry_hash(prev: &str, entry: &Chained<'_>) -> String {
    let value = serde_json::to_value(entry).unwrap_or_default();
    let mut bytes = prev.as_bytes().to_vec();
    bytes.extend_from_slice(canonical_json(&value).as_bytes());
    sha256_hex(&bytes)
}

fn timestamp(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn lock_chain(conn: &mut AnyConnection) -> AppResult<()> {
    if let AnyConnection::Postgresql(_) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({CHAIN_LOCK})")).execute(conn)?;
    }
    Ok(())
}

/// The chain's last entry: its sequence number and hash (`None` only if written by hand).
fn head(conn: &mut AnyConnection) -> AppResult<Option<(i64, Option<String>)>> {
    let query = audit_log::table
        .filter(audit_log::seq.is_not_null())
        .order(audit_log::seq.desc())
        .select((audit_log::seq, audit_log::hash));
    let row: Option<(Option<i64>, Option<String>)> =
        concrete!(conn, |c| query.first_row(c).optional())?;
    Ok(row.and_then(|(s, h)| Some((s?, h))))
}

/// Appends an event, chained to the current head. Call inside a write transaction.
///
/// Every entry carries a request id: the server's id of the HTTP request, or a fresh one for
/// the work of a command or of start-up.
pub fn append(conn: &mut AnyConnection, event: Event<'_>) -> AppResult<()> {
    append_all(conn, vec![event])
}

/// Appends events in their order, chained to the current head and to each other, as
/// [`append`] would one by one. On PostgreSQL the chain's lock is taken once and the head read
/// once, so that a write of many entries (a reviewer's verdicts) holds the lock, which every
/// other write waits for, for three round trips instead of two per entry.
pub fn append_all(conn: &mut AnyConnection, events: Vec<Event<'_>>) -> AppResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    // Entries without a request id are the work of one command or start-up step.
    let generated = events
        .iter()
        .any(|e| e.request_id.is_none())
        .then(|| uuid::Uuid::new_v4().to_string());
    let mut events: Vec<Event<'_>> = events
        .into_iter()
        .map(|e| Event {
            request_id: e.request_id.or(generated.as_deref()),
            ..e
        })
        .collect();
    if let (AnyConnection::Postgresql(c), 1) = (&mut *conn, events.len()) {
        // One entry: the lock, the head's read and the insert in one call.
        let entry = PgEntry::new(events.remove(0))?;
        diesel::select(entry).get_result::<i64>(c)?;
        return Ok(());
    }
    lock_chain(conn)?;
    let occurred_at = now();
    let bodies: Vec<(String, String)> = events.iter().map(details_of).collect();
    let (mut seq, mut prev_hash) = match head(conn)? {
        None => (0, GENESIS.to_owned()),
        Some((seq, Some(hash))) => (seq, hash),
        Some((_, None)) => return Err(headless()),
    };
    let mut rows = Vec::with_capacity(events.len());
    for (event, (details, digest)) in events.iter().zip(&bodies) {
        seq += 1;
        let hash = entry_hash(&prev_hash, &Chained::of(event, digest, occurred_at, seq));
        rows.push((
            audit_log::occurred_at.eq(occurred_at),
            audit_log::actor_user_id.eq(event.actor_user_id),
            audit_log::action.eq(event.action),
            audit_log::entity_type.eq(event.entity_type),
            audit_log::entity_id.eq(&event.entity_id),
            audit_log::enterprise_id.eq(event.enterprise_id),
            audit_log::request_id.eq(event.request_id),
            audit_log::details.eq(details),
            audit_log::seq.eq(seq),
            audit_log::details_digest.eq(digest),
            audit_log::prev_hash.eq(std::mem::replace(&mut prev_hash, hash.clone())),
            audit_log::hash.eq(hash),
        ));
    }
    if rows.len() == 1 {
        // One row: a statement of fixed text, compiled once per connection (SQLite compiles a
        // multi-row insert at every execution).
        let insert = diesel::insert_into(audit_log::table).values(rows.remove(0));
        concrete!(conn, |c| insert.execute(c))?;
        return Ok(());
    }
    // 12 parameters a row: well inside both databases' limits per statement.
    for chunk in rows.chunks(INSERT_CHUNK) {
        let insert = diesel::insert_into(audit_log::table).values(chunk);
        concrete!(conn, |c| insert.execute(c))?;
    }
    Ok(())
}

/// Rows per insert statement when appending many entries.
const INSERT_CHUNK: usize = 1_000;

fn headless() -> crate::error::AppError {
    crate::error::AppError::internal("the audit chain's head has a sequence number and no hash")
}

/// Stands for the time in an entry whose time PostgreSQL fills in ([`hashed_around`]).
const TIME_SLOT: &str = "occurred-at";

/// The hashed text of an entry, split where PostgreSQL fills in the time and the number
/// ([`PgEntry`]): the text before `occurred_at`'s value, and the text from the end of that value
/// to `seq`'s. The canonical form sorts `seq` last, so entry n's hash is SHA-256(h_{n-1} ‖
/// before ‖ time ‖ after ‖ n ‖ `}`). `entry` carries [`TIME_SLOT`] as its time and 0 as its
/// number; the slot's key and quotes are found once, since quotes inside strings are escaped.
fn hashed_around(entry: &Chained<'_>) -> AppResult<(String, String)> {
    let unsplit = || crate::error::AppError::internal("the audit entry's text cannot be split");
    let text = canonical_json(&serde_json::to_value(entry).unwrap_or_default());
    let body = text
        .strip_suffix("0}")
        .filter(|head| head.ends_with(",\"seq\":"))
        .ok_or_else(unsplit)?;
    let key = "\"occurred_at\":\"";
    let slot = format!("{key}{TIME_SLOT}\"");
    let at = body.find(&slot).ok_or_else(unsplit)?;
    Ok((
        body[..at + key.len()].to_owned(),
        body[at + slot.len() - 1..].to_owned(),
    ))
}

/// An entry's details as stored (canonical JSON) and their digest.
fn details_of(event: &Event<'_>) -> (String, String) {
    let details = canonical_json(&event.details);
    let digest = sha256_hex(details.as_bytes());
    (details, digest)
}

/// PostgreSQL: one entry as a call of the database's `audit_append` (migration
/// `audit_append_function`), which takes the chain's lock, then reads the clock and the head (in
/// a snapshot taken after the lock is granted) and inserts the entry with its time and its hash
/// computed from the head's ([`hashed_around`]); it returns the entry's sequence number. The
/// time is read under the lock, so the entries' times follow their order in the chain. One
/// round trip, alone or inside the statement that makes the change the entry records.
pub struct PgEntry<'a> {
    event: Event<'a>,
    details: String,
    digest: String,
    before_time: String,
    after_time: String,
}

impl<'a> PgEntry<'a> {
    /// The entry of `event`, which must carry its request id.
    pub fn new(event: Event<'a>) -> AppResult<Self> {
        if event.request_id.is_none() {
            return Err(crate::error::AppError::internal(
                "an audit entry without a request id",
            ));
        }
        let (details, digest) = details_of(&event);
        let slotted = Chained {
            occurred_at: TIME_SLOT.to_owned(),
            ..Chained::of(&event, &digest, now(), 0)
        };
        let (before_time, after_time) = hashed_around(&slotted)?;
        Ok(PgEntry {
            event,
            details,
            digest,
            before_time,
            after_time,
        })
    }
}

impl QueryId for PgEntry<'_> {
    type QueryId = PgEntry<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Expression for PgEntry<'_> {
    type SqlType = BigInt;
}

impl<QS> diesel::AppearsOnTable<QS> for PgEntry<'_> {}
impl<QS> diesel::SelectableExpression<QS> for PgEntry<'_> {}
impl diesel::expression::ValidGrouping<()> for PgEntry<'_> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl QueryFragment<Pg> for PgEntry<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let e = &self.event;
        out.push_sql("audit_append(");
        out.push_bind_param::<Nullable<BigInt>, _>(&e.actor_user_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(e.action)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(e.entity_type)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&e.entity_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<BigInt>, _>(&e.enterprise_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&e.request_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.details)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.digest)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.before_time)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.after_time)?;
        out.push_sql(")");
        Ok(())
    }
}

/// Entries about one entity, oldest first.
pub fn for_entity(
    conn: &mut AnyConnection,
    entity_type: &str,
    entity_id: &str,
) -> AppResult<Vec<AuditEntry>> {
    Ok(audit_log::table
        .filter(audit_log::entity_type.eq(entity_type))
        .filter(audit_log::entity_id.eq(entity_id))
        .order(audit_log::id)
        .select(AuditEntry::as_select())
        .load(conn)?)
}

/// Up to `limit` entries before id `before` (all when `None`), newest first.
pub fn recent(
    conn: &mut AnyConnection,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<AuditEntry>> {
    let mut q = audit_log::table.into_boxed();
    if let Some(b) = before {
        q = q.filter(audit_log::id.lt(b));
    }
    Ok(q.order(audit_log::id.desc())
        .limit(limit)
        .select(AuditEntry::as_select())
        .load(conn)?)
}

/// The message a checkpoint signs.
fn checkpoint_message(entries: i64, head_hash: &str, at: NaiveDateTime) -> String {
    format!(
        "csr-assess audit checkpoint\n{entries}\n{head_hash}\n{}",
        timestamp(at)
    )
}

/// A signed checkpoint: how many entries the log had and the hash of the last. The newest is
/// published as the chain head, so that outside parties can keep copies.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub entries: i64,
    pub head_hash: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub kid: String,
    pub signature: String,
}

/// The newest checkpoint, if any.
pub fn latest(conn: &mut AnyConnection) -> AppResult<Option<Checkpoint>> {
    let row: Option<(i64, String, NaiveDateTime, String, String)> = audit_checkpoints::table
        .order(audit_checkpoints::id.desc())
        .select((
            audit_checkpoints::entries,
            audit_checkpoints::head_hash,
            audit_checkpoints::created_at,
            audit_checkpoints::kid,
            audit_checkpoints::signature,
        ))
        .first_row(conn)
        .optional()?;
    Ok(
        row.map(|(entries, head_hash, at, kid, signature)| Checkpoint {
            entries,
            head_hash,
            created_at: crate::views::utc(at),
            kid,
            signature,
        }),
    )
}

/// Signs the current head. Unless `heartbeat` is set, nothing is signed when the last checkpoint
/// already covers every entry; the periodic checkpointer sets it, so that the newest checkpoint
/// is never older than its interval while the service runs and a cut-off tail shows as a stale
/// checkpoint.
pub fn checkpoint(
    conn: &mut AnyConnection,
    keys: &ServiceKeys,
    heartbeat: bool,
) -> AppResult<Option<Checkpoint>> {
    lock_chain(conn)?;
    let Some((entries, Some(head_hash))) = head(conn)? else {
        return Ok(None);
    };
    let last: Option<i64> = audit_checkpoints::table
        .order(audit_checkpoints::id.desc())
        .select(audit_checkpoints::entries)
        .first_row(conn)
        .optional()?;
    if last == Some(entries) && !heartbeat {
        return Ok(None);
    }
    let at = now();
    let (kid, signature) = keys.sign(checkpoint_message(entries, &head_hash, at).as_bytes());
    diesel::insert_into(audit_checkpoints::table)
        .values((
            audit_checkpoints::entries.eq(entries),
            audit_checkpoints::head_hash.eq(&head_hash),
            audit_checkpoints::created_at.eq(at),
            audit_checkpoints::kid.eq(&kid),
            audit_checkpoints::signature.eq(&signature),
        ))
        .execute(conn)?;
    Ok(Some(Checkpoint {
        entries,
        head_hash,
        created_at: crate::views::utc(at),
        kid,
        signature,
    }))
}

/// The first problem found, located by sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Break {
    pub seq: i64,
    pub kind: BreakKind,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub ok: bool,
    pub entries: i64,
    pub checkpoints: i64,
    pub first_broken: Option<Break>,
}

/// What is wrong with the log at a break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakKind {
    /// An entry's content no longer matches its hash.
    Altered,
    /// A sequence number is missing.
    Missing,
    /// The log is shorter than a signed checkpoint or the published head says.
    Truncated,
    /// An entry's hash does not follow from the one before.
    Unchained,
    /// A checkpoint's signature does not verify.
    BadCheckpoint,
    /// No signed checkpoint covers the log.
    NoCheckpoint,
    /// The newest checkpoint is older than the interval allows.
    StaleCheckpoint,
    /// The published head given to compare with does not verify or match.
    BadHead,
}

fn broken(seq: i64, kind: BreakKind, message: String) -> Option<Break> {
    Some(Break { seq, kind, message })
}

/// What [`verify`] holds the log to beyond its own chain and checkpoints.
#[derive(Debug, Default)]
pub struct Expect<'a> {
    /// The newest checkpoint may be at most this old (the checkpoint interval plus slack).
    pub max_age: Option<chrono::Duration>,
    /// A head published earlier: the log must still hold that entry with that hash.
    pub head: Option<&'a Checkpoint>,
}

/// Walks the whole chain and the checkpoints; reports the first break. A log with entries and
/// no checkpoint fails, as does one whose newest checkpoint is older than `expect.max_age` or
/// that no longer matches a published head.
pub fn verify(conn: &mut AnyConnection, jwks: &Jwks, expect: &Expect<'_>) -> AppResult<Report> {
    const PAGE: i64 = 5_000;
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_owned();
    let mut first_broken = None;
    let mut hashes_at_checkpoints = std::collections::HashMap::new();
    let checkpoints: Vec<(i64, String, NaiveDateTime, String, String)> = audit_checkpoints::table
        .order(audit_checkpoints::id)
        .select((
            audit_checkpoints::entries,
            audit_checkpoints::head_hash,
            audit_checkpoints::created_at,
            audit_checkpoints::kid,
            audit_checkpoints::signature,
        ))
        .load(conn)?;
    let mut wanted: std::collections::HashSet<i64> = checkpoints.iter().map(|c| c.0).collect();
    wanted.extend(expect.head.map(|h| h.entries));
    let unchained: i64 = audit_log::table
        .filter(audit_log::seq.is_null())
        .count()
        .get_result(conn)?;
    'walk: loop {
        let page: Vec<AuditEntry> = audit_log::table
            .filter(audit_log::seq.ge(expected_seq))
            .order(audit_log::seq)
            .limit(PAGE)
            .select(AuditEntry::as_select())
            .load(conn)?;
        if page.is_empty() {
            break;
        }
        for e in &page {
            let seq = e.seq.unwrap_or_default();
            if seq != expected_seq {
                first_broken = broken(
                    expected_seq,
                    BreakKind::Missing,
                    format!(
                        "entry {expected_seq} is missing: the log jumps from {} to {seq}",
                        expected_seq - 1
                    ),
                );
                break 'walk;
            }
            let digest = sha256_hex(e.details.as_bytes());
            let hash = entry_hash(
                &prev,
                &Chained {
                    seq,
                    occurred_at: timestamp(e.occurred_at),
                    actor_user_id: e.actor_user_id,
                    action: &e.action,
                    entity_type: &e.entity_type,
                    entity_id: &e.entity_id,
                    enterprise_id: e.enterprise_id,
                    request_id: e.request_id.as_deref(),
                    details_digest: &digest,
                },
            );
            let intact = e.details_digest.as_deref() == Some(digest.as_str())
                && e.prev_hash.as_deref() == Some(prev.as_str())
                && e.hash.as_deref() == Some(hash.as_str());
            if !intact {
                first_broken = broken(
                    seq,
                    BreakKind::Altered,
                    format!(
                        "entry {seq} ({} on {} {}) does not match its hash",
                        e.action, e.entity_type, e.entity_id
                    ),
                );
                break 'walk;
            }
            if wanted.contains(&seq) {
                hashes_at_checkpoints.insert(seq, hash.clone());
            }
            prev = hash;
            expected_seq += 1;
        }
    }
    let entries = expected_seq - 1;
    if first_broken.is_none() && unchained > 0 {
        first_broken = broken(
            entries + 1,
            BreakKind::Unchained,
            format!("{unchained} entries carry no chain hash"),
        );
    }
    if first_broken.is_none() {
        for (count, head_hash, at, kid, signature) in &checkpoints {
            let message = checkpoint_message(*count, head_hash, *at);
            if let Err(e) = signing::verify(jwks, kid, message.as_bytes(), signature) {
                first_broken = broken(
                    *count,
                    BreakKind::BadCheckpoint,
                    format!("checkpoint of {count} entries: {e}"),
                );
                break;
            }
            if *count > entries {
                first_broken = broken(
                    entries + 1,
                    BreakKind::Truncated,
                    format!(
                        "the log ends at entry {entries}, but a checkpoint signed at {} covered {count} entries",
                        timestamp(*at)
                    ),
                );
                break;
            }
            if hashes_at_checkpoints.get(count) != Some(head_hash) {
                first_broken = broken(
                    *count,
                    BreakKind::Altered,
                    format!("entry {count} differs from the signed checkpoint"),
                );
                break;
            }
        }
    }
    if let (None, Some(head)) = (&first_broken, expect.head) {
        let at = head.created_at.naive_utc();
        let message = checkpoint_message(head.entries, &head.head_hash, at);
        first_broken = if let Err(e) =
            signing::verify(jwks, &head.kid, message.as_bytes(), &head.signature)
        {
            broken(
                head.entries,
                BreakKind::BadHead,
                format!("the published head does not verify: {e}"),
            )
        } else if head.entries > entries {
            broken(
                entries + 1,
                BreakKind::Truncated,
                format!(
                    "the log ends at entry {entries}, but the head published at {} covered {} entries",
                    timestamp(at),
                    head.entries
                ),
            )
        } else if hashes_at_checkpoints.get(&head.entries) != Some(&head.head_hash) {
            broken(
                head.entries,
                BreakKind::Altered,
                format!(
                    "entry {} differs from the head published at {}",
                    head.entries,
                    timestamp(at)
                ),
            )
        } else {
            None
        };
    }
    if first_broken.is_none() && entries > 0 && checkpoints.is_empty() {
        first_broken = broken(
            entries,
            BreakKind::NoCheckpoint,
            format!("the log has {entries} entries and no signed checkpoint"),
        );
    }
    if let (None, Some(max_age), Some(newest)) = (&first_broken, expect.max_age, checkpoints.last())
        && newest.2 < now() - max_age
    {
        first_broken = broken(
            newest.0,
            BreakKind::StaleCheckpoint,
            format!(
                "the newest checkpoint was signed at {}, more than {} s ago: checkpoints were \
                 removed, or the log was cut off after it",
                timestamp(newest.2),
                max_age.num_seconds()
            ),
        );
    }
    Ok(Report {
        ok: first_broken.is_none(),
        entries,
        checkpoints: checkpoints.len() as i64,
        first_broken,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What PostgreSQL hashes (the head's hash, the text before the time, the time as it formats
    /// it, the text after it up to `seq`, the number, `}`) is what `verify` recomputes, for
    /// entries with and without optional fields and with text that quotes the time's key.
    #[test]
    fn the_hash_split_around_time_and_seq_is_the_entry_hash() {
        let at = timestamp(now());
        for (actor, enterprise, entity, request) in [
            (Some(7), Some(3), "42", "r-1"),
            (
                None,
                None,
                "企业-1 \"quoted\"",
                "\"occurred_at\":\"occurred-at\"",
            ),
        ] {
            let entry = |seq, occurred_at: &str| Chained {
                seq,
                occurred_at: occurred_at.to_owned(),
                actor_user_id: actor,
                action: "submission.answers_saved",
                entity_type: "submission",
                entity_id: entity,
                enterprise_id: enterprise,
                request_id: Some(request),
                details_digest: "d",
            };
            let (before, after) = hashed_around(&entry(0, TIME_SLOT)).unwrap();
            for seq in [1, 9, 10, 123_456_789_012] {
                let prev = sha256_hex(format!("prev {seq}").as_bytes());
                let split = sha256_hex(format!("{prev}{before}{at}{after}{seq}}}").as_bytes());
                assert_eq!(
                    split,
                    entry_hash(&prev, &entry(seq, &at)),
                    "{before} {after}"
                );
            }
        }
    }
}
