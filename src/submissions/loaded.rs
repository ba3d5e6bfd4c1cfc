//! A submission loaded with its answers, evidence, resolved schema and the open round's
//! verdicts: what its view, completeness and scores are computed from.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::auth::AuthUser;
use crate::db::AnyConnection;
use crate::db::evidence::{self as evidence_db, Evidence};
use crate::db::reviews::{self as db_reviews, VerdictRow};
use crate::db::submissions::{self as db, AnswerRow, Submission};
use crate::domain::scoring::{self, Answer, Score, Verdict};
use crate::domain::{SubmissionStatus, VerdictKind, answers};
use crate::error::AppResult;
use crate::schemas::{ResolvedSchema, SchemaCache};
use crate::scope::load_visible;

use super::{AnswerView, EvidenceRequestView, SubmissionView, evidence_views};
use crate::views::utc;

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
    /// returned (the enterprise's open evidence requests are among them); empty after
    /// [`load_without_round`].
    pub round: Vec<VerdictRow>,
    /// The certificate issued on an approved submission.
    pub certificate: Option<crate::db::certificates::Certificate>,
}

pub fn load(conn: &mut AnyConnection, cache: &SchemaCache, s: Submission) -> AppResult<Loaded> {
    let mut loaded = load_without_round(conn, cache, s)?;
    if loaded.submission.status.shows_round()
        && let Some(r) = db_reviews::latest(conn, loaded.submission.id)?
    {
        loaded.round = db_reviews::verdicts_of(conn, r.id)?;
    }
    Ok(loaded)
}

/// [`load`] without the latest round's verdicts (`round` is empty), for a caller that reads
/// the rounds itself.
pub fn load_without_round(
    conn: &mut AnyConnection,
    cache: &SchemaCache,
    s: Submission,
) -> AppResult<Loaded> {
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
    let certificate = match s.status {
        SubmissionStatus::Approved => crate::db::certificates::of_submission(conn, s.id)?,
        _ => None,
    };
    Ok(Loaded {
        round: Vec::new(),
        certificate,
        evidence: evidence_db::of_submission(conn, s.id)?,
        with_evidence: links.iter().map(|(_, c)| c.clone()).collect(),
        engine_answers,
        answers,
        links,
        submission: s,
        schema,
    })
}

/// The reviewer's verdicts as the scoring engine takes them.
pub fn engine_verdicts(rows: &[VerdictRow]) -> HashMap<String, Verdict> {
    rows.iter()
        .map(|v| (v.criterion_id.clone(), v.verdict.verdict(v.fraction)))
        .collect()
}

impl Loaded {
    /// This load once its submission is submitted, `row` being the submission re-read: the
    /// answers and evidence are those loaded before (submitting changes neither), and a
    /// submitted submission shows no review round (a returned one's closes) and no certificate,
    /// so nothing needs reading again (and the round was never needed: [`load_without_round`]
    /// suffices).
    pub fn submitted(self, row: Submission) -> Loaded {
        debug_assert!(!row.status.shows_round() && row.status != SubmissionStatus::Approved);
        Loaded {
            submission: row,
            round: Vec::new(),
            certificate: None,
            ..self
        }
    }

    /// Red-line and legal-duty criteria the reviewer has not yet decided (accepted or adjusted)
    /// in a round with `verdicts`, with whether each is a red line: approval waits for every one.
    pub fn verdicts_required(&self, verdicts: &[VerdictRow]) -> Vec<(String, bool)> {
        scoring::verdicts_required(&self.schema.criteria, &engine_verdicts(verdicts))
    }

    /// The approval rules ([`scoring::approval`]) with a round's verdicts.
    pub fn approval(&self, verdicts: &[VerdictRow]) -> Result<Score, scoring::Refusal> {
        let r = &self.schema.resolved;
        scoring::approval(
            &r.themes,
            &self.schema.criteria,
            &r.levels,
            &self.engine_answers,
            &self.with_evidence,
            &engine_verdicts(verdicts),
        )
    }

    /// The score with the reviewer's verdicts applied, by the same engine as the
    /// self-assessment.
    pub fn reviewed_score(&self, verdicts: &[VerdictRow]) -> Score {
        let r = &self.schema.resolved;
        scoring::score_reviewed(
            &r.themes,
            &self.schema.criteria,
            &r.levels,
            &self.engine_answers,
            &self.with_evidence,
            &engine_verdicts(verdicts),
        )
    }

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
            status: s.status,
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
            certificate: self.certificate.as_ref().map(Into::into),
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
                    open: v.verdict == VerdictKind::RequestEvidence,
                    answer: v.answer.clone(),
                    answered_at: v.answered_at.map(utc),
                    evidence_ids,
                })
            })
            .collect()
    }
}
