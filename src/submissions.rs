//! Self-assessment submissions: the resolved schema each one is answered against, answer
//! writes under optimistic concurrency, completeness, scoring, the state machine and upgrades
//! to a newer schema version.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use actix_web::http::header;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::evidence::{self as evidence_db, Evidence};
use crate::db::reviews::{self as db_reviews, VerdictRow};
use crate::db::submissions::{self as db, AnswerRow, Submission};
use crate::db::{AnyConnection, audit, schema_versions};
use crate::domain::schema::{self, Criterion, Resolved, SchemaDoc, Status};
use crate::domain::scoring::{self, Answer, Score};
use crate::domain::{IndustryCode, Role, answers};
use crate::error::{AppError, AppResult, FieldError};
use crate::views::utc;

/// Submission states (DOMAIN.md §7).
pub mod state {
    pub const DRAFT: &str = "draft";
    pub const SUBMITTED: &str = "submitted";
    pub const UNDER_REVIEW: &str = "under_review";
    pub const APPROVED: &str = "approved";
    pub const RETURNED: &str = "returned";
    pub const REJECTED: &str = "rejected";
    pub const WITHDRAWN: &str = "withdrawn";

    /// States in which the enterprise may change answers and evidence.
    pub fn editable(s: &str) -> bool {
        s == DRAFT || s == RETURNED
    }
}

/// A schema version resolved for one industry, indexed by criterion id. Immutable: keyed by the
/// version's content hash, so it can be cached by any instance.
#[derive(Debug)]
pub struct ResolvedSchema {
    pub resolved: Resolved,
    pub criteria: Vec<Criterion>,
    index: HashMap<String, usize>,
}

impl ResolvedSchema {
    fn new(resolved: Resolved) -> Self {
        let criteria: Vec<Criterion> = resolved
            .criteria
            .iter()
            .map(|c| c.criterion.clone())
            .collect();
        let index = criteria
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        Self {
            resolved,
            criteria,
            index,
        }
    }

    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.index.get(id).map(|i| &self.criteria[*i])
    }
}

/// Resolved schemas by (content hash, industry code).
#[derive(Default)]
pub struct SchemaCache(Mutex<HashMap<(String, String), Arc<ResolvedSchema>>>);

impl SchemaCache {
    /// Resolves a published or retired version for an industry, reading it once.
    pub fn get(
        &self,
        conn: &mut AnyConnection,
        schema_id: &str,
        version: &str,
        hash: Option<&str>,
        industry: &str,
    ) -> AppResult<Arc<ResolvedSchema>> {
        if let Some(hash) = hash
            && let Ok(map) = self.0.lock()
            && let Some(found) = map.get(&(hash.to_owned(), industry.to_owned()))
        {
            return Ok(found.clone());
        }
        let row = schema_versions::find(conn, schema_id, version)?
            .filter(|r| r.status() != Status::Draft)
            .ok_or(AppError::NotFound)?;
        let doc = row.doc()?;
        let code = IndustryCode::parse(industry).map_err(AppError::internal)?;
        let resolved = Arc::new(ResolvedSchema::new(schema::resolve(&doc, Some(&code))));
        if let Ok(mut map) = self.0.lock() {
            map.insert((row.content_hash, industry.to_owned()), resolved.clone());
        }
        Ok(resolved)
    }
}

impl SchemaCache {
    /// The resolved schema a submission is answered against.
    pub fn of(&self, conn: &mut AnyConnection, s: &Submission) -> AppResult<Arc<ResolvedSchema>> {
        self.get(
            conn,
            &s.schema_id,
            &s.version,
            Some(&s.schema_hash),
            &s.industry_code,
        )
    }
}

/// The strong ETag of a submission's current revision.
pub fn etag(s: &Submission) -> String {
    format!("\"{}-{}\"", s.id, s.revision)
}

/// Checks an `If-Match` header against the submission: missing is 428, a different tag 412.
pub fn check_precondition(if_match: Option<&header::HeaderValue>, s: &Submission) -> AppResult<()> {
    let Some(value) = if_match else {
        return Err(AppError::PreconditionRequired);
    };
    let value = value.to_str().map_err(|_| AppError::PreconditionFailed)?;
    let current = etag(s);
    if value
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == current)
    {
        Ok(())
    } else {
        Err(AppError::PreconditionFailed)
    }
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
            s.status != state::DRAFT
                && s.status != state::WITHDRAWN
                && match crate::db::enterprises::find(conn, s.enterprise_id)? {
                    Some(e) => crate::certification::reviewer_may_act(conn, user, &e).is_ok(),
                    None => false,
                }
        }
        Role::IndustryBody => false,
    };
    if visible {
        Ok(s)
    } else {
        Err(AppError::NotFound)
    }
}

/// Loads a submission the caller may edit: its enterprise's users, in an editable state.
pub fn load_editable(conn: &mut AnyConnection, user: &AuthUser, id: i64) -> AppResult<Submission> {
    let s = load_visible(conn, user, id)?;
    if !user.belongs_to(s.enterprise_id) {
        return Err(AppError::Forbidden(
            "only the enterprise's users edit its submissions".into(),
        ));
    }
    if !state::editable(&s.status) {
        return Err(AppError::Conflict(
            "not_editable",
            format!("a {} submission cannot be changed", s.status),
        ));
    }
    Ok(s)
}

/// A submission the caller may add evidence to: an editable one (`None`), or one under review
/// for the criteria the reviewer asked evidence for in the open round (`Some(those ids)`).
pub fn load_for_evidence(
    conn: &mut AnyConnection,
    user: &AuthUser,
    id: i64,
) -> AppResult<(Submission, Option<Vec<String>>)> {
    let s = load_visible(conn, user, id)?;
    if s.status != state::UNDER_REVIEW {
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
            .filter(|v| v.verdict == "request_evidence")
            .map(|v| v.criterion_id)
            .collect(),
        None => Vec::new(),
    };
    if requested.is_empty() {
        return Err(AppError::Conflict(
            "not_editable",
            "a submission under review takes evidence only for criteria the reviewer asked \
             evidence for"
                .into(),
        ));
    }
    Ok((s, Some(requested)))
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
    audit::append(
        conn,
        audit::Event {
            actor_user_id: Some(actor),
            action,
            entity_type: "submission",
            entity_id: s.id.to_string(),
            enterprise_id: Some(s.enterprise_id),
            request_id: Some(request_id),
            details,
        },
    )
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

/// Writes checked answers, links their evidence, advances the revision and audits the change.
pub fn write_answers(
    conn: &mut AnyConnection,
    s: &Submission,
    user: &AuthUser,
    request_id: &str,
    items: &[(String, AnswerInput)],
) -> AppResult<Submission> {
    if !db::bump(conn, s.id, s.revision)? {
        return Err(AppError::PreconditionFailed);
    }
    for (criterion, a) in items {
        let value = a.value.to_string();
        db::upsert_answer(
            conn,
            s.id,
            &s.version,
            user.id,
            &db::AnswerWrite {
                criterion_id: criterion,
                value: &value,
                not_applicable_reason: a.not_applicable_reason.as_deref(),
                comment: a.comment.as_deref(),
            },
        )?;
        if let Some(ids) = &a.evidence_ids {
            for id in ids {
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
    }
    let criteria: Vec<&str> = items.iter().map(|(c, _)| c.as_str()).collect();
    record(
        conn,
        user.id,
        request_id,
        s,
        "submission.answers_saved",
        serde_json::json!({ "criteria": criteria }),
    )?;
    db::find(conn, s.id)?.ok_or(AppError::NotFound)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnswerView {
    pub value: serde_json::Value,
    pub not_applicable_reason: Option<String>,
    pub comment: Option<String>,
    pub evidence_ids: Vec<i64>,
    pub updated_by: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceView {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub criteria: Vec<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SubmissionView {
    pub id: i64,
    pub enterprise_id: i64,
    pub status: String,
    pub schema_id: String,
    pub version: String,
    /// Content hash of the schema version answered.
    pub schema_hash: String,
    pub industry_code: String,
    /// The industry profile applied, if any.
    pub profile_id: Option<String>,
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub answers: BTreeMap<String, AnswerView>,
    /// Applicable criteria without an answer.
    pub missing: Vec<String>,
    /// Answered criteria that require evidence and have none.
    pub lacking_evidence: Vec<String>,
    pub complete: bool,
    /// Live score of the current answers.
    pub score: Score,
    pub evidence: Vec<EvidenceView>,
    /// The reviewer's requests for evidence in the latest review round, answered or not: while
    /// the submission is under review or returned, the enterprise answers each with files for
    /// the criterion and a comment (`POST …/evidence-requests/{criterion}/answer`).
    pub evidence_requests: Vec<EvidenceRequestView>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceRequestView {
    pub criterion_id: String,
    /// What the reviewer asked for.
    pub request: String,
    pub requested_at: DateTime<Utc>,
    /// Whether the reviewer still asks (false once they accepted or adjusted the criterion).
    pub open: bool,
    /// The enterprise's answer.
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    /// Evidence files for the criterion uploaded since the request.
    pub evidence_ids: Vec<i64>,
}

impl SubmissionView {
    /// The strong ETag of the revision shown.
    pub fn etag(&self) -> String {
        format!("\"{}-{}\"", self.id, self.revision)
    }
}

/// The view of a submission the caller may see.
pub fn visible_view(
    conn: &mut AnyConnection,
    cache: &SchemaCache,
    user: &AuthUser,
    id: i64,
) -> AppResult<SubmissionView> {
    let s = load_visible(conn, user, id)?;
    Ok(load(conn, cache, s)?.view())
}

/// Everything the view, completeness and score are computed from.
pub struct Loaded {
    pub submission: Submission,
    pub answers: Vec<AnswerRow>,
    pub evidence: Vec<Evidence>,
    pub links: Vec<(i64, String)>,
    pub schema: Arc<ResolvedSchema>,
    /// The stored answers as the scoring engine takes them, parsed once.
    pub engine_answers: HashMap<String, Answer>,
    /// Criteria with evidence attached.
    pub with_evidence: HashSet<String>,
    /// The verdicts of the latest review round, while the submission is under review or
    /// returned (the enterprise's open evidence requests are among them).
    pub round: Vec<VerdictRow>,
}

pub fn load(conn: &mut AnyConnection, cache: &SchemaCache, s: Submission) -> AppResult<Loaded> {
    let schema = cache.of(conn, &s)?;
    let answers = db::answers_of(conn, s.id)?;
    let links = evidence_db::links_of(conn, s.id)?;
    let engine_answers = answers
        .iter()
        .filter_map(|a| {
            let c = schema.criterion(&a.criterion_id)?;
            let value: serde_json::Value = serde_json::from_str(&a.value).ok()?;
            answers::parse(c, &value, a.not_applicable_reason.as_deref())
                .ok()
                .map(|ans| (a.criterion_id.clone(), ans))
        })
        .collect();
    let round = match db_reviews::latest(conn, s.id)? {
        Some(r) if s.status == state::UNDER_REVIEW || s.status == state::RETURNED => {
            db_reviews::verdicts_of(conn, r.id)?
        }
        _ => Vec::new(),
    };
    Ok(Loaded {
        round,
        evidence: evidence_db::of_submission(conn, s.id)?,
        with_evidence: links.iter().map(|(_, c)| c.clone()).collect(),
        engine_answers,
        answers,
        links,
        submission: s,
        schema,
    })
}

impl Loaded {
    pub fn score(&self) -> Score {
        let r = &self.schema.resolved;
        scoring::score(
            &r.themes,
            &self.schema.criteria,
            &r.levels,
            &self.engine_answers,
            &self.with_evidence,
        )
    }

    /// (unanswered applicable criteria, answered criteria lacking required evidence).
    pub fn completeness(&self) -> (Vec<String>, Vec<String>) {
        let (answers, evidence) = (&self.engine_answers, &self.with_evidence);
        let mut missing = Vec::new();
        let mut lacking = Vec::new();
        for c in self.schema.criteria.iter().filter(|c| c.kind.is_scored()) {
            match answers.get(&c.id) {
                None => missing.push(c.id.clone()),
                Some(Answer::NotApplicable) => {}
                Some(Answer::Given(_)) => {
                    if c.evidence_required() && !evidence.contains(&c.id) {
                        lacking.push(c.id.clone());
                    }
                }
            }
        }
        (missing, lacking)
    }

    pub fn view(&self) -> SubmissionView {
        let s = &self.submission;
        let mut evidence_of: HashMap<&str, Vec<i64>> = HashMap::new();
        for (e, c) in &self.links {
            evidence_of.entry(c.as_str()).or_default().push(*e);
        }
        let answers = self
            .answers
            .iter()
            .map(|a| {
                (
                    a.criterion_id.clone(),
                    AnswerView {
                        value: serde_json::from_str(&a.value).unwrap_or(serde_json::Value::Null),
                        not_applicable_reason: a.not_applicable_reason.clone(),
                        comment: a.comment.clone(),
                        evidence_ids: evidence_of
                            .get(a.criterion_id.as_str())
                            .cloned()
                            .unwrap_or_default(),
                        updated_by: a.updated_by,
                        updated_at: utc(a.updated_at),
                    },
                )
            })
            .collect();
        let (missing, lacking_evidence) = self.completeness();
        SubmissionView {
            id: s.id,
            enterprise_id: s.enterprise_id,
            status: s.status.clone(),
            schema_id: s.schema_id.clone(),
            version: s.version.clone(),
            schema_hash: s.schema_hash.clone(),
            industry_code: s.industry_code.clone(),
            profile_id: s.profile_id.clone(),
            revision: s.revision,
            created_at: utc(s.created_at),
            updated_at: utc(s.updated_at),
            submitted_at: s.submitted_at.map(utc),
            answers,
            complete: missing.is_empty() && lacking_evidence.is_empty(),
            missing,
            lacking_evidence,
            score: self.score(),
            evidence: evidence_views(&self.evidence, &self.links),
            evidence_requests: self.evidence_requests(),
        }
    }

    /// Requests for evidence in the latest round, with the files uploaded for each since.
    fn evidence_requests(&self) -> Vec<EvidenceRequestView> {
        self.round
            .iter()
            .filter_map(|v| {
                let (request, since) = (v.request.clone()?, v.requested_at?);
                let evidence_ids = self
                    .links
                    .iter()
                    .filter(|(_, c)| *c == v.criterion_id)
                    .filter_map(|(id, _)| self.evidence.iter().find(|e| e.id == *id))
                    .filter(|e| e.created_at >= since)
                    .map(|e| e.id)
                    .collect();
                Some(EvidenceRequestView {
                    criterion_id: v.criterion_id.clone(),
                    request,
                    requested_at: utc(since),
                    open: v.verdict == "request_evidence",
                    answer: v.answer.clone(),
                    answered_at: v.answered_at.map(utc),
                    evidence_ids,
                })
            })
            .collect()
    }
}

impl EvidenceView {
    pub fn of(e: &Evidence, criteria: Vec<String>) -> Self {
        Self {
            id: e.id,
            filename: e.filename.clone(),
            content_type: e.content_type.clone(),
            size_bytes: e.size_bytes,
            sha256: e.sha256.clone(),
            criteria,
            created_at: utc(e.created_at),
        }
    }
}

/// Evidence files with the criteria each supports.
pub fn evidence_views(evidence: &[Evidence], links: &[(i64, String)]) -> Vec<EvidenceView> {
    evidence
        .iter()
        .map(|e| {
            let criteria = links
                .iter()
                .filter(|(id, _)| *id == e.id)
                .map(|(_, c)| c.clone())
                .collect();
            EvidenceView::of(e, criteria)
        })
        .collect()
}

/// What happens to each answer when a draft moves to a newer schema version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct UpgradePlan {
    pub from: String,
    pub to: String,
    /// Answers kept, under the criterion's id in the new version.
    pub carried_over: Vec<Carried>,
    /// Criteria whose answer rules changed: the old answer moved to the history.
    pub must_reanswer: Vec<String>,
    /// New criteria to answer.
    pub added: Vec<String>,
    /// Criteria the new version no longer has: their answers stay in the history.
    pub dropped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Carried {
    pub from: String,
    pub to: String,
}

/// The chain of versions from `from` to `to` following predecessors, oldest first.
pub fn version_chain(docs: &[SchemaDoc], from: &str, to: &str) -> Option<Vec<SchemaDoc>> {
    let mut chain = Vec::new();
    let mut current = docs.iter().find(|d| d.version == to)?.clone();
    loop {
        let prev = current.predecessor.clone();
        let done = current.version == from;
        chain.push(current);
        if done {
            break;
        }
        current = docs
            .iter()
            .find(|d| Some(&d.version) == prev.as_ref())?
            .clone();
    }
    chain.reverse();
    Some(chain)
}

/// Plans an upgrade across a chain of versions for the criteria the old and new resolved
/// schemas contain.
pub fn plan_upgrade(
    chain: &[SchemaDoc],
    old: &ResolvedSchema,
    new: &ResolvedSchema,
    answered: &[String],
) -> UpgradePlan {
    // Follow each old id through every step: renamed, kept, or gone; and note rule changes.
    let mut mapping: HashMap<String, (Option<String>, bool)> = old
        .criteria
        .iter()
        .map(|c| (c.id.clone(), (Some(c.id.clone()), false)))
        .collect();
    for pair in chain.windows(2) {
        let d = schema::diff(&pair[0], &pair[1]);
        for (current, changed) in mapping.values_mut() {
            let Some(id) = current.clone() else { continue };
            if let Some(r) = d.renamed.iter().find(|r| r.from == id) {
                *current = Some(r.to.clone());
            } else if d.removed.contains(&id) {
                *current = None;
            }
            if let Some(now) = current
                && d.rules_changed.contains(now)
            {
                *changed = true;
            }
        }
    }
    let mut plan = UpgradePlan {
        from: chain.first().map(|d| d.version.clone()).unwrap_or_default(),
        to: chain.last().map(|d| d.version.clone()).unwrap_or_default(),
        ..UpgradePlan::default()
    };
    let mut reached = HashSet::new();
    for old_id in answered {
        match mapping.get(old_id) {
            Some((Some(new_id), changed)) if new.criterion(new_id).is_some() => {
                reached.insert(new_id.clone());
                if *changed {
                    plan.must_reanswer.push(new_id.clone());
                } else {
                    plan.carried_over.push(Carried {
                        from: old_id.clone(),
                        to: new_id.clone(),
                    });
                }
            }
            _ => plan.dropped.push(old_id.clone()),
        }
    }
    for c in &new.criteria {
        let mapped = mapping
            .values()
            .any(|(id, _)| id.as_deref() == Some(c.id.as_str()));
        if !mapped && !reached.contains(&c.id) {
            plan.added.push(c.id.clone());
        }
    }
    plan
}
