//! Sessions: login with throttling, refresh-token rotation, logout, and password changes that
//! end every other session.

use crate::domain::canonical::sha256_hex;
use actix_web::web;

use crate::auth::{AuthUser, random_token};
use crate::config::Settings;
use crate::db::{self, AnyConnection, audit, throttle, tokens, users};
use crate::domain::{Email, Password, Role};
use crate::error::{AppError, AppResult, Code};
use crate::state::AppState;
use crate::views::{TokenResponse, split_scopes};

/// Makes a new refresh token in `family` and stores its hash.
fn new_refresh_token(
    conn: &mut AnyConnection,
    state: &AppState,
    user_id: i64,
    family: &str,
) -> AppResult<String> {
    let token = format!("rt_{}", random_token(32));
    let now = db::now();
    tokens::insert(
        conn,
        &tokens::NewRefreshToken {
            token_hash: &sha256_hex(token.as_bytes()),
            family_id: family,
            user_id,
            created_at: now,
            expires_at: now + chrono::Duration::seconds(state.settings.refresh_token_ttl_secs),
        },
    )?;
    Ok(token)
}

fn token_response(
    state: &AppState,
    user: &users::User,
    session: &str,
    refresh_token: String,
) -> AppResult<TokenResponse> {
    let role =
        Role::parse(&user.role).ok_or_else(|| AppError::internal("unknown role in database"))?;
    let access_token = state
        .jwt
        .issue(
            user.id,
            role,
            user.enterprise_id,
            user.region_scope.clone(),
            split_scopes(user.industry_scopes.as_deref()),
            session,
        )
        .map_err(AppError::internal)?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: state.jwt.ttl_secs(),
    })
}

/// The throttling keys of a password attempt on `email` from `client`, with their limits: the
/// (account, address) pair, so that nobody can lock an account's holder out from another
/// address, and the address, so that one client cannot try many accounts.
/// The account-wide key bounds guessing from many addresses at once. The e-mail enters the keys
/// as a digest, so that a key's length never follows the input's.
fn attempt_keys(settings: &Settings, email: &str, client: &str) -> [(String, i32); 3] {
    let account = &sha256_hex(email.as_bytes())[..32];
    [
        (
            format!("login:{account}|{client}"),
            settings.login_max_failures,
        ),
        (
            format!("address:{client}"),
            settings.login_max_failures_per_address,
        ),
        (
            format!("account:{account}"),
            settings.login_max_failures_per_account,
        ),
    ]
}

/// Counts a password attempt before the password is evaluated ([`throttle::reserve`]). Past a
/// key's limit the answer is the wait before retrying; the first refusal of a window is audited
/// (later ones in the same window are not, so refusals cannot flood the log). Must commit before
/// the evaluation starts.
fn reserve_attempt(
    conn: &mut AnyConnection,
    keys: &[(String, i32)],
    window: chrono::Duration,
    audit_as: (Option<i64>, &str, &str),
) -> AppResult<Option<u64>> {
    let now = db::now();
    let mut wait: Option<u64> = None;
    let mut first_refusal = false;
    for (key, limit) in keys {
        let (attempts, start) = throttle::reserve(conn, key, now, now - window)?;
        if attempts > *limit {
            let secs = (start + window - now).num_seconds().max(1) as u64;
            wait = Some(wait.map_or(secs, |w| w.max(secs)));
            first_refusal |= attempts == limit + 1;
        }
    }
    if first_refusal {
        let (user, email, request_id) = audit_as;
        audit::append(
            conn,
            audit::Event {
                actor_user_id: None,
                action: "auth.throttled",
                entity_type: "user",
                entity_id: user.map_or_else(|| email.to_owned(), |id| id.to_string()),
                enterprise_id: None,
                request_id: Some(request_id),
                details: serde_json::json!({ "keys": keys.iter().map(|(k, _)| k).collect::<Vec<_>>() }),
            },
        )?;
    }
    Ok(wait)
}

/// Audits a failed password check: who was tried, from where, and why it failed (never the
/// password).
fn audit_failure(
    conn: &mut AnyConnection,
    action: &str,
    user: Option<&users::User>,
    email: &str,
    client: &str,
    reason: &str,
    request_id: &str,
) -> AppResult<()> {
    audit::append(
        conn,
        audit::Event {
            actor_user_id: user.map(|u| u.id),
            action,
            entity_type: "user",
            entity_id: user.map_or_else(|| email.to_owned(), |u| u.id.to_string()),
            enterprise_id: user.and_then(|u| u.enterprise_id),
            request_id: Some(request_id),
            details: serde_json::json!({ "client": client, "reason": reason }),
        },
    )
}

/// After a successful attempt: the pair starts afresh and the address gets its attempt back.
fn attempt_succeeded(conn: &mut AnyConnection, keys: &[(String, i32)]) -> AppResult<()> {
    throttle::clear(conn, &keys[0].0)?;
    throttle::refund(conn, &keys[1].0)?;
    throttle::refund(conn, &keys[2].0)
}

/// A password checked at login: the account, the throttling keys to settle, and the new hash
/// when the stored one uses weaker parameters than today's.
pub struct Verified {
    user: users::User,
    keys: [(String, i32); 3],
    rehash: Option<String>,
    client: String,
}

/// Checks a login's e-mail and password. Unknown accounts, wrong passwords and disabled
/// accounts all cost one argon2 verification and give the same 401. Each attempt is counted
/// before the password is checked, per (account, address) and per address; past the limits the
/// answer is 429 with `Retry-After`. The API and the console log in through this one check.
pub async fn verify_login(
    state: &AppState,
    email: &str,
    password: String,
    client: String,
    request_id: &str,
) -> AppResult<Verified> {
    let parsed = Email::parse(email).map(|e| e.as_str().to_owned());
    // What the audit log names for an unknown account: never more than an e-mail address.
    let label = parsed
        .clone()
        .unwrap_or_else(|_| "(not an e-mail address)".to_owned());
    let email = parsed.unwrap_or_else(|_| email.trim().to_lowercase());
    let keys = attempt_keys(&state.settings, &email, &client);
    let window = chrono::Duration::seconds(state.settings.login_window_secs);
    let (user, wait) = {
        let (email, label, keys, rid) = (
            email.clone(),
            label.clone(),
            keys.clone(),
            request_id.to_owned(),
        );
        state
            .db
            .write(move |conn| {
                let user = users::find_by_email(conn, &email)?;
                let who = (user.as_ref().map(|u| u.id), label.as_str(), rid.as_str());
                let wait = reserve_attempt(conn, &keys, window, who)?;
                Ok((user, wait))
            })
            .await?
    };
    if let Some(retry_after_secs) = wait {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }

    let hasher = state.hasher.clone();
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let (verified, rehash) = web::block(move || {
        let ok = hasher.verify(&password, stored.as_deref());
        let rehash = match stored {
            Some(h) if ok && hasher.needs_rehash(&h) => hasher.hash(&password).ok(),
            _ => None,
        };
        (ok, rehash)
    })
    .await?;

    match user {
        Some(u) if verified && !u.disabled => Ok(Verified {
            user: u,
            keys,
            rehash,
            client,
        }),
        // The attempt was counted before the check; what remains is to record it.
        user => {
            let reason = match &user {
                None => "unknown_account",
                Some(u) if verified && u.disabled => "disabled",
                Some(_) => "wrong_password",
            };
            let rid = request_id.to_owned();
            state
                .db
                .write(move |conn| {
                    let failed = "auth.login_failed";
                    audit_failure(conn, failed, user.as_ref(), &label, &client, reason, &rid)
                })
                .await?;
            Err(AppError::InvalidCredentials)
        }
    }
}

impl Verified {
    /// The account logged in.
    pub fn user(&self) -> &users::User {
        &self.user
    }

    /// Completes a login in the transaction that opens its session: the password checked must
    /// still be the account's (a change or disabling while argon2 ran wins over the login), the
    /// throttling counters are settled, a due rehash is stored and the login is audited with the
    /// `channel` it came through (`api`, `console`).
    pub fn settle(
        &self,
        conn: &mut AnyConnection,
        request_id: &str,
        channel: &str,
    ) -> AppResult<()> {
        let user = &self.user;
        let current = users::find(conn, user.id)?;
        if current.is_none_or(|c| {
            c.disabled
                || c.password_changed_at != user.password_changed_at
                || c.password_hash != user.password_hash
        }) {
            return Err(AppError::InvalidCredentials);
        }
        attempt_succeeded(conn, &self.keys)?;
        if let Some(h) = &self.rehash {
            users::set_password_hash(conn, user.id, h, None)?;
        }
        audit::append(
            conn,
            audit::Event {
                actor_user_id: Some(user.id),
                action: "auth.login",
                entity_type: "user",
                entity_id: user.id.to_string(),
                enterprise_id: user.enterprise_id,
                request_id: Some(request_id),
                details: serde_json::json!({
                    "rehashed": self.rehash.is_some(), "client": self.client, "channel": channel,
                }),
            },
        )
    }
}

/// Logs a user in to the API ([`verify_login`]) and opens a session: an access token and the
/// first refresh token of a new family.
pub async fn login(
    state: web::Data<AppState>,
    email: &str,
    password: String,
    client: String,
    request_id: String,
) -> AppResult<TokenResponse> {
    let verified = verify_login(&state, email, password, client, &request_id).await?;
    let st = state.clone();
    let (verified, family, refresh) = state
        .db
        .write(move |conn| {
            verified.settle(conn, &request_id, "api")?;
            let family = uuid::Uuid::new_v4().to_string();
            let refresh = new_refresh_token(conn, &st, verified.user.id, &family)?;
            Ok((verified, family, refresh))
        })
        .await?;
    token_response(&state, &verified.user, &family, refresh)
}

enum Rotation {
    /// The user, the session (refresh-token family) and the next refresh token.
    Issued(Box<users::User>, String, String),
    Rejected,
    Reused,
}

/// Exchanges a refresh token for a new pair. A token that was already used revokes its whole
/// family: whoever holds a stolen copy and the rightful owner are both logged out.
pub async fn refresh(
    state: web::Data<AppState>,
    token: String,
    request_id: String,
) -> AppResult<TokenResponse> {
    let st = state.clone();
    let outcome = state
        .db
        .write(move |conn| {
            let now = db::now();
            let Some(row) = tokens::find_by_hash(conn, &sha256_hex(token.as_bytes()))? else {
                return Ok(Rotation::Rejected);
            };
            if row.revoked_at.is_some() || row.expires_at <= now {
                return Ok(Rotation::Rejected);
            }
            if row.used_at.is_some() || !tokens::mark_used(conn, row.id, now)? {
                let revoked = tokens::revoke_family(conn, &row.family_id, now)?;
                audit::append(
                    conn,
                    audit::Event {
                        actor_user_id: Some(row.user_id),
                        action: "auth.refresh_token_reused",
                        entity_type: "user",
                        entity_id: row.user_id.to_string(),
                        enterprise_id: None,
                        request_id: Some(&request_id),
                        details: serde_json::json!({ "family": row.family_id, "revoked": revoked }),
                    },
                )?;
                tracing::warn!(
                    user_id = row.user_id,
                    "refresh token reused; family revoked"
                );
                return Ok(Rotation::Reused);
            }
            let user = users::find(conn, row.user_id)?.ok_or(AppError::NotFound)?;
            if user.disabled {
                tokens::revoke_family(conn, &row.family_id, now)?;
                return Ok(Rotation::Rejected);
            }
            let next = new_refresh_token(conn, &st, user.id, &row.family_id)?;
            Ok(Rotation::Issued(Box::new(user), row.family_id, next))
        })
        .await?;
    match outcome {
        Rotation::Issued(user, family, next) => token_response(&state, &user, &family, next),
        Rotation::Rejected => Err(AppError::Unauthorized(Code::InvalidRefreshToken)),
        Rotation::Reused => Err(AppError::Unauthorized(Code::RefreshTokenReused)),
    }
}

/// Revokes the refresh token's family. Unknown tokens are ignored, so logout is idempotent.
pub async fn logout(state: &AppState, token: String, request_id: String) -> AppResult<()> {
    state
        .db
        .write(move |conn| {
            if let Some(row) = tokens::find_by_hash(conn, &sha256_hex(token.as_bytes()))? {
                let revoked = tokens::revoke_family(conn, &row.family_id, db::now())?;
                if revoked > 0 {
                    audit::append(
                        conn,
                        audit::Event {
                            actor_user_id: Some(row.user_id),
                            action: "auth.logout",
                            entity_type: "user",
                            entity_id: row.user_id.to_string(),
                            enterprise_id: None,
                            request_id: Some(&request_id),
                            details: serde_json::json!({ "revoked": revoked }),
                        },
                    )?;
                }
            }
            Ok(())
        })
        .await
}

/// Changes the caller's password after checking the current one, and ends all their sessions.
pub async fn change_password(
    state: &AppState,
    user: &AuthUser,
    current: String,
    new: Password,
    client: &str,
    request_id: String,
) -> AppResult<()> {
    let id = user.id;
    let row = state
        .db
        .read(move |conn| users::find(conn, id))
        .await?
        .ok_or(AppError::Unauthorized(Code::InvalidToken))?;
    // The current password is guessed like a login: the same counters and limits.
    let keys = attempt_keys(&state.settings, &row.email, client);
    let window = chrono::Duration::seconds(state.settings.login_window_secs);
    {
        let (keys, email, rid) = (keys.clone(), row.email.clone(), request_id.clone());
        let wait = state
            .db
            .write(move |conn| reserve_attempt(conn, &keys, window, (Some(id), &email, &rid)))
            .await?;
        if let Some(retry_after_secs) = wait {
            return Err(AppError::TooManyRequests { retry_after_secs });
        }
    }
    let hasher = state.hasher.clone();
    let stored = row.password_hash.clone();
    let (ok, hash) = web::block(move || {
        let ok = hasher.verify(&current, Some(&stored));
        (
            ok,
            if ok {
                hasher.hash(new.expose()).ok()
            } else {
                None
            },
        )
    })
    .await?;
    let hash = match (ok, hash) {
        (true, Some(h)) => h,
        (true, None) => return Err(AppError::internal("hashing failed")),
        (false, _) => {
            let (client, rid) = (client.to_owned(), request_id.clone());
            state
                .db
                .write(move |conn| {
                    let failed = "auth.password_check_failed";
                    let reason = "wrong_password";
                    audit_failure(conn, failed, Some(&row), &row.email, &client, reason, &rid)
                })
                .await?;
            return Err(AppError::validation("current_password", "is wrong"));
        }
    };
    state
        .db
        .write(move |conn| {
            let now = db::now();
            attempt_succeeded(conn, &keys)?;
            users::set_password_hash(conn, id, &hash, Some(now))?;
            let revoked = tokens::revoke_user(conn, id, now)?;
            audit::append(
                conn,
                audit::Event {
                    actor_user_id: Some(id),
                    action: "user.password_changed",
                    entity_type: "user",
                    entity_id: id.to_string(),
                    enterprise_id: None,
                    request_id: Some(&request_id),
                    details: serde_json::json!({ "sessions_revoked": revoked }),
                },
            )
        })
        .await
}
