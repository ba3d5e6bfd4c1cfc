//! Renewal: ninety days before an active certificate expires, the service opens a draft
//! self-assessment for its holder on the newest published version of the certificate's schema,
//! with the complaint figures measured in each quarter the certificate was in force kept beside it
//! for the enterprise and the reviewer, and tells the enterprise by webhook
//! (`certificate.renewal_opened`).

use chrono::{Duration, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::measures::{self, Measures, Quarter};
use crate::auth::AuthUser;
use crate::db::schema::renewals as rn;
use crate::db::sql::FirstRow;
use crate::db::submissions::NewSubmission;
use crate::db::{AnyConnection, audit, now};
use crate::domain::SubmissionStatus;
use crate::domain::schema::Status;
use crate::domain::webhook::EventType;
use crate::error::{AppError, AppResult};
use crate::schemas::SchemaCache;
use crate::state::AppState;

/// Days before expiry that the renewal opens.
pub const AHEAD_DAYS: i64 = 90;

/// Advisory lock key serialising renewal scans across instances on PostgreSQL.
const RENEWAL_LOCK: i64 = 7_271_019;

/// A renewal and the complaint figures it carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalView {
    pub certificate_number: String,
    pub expires_on: String,
    pub submission_id: i64,
    /// The complaint measures of each quarter the certificate was in force, oldest first.
    pub complaint_figures: Vec<Measures>,
}

/// Opens the renewals due on `today`, in one transaction; returns how many.
pub fn open_due(
    conn: &mut AnyConnection,
    schemas: &SchemaCache,
    today: NaiveDate,
) -> AppResult<usize> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({RENEWAL_LOCK})")).execute(pg)?;
    }
    let due = crate::db::certificates::expiring(conn, today, today + Duration::days(AHEAD_DAYS))?;
    let mut opened = 0;
    for (cert, industry) in due {
        let exists: i64 = rn::table
            .filter(rn::certificate_id.eq(cert.id))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            continue;
        }
        let Some(enterprise) = crate::db::enterprises::find(conn, cert.enterprise_id)? else {
            continue;
        };
        // The newest published version of the certificate's schema.
        let Some(row) = crate::db::schema_versions::all(conn)?
            .into_iter()
            .filter(|r| r.schema_id == cert.schema_id && r.status() == Status::Published)
            .max_by(|a, b| a.effective_date.cmp(&b.effective_date))
        else {
            continue;
        };
        let schema = schemas.get(
            conn,
            &row.schema_id,
            &row.version,
            Some(&row.content_hash),
            &enterprise.industry_code,
        )?;
        // Started in the name of whoever started the certified self-assessment.
        let Some(original) = crate::db::submissions::find(conn, cert.submission_id)? else {
            continue;
        };
        let at = now();
        let submission = crate::db::submissions::insert(
            conn,
            &NewSubmission {
                enterprise_id: enterprise.id,
                schema_id: &row.schema_id,
                version: &row.version,
                schema_hash: &row.content_hash,
                industry_code: &enterprise.industry_code,
                profile_id: schema.resolved.profile.as_ref().map(|p| p.id.as_str()),
                status: SubmissionStatus::Draft.as_str(),
                revision: 1,
                created_by: original.created_by,
                created_at: at,
                updated_at: at,
            },
        )?;
        // Every quarter the certificate was in force, up to today (at most the last twelve).
        let issued = NaiveDate::parse_from_str(&cert.issued_on, "%Y-%m-%d").unwrap_or(today);
        let first = Quarter::of(issued);
        let mut q = Quarter::of(today);
        let mut figures = Vec::new();
        while figures.len() < 12 {
            figures.push(measures::compute(conn, enterprise.id, q, today)?);
            if q == first {
                break;
            }
            q = q.previous();
        }
        figures.reverse();
        let figures_json = serde_json::to_string(&figures).map_err(AppError::internal)?;
        diesel::insert_into(rn::table)
            .values((
                rn::certificate_id.eq(cert.id),
                rn::submission_id.eq(submission),
                rn::complaint_figures.eq(&figures_json),
                rn::opened_at.eq(at),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            audit::Event {
                actor_user_id: None,
                action: "certificate.renewal_opened",
                entity_type: "certificate",
                entity_id: cert.number.clone(),
                enterprise_id: Some(enterprise.id),
                request_id: Some("renewal"),
                details: serde_json::json!({
                    "submission_id": submission, "version": row.version,
                    "expires_on": cert.expires_on,
                }),
            },
        )?;
        let mut event = crate::webhooks::certificate_event(
            EventType::CertificateRenewalOpened,
            &cert,
            &industry,
            None,
        );
        if let Some(d) = event.data.as_object_mut() {
            d.insert("submission_id".into(), submission.into());
            d.insert(
                "complaint_figures".into(),
                serde_json::to_value(&figures).map_err(AppError::internal)?,
            );
        }
        crate::webhooks::emit(conn, event)?;
        opened += 1;
    }
    Ok(opened)
}

/// The renewal a submission was opened for, if any, for those who may see the submission.
pub async fn of_submission(state: &AppState, user: AuthUser, id: i64) -> AppResult<RenewalView> {
    state
        .db
        .read(move |conn| {
            crate::scope::load_visible(conn, &user, id)?;
            let (certificate_id, figures): (i64, String) = rn::table
                .filter(rn::submission_id.eq(id))
                .select((rn::certificate_id, rn::complaint_figures))
                .first_row(conn)
                .optional()?
                .ok_or(AppError::NotFound)?;
            let cert: crate::db::certificates::Certificate = crate::db::schema::certificates::table
                .find(certificate_id)
                .select(crate::db::certificates::Certificate::as_select())
                .first_row(conn)?;
            Ok(RenewalView {
                certificate_number: cert.number,
                expires_on: cert.expires_on,
                submission_id: id,
                complaint_figures: serde_json::from_str(&figures).unwrap_or_default(),
            })
        })
        .await
}
