//! `Idempotency-Key` on creating requests (evidence uploads, approvals): the first response is
//! kept in the transaction that made it, and a retry with the same key and the same request is
//! answered with it and changes nothing. The same key with a different request is refused (422).
//! Keys belong to the user who sent them.

use serde::Serialize;

use crate::db::AnyConnection;
use crate::db::idempotency::{self as db, KeptRow};
use crate::error::{AppError, AppResult, Code, FieldError};

/// A request sent under a key.
#[derive(Debug, Clone)]
pub struct Keyed {
    pub user_id: i64,
    /// The operation's id (`uploadEvidence`, `approveReview`): a key is one per operation.
    pub operation: &'static str,
    pub key: String,
    /// A digest of everything the request asks for.
    pub request_hash: String,
}

/// A response as kept, to be sent again.
#[derive(Debug, Clone)]
pub struct Replay {
    pub status: u16,
    /// JSON.
    pub body: String,
    pub etag: Option<String>,
    pub location: Option<String>,
}

/// What a keyed operation answers: its own result, or the response kept for an earlier try.
#[derive(Debug)]
pub enum Outcome<T> {
    Done(T),
    Replayed(Replay),
}

/// The response kept for this key, if a request was made with it; 422 when that request
/// differed.
pub fn recall(conn: &mut AnyConnection, k: &Keyed) -> AppResult<Option<Replay>> {
    match db::find(conn, k.user_id, k.operation, &k.key)? {
        None => Ok(None),
        Some(row) if row.request_hash == k.request_hash => Ok(Some(Replay {
            status: u16::try_from(row.status).unwrap_or(200),
            body: row.body,
            etag: row.etag,
            location: row.location,
        })),
        Some(_) => Err(AppError::unprocessable(
            Code::IdempotencyKeyReused,
            "This Idempotency-Key was used with a different request.".into(),
            vec![FieldError::new(
                "Idempotency-Key",
                "already used for a different request",
            )],
        )),
    }
}

/// Settles a keyed operation's result: a conflict is answered with the response kept under the
/// key if a concurrent request with it committed first (the unique key refused this one), and
/// is the conflict itself otherwise.
pub async fn or_replay<T>(
    state: &crate::state::AppState,
    result: AppResult<Outcome<T>>,
    keyed: Option<&Keyed>,
) -> AppResult<Outcome<T>> {
    match (result, keyed) {
        (Err(e @ AppError::Conflict { .. }), Some(k)) => {
            let k = k.clone();
            match state.db.read(move |conn| recall(conn, &k)).await? {
                Some(replay) => Ok(Outcome::Replayed(replay)),
                None => Err(e),
            }
        }
        (other, _) => other,
    }
}

/// Keeps the response to `k`, in the transaction that made it.
pub fn keep(
    conn: &mut AnyConnection,
    k: &Keyed,
    status: u16,
    body: &impl Serialize,
    etag: Option<&str>,
    location: Option<&str>,
) -> AppResult<()> {
    let row = KeptRow {
        request_hash: k.request_hash.clone(),
        status: i32::from(status),
        body: serde_json::to_string(body).map_err(AppError::internal)?,
        etag: etag.map(str::to_owned),
        location: location.map(str::to_owned),
    };
    db::insert(conn, k.user_id, k.operation, &k.key, &row)
}
