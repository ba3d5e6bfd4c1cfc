//! Post-certification surveillance: a certified enterprise whose complaint handling crosses a
//! threshold of its certificate's schema version — on-time acknowledgement or reconciliation
//! below a floor over a quarter, an open group-complaint incident, a complaint in a red-line
//! category — gets a surveillance review in the association's queue, exactly one open at a
//! time per certificate (a unique index, so also with several instances). The reviewer
//! confirms, suspends or revokes the certificate through the certificate transitions; the
//! public verification page shows only that a certificate is under surveillance.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::measures::{self, Measures, Quarter};
use crate::auth::{AuthUser, roles};
use crate::db::certificates::{self, Certificate};
use crate::db::schema::{complaint_cases as cc, complaints as c, surveillance_reviews as sr};
use crate::db::sql::FirstRow;
use crate::db::{AnyConnection, audit, now};
use crate::domain::Role;
use crate::domain::certificate::{CertificateChange, CertificateStatus};
use crate::domain::schema::Surveillance;
use crate::domain::webhook::EventType;
use crate::error::{AppError, AppResult, Code};
use crate::state::AppState;
use crate::views::{Page, paged, utc};

/// After a decision, rates and incidents open no new review of the certificate for this many
/// days (red-line complaints received after the decision still do).
const QUIET_DAYS: i64 = 90;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sr)]
pub struct Row {
    pub id: i64,
    pub certificate_id: i64,
    pub enterprise_id: i64,
    pub state: String,
    pub triggers: String,
    pub opened_at: NaiveDateTime,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
}

/// The thresholds of the version `cert` was issued on (the service's defaults when the version
/// has none).
fn thresholds(conn: &mut AnyConnection, cert: &Certificate) -> AppResult<Surveillance> {
    #[derive(Deserialize)]
    struct Only {
        surveillance: Option<Surveillance>,
    }
    let doc = crate::db::schema_versions::find(conn, &cert.schema_id, &cert.version)?;
    Ok(doc
        .and_then(|d| serde_json::from_str::<Only>(&d.document).ok())
        .and_then(|o| o.surveillance)
        .unwrap_or_else(Surveillance::defaults))
}

/// What crossed which threshold, with the figures, for enterprise `enterprise` on `today`.
fn triggers(
    conn: &mut AnyConnection,
    cert: &Certificate,
    t: &Surveillance,
    today: NaiveDate,
    last_decision: Option<NaiveDateTime>,
) -> AppResult<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    let quiet = last_decision.is_some_and(|d| today < d.date() + Duration::days(QUIET_DAYS));
    if !quiet {
        let current = Quarter::of(today);
        for q in [current.previous(), current] {
            let m: Measures = measures::compute(conn, cert.enterprise_id, q, today)?;
            if m.received < i64::from(t.min_complaints) {
                continue;
            }
            if let Some(rate) = m.on_time_rate
                && m.acknowledgement_due >= i64::from(t.min_complaints)
                && rate < t.on_time_acknowledgement_below
            {
                out.push(serde_json::json!({
                    "trigger": "on_time_acknowledgement", "quarter": m.quarter,
                    "figure": rate, "threshold": t.on_time_acknowledgement_below,
                    "complaints": m.acknowledgement_due,
                }));
            }
            if let Some(rate) = m.reconciliation_rate
                && m.reconciled + m.not_reconciled >= i64::from(t.min_complaints)
                && rate < t.reconciliation_rate_below
            {
                out.push(serde_json::json!({
                    "trigger": "reconciliation_rate", "quarter": m.quarter,
                    "figure": rate, "threshold": t.reconciliation_rate_below,
                    "complaints": m.reconciled + m.not_reconciled,
                }));
            }
            if q == current && t.open_incident && m.open_incidents > 0 {
                out.push(serde_json::json!({
                    "trigger": "open_incident", "incidents": m.open_incidents,
                }));
            }
        }
    }
    if !t.red_line_categories.is_empty() {
        // Red-line complaints recorded since the certificate was issued (or since the last
        // decision) that association staff stand behind: recorded by them, or a platform's
        // that a staff member took on. A platform's complaint alone never puts a certificate
        // under public surveillance.
        let issued = NaiveDate::parse_from_str(&cert.issued_on, "%Y-%m-%d")
            .unwrap_or_default()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default();
        let since = last_decision.unwrap_or_default().max(issued);
        let red: Vec<(i64, String)> = c::table
            .inner_join(cc::table)
            .filter(c::enterprise_id.eq(cert.enterprise_id))
            .filter(c::category.eq_any(&t.red_line_categories))
            .filter(cc::officer_id.is_not_null())
            .filter(cc::created_at.ge(since))
            .order(c::id)
            .limit(20)
            .select((c::id, c::category))
            .load(conn)?;
        if !red.is_empty() {
            out.push(serde_json::json!({
                "trigger": "red_line_complaint",
                "complaints": red.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                "categories": red.iter().map(|(_, c)| c).collect::<std::collections::BTreeSet<_>>(),
            }));
        }
    }
    Ok(out)
}

/// Checks the enterprise's active certificate against its thresholds and opens a review when
/// one is crossed and none is open; in the caller's transaction. Returns the review opened.
pub fn evaluate(
    conn: &mut AnyConnection,
    enterprise: i64,
    today: NaiveDate,
    request_id: &str,
) -> AppResult<Option<i64>> {
    let Some(cert) = certificates::of_enterprise(conn, enterprise, CertificateStatus::Active)?
        .into_iter()
        .find(|c| c.status_on(today) == CertificateStatus::Active)
    else {
        return Ok(None);
    };
    let open: Option<i64> = sr::table
        .filter(sr::certificate_id.eq(cert.id))
        .filter(sr::state.eq("open"))
        .select(sr::id)
        .first_row(conn)
        .optional()?;
    if open.is_some() {
        return Ok(None);
    }
    let last_decision: Option<NaiveDateTime> = sr::table
        .filter(sr::certificate_id.eq(cert.id))
        .select(diesel::dsl::max(sr::decided_at))
        .first_row(conn)?;
    let t = thresholds(conn, &cert)?;
    let found = triggers(conn, &cert, &t, today, last_decision)?;
    if found.is_empty() {
        return Ok(None);
    }
    let insert = diesel::insert_into(sr::table)
        .values((
            sr::certificate_id.eq(cert.id),
            sr::enterprise_id.eq(enterprise),
            sr::state.eq("open"),
            sr::triggers.eq(serde_json::Value::from(found.clone()).to_string()),
            sr::opened_at.eq(now()),
        ))
        .on_conflict_do_nothing()
        .returning(sr::id);
    // ON CONFLICT has no multi-backend form: run it on the concrete connection. A parallel
    // evaluation that opened one first wins; this one does nothing.
    let id: Option<i64> = match conn {
        AnyConnection::Sqlite(c) => insert.get_result(c).optional()?,
        AnyConnection::Postgresql(c) => insert.get_result(c).optional()?,
    };
    let Some(id) = id else { return Ok(None) };
    audit::append(
        conn,
        audit::Event {
            actor_user_id: None,
            action: "surveillance.opened",
            entity_type: "surveillance_review",
            entity_id: id.to_string(),
            enterprise_id: Some(enterprise),
            request_id: Some(request_id),
            details: serde_json::json!({ "certificate": cert.number, "triggers": found }),
        },
    )?;
    let industry = crate::db::enterprises::find(conn, enterprise)?
        .map(|e| e.industry_code)
        .unwrap_or_default();
    // What the verification page shows: the certificate is under surveillance, nothing more.
    crate::webhooks::emit(
        conn,
        crate::webhooks::certificate_event(
            EventType::CertificateUnderSurveillance,
            &cert,
            &industry,
            None,
        ),
    )?;
    Ok(Some(id))
}

/// Whether certificate `id` has an open surveillance review.
pub fn under_surveillance(conn: &mut AnyConnection, certificate: i64) -> AppResult<bool> {
    Ok(sr::table
        .filter(sr::certificate_id.eq(certificate))
        .filter(sr::state.eq("open"))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The certificate stands.
    Confirmed,
    Suspended,
    Revoked,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SurveillanceView {
    pub id: i64,
    pub certificate_number: String,
    pub enterprise_id: i64,
    pub enterprise_name: String,
    /// `open` or `decided`.
    pub state: String,
    /// What crossed which threshold, with the figures.
    #[schema(value_type = Vec<Object>)]
    pub triggers: serde_json::Value,
    pub opened_at: DateTime<Utc>,
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The evidence: the measures of the quarter before and of this one (only on a single
    /// review).
    pub measures: Vec<Measures>,
}

fn view(conn: &mut AnyConnection, r: &Row, with_measures: bool) -> AppResult<SurveillanceView> {
    let cert: Option<Certificate> = crate::db::schema::certificates::table
        .find(r.certificate_id)
        .select(Certificate::as_select())
        .first_row(conn)
        .optional()?;
    let e = crate::db::enterprises::find(conn, r.enterprise_id)?;
    let mut ms = Vec::new();
    if with_measures {
        let today = super::today();
        let q = Quarter::of(today);
        for q in [q.previous(), q] {
            ms.push(measures::compute(conn, r.enterprise_id, q, today)?);
        }
    }
    Ok(SurveillanceView {
        id: r.id,
        certificate_number: cert.map(|c| c.number).unwrap_or_default(),
        enterprise_id: r.enterprise_id,
        enterprise_name: e.map(|e| e.name).unwrap_or_default(),
        state: r.state.clone(),
        triggers: serde_json::from_str(&r.triggers).unwrap_or_default(),
        opened_at: utc(r.opened_at),
        outcome: r.outcome.as_deref().and_then(|o| match o {
            "confirmed" => Some(Outcome::Confirmed),
            "suspended" => Some(Outcome::Suspended),
            "revoked" => Some(Outcome::Revoked),
            _ => None,
        }),
        reason: r.reason.clone(),
        decided_at: r.decided_at.map(utc),
        measures: ms,
    })
}

/// The review if the caller may see it: administrators, and reviewers who may act on the
/// enterprise (their region, not their own enterprise or a competitor's).
fn within_reach(conn: &mut AnyConnection, user: &AuthUser, id: i64) -> AppResult<Row> {
    let r: Row = sr::table
        .find(id)
        .select(Row::as_select())
        .first_row(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    if user.role == Role::Admin {
        return Ok(r);
    }
    let e = crate::db::enterprises::find(conn, r.enterprise_id)?.ok_or(AppError::NotFound)?;
    crate::scope::reviewer_may_act(conn, user, &e).map_err(|_| AppError::NotFound)?;
    Ok(r)
}

/// Surveillance reviews within the caller's reach, oldest first (`open` ones by default).
pub async fn list(
    state: &AppState,
    user: AuthUser,
    open_only: bool,
    after: i64,
    limit: i64,
) -> AppResult<Page<SurveillanceView>> {
    user.require(roles::ADMIN_OR_REVIEWER)?;
    state
        .db
        .read(move |conn| {
            let mut out = Vec::new();
            let mut cursor = after;
            loop {
                let mut q = sr::table
                    .filter(sr::id.gt(cursor))
                    .order(sr::id)
                    .limit(200)
                    .select(Row::as_select())
                    .into_boxed();
                if open_only {
                    q = q.filter(sr::state.eq("open"));
                }
                let batch: Vec<Row> = q.load(conn)?;
                let done = batch.len() < 200;
                for r in batch {
                    cursor = r.id;
                    if within_reach(conn, &user, r.id).is_ok() {
                        out.push(r);
                        if out.len() as i64 > limit {
                            break;
                        }
                    }
                }
                if done || out.len() as i64 > limit {
                    break;
                }
            }
            let (rows, next_cursor) = paged(out, limit, |r| r.id.to_string());
            let items = rows
                .iter()
                .map(|r| view(conn, r, false))
                .collect::<AppResult<_>>()?;
            Ok(Page { items, next_cursor })
        })
        .await
}

pub async fn get(state: &AppState, user: AuthUser, id: i64) -> AppResult<SurveillanceView> {
    user.require(roles::ADMIN_OR_REVIEWER)?;
    state
        .db
        .read(move |conn| {
            let r = within_reach(conn, &user, id)?;
            view(conn, &r, true)
        })
        .await
}

/// Decides an open review: confirm the certificate, or suspend or revoke it through the
/// certificate transitions (audited, with the reason, and pushed by webhook).
pub async fn decide(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    outcome: Option<Outcome>,
    reason: Option<String>,
) -> AppResult<SurveillanceView> {
    user.require(roles::ADMIN_OR_REVIEWER)?;
    state
        .db
        .write(move |conn| {
            // Two reviewers deciding at once: the second waits, then finds it decided.
            crate::db::complaints::lock_row(conn, "surveillance_reviews", id)?;
            let r = within_reach(conn, &user, id)?;
            let outcome = outcome.ok_or_else(|| {
                AppError::validation("outcome", "confirmed, suspended or revoked")
            })?;
            let reason = reason
                .as_deref()
                .ok_or_else(|| AppError::validation("reason", "give the reason for the decision"))
                .and_then(|r| {
                    crate::domain::text::paragraph(r, 2000)
                        .map_err(|e| AppError::validation("reason", e))
                })?;
            if r.state != "open" {
                return Err(AppError::conflict(
                    Code::InvalidTransition,
                    format!(
                        "the surveillance review was decided: {}",
                        r.outcome.unwrap_or_default()
                    ),
                ));
            }
            let cert: Certificate = crate::db::schema::certificates::table
                .find(r.certificate_id)
                .select(Certificate::as_select())
                .first_row(conn)?;
            let change = match outcome {
                Outcome::Confirmed => None,
                Outcome::Suspended => Some(CertificateChange::Suspend),
                Outcome::Revoked => Some(CertificateChange::Revoke),
            };
            if let Some(change) = change {
                crate::certification::apply_change(
                    conn,
                    &user,
                    &request_id,
                    cert,
                    change,
                    &reason,
                )?;
            } else if user.role == Role::Reviewer {
                let e = crate::db::enterprises::find(conn, r.enterprise_id)?
                    .ok_or(AppError::NotFound)?;
                crate::scope::reviewer_may_act(conn, &user, &e)?;
            }
            let at = now();
            diesel::update(sr::table.find(id))
                .set((
                    sr::state.eq("decided"),
                    sr::outcome.eq(Some(outcome.as_str())),
                    sr::reason.eq(Some(&reason)),
                    sr::decided_by.eq(Some(user.id)),
                    sr::decided_at.eq(Some(at)),
                ))
                .execute(conn)?;
            audit::append(
                conn,
                audit::Event {
                    actor_user_id: Some(user.id),
                    action: "surveillance.decided",
                    entity_type: "surveillance_review",
                    entity_id: id.to_string(),
                    enterprise_id: Some(r.enterprise_id),
                    request_id: Some(&request_id),
                    details: serde_json::json!({ "outcome": outcome.as_str(), "reason": reason }),
                },
            )?;
            let r = within_reach(conn, &user, id).or_else(|_| {
                sr::table
                    .find(id)
                    .select(Row::as_select())
                    .first_row(conn)
                    .map_err(AppError::from)
            })?;
            view(conn, &r, true)
        })
        .await
}
