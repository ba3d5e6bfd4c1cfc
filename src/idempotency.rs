//! `Idempotency-Key` on creating requests (submissions, evidence uploads, approvals, users,
//! schema versions, webhooks, checkpoints, registrations): the first response is kept in the
//! transaction that made it, and a retry with the same key and the same request is answered
//! with it and changes nothing. The same key with a different request is refused (422). Keys
//! belong to the user who sent them (a registration's, to the administrator it created) and are
//! kept for `CSR_IDEMPOTENCY_KEEP_HOURS`.

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

impl Keyed {
    /// A key for `operation` sent by `user_id`, with the digest of `request`: everything the
    /// request asks for, and never a secret (a digest of a password would be a fast hash of it).
    pub fn new(
        user_id: i64,
        operation: &'static str,
        key: Option<String>,
        request: &serde_json::Value,
    ) -> Option<Self> {
        key.map(|key| Self {
            user_id,
            operation,
            key,
            request_hash: crate::domain::canonical::sha256_hex(
                crate::domain::canonical::canonical_json(request).as_bytes(),
            ),
        })
    }
}

/// What a keyed operation made, and how it is answered.
#[derive(Debug)]
pub struct Made<T> {
    pub value: T,
    pub status: u16,
    pub etag: Option<String>,
    pub location: Option<String>,
}

impl<T> Made<T> {
    /// `201 Created` at `location`.
    pub fn created(value: T, location: String) -> Self {
        Self {
            value,
            status: 201,
            etag: None,
            location: Some(location),
        }
    }

    /// `200 OK`.
    pub fn ok(value: T) -> Self {
        Self {
            value,
            status: 200,
            etag: None,
            location: None,
        }
    }

    pub fn with_etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }
}

/// Runs `work` in one write transaction under an optional key: a retry is answered with the
/// response kept for the key, a first request keeps its response in the same transaction, and
/// a concurrent request with the same key that committed first is answered in its place.
pub async fn write<T, F>(
    state: &crate::state::AppState,
    keyed: Option<Keyed>,
    work: F,
) -> AppResult<Outcome<Made<T>>>
where
    T: Serialize + Send + 'static,
    F: FnOnce(&mut AnyConnection) -> AppResult<Made<T>> + Send + 'static,
{
    let k = keyed.clone();
    let result = state
        .db
        .write(move |conn| {
            if let Some(k) = &k
                && let Some(replay) = recall(conn, k)?
            {
                return Ok(Outcome::Replayed(replay));
            }
            let made = work(conn)?;
            if let Some(k) = &k {
                let (etag, location) = (made.etag.as_deref(), made.location.as_deref());
                keep(conn, k, made.status, &made.value, etag, location)?;
            }
            Ok(Outcome::Done(made))
        })
        .await;
    or_replay(state, result, keyed.as_ref()).await
}

/// Forgets kept responses older than `CSR_IDEMPOTENCY_KEEP_HOURS`, every hour (and at start);
/// after that a key is new again.
pub fn spawn_pruning(state: actix_web::web::Data<crate::state::AppState>) {
    actix_web::rt::spawn(async move {
        let mut timer = actix_web::rt::time::interval(std::time::Duration::from_secs(3600));
        loop {
            timer.tick().await;
            let hours = i64::try_from(state.settings.idempotency_keep_hours).unwrap_or(i64::MAX);
            let before = crate::db::now() - chrono::Duration::hours(hours.min(1_000_000));
            match state.db.write(move |conn| db::prune(conn, before)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(forgotten = n, "idempotency keys past their time"),
                Err(e) => tracing::warn!(error = %e, "pruning idempotency keys failed"),
            }
        }
    });
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
        Some(row) if row.request_hash == k.request_hash => Ok(Some(Replay::from(row))),
        Some(_) => Err(key_reused()),
    }
}

/// 422: the key was used with a different request.
pub fn key_reused() -> AppError {
    AppError::unprocessable(
        Code::IdempotencyKeyReused,
        "This Idempotency-Key was used with a different request.".into(),
        vec![FieldError::new(
            "Idempotency-Key",
            "already used for a different request",
        )],
    )
}

impl From<KeptRow> for Replay {
    fn from(row: KeptRow) -> Self {
        Self {
            status: u16::try_from(row.status).unwrap_or(200),
            body: row.body,
            etag: row.etag,
            location: row.location,
        }
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
