//! Schema version rows: the document as JSON text with its content hash and lifecycle.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::schema_versions;
use super::sql::FirstRow;
use super::{AnyConnection, now};
use crate::domain::schema::{SchemaDoc, Status};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = schema_versions)]
pub struct SchemaVersion {
    pub id: i64,
    pub schema_id: String,
    pub version: String,
    pub status: String,
    pub content_hash: String,
    pub document: String,
    pub effective_date: String,
    pub predecessor: Option<String>,
    pub source: String,
    pub created_at: NaiveDateTime,
    pub published_at: Option<NaiveDateTime>,
    pub retired_at: Option<NaiveDateTime>,
}

impl SchemaVersion {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Draft)
    }

    /// The stored document, with the row's lifecycle status.
    pub fn doc(&self) -> AppResult<SchemaDoc> {
        let mut doc: SchemaDoc = serde_json::from_str(&self.document)
            .map_err(|e| AppError::internal(format!("stored schema {}: {e}", self.version)))?;
        doc.status = self.status();
        Ok(doc)
    }
}

pub fn insert(
    conn: &mut AnyConnection,
    doc: &SchemaDoc,
    hash: &str,
    document: &str,
    status: Status,
    source: &str,
) -> AppResult<()> {
    let at = now();
    diesel::insert_into(schema_versions::table)
        .values((
            schema_versions::schema_id.eq(&doc.id),
            schema_versions::version.eq(&doc.version),
            schema_versions::status.eq(status.as_str()),
            schema_versions::content_hash.eq(hash),
            schema_versions::document.eq(document),
            schema_versions::effective_date.eq(doc.effective_date.to_string()),
            schema_versions::predecessor.eq(&doc.predecessor),
            schema_versions::source.eq(source),
            schema_versions::created_at.eq(at),
            schema_versions::published_at.eq((status == Status::Published).then_some(at)),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find(
    conn: &mut AnyConnection,
    schema_id: &str,
    version: &str,
) -> AppResult<Option<SchemaVersion>> {
    Ok(schema_versions::table
        .filter(schema_versions::schema_id.eq(schema_id))
        .filter(schema_versions::version.eq(version))
        .select(SchemaVersion::as_select())
        .first_row(conn)
        .optional()?)
}

/// A version's identity, lifecycle and content hash, without its document.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = schema_versions)]
pub struct VersionHead {
    pub schema_id: String,
    pub version: String,
    pub status: String,
    pub content_hash: String,
}

impl VersionHead {
    pub fn status(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Draft)
    }
}

/// [`find`] without the document, for a caller that needs only the version's status and hash
/// (the document of a version is up to a few hundred kilobytes).
pub fn head(
    conn: &mut AnyConnection,
    schema_id: &str,
    version: &str,
) -> AppResult<Option<VersionHead>> {
    Ok(schema_versions::table
        .filter(schema_versions::schema_id.eq(schema_id))
        .filter(schema_versions::version.eq(version))
        .select(VersionHead::as_select())
        .first_row(conn)
        .optional()?)
}

/// Every version of every schema, ordered by schema and effective date.
pub fn all(conn: &mut AnyConnection) -> AppResult<Vec<SchemaVersion>> {
    Ok(schema_versions::table
        .order((
            schema_versions::schema_id,
            schema_versions::effective_date,
            schema_versions::id,
        ))
        .select(SchemaVersion::as_select())
        .load(conn)?)
}

/// Replaces a draft's document; false when the version is no longer a draft.
pub fn update_draft(
    conn: &mut AnyConnection,
    id: i64,
    doc: &SchemaDoc,
    hash: &str,
    document: &str,
) -> AppResult<bool> {
    let n = diesel::update(
        schema_versions::table
            .find(id)
            .filter(schema_versions::status.eq(Status::Draft.as_str())),
    )
    .set((
        schema_versions::content_hash.eq(hash),
        schema_versions::document.eq(document),
        schema_versions::effective_date.eq(doc.effective_date.to_string()),
        schema_versions::predecessor.eq(&doc.predecessor),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Moves a version from one status to the next; false when it was not in `from`.
pub fn transition(conn: &mut AnyConnection, id: i64, from: Status, to: Status) -> AppResult<bool> {
    let at = now();
    let target = schema_versions::table
        .find(id)
        .filter(schema_versions::status.eq(from.as_str()));
    let n = match to {
        Status::Published => diesel::update(target)
            .set((
                schema_versions::status.eq(to.as_str()),
                schema_versions::published_at.eq(at),
            ))
            .execute(conn)?,
        Status::Retired => diesel::update(target)
            .set((
                schema_versions::status.eq(to.as_str()),
                schema_versions::retired_at.eq(at),
            ))
            .execute(conn)?,
        Status::Draft => 0,
    };
    Ok(n == 1)
}
