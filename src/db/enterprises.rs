//! Enterprise rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::AnyConnection;
use super::schema::enterprises;
use super::sql::FirstRow;
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = enterprises)]
pub struct Enterprise {
    pub id: i64,
    pub credit_code: String,
    pub name: String,
    pub industry_code: String,
    pub region_code: String,
    pub size: String,
    pub contact_email: String,
    pub created_at: NaiveDateTime,
    /// When a reviewer or an administrator checked the business licence; unverified
    /// enterprises cannot be certified.
    pub verified_at: Option<NaiveDateTime>,
    pub verified_by: Option<i64>,
    /// The evidence file holding the business licence that was checked.
    pub licence_evidence_id: Option<i64>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = enterprises)]
pub struct NewEnterprise<'a> {
    pub credit_code: &'a str,
    pub name: &'a str,
    pub industry_code: &'a str,
    pub region_code: &'a str,
    pub size: &'a str,
    pub contact_email: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, new: &NewEnterprise<'_>) -> AppResult<i64> {
    Ok(diesel::insert_into(enterprises::table)
        .values(new)
        .returning(enterprises::id)
        .get_result(conn)?)
}

pub fn find(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Enterprise>> {
    Ok(enterprises::table
        .find(id)
        .select(Enterprise::as_select())
        .first_row(conn)
        .optional()?)
}

/// A page of enterprises ordered by id, after the cursor.
pub fn list(conn: &mut AnyConnection, after: i64, limit: i64) -> AppResult<Vec<Enterprise>> {
    Ok(enterprises::table
        .filter(enterprises::id.gt(after))
        .order(enterprises::id)
        .limit(limit)
        .select(Enterprise::as_select())
        .load(conn)?)
}

/// Locks enterprise `id`'s row until the transaction ends, so that checks over all of its rows
/// (the evidence quota) and changes of its statistics see every concurrent writer. SQLite
/// transactions already write one at a time. `FOR NO KEY UPDATE`: rows that refer to the
/// enterprise (a webhook event inserted by a reviewer's decision) may still be written, so
/// their foreign-key checks do not wait for this lock while it waits for their audit lock.
pub fn lock(conn: &mut AnyConnection, id: i64) -> AppResult<()> {
    if let AnyConnection::Postgresql(c) = conn {
        enterprises::table
            .find(id)
            .select(enterprises::id)
            .for_no_key_update()
            .first_row::<i64, _>(c)
            .optional()?;
    }
    Ok(())
}

/// Records that `by` checked enterprise `id`'s business licence, evidence file `licence`.
pub fn set_verified(
    conn: &mut AnyConnection,
    id: i64,
    by: i64,
    licence: i64,
    at: NaiveDateTime,
) -> AppResult<()> {
    diesel::update(enterprises::table.find(id))
        .set((
            enterprises::verified_at.eq(at),
            enterprises::verified_by.eq(by),
            enterprises::licence_evidence_id.eq(licence),
        ))
        .execute(conn)?;
    Ok(())
}
