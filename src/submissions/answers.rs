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

/// Evidence ids one answer may name.
pub const MAX_EVIDENCE_PER_ANSWER: usize = 100;

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
    #[schema(max_items = 100)]
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
    if a.evidence_ids
        .as_ref()
        .is_some_and(|ids| ids.len() > MAX_EVIDENCE_PER_ANSWER)
    {
        return Err(FieldError::new(
            criterion,
            format!("at most {MAX_EVIDENCE_PER_ANSWER} evidence ids per answer"),
        ));
    }
    Ok(())
}

/// Writes checked answers, links their evidence ([`evidence_links`], checked before),
/// advances the revision and audits the change, all or nothing: nothing is written unless the
/// submission is still at `s`'s revision and editable (412 otherwise). On PostgreSQL this is
/// one statement, which needs no transaction and reads nothing before it, so it can run again.
pub fn write_linked(
    conn: &mut AnyConnection,
    s: &Submission,
    user: &AuthUser,
    request_id: &str,
    items: &[(String, AnswerInput)],
    links: &[(i64, &str)],
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
    if let AnyConnection::Postgresql(c) = conn {
        let save = db::SaveAt {
            id: s.id,
            revision: s.revision,
            version: &s.version,
            user: user.id,
        };
        return db::save_answers_at_once(c, save, &writes, links, audit::PgEntry::new(entry)?)?
            .ok_or(AppError::PreconditionFailed);
    }
    let Some(saved) = db::bump_returning(conn, s.id, s.revision)? else {
        return Err(AppError::PreconditionFailed);
    };
    for w in &writes {
        db::upsert_answer(conn, s.id, &s.version, user.id, w)?;
    }
    evidence_db::link(conn, links)?;
    audit::append(conn, entry)?;
    Ok(saved)
}

/// The links the answers ask for, each once, as (evidence, criterion): all of the evidence must
/// be this submission's (one query), or the first answer naming other evidence is a 422.
pub fn evidence_links<'a>(
    conn: &mut AnyConnection,
    s: &Submission,
    items: &'a [(String, AnswerInput)],
) -> AppResult<Vec<(i64, &'a str)>> {
    let mut links: Vec<(i64, &str)> = items
        .iter()
        .flat_map(|(c, a)| {
            a.evidence_ids
                .iter()
                .flatten()
                .map(move |e| (*e, c.as_str()))
        })
        .collect();
    if links.is_empty() {
        return Ok(links);
    }
    let mut ids: Vec<i64> = links.iter().map(|(e, _)| *e).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut attached = evidence_db::attached_among(conn, s.id, &ids)?;
    attached.sort_unstable();
    if let Some((id, criterion)) = links
        .iter()
        .find(|(e, _)| attached.binary_search(e).is_err())
    {
        return Err(AppError::Validation(vec![FieldError::new(
            *criterion,
            format!("evidence {id} is not attached to this submission"),
        )]));
    }
    links.sort_unstable();
    links.dedup();
    Ok(links)
}
