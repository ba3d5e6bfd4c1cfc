//! The approval that certifies: the approval rules (no open evidence request, every red line and
//! legal duty decided and met, a level reached), the four-eyes rule, and the certificate issued
//! in the same transaction.

use super::{
    ApprovalResult, ApprovalStatus, apply, decided_meanwhile, not_under_review, reviewable_locked,
};
use crate::auth::{AuthUser, roles};
use crate::certification;
use crate::db::certificates::Certificate;
use crate::db::reviews::{self as db, VerdictRow};
use crate::db::{AnyConnection, audit};
use crate::domain::review::{ApprovalStep, FourEyesRefusal, approval_step};
use crate::domain::scoring::Refusal;
use crate::domain::submission::Move;
use crate::domain::webhook::EventType;
use crate::domain::{ReviewDecision, SubmissionStatus};
use crate::error::{AppError, AppResult, Code, FieldError};
use crate::idempotency::{self, Keyed, Outcome};
use crate::state::AppState;
use crate::submissions::{event, load_without_round, record};
use crate::webhooks;

/// What an approval did.
pub enum Approval {
    /// The first of two approvals is recorded.
    Pending,
    /// The submission is approved and this certificate issued.
    Issued(Box<Certificate>),
}

impl Approval {
    /// The status and body an approval is answered with: 202 while a second approval is
    /// awaited, 200 with the certificate once issued.
    pub fn result(&self, jwks: &crate::auth::signing::Jwks) -> AppResult<(u16, ApprovalResult)> {
        Ok(match self {
            Approval::Pending => (
                202,
                ApprovalResult {
                    status: ApprovalStatus::AwaitingSecondApproval,
                    certificate: None,
                },
            ),
            Approval::Issued(c) => (
                200,
                ApprovalResult {
                    status: ApprovalStatus::Approved,
                    certificate: Some(certification::public_view(c, jwks)?),
                },
            ),
        })
    }
}

/// Approves: the certificate is issued in the same transaction. At levels the schema version
/// marks for four-eyes review, the claimant's approval waits for a second reviewer's. Two
/// approvals of different submissions may draw the same certificate number: the loser retries.
/// With an idempotency key, a retried approval is answered with the first response.
pub async fn approve(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    comment: Option<String>,
    key: Option<String>,
) -> AppResult<Outcome<Approval>> {
    user.require(roles::REVIEWER)?;
    let keyed = key.map(|key| Keyed {
        user_id: user.id,
        operation: "approveReview",
        key,
        request_hash: crate::domain::canonical::sha256_hex(
            serde_json::json!({ "submission": id, "comment": comment })
                .to_string()
                .as_bytes(),
        ),
    });
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (schemas, keys, issuer) = (
            state.schemas.clone(),
            state.signing.clone(),
            state.settings.issuer(),
        );
        let (user, request_id, comment) = (user.clone(), request_id.clone(), comment.clone());
        let keyed_w = keyed.clone();
        let result = state
            .db
            .write(move |conn| {
                if let Some(k) = &keyed_w
                    && let Some(replay) = idempotency::recall(conn, k)?
                {
                    return Ok(Outcome::Replayed(replay));
                }
                let ctx = Approver {
                    schemas: &schemas,
                    keys: &keys,
                    issuer: &issuer,
                    user: &user,
                    request_id: &request_id,
                };
                let approval = ctx.approve(conn, id, comment.as_deref())?;
                if let Some(k) = &keyed_w {
                    let (status, body) = approval.result(&keys.jwks())?;
                    idempotency::keep(conn, k, status, &body, None, None)?;
                }
                Ok(Outcome::Done(approval))
            })
            .await;
        match result {
            Err(AppError::Conflict {
                code: Code::CertificateNumberTaken,
                ..
            }) if attempt < 3 => continue,
            Err(AppError::Conflict {
                code: Code::CertificateNumberTaken,
                detail,
            }) => return Err(AppError::conflict(Code::AlreadyExists, detail)),
            other => return idempotency::or_replay(state, other, keyed.as_ref()).await,
        }
    }
}

/// Everything an approval needs beside the transaction.
struct Approver<'a> {
    schemas: &'a crate::schemas::SchemaCache,
    keys: &'a crate::auth::signing::ServiceKeys,
    issuer: &'a crate::domain::schema::Text,
    user: &'a AuthUser,
    request_id: &'a str,
}

impl Approver<'_> {
    fn approve(
        &self,
        conn: &mut AnyConnection,
        id: i64,
        comment: Option<&str>,
    ) -> AppResult<Approval> {
        let (user, rid) = (self.user, self.request_id);
        let (s, enterprise) = reviewable_locked(conn, user, id)?;
        let r = db::current(conn, id)?
            .filter(|_| s.status == SubmissionStatus::UnderReview)
            .ok_or_else(|| not_under_review(&s))?;
        if enterprise.verified_at.is_none() {
            return Err(AppError::conflict(
                Code::EnterpriseUnverified,
                format!(
                    "the enterprise's business licence has not been checked against its credit \
                     code: POST /api/v1/enterprises/{}/verify first",
                    s.enterprise_id
                ),
            ));
        }
        let loaded = load_without_round(conn, self.schemas, s.clone())?;
        let verdicts = &db::verdicts_of(conn, r.id)?;
        let score = loaded
            .approval(verdicts)
            .map_err(|r| refusal(r, verdicts))?;
        let two_needed = loaded.schema.four_eyes(&score.level);
        match approval_step(two_needed, r.reviewer_id, r.first_approver_id, user.id) {
            Err(FourEyesRefusal::NotClaimant) => {
                return Err(AppError::conflict(
                    Code::ClaimedByAnother,
                    "the reviewer who claimed it approves first".into(),
                ));
            }
            Err(FourEyesRefusal::SecondApproverRequired) => {
                return Err(AppError::conflict(
                    Code::SecondApproverRequired,
                    "a second reviewer must approve this level".into(),
                ));
            }
            Ok(ApprovalStep::First) => {
                if !db::set_first_approval(conn, r.id, user.id)? {
                    return Err(AppError::conflict(
                        Code::AlreadyApproved,
                        "the first approval is already recorded".into(),
                    ));
                }
                record(
                    conn,
                    user.id,
                    rid,
                    &s,
                    "review.first_approval",
                    serde_json::json!({ "total": score.total, "level": score.level }),
                )?;
                return Ok(Approval::Pending);
            }
            Ok(ApprovalStep::Final) => {}
        }
        // Exactly one approval wins, on any number of instances: the status moves only once,
        // and a submission has at most one certificate.
        if !apply(conn, &s, Move::Approve)? {
            return Err(decided_meanwhile());
        }
        db::decide(
            conn,
            r.id,
            ReviewDecision::Approved,
            user.id,
            comment,
            Some(score.total),
            Some(&score.level),
        )?;
        let c = certification::issue(
            conn,
            self.keys,
            self.issuer,
            certification::Approved {
                submission: &s,
                enterprise: &enterprise,
                schema: &loaded.schema,
                score: &score,
            },
            user.id,
        )
        .map_err(|e| match e {
            AppError::Conflict {
                code: Code::AlreadyExists,
                detail,
            } => AppError::conflict(Code::CertificateNumberTaken, detail),
            e => e,
        })?;
        webhooks::emit_all(
            conn,
            vec![
                webhooks::submission_event(
                    EventType::SubmissionApproved,
                    &s,
                    serde_json::json!({
                        "status": SubmissionStatus::Approved, "comment": comment,
                        "certificate": c.number,
                    }),
                ),
                webhooks::certificate_event(
                    EventType::CertificateIssued,
                    &c,
                    &s.industry_code,
                    None,
                ),
            ],
        )?;
        // The audit entries last: on PostgreSQL the first takes the chain's lock, held until
        // the commit, and every other write waits while this one holds it.
        audit::append_all(
            conn,
            vec![
                event(
                    user.id,
                    rid,
                    &s,
                    "review.approved",
                    serde_json::json!({
                        "total": score.total, "level": score.level, "certificate": c.number,
                    }),
                ),
                audit::Event {
                    actor_user_id: Some(user.id),
                    action: "certificate.issued",
                    entity_type: "certificate",
                    entity_id: c.number.clone(),
                    enterprise_id: Some(s.enterprise_id),
                    request_id: Some(rid),
                    details: serde_json::json!({
                        "submission_id": s.id, "level": c.level, "expires_on": c.expires_on,
                    }),
                },
            ],
        )?;
        Ok(Approval::Issued(Box::new(c)))
    }
}

/// The approval rules' refusal as a problem naming each criterion.
fn refusal(r: Refusal, verdicts: &[VerdictRow]) -> AppError {
    match r {
        Refusal::EvidenceRequested(ids) => AppError::unprocessable(
            Code::EvidenceRequested,
            "evidence was asked for: wait for the enterprise's answer (or return the \
             submission), then decide those criteria"
                .into(),
            ids.iter()
                .map(|id| {
                    let answered = verdicts
                        .iter()
                        .any(|v| v.criterion_id == *id && v.answer.is_some());
                    let why = if answered {
                        "the enterprise answered: accept or adjust the criterion"
                    } else {
                        "evidence requested and not answered yet"
                    };
                    FieldError::new(format!("verdicts/{id}"), why)
                })
                .collect(),
        ),
        Refusal::NotCertifiable {
            score,
            red_lines,
            duties,
        } => {
            let blocking = red_lines
                .iter()
                .map(|id| FieldError::new(format!("criteria/{id}"), "red line not met"))
                .chain(
                    duties
                        .iter()
                        .map(|id| FieldError::new(format!("criteria/{id}"), "legal duty not met")),
                )
                .collect::<Vec<_>>();
            AppError::unprocessable(
                Code::NotCertifiable,
                format!(
                    "the reviewed score {} reaches no level{}; reject or return it instead",
                    score.total,
                    if blocking.is_empty() {
                        ""
                    } else {
                        ": red lines or legal duties are not met"
                    }
                ),
                blocking,
            )
        }
        Refusal::VerdictsRequired(ids) => AppError::unprocessable(
            Code::VerdictsRequired,
            "every red line and legal duty needs your verdict (accept or adjust) before approval"
                .into(),
            ids.into_iter()
                .map(|(id, red)| {
                    let why = if red {
                        "a red line needs the reviewer's verdict"
                    } else {
                        "a legal duty needs the reviewer's verdict"
                    };
                    FieldError::new(format!("verdicts/{id}"), why)
                })
                .collect(),
        ),
    }
}
