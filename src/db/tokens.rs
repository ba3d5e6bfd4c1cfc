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

/// What the access check reads of a caller at every request, in one statement.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Standing {
    pub disabled: bool,
    pub role: String,
    pub enterprise_id: Option<i64>,
    /// The login session was issued to this user ...
    pub issued: bool,
    /// ... and one of its tokens has been revoked since.
    pub revoked: bool,
}

impl Standing {
    /// Whether the login session is live: it was issued and none of its tokens has been revoked
    /// (logout, reuse, password change, disabling). Expiry alone does not end it: the access
    /// token's own lifetime does that.
    pub fn session_live(&self) -> bool {
        self.issued && !self.revoked
    }
}

/// The standing of user `user_id` and of their login session `family`; `None` when no such
/// user exists. One statement, so that the check every request runs costs one round trip.
pub fn standing(
    conn: &mut AnyConnection,
    user_id: i64,
    family: &str,
) -> AppResult<Option<Standing>> {
    use super::schema::users;
    use diesel::dsl::exists;
    let of_session = || {
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::user_id.eq(user_id))
    };
    let query = users::table.find(user_id).select((
        users::disabled,
        users::role,
        users::enterprise_id,
        exists(of_session()),
        exists(of_session().filter(refresh_tokens::revoked_at.is_not_null())),
    ));
    Ok(concrete!(conn, |c| query.first_row(c).optional())?)
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::db::{Db, now, users};

    /// The one-statement standing: the user's fields, and a session that counts as live only
    /// while it belongs to that user and none of its tokens is revoked.
    #[actix_rt::test]
    async fn standing_reads_the_user_and_the_session_in_one_statement() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(
            &dir.path().join("t.db").display().to_string(),
            2,
            Duration::from_secs(5),
        )
        .unwrap();
        let standing = db
            .write(|conn| {
                let at = now();
                let user = |conn: &mut AnyConnection, email: &str, disabled| {
                    users::insert(
                        conn,
                        &users::NewUser {
                            email,
                            password_hash: "x",
                            role: "reviewer",
                            enterprise_id: None,
                            region_scope: None,
                            industry_scopes: None,
                            display_name: None,
                            disabled,
                            created_at: at,
                            password_changed_at: at,
                        },
                    )
                };
                let (a, b) = (
                    user(conn, "a@x.invalid", false)?,
                    user(conn, "b@x.invalid", true)?,
                );
                for (hash, family, user_id) in [("h1", "fa", a), ("h2", "fa", a), ("h3", "fb", b)] {
                    insert(
                        conn,
                        &NewRefreshToken {
                            token_hash: hash,
                            family_id: family,
                            user_id,
                            created_at: at,
                            expires_at: at,
                        },
                    )?;
                }
                let before = standing(conn, a, "fa")?.unwrap();
                let elsewhere = standing(conn, a, "fb")?.unwrap();
                let unknown = standing(conn, a, "fz")?.unwrap();
                let disabled = standing(conn, b, "fb")?.unwrap();
                let missing = standing(conn, b + 100, "fb")?;
                diesel::update(refresh_tokens::table.filter(refresh_tokens::token_hash.eq("h2")))
                    .set(refresh_tokens::revoked_at.eq(at))
                    .execute(conn)?;
                let after = standing(conn, a, "fa")?.unwrap();
                Ok((before, elsewhere, unknown, disabled, missing, after))
            })
            .await
            .unwrap();
        let (before, elsewhere, unknown, disabled, missing, after) = standing;
        assert_eq!(
            before,
            Standing {
                disabled: false,
                role: "reviewer".into(),
                enterprise_id: None,
                issued: true,
                revoked: false,
            }
        );
        assert!(before.session_live());
        assert!(!elsewhere.session_live(), "another user's session");
        assert!(!unknown.session_live(), "a session never issued");
        assert!(disabled.disabled && disabled.session_live());
        assert_eq!(missing, None);
        assert!(after.issued && after.revoked && !after.session_live());
    }
}
