//! What the review API shows and takes: the queue, a review with its rounds and verdicts, the
//! reviewer's inputs, and the views built from storage rows.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::certification::PublicCertificate;
use crate::db::AnyConnection;
use crate::db::enterprises::{self, Enterprise};
use crate::db::reviews::{self as db, Review, VerdictRow};
use crate::db::submissions::Submission;
use crate::domain::scoring::Score;
use crate::domain::{ReviewDecision, VerdictKind};
use crate::error::{AppError, AppResult};
use crate::schemas::SchemaCache;
use crate::submissions::{Loaded, SubmissionView, load_without_round};
use crate::views::utc;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// GB/T 4754 code prefix.
    pub industry: Option<String>,
    /// Self-assessed level, e.g. `good`.
    pub level: Option<String>,
    /// Only submissions waiting at least this many days.
    pub min_age_days: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    pub submission_id: i64,
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub region_code: String,
    pub industry_code: String,
    pub schema_id: String,
    pub version: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub self_assessed_total: Option<f64>,
    pub self_assessed_level: Option<String>,
}

impl QueueItem {
    /// A submitted submission as the queue lists it, with its enterprise's name and region.
    pub fn of(s: Submission, enterprise_name: String, region_code: String) -> Self {
        Self {
            submission_id: s.id,
            enterprise_id: s.enterprise_id,
            enterprise_name,
            region_code,
            industry_code: s.industry_code,
            schema_id: s.schema_id,
            version: s.version,
            submitted_at: s.submitted_at.map(utc),
            self_assessed_total: s.score_total,
            self_assessed_level: s.score_level,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictInput {
    /// `accept`, `adjust` or `request_evidence`.
    #[schema(value_type = crate::domain::VerdictKind)]
    pub verdict: String,
    /// With `adjust`: the share of the criterion's weight to give, 0–1.
    pub points: Option<f64>,
    /// Required with `adjust`.
    pub reason: Option<String>,
    /// Required with `request_evidence`.
    pub comment: Option<String>,
}

/// Verdicts on several criteria at once, all or none.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictsInput {
    /// Criterion id → verdict.
    pub verdicts: BTreeMap<String, VerdictInput>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    /// Required when returning or rejecting.
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerdictView {
    pub criterion_id: String,
    pub verdict: VerdictKind,
    pub points: Option<f64>,
    pub reason: Option<String>,
    pub comment: Option<String>,
    pub reviewer_id: i64,
    pub decided_at: DateTime<Utc>,
    /// The reviewer's request for evidence on the criterion in this round, if any, and the
    /// enterprise's answer to it; both stay once the reviewer decides the criterion.
    pub request: Option<String>,
    pub answer: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewRound {
    pub id: i64,
    pub reviewer_id: i64,
    pub claimed_at: DateTime<Utc>,
    pub first_approver_id: Option<i64>,
    /// `null` while the round is open.
    pub decision: Option<ReviewDecision>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub comment: Option<String>,
    pub reviewed_total: Option<f64>,
    pub reviewed_level: Option<String>,
    pub verdicts: Vec<VerdictView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewView {
    pub submission: SubmissionView,
    /// Every review round, oldest first; the last is open while the submission is under review.
    pub rounds: Vec<ReviewRound>,
    /// The score with the current round's verdicts applied (the self-assessed score is in
    /// `submission.score`).
    pub reviewed_score: Score,
    /// Whether approval at the reviewed level needs a second reviewer.
    pub four_eyes_required: bool,
    /// Whether the enterprise's business licence has been checked
    /// (`POST /api/v1/enterprises/{id}/verify`); approval needs it.
    pub enterprise_verified: bool,
    /// Red-line and legal-duty criteria without the reviewer's verdict (accept or adjust) in the
    /// open round: approval waits for each.
    pub verdicts_required: Vec<String>,
    /// What the enterprise changed since the last decided round (it was returned): criteria
    /// whose answer changed or that gained evidence. Answers to evidence requests are in
    /// `submission.evidence_requests`.
    pub changes_since_last_round: Vec<ChangeView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    pub criterion_id: String,
    pub answer_changed: bool,
    pub evidence_added: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalResult {
    pub status: ApprovalStatus,
    pub certificate: Option<PublicCertificate>,
}

/// Where an approval left the submission.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStatus {
    /// The first of two approvals is recorded; a second reviewer decides.
    AwaitingSecondApproval,
    /// Approved: the certificate is issued.
    Approved,
}

fn verdict_view(v: &VerdictRow) -> VerdictView {
    VerdictView {
        criterion_id: v.criterion_id.clone(),
        verdict: v.verdict,
        points: v.fraction,
        reason: v.reason.clone(),
        comment: v.comment.clone(),
        reviewer_id: v.reviewer_id,
        decided_at: utc(v.decided_at),
        request: v.request.clone(),
        answer: v.answer.clone(),
        answered_at: v.answered_at.map(utc),
    }
}

/// The review of `s` as its reviewer and its enterprise see it.
pub(super) fn review_view(
    conn: &mut AnyConnection,
    schemas: &SchemaCache,
    s: Submission,
) -> AppResult<ReviewView> {
    let e = enterprises::find(conn, s.enterprise_id)?.ok_or(AppError::NotFound)?;
    review_view_of(conn, schemas, s, &e)
}

/// [`review_view`] of a submission of enterprise `e`, read in this transaction.
pub(super) fn review_view_of(
    conn: &mut AnyConnection,
    schemas: &SchemaCache,
    s: Submission,
    e: &Enterprise,
) -> AppResult<ReviewView> {
    let loaded = load_without_round(conn, schemas, s)?;
    view_of(conn, loaded, e)
}

/// [`review_view`] of `loaded`, of enterprise `e`, whose answers, evidence and status have not
/// changed since it was loaded in this transaction: the rounds and their verdicts are read
/// here, and the latest round's become the loaded round while its status shows one (whether
/// it was loaded with them or not).
pub(super) fn view_of(
    conn: &mut AnyConnection,
    mut loaded: Loaded,
    e: &Enterprise,
) -> AppResult<ReviewView> {
    let rounds = db::all_of(conn, loaded.submission.id)?;
    let mut views = Vec::with_capacity(rounds.len());
    let mut last_verdicts = Vec::new();
    for r in &rounds {
        last_verdicts = db::verdicts_of(conn, r.id)?;
        views.push(round_view(r, &last_verdicts));
    }
    if loaded.submission.status.shows_round() {
        loaded.round = last_verdicts.clone();
    }
    // The reviewed score is the latest round's (the open one while under review).
    let reviewed_score = loaded.reviewed_score(&last_verdicts);
    let four_eyes_required = loaded.schema.four_eyes(&reviewed_score.level);
    let enterprise_verified = e.verified_at.is_some();
    let open = rounds.last().is_some_and(|r| r.decision.is_none());
    let verdicts_required = if open {
        loaded
            .verdicts_required(&last_verdicts)
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    } else {
        Vec::new()
    };
    let since = rounds.iter().rev().find_map(|r| r.decided_at);
    let changes_since_last_round = match since {
        Some(t) => changes_since(conn, &loaded, t)?,
        None => Vec::new(),
    };
    Ok(ReviewView {
        submission: loaded.view(),
        rounds: views,
        reviewed_score,
        four_eyes_required,
        enterprise_verified,
        verdicts_required,
        changes_since_last_round,
    })
}

/// Criteria whose answer changed or that gained evidence after `since`, in schema order.
fn changes_since(
    conn: &mut AnyConnection,
    loaded: &Loaded,
    since: chrono::NaiveDateTime,
) -> AppResult<Vec<ChangeView>> {
    let answered: HashSet<String> = db::answers_changed_since(conn, loaded.submission.id, since)?
        .into_iter()
        .collect();
    let new_files: HashSet<i64> = loaded
        .evidence
        .iter()
        .filter(|e| e.created_at > since)
        .map(|e| e.id)
        .collect();
    Ok(loaded
        .schema
        .criteria
        .iter()
        .filter_map(|c| {
            let evidence_added: Vec<i64> = loaded
                .links
                .iter()
                .filter(|(id, crit)| *crit == c.id && new_files.contains(id))
                .map(|(id, _)| *id)
                .collect();
            let answer_changed = answered.contains(&c.id);
            (answer_changed || !evidence_added.is_empty()).then(|| ChangeView {
                criterion_id: c.id.clone(),
                answer_changed,
                evidence_added,
            })
        })
        .collect())
}

fn round_view(r: &Review, verdicts: &[VerdictRow]) -> ReviewRound {
    ReviewRound {
        id: r.id,
        reviewer_id: r.reviewer_id,
        claimed_at: utc(r.claimed_at),
        first_approver_id: r.first_approver_id,
        decision: r.decision(),
        decided_by: r.decided_by,
        decided_at: r.decided_at.map(utc),
        comment: r.comment.clone(),
        reviewed_total: r.reviewed_total,
        reviewed_level: r.reviewed_level.clone(),
        verdicts: verdicts.iter().map(verdict_view).collect(),
    }
}
