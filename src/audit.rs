//! The audit log's integrity as workflows the API, the console and the command line share:
//! verifying the whole chain against its signed checkpoints, signing a checkpoint now, and the
//! published chain head.

use crate::auth::{AuthUser, roles};
use crate::config::Settings;
use crate::db::audit;
pub use crate::db::audit::{Checkpoint, Report};
use crate::error::{AppError, AppResult};
use crate::idempotency::{self, Keyed, Made, Outcome};
use crate::state::AppState;
use serde::Serialize;
use utoipa::ToSchema;

/// How old the newest checkpoint may be while the service runs: the checkpoint interval plus a
/// minute of slack.
pub fn max_checkpoint_age(settings: &Settings) -> chrono::Duration {
    chrono::Duration::seconds(settings.audit_checkpoint_secs as i64 + 60)
}

/// Walks the whole chain and its checkpoints; the first broken entry is named (administrators).
/// A log without a checkpoint, or whose newest checkpoint is older than
/// [`max_checkpoint_age`], fails too.
pub async fn verify(state: &AppState, user: &AuthUser) -> AppResult<Report> {
    user.require(roles::ADMIN)?;
    let jwks = state.signing.jwks();
    let expect = audit::Expect {
        max_age: Some(max_checkpoint_age(&state.settings)),
        head: None,
    };
    state
        .db
        .read(move |conn| audit::verify(conn, &jwks, &expect))
        .await
}

/// What signing a checkpoint on request made.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointResult {
    /// False when the last checkpoint already covers every entry.
    pub created: bool,
    pub checkpoint: Option<Checkpoint>,
}

/// Signs a checkpoint of the log now (administrators); none when the last one already covers
/// every entry. With an idempotency key, a retry is answered with the first result.
pub async fn checkpoint(
    state: &AppState,
    user: &AuthUser,
    key: Option<String>,
) -> AppResult<Outcome<Made<CheckpointResult>>> {
    user.require(roles::ADMIN)?;
    let keys = state.signing.clone();
    let keyed = Keyed::new(
        user.id,
        "createAuditCheckpoint",
        key,
        &serde_json::json!({}),
    );
    idempotency::write(state, keyed, move |conn| {
        let checkpoint = audit::checkpoint(conn, &keys, false)?;
        Ok(Made::ok(CheckpointResult {
            created: checkpoint.is_some(),
            checkpoint,
        }))
    })
    .await
}

/// The log's entries, newest first, before entry `before` (administrators): a page of `limit`
/// and whether older entries follow.
pub async fn recent(
    state: &AppState,
    user: &AuthUser,
    before: Option<i64>,
    limit: i64,
) -> AppResult<(Vec<audit::AuditEntry>, bool)> {
    user.require(roles::ADMIN)?;
    let mut rows = state
        .db
        .read(move |conn| audit::recent(conn, before, limit + 1))
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    Ok((rows, more))
}

/// The newest checkpoint: the chain head anyone may keep a copy of.
pub async fn head(state: &AppState) -> AppResult<Checkpoint> {
    state
        .db
        .read(audit::latest)
        .await?
        .ok_or(AppError::NotFound)
}

/// Signs a checkpoint of the audit log every `CSR_AUDIT_CHECKPOINT_SECS`.
///
/// Each interval signs a checkpoint even without new entries (a heartbeat), so the newest is
/// never older than the interval while the service runs; the first is signed before the
/// service takes requests.
pub async fn spawn_checkpoints(state: actix_web::web::Data<AppState>) -> AppResult<()> {
    let sign = |state: actix_web::web::Data<AppState>| async move {
        let st = state.clone();
        state
            .db
            .write(move |conn| crate::db::audit::checkpoint(conn, &st.signing, true))
            .await
    };
    sign(state.clone()).await?;
    let every = std::time::Duration::from_secs(state.settings.audit_checkpoint_secs.max(1));
    actix_web::rt::spawn(async move {
        let mut timer = actix_web::rt::time::interval(every);
        timer.tick().await;
        loop {
            timer.tick().await;
            if let Err(e) = sign(state.clone()).await {
                tracing::warn!(error = %e, "audit checkpoint failed");
            }
        }
    });
    Ok(())
}
