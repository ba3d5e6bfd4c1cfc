//! Accounts, as workflows the HTTP routes, the console and the command line share: users
//! (creation, disabling, the first administrator), enterprises ([`enterprise`]: registration,
//! the business-licence check) and sessions ([`sessions`]: login with throttling, refresh-token
//! rotation, logout and password changes).

mod enterprise;
mod sessions;

pub use enterprise::*;
pub use sessions::*;

use actix_web::web;

use crate::auth::{AuthUser, random_token, roles};
use crate::db::{self, AnyConnection, audit, enterprises, tokens, users};
use crate::domain::{Email, IndustryCode, Password, RegionCode, Role};
use crate::error::{AppError, AppResult, Code, FieldError};
use crate::idempotency::{self, Keyed, Made, Outcome};
use crate::state::AppState;
use crate::views::{MeView, Page, UserView, paged};

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

pub(super) async fn hash(state: &AppState, password: &Password) -> AppResult<String> {
    let hasher = state.hasher.clone();
    let password = password.clone();
    web::block(move || hasher.hash(password.expose()))
        .await?
        .map_err(AppError::internal)
}

pub(super) fn insert_user(
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
    match create_user_keyed(state, account, actor, None).await? {
        Outcome::Done(made) => Ok(made.value),
        Outcome::Replayed(_) => Err(AppError::internal("replayed without a key")),
    }
}

/// Where user `id` is read.
pub fn user_location(id: i64) -> String {
    format!("/api/v1/users/{id}")
}

/// [`create_user`] under an `Idempotency-Key` of the actor's for `operation`. The password is
/// not part of the request's digest (a digest of it would be a fast hash of it): a retry is
/// compared on everything else.
pub async fn create_user_keyed(
    state: &AppState,
    account: NewAccount,
    actor: Actor,
    key: Option<(&'static str, String)>,
) -> AppResult<Outcome<Made<UserView>>> {
    let keyed = match (key, actor.user_id) {
        (Some((operation, key)), Some(user_id)) => {
            let request = serde_json::json!({
                "email": account.email.as_str(), "role": account.role,
                "enterprise_id": account.enterprise_id, "region_scope": account.region_scope,
                "industry_scopes": account.industry_scopes, "display_name": account.display_name,
            });
            Keyed::new(user_id, operation, Some(key), &request)
        }
        _ => None,
    };
    if let Some(k) = keyed.clone()
        && let Some(replay) = state
            .db
            .read(move |conn| idempotency::recall(conn, &k))
            .await?
    {
        return Ok(Outcome::Replayed(replay));
    }
    let hash = hash(state, &account.password).await?;
    idempotency::write(state, keyed, move |conn| {
        let user: UserView = insert_user(conn, &account, &hash, &actor)?.into();
        let location = user_location(user.id);
        Ok(Made::created(user, location))
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
        return Err(AppError::conflict(
            Code::OwnAccount,
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
        Err(AppError::Conflict { .. }) => Ok(None),
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
        Some(_) if !role.has_region() => {
            f.check::<()>(
                "region_scope",
                Err("only reviewers and complaint officers have a region scope"),
            );
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

/// Users by id after the cursor, optionally of one role (administrators).
pub async fn list_users(
    state: &AppState,
    user: &AuthUser,
    role: Option<Role>,
    after: i64,
    limit: i64,
) -> AppResult<Page<UserView>> {
    user.require(roles::ADMIN)?;
    let role = role.map(Role::as_str);
    let rows = state
        .db
        .read(move |conn| users::list(conn, role, after, limit + 1))
        .await?;
    let (rows, next_cursor) = paged(rows, limit, |r| r.id.to_string());
    Ok(Page {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    })
}

/// One user: administrators see everyone, others only themselves and, for enterprise
/// administrators, the users of their enterprise; 404 otherwise.
pub async fn find_user(state: &AppState, user: &AuthUser, id: i64) -> AppResult<UserView> {
    let row = state
        .db
        .read(move |conn| users::find(conn, id))
        .await?
        .ok_or(AppError::NotFound)?;
    let visible = user.role == Role::Admin
        || user.id == row.id
        || (user.role == Role::EnterpriseAdmin
            && row.enterprise_id.is_some()
            && row.enterprise_id == user.enterprise_id);
    if !visible {
        return Err(AppError::NotFound);
    }
    Ok(row.into())
}

/// Whether enterprise `id` exists (a reviewer's affiliation must name one).
pub async fn enterprise_exists(state: &AppState, id: i64) -> AppResult<bool> {
    Ok(state
        .db
        .read(move |conn| enterprises::find(conn, id))
        .await?
        .is_some())
}

/// The caller's user and, for enterprise users, enterprise.
pub async fn me(state: &AppState, user: &AuthUser) -> AppResult<MeView> {
    let id = user.id;
    let (row, enterprise) = state
        .db
        .read(move |conn| {
            let row = users::find(conn, id)?.ok_or(AppError::Unauthorized(Code::InvalidToken))?;
            let enterprise = match row.enterprise_id {
                Some(e) => enterprises::find(conn, e)?,
                None => None,
            };
            Ok((row, enterprise))
        })
        .await?;
    Ok(MeView {
        user: row.into(),
        enterprise: enterprise.map(Into::into),
    })
}
