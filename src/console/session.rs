//! Browser sessions of the console: a login form checked exactly like the API's login (same
//! throttling, same argon2 verification, same audit), a server-side session behind an
//! `HttpOnly`, `SameSite=Strict` cookie (`Secure` and `__Host-` when the public URL is https),
//! an idle timeout and an absolute lifetime, and a synchroniser CSRF token that every
//! state-changing form carries, beside an `Origin` check on every console POST.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::accounts;
pub use crate::auth::browser::{Caller, cleared_cookie, session_cookie, token_of};
use crate::auth::random_token;
use crate::db::console_sessions::{self as db, ConsoleSession, NewConsoleSession};
use crate::db::{self as store, audit};
use crate::domain::canonical::sha256_hex;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Logs in through the console: the API's own check ([`accounts::verify_login`]), then a new
/// session in the same transaction that settles the login (ending the `previous` one the
/// browser held, if any). Returns the cookie's token.
pub async fn login(
    state: &AppState,
    email: &str,
    password: String,
    client: String,
    user_agent: String,
    request_id: String,
    previous: Option<String>,
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
            // A session this browser still held ends: one browser, one session.
            if let Some(old) = &previous {
                db::revoke_by_hash(conn, &sha256_hex(old.as_bytes()), now)?;
            }
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
    let idle = chrono::Duration::seconds(state.settings.console_idle_secs);
    state
        .db
        .read(move |conn| {
            let now = store::now();
            db::live_of_user(conn, id, now, now - idle)
        })
        .await
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
