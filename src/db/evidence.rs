//! Evidence rows and their links to criteria.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{evidence, evidence_links};
use super::sql::FirstRow;
use super::{AnyConnection, now};
use crate::error::AppResult;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = evidence)]
pub struct Evidence {
    pub id: i64,
    pub enterprise_id: i64,
    pub submission_id: i64,
    pub sha256: String,
    pub content_type: String,
    pub filename: String,
    pub size_bytes: i64,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
}

pub struct NewEvidence<'a> {
    pub enterprise_id: i64,
    pub submission_id: i64,
    pub sha256: &'a str,
    pub content_type: &'a str,
    pub filename: &'a str,
    pub size_bytes: i64,
    pub created_by: i64,
}

pub fn insert(
    conn: &mut AnyConnection,
    e: &NewEvidence<'_>,
    criteria: &[String],
) -> AppResult<i64> {
    let id = diesel::insert_into(evidence::table)
        .values((
            evidence::enterprise_id.eq(e.enterprise_id),
            evidence::submission_id.eq(e.submission_id),
            evidence::sha256.eq(e.sha256),
            evidence::content_type.eq(e.content_type),
            evidence::filename.eq(e.filename),
            evidence::size_bytes.eq(e.size_bytes),
            evidence::created_by.eq(e.created_by),
            evidence::created_at.eq(now()),
        ))
        .returning(evidence::id)
        .get_result(conn)?;
    let pairs: Vec<(i64, &str)> = criteria.iter().map(|c| (id, c.as_str())).collect();
    link(conn, &pairs)?;
    Ok(id)
}

/// Rows per insert of [`link`]: two parameters each, well under the 999 parameters of
/// the strictest SQLite build.
const LINKS_PER_INSERT: usize = 400;

/// Links each (evidence, criterion) pair not linked yet, in one statement per
/// [`LINKS_PER_INSERT`] pairs: an upload's criteria, or all that one answer save names.
pub fn link(conn: &mut AnyConnection, pairs: &[(i64, &str)]) -> AppResult<()> {
    let mut pairs = pairs.to_vec();
    pairs.sort_unstable();
    pairs.dedup();
    for chunk in pairs.chunks(LINKS_PER_INSERT) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(evidence, criterion)| {
                (
                    evidence_links::evidence_id.eq(*evidence),
                    evidence_links::criterion_id.eq(*criterion),
                )
            })
            .collect();
        let insert = diesel::insert_into(evidence_links::table)
            .values(&rows)
            .on_conflict_do_nothing();
        // Multi-row inserts and ON CONFLICT have no multi-backend form: run it on the concrete
        // connection.
        match conn {
            AnyConnection::Sqlite(c) => insert.execute(c)?,
            AnyConnection::Postgresql(c) => insert.execute(c)?,
        };
    }
    Ok(())
}

/// Those of `ids` that are evidence of submission `submission_id`.
pub fn attached_among(
    conn: &mut AnyConnection,
    submission_id: i64,
    ids: &[i64],
) -> AppResult<Vec<i64>> {
    Ok(evidence::table
        .filter(evidence::submission_id.eq(submission_id))
        .filter(evidence::id.eq_any(ids))
        .select(evidence::id)
        .load(conn)?)
}

pub fn find(conn: &mut AnyConnection, id: i64) -> AppResult<Option<Evidence>> {
    Ok(evidence::table
        .find(id)
        .select(Evidence::as_select())
        .first_row(conn)
        .optional()?)
}

/// Up to `limit` evidence files of a submission after id `after`, oldest first.
pub fn page_of_submission(
    conn: &mut AnyConnection,
    submission_id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Vec<Evidence>> {
    Ok(evidence::table
        .filter(evidence::submission_id.eq(submission_id))
        .filter(evidence::id.gt(after))
        .order(evidence::id)
        .limit(limit)
        .select(Evidence::as_select())
        .load(conn)?)
}

pub fn of_submission(conn: &mut AnyConnection, submission_id: i64) -> AppResult<Vec<Evidence>> {
    Ok(evidence::table
        .filter(evidence::submission_id.eq(submission_id))
        .order(evidence::id)
        .select(Evidence::as_select())
        .load(conn)?)
}

/// (evidence id, criterion id) pairs of a submission's evidence.
pub fn links_of(conn: &mut AnyConnection, submission_id: i64) -> AppResult<Vec<(i64, String)>> {
    Ok(evidence_links::table
        .inner_join(evidence::table)
        .filter(evidence::submission_id.eq(submission_id))
        .select((evidence_links::evidence_id, evidence_links::criterion_id))
        .load(conn)?)
}

pub fn delete(conn: &mut AnyConnection, id: i64) -> AppResult<()> {
    diesel::delete(evidence_links::table.filter(evidence_links::evidence_id.eq(id)))
        .execute(conn)?;
    diesel::delete(evidence::table.find(id)).execute(conn)?;
    Ok(())
}

/// Bytes of evidence an enterprise stores (summed here: SUM over BIGINT differs by backend).
pub fn enterprise_usage(conn: &mut AnyConnection, enterprise_id: i64) -> AppResult<i64> {
    let sizes: Vec<i64> = evidence::table
        .filter(evidence::enterprise_id.eq(enterprise_id))
        .select(evidence::size_bytes)
        .load(conn)?;
    Ok(sizes.iter().sum())
}

/// Whether any evidence row still refers to the file with this hash.
pub fn sha_in_use(conn: &mut AnyConnection, sha: &str) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        evidence::table.filter(evidence::sha256.eq(sha)),
    ))
    .get_result(conn)?)
}

/// Evidence content kept in the database (`CSR_EVIDENCE_STORE=database`).
pub mod blobs {
    use diesel::prelude::*;

    use crate::db::AnyConnection;
    use crate::db::schema::evidence_blobs;
    use crate::db::sql::FirstRow;
    use crate::error::AppResult;

    /// Stores `content` under `sha`; content already stored under it is kept.
    pub fn put(conn: &mut AnyConnection, sha: &str, content: &[u8]) -> AppResult<()> {
        let insert = diesel::insert_into(evidence_blobs::table)
            .values((
                evidence_blobs::sha256.eq(sha),
                evidence_blobs::content.eq(content),
            ))
            .on_conflict(evidence_blobs::sha256)
            .do_nothing();
        // ON CONFLICT has no multi-backend form: run it on the concrete connection.
        match conn {
            AnyConnection::Sqlite(c) => insert.execute(c)?,
            AnyConnection::Postgresql(c) => insert.execute(c)?,
        };
        Ok(())
    }

    pub fn get(conn: &mut AnyConnection, sha: &str) -> AppResult<Option<Vec<u8>>> {
        Ok(evidence_blobs::table
            .find(sha)
            .select(evidence_blobs::content)
            .first_row(conn)
            .optional()?)
    }

    pub fn remove(conn: &mut AnyConnection, sha: &str) -> AppResult<()> {
        diesel::delete(evidence_blobs::table.find(sha)).execute(conn)?;
        Ok(())
    }

    pub fn count(conn: &mut AnyConnection) -> AppResult<usize> {
        let n: i64 = evidence_blobs::table.count().get_result(conn)?;
        Ok(usize::try_from(n).unwrap_or_default())
    }
}
