//! Browser sessions of the console: a login form checked exactly like the API's login (same
//! throttling, same argon2 verification, same audit), a server-side session behind an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` and `__Host-` when the public URL is https),
//! an idle timeout and an absolute lifetime, and a synchroniser CSRF token that every
//! state-changing form carries, beside an `Origin` check on every console POST.

use std::future::{Ready, ready};

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::accounts;
use crate::auth::{AuthUser, random_token};
use crate::db::console_sessions::{self as db, ConsoleSession, NewConsoleSession};
use crate::db::{self as store, audit, users};
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

/// Logs in through the console: the API's own check ([`accounts::verify_login`]), then a new
/// session in the same transaction that settles the login. Returns the cookie's token.
pub async fn login(
    state: &AppState,
    email: &str,
    password: String,
    client: String,
    user_agent: String,
    request_id: String,
) -> AppResult<String> {
    let verified =
        accounts::verify_login(state, email, password, client.clone(), &request_id).await?;
    let token = random_token(32);
    let hash = sha256_hex(token.as_bytes());
    let lifetime = chrono::Duration::seconds(state.settings.console_session_secs);
    state
        .db
        .write(move |conn| {
            verified.settle(conn, &request_id, "console")?;
            let now = store::now();
            let agent: String = user_agent.chars().take(300).collect();
            db::insert(
                conn,
                &NewConsoleSession {
                    token_hash: &hash,
                    user_id: verified.user().id,
                    csrf_token: &random_token(32),
                    client: &client,
                    user_agent: &agent,
                    created_at: now,
                    last_seen_at: now,
                    expires_at: now + lifetime,
                },
            )?;
            Ok(())
        })
        .await?;
    Ok(token)
}

/// Ends one session of the caller's (their own current one on logout), audited.
pub async fn revoke(
    state: &AppState,
    caller: &Caller,
    id: i64,
    request_id: String,
) -> AppResult<()> {
    let (user_id, current) = (caller.user.id, caller.session_id);
    state
        .db
        .write(move |conn| {
            if !db::revoke(conn, user_id, id, store::now())? {
                return Err(AppError::NotFound);
            }
            audit::append(
                conn,
                audit::Event {
                    actor_user_id: Some(user_id),
                    action: if id == current {
                        "auth.logout"
                    } else {
                        "auth.session_revoked"
                    },
                    entity_type: "user",
                    entity_id: user_id.to_string(),
                    enterprise_id: None,
                    request_id: Some(&request_id),
                    details: serde_json::json!({ "channel": "console", "session": id }),
                },
            )
        })
        .await
}

/// The caller's live console sessions, newest first.
pub async fn sessions(state: &AppState, caller: &Caller) -> AppResult<Vec<ConsoleSession>> {
    let id = caller.user.id;
    state
        .db
        .read(move |conn| db::live_of_user(conn, id, store::now()))
        .await
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

/// A console form: URL-encoded fields with the session's CSRF token in `csrf`, compared in
/// constant time; a missing or wrong token is 403 and the form is not read further.
pub struct Form<T>(pub T);

#[derive(serde::Deserialize)]
struct Token {
    csrf: Option<String>,
}

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = super::chrome::PageError;
    type Future =
        futures_util::future::LocalBoxFuture<'static, Result<Self, super::chrome::PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = req.extensions().get::<Caller>().cloned();
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move { read_form(bytes.await, caller).map_err(Into::into) })
    }
}

/// Checks the form's CSRF token against the session's, then reads the form.
fn read_form<T: DeserializeOwned>(
    bytes: Result<web::Bytes, actix_web::Error>,
    caller: Option<Caller>,
) -> AppResult<Form<T>> {
    let bytes =
        bytes.map_err(|e| AppError::BadRequest(format!("the form could not be read: {e}")))?;
    let caller =
        caller.ok_or_else(|| AppError::Forbidden("this form needs a console session".into()))?;
    let token: Token = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| AppError::BadRequest(format!("the form could not be read: {e}")))?;
    if !token
        .csrf
        .as_deref()
        .is_some_and(|t| constant_time_eq(t.as_bytes(), caller.csrf.as_bytes()))
    {
        return Err(AppError::Forbidden(
            "the form's CSRF token is missing or stale; reload the page".into(),
        ));
    }
    serde_urlencoded::from_bytes(&bytes)
        .map(Form)
        .map_err(|e| AppError::validation("form", e.to_string()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }
}
