//! Browser sessions of the web console, found by the SHA-256 of the cookie's token.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::AnyConnection;
use super::schema::console_sessions as sessions;
use super::sql::FirstRow;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct ConsoleSession {
    pub id: i64,
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub client: String,
    pub user_agent: String,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewConsoleSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub client: &'a str,
    pub user_agent: &'a str,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, new: &NewConsoleSession<'_>) -> AppResult<i64> {
    Ok(diesel::insert_into(sessions::table)
        .values(new)
        .returning(sessions::id)
        .get_result(conn)?)
}

pub fn find_by_hash(conn: &mut AnyConnection, hash: &str) -> AppResult<Option<ConsoleSession>> {
    Ok(sessions::table
        .filter(sessions::token_hash.eq(hash))
        .select(ConsoleSession::as_select())
        .first_row(conn)
        .optional()?)
}

/// The user's sessions that have not ended by revocation, expiry or idleness (no request since
/// `idle_since`), newest first.
pub fn live_of_user(
    conn: &mut AnyConnection,
    user_id: i64,
    now: NaiveDateTime,
    idle_since: NaiveDateTime,
) -> AppResult<Vec<ConsoleSession>> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .filter(sessions::last_seen_at.gt(idle_since))
        .order(sessions::id.desc())
        .limit(100)
        .select(ConsoleSession::as_select())
        .load(conn)?)
}

/// Records a request in the session (the caller decides how often, to spare the writer).
pub fn touch(conn: &mut AnyConnection, id: i64, at: NaiveDateTime) -> AppResult<()> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::last_seen_at.lt(at)),
    )
    .set(sessions::last_seen_at.eq(at))
    .execute(conn)?;
    Ok(())
}

/// Revokes session `id` of `user_id`; false when there was no such live session.
pub fn revoke(
    conn: &mut AnyConnection,
    user_id: i64,
    id: i64,
    at: NaiveDateTime,
) -> AppResult<bool> {
    let n = diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(at))
    .execute(conn)?;
    Ok(n == 1)
}

/// Revokes the live session whose token has this hash (a new login in the same browser).
pub fn revoke_by_hash(conn: &mut AnyConnection, hash: &str, at: NaiveDateTime) -> AppResult<()> {
    diesel::update(
        sessions::table
            .filter(sessions::token_hash.eq(hash))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(at))
    .execute(conn)?;
    Ok(())
}

pub fn revoke_user(conn: &mut AnyConnection, user_id: i64, at: NaiveDateTime) -> AppResult<usize> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(at))
    .execute(conn)?)
}
