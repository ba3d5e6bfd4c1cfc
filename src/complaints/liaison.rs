//! Reconciliation liaison units (投诉和解联络单位): an enterprise enrols with its complaint desk
//! and the deadlines it commits to (at most the association's defaults), association staff of
//! its region approve or refuse the enrolment, and the public directory and verification page
//! show approved units.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AuthUser, roles};
use crate::db::complaints::{self as db, Liaison};
use crate::db::{AnyConnection, audit, now};
use crate::domain::Role;
use crate::error::{AppError, AppResult, Code, FieldError};
use crate::state::AppState;
use crate::views::{Page, paged, utc};

/// An enrolment as the enterprise's administrator sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enrolment {
    /// Required: the complaint desk, a department or a person's role (not a consumer).
    pub contact_name: Option<String>,
    /// Required.
    pub contact_phone: Option<String>,
    /// Required.
    pub contact_email: Option<String>,
    /// Required: when the desk answers, e.g. `工作日 9:00–17:30`.
    pub hours: Option<String>,
    /// Required: working days to acknowledge a complaint (at most the association's default).
    pub acknowledge_days: Option<u32>,
    /// Required: working days after acknowledging to propose a settlement (the same rule).
    pub proposal_days: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LiaisonStatus {
    /// Waiting for the association's approval.
    Pending,
    Approved,
    Refused,
    Withdrawn,
}

impl LiaisonStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Refused => "refused",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Pending,
            Self::Approved,
            Self::Refused,
            Self::Withdrawn,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiaisonView {
    pub enterprise_id: i64,
    pub status: LiaisonStatus,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub hours: String,
    pub acknowledge_days: i32,
    pub proposal_days: i32,
    pub requested_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

pub fn view(l: &Liaison) -> LiaisonView {
    LiaisonView {
        enterprise_id: l.enterprise_id,
        status: LiaisonStatus::parse(&l.status).unwrap_or(LiaisonStatus::Pending),
        contact_name: l.contact_name.clone(),
        contact_phone: l.contact_phone.clone(),
        contact_email: l.contact_email.clone(),
        hours: l.hours.clone(),
        acknowledge_days: l.acknowledge_days,
        proposal_days: l.proposal_days,
        requested_at: utc(l.requested_at),
        decided_at: l.decided_at.map(utc),
    }
}

/// The enterprise if the caller may see its enrolment: its users, staff of its region, and
/// administrators; 404 for everyone else.
fn enterprise_within_reach(
    conn: &mut AnyConnection,
    user: &AuthUser,
    id: i64,
) -> AppResult<crate::db::enterprises::Enterprise> {
    let e = crate::db::enterprises::find(conn, id)?.ok_or(AppError::NotFound)?;
    let may = user.role == Role::Admin || user.belongs_to(id) || user.staff_region(&e.region_code);
    if may { Ok(e) } else { Err(AppError::NotFound) }
}

fn record(
    conn: &mut AnyConnection,
    user: &AuthUser,
    request_id: &str,
    enterprise: i64,
    action: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    audit::append(
        conn,
        audit::Event {
            actor_user_id: Some(user.id),
            action,
            entity_type: "liaison_unit",
            entity_id: enterprise.to_string(),
            enterprise_id: Some(enterprise),
            request_id: Some(request_id),
            details,
        },
    )
}

/// The fields of an enrolment, or the problems with each.
fn check(
    input: Enrolment,
    max: (u32, u32),
) -> AppResult<(String, String, String, String, u32, u32)> {
    let mut errors = Vec::new();
    let required = |field: &str, v: Option<String>, errors: &mut Vec<FieldError>| {
        v.unwrap_or_else(|| {
            errors.push(FieldError::new(field, "required"));
            String::new()
        })
    };
    let name = required("contact_name", input.contact_name, &mut errors);
    let hours = required("hours", input.hours, &mut errors);
    let phone = required("contact_phone", input.contact_phone, &mut errors);
    let email = required("contact_email", input.contact_email, &mut errors);
    let text = |field: &str, v: &str, max: usize, errors: &mut Vec<FieldError>| {
        crate::domain::text::name(v, max)
            .map_err(|e| errors.push(FieldError::new(field, e)))
            .unwrap_or_default()
    };
    let contact_name = text("contact_name", &name, 100, &mut errors);
    let hours = text("hours", &hours, 200, &mut errors);
    let contact = crate::domain::complaint::Contact {
        name: "-".into(),
        phone: Some(phone),
        email: Some(email),
    }
    .parse();
    let (contact_phone, contact_email) = match contact {
        Ok(c) => (c.phone.unwrap_or_default(), c.email.unwrap_or_default()),
        Err(es) => {
            for (f, e) in es {
                let field = f.replace("contact.", "contact_");
                if !errors.iter().any(|x| x.field == field) {
                    errors.push(FieldError::new(field, e));
                }
            }
            Default::default()
        }
    };
    let mut days = |field: &str, v: Option<u32>, max: u32| match v {
        Some(d) if (1..=max).contains(&d) => d,
        _ => {
            errors.push(FieldError::new(
                field,
                format!("commit to 1 to {max} working days (the association's maximum)"),
            ));
            0
        }
    };
    let ack = days("acknowledge_days", input.acknowledge_days, max.0);
    let prop = days("proposal_days", input.proposal_days, max.1);
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok((contact_name, contact_phone, contact_email, hours, ack, prop))
}

/// Enrols the enterprise (or changes its enrolment, which then waits for approval again).
pub async fn enrol(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    enterprise: i64,
    input: Enrolment,
) -> AppResult<LiaisonView> {
    user.require(roles::ENTERPRISE_ADMIN)?;
    let max = (
        state.settings.complaint_acknowledge_days,
        state.settings.complaint_proposal_days,
    );
    let l = state
        .db
        .write(move |conn| {
            enterprise_within_reach(conn, &user, enterprise)?;
            if !user.belongs_to(enterprise) {
                return Err(AppError::NotFound);
            }
            let (contact_name, contact_phone, contact_email, hours, ack, prop) = check(input, max)?;
            let l = Liaison {
                enterprise_id: enterprise,
                status: LiaisonStatus::Pending.as_str().into(),
                contact_name,
                contact_phone,
                contact_email,
                hours,
                acknowledge_days: i32::try_from(ack).unwrap_or(1),
                proposal_days: i32::try_from(prop).unwrap_or(1),
                requested_by: user.id,
                requested_at: now(),
                decided_by: None,
                decided_at: None,
            };
            db::put_liaison(conn, &l)?;
            record(
                conn,
                &user,
                &request_id,
                enterprise,
                "liaison_unit.requested",
                serde_json::json!({
                    "acknowledge_days": l.acknowledge_days, "proposal_days": l.proposal_days,
                }),
            )?;
            Ok(l)
        })
        .await?;
    Ok(view(&l))
}

pub async fn get(state: &AppState, user: AuthUser, enterprise: i64) -> AppResult<LiaisonView> {
    let l = state
        .db
        .read(move |conn| {
            enterprise_within_reach(conn, &user, enterprise)?;
            db::liaison(conn, enterprise)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(view(&l))
}

/// What happens to an enrolment.
#[derive(Debug, Clone, Copy)]
pub enum Decision {
    /// Staff decide: `approved` or `refused` (required).
    Staff(Option<LiaisonStatus>),
    /// The enterprise's administrator withdraws it.
    Withdraw,
}

/// Approves or refuses a pending enrolment (staff of the enterprise's region), or withdraws
/// one (the enterprise's administrator).
pub async fn decide(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    enterprise: i64,
    decision: Decision,
    reason: Option<String>,
) -> AppResult<LiaisonView> {
    let l = state
        .db
        .write(move |conn| {
            let e = enterprise_within_reach(conn, &user, enterprise)?;
            let to = match decision {
                Decision::Withdraw => LiaisonStatus::Withdrawn,
                Decision::Staff(Some(s @ (LiaisonStatus::Approved | LiaisonStatus::Refused))) => s,
                Decision::Staff(_) => {
                    return Err(AppError::validation(
                        "status",
                        "decide `approved` or `refused`",
                    ));
                }
            };
            let reason = reason
                .as_deref()
                .map(|r| crate::domain::text::paragraph(r, 2000))
                .transpose()
                .map_err(|e| AppError::validation("reason", e))?;
            if to == LiaisonStatus::Refused && reason.is_none() {
                return Err(AppError::validation(
                    "reason",
                    "say why the enrolment is refused",
                ));
            }
            let mut l = db::liaison(conn, enterprise)?.ok_or(AppError::NotFound)?;
            let from = LiaisonStatus::parse(&l.status).unwrap_or(LiaisonStatus::Pending);
            match to {
                LiaisonStatus::Withdrawn => {
                    if !(user.role == Role::EnterpriseAdmin && user.belongs_to(enterprise)) {
                        return Err(AppError::Forbidden(
                            "the enterprise's administrator withdraws its enrolment".into(),
                        ));
                    }
                    if matches!(from, LiaisonStatus::Withdrawn | LiaisonStatus::Refused) {
                        return Err(AppError::conflict(
                            Code::InvalidTransition,
                            format!("the enrolment is {}", from.as_str()),
                        ));
                    }
                }
                _ => {
                    if !user.staff_region(&e.region_code) {
                        return Err(AppError::Forbidden(
                            "association staff of the enterprise's region decide enrolments".into(),
                        ));
                    }
                    if from != LiaisonStatus::Pending {
                        return Err(AppError::conflict(
                            Code::InvalidTransition,
                            format!("the enrolment is {}, not pending", from.as_str()),
                        ));
                    }
                }
            }
            l.status = to.as_str().into();
            l.decided_by = Some(user.id);
            l.decided_at = Some(now());
            db::put_liaison(conn, &l)?;
            record(
                conn,
                &user,
                &request_id,
                enterprise,
                &format!("liaison_unit.{}", to.as_str()),
                serde_json::json!({ "from": from.as_str(), "reason": reason }),
            )?;
            Ok(l)
        })
        .await?;
    Ok(view(&l))
}

/// Enrolments of a status (staff: of their region; administrators: all), by enterprise id.
pub async fn list(
    state: &AppState,
    user: AuthUser,
    status: Option<LiaisonStatus>,
    after: i64,
    limit: i64,
) -> AppResult<Page<LiaisonView>> {
    if !(user.role == Role::Admin || roles::COMPLAINT_STAFF.contains(&user.role)) {
        return Err(AppError::Forbidden("for association staff".into()));
    }
    let rows = state
        .db
        .read(move |conn| {
            let mut out = Vec::new();
            let mut cursor = after;
            // Staff of a region: skip other regions' enrolments, page by page.
            loop {
                let batch = db::liaisons(conn, status.map(|s| s.as_str()), cursor, 200)?;
                let done = batch.len() < 200;
                for l in batch {
                    cursor = l.enterprise_id;
                    let region = crate::db::enterprises::find(conn, l.enterprise_id)?
                        .map(|e| e.region_code)
                        .unwrap_or_default();
                    if user.role == Role::Admin || user.staff_region(&region) {
                        out.push(l);
                        if out.len() as i64 > limit {
                            return Ok(out);
                        }
                    }
                }
                if done {
                    return Ok(out);
                }
            }
        })
        .await?;
    let (rows, next_cursor) = paged(rows, limit, |l| l.enterprise_id.to_string());
    Ok(Page {
        items: rows.iter().map(view).collect(),
        next_cursor,
    })
}

/// Whether the enterprise is an approved liaison unit (the public directory and verification
/// page say so).
pub fn is_unit(conn: &mut AnyConnection, enterprise: i64) -> AppResult<bool> {
    Ok(db::liaison(conn, enterprise)?.is_some_and(|l| l.status == "approved"))
}
