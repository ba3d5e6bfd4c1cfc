//! Schema versions as workflows the API and the console share: listing, reading, resolving
//! and comparing versions; administrators add and replace drafts, publish (after the full
//! semantic checks against the predecessor) and retire them. A published or retired version
//! never changes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{parse_value, record};
use crate::auth::{AuthUser, roles};
use crate::db::schema_versions::{self, SchemaVersion};
use crate::domain::schema::{self, Diff, Issue, Resolved, SchemaDoc, Status, Text};
use crate::domain::{IndustryCode, Role};
use crate::error::{AppError, AppResult, Code, FieldError};
use crate::idempotency::{self, Keyed, Made, Outcome};
use crate::state::AppState;
use crate::views::utc;

#[derive(Debug, Serialize, ToSchema)]
pub struct SchemaSummary {
    pub id: String,
    pub title: Text,
    /// The newest published version, if any.
    pub latest_version: Option<String>,
    pub versions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionSummary {
    pub schema_id: String,
    pub version: String,
    pub status: Status,
    pub effective_date: String,
    /// SHA-256 of the canonical JSON of the content; recorded on every submission and certificate.
    pub content_hash: String,
    pub predecessor: Option<String>,
    /// `shipped` with the service, or `api`.
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl From<&SchemaVersion> for VersionSummary {
    fn from(r: &SchemaVersion) -> Self {
        Self {
            schema_id: r.schema_id.clone(),
            version: r.version.clone(),
            status: r.status(),
            effective_date: r.effective_date.clone(),
            content_hash: r.content_hash.clone(),
            predecessor: r.predecessor.clone(),
            source: r.source.clone(),
            created_at: utc(r.created_at),
            published_at: r.published_at.map(utc),
            retired_at: r.retired_at.map(utc),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionView {
    #[serde(flatten)]
    pub summary: VersionSummary,
    pub document: SchemaDoc,
}

impl VersionView {
    fn of(row: &SchemaVersion) -> AppResult<Self> {
        Ok(Self {
            summary: row.into(),
            document: row.doc()?,
        })
    }

    /// The strong ETag of the version's content.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.summary.content_hash)
    }
}

fn visible(user: &AuthUser, row: &SchemaVersion) -> bool {
    user.role == Role::Admin || row.status() != Status::Draft
}

async fn rows(state: &AppState) -> AppResult<Vec<SchemaVersion>> {
    state.db.read(schema_versions::all).await
}

async fn version_row(
    state: &AppState,
    user: &AuthUser,
    id: String,
    version: String,
) -> AppResult<SchemaVersion> {
    let row = state
        .db
        .read(move |conn| schema_versions::find(conn, &id, &version))
        .await?
        .filter(|r| visible(user, r))
        .ok_or(AppError::NotFound)?;
    Ok(row)
}

fn issues_to_error(issues: Vec<Issue>) -> AppError {
    AppError::Validation(
        issues
            .into_iter()
            .map(|i| {
                FieldError::new(
                    if i.path.is_empty() {
                        "/".into()
                    } else {
                        i.path
                    },
                    i.message,
                )
            })
            .collect(),
    )
}

/// Every assessment schema with its versions.
pub async fn list(state: &AppState, user: &AuthUser) -> AppResult<Vec<SchemaSummary>> {
    let mut out: BTreeMap<String, SchemaSummary> = BTreeMap::new();
    for row in rows(state).await?.iter().filter(|r| visible(user, r)) {
        let entry = out
            .entry(row.schema_id.clone())
            .or_insert_with(|| SchemaSummary {
                id: row.schema_id.clone(),
                title: Text {
                    zh: String::new(),
                    en: String::new(),
                },
                latest_version: None,
                versions: Vec::new(),
            });
        entry.versions.push(row.version.clone());
        if row.status() == Status::Published || entry.title.zh.is_empty() {
            entry.title = row.doc()?.title;
        }
        if row.status() == Status::Published {
            entry.latest_version = Some(row.version.clone());
        }
    }
    Ok(out.into_values().collect())
}

/// The versions of one schema the caller may see, oldest first; 404 when there is none.
pub async fn versions(
    state: &AppState,
    user: &AuthUser,
    id: &str,
) -> AppResult<Vec<VersionSummary>> {
    let found: Vec<VersionSummary> = rows(state)
        .await?
        .iter()
        .filter(|r| r.schema_id == id && visible(user, r))
        .map(Into::into)
        .collect();
    if found.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(found)
}

/// One version with its whole document. Drafts are visible to administrators only.
pub async fn version(
    state: &AppState,
    user: &AuthUser,
    id: String,
    version: String,
) -> AppResult<VersionView> {
    let row = version_row(state, user, id, version).await?;
    VersionView::of(&row)
}

/// The criteria an enterprise of `industry` answers: the base criteria with the industry
/// profile applied.
pub async fn resolved(
    state: &AppState,
    user: &AuthUser,
    id: String,
    version: String,
    industry: Option<&str>,
) -> AppResult<Resolved> {
    let industry = industry
        .map(IndustryCode::parse)
        .transpose()
        .map_err(|e| AppError::validation("industry", e))?;
    let row = version_row(state, user, id, version).await?;
    Ok(schema::resolve(&row.doc()?, industry.as_ref()))
}

/// What changed between two versions of schema `id`.
pub async fn diff(
    state: &AppState,
    user: &AuthUser,
    id: String,
    from: String,
    to: String,
) -> AppResult<Diff> {
    let from = version_row(state, user, id.clone(), from).await?;
    let to = version_row(state, user, id, to).await?;
    Ok(schema::diff(&from.doc()?, &to.doc()?))
}

fn parse_draft(id: &str, version: Option<&str>, body: &serde_json::Value) -> AppResult<SchemaDoc> {
    let doc = parse_value(body).map_err(issues_to_error)?;
    let mut errors = Vec::new();
    if doc.id != id {
        errors.push(FieldError::new(
            "/id",
            format!("must be {id:?}, as in the URL"),
        ));
    }
    if let Some(v) = version
        && doc.version != v
    {
        errors.push(FieldError::new(
            "/version",
            format!("must be {v:?}, as in the URL"),
        ));
    }
    if doc.status != Status::Draft {
        errors.push(FieldError::new(
            "/status",
            "versions are written as drafts and published separately",
        ));
    }
    if errors.is_empty() {
        Ok(doc)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Adds a draft version (administrators). The document must match the meta-schema; the full
/// semantic checks run when it is published.
pub async fn create_draft(
    state: &AppState,
    user: &AuthUser,
    request_id: String,
    id: &str,
    body: &serde_json::Value,
    key: Option<String>,
) -> AppResult<Outcome<Made<VersionView>>> {
    user.require(roles::ADMIN)?;
    let doc = parse_draft(id, None, body)?;
    let hash = doc.content_hash();
    let actor = user.id;
    let request = serde_json::json!({
        "schema_id": doc.id, "version": doc.version, "content_hash": hash,
    });
    let keyed = Keyed::new(actor, "createSchemaVersion", key, &request);
    idempotency::write(state, keyed, move |conn| {
        if schema_versions::find(conn, &doc.id, &doc.version)?.is_some() {
            return Err(AppError::conflict(
                Code::VersionExists,
                format!("{} {} already exists", doc.id, doc.version),
            ));
        }
        let text = serde_json::to_string(&doc).map_err(AppError::internal)?;
        schema_versions::insert(conn, &doc, &hash, &text, Status::Draft, "api")?;
        record(
            conn,
            Some(actor),
            Some(&request_id),
            "schema.draft_created",
            &doc,
            &hash,
        )?;
        let row = schema_versions::find(conn, &doc.id, &doc.version)?.ok_or(AppError::NotFound)?;
        let location = format!("/api/v1/schemas/{}/versions/{}", row.schema_id, row.version);
        Ok(Made::created(VersionView::of(&row)?, location))
    })
    .await
}

/// Replaces a draft (administrators). Published and retired versions cannot be edited (409).
pub async fn update_draft(
    state: &AppState,
    user: &AuthUser,
    request_id: String,
    id: String,
    version: String,
    body: &serde_json::Value,
) -> AppResult<VersionView> {
    user.require(roles::ADMIN)?;
    let row = version_row(state, user, id.clone(), version.clone()).await?;
    if row.status() != Status::Draft {
        return Err(immutable(&row));
    }
    let doc = parse_draft(&id, Some(&version), body)?;
    let hash = doc.content_hash();
    let actor = user.id;
    let row = state
        .db
        .write(move |conn| {
            let text = serde_json::to_string(&doc).map_err(AppError::internal)?;
            if !schema_versions::update_draft(conn, row.id, &doc, &hash, &text)? {
                return Err(immutable(&row));
            }
            record(
                conn,
                Some(actor),
                Some(&request_id),
                "schema.draft_updated",
                &doc,
                &hash,
            )?;
            schema_versions::find(conn, &doc.id, &doc.version)?.ok_or(AppError::NotFound)
        })
        .await?;
    VersionView::of(&row)
}

fn immutable(row: &SchemaVersion) -> AppError {
    AppError::conflict(
        Code::VersionImmutable,
        format!(
            "{} {} is {} and can no longer change; add a new version instead",
            row.schema_id, row.version, row.status
        ),
    )
}

/// Publishes a draft (administrators): the whole document and its changelog against the
/// predecessor are checked, and the version becomes immutable.
pub async fn publish(
    state: &AppState,
    user: &AuthUser,
    request_id: String,
    id: String,
    version: String,
) -> AppResult<VersionSummary> {
    user.require(roles::ADMIN)?;
    let actor = user.id;
    let row = state
        .db
        .write(move |conn| {
            let row = schema_versions::find(conn, &id, &version)?.ok_or(AppError::NotFound)?;
            if row.status() != Status::Draft {
                return Err(immutable(&row));
            }
            let doc = row.doc()?;
            let predecessor = match &doc.predecessor {
                Some(p) => match schema_versions::find(conn, &id, p)? {
                    Some(prev) if prev.status() != Status::Draft => Some(prev.doc()?),
                    _ => {
                        return Err(AppError::validation(
                            "/predecessor",
                            format!("{p:?} is not a published version of {id}"),
                        ));
                    }
                },
                None => None,
            };
            let issues = schema::check(&doc, predecessor.as_ref());
            if !issues.is_empty() {
                return Err(issues_to_error(issues));
            }
            schema_versions::transition(conn, row.id, Status::Draft, Status::Published)?;
            record(
                conn,
                Some(actor),
                Some(&request_id),
                "schema.published",
                &doc,
                &row.content_hash,
            )?;
            schema_versions::find(conn, &id, &version)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok((&row).into())
}

/// Retires a published version (administrators): no new submissions start on it; existing
/// submissions and certificates keep referring to it.
pub async fn retire(
    state: &AppState,
    user: &AuthUser,
    request_id: String,
    id: String,
    version: String,
) -> AppResult<VersionSummary> {
    user.require(roles::ADMIN)?;
    let actor = user.id;
    let row = state
        .db
        .write(move |conn| {
            let row = schema_versions::find(conn, &id, &version)?.ok_or(AppError::NotFound)?;
            if !schema_versions::transition(conn, row.id, Status::Published, Status::Retired)? {
                return Err(AppError::conflict(
                    Code::NotPublished,
                    format!("{id} {version} is {} and cannot be retired", row.status),
                ));
            }
            record(
                conn,
                Some(actor),
                Some(&request_id),
                "schema.retired",
                &row.doc()?,
                &row.content_hash,
            )?;
            schema_versions::find(conn, &id, &version)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok((&row).into())
}
