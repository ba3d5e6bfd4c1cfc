//! The schema registry over HTTP; the workflows are in [`crate::schemas::versions`].

use actix_web::{HttpResponse, get, post, put, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::domain::schema::{Diff, Resolved, SchemaDoc};
use crate::error::{AppResult, Problem};
use crate::extract::{IdempotencyKey, Json, Query, RequestId};
use crate::schemas::versions::{self as svc, SchemaSummary, VersionSummary, VersionView};
use crate::state::AppState;

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

/// Every assessment schema with its versions: a catalogue kept in `schemas/` and published by
/// administrators, served whole rather than paged.
#[utoipa::path(
    operation_id = "listSchemas",
    tag = "schemas",
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = Vec<SchemaSummary>), (status = 401, body = Problem, content_type = "application/problem+json"))
)]
#[get("")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
) -> AppResult<web::Json<Vec<SchemaSummary>>> {
    Ok(web::Json(svc::list(&state, &user).await?))
}

/// The versions of one schema, oldest first: a catalogue (one version every few years), served
/// whole rather than paged.
#[utoipa::path(
    operation_id = "listSchemaVersions",
    tag = "schemas",
    params(("id" = String, Path)),
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = Vec<VersionSummary>), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}/versions")]
pub async fn versions(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> AppResult<web::Json<Vec<VersionSummary>>> {
    Ok(web::Json(svc::versions(&state, &user, &id).await?))
}

/// One version with its whole document. Drafts are visible to administrators only.
#[utoipa::path(
    operation_id = "getSchemaVersion",
    tag = "schemas",
    params(("id" = String, Path), ("version" = String, Path)),
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = VersionView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}/versions/{version}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let (id, version) = path.into_inner();
    let view = svc::version(&state, &user, id, version).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("ETag", view.etag()))
        .json(view))
}

/// The criteria an enterprise of `industry` must answer: the base criteria with the industry
/// profile applied (added criteria, changed weights, criteria not applicable).
#[utoipa::path(
    operation_id = "getResolvedSchema",
    tag = "schemas",
    params(("id" = String, Path), ("version" = String, Path), ResolveQuery),
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = Resolved),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{id}/versions/{version}/resolved")]
pub async fn resolved(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    query: Query<ResolveQuery>,
) -> AppResult<web::Json<Resolved>> {
    let (id, version) = path.into_inner();
    let industry = query.industry.as_deref();
    Ok(web::Json(
        svc::resolved(&state, &user, id, version, industry).await?,
    ))
}

/// What changed between two versions: added, removed, renamed, re-weighted and re-worded
/// criteria, and those whose answer rules changed.
#[utoipa::path(
    operation_id = "diffSchemaVersions",
    tag = "schemas",
    params(("id" = String, Path), DiffQuery),
    security(("bearer" = ["admin", "reviewer", "industry_body", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = Diff), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}/diff")]
pub async fn diff(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    query: Query<DiffQuery>,
) -> AppResult<web::Json<Diff>> {
    let DiffQuery { from, to } = query.into_inner();
    Ok(web::Json(
        svc::diff(&state, &user, id.into_inner(), from, to).await?,
    ))
}

/// Add a draft version (administrators). The document must match the meta-schema; the full
/// semantic checks run when it is published.
#[utoipa::path(
    operation_id = "createSchemaVersion",
    tag = "schemas",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = SchemaDoc,
    security(("bearer" = ["admin"])),
    responses(
        (status = 201, body = VersionView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/versions")]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<String>,
    key: IdempotencyKey,
    body: Json<serde_json::Value>,
) -> AppResult<HttpResponse> {
    let outcome = svc::create_draft(&state, &user, rid.0, &id, &body.0, key.0).await?;
    Ok(super::keyed_response(outcome))
}

/// Replace a draft (administrators). Published and retired versions cannot be edited (409).
#[utoipa::path(
    operation_id = "updateSchemaVersion",
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
#[put("/{id}/versions/{version}")]
pub async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(String, String)>,
    body: Json<serde_json::Value>,
) -> AppResult<web::Json<VersionView>> {
    let (id, version) = path.into_inner();
    Ok(web::Json(
        svc::update_draft(&state, &user, rid.0, id, version, &body.0).await?,
    ))
}

/// Publish a draft (administrators): the whole document and its changelog against the
/// predecessor are checked, and the version becomes immutable.
#[utoipa::path(
    operation_id = "publishSchemaVersion",
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
#[post("/{id}/versions/{version}/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(String, String)>,
) -> AppResult<web::Json<VersionSummary>> {
    let (id, version) = path.into_inner();
    Ok(web::Json(
        svc::publish(&state, &user, rid.0, id, version).await?,
    ))
}

/// Retire a published version (administrators): no new submissions start on it; existing
/// submissions and certificates keep referring to it.
#[utoipa::path(
    operation_id = "retireSchemaVersion",
    tag = "schemas",
    params(("id" = String, Path), ("version" = String, Path)),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, body = VersionSummary),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/versions/{version}/retire")]
pub async fn retire(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(String, String)>,
) -> AppResult<web::Json<VersionSummary>> {
    let (id, version) = path.into_inner();
    Ok(web::Json(
        svc::retire(&state, &user, rid.0, id, version).await?,
    ))
}
