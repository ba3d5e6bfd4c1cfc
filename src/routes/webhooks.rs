//! Webhook endpoints, their delivery log and redelivery over HTTP; the workflows are in
//! [`crate::webhooks`].

use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};

use crate::auth::AuthUser;
use crate::error::{AppResult, Problem};
use crate::extract::{IdempotencyKey, Json, Page, Query, RequestId};
use crate::state::AppState;
use crate::views;
use crate::webhooks::{self, CreatedWebhook, DeliveryView, NewWebhook, WebhookView};

/// Register an endpoint for event types (an enterprise's administrator: the enterprise's
/// events; an industry body: certificate events in its scopes). Each request is signed as the
/// Standard Webhooks specification describes, with the `secret` returned here once. With
/// `Idempotency-Key`, a retry is answered with the first response and registers nothing.
#[utoipa::path(
    operation_id = "createWebhook",
    tag = "webhooks",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = NewWebhook,
    security(("bearer" = ["enterprise_admin", "industry_body"])),
    responses(
        (status = 201, body = CreatedWebhook, description = "Registered; `secret` is shown this once"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("")]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    key: IdempotencyKey,
    body: Json<NewWebhook>,
) -> AppResult<HttpResponse> {
    let outcome = webhooks::register(&state, user, rid.0, body.0, key.0).await?;
    Ok(super::keyed_response(outcome))
}

/// Your endpoints (administrators: everyone's).
#[utoipa::path(
    operation_id = "listWebhooks",
    tag = "webhooks",
    params(Page),
    security(("bearer" = ["admin", "enterprise_admin", "industry_body"])),
    responses(
        (status = 200, body = views::Page<WebhookView>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    page: Query<Page>,
) -> AppResult<HttpResponse> {
    let (after, limit) = page.bounds()?;
    let page = webhooks::list(&state, user, after, limit).await?;
    Ok(super::page_response(&req, page))
}

/// One endpoint.
#[utoipa::path(
    operation_id = "getWebhook",
    tag = "webhooks",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "enterprise_admin", "industry_body"])),
    responses((status = 200, body = WebhookView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<WebhookView>> {
    Ok(web::Json(
        webhooks::get(&state, user, id.into_inner()).await?,
    ))
}

/// Delete an endpoint: nothing more is sent to it.
#[utoipa::path(
    operation_id = "deleteWebhook",
    tag = "webhooks",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "enterprise_admin", "industry_body"])),
    responses((status = 204, description = "Deleted"), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[delete("/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    webhooks::delete(&state, user, rid.0, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Enable an endpoint that was disabled after its deliveries kept failing: its pending
/// deliveries resume.
#[utoipa::path(
    operation_id = "enableWebhook",
    tag = "webhooks",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "enterprise_admin", "industry_body"])),
    responses((status = 200, body = WebhookView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[post("/{id}/enable")]
pub async fn enable(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
) -> AppResult<web::Json<WebhookView>> {
    Ok(web::Json(
        webhooks::enable(&state, user, rid.0, id.into_inner()).await?,
    ))
}

/// The delivery log of an endpoint: every attempt's outcome, oldest first.
#[utoipa::path(
    operation_id = "listWebhookDeliveries",
    tag = "webhooks",
    params(("id" = i64, Path), Page),
    security(("bearer" = ["admin", "enterprise_admin", "industry_body"])),
    responses(
        (status = 200, body = views::Page<DeliveryView>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<i64>,
    page: Query<Page>,
) -> AppResult<HttpResponse> {
    let (after, limit) = page.bounds()?;
    let page = webhooks::deliveries(&state, user, id.into_inner(), after, limit).await?;
    Ok(super::page_response(&req, page))
}

/// Send an event again: a new delivery of the same message (same `webhook-id`), due now.
#[utoipa::path(
    operation_id = "redeliverWebhook",
    tag = "webhooks",
    params(("id" = i64, Path), ("delivery_id" = i64, Path)),
    security(("bearer" = ["admin", "enterprise_admin", "industry_body"])),
    responses(
        (status = 202, body = DeliveryView, description = "Queued"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/deliveries/{delivery_id}/redeliver")]
pub async fn redeliver(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (id, delivery) = path.into_inner();
    let queued = webhooks::redeliver(&state, user, rid.0, id, delivery).await?;
    Ok(HttpResponse::Accepted().json(queued))
}
