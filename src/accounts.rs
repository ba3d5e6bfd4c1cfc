//! Account operations shared by the HTTP routes and the command line: registration, user
//! creation, login with throttling, refresh-token rotation, logout and password changes.

use crate::domain::canonical::sha256_hex;
use actix_web::web;

use crate::auth::{AuthUser, random_token};
use crate::config::Settings;
use crate::db::{self, AnyConnection, audit, enterprises, throttle, tokens, users};
use crate::domain::{CreditCode, Email, IndustryCode, Password, RegionCode, Role, Size};
use crate::error::{AppError, AppResult, FieldError};
use crate::state::AppState;
use crate::views::{EnterpriseView, TokenResponse, UserView, split_scopes};

/// A validated account to create.
#[derive(Debug)]
pub struct NewAccount {
    pub email: Email,
    pub password: Password,
    pub role: Role,
    pub enterprise_id: Option<i64>,
    pub region_scope: Option<String>,
    pub industry_scopes: Vec<String>,
    pub display_name: Option<String>,
}

/// Who asked for a change, for the audit log.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub request_id: Option<String>,
}

impl Actor {
    pub fn user(user: &AuthUser, request_id: &str) -> Self {
        Self {
            user_id: Some(user.id),
            request_id: Some(request_id.to_owned()),
        }
    }
}

/// Collects field errors so a client learns about every bad field at once.
#[derive(Default)]
pub struct Fields(Vec<FieldError>);

impl Fields {
    pub fn check<T>(&mut self, field: &str, result: Result<T, impl ToString>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(FieldError::new(field, e.to_string()));
                None
            }
        }
    }

    pub fn finish(self) -> AppResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self.0))
        }
    }
}

async fn hash(state: &AppState, password: &Password) -> AppResult<String> {
    let hasher = state.hasher.clone();
    let password = password.clone();
    web::block(move || hasher.hash(password.expose()))
        .await?
        .map_err(AppError::internal)
}

fn insert_user(
    conn: &mut AnyConnection,
    account: &NewAccount,
    hash: &str,
    actor: &Actor,
) -> AppResult<users::User> {
    let now = db::now();
    let scopes = account.industry_scopes.join(",");
    let id = users::insert(
        conn,
        &users::NewUser {
            email: account.email.as_str(),
            password_hash: hash,
            role: account.role.as_str(),
            enterprise_id: account.enterprise_id,
            region_scope: account.region_scope.as_deref(),
            industry_scopes: (!scopes.is_empty()).then_some(scopes.as_str()),
            display_name: account.display_name.as_deref(),
            disabled: false,
            created_at: now,
            password_changed_at: now,
        },
    )?;
    audit::append(
        conn,
        audit::Event {
            actor_user_id: actor.user_id,
            action: "user.created",
            entity_type: "user",
            entity_id: id.to_string(),
            enterprise_id: account.enterprise_id,
            request_id: actor.request_id.as_deref(),
            details: serde_json::json!({ "email": account.email.as_str(), "role": account.role }),
        },
    )?;
    users::find(conn, id)?.ok_or(AppError::NotFound)
}

/// Creates a user; the password is hashed off the request threads.
pub async fn create_user(
    state: &AppState,
    account: NewAccount,
    actor: Actor,
) -> AppResult<UserView> {
    let hash = hash(state, &account.password).await?;
    let user = state
        .db
        .write(move |conn| insert_user(conn, &account, &hash, &actor))
        .await?;
    Ok(user.into())
}

/// A validated enterprise registration.
#[derive(Debug)]
pub struct Registration {
    pub credit_code: CreditCode,
    pub name: String,
    pub industry: IndustryCode,
    pub region: RegionCode,
    pub size: Size,
    pub contact_email: Email,
    pub admin_email: Email,
    pub admin_password: Password,
}

/// Registers an enterprise and its first `enterprise_admin` in one transaction. Each client
/// address may register `CSR_REGISTRATIONS_PER_ADDRESS` times an hour (counted before the
/// password is hashed); a credit code or e-mail already in use gets one answer that does not
/// say which.
pub async fn register_enterprise(
    state: &AppState,
    reg: Registration,
    client: &str,
    actor: Actor,
) -> AppResult<EnterpriseView> {
    let key = format!("register:{client}");
    let limit = state.settings.registrations_per_address;
    let wait = state
        .db
        .write(move |conn| {
            let now = db::now();
            let hour = chrono::Duration::hours(1);
            let (attempts, start) = throttle::reserve(conn, &key, now, now - hour)?;
            Ok((attempts > limit).then(|| (start + hour - now).num_seconds().max(1) as u64))
        })
        .await?;
    if let Some(retry_after_secs) = wait {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    let hash = hash(state, &reg.admin_password).await?;
    let enterprise = state
        .db
        .write(move |conn| {
            let id = enterprises::insert(
                conn,
                &enterprises::NewEnterprise {
                    credit_code: reg.credit_code.as_str(),
                    name: &reg.name,
                    industry_code: reg.industry.as_str(),
                    region_code: reg.region.as_str(),
                    size: reg.size.as_str(),
                    contact_email: reg.contact_email.as_str(),
                    created_at: db::now(),
                },
            )?;
            audit::append(
                conn,
                audit::Event {
                    actor_user_id: actor.user_id,
                    action: "enterprise.registered",
                    entity_type: "enterprise",
                    entity_id: id.to_string(),
                    enterprise_id: Some(id),
                    request_id: actor.request_id.as_deref(),
                    details: serde_json::json!({
                        "credit_code": reg.credit_code.as_str(),
                        "industry_code": reg.industry.as_str(),
                        "region_code": reg.region.as_str(),
                    }),
                },
            )?;
            let admin = NewAccount {
                email: reg.admin_email,
                password: reg.admin_password,
                role: Role::EnterpriseAdmin,
                enterprise_id: Some(id),
                region_scope: None,
                industry_scopes: Vec::new(),
                display_name: None,
            };
            insert_user(conn, &admin, &hash, &actor)?;
            enterprises::find(conn, id)?.ok_or(AppError::NotFound)
        })
        .await
        .map_err(|e| match e {
            AppError::Conflict("already_exists", _) => AppError::Conflict(
                "already_exists",
                "The credit code or the administrator's e-mail is already registered; if the \
                 enterprise is yours, log in or ask the association."
                    .into(),
            ),
            other => other,
        })?;
    Ok(enterprise.into())
}

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

/// Logs a user in. Unknown accounts, wrong passwords and disabled accounts all cost one argon2
/// verification and give the same 401. Each attempt is counted before the password is checked,
/// per (account, address) and per address; past the limits the answer is 429 with `Retry-After`.
pub async fn login(
    state: web::Data<AppState>,
    email: &str,
    password: String,
    client: String,
    request_id: String,
) -> AppResult<TokenResponse> {
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
            request_id.clone(),
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

    let user = match user {
        Some(u) if verified && !u.disabled => u,
        // The attempt was counted before the check; what remains is to record it.
        user => {
            let reason = match &user {
                None => "unknown_account",
                Some(u) if verified && u.disabled => "disabled",
                Some(_) => "wrong_password",
            };
            let rid = request_id.clone();
            state
                .db
                .write(move |conn| {
                    let failed = "auth.login_failed";
                    audit_failure(conn, failed, user.as_ref(), &label, &client, reason, &rid)
                })
                .await?;
            return Err(AppError::InvalidCredentials);
        }
    };

    let st = state.clone();
    let (user, family, refresh) = state
        .db
        .write(move |conn| {
            // The password checked must still be the account's: a change (or disabling) while
            // argon2 ran wins over this login.
            let current = users::find(conn, user.id)?;
            if current.is_none_or(|c| {
                c.disabled
                    || c.password_changed_at != user.password_changed_at
                    || c.password_hash != user.password_hash
            }) {
                return Err(AppError::InvalidCredentials);
            }
            attempt_succeeded(conn, &keys)?;
            if let Some(h) = &rehash {
                users::set_password_hash(conn, user.id, h, None)?;
            }
            let family = uuid::Uuid::new_v4().to_string();
            let refresh = new_refresh_token(conn, &st, user.id, &family)?;
            audit::append(
                conn,
                audit::Event {
                    actor_user_id: Some(user.id),
                    action: "auth.login",
                    entity_type: "user",
                    entity_id: user.id.to_string(),
                    enterprise_id: user.enterprise_id,
                    request_id: Some(&request_id),
                    details: serde_json::json!({ "rehashed": rehash.is_some(), "client": client }),
                },
            )?;
            Ok((user, family, refresh))
        })
        .await?;
    token_response(&state, &user, &family, refresh)
}

enum Rotation {
    /// The user, the session (refresh-token family) and the next refresh token.
    Issued(Box<users::User>, String, String),
    Rejected,
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
                return Ok(Rotation::Rejected);
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
        Rotation::Rejected => Err(AppError::Unauthorized("invalid_refresh_token")),
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
        .ok_or(AppError::Unauthorized("invalid_token"))?;
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

/// Disables or re-enables user `id`, with the reason in the audit log. Disabling ends every
/// session of the user at once (access tokens included, see `auth::access::still_valid`).
/// Nobody disables their own account, so an installation keeps an administrator who can undo it.
pub async fn set_disabled(
    state: &AppState,
    id: i64,
    disabled: bool,
    reason: String,
    actor: Actor,
) -> AppResult<UserView> {
    if reason.trim().is_empty() || reason.chars().count() > 2000 {
        return Err(AppError::validation(
            "reason",
            "give a reason of at most 2000 characters",
        ));
    }
    if disabled && actor.user_id == Some(id) {
        return Err(AppError::Conflict(
            "own_account",
            "you cannot disable your own account".into(),
        ));
    }
    state
        .db
        .write(move |conn| {
            let before = users::find(conn, id)?.ok_or(AppError::NotFound)?;
            users::set_disabled(conn, id, disabled)?;
            let now = db::now();
            let revoked = if disabled {
                tokens::revoke_user(conn, id, now)?
            } else {
                0
            };
            if before.disabled != disabled {
                audit::append(
                    conn,
                    audit::Event {
                        actor_user_id: actor.user_id,
                        action: if disabled {
                            "user.disabled"
                        } else {
                            "user.enabled"
                        },
                        entity_type: "user",
                        entity_id: id.to_string(),
                        enterprise_id: before.enterprise_id,
                        request_id: actor.request_id.as_deref(),
                        details: serde_json::json!({ "reason": reason, "sessions_revoked": revoked }),
                    },
                )?;
            }
            let after = users::find(conn, id)?.ok_or(AppError::NotFound)?;
            Ok(after.into())
        })
        .await
}

/// On an empty database, creates the first administrator. Returns the generated password when
/// none was configured, so the caller can show it once.
pub async fn bootstrap_admin(state: &AppState) -> AppResult<Option<(String, Option<String>)>> {
    if state.db.read(users::any_admin).await? {
        return Ok(None);
    }
    let email = Email::parse(&state.settings.admin_email)
        .map_err(|e| AppError::internal(format!("CSR_ADMIN_EMAIL {e}")))?;
    let (password, generated) = match &state.settings.admin_password {
        Some(p) => (
            Password::parse(p.expose())
                .map_err(|e| AppError::internal(format!("CSR_ADMIN_PASSWORD {e}")))?,
            None,
        ),
        None => {
            let p = random_token(18);
            (Password::parse(&p).map_err(AppError::internal)?, Some(p))
        }
    };
    let account = NewAccount {
        email: email.clone(),
        password,
        role: Role::Admin,
        enterprise_id: None,
        region_scope: None,
        industry_scopes: Vec::new(),
        display_name: Some("Administrator".into()),
    };
    match create_user(state, account, Actor::default()).await {
        Ok(_) => Ok(Some((email.as_str().to_owned(), generated))),
        // Another instance bootstrapped at the same moment.
        Err(AppError::Conflict(..)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Validates an association or administration account (reviewer, industry body, admin).
pub fn staff_account(
    email: &str,
    password: &str,
    role: Role,
    region_scope: Option<&str>,
    industry_scopes: &[String],
    display_name: Option<String>,
) -> AppResult<NewAccount> {
    let mut f = Fields::default();
    let email = f.check("email", Email::parse(email));
    let password = f.check("password", Password::parse(password));
    if role.is_enterprise() {
        f.check::<()>(
            "role",
            Err("enterprise users are added through their enterprise"),
        );
    }
    let region_scope = match region_scope {
        Some(_) if role != Role::Reviewer => {
            f.check::<()>("region_scope", Err("only reviewers have a region scope"));
            None
        }
        Some(r) => f.check("region_scope", RegionCode::parse_prefix(r)),
        None => None,
    };
    let mut scopes = Vec::new();
    if role == Role::IndustryBody && industry_scopes.is_empty() {
        f.check::<()>(
            "industry_scopes",
            Err("an industry body needs at least one industry code"),
        );
    }
    if role != Role::IndustryBody && !industry_scopes.is_empty() {
        f.check::<()>(
            "industry_scopes",
            Err("only industry bodies have industry scopes"),
        );
    }
    for (i, code) in industry_scopes.iter().enumerate() {
        if let Some(c) = f.check(&format!("industry_scopes[{i}]"), IndustryCode::parse(code)) {
            scopes.push(c.as_str().to_owned());
        }
    }
    let display_name = f
        .check("display_name", self::display_name(display_name.as_deref()))
        .flatten();
    f.finish()?;
    match (email, password) {
        (Some(email), Some(password)) => Ok(NewAccount {
            email,
            password,
            role,
            enterprise_id: None,
            region_scope,
            industry_scopes: scopes,
            display_name,
        }),
        _ => Err(AppError::internal("validation passed without values")),
    }
}

/// A person's display name, normalised (see [`crate::domain::text::name`]).
pub fn display_name(name: Option<&str>) -> Result<Option<String>, String> {
    name.map(|n| crate::domain::text::name(n, 100)).transpose()
}
