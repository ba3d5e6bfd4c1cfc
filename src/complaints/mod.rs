//! Complaint reconciliation (协商和解): complaints recorded by association staff or sent by
//! partner platforms, forwarded to the enterprise, acknowledged and answered with a settlement
//! proposal within deadlines in working days, the consumer's answer recorded by staff, closed,
//! reopened within a window; reminders and escalations when deadlines near and pass; group
//! complaints raising an incident. See `docs/COMPLAINTS.md`.
//!
//! The consumer's contact and the complaint's own words are personal data: sealed at rest
//! ([`seal`]), read only through [`personal_data`] by the enterprise's users and the staff on
//! the case (each read audited), never part of a list, a statistic, an export, a webhook or a
//! log line, and erased after the retention period ([`sweep`]).

pub mod liaison;
pub mod measures;
pub mod renewal;
pub mod seal;
pub mod surveillance;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AuthUser, roles};
use crate::db::complaints::{self as db, Case, Complaint, Full, Reach};
use crate::db::{AnyConnection, audit, complaint_months, now};
use crate::domain::Role;
use crate::domain::complaint::{Action, Category, Channel, Contact, Stage, State, next};
use crate::domain::webhook::EventType;
use crate::error::{AppError, AppResult, Code, FieldError};
use crate::idempotency::{self, Keyed, Made, Outcome};
use crate::state::AppState;
use crate::views::{Page, paged, utc};
use crate::webhooks::{self, Event};

/// Today in China (UTC+8): deadlines are Chinese working days.
pub fn today() -> NaiveDate {
    date_in_china(Utc::now().naive_utc())
}

/// The date in China (UTC+8) at the stored UTC time `at`: complaints are dated by it, so a
/// window of complaints around a stored time takes this date (from 16:00 UTC it is the next
/// day's).
pub fn date_in_china(at: chrono::NaiveDateTime) -> NaiveDate {
    (at + Duration::hours(8)).date()
}

/// A complaint to record.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComplaint {
    /// The enterprise complained about, by its unified social credit code.
    pub credit_code: String,
    pub category: Category,
    pub channel: Channel,
    /// The amount in dispute, in fen (0.01 yuan).
    #[schema(minimum = 0, maximum = 100_000_000_000_i64)]
    pub amount_fen: Option<i64>,
    /// What happened, in the consumer's words (personal data: sealed, erased after the
    /// retention period).
    pub description: String,
    /// How to reach the consumer (personal data, as above).
    pub contact: Contact,
    /// When the consumer complained (default today); deadlines count from it.
    pub received_on: Option<NaiveDate>,
    /// A partner platform's own number for the complaint: a second complaint with it is
    /// refused (409).
    pub external_ref: Option<String>,
}

/// A complaint as its readers see it. Never carries personal data: that is read, audited, at
/// `GET /complaints/{id}/personal-data`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComplaintView {
    pub id: i64,
    pub reference: String,
    pub enterprise_id: i64,
    pub category: Category,
    pub channel: Channel,
    pub amount_fen: Option<i64>,
    pub received_on: NaiveDate,
    pub state: State,
    /// How a closed complaint ended: `reconciled` or `not_reconciled`.
    pub outcome: Option<State>,
    pub acknowledge_due: NaiveDate,
    pub acknowledged_on: Option<NaiveDate>,
    pub proposal_due: Option<NaiveDate>,
    pub proposal: Option<String>,
    pub proposed_on: Option<NaiveDate>,
    /// Why the consumer rejected the proposal; the complaint was referred to mediation.
    pub rejection_reason: Option<String>,
    pub closed_on: Option<NaiveDate>,
    /// A closed complaint may be reopened until then.
    pub reopen_until: Option<NaiveDate>,
    pub reopened: i32,
    /// The deadline the complaint runs against now, if any.
    pub running_against: Option<Stage>,
    /// Whether that deadline has passed (today, in China).
    pub overdue: bool,
    /// The stage whose deadline passed and was escalated, and when.
    pub escalated_stage: Option<Stage>,
    pub escalated_at: Option<DateTime<Utc>>,
    /// The group-complaint incident it belongs to.
    pub incident_id: Option<i64>,
    /// The association staff member on the case.
    pub officer_id: Option<i64>,
    pub external_ref: Option<String>,
    /// Set once the consumer's contact and words were erased after the retention period.
    pub personal_data_erased_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The consumer's personal data of a complaint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PersonalData {
    pub contact: Contact,
    pub description: String,
}

/// The deadline a complaint runs against, and when it falls.
fn current_deadline(c: &Complaint) -> Option<(Stage, NaiveDate)> {
    match State::parse(&c.state)?.stage()? {
        Stage::Acknowledge => Some((Stage::Acknowledge, c.acknowledge_due)),
        Stage::Proposal => c.proposal_due.map(|d| (Stage::Proposal, d)),
    }
}

pub fn view((c, case): &Full, today: NaiveDate) -> ComplaintView {
    let deadline = current_deadline(c);
    ComplaintView {
        id: c.id,
        reference: c.reference.clone(),
        enterprise_id: c.enterprise_id,
        category: Category::parse(&c.category).unwrap_or(Category::Other),
        channel: Channel::parse(&c.channel).unwrap_or(Channel::Online),
        amount_fen: c.amount_fen,
        received_on: c.received_on,
        state: State::parse(&c.state).unwrap_or(State::Forwarded),
        outcome: c.outcome.as_deref().and_then(State::parse),
        acknowledge_due: c.acknowledge_due,
        acknowledged_on: c.acknowledged_on,
        proposal_due: c.proposal_due,
        proposal: case.proposal.clone(),
        proposed_on: case.proposed_on,
        rejection_reason: case.rejection_reason.clone(),
        closed_on: c.closed_on,
        reopen_until: case.reopen_until,
        reopened: case.reopened,
        running_against: deadline.map(|(s, _)| s),
        overdue: deadline.is_some_and(|(_, due)| due < today),
        escalated_stage: case.escalated_stage.as_deref().and_then(Stage::parse),
        escalated_at: case.escalated_at.map(utc),
        incident_id: c.incident_id,
        officer_id: case.officer_id,
        external_ref: case.external_ref.clone(),
        personal_data_erased_at: case.erased_at.map(utc),
        created_at: utc(case.created_at),
        updated_at: utc(case.updated_at),
    }
}

/// Where complaint `id` is read.
pub fn location(id: i64) -> String {
    format!("/api/v1/complaints/{id}")
}

/// What the caller may list: administrators everything, staff their region, a platform what
/// it sent, an enterprise's users their enterprise's.
fn reach(user: &AuthUser) -> AppResult<Reach> {
    Ok(match user.role {
        Role::Admin => Reach::All,
        Role::ComplaintOfficer | Role::Reviewer => Reach::Region(user.region_scope.clone()),
        Role::ComplaintPlatform => Reach::RecordedBy(user.id),
        Role::EnterpriseAdmin | Role::EnterpriseMember => match user.enterprise_id {
            Some(e) if user.belongs_to(e) => Reach::Enterprise(e),
            _ => return Err(AppError::NotFound),
        },
        Role::IndustryBody => {
            return Err(AppError::Forbidden(
                "complaints are not shown to industry bodies".into(),
            ));
        }
    })
}

/// Whether association staff cover an enterprise: a complaint officer its region; a reviewer
/// its region unless they belong to it or to a competitor of it (the conflict-of-interest rule
/// of reviews applies to complaints too).
pub fn staff_covers(
    conn: &mut AnyConnection,
    user: &AuthUser,
    enterprise: i64,
    region_code: &str,
) -> AppResult<bool> {
    Ok(match user.role {
        Role::ComplaintOfficer => user.staff_region(region_code),
        Role::Reviewer => match crate::db::enterprises::find(conn, enterprise)? {
            Some(e) => crate::scope::reviewer_may_act(conn, user, &e).is_ok(),
            None => false,
        },
        _ => false,
    })
}

/// A complaint the caller may see, or 404 exactly as for a missing one.
fn visible(conn: &mut AnyConnection, user: &AuthUser, id: i64) -> AppResult<Full> {
    let full = db::find(conn, id)?.ok_or(AppError::NotFound)?;
    let (c, case) = &full;
    let may = match reach(user)? {
        Reach::All => true,
        Reach::Region(_) => staff_covers(conn, user, c.enterprise_id, &c.region_code)?,
        Reach::RecordedBy(u) => case.recorded_by == u,
        Reach::Enterprise(e) => c.enterprise_id == e,
    };
    if may {
        Ok(full)
    } else {
        Err(AppError::NotFound)
    }
}

fn record(
    conn: &mut AnyConnection,
    actor: Option<i64>,
    request_id: Option<&str>,
    c: &Complaint,
    action: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    audit::append(
        conn,
        audit::Event {
            actor_user_id: actor,
            action,
            entity_type: "complaint",
            entity_id: c.id.to_string(),
            enterprise_id: Some(c.enterprise_id),
            request_id,
            details,
        },
    )
}

/// A complaint event for the enterprise's endpoints: what the complaint list shows, never
/// personal data.
fn event(kind: EventType, c: &Complaint, extra: serde_json::Value) -> Event {
    let mut data = serde_json::json!({
        "complaint_id": c.id,
        "reference": c.reference,
        "enterprise_id": c.enterprise_id,
        "category": c.category,
        "state": c.state,
        "acknowledge_due": c.acknowledge_due,
        "proposal_due": c.proposal_due,
    });
    if let (Some(d), Some(e)) = (data.as_object_mut(), extra.as_object()) {
        d.extend(e.clone());
    }
    Event {
        kind,
        enterprise_id: c.enterprise_id,
        industry_code: c.industry_code.clone(),
        data,
        dedupe_key: None,
    }
}

/// The working days an enterprise has for each stage: its approved liaison enrolment's
/// commitment, otherwise the association's default.
fn commitments(
    conn: &mut AnyConnection,
    settings: &crate::config::Settings,
    enterprise: i64,
) -> AppResult<(u32, u32)> {
    let defaults = (
        settings.complaint_acknowledge_days,
        settings.complaint_proposal_days,
    );
    Ok(match db::liaison(conn, enterprise)? {
        Some(l) if l.status == "approved" => (
            u32::try_from(l.acknowledge_days).unwrap_or(defaults.0),
            u32::try_from(l.proposal_days).unwrap_or(defaults.1),
        ),
        _ => defaults,
    })
}

/// Records a complaint and forwards it to the enterprise. With `Idempotency-Key`, a retry is
/// answered with the first response and records nothing.
pub async fn create(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    input: NewComplaint,
    key: Option<String>,
) -> AppResult<Outcome<Made<ComplaintView>>> {
    user.require(roles::COMPLAINT_INTAKE)?;
    let today = today();
    let mut errors = Vec::new();
    let credit_code = crate::domain::text::identifier(&input.credit_code);
    if let Err(e) = crate::domain::CreditCode::parse(&credit_code) {
        errors.push(FieldError::new("credit_code", e.to_string()));
    }
    let description = crate::domain::text::paragraph(&input.description, 4000)
        .map_err(|e| errors.push(FieldError::new("description", e)))
        .unwrap_or_default();
    let contact = input
        .contact
        .parse()
        .map_err(|es| {
            for (f, e) in es {
                errors.push(FieldError::new(f, e));
            }
        })
        .ok();
    if let Some(a) = input.amount_fen
        && !(0..=100_000_000_000).contains(&a)
    {
        errors.push(FieldError::new(
            "amount_fen",
            "must be between 0 and 100000000000 (one billion yuan)",
        ));
    }
    let received_on = input.received_on.unwrap_or(today);
    if received_on > today {
        errors.push(FieldError::new("received_on", "must not be in the future"));
    } else if received_on < today - Duration::days(366) {
        errors.push(FieldError::new(
            "received_on",
            "must be within the last year",
        ));
    }
    let external_ref = match input
        .external_ref
        .as_deref()
        .map(crate::domain::text::identifier)
    {
        Some(r)
            if r.is_empty()
                || r.len() > 64
                || !r
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c)) =>
        {
            errors.push(FieldError::new(
                "external_ref",
                "must be 1 to 64 ASCII letters, digits or - _ . / :",
            ));
            None
        }
        r => r,
    };
    let (Some(contact), true) = (contact, errors.is_empty()) else {
        return Err(AppError::Validation(errors));
    };
    let personal = PersonalData {
        contact,
        description,
    };
    let personal_json = serde_json::to_vec(&personal).map_err(AppError::internal)?;
    // The request digest kept for the idempotency key covers the personal data only through a
    // keyed MAC, so the kept digest reveals nothing of it.
    let request = serde_json::json!({
        "credit_code": credit_code,
        "category": input.category,
        "channel": input.channel,
        "amount_fen": input.amount_fen,
        "received_on": received_on,
        "external_ref": external_ref,
        "personal": state.personal.digest(&personal_json),
    });
    let keyed = Keyed::new(user.id, "createComplaint", key, &request);
    let settings = (
        state.settings.group_complaint_threshold,
        state.settings.group_complaint_days,
    );
    let calendar = state.calendar.clone();
    let sealer = state.personal.clone();
    let state_settings = state.settings.clone();
    idempotency::write(state, keyed, move |conn| {
        let Some((enterprise_id, industry_code, region_code)) =
            db::enterprise_by_credit_code(conn, &credit_code)?
        else {
            return Err(AppError::validation(
                "credit_code",
                "no enterprise is registered with this credit code",
            ));
        };
        if matches!(user.role, Role::ComplaintOfficer | Role::Reviewer)
            && !staff_covers(conn, &user, enterprise_id, &region_code)?
        {
            return Err(AppError::validation(
                "credit_code",
                "that enterprise is outside your association's region (or one you may not act on)",
            ));
        }
        if let Some(r) = &external_ref
            && let Some(existing) = db::by_external_ref(conn, user.id, r)?
        {
            return Err(AppError::conflict(
                Code::AlreadyExists,
                format!("complaint {existing} was already sent with external_ref {r}"),
            ));
        }
        let terms = commitments(conn, &state_settings, enterprise_id)?;
        let reference = format!(
            "TS{}{}",
            received_on.format("%Y%m%d"),
            &uuid::Uuid::new_v4().simple().to_string()[..8].to_uppercase()
        );
        let sealed = sealer.seal(&personal_json, &reference)?;
        let at = now();
        let staff = matches!(user.role, Role::ComplaintOfficer | Role::Reviewer);
        let complaint = Complaint {
            id: 0,
            reference: reference.clone(),
            enterprise_id,
            industry_code,
            region_code,
            category: input.category.as_str().to_owned(),
            channel: input.channel.as_str().to_owned(),
            amount_fen: input.amount_fen,
            received_on,
            state: State::Forwarded.as_str().to_owned(),
            outcome: None,
            // The enterprise learns of the complaint today: its deadline counts from today,
            // whatever date the consumer complained on.
            acknowledge_due: calendar.add_working_days(today, terms.0),
            acknowledged_on: None,
            proposal_due: None,
            closed_on: None,
            incident_id: None,
        };
        let case = Case {
            complaint_id: 0,
            personal: Some(sealed),
            proposal: None,
            proposed_on: None,
            rejection_reason: None,
            reopen_until: None,
            reopened: 0,
            reminded_stage: None,
            escalated_stage: None,
            escalated_at: None,
            recorded_by: user.id,
            officer_id: staff.then_some(user.id),
            external_ref: external_ref.clone(),
            erased_at: None,
            created_at: at,
            updated_at: at,
        };
        let (id, change) = db::insert(conn, &complaint, &case, terms)?;
        let complaint = Complaint { id, ..complaint };
        // Linking an incident's complaints locks them: before the audit log's lock, as every
        // step takes its complaint's lock before that one, so that the two never wait for each
        // other in a cycle.
        group_check(conn, &complaint, settings, &request_id)?;
        record(
            conn,
            Some(user.id),
            Some(&request_id),
            &complaint,
            "complaint.recorded",
            serde_json::json!({
                "reference": complaint.reference,
                "category": complaint.category,
                "channel": complaint.channel,
                "received_on": complaint.received_on,
                "acknowledge_due": complaint.acknowledge_due,
            }),
        )?;
        webhooks::emit(
            conn,
            event(
                EventType::ComplaintForwarded,
                &complaint,
                serde_json::json!({}),
            ),
        )?;
        surveillance::evaluate(conn, complaint.enterprise_id, today, &request_id)?;
        complaint_months::apply(conn, [change])?;
        let full = db::find(conn, id)?.ok_or(AppError::NotFound)?;
        Ok(Made::created(view(&full, today), location(id)))
    })
    .await
}

/// Links the complaint to its enterprise's open incident on the same issue, or opens one when
/// the complaints on that issue within the period reach the threshold.
fn group_check(
    conn: &mut AnyConnection,
    c: &Complaint,
    (threshold, days): (u32, u32),
    request_id: &str,
) -> AppResult<()> {
    if let Some(open) = db::open_incident(conn, c.enterprise_id, &c.category)? {
        return db::link(conn, &[c.id], open.id);
    }
    let since = c.received_on - Duration::days(i64::from(days));
    let ids = db::unlinked_since(conn, c.enterprise_id, &c.category, since)?;
    if ids.len() < threshold as usize {
        return Ok(());
    }
    let incident = match db::open_incident_once(conn, c.enterprise_id, &c.category, now())? {
        Some(id) => id,
        // Opened by a parallel intake meanwhile: join it.
        None => match db::open_incident(conn, c.enterprise_id, &c.category)? {
            Some(i) => i.id,
            None => return Ok(()),
        },
    };
    db::lock_all(conn, &ids)?;
    db::link(conn, &ids, incident)?;
    audit::append(
        conn,
        audit::Event {
            actor_user_id: None,
            action: "complaint_incident.opened",
            entity_type: "complaint_incident",
            entity_id: incident.to_string(),
            enterprise_id: Some(c.enterprise_id),
            request_id: Some(request_id),
            details: serde_json::json!({
                "category": c.category, "complaints": ids, "within_days": days,
            }),
        },
    )?;
    webhooks::emit(
        conn,
        Event {
            kind: EventType::ComplaintIncidentOpened,
            enterprise_id: c.enterprise_id,
            industry_code: c.industry_code.clone(),
            data: serde_json::json!({
                "incident_id": incident,
                "enterprise_id": c.enterprise_id,
                "category": c.category,
                "complaints": ids.len(),
                "within_days": days,
            }),
            dedupe_key: None,
        },
    )
}

/// Filters of the complaint list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ComplaintQuery {
    /// `forwarded`, `acknowledged`, `proposed`, `reconciled`, `not_reconciled` or `closed`.
    pub state: Option<String>,
    /// Staff and administrators: one enterprise's complaints.
    pub enterprise_id: Option<i64>,
    /// Only those whose current deadline has passed.
    pub overdue: Option<bool>,
    pub incident_id: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The complaints within the caller's reach, oldest first.
pub async fn list(
    state: &AppState,
    user: AuthUser,
    q: ComplaintQuery,
) -> AppResult<Page<ComplaintView>> {
    user.require(roles::COMPLAINT_READERS)?;
    let (after, limit) = crate::views::page_bounds(q.cursor.as_deref(), q.limit)?;
    let wanted = match q.state.as_deref() {
        Some(s) => Some(State::parse(s).ok_or_else(|| {
            AppError::validation(
                "state",
                "one of forwarded, acknowledged, proposed, reconciled, not_reconciled, closed",
            )
        })?),
        None => None,
    };
    let reach = reach(&user)?;
    let today = today();
    let filter = db::Filter {
        state: wanted.map(|s| s.as_str().to_owned()),
        enterprise_id: q.enterprise_id,
        overdue_on: q.overdue.filter(|o| *o).map(|_| today),
        incident_id: q.incident_id,
    };
    let (rows, next_cursor) = state
        .db
        .read(move |conn| {
            let rows = db::list(conn, &reach, &filter, after, limit + 1)?;
            let (rows, next_cursor) = paged(rows, limit, |(c, _)| c.id.to_string());
            // A reviewer who belongs to an enterprise sees neither its complaints nor its
            // competitors' (the page may come out shorter; the cursor still moves on).
            if user.role == Role::Reviewer && user.enterprise_id.is_some() {
                let mut kept = Vec::new();
                for (c, case) in rows {
                    if staff_covers(conn, &user, c.enterprise_id, &c.region_code)? {
                        kept.push((c, case));
                    }
                }
                return Ok((kept, next_cursor));
            }
            Ok((rows, next_cursor))
        })
        .await?;
    Ok(Page {
        items: rows.iter().map(|f| view(f, today)).collect(),
        next_cursor,
    })
}

pub async fn get(state: &AppState, user: AuthUser, id: i64) -> AppResult<ComplaintView> {
    user.require(roles::COMPLAINT_READERS)?;
    let full = state.db.read(move |conn| visible(conn, &user, id)).await?;
    Ok(view(&full, today()))
}

/// The consumer's contact and words, for the enterprise's users and the staff member on the
/// case; every read is in the audit log (who, when, which complaint).
pub async fn personal_data(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
) -> AppResult<PersonalData> {
    user.require(roles::COMPLAINT_READERS)?;
    let sealer = state.personal.clone();
    state
        .db
        .write(move |conn| {
            let (c, case) = visible(conn, &user, id)?;
            let may = user.belongs_to(c.enterprise_id)
                || (case.officer_id == Some(user.id)
                    && staff_covers(conn, &user, c.enterprise_id, &c.region_code)?);
            if !may {
                return Err(AppError::conflict(
                    Code::NotOnCase,
                    "the consumer's personal data is for the enterprise's users and the staff \
                     member on the case: take the case first"
                        .into(),
                ));
            }
            let Some(sealed) = case.personal.as_deref() else {
                return Err(AppError::conflict(
                    Code::PersonalDataErased,
                    format!(
                        "the consumer's personal data was erased on {} after the retention period",
                        case.erased_at
                            .map(|t| t.date().to_string())
                            .unwrap_or_default()
                    ),
                ));
            };
            let plain = sealer.open(sealed, &c.reference)?;
            let data: PersonalData = serde_json::from_slice(&plain).map_err(AppError::internal)?;
            record(
                conn,
                Some(user.id),
                Some(&request_id),
                &c,
                "complaint.personal_data_read",
                serde_json::json!({ "reference": c.reference }),
            )?;
            Ok(data)
        })
        .await
}

/// A step of the workflow with what it carries.
#[derive(Debug, Clone)]
pub enum Step {
    Acknowledge,
    Propose {
        proposal: Option<String>,
    },
    Answer {
        accepted: Option<bool>,
        reason: Option<String>,
    },
    Close,
    Reopen {
        reason: Option<String>,
    },
    /// A staff member takes the case.
    Take,
}

/// Moves a complaint one step: the enterprise's users acknowledge and propose; association
/// staff in the complaint's region record the consumer's answer, close, reopen and take cases.
pub async fn act(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    step: Step,
) -> AppResult<ComplaintView> {
    user.require(roles::COMPLAINT_READERS)?;
    let calendar = state.calendar.clone();
    let reopen_days = state.settings.complaint_reopen_days;
    let settings = state.settings.clone();
    let today = today();
    let full = state
        .db
        .write(move |conn| {
            // Held until the transaction ends: a parallel step or sweep waits and then sees
            // this one's result.
            db::lock(conn, id)?;
            let (mut c, mut case) = visible(conn, &user, id)?;
            // What the step carries is checked once the complaint is known to be visible, so
            // that an outsider learns nothing from a validation error.
            let step = check_step(step)?;
            let by_enterprise = matches!(step, Step::Acknowledge | Step::Propose { .. });
            if by_enterprise && !user.belongs_to(c.enterprise_id) {
                return Err(AppError::Forbidden(
                    "the enterprise's users acknowledge complaints and propose settlements".into(),
                ));
            }
            if !by_enterprise && !staff_covers(conn, &user, c.enterprise_id, &c.region_code)? {
                return Err(AppError::Forbidden(
                    "association staff of the complaint's region record answers, close, reopen \
                     and take cases"
                        .into(),
                ));
            }
            let from = State::parse(&c.state).ok_or_else(|| AppError::internal("bad state"))?;
            let action = match &step {
                Step::Acknowledge => Some(Action::Acknowledge),
                Step::Propose { .. } => Some(Action::Propose),
                Step::Answer {
                    accepted: Some(true),
                    ..
                } => Some(Action::Accept),
                Step::Answer { .. } => Some(Action::Reject),
                Step::Close => Some(Action::Close),
                Step::Reopen { .. } => Some(Action::Reopen),
                Step::Take => None,
            };
            let to = match action {
                Some(a) => {
                    next(from, a).map_err(|e| AppError::conflict(Code::InvalidTransition, e))?
                }
                None => from,
            };
            let mut details = serde_json::json!({ "from": from.as_str(), "to": to.as_str() });
            let mut kind = None;
            match &step {
                Step::Acknowledge => {
                    let proposal_days =
                        db::proposal_days(conn, c.id)?.unwrap_or(settings.complaint_proposal_days);
                    c.acknowledged_on = Some(today);
                    c.proposal_due = Some(calendar.add_working_days(today, proposal_days));
                    details["on_time"] = (today <= c.acknowledge_due).into();
                    details["proposal_due"] = serde_json::json!(c.proposal_due);
                    kind = Some(EventType::ComplaintAcknowledged);
                }
                Step::Propose { proposal } => {
                    case.proposal = proposal.clone();
                    case.proposed_on = Some(today);
                    details["on_time"] = c.proposal_due.is_none_or(|d| today <= d).into();
                    kind = Some(EventType::ComplaintProposed);
                }
                Step::Answer { accepted, reason } => {
                    let accepted = accepted.unwrap_or_default();
                    case.rejection_reason = reason.clone().filter(|_| !accepted);
                    details["accepted"] = accepted.into();
                    kind = Some(EventType::ComplaintAnswered);
                }
                Step::Close => {
                    c.outcome = Some(from.as_str().to_owned());
                    c.closed_on = Some(today);
                    case.reopen_until = Some(calendar.add_working_days(today, reopen_days));
                    details["outcome"] = from.as_str().into();
                    kind = Some(EventType::ComplaintClosed);
                }
                Step::Reopen { reason } => {
                    if case.reopen_until.is_none_or(|until| today > until) {
                        return Err(AppError::conflict(
                            Code::InvalidTransition,
                            format!(
                                "the complaint could be reopened until {}",
                                case.reopen_until.map(|d| d.to_string()).unwrap_or_default()
                            ),
                        ));
                    }
                    let proposal_days =
                        db::proposal_days(conn, c.id)?.unwrap_or(settings.complaint_proposal_days);
                    c.outcome = None;
                    c.closed_on = None;
                    c.proposal_due = Some(calendar.add_working_days(today, proposal_days));
                    case.reopen_until = None;
                    case.reopened += 1;
                    case.proposal = None;
                    case.proposed_on = None;
                    case.rejection_reason = None;
                    case.reminded_stage = None;
                    case.escalated_stage = None;
                    case.escalated_at = None;
                    details["reason"] = reason.clone().into();
                    kind = Some(EventType::ComplaintReopened);
                }
                Step::Take => {
                    details["officer_id"] = user.id.into();
                    case.officer_id = Some(user.id);
                }
            }
            c.state = to.as_str().to_owned();
            case.updated_at = now();
            let full = (c, case);
            let change = db::save(conn, &full)?;
            let action = match &step {
                Step::Take => "complaint.taken".to_owned(),
                Step::Reopen { .. } => "complaint.reopened".to_owned(),
                _ => format!("complaint.{}", to.as_str()),
            };
            record(
                conn,
                Some(user.id),
                Some(&request_id),
                &full.0,
                &action,
                details.clone(),
            )?;
            if let Some(kind) = kind {
                // Free text (a reopening's reason) stays out of the enterprise's webhooks.
                let mut public = details.clone();
                if let Some(d) = public.as_object_mut() {
                    d.remove("reason");
                }
                webhooks::emit(conn, event(kind, &full.0, public))?;
            }
            // Acknowledgements and answers move the figures surveillance watches.
            // A staff member taking a platform's complaint stands behind it (red-line rule).
            if matches!(step, Step::Acknowledge | Step::Answer { .. } | Step::Take) {
                surveillance::evaluate(conn, full.0.enterprise_id, today, &request_id)?;
            }
            complaint_months::apply(conn, [change])?;
            Ok(full)
        })
        .await?;
    Ok(view(&full, today))
}

/// Checks what a step carries: a proposal and a reopening need their text, a rejection its
/// reason (the complaint goes to mediation with it).
fn check_step(step: Step) -> AppResult<Step> {
    use crate::domain::text::paragraph;
    let text = |field: &str, v: Option<String>, missing: &str| -> AppResult<String> {
        let v = v.ok_or_else(|| AppError::validation(field, missing))?;
        paragraph(&v, 2000).map_err(|e| AppError::validation(field, e))
    };
    Ok(match step {
        Step::Propose { proposal } => Step::Propose {
            proposal: Some(text(
                "proposal",
                proposal,
                "say what the enterprise offers",
            )?),
        },
        Step::Answer { accepted: None, .. } => {
            return Err(AppError::validation(
                "accepted",
                "say whether the consumer accepted the proposal",
            ));
        }
        Step::Answer {
            accepted: Some(true),
            reason,
        } => Step::Answer {
            accepted: Some(true),
            reason: reason.map(|r| text("reason", Some(r), "")).transpose()?,
        },
        Step::Answer {
            accepted: Some(false),
            reason,
        } => Step::Answer {
            accepted: Some(false),
            reason: Some(text(
                "reason",
                reason,
                "say why the consumer rejected the proposal",
            )?),
        },
        Step::Reopen { reason } => Step::Reopen {
            reason: Some(text("reason", reason, "say why the complaint is reopened")?),
        },
        other => other,
    })
}

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Swept {
    pub reminded: usize,
    pub escalated: usize,
    pub erased: usize,
    /// Renewal self-assessments opened ninety days before expiry.
    pub renewals: usize,
}

/// Opens renewals of certificates expiring within ninety days ([`renewal`]), reminds
/// enterprises of deadlines falling on the next working day or today, escalates
/// complaints whose deadline passed before `today`, and erases the personal data of complaints
/// closed more than the retention period ago (and no longer reopenable) or left open without
/// any step for `CSR_COMPLAINT_IDLE_DAYS`. Runs every
/// `CSR_COMPLAINT_SWEEP_SECS` in each instance; what it does is recorded on the complaint, so
/// two instances never remind or escalate twice.
pub async fn sweep(state: &AppState, today: NaiveDate) -> AppResult<Swept> {
    const BATCH: i64 = 500;
    let mut swept = Swept::default();
    let horizon = state.calendar.add_working_days(today, 1);
    // One id for everything this sweep records, so the audit log ties its entries together.
    let run = format!("sweep-{}", uuid::Uuid::new_v4().simple());
    let run2 = run.clone();
    let mut after = 0;
    loop {
        let run = run.clone();
        let (n, last, reminded, escalated) = state
            .db
            .write(move |conn| {
                let rows = db::running_against(conn, horizon, after, BATCH)?;
                let (mut reminded, mut escalated) = (0, 0);
                let mut changes = Vec::new();
                // Locked first, all of them, in the order of their ids: a step holding one of
                // them then never waits for the audit log's lock while this sweep holds it.
                let ids: Vec<i64> = rows.iter().map(|(c, _)| c.id).collect();
                db::lock_all(conn, &ids)?;
                for id in ids {
                    // Read again once locked: an acknowledgement that committed meanwhile is
                    // seen, never overwritten.
                    let Some((c, mut case)) = db::find(conn, id)? else {
                        continue;
                    };
                    let Some((stage, due)) = current_deadline(&c) else {
                        continue;
                    };
                    let stage_name = Some(stage.as_str().to_owned());
                    let mut changed = false;
                    if due < today && case.escalated_stage != stage_name {
                        case.escalated_stage = stage_name.clone();
                        case.escalated_at = Some(now());
                        // A passed deadline needs no reminder any more.
                        case.reminded_stage = stage_name.clone();
                        let details = serde_json::json!({
                            "stage": stage.as_str(), "due": due, "duty": crate::domain::complaint::duty(stage).1,
                        });
                        record(conn, None, Some(&run), &c, "complaint.escalated", details.clone())?;
                        webhooks::emit(conn, event(EventType::ComplaintEscalated, &c, details))?;
                        surveillance::evaluate(conn, c.enterprise_id, today, &run)?;
                        escalated += 1;
                        changed = true;
                    } else if due >= today && case.reminded_stage != stage_name {
                        case.reminded_stage = stage_name.clone();
                        let details = serde_json::json!({
                            "stage": stage.as_str(), "due": due, "duty": crate::domain::complaint::duty(stage).1,
                        });
                        webhooks::emit(conn, event(EventType::ComplaintDeadlineNear, &c, details))?;
                        reminded += 1;
                        changed = true;
                    }
                    if changed {
                        case.updated_at = now();
                        changes.push(db::save(conn, &(c, case))?);
                    }
                }
                complaint_months::apply(conn, changes)?;
                Ok((rows.len() as i64, rows.last().map(|(c, _)| c.id), reminded, escalated))
            })
            .await?;
        swept.reminded += reminded;
        swept.escalated += escalated;
        match last {
            Some(id) if n == BATCH => after = id,
            _ => break,
        }
    }
    let closed_by = today - Duration::days(i64::from(state.settings.complaint_retention_days));
    let idle_before = (today - Duration::days(i64::from(state.settings.complaint_idle_days)))
        .and_time(chrono::NaiveTime::MIN);
    loop {
        let run = run2.clone();
        let n = state
            .db
            .write(move |conn| {
                let ids = db::erasable(conn, closed_by, today, idle_before, BATCH)?;
                if ids.is_empty() {
                    return Ok(0);
                }
                let n = db::erase(conn, &ids, now())?;
                audit::append(
                    conn,
                    audit::Event {
                        actor_user_id: None,
                        action: "complaint.personal_data_erased",
                        entity_type: "complaint",
                        entity_id: ids.first().map(|i| i.to_string()).unwrap_or_default(),
                        enterprise_id: None,
                        request_id: Some(&run),
                        details: serde_json::json!({
                            "complaints": ids, "closed_on_or_before": closed_by,
                            "or_idle_since": idle_before,
                        }),
                    },
                )?;
                Ok(n)
            })
            .await?;
        swept.erased += n;
        if (n as i64) < BATCH {
            break;
        }
    }
    if swept.erased > 0 {
        state.db.checkpoint().await?;
    }
    let schemas = state.schemas.clone();
    swept.renewals = state
        .db
        .write(move |conn| renewal::open_due(conn, &schemas, today))
        .await?;
    Ok(swept)
}

/// Runs [`sweep`] every `CSR_COMPLAINT_SWEEP_SECS` (and soon after start).
pub fn spawn_sweep(state: actix_web::web::Data<AppState>) {
    let every = state.settings.complaint_sweep_secs;
    if every == 0 {
        return;
    }
    actix_web::rt::spawn(async move {
        let mut timer = actix_web::rt::time::interval(std::time::Duration::from_secs(every));
        loop {
            timer.tick().await;
            match sweep(&state, today()).await {
                Ok(s) if s != Swept::default() => tracing::info!(
                    reminded = s.reminded,
                    escalated = s.escalated,
                    erased = s.erased,
                    renewals = s.renewals,
                    "complaint sweep"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "complaint sweep failed"),
            }
        }
    });
}

/// A group-complaint incident.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    pub id: i64,
    pub enterprise_id: i64,
    pub category: Category,
    /// `open`, `remediation_reported` or `closed`.
    pub state: String,
    pub opened_at: DateTime<Utc>,
    /// How many complaints it links.
    pub complaints: i64,
    /// What the enterprise reports it did about the issue.
    pub remediation: Option<String>,
    pub remediation_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

fn incident_view(conn: &mut AnyConnection, i: &db::Incident) -> AppResult<IncidentView> {
    Ok(IncidentView {
        id: i.id,
        enterprise_id: i.enterprise_id,
        category: Category::parse(&i.category).unwrap_or(Category::Other),
        state: i.state.clone(),
        opened_at: utc(i.opened_at),
        complaints: db::incident_size(conn, i.id)?,
        remediation: i.remediation.clone(),
        remediation_at: i.remediation_at.map(utc),
        closed_at: i.closed_at.map(utc),
    })
}

/// The incident if the caller may see it: the enterprise's users, staff of its region and
/// administrators.
fn incident_within_reach(
    conn: &mut AnyConnection,
    user: &AuthUser,
    id: i64,
) -> AppResult<db::Incident> {
    let i = db::incident(conn, id)?.ok_or(AppError::NotFound)?;
    let region = crate::db::enterprises::find(conn, i.enterprise_id)?
        .map(|e| e.region_code)
        .unwrap_or_default();
    let may = user.role == Role::Admin
        || user.belongs_to(i.enterprise_id)
        || staff_covers(conn, user, i.enterprise_id, &region)?;
    if may { Ok(i) } else { Err(AppError::NotFound) }
}

pub async fn incident(state: &AppState, user: AuthUser, id: i64) -> AppResult<IncidentView> {
    state
        .db
        .read(move |conn| {
            let i = incident_within_reach(conn, &user, id)?;
            incident_view(conn, &i)
        })
        .await
}

/// The enterprise reports its remediation of an incident (its users), or staff of its region
/// close it (once the remediation is reported).
/// What happens to an incident.
#[derive(Debug, Clone)]
pub enum IncidentStep {
    /// The enterprise reports its remediation (the text is required).
    Remediation(Option<String>),
    Close,
}

pub async fn incident_step(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    step: IncidentStep,
) -> AppResult<IncidentView> {
    state
        .db
        .write(move |conn| {
            db::lock_row(conn, "complaint_incidents", id)?;
            let mut i = incident_within_reach(conn, &user, id)?;
            let action = match &step {
                IncidentStep::Remediation(text) => {
                    let text = text
                        .as_deref()
                        .ok_or_else(|| AppError::validation("remediation", "say what was done"))
                        .and_then(|t| {
                            crate::domain::text::paragraph(t, 4000)
                                .map_err(|e| AppError::validation("remediation", e))
                        })?;
                    if !user.belongs_to(i.enterprise_id) {
                        return Err(AppError::Forbidden(
                            "the enterprise's users report its remediation".into(),
                        ));
                    }
                    if i.state == "closed" {
                        return Err(AppError::conflict(
                            Code::InvalidTransition,
                            "the incident is closed".into(),
                        ));
                    }
                    i.remediation = Some(text);
                    i.remediation_at = Some(now());
                    i.state = "remediation_reported".into();
                    "complaint_incident.remediation_reported"
                }
                IncidentStep::Close => {
                    if user.belongs_to(i.enterprise_id) || user.role == Role::Admin {
                        return Err(AppError::Forbidden(
                            "association staff of the enterprise's region close incidents".into(),
                        ));
                    }
                    if i.state != "remediation_reported" {
                        return Err(AppError::conflict(
                            Code::InvalidTransition,
                            format!(
                                "the incident is {}: the enterprise reports its remediation first",
                                i.state
                            ),
                        ));
                    }
                    i.state = "closed".into();
                    i.closed_by = Some(user.id);
                    i.closed_at = Some(now());
                    "complaint_incident.closed"
                }
            };
            db::save_incident(conn, &i)?;
            audit::append(
                conn,
                audit::Event {
                    actor_user_id: Some(user.id),
                    action,
                    entity_type: "complaint_incident",
                    entity_id: i.id.to_string(),
                    enterprise_id: Some(i.enterprise_id),
                    request_id: Some(&request_id),
                    details: serde_json::json!({ "state": i.state }),
                },
            )?;
            incident_view(conn, &i)
        })
        .await
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime};

    /// The complaints' date turns at 16:00 UTC, midnight in China.
    #[test]
    fn the_date_in_china_turns_at_sixteen_hours_utc() {
        let at = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let day = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert_eq!(super::date_in_china(at("2026-12-06 15:59:59")), day(6));
        assert_eq!(super::date_in_china(at("2026-12-06 16:00:00")), day(7));
    }
}
