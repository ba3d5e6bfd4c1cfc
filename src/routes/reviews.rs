//! The association's review over HTTP; the workflows are in [`crate::reviews`].

use actix_web::{HttpResponse, get, post, put, web};

use crate::auth::AuthUser;
use crate::domain::ReviewDecision;
use crate::error::{AppError, AppResult, Problem};
use crate::extract::{IdempotencyKey, Json, Query, RequestId};
use crate::idempotency::Outcome;
use crate::reviews::{
    self, ApprovalResult, DecisionInput, QueueItem, QueueQuery, ReviewView, VerdictInput,
    VerdictsInput,
};
use crate::state::AppState;

/// Submitted submissions in the reviewer's scope, oldest first.
#[utoipa::path(
    operation_id = "listReviewQueue",
    tag = "reviews",
    params(QueueQuery),
    security(("bearer" = ["admin", "reviewer"])),
    responses((status = 200, body = crate::views::Page<QueueItem>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/queue")]
pub async fn queue(
    state: web::Data<AppState>,
    user: AuthUser,
    req: actix_web::HttpRequest,
    query: Query<QueueQuery>,
) -> AppResult<HttpResponse> {
    let page = reviews::queue(&state, &user, query.into_inner()).await?;
    Ok(super::page_response(&req, page))
}

/// The review of a submission: its answers and evidence, every round's verdicts and the
/// reviewed score. Visible to reviewers in scope, administrators and the enterprise itself.
#[utoipa::path(
    operation_id = "getReview",
    tag = "reviews",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = ReviewView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<ReviewView>> {
    Ok(web::Json(
        reviews::view(&state, user, id.into_inner()).await?,
    ))
}

/// Claim a submitted submission for review (→ `under_review`). One reviewer at a time.
#[utoipa::path(
    operation_id = "claimReview",
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
#[post("/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
) -> AppResult<web::Json<ReviewView>> {
    Ok(web::Json(
        reviews::claim(&state, user, rid.0, id.into_inner()).await?,
    ))
}

/// Record a verdict on one criterion: accept, adjust (share of the weight 0–1, with a
/// reason) or request evidence (with a comment). The claimant only.
#[utoipa::path(
    operation_id = "recordVerdict",
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
#[put("/{id}/verdicts/{criterion}")]
pub async fn verdict(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(i64, String)>,
    body: Json<VerdictInput>,
) -> AppResult<web::Json<ReviewView>> {
    let (id, criterion) = path.into_inner();
    let one = vec![(criterion, body.0)];
    Ok(web::Json(
        reviews::set_verdicts(&state, user, rid.0, id, one, "").await?,
    ))
}

/// Record verdicts on several criteria at once (the same rules as one verdict); all are
/// recorded or, with any invalid, none. The claimant only.
#[utoipa::path(
    operation_id = "recordVerdicts",
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
#[put("/{id}/verdicts")]
pub async fn verdict_batch(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<VerdictsInput>,
) -> AppResult<web::Json<ReviewView>> {
    let batch = body.0.verdicts.into_iter().collect();
    Ok(web::Json(
        reviews::set_verdicts(&state, user, rid.0, id.into_inner(), batch, "verdicts/").await?,
    ))
}

/// Return the submission to the enterprise with comments; it edits and resubmits.
#[utoipa::path(
    operation_id = "returnReview",
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
#[post("/{id}/return")]
pub async fn return_to_enterprise(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<DecisionInput>,
) -> AppResult<web::Json<ReviewView>> {
    let (id, comment) = (id.into_inner(), body.0.comment);
    Ok(web::Json(
        reviews::decide(&state, user, rid.0, id, ReviewDecision::Returned, comment).await?,
    ))
}

/// Reject the certification, with a reason.
#[utoipa::path(
    operation_id = "rejectReview",
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
#[post("/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<DecisionInput>,
) -> AppResult<web::Json<ReviewView>> {
    let (id, comment) = (id.into_inner(), body.0.comment);
    Ok(web::Json(
        reviews::decide(&state, user, rid.0, id, ReviewDecision::Rejected, comment).await?,
    ))
}

/// Approve: the certificate is issued in the same transaction. At levels the schema version
/// marks for four-eyes review, the claimant's approval waits for a second reviewer's. With
/// `Idempotency-Key`, a retried approval is answered with the first response
/// (`Idempotent-Replayed: true`).
#[utoipa::path(
    operation_id = "approveReview",
    tag = "reviews",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
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
#[post("/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    key: IdempotencyKey,
    id: web::Path<i64>,
    body: Json<DecisionInput>,
) -> AppResult<HttpResponse> {
    let (id, comment) = (id.into_inner(), body.0.comment);
    let approval = match reviews::approve(&state, user, rid.0, id, comment, key.0).await? {
        Outcome::Done(approval) => approval,
        Outcome::Replayed(replay) => return Ok(super::replayed(replay)),
    };
    let (status, result) = approval.result(&state.signing.jwks())?;
    let status = actix_web::http::StatusCode::from_u16(status).map_err(AppError::internal)?;
    Ok(HttpResponse::build(status).json(result))
}
