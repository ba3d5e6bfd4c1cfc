//! The audit log's integrity as workflows the API, the console and the command line share:
//! verifying the whole chain against its signed checkpoints, signing a checkpoint now, and the
//! published chain head.

use crate::auth::{AuthUser, roles};
use crate::config::Settings;
use crate::db::audit;
pub use crate::db::audit::{Checkpoint, Report};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

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

/// Signs a checkpoint of the log now (administrators); `None` when the last one already covers
/// every entry.
pub async fn checkpoint(state: &AppState, user: &AuthUser) -> AppResult<Option<Checkpoint>> {
    user.require(roles::ADMIN)?;
    let keys = state.signing.clone();
    state
        .db
        .write(move |conn| audit::checkpoint(conn, &keys, false))
        .await
}

/// The newest checkpoint: the chain head anyone may keep a copy of.
pub async fn head(state: &AppState) -> AppResult<Checkpoint> {
    state
        .db
        .read(audit::latest)
        .await?
        .ok_or(AppError::NotFound)
}
