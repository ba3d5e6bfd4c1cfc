//! The caller's own account.

use actix_web::{get, web};

use crate::auth::AuthUser;
use crate::db::{enterprises, users};
use crate::error::{AppError, AppResult, Problem};
use crate::state::AppState;
use crate::views::MeView;

/// The caller's user, role and, for enterprise users, enterprise.
#[utoipa::path(
    tag = "users",
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = MeView), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> AppResult<web::Json<MeView>> {
    let id = user.id;
    let (row, enterprise) = state
        .db
        .read(move |conn| {
            let row = users::find(conn, id)?.ok_or(AppError::Unauthorized("invalid_token"))?;
            let enterprise = match row.enterprise_id {
                Some(e) => enterprises::find(conn, e)?,
                None => None,
            };
            Ok((row, enterprise))
        })
        .await?;
    Ok(web::Json(MeView {
        user: row.into(),
        enterprise: enterprise.map(Into::into),
    }))
}
