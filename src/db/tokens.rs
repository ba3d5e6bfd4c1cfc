//! Refresh tokens: stored as SHA-256 hashes, rotated on every use, grouped in families so that
//! the reuse of a rotated token revokes every token descended from the same login.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::AnyConnection;
use super::schema::refresh_tokens;
use super::sql::{FirstRow, concrete};
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: i64,
    pub token_hash: String,
    pub family_id: String,
    pub user_id: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    pub token_hash: &'a str,
    pub family_id: &'a str,
    pub user_id: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, new: &NewRefreshToken<'_>) -> AppResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(new)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_hash(conn: &mut AnyConnection, hash: &str) -> AppResult<Option<RefreshToken>> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshToken::as_select())
        .first_row(conn)
        .optional()?)
}

/// Marks a token used; false when another request used it first.
pub fn mark_used(conn: &mut AnyConnection, id: i64, at: NaiveDateTime) -> AppResult<bool> {
    let n = diesel::update(
        refresh_tokens::table
            .find(id)
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::used_at.eq(at))
    .execute(conn)?;
    Ok(n == 1)
}

/// Whether `user_id`'s login session `family` is live: it was issued and none of its tokens has
/// been revoked (logout, reuse, password change, disabling). Expiry alone does not end it: the
/// access token's own lifetime does that.
pub fn session_live(conn: &mut AnyConnection, family: &str, user_id: i64) -> AppResult<bool> {
    use diesel::dsl::{count, count_star};
    let query = refresh_tokens::table
        .filter(refresh_tokens::family_id.eq(family))
        .filter(refresh_tokens::user_id.eq(user_id))
        .select((count_star(), count(refresh_tokens::revoked_at)));
    let (issued, revoked): (i64, i64) = concrete!(conn, |c| query.first_row(c))?;
    Ok(issued > 0 && revoked == 0)
}

pub fn revoke_family(
    conn: &mut AnyConnection,
    family: &str,
    at: NaiveDateTime,
) -> AppResult<usize> {
    Ok(diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)?)
}

/// Ends every session of the user, the API's (refresh tokens) and the console's; returns how
/// many tokens and console sessions were revoked.
pub fn revoke_user(conn: &mut AnyConnection, user_id: i64, at: NaiveDateTime) -> AppResult<usize> {
    let tokens = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)?;
    Ok(tokens + super::console_sessions::revoke_user(conn, user_id, at)?)
}
