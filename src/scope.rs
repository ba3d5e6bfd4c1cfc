//! Object-level access: which submissions a caller may see and change, and which enterprises a
//! reviewer may act on. Anything out of the caller's reach is answered 404, exactly as if it did
//! not exist; a conflict of interest is 403. The route-level check (roles per operation) is
//! `auth::access`.

use crate::auth::AuthUser;
use crate::db::AnyConnection;
use crate::db::enterprises::Enterprise;
use crate::db::reviews as db_reviews;
use crate::db::submissions::{self as db, Submission};
use crate::domain::{Role, SubmissionStatus, VerdictKind};
use crate::error::{AppError, AppResult, Code};

/// Whether a reviewer may act on `enterprise` (claim, verdicts, decisions, certificate status):
/// it lies in their association's region (404 otherwise, as for anything out of sight), they do
/// not belong to it, and it is not a competitor of the enterprise they belong to: one in the
/// same GB/T 4754 industry division (403 for both conflicts of interest).
pub fn reviewer_may_act(
    conn: &mut AnyConnection,
    user: &AuthUser,
    enterprise: &Enterprise,
) -> AppResult<()> {
    if user.role != Role::Reviewer || !user.reviews_region(&enterprise.region_code) {
        return Err(AppError::NotFound);
    }
    let Some(own) = user.enterprise_id else {
        return Ok(());
    };
    if own == enterprise.id {
        return Err(AppError::Forbidden(
            "reviewers never act on an enterprise they belong to".into(),
        ));
    }
    let own = crate::db::enterprises::find(conn, own)?;
    let division = |code: &str| code.get(..3).map(str::to_owned);
    if own.is_some_and(|o| division(&o.industry_code) == division(&enterprise.industry_code)) {
        return Err(AppError::Forbidden(
            "reviewers never act on a competitor of the enterprise they belong to (same industry division)"
                .into(),
        ));
    }
    Ok(())
}

/// Loads a submission the caller may see, or 404 exactly as for a missing one: its
/// enterprise's users and administrators always; reviewers whose scope covers the enterprise
/// once it has been submitted, unless they belong to it or to a competitor of it.
pub fn load_visible(conn: &mut AnyConnection, user: &AuthUser, id: i64) -> AppResult<Submission> {
    let s = db::find(conn, id)?.ok_or(AppError::NotFound)?;
    let visible = match user.role {
        Role::Admin => true,
        Role::EnterpriseAdmin | Role::EnterpriseMember => user.belongs_to(s.enterprise_id),
        // The same rule as for acting on it: in their region, neither their own enterprise nor
        // a competitor of it.
        Role::Reviewer => {
            s.status != SubmissionStatus::Draft
                && s.status != SubmissionStatus::Withdrawn
                && match crate::db::enterprises::find(conn, s.enterprise_id)? {
                    Some(e) => reviewer_may_act(conn, user, &e).is_ok(),
                    None => false,
                }
        }
        Role::IndustryBody | Role::ComplaintOfficer | Role::ComplaintPlatform => false,
    };
    if visible {
        Ok(s)
    } else {
        Err(AppError::NotFound)
    }
}

/// Loads a submission the caller may edit: its enterprise's users, in an editable state.
pub fn load_editable(conn: &mut AnyConnection, user: &AuthUser, id: i64) -> AppResult<Submission> {
    editable(user, load_visible(conn, user, id)?)
}

/// `s` if the caller may edit it: its enterprise's user, in an editable state.
fn editable(user: &AuthUser, s: Submission) -> AppResult<Submission> {
    if !user.belongs_to(s.enterprise_id) {
        return Err(AppError::Forbidden(
            "only the enterprise's users edit its submissions".into(),
        ));
    }
    if !s.status.editable() {
        return Err(AppError::conflict(
            Code::NotEditable,
            format!("the submission is {} and cannot be changed", s.status),
        ));
    }
    Ok(s)
}

/// Loads a submission the caller changes under `If-Match`: visible (404 otherwise), theirs to
/// edit, then the precondition present (428) before its state is judged (409), so that a
/// request without `If-Match` is answered for what it lacks whatever the submission's state.
pub fn load_for_change(
    conn: &mut AnyConnection,
    user: &AuthUser,
    id: i64,
    if_match: Option<&str>,
) -> AppResult<Submission> {
    let s = load_visible(conn, user, id)?;
    if user.belongs_to(s.enterprise_id) && if_match.is_none() {
        return Err(AppError::PreconditionRequired);
    }
    editable(user, s)
}

/// A submission the caller may add evidence to: an editable one (`None`), or one under review
/// for the criteria the reviewer asked evidence for in the open round (`Some(those ids)`).
pub fn load_for_evidence(
    conn: &mut AnyConnection,
    user: &AuthUser,
    id: i64,
) -> AppResult<(Submission, Option<Vec<String>>)> {
    let s = load_visible(conn, user, id)?;
    if s.status != SubmissionStatus::UnderReview {
        return Ok((load_editable(conn, user, id)?, None));
    }
    if !user.belongs_to(s.enterprise_id) {
        return Err(AppError::Forbidden(
            "only the enterprise's users edit its submissions".into(),
        ));
    }
    let requested: Vec<String> = match db_reviews::current(conn, id)? {
        Some(r) => db_reviews::verdicts_of(conn, r.id)?
            .into_iter()
            .filter(|v| v.verdict == VerdictKind::RequestEvidence)
            .map(|v| v.criterion_id)
            .collect(),
        None => Vec::new(),
    };
    if requested.is_empty() {
        return Err(AppError::conflict(
            Code::NotEditable,
            "a submission under review takes evidence only for criteria the reviewer asked \
             evidence for"
                .into(),
        ));
    }
    Ok((s, Some(requested)))
}
