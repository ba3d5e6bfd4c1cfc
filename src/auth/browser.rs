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

/// The session cookie behind https: the `__Host-` prefix makes browsers accept it only when
/// `Secure`, for the whole host, and never set by a sibling domain.
const SECURE_NAME: &str = "__Host-csr_console";
/// The session cookie over plain http (a service on localhost, tests).
const PLAIN_NAME: &str = "csr_console";

/// Whether the console is reached over https: the public URL says so, or the request came in
/// over TLS.
fn secure(state: &AppState, req: &HttpRequest) -> bool {
    state
        .settings
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || req.connection_info().scheme() == "https"
}

/// The cookie that carries a session's token: `HttpOnly`, `SameSite=Strict`, the whole host,
/// and `Secure` with the `__Host-` prefix behind https.
pub fn session_cookie(state: &AppState, req: &HttpRequest, token: String) -> Cookie<'static> {
    let secure = secure(state, req);
    let mut c = Cookie::new(if secure { SECURE_NAME } else { PLAIN_NAME }, token);
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_secure(secure);
    c
}

/// The cookie that ends the session in the browser.
pub fn cleared_cookie(state: &AppState, req: &HttpRequest) -> Cookie<'static> {
    let mut c = session_cookie(state, req, String::new());
    c.make_removal();
    c
}

/// The session token the request carries, if any (the `__Host-` cookie first).
pub fn token_of(req: &HttpRequest) -> Option<String> {
    [SECURE_NAME, PLAIN_NAME]
        .iter()
        .find_map(|name| req.cookie(name))
        .map(|c| c.value().to_owned())
        .filter(|t| !t.is_empty())
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
/// `CSR_CONSOLE_IDLE_SECS`, not past its absolute expiry, of a user still enabled. Looked up
/// with a read, so that made-up cookies cost no write; the request is recorded in the session
/// when its last record is older than a minute (or half the idle timeout, if shorter).
pub async fn authenticate(state: &AppState, req: &HttpRequest) -> AppResult<Caller> {
    let token = token_of(req).ok_or(AppError::Unauthorized(crate::error::Code::MissingToken))?;
    let idle = chrono::Duration::seconds(state.settings.console_idle_secs);
    let found = state
        .db
        .read(move |conn| {
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
            Ok(Some((s, u)))
        })
        .await?;
    let (s, u) = found.ok_or(AppError::Unauthorized(crate::error::Code::InvalidToken))?;
    let every = chrono::Duration::seconds((state.settings.console_idle_secs / 2).clamp(1, 60));
    let now = store::now();
    if s.last_seen_at + every <= now {
        let id = s.id;
        state.db.write(move |conn| db::touch(conn, id, now)).await?;
    }
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
