//! The association's review, as workflows the API and the console share: the queue, claiming,
//! per-criterion verdicts and the decision (return, reject, or approve with four-eyes for the
//! levels that need it, issuing the certificate in the same transaction). Each function checks
//! the caller's role and reach, runs in one transaction and writes the audit log.

mod approval;
mod views;

use chrono::DateTime;

use crate::auth::{AuthUser, roles};
use crate::db::enterprises::{self, Enterprise};
use crate::db::reviews::{self as db, QueueFilter, Review};
use crate::db::submissions::{self as db_submissions, Submission};
use crate::db::{AnyConnection, audit};
use crate::domain::scoring::Answer;
use crate::domain::submission::Move;
use crate::domain::webhook::EventType;
use crate::domain::{IndustryCode, ReviewDecision, Role, SubmissionStatus, VerdictKind};
use crate::error::{AppError, AppResult, Code, FieldError};
use crate::scope::{load_visible, reviewer_may_act};
use crate::state::AppState;
use crate::submissions::{event, load_without_round, record};
use crate::views::{Page, cursor, page_bounds, paged};
use crate::webhooks;
pub use approval::{Approval, approve};
pub use views::*;
use views::{review_view, review_view_of, view_of};

/// Submitted submissions in the reviewer's scope, oldest first.
pub async fn queue(state: &AppState, user: &AuthUser, q: QueueQuery) -> AppResult<Page<QueueItem>> {
    user.require(roles::ADMIN_OR_REVIEWER)?;
    let (_, limit) = page_bounds(None, q.limit)?;
    let industry = q
        .industry
        .as_deref()
        .map(IndustryCode::parse)
        .transpose()
        .map_err(|e| AppError::validation("industry", e))?;
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => {
            let position = cursor::decode(c)?;
            let (micros, id) = position
                .split_once('.')
                .and_then(|(t, i)| Some((t.parse::<i64>().ok()?, i.parse::<i64>().ok()?)))
                .ok_or_else(|| AppError::validation("cursor", "not a cursor from this API"))?;
            let t = DateTime::from_timestamp_micros(micros)
                .ok_or_else(|| AppError::validation("cursor", "not a cursor from this API"))?;
            Some((t.naive_utc(), id))
        }
    };
    let min_age = q.min_age_days.map(|d| d.clamp(0, 36_500));
    let filter = QueueFilter {
        region_prefix: user
            .region_scope
            .clone()
            .filter(|_| user.role == Role::Reviewer),
        industry_prefix: industry.map(|i| i.as_str().to_owned()),
        level: q.level,
        submitted_before: min_age.map(|d| crate::db::now() - chrono::Duration::days(d)),
        after,
        limit: limit + 1,
    };
    let affiliation = user.enterprise_id.filter(|_| user.role == Role::Reviewer);
    let (rows, own_division) = state
        .db
        .read(move |conn| {
            let own = match affiliation {
                Some(e) => enterprises::find(conn, e)?
                    .and_then(|e| e.industry_code.get(..3).map(str::to_owned)),
                None => None,
            };
            Ok((db::queue(conn, &filter)?, own))
        })
        .await?;
    // Every queued submission has been submitted; the position is (submission time, id).
    let (rows, next_cursor) = paged(rows, limit, |(s, ..)| {
        let micros = s.submitted_at.map_or(0, |t| t.and_utc().timestamp_micros());
        format!("{micros}.{}", s.id)
    });
    let items = rows
        .into_iter()
        .filter(|(s, ..)| unconflicted(s, affiliation, own_division.as_deref()))
        .map(|(s, name, region)| QueueItem::of(s, name, region))
        .collect();
    Ok(Page { items, next_cursor })
}

/// Whether a reviewer affiliated with `affiliation` (whose industry division is
/// `own_division`) may review `s`: never their own enterprise nor its competitors.
fn unconflicted(s: &Submission, affiliation: Option<i64>, own_division: Option<&str>) -> bool {
    Some(s.enterprise_id) != affiliation
        && own_division.is_none_or(|d| !s.industry_code.starts_with(d))
}

/// A review round waiting for the caller.
#[derive(Debug)]
pub struct InProgress {
    pub item: QueueItem,
    /// The round's first approval is recorded; it waits for a second reviewer.
    pub awaiting_second_approval: bool,
}

/// The open review rounds that wait for a reviewer: the ones they claimed, and, in their
/// region, first approvals by others that wait for a second (never of their own enterprise or
/// its competitors, as in the queue).
pub async fn in_progress(state: &AppState, user: &AuthUser) -> AppResult<Vec<InProgress>> {
    user.require(roles::REVIEWER)?;
    let (me, region) = (user.id, user.region_scope.clone());
    let affiliation = user.enterprise_id;
    let (rows, own_division) = state
        .db
        .read(move |conn| {
            let own = match affiliation {
                Some(e) => enterprises::find(conn, e)?
                    .and_then(|e| e.industry_code.get(..3).map(str::to_owned)),
                None => None,
            };
            Ok((db::open_rounds_for(conn, me, region.as_deref())?, own))
        })
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(s, ..)| unconflicted(s, affiliation, own_division.as_deref()))
        .map(|(s, name, region, awaiting)| InProgress {
            item: QueueItem::of(s, name, region),
            awaiting_second_approval: awaiting,
        })
        .collect())
}

/// The review of a submission: its answers and evidence, every round's verdicts and the
/// reviewed score. Visible to reviewers in scope, administrators and the enterprise itself.
pub async fn view(state: &AppState, user: AuthUser, id: i64) -> AppResult<ReviewView> {
    let schemas = state.schemas.clone();
    state
        .db
        .read(move |conn| {
            let s = load_visible(conn, &user, id)?;
            review_view(conn, &schemas, s)
        })
        .await
}

/// Claims a submitted submission for review (→ `under_review`). One reviewer at a time.
pub async fn claim(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
) -> AppResult<ReviewView> {
    user.require(roles::REVIEWER)?;
    let schemas = state.schemas.clone();
    state
        .db
        .write(move |conn| {
            let (s, e) = reviewable(conn, &user, id)?;
            if !apply(conn, &s, Move::Claim)? {
                let code = if s.status == SubmissionStatus::UnderReview {
                    Code::AlreadyClaimed
                } else {
                    Code::NotClaimable
                };
                return Err(AppError::conflict(
                    code,
                    format!("the submission is {}", s.status),
                ));
            }
            db::open(conn, id, user.id)?;
            // The view before the audit entry, which takes the chain's lock on PostgreSQL.
            let claimed = find(conn, id)?;
            let view = review_view_of(conn, &schemas, claimed, &e)?;
            record(
                conn,
                user.id,
                &request_id,
                &s,
                "review.claimed",
                serde_json::json!({}),
            )?;
            Ok(view)
        })
        .await
}

/// Records verdicts on one or more criteria (accept; adjust with a share of the weight and a
/// reason; request evidence with a comment), all or none. The claimant only. `at` prefixes the
/// field names of errors (`verdicts/` for a batch); a batch is at most [`MAX_VERDICTS`].
pub async fn set_verdicts(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    input: Vec<(String, VerdictInput)>,
    at: &str,
) -> AppResult<ReviewView> {
    user.require(roles::REVIEWER)?;
    if input.is_empty() {
        return Err(AppError::validation(
            "verdicts",
            "give at least one verdict",
        ));
    }
    if input.len() > MAX_VERDICTS {
        return Err(AppError::validation(
            "verdicts",
            format!("at most {MAX_VERDICTS} verdicts at once"),
        ));
    }
    let mut verdicts = Vec::with_capacity(input.len());
    let mut errors = Vec::new();
    for (criterion, v) in input {
        let prefix = if at.is_empty() {
            String::new()
        } else {
            format!("{at}{criterion}/")
        };
        match parse_verdict(v, &prefix) {
            Ok(v) => verdicts.push((criterion, v)),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let schemas = state.schemas.clone();
    state
        .db
        .write(move |conn| {
            let (s, e) = reviewable_locked(conn, &user, id)?;
            let r = own_review(conn, &user, &s)?;
            // The round's verdicts are read with the view, after the new ones are written.
            let loaded = load_without_round(conn, &schemas, s.clone())?;
            let invalid: Vec<FieldError> = verdicts
                .iter()
                .filter_map(|(c, v)| {
                    if loaded.schema.criterion(c).is_none() {
                        return Some(FieldError::new(
                            c.as_str(),
                            "not a criterion of this submission",
                        ));
                    }
                    // N/A earns nothing to adjust: the reviewer accepts it, asks for evidence
                    // that the criterion does not apply, or returns the submission.
                    let na = matches!(loaded.engine_answers.get(c), Some(Answer::NotApplicable));
                    (na && v.verdict == VerdictKind::Adjust).then(|| {
                        FieldError::new(
                            c.as_str(),
                            "the enterprise answered N/A: accept it, ask for evidence, or return \
                             the submission to contest it",
                        )
                    })
                })
                .collect();
            if !invalid.is_empty() {
                return Err(AppError::Validation(invalid));
            }
            let writes: Vec<db::VerdictWrite<'_>> = verdicts
                .iter()
                .map(|(criterion, v)| db::VerdictWrite {
                    criterion_id: criterion,
                    verdict: v.verdict,
                    fraction: v.fraction,
                    reason: v.reason.as_deref(),
                    comment: v.comment.as_deref(),
                })
                .collect();
            db::set_verdicts(conn, r.id, user.id, &writes)?;
            let requests = verdicts
                .iter()
                .filter(|(_, v)| v.verdict == VerdictKind::RequestEvidence)
                .map(|(criterion, v)| {
                    webhooks::submission_event(
                        EventType::EvidenceRequested,
                        &s,
                        serde_json::json!({ "criterion_id": criterion, "request": v.comment }),
                    )
                })
                .collect();
            webhooks::emit_all(conn, requests)?;
            // A first approval approved the verdicts as they were: it no longer stands. (Its
            // only writer holds the submission's lock too, so `r` still tells whether there is
            // one.)
            let withdrawn = r.first_approver_id.is_some() && db::clear_first_approval(conn, r.id)?;
            // The view before the audit entries: on PostgreSQL the first entry takes the
            // chain's lock, held until the commit, and every other write waits while this one
            // holds it. The entries are in the order the verdicts were given, as before. The
            // verdicts changed neither the answers, the evidence nor the status loaded above.
            let view = view_of(conn, loaded, &e)?;
            let mut entries: Vec<_> = verdicts
                .iter()
                .map(|(criterion, v)| {
                    event(
                        user.id,
                        &request_id,
                        &s,
                        "review.verdict",
                        serde_json::json!({
                            "criterion": criterion, "verdict": v.verdict, "points": v.fraction,
                        }),
                    )
                })
                .collect();
            if withdrawn {
                entries.push(event(
                    user.id,
                    &request_id,
                    &s,
                    "review.first_approval_withdrawn",
                    serde_json::json!({ "reason": "verdicts changed" }),
                ));
            }
            audit::append_all(conn, entries)?;
            Ok(view)
        })
        .await
}

/// More verdicts than any schema has criteria.
pub const MAX_VERDICTS: usize = 500;

/// A verdict checked against its rules.
struct Parsed {
    verdict: VerdictKind,
    fraction: Option<f64>,
    reason: Option<String>,
    comment: Option<String>,
}

/// Checks one verdict; field names in errors start with `at`.
fn parse_verdict(v: VerdictInput, at: &str) -> Result<Parsed, FieldError> {
    use crate::domain::answers::MAX_TEXT_CHARS as MAX_TEXT;
    let field = |name: &str| format!("{at}{name}");
    let text = |t: Option<String>| t.filter(|t| !t.trim().is_empty());
    for (name, t) in [("reason", &v.reason), ("comment", &v.comment)] {
        if t.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
            return Err(FieldError::new(
                field(name),
                format!("at most {MAX_TEXT} characters"),
            ));
        }
    }
    let verdict = VerdictKind::parse(&v.verdict).ok_or_else(|| {
        FieldError::new(
            field("verdict"),
            "must be accept, adjust or request_evidence",
        )
    })?;
    let (fraction, reason, comment) = match verdict {
        VerdictKind::Accept => (None, text(v.reason), text(v.comment)),
        VerdictKind::Adjust => {
            let points = v
                .points
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    FieldError::new(field("points"), "give the share of the weight, from 0 to 1")
                })?;
            let reason = text(v.reason)
                .ok_or_else(|| FieldError::new(field("reason"), "an adjustment needs a reason"))?;
            (Some(points), Some(reason), text(v.comment))
        }
        VerdictKind::RequestEvidence => {
            let comment = text(v.comment)
                .ok_or_else(|| FieldError::new(field("comment"), "say which evidence is needed"))?;
            (None, text(v.reason), Some(comment))
        }
    };
    Ok(Parsed {
        verdict,
        fraction,
        reason,
        comment,
    })
}

/// Returns the submission to the enterprise or rejects it, with the comment the enterprise
/// reads. The claimant only.
pub async fn decide(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    decision: ReviewDecision,
    comment: Option<String>,
) -> AppResult<ReviewView> {
    user.require(roles::REVIEWER)?;
    if decision == ReviewDecision::Approved {
        return Err(AppError::internal("approvals go through reviews::approve"));
    }
    let comment = comment
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| AppError::validation("comment", "tell the enterprise why"))?;
    let schemas = state.schemas.clone();
    state
        .db
        .write(move |conn| {
            let (s, e) = reviewable_locked(conn, &user, id)?;
            let r = own_review(conn, &user, &s)?;
            if !apply(conn, &s, decision.to_move())? {
                return Err(decided_meanwhile());
            }
            let loaded = load_without_round(conn, &schemas, s.clone())?;
            let score = loaded.reviewed_score(&db::verdicts_of(conn, r.id)?);
            db::decide(
                conn,
                r.id,
                decision,
                user.id,
                Some(&comment),
                Some(score.total),
                Some(&score.level),
            )?;
            let kind = match decision {
                ReviewDecision::Returned => EventType::SubmissionReturned,
                _ => EventType::SubmissionRejected,
            };
            webhooks::emit(
                conn,
                webhooks::submission_event(
                    kind,
                    &s,
                    serde_json::json!({ "status": decision.to_move().past(), "comment": comment }),
                ),
            )?;
            // The view before the audit entry, which takes the chain's lock on PostgreSQL.
            let decided = find(conn, id)?;
            let view = review_view_of(conn, &schemas, decided, &e)?;
            record(
                conn,
                user.id,
                &request_id,
                &s,
                &format!("review.{}", decision.as_str()),
                serde_json::json!({ "comment": comment }),
            )?;
            Ok(view)
        })
        .await
}

/// Applies `m` to the submission's status if it still has the one `s` was read with; false when
/// another request moved it first (or `m` does not apply to it).
pub(super) fn apply(conn: &mut AnyConnection, s: &Submission, m: Move) -> AppResult<bool> {
    match s.status.after(m) {
        Some(to) => db::move_status(conn, s.id, s.status, to),
        None => Ok(false),
    }
}

pub(super) fn decided_meanwhile() -> AppError {
    AppError::conflict(
        Code::NotUnderReview,
        "the submission was decided meanwhile".into(),
    )
}

pub(super) fn not_under_review(s: &Submission) -> AppError {
    AppError::conflict(
        Code::NotUnderReview,
        format!("the submission is {}", s.status),
    )
}

/// A submitted (or later) submission of an enterprise the reviewer may act on
/// ([`reviewer_may_act`]), with its enterprise; anything else is 404.
pub(super) fn reviewable(
    conn: &mut AnyConnection,
    user: &AuthUser,
    id: i64,
) -> AppResult<(Submission, Enterprise)> {
    let s = find(conn, id)?;
    reviewable_row(conn, user, s)
}

/// [`reviewable`] for a writer: the submission's row read under its lock
/// ([`db_submissions::lock`]), which serializes the writers of one submission.
pub(super) fn reviewable_locked(
    conn: &mut AnyConnection,
    user: &AuthUser,
    id: i64,
) -> AppResult<(Submission, Enterprise)> {
    let s = db_submissions::find_locked(conn, id)?.ok_or(AppError::NotFound)?;
    reviewable_row(conn, user, s)
}

fn reviewable_row(
    conn: &mut AnyConnection,
    user: &AuthUser,
    s: Submission,
) -> AppResult<(Submission, Enterprise)> {
    let e = enterprises::find(conn, s.enterprise_id)?.ok_or(AppError::NotFound)?;
    if s.status == SubmissionStatus::Draft {
        return Err(AppError::NotFound);
    }
    reviewer_may_act(conn, user, &e)?;
    Ok((s, e))
}

fn find(conn: &mut AnyConnection, id: i64) -> AppResult<Submission> {
    db_submissions::find(conn, id)?.ok_or(AppError::NotFound)
}

/// The open review, which must be the caller's.
fn own_review(conn: &mut AnyConnection, user: &AuthUser, s: &Submission) -> AppResult<Review> {
    let r = db::current(conn, s.id)?
        .filter(|_| s.status == SubmissionStatus::UnderReview)
        .ok_or_else(|| not_under_review(s))?;
    if r.reviewer_id != user.id {
        return Err(AppError::conflict(
            Code::ClaimedByAnother,
            "another reviewer holds this review".into(),
        ));
    }
    Ok(r)
}
