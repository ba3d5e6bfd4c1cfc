//! `LIMIT 1` written into a statement's text.
//!
//! Diesel's `first` binds the limit as a parameter, and SQLite reads a bound `LIMIT` while it
//! plans a statement, then marks the statement to be compiled again whenever that parameter is
//! bound: every `first` on SQLite compiled its statement afresh (about 80,000 instructions),
//! although diesel kept it in its statement cache. [`FirstRow::first_row`] is `first` with
//! the limit in the text, compiled once per connection.

/// Runs `$body` with `$c` bound to the concrete connection behind `$conn`, for the statements
/// of every request. Through diesel's multi-connection a query's SQL text is written out twice
/// at each execution (to check that it may be cached, then to collect its values), about
/// 15,000 instructions a statement; the concrete connection finds a statement of fixed type in
/// its cache without writing it.
macro_rules! concrete {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::AnyConnection::Sqlite($c) => $body,
            $crate::db::AnyConnection::Postgresql($c) => $body,
        }
    };
}
pub(crate) use concrete;

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::LoadQuery;
use diesel::{Connection, QueryResult, RunQueryDsl};

/// A query followed by `LIMIT 1`, written into its text. For a query without a limit or offset
/// of its own (`LIMIT n LIMIT 1` is an error on both backends); after a locking clause it reads
/// `… FOR UPDATE LIMIT 1`, which PostgreSQL accepts in either order.
#[derive(Debug, Clone, Copy)]
pub struct LimitOne<Q>(Q);

impl<Q: QueryId> QueryId for LimitOne<Q> {
    type QueryId = LimitOne<Q::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = Q::HAS_STATIC_QUERY_ID;
}

impl<Q: Query> Query for LimitOne<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, DB> QueryFragment<DB> for LimitOne<Q>
where
    DB: Backend,
    Q: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT 1");
        Ok(())
    }
}

impl<Q, C> RunQueryDsl<C> for LimitOne<Q> {}

/// [`LimitOne`] as a method of every query.
pub trait FirstRow: Sized {
    /// The first row, as diesel's `first`, with the limit in the statement's text.
    fn first_row<'a, U, C>(self, conn: &mut C) -> QueryResult<U>
    where
        C: Connection,
        LimitOne<Self>: LoadQuery<'a, C, U>,
    {
        LimitOne(self).get_result(conn)
    }
}

impl<T: QueryId> FirstRow for T {}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sqlite::SqliteConnection;

    use super::*;

    diesel::table! {
        t (id) {
            id -> BigInt,
            n -> BigInt,
        }
    }

    fn connection() -> SqliteConnection {
        let mut conn = SqliteConnection::establish(":memory:").expect("in-memory database");
        conn.batch_execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
             INSERT INTO t VALUES (1, 10), (2, 20), (3, 30);",
        )
        .expect("table");
        conn
    }

    #[test]
    fn first_row_is_first_with_the_limit_in_the_text() {
        let mut conn = connection();
        let q = || t::table.order(t::n.desc()).select(t::id);
        let sql = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&LimitOne(q())).to_string();
        assert!(sql.contains("LIMIT 1 --"), "{sql}");
        let first: i64 = q().first(&mut conn).expect("first");
        let row: i64 = q().first_row(&mut conn).expect("first_row");
        assert_eq!((first, row), (3, 3));
        let none: Option<i64> = t::table
            .filter(t::id.eq(9))
            .select(t::id)
            .first_row(&mut conn)
            .optional()
            .expect("no row");
        assert_eq!(none, None);
    }
}
