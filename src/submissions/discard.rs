//! Discarding a draft: the one way a submission's rows are deleted.

use crate::auth::{AuthUser, roles};
use crate::db::evidence as evidence_db;
use crate::db::submissions as db;
use crate::domain::SubmissionStatus;
use crate::error::{AppError, AppResult, Code};
use crate::scope::load_visible;
use crate::state::AppState;

use super::{check_precondition, record};

/// Discards a draft (its enterprise's administrator): its answers, their history and its
/// evidence go, and the audit log keeps that it existed. Anything once submitted keeps its
/// record (409): withdraw it instead.
pub async fn discard(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    if_match: Option<String>,
) -> AppResult<()> {
    user.require(roles::ENTERPRISE_ADMIN)?;
    let unused = state
        .db
        .write(move |conn| {
            let s = load_visible(conn, &user, id)?;
            if !user.belongs_to(s.enterprise_id) {
                return Err(AppError::Forbidden(
                    "only the enterprise's administrator can discard a draft".into(),
                ));
            }
            check_precondition(if_match.as_deref(), &s)?;
            if s.status != SubmissionStatus::Draft {
                return Err(AppError::conflict(
                    Code::InvalidTransition,
                    format!(
                        "the submission is {} and cannot be discarded: only drafts can (withdraw \
                         a submitted one)",
                        s.status
                    ),
                ));
            }
            // Like every other write: the row's revision must still be the one If-Match named,
            // which also waits for (and then refuses after) a concurrent write.
            if !db::bump(conn, id, s.revision)? {
                return Err(AppError::PreconditionFailed);
            }
            let evidence = evidence_db::of_submission(conn, id)?;
            for e in &evidence {
                evidence_db::delete(conn, e.id)?;
            }
            db::delete_draft(conn, id)?;
            record(
                conn,
                user.id,
                &request_id,
                &s,
                "submission.discarded",
                serde_json::json!({
                    "revision": s.revision,
                    "evidence": evidence.iter().map(|e| &e.sha256).collect::<Vec<_>>(),
                }),
            )?;
            let mut unused = Vec::new();
            for e in evidence {
                if !evidence_db::sha_in_use(conn, &e.sha256)? && !unused.contains(&e.sha256) {
                    unused.push(e.sha256);
                }
            }
            Ok(unused)
        })
        .await?;
    for sha in unused {
        state.evidence.remove(&sha).await;
    }
    Ok(())
}
