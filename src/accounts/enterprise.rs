//! Enterprises: registration with their first administrator, and the association's check of
//! the business licence.

use super::{Actor, NewAccount, hash, insert_user};
use crate::auth::{AuthUser, roles};
use crate::db::enterprises::Enterprise;
use crate::db::{self, audit, enterprises, evidence, throttle, users};
use crate::domain::{CreditCode, Email, IndustryCode, Password, RegionCode, Role, Size};
use crate::error::{AppError, AppResult, Code};
use crate::idempotency::{self, Keyed, Made, Outcome, Replay};
use crate::scope::reviewer_may_act;
use crate::state::AppState;
use crate::views::{EnterpriseView, Page, UserView, paged};
use actix_web::web;

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
    key: Option<String>,
) -> AppResult<Outcome<Made<EnterpriseView>>> {
    let throttle_key = format!("register:{client}");
    let limit = state.settings.registrations_per_address;
    let wait = state
        .db
        .write(move |conn| {
            let now = db::now();
            let hour = chrono::Duration::hours(1);
            let (attempts, start) = throttle::reserve(conn, &throttle_key, now, now - hour)?;
            Ok((attempts > limit).then(|| (start + hour - now).num_seconds().max(1) as u64))
        })
        .await?;
    if let Some(retry_after_secs) = wait {
        return Err(AppError::TooManyRequests { retry_after_secs });
    }
    // The key's owner is not known before the administrator exists: a retry is recognised by
    // the request (without the password) and proves itself with the password it set.
    let keyed = Keyed::new(0, REGISTER, key, &reg.digest_input());
    if let Some(replay) = recall_registration(state, keyed.as_ref(), &reg.admin_password).await? {
        return Ok(Outcome::Replayed(replay));
    }
    let hash = hash(state, &reg.admin_password).await?;
    let password = reg.admin_password.clone();
    let keyed_w = keyed.clone();
    let result = state
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
            let admin = insert_user(conn, &admin, &hash, &actor)?;
            let view: EnterpriseView = enterprises::find(conn, id)?
                .ok_or(AppError::NotFound)?
                .into();
            let made = Made::created(view, enterprise_location(id));
            if let Some(k) = keyed_w.map(|k| Keyed {
                user_id: admin.id,
                ..k
            }) {
                idempotency::keep(
                    conn,
                    &k,
                    made.status,
                    &made.value,
                    None,
                    made.location.as_deref(),
                )?;
            }
            Ok(made)
        })
        .await;
    match result {
        Ok(made) => Ok(Outcome::Done(made)),
        Err(AppError::Conflict {
            code: Code::AlreadyExists,
            ..
        }) => {
            // A concurrent retry with the same key may have registered first.
            if let Some(replay) = recall_registration(state, keyed.as_ref(), &password).await? {
                return Ok(Outcome::Replayed(replay));
            }
            Err(AppError::conflict(
                Code::AlreadyExists,
                "The credit code or the administrator's e-mail is already registered; if the \
                 enterprise is yours, log in or ask the association."
                    .into(),
            ))
        }
        Err(other) => Err(other),
    }
}

/// The idempotency operation of a registration.
const REGISTER: &str = "registerEnterprise";

/// Where enterprise `id` is read.
pub fn enterprise_location(id: i64) -> String {
    format!("/api/v1/enterprises/{id}")
}

impl Registration {
    /// What a registration asks for, without the password.
    fn digest_input(&self) -> serde_json::Value {
        serde_json::json!({
            "credit_code": self.credit_code.as_str(), "name": self.name,
            "industry_code": self.industry.as_str(), "region_code": self.region.as_str(),
            "size": self.size.as_str(), "contact_email": self.contact_email.as_str(),
            "admin_email": self.admin_email.as_str(),
        })
    }
}

/// The response kept for a registration under this key, if the retry names the same enterprise
/// and administrator and carries the password that administrator was given (verified like a
/// login, after the registration throttle); 422 otherwise.
async fn recall_registration(
    state: &AppState,
    keyed: Option<&Keyed>,
    password: &Password,
) -> AppResult<Option<Replay>> {
    let Some(k) = keyed.cloned() else {
        return Ok(None);
    };
    let found = state
        .db
        .read(move |conn| {
            let Some((user_id, row)) = db::idempotency::find_anonymous(conn, REGISTER, &k.key)?
            else {
                return Ok(None);
            };
            let stored = users::find(conn, user_id)?.map(|u| u.password_hash);
            Ok(Some((row, k.request_hash, stored)))
        })
        .await?;
    let Some((row, request_hash, stored)) = found else {
        return Ok(None);
    };
    let hasher = state.hasher.clone();
    let password = password.clone();
    let same_password =
        web::block(move || hasher.verify(password.expose(), stored.as_deref())).await?;
    if row.request_hash != request_hash || !same_password {
        return Err(idempotency::key_reused());
    }
    Ok(Some(Replay::from(row)))
}

/// Enterprises by id after the cursor (administrators).
pub async fn list_enterprises(
    state: &AppState,
    user: &AuthUser,
    after: i64,
    limit: i64,
) -> AppResult<Page<EnterpriseView>> {
    user.require(roles::ADMIN)?;
    let rows = state
        .db
        .read(move |conn| enterprises::list(conn, after, limit + 1))
        .await?;
    let (rows, next_cursor) = paged(rows, limit, |r| r.id.to_string());
    Ok(Page {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    })
}

/// An enterprise its own users and administrators may see; 404 for everyone else.
pub async fn visible_enterprise(
    state: &AppState,
    user: &AuthUser,
    id: i64,
) -> AppResult<Enterprise> {
    if !user.can_see_enterprise(id) {
        return Err(AppError::NotFound);
    }
    state
        .db
        .read(move |conn| enterprises::find(conn, id))
        .await?
        .ok_or(AppError::NotFound)
}

/// The users of an enterprise the caller may see.
pub async fn enterprise_users(
    state: &AppState,
    user: &AuthUser,
    id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Page<UserView>> {
    let e = visible_enterprise(state, user, id).await?;
    let rows = state
        .db
        .read(move |conn| users::of_enterprise(conn, e.id, after, limit + 1))
        .await?;
    let (rows, next_cursor) = paged(rows, limit, |u| u.id.to_string());
    Ok(Page {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    })
}

/// Records that the enterprise's business licence (one of its evidence files) was checked
/// against its credit code: administrators, and reviewers who may act on the enterprise. Until
/// then its submissions cannot be approved.
pub async fn verify_enterprise(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    evidence_id: i64,
    note: Option<String>,
) -> AppResult<EnterpriseView> {
    user.require(roles::ADMIN_OR_REVIEWER)?;
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Err(AppError::validation("note", "at most 2000 characters"));
    }
    let e = state
        .db
        .write(move |conn| {
            let e = enterprises::find(conn, id)?.ok_or(AppError::NotFound)?;
            if user.role == Role::Reviewer {
                reviewer_may_act(conn, &user, &e)?;
            }
            let licence = evidence::find(conn, evidence_id)?
                .filter(|f| f.enterprise_id == id)
                .ok_or_else(|| {
                    AppError::validation("evidence_id", "not an evidence file of this enterprise")
                })?;
            enterprises::set_verified(conn, id, user.id, licence.id, db::now())?;
            audit::append(
                conn,
                audit::Event {
                    actor_user_id: Some(user.id),
                    action: "enterprise.verified",
                    entity_type: "enterprise",
                    entity_id: id.to_string(),
                    enterprise_id: Some(id),
                    request_id: Some(&request_id),
                    details: serde_json::json!({
                        "credit_code": e.credit_code,
                        "evidence_id": licence.id,
                        "sha256": licence.sha256,
                        "note": note,
                    }),
                },
            )?;
            enterprises::find(conn, id)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(e.into())
}
