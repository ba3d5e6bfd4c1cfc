//! Login throttling counters, kept in the database so that every instance enforces them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::AnyConnection;
use super::schema::login_throttle;
use crate::error::AppResult;

/// Counts one attempt for `key` before it is evaluated, starting a new window when the old one
/// has closed, and returns the attempts in the window (this one included) and when it opened.
/// Each attempt is one row-locking upsert in the caller's write transaction, so parallel
/// attempts each see their own count and no more than the limit are ever evaluated.
pub fn reserve(
    conn: &mut AnyConnection,
    key: &str,
    now: NaiveDateTime,
    window_open_since: NaiveDateTime,
) -> AppResult<(i32, NaiveDateTime)> {
    diesel::delete(
        login_throttle::table
            .find(key)
            .filter(login_throttle::window_start.le(window_open_since)),
    )
    .execute(conn)?;
    let upsert = diesel::insert_into(login_throttle::table)
        .values((
            login_throttle::key.eq(key),
            login_throttle::failures.eq(1),
            login_throttle::window_start.eq(now),
        ))
        .on_conflict(login_throttle::key)
        .do_update()
        .set(login_throttle::failures.eq(login_throttle::failures + 1))
        .returning((login_throttle::failures, login_throttle::window_start));
    // ON CONFLICT has no multi-backend form: run it on the concrete connection.
    Ok(match conn {
        AnyConnection::Sqlite(c) => upsert.get_result(c)?,
        AnyConnection::Postgresql(c) => upsert.get_result(c)?,
    })
}

/// Gives back an attempt [`reserve`] counted, once it turned out not to be a failure.
pub fn refund(conn: &mut AnyConnection, key: &str) -> AppResult<()> {
    diesel::update(
        login_throttle::table
            .find(key)
            .filter(login_throttle::failures.gt(0)),
    )
    .set(login_throttle::failures.eq(login_throttle::failures - 1))
    .execute(conn)?;
    Ok(())
}

pub fn clear(conn: &mut AnyConnection, key: &str) -> AppResult<()> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}
