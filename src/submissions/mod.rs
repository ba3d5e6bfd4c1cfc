//! Self-assessment submissions, as workflows the API and the console share: create (idempotent),
//! answer under optimistic concurrency, submit, withdraw, upgrade to a newer schema version, and
//! answer a reviewer's evidence request. Each function checks the caller's role and reach, runs
//! in one transaction and writes the audit log; a body is read only once the caller is known to
//! see the submission (`input` closures), so an outsider learns nothing from a validation error.

mod answers;
mod discard;
mod loaded;
mod views;

use crate::auth::{AuthUser, roles};
pub use crate::db::submissions::Submission;
use crate::db::submissions::{self as db, NewSubmission};
use crate::db::{AnyConnection, enterprises, now, reviews as db_reviews, schema_versions};
use crate::domain::answers::MAX_TEXT_CHARS;
use crate::domain::schema::{SchemaDoc, Status};
use crate::domain::submission::Move;
use crate::domain::upgrade::{UpgradePlan, plan_upgrade, version_chain};
use crate::domain::{Role, SubmissionStatus};
use crate::error::{AppError, AppResult, Code, FieldError};
use crate::idempotency::{self, Keyed, Made, Outcome};
use crate::scope::{load_for_change, load_visible};
use crate::state::AppState;
use crate::views::{Page, paged, utc};
pub use answers::*;
pub use discard::discard;
pub use loaded::*;
pub use views::*;

/// Where submission `id` is read.
pub fn location(id: i64) -> String {
    format!("/api/v1/submissions/{id}")
}

/// Starts a self-assessment on a published schema version: the enterprise's industry profile
/// is applied and the version's content hash recorded. With an idempotency key, a repeated
/// request returns the first response and creates nothing.
pub async fn create(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    body: CreateSubmission,
    key: Option<String>,
) -> AppResult<Outcome<Made<SubmissionView>>> {
    user.require(roles::ENTERPRISE)?;
    let enterprise_id = match (user.role, user.enterprise_id) {
        (Role::EnterpriseAdmin | Role::EnterpriseMember, Some(e)) => e,
        _ => {
            return Err(AppError::Forbidden(
                "only enterprise users create submissions".into(),
            ));
        }
    };
    let request = serde_json::to_value(&body).map_err(AppError::internal)?;
    let keyed = Keyed::new(user.id, "createSubmission", key, &request);
    let schemas = state.schemas.clone();
    idempotency::write(state, keyed, move |conn| {
        let enterprise = enterprises::find(conn, enterprise_id)?.ok_or(AppError::NotFound)?;
        let row = schema_versions::head(conn, &body.schema_id, &body.version)?
            .filter(|r| r.status() != Status::Draft)
            .ok_or_else(|| {
                AppError::validation(
                    "version",
                    format!(
                        "{} {} is not a published version",
                        body.schema_id, body.version
                    ),
                )
            })?;
        if row.status() == Status::Retired {
            return Err(AppError::validation(
                "version",
                "this version is retired; start on a current one",
            ));
        }
        let schema = schemas.get(
            conn,
            &row.schema_id,
            &row.version,
            Some(&row.content_hash),
            &enterprise.industry_code,
        )?;
        let at = now();
        let id = db::insert(
            conn,
            &NewSubmission {
                enterprise_id,
                schema_id: &row.schema_id,
                version: &row.version,
                schema_hash: &row.content_hash,
                industry_code: &enterprise.industry_code,
                profile_id: schema.resolved.profile.as_ref().map(|p| p.id.as_str()),
                status: SubmissionStatus::Draft.as_str(),
                revision: 1,
                created_by: user.id,
                created_at: at,
                updated_at: at,
            },
        )?;
        let s = find(conn, id)?;
        record(
            conn,
            user.id,
            &request_id,
            &s,
            "submission.created",
            serde_json::json!({
                "schema_id": s.schema_id, "version": s.version,
                "schema_hash": s.schema_hash,
            }),
        )?;
        let etag = etag(&s);
        let view = load(conn, &schemas, s)?.view();
        Ok(Made::created(view, location(id)).with_etag(etag))
    })
    .await
}

/// The caller's enterprise's submissions, oldest first, after the cursor.
pub async fn list(
    state: &AppState,
    user: &AuthUser,
    after: i64,
    limit: i64,
) -> AppResult<Page<SubmissionSummary>> {
    user.require(roles::ENTERPRISE)?;
    let Some(enterprise_id) = user.enterprise_id.filter(|e| user.belongs_to(*e)) else {
        return Ok(Page {
            items: Vec::new(),
            next_cursor: None,
        });
    };
    let rows = state
        .db
        .read(move |conn| db::list_for_enterprise(conn, enterprise_id, after, limit + 1))
        .await?;
    let (rows, next_cursor) = paged(rows, limit, |r| r.id.to_string());
    Ok(Page {
        items: rows.into_iter().map(SubmissionSummary::from).collect(),
        next_cursor,
    })
}

/// A submission with its answers, completeness and a live score with its explanation.
pub async fn view(state: &AppState, user: AuthUser, id: i64) -> AppResult<SubmissionView> {
    let schemas = state.schemas.clone();
    state
        .db
        .read(move |conn| visible_view(conn, &schemas, &user, id))
        .await
}

/// Saves answers to an editable submission at the revision `if_match` names, all or nothing.
/// Returns the submission at its new revision and the criteria saved.
///
/// The checks, then the write: on SQLite in one transaction of the next group commit; on
/// PostgreSQL the checks read on a pooled connection, and the write is one statement
/// (`write_linked`), alone or in the next group of saves ([`crate::db::Db::write_checked`]),
/// which writes nothing unless the submission is still at the revision read and editable.
pub async fn save_answers(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    if_match: Option<String>,
    input: impl FnOnce() -> AppResult<Vec<(String, AnswerInput)>> + Send + 'static,
) -> AppResult<(Submission, Vec<String>)> {
    user.require(roles::ENTERPRISE)?;
    let schemas = state.schemas.clone();
    let reader = user.clone();
    state
        .db
        .write_checked(
            id,
            move |conn| {
                let (s, items) = checked_answers(conn, &schemas, &reader, id, if_match, input)?;
                let links: Vec<(i64, String)> = answers::evidence_links(conn, &s, &items)?
                    .into_iter()
                    .map(|(e, c)| (e, c.to_owned()))
                    .collect();
                Ok((s, items, links))
            },
            move |conn, (s, items, links)| {
                let links: Vec<(i64, &str)> = links.iter().map(|(e, c)| (*e, c.as_str())).collect();
                let saved = answers::write_linked(conn, s, &user, &request_id, items, &links)?;
                Ok((saved, items.iter().map(|(c, _)| c.clone()).collect()))
            },
        )
        .await
}

/// The submission a save changes, and the answers to save once each is checked against its
/// schema: the caller must see the submission and be allowed to change it at `if_match`.
fn checked_answers(
    conn: &mut AnyConnection,
    schemas: &crate::schemas::SchemaCache,
    user: &AuthUser,
    id: i64,
    if_match: Option<String>,
    input: impl FnOnce() -> AppResult<Vec<(String, AnswerInput)>>,
) -> AppResult<(Submission, Vec<(String, AnswerInput)>)> {
    let s = load_for_change(conn, user, id, if_match.as_deref())?;
    let items = input()?;
    check_precondition(if_match.as_deref(), &s)?;
    let schema = schemas.of(conn, &s)?;
    let errors: Vec<FieldError> = items
        .iter()
        .filter_map(|(c, a)| check_answer(&schema, c, a).err())
        .collect();
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok((s, items))
}

/// Clears one answer of an editable submission; it stays in the history.
pub async fn clear_answer(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    criterion: String,
    if_match: Option<String>,
) -> AppResult<Submission> {
    user.require(roles::ENTERPRISE)?;
    state
        .db
        .write(move |conn| {
            let s = load_for_change(conn, &user, id, if_match.as_deref())?;
            check_precondition(if_match.as_deref(), &s)?;
            let row = db::answer_of(conn, id, &criterion)?.ok_or(AppError::NotFound)?;
            if !db::bump(conn, id, s.revision)? {
                return Err(AppError::PreconditionFailed);
            }
            db::remove_answer(conn, &row, "cleared", &s.version, user.id)?;
            record(
                conn,
                user.id,
                &request_id,
                &s,
                "submission.answer_cleared",
                serde_json::json!({ "criterion": criterion }),
            )?;
            find(conn, id)
        })
        .await
}

/// Submits a draft or returned submission for review (its enterprise's administrator), with
/// its self-assessed score; refused while criteria are unanswered or lack required evidence.
pub async fn submit(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    if_match: Option<String>,
) -> AppResult<SubmissionView> {
    enterprise_move(state, user, request_id, id, if_match, Move::Submit).await
}

/// Withdraws a submitted or returned submission (its enterprise's administrator).
pub async fn withdraw(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    if_match: Option<String>,
) -> AppResult<SubmissionView> {
    enterprise_move(state, user, request_id, id, if_match, Move::Withdraw).await
}

async fn enterprise_move(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    if_match: Option<String>,
    m: Move,
) -> AppResult<SubmissionView> {
    user.require(roles::ENTERPRISE_ADMIN)?;
    let schemas = state.schemas.clone();
    state
        .db
        .write(move |conn| {
            let s = load_visible(conn, &user, id)?;
            if !user.belongs_to(s.enterprise_id) {
                let verb = if m == Move::Submit {
                    "submit"
                } else {
                    "withdraw"
                };
                return Err(AppError::Forbidden(format!(
                    "only the enterprise's administrator can {verb}"
                )));
            }
            check_precondition(if_match.as_deref(), &s)?;
            let Some(to) = s.status.after(m) else {
                return Err(AppError::conflict(
                    Code::InvalidTransition,
                    format!("the submission is {} and cannot be {}", s.status, m.past()),
                ));
            };
            if !db::bump(conn, id, s.revision)? {
                return Err(AppError::PreconditionFailed);
            }
            let (action, details, loaded) = if m == Move::Submit {
                let loaded = load_without_round(conn, &schemas, s.clone())?;
                let (missing, lacking) = loaded.completeness();
                if !missing.is_empty() || !lacking.is_empty() {
                    return Err(incomplete(&missing, &lacking));
                }
                let score = loaded.score();
                db::mark_submitted(conn, id, s.enterprise_id, &score)?;
                let details = serde_json::json!({
                    "from": s.status, "total": score.total, "level": score.level,
                });
                ("submission.submitted", details, Some(loaded))
            } else {
                db::set_status(conn, id, to)?;
                (
                    "submission.withdrawn",
                    serde_json::json!({ "from": s.status }),
                    None,
                )
            };
            // The view before the audit entry: on PostgreSQL the entry takes the chain's lock,
            // held until the commit, and every other write waits while this one holds it.
            let moved = find(conn, id)?;
            let view = match loaded {
                Some(loaded) => loaded.submitted(moved),
                None => load(conn, &schemas, moved)?,
            }
            .view();
            record(conn, user.id, &request_id, &s, action, details)?;
            Ok(view)
        })
        .await
}

/// The 422 of a submission that cannot be submitted yet, naming each criterion.
fn incomplete(missing: &[String], lacking: &[String]) -> AppError {
    let errors = missing
        .iter()
        .map(|c| FieldError::new(c.as_str(), "not answered"))
        .chain(
            lacking
                .iter()
                .map(|c| FieldError::new(c.as_str(), "evidence required")),
        )
        .collect();
    AppError::unprocessable(
        Code::SubmissionIncomplete,
        format!(
            "{} criteria unanswered and {} lacking evidence",
            missing.len(),
            lacking.len()
        ),
        errors,
    )
}

/// Moves a draft to a newer version of its schema. Answers are carried over where the
/// criterion is unchanged (following renames); answers to changed or dropped criteria move to
/// the history, never lost. `to` is checked once the submission is found, so a request about
/// another enterprise's submission is a plain 404.
pub async fn upgrade(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    to: Option<String>,
    if_match: Option<String>,
) -> AppResult<Upgraded> {
    user.require(roles::ENTERPRISE)?;
    let schemas = state.schemas.clone();
    state
        .db
        .write(move |conn| {
            let s = load_for_change(conn, &user, id, if_match.as_deref())?;
            let to = to.ok_or_else(|| AppError::validation("to", "name the version to move to"))?;
            check_precondition(if_match.as_deref(), &s)?;
            if s.status != SubmissionStatus::Draft {
                return Err(AppError::conflict(
                    Code::InvalidTransition,
                    "only drafts can be upgraded".into(),
                ));
            }
            let docs: Vec<SchemaDoc> = schema_versions::all(conn)?
                .into_iter()
                .filter(|r| r.schema_id == s.schema_id && r.status() != Status::Draft)
                .map(|r| r.doc())
                .collect::<AppResult<_>>()?;
            let target = docs.iter().find(|d| d.version == to).ok_or_else(|| {
                AppError::validation(
                    "to",
                    format!("{to} is not a published version of {}", s.schema_id),
                )
            })?;
            if target.status == Status::Retired {
                return Err(AppError::validation("to", "that version is retired"));
            }
            let chain = version_chain(&docs, &s.version, &to)
                .filter(|c| c.len() >= 2)
                .ok_or_else(|| {
                    AppError::validation("to", format!("{to} does not succeed {}", s.version))
                })?;
            let old = schemas.of(conn, &s)?;
            let target_row =
                schema_versions::head(conn, &s.schema_id, &to)?.ok_or(AppError::NotFound)?;
            let new = schemas.get(
                conn,
                &s.schema_id,
                &to,
                Some(&target_row.content_hash),
                &s.industry_code,
            )?;
            let rows = db::answers_of(conn, id)?;
            let answered: Vec<String> = rows.iter().map(|r| r.criterion_id.clone()).collect();
            let plan: UpgradePlan = plan_upgrade(&chain, &old.criteria, &new.criteria, &answered);
            if !db::bump(conn, id, s.revision)? {
                return Err(AppError::PreconditionFailed);
            }
            for row in &rows {
                if let Some(c) = plan
                    .carried_over
                    .iter()
                    .find(|c| c.from == row.criterion_id)
                {
                    if c.to != c.from {
                        db::rename_answer(conn, row.id, &c.to)?;
                    }
                } else if plan.dropped.contains(&row.criterion_id) {
                    db::remove_answer(conn, row, "dropped_on_upgrade", &s.version, user.id)?;
                } else {
                    db::remove_answer(conn, row, "must_reanswer_on_upgrade", &s.version, user.id)?;
                }
            }
            db::move_to_version(
                conn,
                id,
                &to,
                &target_row.content_hash,
                new.resolved.profile.as_ref().map(|p| p.id.as_str()),
            )?;
            record(
                conn,
                user.id,
                &request_id,
                &s,
                "submission.upgraded",
                serde_json::to_value(&plan).map_err(AppError::internal)?,
            )?;
            let s = find(conn, id)?;
            let submission = load(conn, &schemas, s)?.view();
            Ok(Upgraded { plan, submission })
        })
        .await
}

/// Every answer ever written to a submission, including those cleared or left behind by an
/// upgrade.
pub async fn history(
    state: &AppState,
    user: AuthUser,
    id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Page<HistoryEntry>> {
    let rows = state
        .db
        .read(move |conn| {
            load_visible(conn, &user, id)?;
            db::history_of(conn, id, after, limit + 1)
        })
        .await?;
    let (rows, next_cursor) = paged(rows, limit, |r| r.id.to_string());
    let items = rows
        .into_iter()
        .map(|h| HistoryEntry {
            criterion_id: h.criterion_id,
            change: h.change,
            value: h.value.and_then(|v| serde_json::from_str(&v).ok()),
            not_applicable_reason: h.not_applicable_reason,
            comment: h.comment,
            schema_version: h.schema_version,
            changed_by: h.changed_by,
            changed_at: utc(h.changed_at),
        })
        .collect();
    Ok(Page { items, next_cursor })
}

/// Answers the reviewer's request for evidence on one criterion, while the submission is under
/// review or returned: the files are uploaded first, the answer says what they show. The answer
/// and the files it points to are kept in the audit log.
pub async fn answer_evidence_request(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    criterion: String,
    input: impl FnOnce() -> AppResult<RequestAnswerInput> + Send + 'static,
) -> AppResult<SubmissionView> {
    user.require(roles::ENTERPRISE)?;
    let schemas = state.schemas.clone();
    state
        .db
        .write(move |conn| {
            db::lock(conn, id)?;
            let s = load_visible(conn, &user, id)?;
            if !user.belongs_to(s.enterprise_id) {
                return Err(AppError::Forbidden(
                    "only the enterprise's users answer its evidence requests".into(),
                ));
            }
            let input = input()?;
            let answer = input.answer.trim();
            if answer.is_empty() || answer.chars().count() > MAX_TEXT_CHARS {
                return Err(AppError::validation(
                    "answer",
                    format!("say what the evidence shows, in 1 to {MAX_TEXT_CHARS} characters"),
                ));
            }
            if !matches!(
                s.status,
                SubmissionStatus::UnderReview | SubmissionStatus::Returned
            ) {
                return Err(AppError::conflict(
                    Code::NotUnderReview,
                    format!(
                        "the submission is {}: it has no evidence requests to answer",
                        s.status
                    ),
                ));
            }
            let round = db_reviews::latest(conn, id)?.ok_or(AppError::NotFound)?;
            if !db_reviews::answer_request(conn, round.id, &criterion, user.id, answer)? {
                return Err(AppError::NotFound);
            }
            let view = visible_view(conn, &schemas, &user, id)?;
            let files = view
                .evidence_requests
                .iter()
                .find(|r| r.criterion_id == criterion)
                .map(|r| r.evidence_ids.clone())
                .unwrap_or_default();
            record(
                conn,
                user.id,
                &request_id,
                &s,
                "review.evidence_answered",
                serde_json::json!({
                    "criterion": criterion, "review_id": round.id, "answer": answer,
                    "evidence_ids": files,
                }),
            )?;
            Ok(view)
        })
        .await
}

fn find(conn: &mut AnyConnection, id: i64) -> AppResult<Submission> {
    db::find(conn, id)?.ok_or(AppError::NotFound)
}
