//! Login throttling counters, kept in the database so that every instance enforces them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::AnyConnection;
use super::schema::login_throttle;
use crate::error::AppResult;

/// Failures recorded for `key` since `window_start`, if the window is still open.
pub fn failures(
    conn: &mut AnyConnection,
    key: &str,
    window_open_since: NaiveDateTime,
) -> AppResult<Option<(i32, NaiveDateTime)>> {
    Ok(login_throttle::table
        .find(key)
        .filter(login_throttle::window_start.gt(window_open_since))
        .select((login_throttle::failures, login_throttle::window_start))
        .first(conn)
        .optional()?)
}

/// Counts one failure for `key`, starting a new window if the old one has closed.
pub fn record_failure(
    conn: &mut AnyConnection,
    key: &str,
    now: NaiveDateTime,
    window_open_since: NaiveDateTime,
) -> AppResult<()> {
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
        .set(login_throttle::failures.eq(login_throttle::failures + 1));
    // ON CONFLICT has no multi-backend form: run it on the concrete connection.
    match conn {
        AnyConnection::Sqlite(c) => upsert.execute(c)?,
        AnyConnection::Postgresql(c) => upsert.execute(c)?,
    };
    Ok(())
}

pub fn clear(conn: &mut AnyConnection, key: &str) -> AppResult<()> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}
