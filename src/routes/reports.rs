//! PDF downloads: a submission's self-assessment report and the public certificate.

use actix_web::{HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::error::{AppResult, Problem};
use crate::extract::Query;
use crate::reports::{self, Lang};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// `zh` (default) or `en`.
    pub lang: Option<String>,
}

fn pdf(bytes: Vec<u8>, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "Content-Disposition",
            format!("inline; filename=\"{filename}\""),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes)
}

/// The self-assessment report as PDF (the enterprise, its reviewers and administrators).
#[utoipa::path(
    operation_id = "getSubmissionReport",
    tag = "submissions",
    params(("id" = i64, Path), ReportQuery),
    security(("bearer" = ["admin", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{id}/report.pdf")]
pub async fn report(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
    query: Query<ReportQuery>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let lang = Lang::parse(query.lang.as_deref());
    let bytes = reports::report_pdf(&state, user, id, lang).await?;
    Ok(pdf(bytes, &format!("csr-report-{id}.pdf")))
}

/// The certificate as a one-page PDF with a QR code of its verification page. No login.
#[utoipa::path(
    operation_id = "getCertificatePdf",
    security(()),
    tag = "public",
    params(("number" = String, Path)),
    responses(
        (status = 200, content_type = "application/pdf", body = Vec<u8>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/certificates/{number}.pdf")]
pub async fn certificate_pdf(
    state: web::Data<AppState>,
    number: web::Path<String>,
) -> AppResult<HttpResponse> {
    let (number, bytes) = reports::certificate_pdf(&state, &number).await?;
    Ok(pdf(bytes, &format!("{number}.pdf")))
}
