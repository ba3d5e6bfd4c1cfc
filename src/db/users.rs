//! User rows.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::AnyConnection;
use super::schema::users;
use super::sql::{FirstRow, concrete};
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub role: String,
    pub enterprise_id: Option<i64>,
    pub region_scope: Option<String>,
    pub industry_scopes: Option<String>,
    pub display_name: Option<String>,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub password_changed_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub enterprise_id: Option<i64>,
    pub region_scope: Option<&'a str>,
    pub industry_scopes: Option<&'a str>,
    pub display_name: Option<&'a str>,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub password_changed_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, new: &NewUser<'_>) -> AppResult<i64> {
    Ok(diesel::insert_into(users::table)
        .values(new)
        .returning(users::id)
        .get_result(conn)?)
}

pub fn find(conn: &mut AnyConnection, id: i64) -> AppResult<Option<User>> {
    // `as_select` is typed for one backend: the query is built in each arm.
    Ok(concrete!(conn, |c| users::table
        .find(id)
        .select(User::as_select())
        .first_row(c)
        .optional())?)
}

pub fn find_by_email(conn: &mut AnyConnection, email: &str) -> AppResult<Option<User>> {
    Ok(users::table
        .filter(users::email.eq(email))
        .select(User::as_select())
        .first_row(conn)
        .optional()?)
}

/// Sets whether a user is disabled; false when no such user exists.
pub fn set_disabled(conn: &mut AnyConnection, id: i64, disabled: bool) -> AppResult<bool> {
    let n = diesel::update(users::table.find(id))
        .set(users::disabled.eq(disabled))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn set_password_hash(
    conn: &mut AnyConnection,
    id: i64,
    hash: &str,
    changed_at: Option<NaiveDateTime>,
) -> AppResult<()> {
    let target = users::table.find(id);
    match changed_at {
        Some(at) => diesel::update(target)
            .set((
                users::password_hash.eq(hash),
                users::password_changed_at.eq(at),
            ))
            .execute(conn)?,
        None => diesel::update(target)
            .set(users::password_hash.eq(hash))
            .execute(conn)?,
    };
    Ok(())
}

pub fn any_admin(conn: &mut AnyConnection) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        users::table.filter(users::role.eq("admin")),
    ))
    .get_result(conn)?)
}

/// Users of one enterprise, oldest first.
/// Up to `limit` users of an enterprise after id `after`.
pub fn of_enterprise(
    conn: &mut AnyConnection,
    enterprise_id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Vec<User>> {
    Ok(users::table
        .filter(users::enterprise_id.eq(enterprise_id))
        .filter(users::id.gt(after))
        .limit(limit)
        .order(users::id)
        .select(User::as_select())
        .load(conn)?)
}

/// A page of users ordered by id, after the cursor, optionally of one role.
pub fn list(
    conn: &mut AnyConnection,
    role: Option<&str>,
    after: i64,
    limit: i64,
) -> AppResult<Vec<User>> {
    let mut query = users::table
        .filter(users::id.gt(after))
        .order(users::id)
        .limit(limit)
        .select(User::as_select())
        .into_boxed();
    if let Some(role) = role {
        query = query.filter(users::role.eq(role.to_owned()));
    }
    Ok(query.load(conn)?)
}
