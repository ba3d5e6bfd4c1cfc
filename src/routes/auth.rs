//! Login, token refresh, logout and password change.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts;
use crate::auth::AuthUser;
use crate::domain::Password;
use crate::error::{AppError, AppResult, Problem};
use crate::extract::{Json, RequestId};
use crate::state::AppState;
use crate::views::TokenResponse;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 12 characters.
    pub new_password: String,
}

/// Log in with e-mail and password: a 15-minute access token and a single-use refresh token.
/// Attempts are counted per (account, client address) and per client address before the password
/// is checked; past the limits the answer is 429 with `Retry-After`.
#[utoipa::path(
    operation_id = "loginUser",
    security(()),
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    rid: RequestId,
    body: Json<LoginRequest>,
) -> AppResult<HttpResponse> {
    let LoginRequest { email, password } = body.0;
    if password.len() > crate::domain::user::PASSWORD_MAX_BYTES {
        return Err(AppError::InvalidCredentials);
    }
    let tokens = accounts::login(
        state,
        &email,
        password,
        crate::auth::client_address(&req),
        rid.0,
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(tokens))
}

/// Exchange a refresh token for a new token pair. Each refresh token works once; presenting a
/// used one revokes every token of its login.
#[utoipa::path(
    operation_id = "refreshToken",
    security(()),
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    rid: RequestId,
    body: Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    let tokens = accounts::refresh(state, body.0.refresh_token, rid.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(tokens))
}

/// End a session: the refresh token and every token rotated from the same login stop working.
#[utoipa::path(operation_id = "logoutUser", security(()), tag = "auth", request_body = RefreshRequest, responses((status = 204)))]
#[post("/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    rid: RequestId,
    body: Json<RefreshRequest>,
) -> AppResult<HttpResponse> {
    accounts::logout(&state, body.0.refresh_token, rid.0).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Change the caller's password; all of the caller's sessions are ended. Wrong current passwords
/// are throttled like failed logins (429 with `Retry-After`).
#[utoipa::path(
    operation_id = "changePassword",
    tag = "auth",
    request_body = PasswordChange,
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 204),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    rid: RequestId,
    body: Json<PasswordChange>,
) -> AppResult<HttpResponse> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.0;
    let new =
        Password::parse(&new_password).map_err(|e| AppError::validation("new_password", e))?;
    let client = crate::auth::client_address(&req);
    accounts::change_password(&state, &user, current_password, new, &client, rid.0).await?;
    Ok(HttpResponse::NoContent().finish())
}
