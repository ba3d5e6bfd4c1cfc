//! The audit log's integrity: verification and signed checkpoints (administrators), and the
//! public keys anyone needs to check signatures offline.

use actix_web::{HttpResponse, get, post, web};

use crate::audit::{self, Checkpoint, CheckpointResult, Report};
use crate::auth::AuthUser;
use crate::auth::signing::Jwks;
use crate::error::{AppResult, Problem};
use crate::extract::IdempotencyKey;
use crate::state::AppState;

/// Walk the whole audit chain and its signed checkpoints; the first broken entry is named
/// (administrators). A log without a checkpoint, or whose newest checkpoint is older than the
/// checkpoint interval plus a minute, fails too.
#[utoipa::path(
    operation_id = "verifyAuditLog",
    tag = "audit",
    security(("bearer" = ["admin"])),
    responses((status = 200, body = Report), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/verify")]
pub async fn verify(state: web::Data<AppState>, user: AuthUser) -> AppResult<web::Json<Report>> {
    Ok(web::Json(audit::verify(&state, &user).await?))
}

/// The audit log's signed chain head: the newest checkpoint (entries, hash of the last entry,
/// time, key id and signature). Keep copies: `csr-assess audit verify --against HEAD.json`
/// detects any rewrite or truncation of the log behind a head that was once published.
#[utoipa::path(
    operation_id = "getAuditHead",
    security(()),
    tag = "public",
    responses(
        (status = 200, body = Checkpoint),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/.well-known/csr-assess/audit-head.json")]
pub async fn head(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let head = audit::head(&state).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=60"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(head))
}

/// Sign a checkpoint of the audit log now (also taken periodically) (administrators).
#[utoipa::path(
    operation_id = "createAuditCheckpoint",
    tag = "audit",
    security(("bearer" = ["admin"])),
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = CheckpointResult), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[post("/checkpoints")]
pub async fn checkpoint(
    state: web::Data<AppState>,
    user: AuthUser,
    key: IdempotencyKey,
) -> AppResult<HttpResponse> {
    let outcome = audit::checkpoint(&state, &user, key.0).await?;
    Ok(super::keyed_response(outcome))
}

/// The public keys (JWK set) that verify certificates, audit checkpoints and access tokens.
#[utoipa::path(operation_id = "getSigningKeys", security(()), tag = "public", responses((status = 200, body = Jwks)))]
#[get("/.well-known/csr-assess/keys.json")]
pub async fn keys(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(state.signing.jwks())
}
