//! The caller's own account.

use actix_web::{get, web};

use crate::accounts;
use crate::auth::AuthUser;
use crate::error::{AppResult, Problem};
use crate::state::AppState;
use crate::views::MeView;

/// The caller's user, role and, for enterprise users, enterprise.
#[utoipa::path(
    operation_id = "getCurrentUser",
    tag = "users",
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = MeView), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("")]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> AppResult<web::Json<MeView>> {
    Ok(web::Json(accounts::me(&state, &user).await?))
}
