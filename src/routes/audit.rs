//! The audit log's integrity: verification and signed checkpoints (administrators), and the
//! public keys anyone needs to check signatures offline.

use actix_web::{HttpResponse, get, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::signing::Jwks;
use crate::auth::{AuthUser, roles};
use crate::db::audit::{self, Checkpoint, Report};
use crate::error::{AppResult, Problem};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckpointResult {
    /// False when the last checkpoint already covers every entry.
    pub created: bool,
    pub checkpoint: Option<Checkpoint>,
}

/// Walk the whole audit chain and its signed checkpoints; the first broken entry is named
/// (administrators). A log without a checkpoint, or whose newest checkpoint is older than the
/// checkpoint interval plus a minute, fails too.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = ["admin"])),
    responses((status = 200, body = Report), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("/audit/verify")]
pub async fn verify(state: web::Data<AppState>, user: AuthUser) -> AppResult<web::Json<Report>> {
    user.require(roles::ADMIN)?;
    let jwks = state.signing.jwks();
    let st = state.clone();
    Ok(web::Json(
        state
            .db
            .read(move |conn| {
                let expect = audit::Expect {
                    max_age: Some(max_checkpoint_age(&st.settings)),
                    head: None,
                };
                audit::verify(conn, &jwks, &expect)
            })
            .await?,
    ))
}

/// How old the newest checkpoint may be while the service runs: the checkpoint interval plus a
/// minute of slack.
pub fn max_checkpoint_age(settings: &crate::config::Settings) -> chrono::Duration {
    chrono::Duration::seconds(settings.audit_checkpoint_secs as i64 + 60)
}

/// The audit log's signed chain head: the newest checkpoint (entries, hash of the last entry,
/// time, key id and signature). Keep copies: `csr-assess audit verify --against HEAD.json`
/// detects any rewrite or truncation of the log behind a head that was once published.
#[utoipa::path(
    security(()),
    tag = "public",
    responses(
        (status = 200, body = Checkpoint),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/.well-known/csr-assess/audit-head.json")]
pub async fn head(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let head = state
        .db
        .read(audit::latest)
        .await?
        .ok_or(crate::error::AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=60"))
        .insert_header(("Access-Control-Allow-Origin", "*"))
        .json(head))
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
        .write(move |conn| audit::checkpoint(conn, &st.signing, false))
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
