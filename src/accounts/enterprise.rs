//! Enterprises: registration with their first administrator, and the association's check of
//! the business licence.

use super::{Actor, NewAccount, hash, insert_user};
use crate::auth::{AuthUser, roles};
use crate::db::enterprises::Enterprise;
use crate::db::{self, audit, enterprises, evidence, throttle, users};
use crate::domain::{CreditCode, Email, IndustryCode, Password, RegionCode, Role, Size};
use crate::error::{AppError, AppResult, Code};
use crate::scope::reviewer_may_act;
use crate::state::AppState;
use crate::views::{EnterpriseView, Page, UserView, paged};

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
            AppError::Conflict {
                code: Code::AlreadyExists,
                ..
            } => AppError::conflict(
                Code::AlreadyExists,
                "The credit code or the administrator's e-mail is already registered; if the \
                 enterprise is yours, log in or ask the association."
                    .into(),
            ),
            other => other,
        })?;
    Ok(enterprise.into())
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
) -> AppResult<Vec<UserView>> {
    let e = visible_enterprise(state, user, id).await?;
    let rows = state
        .db
        .read(move |conn| users::of_enterprise(conn, e.id))
        .await?;
    Ok(rows.into_iter().map(Into::into).collect())
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
