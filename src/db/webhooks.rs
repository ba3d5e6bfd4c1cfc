//! Webhook endpoints, the outbox of events and their deliveries.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    users, webhook_deliveries as d, webhook_endpoints as ep, webhook_events as ev,
};
use super::sql::FirstRow;
use super::{AnyConnection, now};
use crate::domain::webhook::DeliveryState;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ep)]
pub struct Endpoint {
    pub id: i64,
    pub owner_id: i64,
    pub enterprise_id: Option<i64>,
    pub url: String,
    pub description: Option<String>,
    pub event_types: String,
    pub secret: String,
    pub created_at: NaiveDateTime,
    pub disabled_at: Option<NaiveDateTime>,
    pub disabled_reason: Option<String>,
    pub deleted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ep)]
pub struct NewEndpoint<'a> {
    pub owner_id: i64,
    pub enterprise_id: Option<i64>,
    pub url: &'a str,
    pub description: Option<&'a str>,
    pub event_types: &'a str,
    pub secret: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert_endpoint(conn: &mut AnyConnection, e: &NewEndpoint<'_>) -> AppResult<i64> {
    Ok(diesel::insert_into(ep::table)
        .values(e)
        .returning(ep::id)
        .get_result(conn)?)
}

/// An endpoint that was not deleted.
pub fn endpoint(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Endpoint>> {
    Ok(ep::table
        .find(id)
        .filter(ep::deleted_at.is_null())
        .select(Endpoint::as_select())
        .first_row(conn)
        .optional()?)
}

/// Endpoints by id after `after`: those `owner` registered or that hear `enterprise`, or all
/// (administrators) when `owner` is `None`.
pub fn endpoints(
    conn: &mut AnyConnection,
    owner: Option<i64>,
    enterprise: Option<i64>,
    after: i64,
    limit: i64,
) -> AppResult<Vec<Endpoint>> {
    let mut q = ep::table
        .filter(ep::deleted_at.is_null())
        .filter(ep::id.gt(after))
        .into_boxed();
    if let Some(owner) = owner {
        q = q.filter(
            ep::owner_id
                .eq(owner)
                .or(ep::enterprise_id.eq(enterprise.unwrap_or(-1))),
        );
    }
    Ok(q.order(ep::id)
        .limit(limit)
        .select(Endpoint::as_select())
        .load(conn)?)
}

pub fn delete_endpoint(conn: &mut AnyConnection, id: i64) -> AppResult<()> {
    diesel::update(ep::table.find(id))
        .set(ep::deleted_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

/// Enables (`None`) or disables an endpoint, with the reason.
pub fn set_disabled(conn: &mut AnyConnection, id: i64, reason: Option<&str>) -> AppResult<()> {
    diesel::update(ep::table.find(id))
        .set((
            ep::disabled_at.eq(reason.map(|_| now())),
            ep::disabled_reason.eq(reason),
        ))
        .execute(conn)?;
    Ok(())
}

/// Enabled endpoints that may hear of an event of `enterprise`: its own, and those of industry
/// bodies (no enterprise) with the owner's industry scopes (comma-separated prefixes).
pub fn listeners(
    conn: &mut AnyConnection,
    enterprise: i64,
) -> AppResult<Vec<(Endpoint, Option<String>)>> {
    Ok(ep::table
        .inner_join(users::table.on(users::id.eq(ep::owner_id)))
        .filter(ep::deleted_at.is_null())
        .filter(ep::disabled_at.is_null())
        .filter(users::disabled.eq(false))
        .filter(
            ep::enterprise_id
                .eq(enterprise)
                .or(ep::enterprise_id.is_null()),
        )
        .select((Endpoint::as_select(), users::industry_scopes))
        .load(conn)?)
}

#[derive(Debug, Insertable)]
#[diesel(table_name = ev)]
pub struct NewEvent<'a> {
    pub message_id: &'a str,
    pub event_type: &'a str,
    pub enterprise_id: i64,
    pub industry_code: &'a str,
    pub payload: &'a str,
    pub dedupe_key: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

pub fn insert_event(conn: &mut AnyConnection, e: &NewEvent<'_>) -> AppResult<i64> {
    Ok(diesel::insert_into(ev::table)
        .values(e)
        .returning(ev::id)
        .get_result(conn)?)
}

/// Whether an event with this dedupe key was raised already.
pub fn raised(conn: &mut AnyConnection, dedupe_key: &str) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        ev::table.filter(ev::dedupe_key.eq(dedupe_key)),
    ))
    .get_result(conn)?)
}

/// Queues the delivery of event `event` to `endpoint`, due now.
pub fn insert_delivery(conn: &mut AnyConnection, event: i64, endpoint: i64) -> AppResult<i64> {
    let at = now();
    Ok(diesel::insert_into(d::table)
        .values((
            d::event_id.eq(event),
            d::endpoint_id.eq(endpoint),
            d::state.eq(DeliveryState::Pending.as_str()),
            d::attempts.eq(0),
            d::next_attempt_at.eq(at),
            d::created_at.eq(at),
        ))
        .returning(d::id)
        .get_result(conn)?)
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = d)]
pub struct Delivery {
    pub id: i64,
    pub event_id: i64,
    pub endpoint_id: i64,
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// The deliveries to an endpoint by id after `after`, with their event's type and message id.
pub fn deliveries(
    conn: &mut AnyConnection,
    endpoint: i64,
    after: i64,
    limit: i64,
) -> AppResult<Vec<(Delivery, String, String)>> {
    Ok(d::table
        .inner_join(ev::table)
        .filter(d::endpoint_id.eq(endpoint))
        .filter(d::id.gt(after))
        .order(d::id)
        .limit(limit)
        .select((Delivery::as_select(), ev::event_type, ev::message_id))
        .load(conn)?)
}

pub fn delivery(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Delivery>> {
    Ok(d::table
        .find(id)
        .select(Delivery::as_select())
        .first_row(conn)
        .optional()?)
}

/// One delivery to make: where, with what key, and what.
#[derive(Debug, Clone, Queryable)]
pub struct Job {
    pub delivery_id: i64,
    pub attempts: i32,
    pub endpoint_id: i64,
    pub url: String,
    pub secret: String,
    pub message_id: String,
    pub payload: String,
    pub event_created_at: NaiveDateTime,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
}

/// Takes up to `limit` due deliveries and leases them until `lease_until`: pending, due, not
/// leased by a live instance, to an enabled endpoint, and each the oldest pending one of its
/// endpoint (so an endpoint receives its events in order). On PostgreSQL the rows are locked
/// with `FOR UPDATE SKIP LOCKED`, so that instances polling together take different ones; on
/// SQLite the write transaction serialises them.
pub fn claim(
    conn: &mut AnyConnection,
    at: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> AppResult<Vec<Job>> {
    let at_sql = at.format("%Y-%m-%d %H:%M:%S%.f");
    let pending = DeliveryState::Pending.as_str();
    let select = format!(
        "SELECT d.id AS id FROM webhook_deliveries d \
         WHERE d.state = '{pending}' AND d.next_attempt_at <= '{at_sql}' \
         AND (d.leased_until IS NULL OR d.leased_until < '{at_sql}') \
         AND d.endpoint_id IN (SELECT e.id FROM webhook_endpoints e \
             WHERE e.disabled_at IS NULL AND e.deleted_at IS NULL) \
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id \
             AND p.state = '{pending}' AND p.id < d.id) \
         ORDER BY d.id LIMIT {limit}"
    );
    let ids: Vec<Id> = match conn {
        AnyConnection::Postgresql(c) => {
            diesel::sql_query(format!("{select} FOR UPDATE SKIP LOCKED")).load(c)?
        }
        AnyConnection::Sqlite(c) => diesel::sql_query(select).load(c)?,
    };
    let ids: Vec<i64> = ids.into_iter().map(|r| r.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(d::table.filter(d::id.eq_any(&ids)))
        .set(d::leased_until.eq(Some(lease_until)))
        .execute(conn)?;
    Ok(d::table
        .inner_join(ev::table)
        .inner_join(ep::table)
        .filter(d::id.eq_any(&ids))
        .order(d::id)
        .select((
            d::id,
            d::attempts,
            ep::id,
            ep::url,
            ep::secret,
            ev::message_id,
            ev::payload,
            ev::created_at,
        ))
        .load(conn)?)
}

/// Records an attempt: delivered; failed for good (`next` is `None`); or due again at `next`.
pub fn record_attempt(
    conn: &mut AnyConnection,
    id: i64,
    status: Option<i32>,
    error: Option<&str>,
    delivered: bool,
    next: Option<NaiveDateTime>,
) -> AppResult<()> {
    let at = now();
    let state = match (delivered, next) {
        (true, _) => DeliveryState::Delivered,
        (false, Some(_)) => DeliveryState::Pending,
        (false, None) => DeliveryState::Failed,
    };
    diesel::update(d::table.find(id))
        .set((
            d::state.eq(state.as_str()),
            d::attempts.eq(d::attempts + 1),
            d::last_status.eq(status),
            d::last_error.eq(error),
            d::last_attempt_at.eq(Some(at)),
            d::leased_until.eq(None::<NaiveDateTime>),
            d::next_attempt_at.eq(next.unwrap_or(at)),
            d::delivered_at.eq(delivered.then_some(at)),
        ))
        .execute(conn)?;
    Ok(())
}
