//! Operability: liveness, readiness, metrics and the OpenAPI document.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{AppError, AppResult, Problem};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// Liveness: the process is up and serving.
#[utoipa::path(operation_id = "getHealth", security(()), tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the database answers.
#[utoipa::path(
    operation_id = "getReadiness",
    security(()),
    tag = "operations",
    responses((status = 200, body = Health), (status = 503, body = Problem, content_type = "application/problem+json"))
)]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    state.db.ping().await?;
    Ok(HttpResponse::Ok().json(Health { status: "ok" }))
}

/// Prometheus metrics in the text exposition format. On the main address only with
/// `Authorization: Bearer <CSR_METRICS_TOKEN>` (404 without it, or when no token is
/// configured); the address `CSR_METRICS_BIND` serves them without a token.
#[utoipa::path(
    operation_id = "getMetrics",
    security(()),
    tag = "operations",
    responses(
        (status = 200, body = String, content_type = "text/plain"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let expected = state
        .settings
        .metrics_token
        .as_ref()
        .ok_or(AppError::NotFound)?;
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compared as digests, so the time taken says nothing about the token; a wrong or missing
    // token gets the same 404 as an installation that serves no metrics here.
    if Sha256::digest(given.as_bytes()) != Sha256::digest(expected.expose().as_bytes()) {
        return Err(AppError::NotFound);
    }
    Ok(exposition(&state))
}

/// The metrics listener's only route: `GET /metrics`, for the internal network.
pub async fn internal_metrics(state: web::Data<AppState>) -> HttpResponse {
    exposition(&state)
}

fn exposition(state: &AppState) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(
            state
                .metrics
                .render(state.db.pool_state(), state.db.group_commits()),
        )
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(operation_id = "getOpenApi", security(()), tag = "operations", responses((status = 200, body = Object, content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.openapi_json.clone())
}
