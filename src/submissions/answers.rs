//! Answers under optimistic concurrency: the submission's ETag and `If-Match` precondition, the
//! check of each answer against its criterion, the write with its evidence links and history,
//! and the audit entry.

use crate::auth::AuthUser;
use crate::db::evidence as evidence_db;
use crate::db::submissions::{self as db, Submission};
use crate::db::{AnyConnection, audit};
use crate::domain::answers;
use crate::error::{AppError, AppResult, FieldError};
use crate::schemas::ResolvedSchema;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The strong ETag of a submission's current revision.
pub fn etag(s: &Submission) -> String {
    etag_at(s.id, s.revision)
}

/// The strong ETag of submission `id` at `revision`.
pub fn etag_at(id: i64, revision: i64) -> String {
    format!("\"{id}-{revision}\"")
}

/// Checks the `If-Match` header's value against the submission: missing is 428, a different
/// tag 412.
pub fn check_precondition(if_match: Option<&str>, s: &Submission) -> AppResult<()> {
    let Some(value) = if_match else {
        return Err(AppError::PreconditionRequired);
    };
    let current = etag(s);
    let tags = crate::domain::etag::if_match_tags(value).unwrap_or_default();
    if tags.iter().any(|t| *t == "*" || *t == current) {
        Ok(())
    } else {
        Err(AppError::PreconditionFailed)
    }
}

/// Appends an audit entry about a submission.
pub fn record(
    conn: &mut AnyConnection,
    actor: i64,
    request_id: &str,
    s: &Submission,
    action: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    audit::append(conn, event(actor, request_id, s, action, details))
}

/// An audit entry about a submission, for [`audit::append_all`].
pub fn event<'a>(
    actor: i64,
    request_id: &'a str,
    s: &Submission,
    action: &'a str,
    details: serde_json::Value,
) -> audit::Event<'a> {
    audit::Event {
        actor_user_id: Some(actor),
        action,
        entity_type: "submission",
        entity_id: s.id.to_string(),
        enterprise_id: Some(s.enterprise_id),
        request_id: Some(request_id),
        details,
    }
}

/// One answer as a client writes it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// `true`/`false` (yes/no), 0–4 (maturity), an option id (single choice), option ids
    /// (multiple choice), a number (measured), text (free text), or `null` for not applicable.
    pub value: serde_json::Value,
    /// Required with a `null` value.
    pub not_applicable_reason: Option<String>,
    pub comment: Option<String>,
    /// Evidence of this submission to attach to the criterion.
    pub evidence_ids: Option<Vec<i64>>,
}

/// Validates one answer against its criterion; errors name the criterion.
pub fn check_answer(
    schema: &ResolvedSchema,
    criterion: &str,
    a: &AnswerInput,
) -> Result<(), FieldError> {
    let c = schema
        .criterion(criterion)
        .ok_or_else(|| FieldError::new(criterion, "not a criterion of this submission's schema"))?;
    answers::parse(c, &a.value, a.not_applicable_reason.as_deref())
        .map_err(|e| FieldError::new(criterion, e))?;
    if let Some(comment) = &a.comment
        && comment.chars().count() > answers::MAX_TEXT_CHARS
    {
        return Err(FieldError::new(criterion, "the comment is too long"));
    }
    Ok(())
}

/// Writes checked answers, links their evidence, advances the revision and audits the change,
/// all or nothing. On PostgreSQL the answers, the revision and the audit entry are one
/// statement, which needs no transaction ([`Db::write_autocommit`]); evidence links, when
/// given, follow it in a transaction.
///
/// [`Db::write_autocommit`]: crate::db::Db::write_autocommit
pub fn write_answers(
    conn: &mut AnyConnection,
    s: &Submission,
    user: &AuthUser,
    request_id: &str,
    items: &[(String, AnswerInput)],
) -> AppResult<Submission> {
    let values: Vec<String> = items.iter().map(|(_, a)| a.value.to_string()).collect();
    let writes: Vec<db::AnswerWrite<'_>> = items
        .iter()
        .zip(&values)
        .map(|((criterion, a), value)| db::AnswerWrite {
            criterion_id: criterion,
            value,
            not_applicable_reason: a.not_applicable_reason.as_deref(),
            comment: a.comment.as_deref(),
        })
        .collect();
    let criteria: Vec<&str> = items.iter().map(|(c, _)| c.as_str()).collect();
    let entry = event(
        user.id,
        request_id,
        s,
        "submission.answers_saved",
        serde_json::json!({ "criteria": criteria }),
    );
    if let AnyConnection::Postgresql(_) = conn {
        let links = items.iter().any(|(_, a)| a.evidence_ids.is_some());
        let save = |conn: &mut AnyConnection| {
            let AnyConnection::Postgresql(c) = conn else {
                return Err(AppError::internal("connection changed backend"));
            };
            let entry = audit::PgEntry::new(entry)?;
            let saved =
                db::save_answers_at_once(c, s.id, s.revision, &s.version, user.id, &writes, entry)?
                    .ok_or(AppError::PreconditionFailed)?;
            link_evidence(conn, s, items)?;
            Ok(saved)
        };
        return if links {
            crate::db::write_tx(conn, save)
        } else {
            save(conn)
        };
    }
    let Some(saved) = db::bump_returning(conn, s.id, s.revision)? else {
        return Err(AppError::PreconditionFailed);
    };
    for w in &writes {
        db::upsert_answer(conn, s.id, &s.version, user.id, w)?;
    }
    link_evidence(conn, s, items)?;
    audit::append(conn, entry)?;
    Ok(saved)
}

/// Links the evidence each answer names to its criterion; evidence of another submission is a
/// 422 naming the criterion.
fn link_evidence(
    conn: &mut AnyConnection,
    s: &Submission,
    items: &[(String, AnswerInput)],
) -> AppResult<()> {
    for (criterion, a) in items {
        for id in a.evidence_ids.iter().flatten() {
            match evidence_db::find(conn, *id)? {
                Some(e) if e.submission_id == s.id => {
                    evidence_db::link(conn, e.id, std::slice::from_ref(criterion))?
                }
                _ => {
                    return Err(AppError::Validation(vec![FieldError::new(
                        criterion.as_str(),
                        format!("evidence {id} is not attached to this submission"),
                    )]));
                }
            }
        }
    }
    Ok(())
}
