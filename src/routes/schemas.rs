//! The schema registry: versions, their industry resolution and differences; administrators
//! add drafts, publish and retire them. A published or retired version never changes.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AuthUser, roles};
use crate::db::schema_versions::{self, SchemaVersion};
use crate::domain::schema::{self, Diff, Issue, Resolved, SchemaDoc, Status, Text};
use crate::domain::{IndustryCode, Role};
use crate::error::{AppError, AppResult, FieldError, Problem};
use crate::extract::{Json, RequestId};
use crate::schemas::{parse_value, record};
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

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ResolveQuery {
    /// GB/T 4754-2017 industry code of the enterprise, e.g. `C1491`; omit for the base criteria.
    pub industry: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    pub from: String,
    pub to: String,
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
#[utoipa::path(
    tag = "schemas",
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = Vec<SchemaSummary>), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("/schemas")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
) -> AppResult<web::Json<Vec<SchemaSummary>>> {
    let mut out: BTreeMap<String, SchemaSummary> = BTreeMap::new();
    for row in rows(&state).await?.iter().filter(|r| visible(&user, r)) {
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
    Ok(web::Json(out.into_values().collect()))
}

/// The versions of one schema, oldest first.
#[utoipa::path(
    tag = "schemas",
    params(("id" = String, Path)),
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = Vec<VersionSummary>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/schemas/{id}/versions")]
pub async fn versions(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> AppResult<web::Json<Vec<VersionSummary>>> {
    let found: Vec<VersionSummary> = rows(&state)
        .await?
        .iter()
        .filter(|r| r.schema_id == *id && visible(&user, r))
        .map(Into::into)
        .collect();
    if found.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(web::Json(found))
}

/// One version with its whole document. Drafts are visible to administrators only.
#[utoipa::path(
    tag = "schemas",
    params(("id" = String, Path), ("version" = String, Path)),
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = VersionView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/schemas/{id}/versions/{version}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, version) = path.into_inner();
    let row = version_row(&state, &user, id, version).await?;
    let view = VersionView {
        summary: (&row).into(),
        document: row.doc()?,
    };
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", format!("\"{}\"", row.content_hash)))
        .json(view))
}

/// The criteria an enterprise of `industry` must answer: the base criteria with the industry
/// profile applied (added criteria, changed weights, criteria not applicable).
#[utoipa::path(
    tag = "schemas",
    params(("id" = String, Path), ("version" = String, Path), ResolveQuery),
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = Resolved),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/schemas/{id}/versions/{version}/resolved")]
pub async fn resolved(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    query: web::Query<ResolveQuery>,
) -> AppResult<web::Json<Resolved>> {
    let industry = query
        .industry
        .as_deref()
        .map(IndustryCode::parse)
        .transpose()
        .map_err(|e| AppError::validation("industry", e))?;
    let (id, version) = path.into_inner();
    let row = version_row(&state, &user, id, version).await?;
    Ok(web::Json(schema::resolve(&row.doc()?, industry.as_ref())))
}

/// What changed between two versions: added, removed, renamed, re-weighted and re-worded
/// criteria, and those whose answer rules changed.
#[utoipa::path(
    tag = "schemas",
    params(("id" = String, Path), DiffQuery),
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = Diff), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/schemas/{id}/diff")]
pub async fn diff(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    query: web::Query<DiffQuery>,
) -> AppResult<web::Json<Diff>> {
    let id = id.into_inner();
    let from = version_row(&state, &user, id.clone(), query.from.clone()).await?;
    let to = version_row(&state, &user, id, query.to.clone()).await?;
    Ok(web::Json(schema::diff(&from.doc()?, &to.doc()?)))
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

/// Add a draft version (administrators). The document must match the meta-schema; the full
/// semantic checks run when it is published.
#[utoipa::path(
    tag = "schemas",
    params(("id" = String, Path)),
    request_body = SchemaDoc,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, body = VersionView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/schemas/{id}/versions")]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<String>,
    body: Json<serde_json::Value>,
) -> AppResult<HttpResponse> {
    user.require(roles::ADMIN)?;
    let rid = rid.0;
    let doc = parse_draft(&id, None, &body.0)?;
    let hash = doc.content_hash();
    let actor = user.id;
    let row = state
        .db
        .write(move |conn| {
            if schema_versions::find(conn, &doc.id, &doc.version)?.is_some() {
                return Err(AppError::Conflict(
                    "version_exists",
                    format!("{} {} already exists", doc.id, doc.version),
                ));
            }
            let text = serde_json::to_string(&doc).map_err(AppError::internal)?;
            schema_versions::insert(conn, &doc, &hash, &text, Status::Draft, "api")?;
            record(
                conn,
                Some(actor),
                Some(&rid),
                "schema.draft_created",
                &doc,
                &hash,
            )?;
            schema_versions::find(conn, &doc.id, &doc.version)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/schemas/{}/versions/{}", row.schema_id, row.version),
        ))
        .json(VersionView {
            summary: (&row).into(),
            document: row.doc()?,
        }))
}

/// Replace a draft (administrators). Published and retired versions cannot be edited (409).
#[utoipa::path(
    tag = "schemas",
    params(("id" = String, Path), ("version" = String, Path)),
    request_body = SchemaDoc,
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, body = VersionView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/schemas/{id}/versions/{version}")]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(String, String)>,
    body: Json<serde_json::Value>,
) -> AppResult<web::Json<VersionView>> {
    user.require(roles::ADMIN)?;
    let rid = rid.0;
    let (id, version) = path.into_inner();
    let row = version_row(&state, &user, id.clone(), version.clone()).await?;
    if row.status() != Status::Draft {
        return Err(immutable(&row));
    }
    let doc = parse_draft(&id, Some(&version), &body.0)?;
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
                Some(&rid),
                "schema.draft_updated",
                &doc,
                &hash,
            )?;
            schema_versions::find(conn, &doc.id, &doc.version)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(web::Json(VersionView {
        summary: (&row).into(),
        document: row.doc()?,
    }))
}

fn immutable(row: &SchemaVersion) -> AppError {
    AppError::Conflict(
        "version_immutable",
        format!(
            "{} {} is {} and can no longer change; add a new version instead",
            row.schema_id, row.version, row.status
        ),
    )
}

/// Publish a draft (administrators): the whole document and its changelog against the
/// predecessor are checked, and the version becomes immutable.
#[utoipa::path(
    tag = "schemas",
    params(("id" = String, Path), ("version" = String, Path)),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, body = VersionSummary),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/schemas/{id}/versions/{version}/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(String, String)>,
) -> AppResult<web::Json<VersionSummary>> {
    user.require(roles::ADMIN)?;
    let rid = rid.0;
    let (id, version) = path.into_inner();
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
                Some(&rid),
                "schema.published",
                &doc,
                &row.content_hash,
            )?;
            schema_versions::find(conn, &id, &version)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(web::Json((&row).into()))
}

/// Retire a published version (administrators): no new submissions start on it; existing
/// submissions and certificates keep referring to it.
#[utoipa::path(
    tag = "schemas",
    params(("id" = String, Path), ("version" = String, Path)),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, body = VersionSummary),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/schemas/{id}/versions/{version}/retire")]
pub async fn retire(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(String, String)>,
) -> AppResult<web::Json<VersionSummary>> {
    user.require(roles::ADMIN)?;
    let rid = rid.0;
    let (id, version) = path.into_inner();
    let actor = user.id;
    let row = state
        .db
        .write(move |conn| {
            let row = schema_versions::find(conn, &id, &version)?.ok_or(AppError::NotFound)?;
            if !schema_versions::transition(conn, row.id, Status::Published, Status::Retired)? {
                return Err(AppError::Conflict(
                    "not_published",
                    format!("{id} {version} is {} and cannot be retired", row.status),
                ));
            }
            record(
                conn,
                Some(actor),
                Some(&rid),
                "schema.retired",
                &row.doc()?,
                &row.content_hash,
            )?;
            schema_versions::find(conn, &id, &version)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(web::Json((&row).into()))
}
