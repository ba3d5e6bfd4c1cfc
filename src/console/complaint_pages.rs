//! Complaints in the console: the list within the caller's reach (overdue and escalated ones
//! marked), a case page with the steps the caller may take — the enterprise acknowledges and
//! proposes, association staff take the case, record the consumer's answer, close and reopen —
//! and the consumer's contact shown only on request (a POST, audited like the API's read); the
//! reviewers' surveillance reviews with their decision form. Every step goes through the same
//! workflows as the API.

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::chrome::{Lang, PageResult};
use super::session::{Caller, Form};
use super::{Chrome, html, see_other};
use crate::auth::roles;
use crate::complaints::surveillance::{self, Outcome, SurveillanceView};
use crate::complaints::{self, ComplaintQuery, ComplaintView, PersonalData, Step};
use crate::domain::Role;
use crate::domain::complaint::State;
use crate::extract::RequestId;
use crate::state::AppState;

fn state_label(l: Lang, s: State) -> &'static str {
    let (zh, en) = s.label();
    l.t(zh, en)
}

struct Row {
    id: i64,
    reference: String,
    state: &'static str,
    category: String,
    received: String,
    due: String,
    overdue: bool,
    escalated: bool,
    incident: Option<i64>,
}

#[derive(Template)]
#[template(path = "console/complaints.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    next: Option<String>,
    overdue_only: bool,
}

#[derive(Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
    overdue: Option<bool>,
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> PageResult {
    caller.user.require(roles::COMPLAINT_READERS)?;
    let q = q.into_inner();
    let page = complaints::list(
        &state,
        caller.user.clone(),
        ComplaintQuery {
            overdue: q.overdue,
            cursor: q.cursor,
            limit: Some(50),
            ..Default::default()
        },
    )
    .await?;
    let c = Chrome::new(&req, &caller, "");
    let l = c.l;
    let rows = page
        .items
        .into_iter()
        .map(|v| {
            let (zh, en) = v.category.label();
            Row {
                id: v.id,
                reference: v.reference,
                state: state_label(l, v.state),
                category: l.t(zh, en).to_owned(),
                received: v.received_on.to_string(),
                due: match v.running_against {
                    Some(crate::domain::complaint::Stage::Acknowledge) => {
                        v.acknowledge_due.to_string()
                    }
                    Some(crate::domain::complaint::Stage::Proposal) => {
                        v.proposal_due.map(|d| d.to_string()).unwrap_or_default()
                    }
                    None => String::new(),
                },
                overdue: v.overdue,
                escalated: v.escalated_stage.is_some(),
                incident: v.incident_id,
            }
        })
        .collect();
    let title = l.t("投诉和解", "Complaints").to_owned();
    Ok(html(&ListPage {
        c: Chrome { title, ..c },
        rows,
        next: page.next_cursor,
        overdue_only: q.overdue.unwrap_or(false),
    })?)
}

#[derive(Template)]
#[template(path = "console/complaint.html")]
struct CasePage {
    c: Chrome,
    v: ComplaintView,
    state: &'static str,
    category: String,
    enterprise: bool,
    staff: bool,
    on_case: bool,
    personal: Option<PersonalData>,
}

async fn case_page(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    id: i64,
    personal: Option<PersonalData>,
) -> PageResult {
    let v = complaints::get(state, caller.user.clone(), id).await?;
    let c = Chrome::new(req, caller, "");
    let l = c.l;
    let (zh, en) = v.category.label();
    let title = format!("{} {}", l.t("投诉", "Complaint"), v.reference);
    Ok(html(&CasePage {
        state: state_label(l, v.state),
        category: l.t(zh, en).to_owned(),
        enterprise: caller.user.belongs_to(v.enterprise_id),
        staff: matches!(caller.user.role, Role::ComplaintOfficer | Role::Reviewer),
        on_case: v.officer_id == Some(caller.user.id),
        c: Chrome { title, ..c },
        v,
        personal,
    })?)
}

pub async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<i64>,
) -> PageResult {
    caller.user.require(roles::COMPLAINT_READERS)?;
    case_page(&state, &req, &caller, id.into_inner(), None).await
}

/// Shows the consumer's contact and words once, on this response only (audited).
pub async fn personal(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    rid: RequestId,
    id: web::Path<i64>,
    _form: Form<super::auth_pages::Empty>,
) -> PageResult {
    caller.user.require(roles::COMPLAINT_READERS)?;
    let id = id.into_inner();
    let data = complaints::personal_data(&state, caller.user.clone(), rid.0, id).await?;
    let mut res = case_page(&state, &req, &caller, id, Some(data)).await?;
    res.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

#[derive(Deserialize)]
pub struct StepForm {
    /// acknowledge, propose, accept, reject, close, reopen or take.
    action: String,
    text: Option<String>,
}

/// One step of the workflow, then back to the case.
pub async fn step(
    state: web::Data<AppState>,
    caller: Caller,
    rid: RequestId,
    id: web::Path<i64>,
    form: Form<StepForm>,
) -> PageResult {
    caller.user.require(roles::COMPLAINT_READERS)?;
    let id = id.into_inner();
    let text = form.0.text.filter(|t| !t.trim().is_empty());
    let step = match form.0.action.as_str() {
        "acknowledge" => Step::Acknowledge,
        "propose" => Step::Propose { proposal: text },
        "accept" => Step::Answer {
            accepted: Some(true),
            reason: text,
        },
        "reject" => Step::Answer {
            accepted: Some(false),
            reason: text,
        },
        "close" => Step::Close,
        "reopen" => Step::Reopen { reason: text },
        "take" => Step::Take,
        _ => return Err(crate::error::AppError::validation("action", "unknown step").into()),
    };
    complaints::act(&state, caller.user.clone(), rid.0, id, step).await?;
    Ok(see_other(&format!("/console/complaints/{id}")))
}

#[derive(Template)]
#[template(path = "console/surveillance.html")]
struct SurveillancePage {
    c: Chrome,
    reviews: Vec<SurveillanceView>,
}

pub async fn surveillance_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
) -> PageResult {
    caller.user.require(roles::ADMIN_OR_REVIEWER)?;
    let page = surveillance::list(&state, caller.user.clone(), true, 0, 200).await?;
    let c = Chrome::new(&req, &caller, "");
    let title = c.l.t("监督审查", "Surveillance reviews").to_owned();
    Ok(html(&SurveillancePage {
        c: Chrome { title, ..c },
        reviews: page.items,
    })?)
}

#[derive(Deserialize)]
pub struct DecisionForm {
    outcome: String,
    reason: Option<String>,
}

pub async fn surveillance_decide(
    state: web::Data<AppState>,
    caller: Caller,
    rid: RequestId,
    id: web::Path<i64>,
    form: Form<DecisionForm>,
) -> PageResult {
    caller.user.require(roles::ADMIN_OR_REVIEWER)?;
    let outcome = match form.0.outcome.as_str() {
        "confirmed" => Some(Outcome::Confirmed),
        "suspended" => Some(Outcome::Suspended),
        "revoked" => Some(Outcome::Revoked),
        _ => None,
    };
    let reason = form.0.reason.filter(|r| !r.trim().is_empty());
    surveillance::decide(
        &state,
        caller.user.clone(),
        rid.0,
        id.into_inner(),
        outcome,
        reason,
    )
    .await?;
    Ok(see_other("/console/surveillance"))
}
