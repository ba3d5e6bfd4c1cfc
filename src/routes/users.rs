//! Association and administration accounts, managed by administrators.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::accounts::{self, Actor};
use crate::auth::{AuthUser, roles};
use crate::domain::Role;
use crate::error::{AppError, AppResult, Problem};
use crate::extract::{IdempotencyKey, Json, Page, Query, RequestId};
use crate::state::AppState;
use crate::views::{self, UserView};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    /// `admin`, `reviewer` or `industry_body`.
    pub role: Role,
    /// Reviewers: GB/T 2260 prefix (2, 4 or 6 digits) of their local association; omit for national.
    pub region_scope: Option<String>,
    /// Industry bodies: GB/T 4754 code prefixes, e.g. `["C13", "C14"]`.
    #[serde(default)]
    pub industry_scopes: Vec<String>,
    pub display_name: Option<String>,
    /// Reviewers: the enterprise they work for, if any; they will never review it.
    pub enterprise_id: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserFilter {
    /// Only users of this role.
    pub role: Option<Role>,
    /// The `next_cursor` of the previous page; without it, the first page.
    pub cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Create a reviewer, industry-body or administrator account (administrators).
#[utoipa::path(
    operation_id = "createUser",
    tag = "users",
    request_body = CreateUser,
    params(("Idempotency-Key" = Option<String>, Header)),
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, body = UserView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("")]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    key: IdempotencyKey,
    body: Json<CreateUser>,
) -> AppResult<HttpResponse> {
    user.require(roles::ADMIN)?;
    let b = body.0;
    let mut account = accounts::staff_account(
        &b.email,
        &b.password,
        b.role,
        b.region_scope.as_deref(),
        &b.industry_scopes,
        b.display_name,
    )?;
    if let Some(e) = b.enterprise_id {
        if b.role != Role::Reviewer {
            return Err(AppError::validation(
                "enterprise_id",
                "only reviewers have an affiliation",
            ));
        }
        if !accounts::enterprise_exists(&state, e).await? {
            return Err(AppError::validation("enterprise_id", "no such enterprise"));
        }
        account.enterprise_id = Some(e);
    }
    let actor = Actor::user(&user, &rid.0);
    let key = key.0.map(|k| ("createUser", k));
    let outcome = accounts::create_user_keyed(&state, account, actor, key).await?;
    Ok(super::keyed_response(outcome))
}

/// List users (administrators), optionally of one role.
#[utoipa::path(
    operation_id = "listUsers",
    tag = "users",
    params(UserFilter),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = views::Page<UserView>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    filter: Query<UserFilter>,
) -> AppResult<HttpResponse> {
    let (after, limit) = Page {
        cursor: filter.cursor.clone(),
        limit: filter.limit,
    }
    .bounds()?;
    let page = accounts::list_users(&state, &user, filter.role, after, limit).await?;
    Ok(super::page_response(&req, page))
}

/// One user: administrators see everyone, others only themselves and, for enterprise
/// administrators, the users of their enterprise.
#[utoipa::path(
    operation_id = "getUser",
    tag = "users",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = UserView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<UserView>> {
    Ok(web::Json(
        accounts::find_user(&state, &user, id.into_inner()).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountChange {
    /// Why, for the audit log (at most 2000 characters).
    pub reason: String,
}

/// Disable a user (administrators): logins are refused and every session ends at once, access
/// tokens included, on every instance. Administrators cannot disable themselves.
#[utoipa::path(
    operation_id = "disableUser",
    tag = "users",
    params(("id" = i64, Path)),
    request_body = AccountChange,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, body = UserView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/disable")]
pub async fn disable(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<AccountChange>,
) -> AppResult<web::Json<UserView>> {
    user.require(roles::ADMIN)?;
    let actor = Actor::user(&user, &rid.0);
    let view = accounts::set_disabled(&state, id.into_inner(), true, body.0.reason, actor).await?;
    Ok(web::Json(view))
}

/// Re-enable a disabled user (administrators). Sessions ended by disabling stay ended.
#[utoipa::path(
    operation_id = "enableUser",
    tag = "users",
    params(("id" = i64, Path)),
    request_body = AccountChange,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, body = UserView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/enable")]
pub async fn enable(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<AccountChange>,
) -> AppResult<web::Json<UserView>> {
    user.require(roles::ADMIN)?;
    let actor = Actor::user(&user, &rid.0);
    let view = accounts::set_disabled(&state, id.into_inner(), false, body.0.reason, actor).await?;
    Ok(web::Json(view))
}
