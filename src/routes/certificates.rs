//! Certificates over HTTP: status changes by the association, and public verification and
//! directory as JSON (the HTML pages are in `pages`).

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::certification::{self, PublicCertificate};
use crate::domain::certificate::CertificateChange;
use crate::error::{AppResult, Problem};
use crate::extract::{Json, Page, Query, RequestId};
use crate::state::AppState;
use crate::views;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DirectoryQuery {
    /// GB/T 4754 code prefix.
    pub industry: Option<String>,
    /// GB/T 2260 region prefix (2, 4 or 6 digits).
    pub region: Option<String>,
    /// Part of the enterprise name or certificate number.
    pub q: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Suspend an active certificate, with a reason (administrators, and reviewers who may act on
/// the enterprise: in their region, neither belonging to it nor to a competitor in its industry
/// division).
#[utoipa::path(
    operation_id = "suspendCertificate",
    tag = "certificates",
    params(("number" = String, Path)),
    request_body = StatusChange,
    security(("bearer" = ["admin", "reviewer"])),
    responses(
        (status = 200, body = PublicCertificate),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{number}/suspend")]
pub async fn suspend(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    number: web::Path<String>,
    body: Json<StatusChange>,
) -> AppResult<web::Json<PublicCertificate>> {
    let change = CertificateChange::Suspend;
    change_status(&state, user, rid, &number, body.0.reason, change).await
}

/// Reinstate a suspended certificate, with a reason (administrators, and reviewers who may act
/// on the enterprise; a suspension by an administrator is lifted only by an administrator).
#[utoipa::path(
    operation_id = "reinstateCertificate",
    tag = "certificates",
    params(("number" = String, Path)),
    request_body = StatusChange,
    security(("bearer" = ["admin", "reviewer"])),
    responses(
        (status = 200, body = PublicCertificate),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{number}/reinstate")]
pub async fn reinstate(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    number: web::Path<String>,
    body: Json<StatusChange>,
) -> AppResult<web::Json<PublicCertificate>> {
    let change = CertificateChange::Reinstate;
    change_status(&state, user, rid, &number, body.0.reason, change).await
}

/// Revoke a certificate for good, with a reason (administrators, and reviewers who may act on
/// the enterprise).
#[utoipa::path(
    operation_id = "revokeCertificate",
    tag = "certificates",
    params(("number" = String, Path)),
    request_body = StatusChange,
    security(("bearer" = ["admin", "reviewer"])),
    responses(
        (status = 200, body = PublicCertificate),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{number}/revoke")]
pub async fn revoke(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    number: web::Path<String>,
    body: Json<StatusChange>,
) -> AppResult<web::Json<PublicCertificate>> {
    let change = CertificateChange::Revoke;
    change_status(&state, user, rid, &number, body.0.reason, change).await
}

async fn change_status(
    state: &AppState,
    user: AuthUser,
    rid: RequestId,
    number: &str,
    reason: String,
    change: CertificateChange,
) -> AppResult<web::Json<PublicCertificate>> {
    let c = certification::change_status(state, user, rid.0, number, reason, change).await?;
    Ok(web::Json(
        certification::public_certificate(state, &c.number).await?,
    ))
}

/// The certificates of the caller's enterprise in any status (administrators: everyone's),
/// oldest first, with their status today and where to verify and download each.
#[utoipa::path(
    operation_id = "listCertificates",
    tag = "certificates",
    params(Page),
    security(("bearer" = ["admin", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = crate::views::Page<crate::views::CertificateSummary>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    page: Query<Page>,
) -> AppResult<HttpResponse> {
    let (after, limit) = page.bounds()?;
    let page = certification::list(&state, &user, after, limit).await?;
    Ok(super::page_response(&req, page))
}

/// Verify a certificate by its number: its content, status and whether its signature holds.
/// No login needed.
#[utoipa::path(
    operation_id = "getPublicCertificate",
    security(()),
    tag = "public",
    params(("number" = String, Path)),
    responses((status = 200, body = PublicCertificate), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/certificates/{number}")]
pub async fn public_get(
    state: web::Data<AppState>,
    number: web::Path<String>,
) -> AppResult<web::Json<PublicCertificate>> {
    Ok(web::Json(
        certification::public_certificate(&state, &number).await?,
    ))
}

/// The directory of active certificates, filterable by industry, region and name. No login.
#[utoipa::path(
    operation_id = "listPublicCertificates",
    security(()),
    tag = "public",
    params(DirectoryQuery),
    responses((status = 200, body = views::Page<PublicCertificate>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/certificates")]
pub async fn public_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<DirectoryQuery>,
) -> AppResult<HttpResponse> {
    let page = certification::directory(&state, query.into_inner().into()).await?;
    Ok(super::page_response(&req, page))
}

impl From<DirectoryQuery> for certification::DirectoryFilter {
    fn from(q: DirectoryQuery) -> Self {
        Self {
            industry: q.industry,
            region: q.region,
            q: q.q,
            cursor: q.cursor,
            limit: q.limit,
        }
    }
}
