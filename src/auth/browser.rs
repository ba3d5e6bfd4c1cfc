//! The browser side of authentication, which the access middleware applies to the web
//! console's pages: the session cookie (`HttpOnly`, `SameSite=Strict`, `Secure` and `__Host-`
//! behind https), the live session it names (idle timeout, absolute expiry, revocation, the
//! user still enabled), the `Origin` check of state-changing requests, and the way to the login
//! page. Signing in and out is in `console::session`.

use std::future::{Ready, ready};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse};

use crate::auth::AuthUser;
use crate::db::console_sessions as db;
use crate::db::{self as store, users};
use crate::domain::Role;
use crate::domain::canonical::sha256_hex;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::views::split_scopes;

/// The session cookie's name: with the `__Host-` prefix (which browsers accept only on a
/// `Secure` cookie for the whole host) when the service is reached over https.
pub fn cookie_name(state: &AppState) -> &'static str {
    if secure(state) {
        "__Host-csr_console"
    } else {
        "csr_console"
    }
}

fn secure(state: &AppState) -> bool {
    state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
}

/// The cookie that carries a session's token.
pub fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    let mut c = Cookie::new(cookie_name(state), token);
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_secure(secure(state));
    c
}

/// The cookie that ends the session in the browser.
pub fn cleared_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = session_cookie(state, String::new());
    c.make_removal();
    c
}

/// The signed-in user of a console request, with the session it came through.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: AuthUser,
    pub email: String,
    pub display_name: Option<String>,
    pub session_id: i64,
    pub csrf: String,
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    /// The access middleware found the session and left the caller in the request.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Caller>()
                .cloned()
                .ok_or_else(|| AppError::Forbidden("this page needs a console session".into())),
        )
    }
}

/// Finds the live session named by the request's cookie: not revoked, not idle for longer than
/// `CSR_CONSOLE_IDLE_SECS`, not past its absolute expiry, of a user still enabled. Records the
/// request in it (at most once a minute).
pub async fn authenticate(state: &AppState, req: &HttpRequest) -> AppResult<Caller> {
    let token = req
        .cookie(cookie_name(state))
        .map(|c| c.value().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or(AppError::Unauthorized(crate::error::Code::MissingToken))?;
    let idle = chrono::Duration::seconds(state.settings.console_idle_secs);
    let found = state
        .db
        .write(move |conn| {
            let now = store::now();
            let Some(s) = db::find_by_hash(conn, &sha256_hex(token.as_bytes()))? else {
                return Ok(None);
            };
            if s.revoked_at.is_some() || s.expires_at <= now || s.last_seen_at + idle <= now {
                return Ok(None);
            }
            let Some(u) = users::find(conn, s.user_id)?.filter(|u| !u.disabled) else {
                return Ok(None);
            };
            db::touch(conn, s.id, now)?;
            Ok(Some((s, u)))
        })
        .await?;
    let (s, u) = found.ok_or(AppError::Unauthorized(crate::error::Code::InvalidToken))?;
    let role = Role::parse(&u.role).ok_or_else(|| AppError::internal("unknown role"))?;
    Ok(Caller {
        user: AuthUser {
            id: u.id,
            role,
            enterprise_id: u.enterprise_id,
            region_scope: u.region_scope,
            industry_scopes: split_scopes(u.industry_scopes.as_deref()),
            session: format!("console:{}", s.id),
        },
        email: u.email,
        display_name: u.display_name,
        session_id: s.id,
        csrf: s.csrf_token,
    })
}

/// Whether a state-changing request comes from the console's own pages: its `Origin` must be
/// this service's (the public URL's origin, or the request's own host when none is set).
pub fn same_origin(state: &AppState, req: &actix_web::dev::ServiceRequest) -> bool {
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    match state.settings.public_url.as_deref() {
        Some(public) => {
            let public = public.trim_end_matches('/');
            url::Url::parse(public)
                .ok()
                .is_some_and(|u| u.origin().ascii_serialization() == origin)
        }
        None => {
            let info = req.connection_info();
            origin == format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// The answer to a console request without a live session: the login page, coming back here
/// afterwards (for htmx, through `HX-Redirect`, so the whole page goes there).
pub fn sign_in_first(req: &HttpRequest) -> HttpResponse {
    let back = if req.method() == actix_web::http::Method::GET {
        req.uri()
            .path_and_query()
            .map_or("/console/", |p| p.as_str())
    } else {
        "/console/"
    };
    let target = format!(
        "/console/login?{}",
        serde_urlencoded::to_string([("next", back)]).unwrap_or_default()
    );
    if req.headers().contains_key("hx-request") {
        return HttpResponse::Unauthorized()
            .insert_header(("HX-Redirect", target))
            .finish();
    }
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, target))
        .finish()
}
