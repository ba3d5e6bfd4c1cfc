//! Self-assessment submissions over HTTP: extractors, `If-Match` and `Idempotency-Key`,
//! status codes, `ETag` and `Location`. The workflows are in [`crate::submissions`].

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, Problem};
use crate::extract::{DeferredJson, IdempotencyKey, IfMatch, Json, Page, Query, RequestId};
use crate::state::AppState;
use crate::submissions::{
    self as svc, AnswerInput, AnswersSaved, BulkAnswers, CreateSubmission, HistoryEntry,
    RequestAnswerInput, Submission, SubmissionSummary, SubmissionView, Upgraded, etag,
};
use crate::views;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UpgradeQuery {
    /// The version to move to, e.g. `2024` (required; checked once the submission is found,
    /// so a request about another enterprise's submission is a plain 404).
    pub to: Option<String>,
}

fn with_etag(mut res: HttpResponse, tag: String) -> HttpResponse {
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&tag) {
        res.headers_mut().insert(actix_web::http::header::ETAG, v);
    }
    res
}

/// 200 with the submission's view and its ETag.
fn view_response(view: SubmissionView) -> HttpResponse {
    let tag = view.etag();
    with_etag(HttpResponse::Ok().json(view), tag)
}

/// 200 with the criteria saved, the new revision and the submission's new ETag.
fn saved_response((saved, criteria): (Submission, Vec<String>)) -> HttpResponse {
    let body = AnswersSaved {
        criteria,
        revision: saved.revision,
    };
    with_etag(HttpResponse::Ok().json(body), etag(&saved))
}

/// Start a self-assessment on a published schema version; the enterprise's industry profile is
/// applied and the version's content hash recorded. With `Idempotency-Key`, a repeated request
/// returns the first response and creates nothing.
#[utoipa::path(
    operation_id = "createSubmission",
    tag = "submissions",
    request_body = CreateSubmission,
    params(("Idempotency-Key" = Option<String>, Header)),
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 201, body = SubmissionView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("")]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    body: Json<CreateSubmission>,
    key: IdempotencyKey,
) -> AppResult<HttpResponse> {
    let outcome = svc::create(&state, user, rid.0, body.0, key.0).await?;
    Ok(super::keyed_response(outcome))
}

/// The caller's enterprise's submissions, oldest first.
#[utoipa::path(
    operation_id = "listSubmissions",
    tag = "submissions",
    params(Page),
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = views::Page<SubmissionSummary>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))))
)]
#[get("")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    page: Query<Page>,
) -> AppResult<HttpResponse> {
    let (after, limit) = page.bounds()?;
    let page = svc::list(&state, &user, after, limit).await?;
    Ok(super::page_response(&req, page))
}

/// A submission with its answers, completeness and a live score with its explanation.
#[utoipa::path(
    operation_id = "getSubmission",
    tag = "submissions",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = SubmissionView, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    Ok(view_response(
        svc::view(&state, user, id.into_inner()).await?,
    ))
}

/// Answer one criterion (a form's autosave). Requires `If-Match`.
#[utoipa::path(
    operation_id = "saveAnswer",
    tag = "submissions",
    params(("id" = i64, Path), ("criterion" = String, Path), ("If-Match" = String, Header)),
    request_body = AnswerInput,
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = AnswersSaved, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/{id}/answers/{criterion}")]
pub async fn put_answer(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    if_match: IfMatch,
    path: web::Path<(i64, String)>,
    body: DeferredJson,
) -> AppResult<HttpResponse> {
    let (id, criterion) = path.into_inner();
    let input = move || Ok(vec![(criterion, body.parse()?)]);
    let saved = svc::save_answers(&state, user, rid.0, id, if_match.0, input).await?;
    Ok(saved_response(saved))
}

/// Answer many criteria at once: `{answers: {criterion_id: answer, ...}}`. All or nothing.
/// Requires `If-Match`.
#[utoipa::path(
    operation_id = "saveAnswers",
    tag = "submissions",
    params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = BulkAnswers,
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = AnswersSaved, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/{id}/answers")]
pub async fn patch_answers(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    if_match: IfMatch,
    id: web::Path<i64>,
    body: DeferredJson,
) -> AppResult<HttpResponse> {
    let input = move || {
        let bulk: BulkAnswers = body.parse()?;
        if bulk.answers.is_empty() {
            return Err(AppError::validation("answers", "give at least one answer"));
        }
        Ok(bulk.answers.into_iter().collect())
    };
    let saved = svc::save_answers(&state, user, rid.0, id.into_inner(), if_match.0, input).await?;
    Ok(saved_response(saved))
}

/// Clear one answer; it stays in the history. Requires `If-Match`.
#[utoipa::path(
    operation_id = "clearAnswer",
    tag = "submissions",
    params(("id" = i64, Path), ("criterion" = String, Path), ("If-Match" = String, Header)),
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 204, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/{id}/answers/{criterion}")]
pub async fn delete_answer(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    if_match: IfMatch,
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    let (id, criterion) = path.into_inner();
    let saved = svc::clear_answer(&state, user, rid.0, id, criterion, if_match.0).await?;
    Ok(with_etag(HttpResponse::NoContent().finish(), etag(&saved)))
}

/// Submit for review (the enterprise's administrator). Refused with 422 listing unanswered
/// criteria and criteria lacking required evidence. Requires `If-Match`.
#[utoipa::path(
    operation_id = "submitSubmission",
    tag = "submissions",
    params(("id" = i64, Path), ("If-Match" = String, Header)),
    security(("bearer" = ["enterprise_admin"])),
    responses(
        (status = 200, body = SubmissionView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/submit")]
pub async fn submit(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    if_match: IfMatch,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let view = svc::submit(&state, user, rid.0, id.into_inner(), if_match.0).await?;
    Ok(view_response(view))
}

/// Withdraw a submitted or returned submission (the enterprise's administrator). Requires
/// `If-Match`.
#[utoipa::path(
    operation_id = "withdrawSubmission",
    tag = "submissions",
    params(("id" = i64, Path), ("If-Match" = String, Header)),
    security(("bearer" = ["enterprise_admin"])),
    responses(
        (status = 200, body = SubmissionView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    if_match: IfMatch,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let view = svc::withdraw(&state, user, rid.0, id.into_inner(), if_match.0).await?;
    Ok(view_response(view))
}

/// Discard a draft (the enterprise's administrator): its answers and evidence are deleted; the
/// audit log keeps that it existed. Submitted ones are withdrawn instead (409). Requires
/// `If-Match`.
#[utoipa::path(
    operation_id = "deleteSubmission",
    tag = "submissions",
    params(("id" = i64, Path), ("If-Match" = String, Header)),
    security(("bearer" = ["enterprise_admin"])),
    responses(
        (status = 204, description = "Discarded"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/{id}")]
pub async fn discard(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    if_match: IfMatch,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    svc::discard(&state, user, rid.0, id.into_inner(), if_match.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Move a draft to a newer version of its schema. Answers are carried over where the criterion
/// is unchanged (following renames); answers to changed or dropped criteria move to the
/// history, never lost. Returns the plan. Requires `If-Match`.
#[utoipa::path(
    operation_id = "upgradeSubmission",
    tag = "submissions",
    params(("id" = i64, Path), UpgradeQuery, ("If-Match" = String, Header)),
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = Upgraded, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/upgrade")]
pub async fn upgrade(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    if_match: IfMatch,
    id: web::Path<i64>,
    query: Query<UpgradeQuery>,
) -> AppResult<HttpResponse> {
    let to = query.into_inner().to;
    let upgraded: Upgraded =
        svc::upgrade(&state, user, rid.0, id.into_inner(), to, if_match.0).await?;
    let tag = upgraded.submission.etag();
    Ok(with_etag(HttpResponse::Ok().json(upgraded), tag))
}

/// Every answer ever written to a submission, including those cleared or left behind by an
/// upgrade.
#[utoipa::path(
    operation_id = "getSubmissionHistory",
    tag = "submissions",
    params(("id" = i64, Path), Page),
    security(("bearer" = ["admin", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = views::Page<HistoryEntry>, description = "A page, oldest first; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<i64>,
    page: Query<Page>,
) -> AppResult<HttpResponse> {
    let (after, limit) = page.bounds()?;
    let page = svc::history(&state, user, id.into_inner(), after, limit).await?;
    Ok(super::page_response(&req, page))
}

/// Answer the reviewer's request for evidence on one criterion, while the submission is under
/// review or returned: upload the files first (`POST …/evidence` takes them for the requested
/// criteria under review), then say what they show. The reviewer then decides the criterion.
#[utoipa::path(
    operation_id = "answerEvidenceRequest",
    tag = "submissions",
    params(("id" = i64, Path), ("criterion" = String, Path)),
    request_body = RequestAnswerInput,
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = SubmissionView, headers(("ETag" = String, description = "The submission's current ETag"))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/evidence-requests/{criterion}/answer")]
pub async fn answer_evidence_request(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(i64, String)>,
    body: DeferredJson,
) -> AppResult<HttpResponse> {
    let (id, criterion) = path.into_inner();
    let input = move || body.parse::<RequestAnswerInput>();
    let view = svc::answer_evidence_request(&state, user, rid.0, id, criterion, input).await?;
    Ok(view_response(view))
}
