//! Certificate rows and their status history.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{certificate_events, certificates, enterprises};
use super::sql::{FirstRow, concrete};
use super::{AnyConnection, now};
use crate::domain::certificate::{CertificateChange, CertificateStatus};
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = certificates)]
pub struct Certificate {
    pub id: i64,
    pub number: String,
    pub enterprise_id: i64,
    pub submission_id: i64,
    pub level: String,
    pub schema_id: String,
    pub version: String,
    pub schema_hash: String,
    pub score: f64,
    pub issued_on: String,
    pub expires_on: String,
    #[diesel(deserialize_as = String)]
    pub status: CertificateStatus,
    pub payload: String,
    pub signature: String,
    pub kid: String,
    pub created_at: NaiveDateTime,
}

impl Certificate {
    /// The status shown to people on `today`: `expired` is derived from the date.
    pub fn status_on(&self, today: chrono::NaiveDate) -> CertificateStatus {
        match chrono::NaiveDate::parse_from_str(&self.expires_on, "%Y-%m-%d") {
            Ok(expires_on) => self.status.shown(expires_on, today),
            Err(_) => self.status,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = certificates)]
pub struct NewCertificate<'a> {
    pub number: &'a str,
    pub enterprise_id: i64,
    pub submission_id: i64,
    pub level: &'a str,
    pub schema_id: &'a str,
    pub version: &'a str,
    pub schema_hash: &'a str,
    pub score: f64,
    pub issued_on: &'a str,
    pub expires_on: &'a str,
    pub status: &'static str,
    pub payload: &'a str,
    pub signature: &'a str,
    pub kid: &'a str,
    pub created_at: NaiveDateTime,
}

/// Inserts the certificate and returns it as stored.
pub fn insert(conn: &mut AnyConnection, new: &NewCertificate<'_>) -> AppResult<Certificate> {
    // `as_select` is typed for one backend: the statement is built in each arm.
    Ok(concrete!(conn, |c| diesel::insert_into(
        certificates::table
    )
    .values(new)
    .returning(Certificate::as_select())
    .get_result(c))?)
}

/// Advisory lock key serialising certificate numbering on PostgreSQL.
const NUMBERING_LOCK: i64 = 7_271_003;

/// The serial of the last certificate numbered in `year`, or 0. Numbers are given in issuing
/// order, so the newest certificate holds the highest serial: one indexed row, however many
/// certificates there are.
///
/// On PostgreSQL, concurrent approvals would read the same serial: a transaction-scoped
/// advisory lock makes each wait for the previous issuer to commit (SQLite's write lock does
/// this already).
pub fn last_serial_in_year(conn: &mut AnyConnection, year: i32) -> AppResult<u32> {
    if let AnyConnection::Postgresql(_) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_xact_lock({NUMBERING_LOCK})"))
            .execute(conn)?;
    }
    let newest: Option<String> = certificates::table
        .order(certificates::id.desc())
        .select(certificates::number)
        .first_row(conn)
        .optional()?;
    let prefix = format!("CSR-{year:04}-");
    Ok(newest
        .as_deref()
        .and_then(|n| n.strip_prefix(prefix.as_str()))
        .and_then(|rest| rest.split('-').next())
        .and_then(|serial| serial.parse().ok())
        .unwrap_or(0))
}

pub fn by_number(conn: &mut AnyConnection, number: &str) -> AppResult<Option<Certificate>> {
    Ok(certificates::table
        .filter(certificates::number.eq(number))
        .select(Certificate::as_select())
        .first_row(conn)
        .optional()?)
}

/// The enterprise's certificates in a status.
pub fn of_enterprise(
    conn: &mut AnyConnection,
    enterprise: i64,
    status: CertificateStatus,
) -> AppResult<Vec<Certificate>> {
    Ok(certificates::table
        .filter(certificates::enterprise_id.eq(enterprise))
        .filter(certificates::status.eq(status.as_str()))
        .select(Certificate::as_select())
        .load(conn)?)
}

/// Active certificates expiring in `[from, until]`, with their enterprise's industry code.
pub fn expiring(
    conn: &mut AnyConnection,
    from: chrono::NaiveDate,
    until: chrono::NaiveDate,
) -> AppResult<Vec<(Certificate, String)>> {
    Ok(certificates::table
        .inner_join(enterprises::table)
        .filter(certificates::status.eq(CertificateStatus::Active.as_str()))
        .filter(certificates::expires_on.ge(from.to_string()))
        .filter(certificates::expires_on.le(until.to_string()))
        .select((Certificate::as_select(), enterprises::industry_code))
        .load(conn)?)
}

/// The newest certificate issued on submission `id`.
pub fn of_submission(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Certificate>> {
    Ok(certificates::table
        .filter(certificates::submission_id.eq(id))
        .order(certificates::id.desc())
        .select(Certificate::as_select())
        .first_row(conn)
        .optional()?)
}

/// A page of certificates by id after `after`, of one enterprise or of all.
pub fn list(
    conn: &mut AnyConnection,
    enterprise: Option<i64>,
    after: i64,
    limit: i64,
) -> AppResult<Vec<Certificate>> {
    let mut query = certificates::table
        .filter(certificates::id.gt(after))
        .into_boxed();
    if let Some(e) = enterprise {
        query = query.filter(certificates::enterprise_id.eq(e));
    }
    Ok(query
        .order(certificates::id)
        .limit(limit)
        .select(Certificate::as_select())
        .load(conn)?)
}

/// Applies `change` to a certificate and records why; false when its status does not allow it.
pub fn transition(
    conn: &mut AnyConnection,
    id: i64,
    change: CertificateChange,
    reason: Option<&str>,
    actor: Option<i64>,
) -> AppResult<bool> {
    let from: Vec<&str> = CertificateStatus::before(change)
        .into_iter()
        .map(CertificateStatus::as_str)
        .collect();
    let to = change.to();
    let n = diesel::update(
        certificates::table
            .find(id)
            .filter(certificates::status.eq_any(from)),
    )
    .set(certificates::status.eq(to.as_str()))
    .execute(conn)?;
    if n == 1 {
        event(conn, id, change.event(), reason, actor)?;
    }
    Ok(n == 1)
}

fn event(
    conn: &mut AnyConnection,
    id: i64,
    action: &str,
    reason: Option<&str>,
    actor: Option<i64>,
) -> AppResult<()> {
    events(conn, &[(id, action, reason)], actor)
}

/// Records `(certificate, action, reason)` events by `actor` in one statement. They share one
/// time; their ids follow the order given, which is the history's order.
pub fn events(
    conn: &mut AnyConnection,
    events: &[(i64, &str, Option<&str>)],
    actor: Option<i64>,
) -> AppResult<()> {
    let at = now();
    let rows: Vec<_> = events
        .iter()
        .map(|(id, action, reason)| {
            (
                certificate_events::certificate_id.eq(*id),
                certificate_events::action.eq(*action),
                certificate_events::reason.eq(*reason),
                certificate_events::actor_id.eq(actor),
                certificate_events::at.eq(at),
            )
        })
        .collect();
    // Multi-row inserts have no multi-backend form: run it on the concrete connection.
    let insert = diesel::insert_into(certificate_events::table).values(&rows);
    concrete!(conn, |c| insert.execute(c))?;
    Ok(())
}

/// Supersedes enterprise `enterprise`'s active certificates, in one statement; returns their
/// ids, in order. Their events are the caller's to record ([`events`]).
pub fn supersede_active(conn: &mut AnyConnection, enterprise: i64) -> AppResult<Vec<i64>> {
    let mut ids: Vec<i64> = diesel::update(
        certificates::table
            .filter(certificates::enterprise_id.eq(enterprise))
            .filter(certificates::status.eq(CertificateStatus::Active.as_str())),
    )
    .set(certificates::status.eq(CertificateChange::Supersede.to().as_str()))
    .returning(certificates::id)
    .get_results(conn)?;
    ids.sort_unstable();
    Ok(ids)
}

/// Active, unexpired certificates for the public directory, with enterprise name, industry and
/// region, ordered by id after the cursor.
pub fn directory(
    conn: &mut AnyConnection,
    today: &str,
    industry: Option<&str>,
    region: Option<&str>,
    q: Option<&str>,
    after: i64,
    limit: i64,
) -> AppResult<Vec<(Certificate, String, String, String)>> {
    let mut query = certificates::table
        .inner_join(enterprises::table)
        .filter(certificates::status.eq(CertificateStatus::Active.as_str()))
        .filter(certificates::expires_on.ge(today.to_owned()))
        .filter(certificates::id.gt(after))
        .into_boxed();
    if let Some(p) = industry {
        query = query.filter(enterprises::industry_code.like(format!("{p}%")));
    }
    if let Some(p) = region {
        query = query.filter(enterprises::region_code.like(format!("{p}%")));
    }
    if let Some(q) = q {
        let pattern = format!("%{}%", q.replace(['%', '_'], ""));
        query = query.filter(
            enterprises::name
                .like(pattern.clone())
                .or(certificates::number.like(pattern)),
        );
    }
    Ok(query
        .order(certificates::id)
        .limit(limit)
        .select((
            Certificate::as_select(),
            enterprises::name,
            enterprises::industry_code,
            enterprises::region_code,
        ))
        .load(conn)?)
}

/// Who performed the latest `action` on certificate `id`, if anyone did.
pub fn last_actor(conn: &mut AnyConnection, id: i64, action: &str) -> AppResult<Option<i64>> {
    Ok(certificate_events::table
        .filter(certificate_events::certificate_id.eq(id))
        .filter(certificate_events::action.eq(action))
        .order(certificate_events::id.desc())
        .select(certificate_events::actor_id)
        .first_row::<Option<i64>, _>(conn)
        .optional()?
        .flatten())
}
