//! Complaints, liaison units and group-complaint incidents.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::AnyConnection;
use super::complaint_months::{Change, Tally};
use super::schema::{
    complaint_cases as cc, complaint_incidents as inc, complaint_terms as ct, complaints as c,
    liaison_units as lu,
};
use super::sql::FirstRow;
use crate::error::AppResult;

/// What statistics and deadlines read.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = c)]
pub struct Complaint {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub reference: String,
    pub enterprise_id: i64,
    pub industry_code: String,
    pub region_code: String,
    pub category: String,
    pub channel: String,
    pub amount_fen: Option<i64>,
    pub received_on: NaiveDate,
    pub state: String,
    pub outcome: Option<String>,
    pub acknowledge_due: NaiveDate,
    pub acknowledged_on: Option<NaiveDate>,
    pub proposal_due: Option<NaiveDate>,
    pub closed_on: Option<NaiveDate>,
    pub incident_id: Option<i64>,
}

/// How a complaint is being handled, and its sealed personal data.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cc)]
pub struct Case {
    pub complaint_id: i64,
    pub personal: Option<String>,
    pub proposal: Option<String>,
    pub proposed_on: Option<NaiveDate>,
    pub rejection_reason: Option<String>,
    pub reopen_until: Option<NaiveDate>,
    pub reopened: i32,
    pub reminded_stage: Option<String>,
    pub escalated_stage: Option<String>,
    pub escalated_at: Option<NaiveDateTime>,
    pub recorded_by: i64,
    pub officer_id: Option<i64>,
    pub external_ref: Option<String>,
    pub erased_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// A complaint with its case.
pub type Full = (Complaint, Case);

/// Inserts a complaint, its case and the deadlines in force (working days to acknowledge and
/// to propose), setting the `complaint_id`s. Returns the id, and what the complaint adds to the
/// monthly figures (for [`super::complaint_months::apply`], last in the transaction).
pub fn insert(
    conn: &mut AnyConnection,
    x: &Complaint,
    case: &Case,
    terms: (u32, u32),
) -> AppResult<(i64, Change)> {
    let id: i64 = diesel::insert_into(c::table)
        .values(x)
        .returning(c::id)
        .get_result(conn)?;
    let case = Case {
        complaint_id: id,
        ..case.clone()
    };
    diesel::insert_into(cc::table).values(&case).execute(conn)?;
    diesel::insert_into(ct::table)
        .values((
            ct::complaint_id.eq(id),
            ct::acknowledge_days.eq(i32::try_from(terms.0).unwrap_or(i32::MAX)),
            ct::proposal_days.eq(i32::try_from(terms.1).unwrap_or(i32::MAX)),
        ))
        .execute(conn)?;
    Ok((id, Change::new(x, Tally::of(x))))
}

/// The working days to propose a settlement that were in force when complaint `id` came in.
pub fn proposal_days(conn: &mut AnyConnection, id: i64) -> AppResult<Option<u32>> {
    let days: Option<i32> = ct::table
        .find(id)
        .select(ct::proposal_days)
        .first_row(conn)
        .optional()?;
    Ok(days.and_then(|d| u32::try_from(d).ok()))
}

/// Waits for and holds the complaint's row until the transaction ends (PostgreSQL; SQLite's
/// write transactions hold the database already), so that two writers never both act on what
/// they read.
pub fn lock(conn: &mut AnyConnection, id: i64) -> AppResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT id FROM complaints WHERE id = $1 FOR UPDATE")
            .bind::<diesel::sql_types::BigInt, _>(id)
            .execute(pg)?;
    }
    Ok(())
}

/// [`lock`] for several complaints, taken in the order of their ids.
pub fn lock_all(conn: &mut AnyConnection, ids: &[i64]) -> AppResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query("SELECT id FROM complaints WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(ids)
            .execute(pg)?;
    }
    Ok(())
}

/// The same for an incident or a surveillance review row.
pub fn lock_row(conn: &mut AnyConnection, table: &'static str, id: i64) -> AppResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query(format!("SELECT id FROM {table} WHERE id = $1 FOR UPDATE"))
            .bind::<diesel::sql_types::BigInt, _>(id)
            .execute(pg)?;
    }
    Ok(())
}

pub fn find(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Full>> {
    Ok(c::table
        .inner_join(cc::table)
        .filter(c::id.eq(id))
        .select((Complaint::as_select(), Case::as_select()))
        .first_row(conn)
        .optional()?)
}

/// The complaint a partner platform already sent under its own number.
pub fn by_external_ref(
    conn: &mut AnyConnection,
    recorded_by: i64,
    external_ref: &str,
) -> AppResult<Option<i64>> {
    Ok(cc::table
        .filter(cc::recorded_by.eq(recorded_by))
        .filter(cc::external_ref.eq(external_ref))
        .select(cc::complaint_id)
        .first_row(conn)
        .optional()?)
}

/// Who may list which complaints.
#[derive(Debug, Clone)]
pub enum Reach {
    /// Every complaint (administrators).
    All,
    /// Complaints of enterprises in a region (association staff; `None`: nationwide).
    Region(Option<String>),
    /// One enterprise's complaints.
    Enterprise(i64),
    /// What one partner platform sent.
    RecordedBy(i64),
}

/// Filters of the complaint list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<String>,
    pub enterprise_id: Option<i64>,
    pub overdue_on: Option<NaiveDate>,
    pub incident_id: Option<i64>,
}

/// A page of complaints, oldest first (ids after `after`).
pub fn list(
    conn: &mut AnyConnection,
    reach: &Reach,
    filter: &Filter,
    after: i64,
    limit: i64,
) -> AppResult<Vec<Full>> {
    let mut q = c::table
        .inner_join(cc::table)
        .filter(c::id.gt(after))
        .select((Complaint::as_select(), Case::as_select()))
        .into_boxed();
    match reach {
        Reach::All | Reach::Region(None) => {}
        Reach::Region(Some(prefix)) => {
            q = q.filter(c::region_code.like(format!("{prefix}%")));
        }
        Reach::Enterprise(e) => q = q.filter(c::enterprise_id.eq(*e)),
        Reach::RecordedBy(u) => q = q.filter(cc::recorded_by.eq(*u)),
    }
    if let Some(s) = &filter.state {
        q = q.filter(c::state.eq(s.clone()));
    }
    if let Some(e) = filter.enterprise_id {
        q = q.filter(c::enterprise_id.eq(e));
    }
    if let Some(i) = filter.incident_id {
        q = q.filter(c::incident_id.eq(i));
    }
    if let Some(today) = filter.overdue_on {
        q = q.filter(
            (c::state.eq("forwarded").and(c::acknowledge_due.lt(today)))
                .or(c::state.eq("acknowledged").and(c::proposal_due.lt(today))),
        );
    }
    Ok(q.order(c::id).limit(limit).load(conn)?)
}

/// Saves what the workflow may change of a complaint (locked by the caller, see [`lock`]) and
/// its case. Returns the difference it makes to the monthly figures, for
/// [`super::complaint_months::apply`] last in the transaction.
pub fn save(conn: &mut AnyConnection, (x, case): &Full) -> AppResult<Change> {
    let before: Complaint = c::table
        .find(x.id)
        .select(Complaint::as_select())
        .first_row(conn)?;
    let change = Change::new(&before, Tally::change(&before, x));
    diesel::update(c::table.find(x.id))
        .set((
            c::state.eq(&x.state),
            c::outcome.eq(&x.outcome),
            c::acknowledged_on.eq(x.acknowledged_on),
            c::proposal_due.eq(x.proposal_due),
            c::closed_on.eq(x.closed_on),
            c::incident_id.eq(x.incident_id),
        ))
        .execute(conn)?;
    diesel::update(cc::table.find(x.id))
        .set((
            cc::proposal.eq(&case.proposal),
            cc::proposed_on.eq(case.proposed_on),
            cc::rejection_reason.eq(&case.rejection_reason),
            cc::reopen_until.eq(case.reopen_until),
            cc::reopened.eq(case.reopened),
            cc::reminded_stage.eq(&case.reminded_stage),
            cc::escalated_stage.eq(&case.escalated_stage),
            cc::escalated_at.eq(case.escalated_at),
            cc::officer_id.eq(case.officer_id),
            cc::updated_at.eq(case.updated_at),
        ))
        .execute(conn)?;
    Ok(change)
}

/// Open complaints whose current deadline falls on or before `until` (reminders and
/// escalations), oldest first.
pub fn running_against(
    conn: &mut AnyConnection,
    until: NaiveDate,
    after: i64,
    limit: i64,
) -> AppResult<Vec<Full>> {
    Ok(c::table
        .inner_join(cc::table)
        .filter(c::id.gt(after))
        .filter(
            (c::state.eq("forwarded").and(c::acknowledge_due.le(until)))
                .or(c::state.eq("acknowledged").and(c::proposal_due.le(until))),
        )
        .order(c::id)
        .limit(limit)
        .select((Complaint::as_select(), Case::as_select()))
        .load(conn)?)
}

/// Closed complaints still holding personal data, closed on or before `closed_by` and no
/// longer reopenable on `today`.
pub fn erasable(
    conn: &mut AnyConnection,
    closed_by: NaiveDate,
    today: NaiveDate,
    idle_before: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<i64>> {
    let closed_long_ago = c::state
        .eq("closed")
        .and(c::closed_on.le(closed_by))
        .and(cc::reopen_until.lt(today));
    let abandoned = c::state.ne("closed").and(cc::updated_at.lt(idle_before));
    Ok(c::table
        .inner_join(cc::table)
        .filter(cc::personal.is_not_null())
        .filter(closed_long_ago.or(abandoned))
        .order(c::id)
        .limit(limit)
        .select(c::id)
        .load(conn)?)
}

/// Erases the personal data of complaints: the sealed contact and words are gone for good.
pub fn erase(conn: &mut AnyConnection, ids: &[i64], at: NaiveDateTime) -> AppResult<usize> {
    Ok(
        diesel::update(cc::table.filter(cc::complaint_id.eq_any(ids)))
            .set((
                cc::personal.eq(None::<String>),
                // The enterprise's and the consumer's own words may name the consumer.
                cc::proposal.eq(None::<String>),
                cc::rejection_reason.eq(None::<String>),
                cc::erased_at.eq(Some(at)),
                cc::updated_at.eq(at),
            ))
            .execute(conn)?,
    )
}

/// Complaints against `enterprise` about `category` received on or after `since` and not yet
/// linked to an incident.
pub fn unlinked_since(
    conn: &mut AnyConnection,
    enterprise: i64,
    category: &str,
    since: NaiveDate,
) -> AppResult<Vec<i64>> {
    Ok(c::table
        .filter(c::enterprise_id.eq(enterprise))
        .filter(c::category.eq(category))
        .filter(c::received_on.ge(since))
        .filter(c::incident_id.is_null())
        .select(c::id)
        .load(conn)?)
}

pub fn link(conn: &mut AnyConnection, ids: &[i64], incident: i64) -> AppResult<()> {
    diesel::update(c::table.filter(c::id.eq_any(ids)))
        .set(c::incident_id.eq(Some(incident)))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = inc)]
pub struct Incident {
    pub id: i64,
    pub enterprise_id: i64,
    pub category: String,
    pub state: String,
    pub opened_at: NaiveDateTime,
    pub remediation: Option<String>,
    pub remediation_at: Option<NaiveDateTime>,
    pub closed_by: Option<i64>,
    pub closed_at: Option<NaiveDateTime>,
}

/// The incident about `category` at `enterprise` that is not closed.
pub fn open_incident(
    conn: &mut AnyConnection,
    enterprise: i64,
    category: &str,
) -> AppResult<Option<Incident>> {
    Ok(inc::table
        .filter(inc::enterprise_id.eq(enterprise))
        .filter(inc::category.eq(category))
        .filter(inc::state.ne("closed"))
        .select(Incident::as_select())
        .first_row(conn)
        .optional()?)
}

/// Opens an incident unless one is open already (parallel intakes meet the unique index);
/// returns the new incident's id, or `None` when another was open.
pub fn open_incident_once(
    conn: &mut AnyConnection,
    enterprise: i64,
    category: &str,
    at: NaiveDateTime,
) -> AppResult<Option<i64>> {
    let insert = diesel::insert_into(inc::table)
        .values((
            inc::enterprise_id.eq(enterprise),
            inc::category.eq(category),
            inc::state.eq("open"),
            inc::opened_at.eq(at),
        ))
        .on_conflict_do_nothing()
        .returning(inc::id);
    // ON CONFLICT has no multi-backend form: run it on the concrete connection.
    Ok(match conn {
        AnyConnection::Sqlite(c) => insert.get_result(c).optional()?,
        AnyConnection::Postgresql(c) => insert.get_result(c).optional()?,
    })
}

pub fn incident(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Incident>> {
    Ok(inc::table
        .find(id)
        .select(Incident::as_select())
        .first_row(conn)
        .optional()?)
}

pub fn save_incident(conn: &mut AnyConnection, i: &Incident) -> AppResult<()> {
    diesel::update(inc::table.find(i.id))
        .set((
            inc::state.eq(&i.state),
            inc::remediation.eq(&i.remediation),
            inc::remediation_at.eq(i.remediation_at),
            inc::closed_by.eq(i.closed_by),
            inc::closed_at.eq(i.closed_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// How many complaints an incident links.
pub fn incident_size(conn: &mut AnyConnection, id: i64) -> AppResult<i64> {
    Ok(c::table
        .filter(c::incident_id.eq(id))
        .count()
        .get_result(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = lu)]
#[diesel(treat_none_as_null = true)]
pub struct Liaison {
    pub enterprise_id: i64,
    pub status: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub contact_email: String,
    pub hours: String,
    pub acknowledge_days: i32,
    pub proposal_days: i32,
    pub requested_by: i64,
    pub requested_at: NaiveDateTime,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
}

pub fn liaison(conn: &mut AnyConnection, enterprise: i64) -> AppResult<Option<Liaison>> {
    Ok(lu::table
        .find(enterprise)
        .select(Liaison::as_select())
        .first_row(conn)
        .optional()?)
}

/// Saves an enrolment, replacing an earlier one of the enterprise.
pub fn put_liaison(conn: &mut AnyConnection, l: &Liaison) -> AppResult<()> {
    let upsert = diesel::insert_into(lu::table)
        .values(l)
        .on_conflict(lu::enterprise_id)
        .do_update()
        .set(l);
    match conn {
        AnyConnection::Sqlite(c) => upsert.execute(c)?,
        AnyConnection::Postgresql(c) => upsert.execute(c)?,
    };
    Ok(())
}

/// Enrolments by enterprise id after `after`, of a status (all when `None`).
pub fn liaisons(
    conn: &mut AnyConnection,
    status: Option<&str>,
    after: i64,
    limit: i64,
) -> AppResult<Vec<Liaison>> {
    let mut q = lu::table
        .filter(lu::enterprise_id.gt(after))
        .select(Liaison::as_select())
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(lu::status.eq(s.to_owned()));
    }
    Ok(q.order(lu::enterprise_id).limit(limit).load(conn)?)
}

/// The enterprise with this credit code: its id, industry and region.
pub fn enterprise_by_credit_code(
    conn: &mut AnyConnection,
    credit_code: &str,
) -> AppResult<Option<(i64, String, String)>> {
    use super::schema::enterprises as e;
    Ok(e::table
        .filter(e::credit_code.eq(credit_code))
        .select((e::id, e::industry_code, e::region_code))
        .first_row(conn)
        .optional()?)
}
