//! Complaints, their reconciliation workflow, group-complaint incidents, liaison units and
//! complaint measures over HTTP; the workflows are in [`crate::complaints`].

use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::complaints::liaison::{self, Enrolment, LiaisonStatus, LiaisonView};
use crate::complaints::measures::Measures;
use crate::complaints::renewal::RenewalView;
use crate::complaints::surveillance::{self, Outcome as SurveillanceOutcome, SurveillanceView};
use crate::complaints::{
    self, ComplaintQuery, ComplaintView, IncidentStep, IncidentView, NewComplaint, PersonalData,
    Step,
};
use crate::error::{AppResult, Problem};
use crate::extract::{IdempotencyKey, Json, Page, Query, RequestId};
use crate::state::AppState;
use crate::views;

/// Record a complaint against an enterprise and forward it (association staff of the
/// enterprise's region, or a partner complaint platform). The consumer's contact and words are
/// sealed at rest and never returned here. With `Idempotency-Key`, a retry is answered with
/// the first response and records nothing.
#[utoipa::path(
    operation_id = "createComplaint",
    tag = "complaints",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = NewComplaint,
    security(("bearer" = ["complaint_officer", "reviewer", "complaint_platform"])),
    responses(
        (status = 201, body = ComplaintView, description = "Recorded and forwarded", headers(("Location" = String))),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`external_ref` already sent"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("")]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    key: IdempotencyKey,
    body: Json<NewComplaint>,
) -> AppResult<HttpResponse> {
    let outcome = complaints::create(&state, user, rid.0, body.0, key.0).await?;
    Ok(super::keyed_response(outcome))
}

/// The complaints within your reach, oldest first: staff those of their region, a platform
/// those it sent, an enterprise's users their enterprise's, administrators all.
#[utoipa::path(
    operation_id = "listComplaints",
    tag = "complaints",
    params(ComplaintQuery),
    security(("bearer" = ["admin", "complaint_officer", "reviewer", "complaint_platform", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = views::Page<ComplaintView>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    q: Query<ComplaintQuery>,
) -> AppResult<HttpResponse> {
    let page = complaints::list(&state, user, q.into_inner()).await?;
    Ok(super::page_response(&req, page))
}

/// One complaint (without personal data).
#[utoipa::path(
    operation_id = "getComplaint",
    tag = "complaints",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "complaint_officer", "reviewer", "complaint_platform", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = ComplaintView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<ComplaintView>> {
    Ok(web::Json(
        complaints::get(&state, user, id.into_inner()).await?,
    ))
}

/// The consumer's contact and the complaint's own words: for the enterprise's users and the
/// staff member on the case. Every read is written to the audit log.
#[utoipa::path(
    operation_id = "getComplaintPersonalData",
    tag = "complaints",
    params(("id" = i64, Path)),
    security(("bearer" = ["complaint_officer", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = PersonalData),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`not_on_case` (take the case first) or `personal_data_erased`"),
    )
)]
#[get("/{id}/personal-data")]
pub async fn personal_data(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let data = complaints::personal_data(&state, user, rid.0, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(data))
}

async fn step(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: i64,
    step: Step,
) -> AppResult<web::Json<ComplaintView>> {
    Ok(web::Json(
        complaints::act(&state, user, rid.0, id, step).await?,
    ))
}

/// The enterprise acknowledges the complaint: its proposal deadline starts.
#[utoipa::path(
    operation_id = "acknowledgeComplaint",
    tag = "complaints",
    params(("id" = i64, Path)),
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = ComplaintView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[post("/{id}/acknowledge")]
pub async fn acknowledge(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
) -> AppResult<web::Json<ComplaintView>> {
    step(state, user, rid, id.into_inner(), Step::Acknowledge).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalBody {
    /// Required: the settlement the enterprise offers (refund, replacement, repair,
    /// compensation …).
    pub proposal: Option<String>,
}

/// The enterprise proposes a settlement.
#[utoipa::path(
    operation_id = "proposeSettlement",
    tag = "complaints",
    params(("id" = i64, Path)),
    request_body = ProposalBody,
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = ComplaintView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/{id}/proposal")]
pub async fn propose(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<ProposalBody>,
) -> AppResult<web::Json<ComplaintView>> {
    let proposal = body.0.proposal;
    step(
        state,
        user,
        rid,
        id.into_inner(),
        Step::Propose { proposal },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// Required: whether the consumer accepted the proposal.
    pub accepted: Option<bool>,
    /// Required when rejected: why (the complaint is referred to mediation).
    pub reason: Option<String>,
}

/// Staff record the consumer's answer: accepted (reconciled) or rejected (not reconciled,
/// referred to mediation, with the reason).
#[utoipa::path(
    operation_id = "answerComplaint",
    tag = "complaints",
    params(("id" = i64, Path)),
    request_body = AnswerBody,
    security(("bearer" = ["complaint_officer", "reviewer"])),
    responses((status = 200, body = ComplaintView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/{id}/answer")]
pub async fn answer(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<AnswerBody>,
) -> AppResult<web::Json<ComplaintView>> {
    let AnswerBody { accepted, reason } = body.0;
    step(
        state,
        user,
        rid,
        id.into_inner(),
        Step::Answer { accepted, reason },
    )
    .await
}

/// Staff close an answered complaint; it may be reopened within the reopening window.
#[utoipa::path(
    operation_id = "closeComplaint",
    tag = "complaints",
    params(("id" = i64, Path)),
    security(("bearer" = ["complaint_officer", "reviewer"])),
    responses((status = 200, body = ComplaintView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[post("/{id}/close")]
pub async fn close(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
) -> AppResult<web::Json<ComplaintView>> {
    step(state, user, rid, id.into_inner(), Step::Close).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Required.
    pub reason: Option<String>,
}

/// Staff reopen a closed complaint within the window: the enterprise proposes again.
#[utoipa::path(
    operation_id = "reopenComplaint",
    tag = "complaints",
    params(("id" = i64, Path)),
    request_body = ReasonBody,
    security(("bearer" = ["complaint_officer", "reviewer"])),
    responses((status = 200, body = ComplaintView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/{id}/reopen")]
pub async fn reopen(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<ReasonBody>,
) -> AppResult<web::Json<ComplaintView>> {
    let reason = body.0.reason;
    step(state, user, rid, id.into_inner(), Step::Reopen { reason }).await
}

/// A staff member takes the case: they become the one who may read the consumer's contact.
#[utoipa::path(
    operation_id = "takeComplaint",
    tag = "complaints",
    params(("id" = i64, Path)),
    security(("bearer" = ["complaint_officer", "reviewer"])),
    responses((status = 200, body = ComplaintView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[post("/{id}/take")]
pub async fn take(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
) -> AppResult<web::Json<ComplaintView>> {
    step(state, user, rid, id.into_inner(), Step::Take).await
}

/// A group-complaint incident: many complaints against one enterprise on one issue.
#[utoipa::path(
    operation_id = "getComplaintIncident",
    tag = "complaints",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "complaint_officer", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = IncidentView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}")]
pub async fn incident(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<IncidentView>> {
    Ok(web::Json(
        complaints::incident(&state, user, id.into_inner()).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemediationBody {
    /// Required: what the enterprise did about the issue.
    pub remediation: Option<String>,
}

/// The enterprise reports how it remedied the issue of an incident.
#[utoipa::path(
    operation_id = "reportIncidentRemediation",
    tag = "complaints",
    params(("id" = i64, Path)),
    request_body = RemediationBody,
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = IncidentView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/{id}/remediation")]
pub async fn remediation(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<RemediationBody>,
) -> AppResult<web::Json<IncidentView>> {
    let step = IncidentStep::Remediation(body.0.remediation);
    Ok(web::Json(
        complaints::incident_step(&state, user, rid.0, id.into_inner(), step).await?,
    ))
}

/// Staff close an incident whose remediation was reported.
#[utoipa::path(
    operation_id = "closeComplaintIncident",
    tag = "complaints",
    params(("id" = i64, Path)),
    security(("bearer" = ["complaint_officer", "reviewer"])),
    responses((status = 200, body = IncidentView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[post("/{id}/close")]
pub async fn close_incident(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
) -> AppResult<web::Json<IncidentView>> {
    Ok(web::Json(
        complaints::incident_step(&state, user, rid.0, id.into_inner(), IncidentStep::Close)
            .await?,
    ))
}

/// Enrol the enterprise as a reconciliation liaison unit, or change its enrolment (which then
/// waits for the association's approval again).
#[utoipa::path(
    operation_id = "enrolLiaisonUnit",
    tag = "complaints",
    params(("id" = i64, Path)),
    request_body = Enrolment,
    security(("bearer" = ["enterprise_admin"])),
    responses((status = 200, body = LiaisonView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[put("/{id}/liaison")]
pub async fn enrol(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<Enrolment>,
) -> AppResult<web::Json<LiaisonView>> {
    Ok(web::Json(
        liaison::enrol(&state, user, rid.0, id.into_inner(), body.0).await?,
    ))
}

/// The enterprise's liaison enrolment.
#[utoipa::path(
    operation_id = "getLiaisonUnit",
    tag = "complaints",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "complaint_officer", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = LiaisonView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}/liaison")]
pub async fn get_liaison(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<LiaisonView>> {
    Ok(web::Json(
        liaison::get(&state, user, id.into_inner()).await?,
    ))
}

/// Withdraw the enterprise's enrolment.
#[utoipa::path(
    operation_id = "withdrawLiaisonUnit",
    tag = "complaints",
    params(("id" = i64, Path)),
    security(("bearer" = ["enterprise_admin"])),
    responses((status = 200, body = LiaisonView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"))
)]
#[delete("/{id}/liaison")]
pub async fn withdraw_liaison(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
) -> AppResult<web::Json<LiaisonView>> {
    let to = liaison::Decision::Withdraw;
    Ok(web::Json(
        liaison::decide(&state, user, rid.0, id.into_inner(), to, None).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Required: `approved` or `refused`.
    pub status: Option<LiaisonStatus>,
    /// Required for a refusal.
    pub reason: Option<String>,
}

/// Association staff of the enterprise's region approve or refuse a pending enrolment.
#[utoipa::path(
    operation_id = "decideLiaisonUnit",
    tag = "complaints",
    params(("id" = i64, Path)),
    request_body = DecisionBody,
    security(("bearer" = ["complaint_officer", "reviewer"])),
    responses((status = 200, body = LiaisonView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/{id}/liaison/decision")]
pub async fn decide_liaison(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<DecisionBody>,
) -> AppResult<web::Json<LiaisonView>> {
    let DecisionBody { status, reason } = body.0;
    let to = liaison::Decision::Staff(status);
    Ok(web::Json(
        liaison::decide(&state, user, rid.0, id.into_inner(), to, reason).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LiaisonQuery {
    pub status: Option<LiaisonStatus>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Liaison enrolments (staff: of their region), by enterprise id; `status=pending` is the
/// queue of enrolments waiting for a decision.
#[utoipa::path(
    operation_id = "listLiaisonUnits",
    tag = "complaints",
    params(LiaisonQuery),
    security(("bearer" = ["admin", "complaint_officer", "reviewer"])),
    responses((status = 200, body = views::Page<LiaisonView>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))))
)]
#[get("")]
pub async fn list_liaison(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    q: Query<LiaisonQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let (after, limit) = Page {
        cursor: q.cursor,
        limit: q.limit,
    }
    .bounds()?;
    let page = liaison::list(&state, user, q.status, after, limit).await?;
    Ok(super::page_response(&req, page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MeasuresQuery {
    /// `2026Q3`; default the current quarter.
    pub quarter: Option<String>,
}

/// How the enterprise handled the complaints received in a quarter.
#[utoipa::path(
    operation_id = "getComplaintMeasures",
    tag = "complaints",
    params(("id" = i64, Path), MeasuresQuery),
    security(("bearer" = ["admin", "complaint_officer", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = Measures), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}/complaint-measures")]
pub async fn complaint_measures(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    q: Query<MeasuresQuery>,
) -> AppResult<web::Json<Measures>> {
    let quarter = q.into_inner().quarter;
    Ok(web::Json(
        crate::complaints::measures::of_enterprise(&state, user, id.into_inner(), quarter).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SurveillanceQuery {
    /// `open` (default) or `all`.
    pub state: Option<String>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Surveillance reviews of certificates whose holders' complaint handling crossed a threshold,
/// for reviewers who may act on the enterprise (and administrators), oldest first.
#[utoipa::path(
    operation_id = "listSurveillanceReviews",
    tag = "complaints",
    params(SurveillanceQuery),
    security(("bearer" = ["admin", "reviewer"])),
    responses(
        (status = 200, body = views::Page<SurveillanceView>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("")]
pub async fn list_surveillance(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    q: Query<SurveillanceQuery>,
) -> AppResult<HttpResponse> {
    let q = q.into_inner();
    let open_only = match q.state.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(_) => {
            return Err(crate::error::AppError::validation(
                "state",
                "`open` or `all`",
            ));
        }
    };
    let (after, limit) = Page {
        cursor: q.cursor,
        limit: q.limit,
    }
    .bounds()?;
    let page = surveillance::list(&state, user, open_only, after, limit).await?;
    Ok(super::page_response(&req, page))
}

/// One surveillance review with its evidence: the triggers and the measures of this quarter
/// and the one before.
#[utoipa::path(
    operation_id = "getSurveillanceReview",
    tag = "complaints",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "reviewer"])),
    responses((status = 200, body = SurveillanceView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}")]
pub async fn get_surveillance(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<SurveillanceView>> {
    Ok(web::Json(
        surveillance::get(&state, user, id.into_inner()).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveillanceDecision {
    /// Required: `confirmed`, `suspended` or `revoked`.
    pub outcome: Option<SurveillanceOutcome>,
    /// Required: recorded with the certificate's history and in the audit log.
    pub reason: Option<String>,
}

/// Decide a surveillance review: confirm the certificate, or suspend or revoke it.
#[utoipa::path(
    operation_id = "decideSurveillanceReview",
    tag = "complaints",
    params(("id" = i64, Path)),
    request_body = SurveillanceDecision,
    security(("bearer" = ["admin", "reviewer"])),
    responses((status = 200, body = SurveillanceView), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[post("/{id}/decision")]
pub async fn decide_surveillance(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<SurveillanceDecision>,
) -> AppResult<web::Json<SurveillanceView>> {
    let SurveillanceDecision { outcome, reason } = body.0;
    Ok(web::Json(
        surveillance::decide(&state, user, rid.0, id.into_inner(), outcome, reason).await?,
    ))
}

/// The renewal this self-assessment was opened for (ninety days before the certificate
/// expires), with the complaint figures of each quarter the certificate was in force.
#[utoipa::path(
    operation_id = "getRenewal",
    tag = "submissions",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = RenewalView), (status = 404, body = Problem, content_type = "application/problem+json", description = "Not a renewal, or not yours"))
)]
#[get("/{id}/renewal")]
pub async fn renewal(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<RenewalView>> {
    Ok(web::Json(
        crate::complaints::renewal::of_submission(&state, user, id.into_inner()).await?,
    ))
}
