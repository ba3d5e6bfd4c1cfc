//! The audit log's integrity: verification and signed checkpoints (administrators), and the
//! public keys anyone needs to check signatures offline.

use actix_web::{HttpResponse, get, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::signing::Jwks;
use crate::auth::{AuthUser, roles};
use crate::db::audit::{self, Checkpoint, Report};
use crate::error::{AppResult, Problem};
use crate::startup::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointResult {
    /// False when the last checkpoint already covers every entry.
    pub created: bool,
    pub checkpoint: Option<Checkpoint>,
}

/// Walk the whole audit chain and its signed checkpoints; the first broken entry is named
/// (administrators).
#[utoipa::path(
    tag = "audit",
    security(("bearer" = ["admin"])),
    responses((status = 200, body = Report), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/audit/verify")]
pub async fn verify(state: web::Data<AppState>, user: AuthUser) -> AppResult<web::Json<Report>> {
    user.require(roles::ADMIN)?;
    let jwks = state.signing.jwks();
    Ok(web::Json(
        state
            .db
            .read(move |conn| audit::verify(conn, &jwks))
            .await?,
    ))
}

/// Sign a checkpoint of the audit log now (also taken periodically) (administrators).
#[utoipa::path(
    tag = "audit",
    security(("bearer" = ["admin"])),
    responses((status = 200, body = CheckpointResult), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[post("/audit/checkpoints")]
pub async fn checkpoint(
    state: web::Data<AppState>,
    user: AuthUser,
) -> AppResult<web::Json<CheckpointResult>> {
    user.require(roles::ADMIN)?;
    let st = state.clone();
    let checkpoint = state
        .db
        .write(move |conn| audit::checkpoint(conn, &st.signing))
        .await?;
    Ok(web::Json(CheckpointResult {
        created: checkpoint.is_some(),
        checkpoint,
    }))
}

/// The public keys (JWK set) that verify certificates, audit checkpoints and access tokens.
#[utoipa::path(security(()), tag = "public", responses((status = 200, body = Jwks)))]
#[get("/.well-known/csr-assess/keys.json")]
pub async fn keys(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(state.signing.jwks())
}
