//! Responses kept for requests made with an `Idempotency-Key`.

use diesel::prelude::*;

use super::schema::idempotent_requests as kept;
use super::sql::FirstRow;
use super::{AnyConnection, now};
use crate::error::AppResult;

/// A kept response, with the hash of the request it answered.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = kept)]
pub struct KeptRow {
    pub request_hash: String,
    pub status: i32,
    pub body: String,
    pub etag: Option<String>,
    pub location: Option<String>,
}

pub fn find(
    conn: &mut AnyConnection,
    user_id: i64,
    operation: &str,
    key: &str,
) -> AppResult<Option<KeptRow>> {
    Ok(kept::table
        .find((user_id, operation, key))
        .select(KeptRow::as_select())
        .first_row(conn)
        .optional()?)
}

/// Keeps a response; a concurrent request that kept one under the same key first makes this
/// fail as a unique violation (409).
pub fn insert(
    conn: &mut AnyConnection,
    user_id: i64,
    operation: &str,
    key: &str,
    row: &KeptRow,
) -> AppResult<()> {
    diesel::insert_into(kept::table)
        .values((
            kept::user_id.eq(user_id),
            kept::operation.eq(operation),
            kept::key.eq(key),
            kept::request_hash.eq(&row.request_hash),
            kept::status.eq(row.status),
            kept::body.eq(&row.body),
            kept::etag.eq(&row.etag),
            kept::location.eq(&row.location),
            kept::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// The response kept for `key` of an operation anyone may call without logging in (a
/// registration), with the user it was kept under.
pub fn find_anonymous(
    conn: &mut AnyConnection,
    operation: &str,
    key: &str,
) -> AppResult<Option<(i64, KeptRow)>> {
    Ok(kept::table
        .filter(kept::operation.eq(operation).and(kept::key.eq(key)))
        .select((kept::user_id, KeptRow::as_select()))
        .first_row(conn)
        .optional()?)
}

/// Forgets the responses kept for submission `id`'s creation (when the draft is discarded, a
/// retry of its creation creates a new one).
pub fn forget_location(conn: &mut AnyConnection, operation: &str, location: &str) -> AppResult<()> {
    diesel::delete(
        kept::table.filter(
            kept::operation
                .eq(operation)
                .and(kept::location.eq(location)),
        ),
    )
    .execute(conn)?;
    Ok(())
}

/// Forgets responses kept before `before`.
pub fn prune(conn: &mut AnyConnection, before: chrono::NaiveDateTime) -> AppResult<usize> {
    Ok(diesel::delete(kept::table.filter(kept::created_at.lt(before))).execute(conn)?)
}
