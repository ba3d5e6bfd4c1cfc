//! The association's review: the queue, claiming, per-criterion verdicts and the decision
//! (return, reject, approve with four-eyes for the levels that need it).

use actix_web::{HttpResponse, get, post, put, web};
use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AuthUser, roles};
use crate::certification::{self, PublicCertificate};
use crate::db::reviews::{self as db, QueueFilter, Review, VerdictRow};
use crate::db::submissions::Submission;
use crate::db::{AnyConnection, enterprises, schema_versions};
use crate::domain::scoring::{Refusal, Score};
use crate::domain::{IndustryCode, Role};
use crate::error::{AppError, AppResult, FieldError, Problem};
use crate::extract::{Json, RequestId};
use crate::startup::AppState;
use crate::submissions::{SubmissionView, load, load_visible, record, state};
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

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuePage {
    pub items: Vec<QueueItem>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictInput {
    /// `accept`, `adjust` or `request_evidence`.
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
    pub verdict: String,
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
    /// `approved`, `returned`, `rejected`, or `null` while open.
    pub decision: Option<String>,
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
    /// `awaiting_second_approval` or `approved`.
    pub status: String,
    pub certificate: Option<PublicCertificate>,
}

fn verdict_view(v: &VerdictRow) -> VerdictView {
    VerdictView {
        criterion_id: v.criterion_id.clone(),
        verdict: v.verdict.clone(),
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

/// Submitted submissions in the reviewer's scope, oldest first.
#[utoipa::path(
    tag = "reviews",
    params(QueueQuery),
    security(("bearer" = ["admin", "reviewer"])),
    responses((status = 200, body = QueuePage), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/reviews/queue")]
pub async fn queue(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<QueueQuery>,
) -> AppResult<web::Json<QueuePage>> {
    user.require(roles::ADMIN_OR_REVIEWER)?;
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::validation("limit", "must be between 1 and 200"));
    }
    let industry = q
        .industry
        .as_deref()
        .map(IndustryCode::parse)
        .transpose()
        .map_err(|e| AppError::validation("industry", e))?;
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => {
            let (micros, id) = c
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
        limit,
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
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last())
        .flatten()
        .and_then(|(s, ..)| {
            Some(format!(
                "{}.{}",
                s.submitted_at?.and_utc().timestamp_micros(),
                s.id
            ))
        });
    let items = rows
        .into_iter()
        // Reviewers see neither their own enterprise nor its competitors (same division).
        .filter(|(s, ..)| Some(s.enterprise_id) != affiliation)
        .filter(|(s, ..)| {
            own_division
                .as_deref()
                .is_none_or(|d| !s.industry_code.starts_with(d))
        })
        .map(|(s, name, region)| QueueItem {
            submission_id: s.id,
            enterprise_id: s.enterprise_id,
            enterprise_name: name,
            region_code: region,
            industry_code: s.industry_code,
            schema_id: s.schema_id,
            version: s.version,
            submitted_at: s.submitted_at.map(utc),
            self_assessed_total: s.score_total,
            self_assessed_level: s.score_level,
        })
        .collect();
    Ok(web::Json(QueuePage { items, next_cursor }))
}

/// The review of a submission: its answers and evidence, every round's verdicts and the
/// reviewed score. Visible to reviewers in scope, administrators and the enterprise itself.
#[utoipa::path(
    tag = "reviews",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = ReviewView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/reviews/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<ReviewView>> {
    let id = id.into_inner();
    let st = state.clone();
    let view = state
        .db
        .read(move |conn| {
            let s = load_visible(conn, &user, id)?;
            review_view(conn, &st, s)
        })
        .await?;
    Ok(web::Json(view))
}

fn review_view(conn: &mut AnyConnection, st: &AppState, s: Submission) -> AppResult<ReviewView> {
    let rounds = db::all_of(conn, s.id)?;
    let loaded = load(conn, &st.schemas, s)?;
    let mut views = Vec::with_capacity(rounds.len());
    let mut last_verdicts = Vec::new();
    for r in &rounds {
        last_verdicts = db::verdicts_of(conn, r.id)?;
        views.push(round_view(r, &last_verdicts));
    }
    // The reviewed score is the latest round's (the open one while under review).
    let reviewed_score = certification::reviewed_score(&loaded, &last_verdicts);
    let four_eyes_required = four_eyes(conn, &loaded.submission, &reviewed_score.level)?;
    let enterprise_verified = enterprises::find(conn, loaded.submission.enterprise_id)?
        .is_some_and(|e| e.verified_at.is_some());
    let open = rounds.last().is_some_and(|r| r.decision.is_none());
    let verdicts_required = if open {
        certification::verdicts_required(&loaded, &last_verdicts)
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
    loaded: &crate::submissions::Loaded,
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
        decision: r.decision.clone(),
        decided_by: r.decided_by,
        decided_at: r.decided_at.map(utc),
        comment: r.comment.clone(),
        reviewed_total: r.reviewed_total,
        reviewed_level: r.reviewed_level.clone(),
        verdicts: verdicts.iter().map(verdict_view).collect(),
    }
}

fn four_eyes(conn: &mut AnyConnection, s: &Submission, level: &str) -> AppResult<bool> {
    let doc = schema_versions::find(conn, &s.schema_id, &s.version)?
        .ok_or(AppError::NotFound)?
        .doc()?;
    Ok(doc.four_eyes_levels.iter().any(|l| l == level))
}

/// A reviewer may act on a submitted submission of an enterprise they may act on
/// ([`crate::certification::reviewer_may_act`]).
fn reviewable(conn: &mut AnyConnection, user: &AuthUser, id: i64) -> AppResult<Submission> {
    let s = db_submission(conn, id)?;
    let e = enterprises::find(conn, s.enterprise_id)?.ok_or(AppError::NotFound)?;
    if s.status == state::DRAFT {
        return Err(AppError::NotFound);
    }
    crate::certification::reviewer_may_act(conn, user, &e)?;
    Ok(s)
}

fn db_submission(conn: &mut AnyConnection, id: i64) -> AppResult<Submission> {
    crate::db::submissions::find(conn, id)?.ok_or(AppError::NotFound)
}

/// The open review, which must be the caller's.
fn own_review(conn: &mut AnyConnection, user: &AuthUser, s: &Submission) -> AppResult<Review> {
    let r = db::current(conn, s.id)?
        .filter(|_| s.status == state::UNDER_REVIEW)
        .ok_or_else(|| {
            AppError::Conflict(
                "not_under_review",
                format!("the submission is {}", s.status),
            )
        })?;
    if r.reviewer_id != user.id {
        return Err(AppError::Conflict(
            "claimed_by_another",
            "another reviewer holds this review".into(),
        ));
    }
    Ok(r)
}

/// Claim a submitted submission for review (→ `under_review`). One reviewer at a time.
#[utoipa::path(
    tag = "reviews",
    params(("id" = i64, Path)),
    security(("bearer" = ["reviewer"])),
    responses(
        (status = 200, body = ReviewView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reviews/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
) -> AppResult<web::Json<ReviewView>> {
    user.require(roles::REVIEWER)?;
    let id = id.into_inner();
    let st = state.clone();
    let view = state
        .db
        .write(move |conn| {
            let s = reviewable(conn, &user, id)?;
            if !db::move_status(conn, id, state::SUBMITTED, state::UNDER_REVIEW)? {
                let code = if s.status == state::UNDER_REVIEW {
                    "already_claimed"
                } else {
                    "not_claimable"
                };
                return Err(AppError::Conflict(
                    code,
                    format!("the submission is {}", s.status),
                ));
            }
            db::open(conn, id, user.id)?;
            record(
                conn,
                user.id,
                &rid.0,
                &s,
                "review.claimed",
                serde_json::json!({}),
            )?;
            let s = db_submission(conn, id)?;
            review_view(conn, &st, s)
        })
        .await?;
    Ok(web::Json(view))
}

/// Record a verdict on one criterion: accept, adjust (share of the weight 0–1, with a
/// reason) or request evidence (with a comment). The claimant only.
#[utoipa::path(
    tag = "reviews",
    params(("id" = i64, Path), ("criterion" = String, Path)),
    request_body = VerdictInput,
    security(("bearer" = ["reviewer"])),
    responses(
        (status = 200, body = ReviewView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/reviews/{id}/verdicts/{criterion}")]
pub async fn verdict(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(i64, String)>,
    body: Json<VerdictInput>,
) -> AppResult<web::Json<ReviewView>> {
    user.require(roles::REVIEWER)?;
    let (id, criterion) = path.into_inner();
    let v = parse_verdict(body.0, "").map_err(|e| AppError::Validation(vec![e]))?;
    set_verdicts(state, user, rid, id, vec![(criterion, v)]).await
}

/// Record verdicts on several criteria at once (the same rules as one verdict); all are
/// recorded or, with any invalid, none. The claimant only.
#[utoipa::path(
    tag = "reviews",
    params(("id" = i64, Path)),
    request_body = VerdictsInput,
    security(("bearer" = ["reviewer"])),
    responses(
        (status = 200, body = ReviewView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/reviews/{id}/verdicts")]
pub async fn verdict_batch(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<VerdictsInput>,
) -> AppResult<web::Json<ReviewView>> {
    user.require(roles::REVIEWER)?;
    let input = body.0.verdicts;
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
    let mut parsed = Vec::with_capacity(input.len());
    let mut errors = Vec::new();
    for (criterion, v) in input {
        match parse_verdict(v, &format!("verdicts/{criterion}/")) {
            Ok(v) => parsed.push((criterion, v)),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    set_verdicts(state, user, rid, id.into_inner(), parsed).await
}

/// More verdicts than any schema has criteria.
const MAX_VERDICTS: usize = 500;

/// A verdict checked against its rules.
struct Parsed {
    verdict: String,
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
    let (fraction, reason, comment) = match v.verdict.as_str() {
        "accept" => (None, text(v.reason), text(v.comment)),
        "adjust" => {
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
        "request_evidence" => {
            let comment = text(v.comment)
                .ok_or_else(|| FieldError::new(field("comment"), "say which evidence is needed"))?;
            (None, text(v.reason), Some(comment))
        }
        _ => {
            return Err(FieldError::new(
                field("verdict"),
                "must be accept, adjust or request_evidence",
            ));
        }
    };
    Ok(Parsed {
        verdict: v.verdict,
        fraction,
        reason,
        comment,
    })
}

async fn set_verdicts(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: i64,
    verdicts: Vec<(String, Parsed)>,
) -> AppResult<web::Json<ReviewView>> {
    let st = state.clone();
    let view = state
        .db
        .write(move |conn| {
            crate::db::submissions::lock(conn, id)?;
            let s = reviewable(conn, &user, id)?;
            let r = own_review(conn, &user, &s)?;
            let loaded = load(conn, &st.schemas, s.clone())?;
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
                    let na = matches!(
                        loaded.engine_answers.get(c),
                        Some(crate::domain::scoring::Answer::NotApplicable)
                    );
                    (na && v.verdict == "adjust").then(|| {
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
            for (criterion, v) in &verdicts {
                db::set_verdict(
                    conn,
                    r.id,
                    user.id,
                    &db::VerdictWrite {
                        criterion_id: criterion,
                        verdict: &v.verdict,
                        fraction: v.fraction,
                        reason: v.reason.as_deref(),
                        comment: v.comment.as_deref(),
                    },
                )?;
                record(
                    conn,
                    user.id,
                    &rid.0,
                    &s,
                    "review.verdict",
                    serde_json::json!({
                        "criterion": criterion, "verdict": v.verdict, "points": v.fraction,
                    }),
                )?;
            }
            // A first approval approved the verdicts as they were: it no longer stands.
            if db::clear_first_approval(conn, r.id)? {
                record(
                    conn,
                    user.id,
                    &rid.0,
                    &s,
                    "review.first_approval_withdrawn",
                    serde_json::json!({ "reason": "verdicts changed" }),
                )?;
            }
            review_view(conn, &st, s)
        })
        .await?;
    Ok(web::Json(view))
}

async fn decide(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: i64,
    decision: &'static str,
    comment: Option<String>,
) -> AppResult<web::Json<ReviewView>> {
    let comment = comment
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| AppError::validation("comment", "tell the enterprise why"))?;
    let to = if decision == "returned" {
        state::RETURNED
    } else {
        state::REJECTED
    };
    let st = state.clone();
    let view = state
        .db
        .write(move |conn| {
            crate::db::submissions::lock(conn, id)?;
            let s = reviewable(conn, &user, id)?;
            let r = own_review(conn, &user, &s)?;
            if !db::move_status(conn, id, state::UNDER_REVIEW, to)? {
                return Err(AppError::Conflict(
                    "not_under_review",
                    "the submission was decided meanwhile".into(),
                ));
            }
            let loaded = load(conn, &st.schemas, s.clone())?;
            let score = certification::reviewed_score(&loaded, &db::verdicts_of(conn, r.id)?);
            db::decide(
                conn,
                r.id,
                decision,
                user.id,
                Some(&comment),
                Some(score.total),
                Some(&score.level),
            )?;
            record(
                conn,
                user.id,
                &rid.0,
                &s,
                &format!("review.{decision}"),
                serde_json::json!({ "comment": comment }),
            )?;
            let s = db_submission(conn, id)?;
            review_view(conn, &st, s)
        })
        .await?;
    Ok(web::Json(view))
}

/// Return the submission to the enterprise with comments; it edits and resubmits.
#[utoipa::path(
    tag = "reviews",
    params(("id" = i64, Path)),
    request_body = DecisionInput,
    security(("bearer" = ["reviewer"])),
    responses(
        (status = 200, body = ReviewView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reviews/{id}/return")]
pub async fn return_to_enterprise(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<DecisionInput>,
) -> AppResult<web::Json<ReviewView>> {
    user.require(roles::REVIEWER)?;
    decide(
        state,
        user,
        rid,
        id.into_inner(),
        "returned",
        body.0.comment,
    )
    .await
}

/// Reject the certification, with a reason.
#[utoipa::path(
    tag = "reviews",
    params(("id" = i64, Path)),
    request_body = DecisionInput,
    security(("bearer" = ["reviewer"])),
    responses(
        (status = 200, body = ReviewView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reviews/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<DecisionInput>,
) -> AppResult<web::Json<ReviewView>> {
    user.require(roles::REVIEWER)?;
    decide(
        state,
        user,
        rid,
        id.into_inner(),
        "rejected",
        body.0.comment,
    )
    .await
}

/// The approval rules' refusal as a problem naming each criterion.
fn refusal(r: Refusal, verdicts: &[VerdictRow]) -> AppError {
    match r {
        Refusal::EvidenceRequested(ids) => AppError::Unprocessable(
            "evidence_requested",
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
            AppError::Unprocessable(
                "not_certifiable",
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
        Refusal::VerdictsRequired(ids) => AppError::Unprocessable(
            "verdicts_required",
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

enum Approval {
    Pending,
    Issued(Box<crate::db::certificates::Certificate>),
}

/// Approve: the certificate is issued in the same transaction. At levels the schema version
/// marks for four-eyes review, the claimant's approval waits for a second reviewer's.
#[utoipa::path(
    tag = "reviews",
    params(("id" = i64, Path)),
    request_body = DecisionInput,
    security(("bearer" = ["reviewer"])),
    responses(
        (status = 200, body = ApprovalResult),
        (status = 202, body = ApprovalResult),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reviews/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<DecisionInput>,
) -> AppResult<HttpResponse> {
    user.require(roles::REVIEWER)?;
    let id = id.into_inner();
    let comment = body.0.comment;
    let mut attempt = 0;
    let outcome = loop {
        attempt += 1;
        let (st, user, rid, comment) =
            (state.clone(), user.clone(), rid.0.clone(), comment.clone());
        let result = state
            .db
            .write(move |conn| approve_in(conn, &st, &user, &rid, id, comment.as_deref()))
            .await;
        match result {
            // Two approvals of different submissions drew the same certificate number.
            Err(AppError::Conflict("already_exists", _)) if attempt < 3 => continue,
            other => break other?,
        }
    };
    match outcome {
        Approval::Pending => Ok(HttpResponse::Accepted().json(ApprovalResult {
            status: "awaiting_second_approval".into(),
            certificate: None,
        })),
        Approval::Issued(c) => Ok(HttpResponse::Ok().json(ApprovalResult {
            status: "approved".into(),
            certificate: Some(certification::public_view(&c, &state.signing.jwks())?),
        })),
    }
}

fn approve_in(
    conn: &mut AnyConnection,
    st: &AppState,
    user: &AuthUser,
    rid: &str,
    id: i64,
    comment: Option<&str>,
) -> AppResult<Approval> {
    crate::db::submissions::lock(conn, id)?;
    let s = reviewable(conn, user, id)?;
    let r = db::current(conn, id)?
        .filter(|_| s.status == state::UNDER_REVIEW)
        .ok_or_else(|| {
            AppError::Conflict(
                "not_under_review",
                format!("the submission is {}", s.status),
            )
        })?;
    let verified =
        enterprises::find(conn, s.enterprise_id)?.is_some_and(|e| e.verified_at.is_some());
    if !verified {
        return Err(AppError::Conflict(
            "enterprise_unverified",
            format!(
                "the enterprise's business licence has not been checked against its credit code: \
                 POST /api/v1/enterprises/{}/verify first",
                s.enterprise_id
            ),
        ));
    }
    // Under review, the loaded submission carries the open round's verdicts.
    let loaded = load(conn, &st.schemas, s.clone())?;
    let verdicts = &loaded.round;
    let score = certification::approval(&loaded, verdicts).map_err(|r| refusal(r, verdicts))?;
    let needs_two = four_eyes(conn, &s, &score.level)?;
    let claimant = r.reviewer_id == user.id;
    match (needs_two, r.first_approver_id, claimant) {
        (false, _, false) | (true, None, false) => {
            return Err(AppError::Conflict(
                "claimed_by_another",
                "the reviewer who claimed it approves first".into(),
            ));
        }
        (true, None, true) => {
            if !db::set_first_approval(conn, r.id, user.id)? {
                return Err(AppError::Conflict(
                    "already_approved",
                    "the first approval is already recorded".into(),
                ));
            }
            record(
                conn,
                user.id,
                rid,
                &s,
                "review.first_approval",
                serde_json::json!({
                    "total": score.total, "level": score.level,
                }),
            )?;
            return Ok(Approval::Pending);
        }
        (true, Some(first), _) if first == user.id => {
            return Err(AppError::Conflict(
                "second_approver_required",
                "a second reviewer must approve this level".into(),
            ));
        }
        _ => {}
    }
    // Exactly one approval wins, on any number of instances: the status moves only once, and a
    // submission has at most one certificate.
    if !db::move_status(conn, id, state::UNDER_REVIEW, state::APPROVED)? {
        return Err(AppError::Conflict(
            "not_under_review",
            "the submission was decided meanwhile".into(),
        ));
    }
    db::decide(
        conn,
        r.id,
        "approved",
        user.id,
        comment,
        Some(score.total),
        Some(&score.level),
    )?;
    let enterprise = enterprises::find(conn, s.enterprise_id)?.ok_or(AppError::NotFound)?;
    let c = certification::issue(
        conn,
        &st.signing,
        &st.settings.issuer(),
        &s,
        &enterprise,
        &score,
        user.id,
    )?;
    record(
        conn,
        user.id,
        rid,
        &s,
        "review.approved",
        serde_json::json!({
            "total": score.total, "level": score.level, "certificate": c.number,
        }),
    )?;
    crate::db::audit::append(
        conn,
        crate::db::audit::Event {
            actor_user_id: Some(user.id),
            action: "certificate.issued",
            entity_type: "certificate",
            entity_id: c.number.clone(),
            enterprise_id: Some(s.enterprise_id),
            request_id: Some(rid),
            details: serde_json::json!({ "submission_id": s.id, "level": c.level, "expires_on": c.expires_on }),
        },
    )?;
    Ok(Approval::Issued(Box::new(c)))
}
