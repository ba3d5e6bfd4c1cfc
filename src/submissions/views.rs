//! What the submission API shows and takes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use std::collections::BTreeMap;

use super::AnswerInput;
use crate::db::evidence::Evidence;
use crate::db::submissions::Submission;
use crate::domain::SubmissionStatus;
use crate::domain::scoring::Score;
use crate::domain::upgrade::UpgradePlan;
use crate::views::utc;

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
    pub status: SubmissionStatus,
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
    /// Once approved: the certificate issued on this submission, with its status today.
    pub certificate: Option<crate::views::CertificateSummary>,
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

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubmission {
    #[schema(example = "cca-good-enterprise")]
    pub schema_id: String,
    #[schema(example = "2024")]
    pub version: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkAnswers {
    /// Answers by criterion id.
    pub answers: BTreeMap<String, AnswerInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnswersSaved {
    /// The criteria whose answers were saved.
    pub criteria: Vec<String>,
    /// The submission's new revision (its ETag is `"<id>-<revision>"`).
    pub revision: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionSummary {
    pub id: i64,
    pub status: SubmissionStatus,
    pub schema_id: String,
    pub version: String,
    pub revision: i64,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub score_total: Option<f64>,
    pub score_level: Option<String>,
}

impl From<Submission> for SubmissionSummary {
    fn from(s: Submission) -> Self {
        Self {
            id: s.id,
            status: s.status,
            schema_id: s.schema_id,
            version: s.version,
            revision: s.revision,
            created_at: utc(s.created_at),
            submitted_at: s.submitted_at.map(utc),
            score_total: s.score_total,
            score_level: s.score_level,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Upgraded {
    pub plan: UpgradePlan,
    pub submission: SubmissionView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub criterion_id: String,
    /// `answered`, `cleared`, `must_reanswer_on_upgrade` or `dropped_on_upgrade`.
    pub change: String,
    pub value: Option<serde_json::Value>,
    pub not_applicable_reason: Option<String>,
    pub comment: Option<String>,
    pub schema_version: String,
    pub changed_by: i64,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestAnswerInput {
    /// What the files uploaded for the criterion show, or why there are none.
    pub answer: String,
}
