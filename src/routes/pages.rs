//! The public HTML pages: a certificate's verification page and the directory of valid
//! certificates, Chinese by default. Rendered by askama templates (`src/templates/`), which are
//! checked when the crate compiles and escape every value they print.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use askama::Template;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::certification::{self, DirectoryFilter, PublicCertificate};
use crate::domain::certificate::CertificateStatus;
use crate::error::catalogue::{PROBLEM_TYPES, ProblemType, problem_type};
use crate::error::{AppError, AppResult, Problem};
use crate::extract::Query;
use crate::state::AppState;

/// The one stylesheet of the pages, inlined and allowed by its hash in the pages'
/// `Content-Security-Policy` (`hardening`).
pub const STYLE: &str = include_str!("../templates/style.css");

#[derive(Debug, Deserialize, IntoParams)]
pub struct LangQuery {
    /// `zh` (default) or `en`; otherwise the first `Accept-Language`.
    pub lang: Option<String>,
}

/// The filters of the directory page, which shows 100 certificates at a time.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DirectoryPageQuery {
    /// GB/T 4754 code prefix.
    pub industry: Option<String>,
    /// GB/T 2260 region prefix (2, 4 or 6 digits).
    pub region: Option<String>,
    /// Part of the enterprise name or certificate number.
    pub q: Option<String>,
    /// Where the previous page ended (from its "next page" link).
    pub cursor: Option<String>,
    /// `zh` (default) or `en`; otherwise the first `Accept-Language`.
    pub lang: Option<String>,
}

fn english(req: &HttpRequest, lang: Option<&str>) -> bool {
    match lang {
        Some(l) => l.starts_with("en"),
        None => req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|first| first.trim().starts_with("en")),
    }
}

fn html(mut res: actix_web::HttpResponseBuilder, page: &impl Template) -> AppResult<HttpResponse> {
    let body = page.render().map_err(AppError::internal)?;
    Ok(res.content_type("text/html; charset=utf-8").body(body))
}

/// The labels of the verification page in one language.
struct VerifyLabels {
    title: &'static str,
    number: &'static str,
    enterprise: &'static str,
    credit_code: &'static str,
    level: &'static str,
    schema: &'static str,
    issued: &'static str,
    expires: &'static str,
    signature: &'static str,
    issued_by: &'static str,
    json: &'static str,
    surveillance: &'static str,
    liaison: &'static str,
}

const ZH: VerifyLabels = VerifyLabels {
    title: "证书验证",
    number: "证书编号",
    enterprise: "企业",
    credit_code: "统一社会信用代码",
    level: "等级",
    schema: "评价细则",
    issued: "发证日期",
    expires: "有效期至",
    signature: "数字签名",
    issued_by: "评价机构",
    json: "机器可读的证书（JSON，含签名）",
    surveillance: "监督审查中：协会正在根据该企业的投诉处理情况复核本证书。",
    liaison: "该企业是消费纠纷投诉和解联络单位。",
};

const EN: VerifyLabels = VerifyLabels {
    title: "Certificate verification",
    number: "Certificate number",
    enterprise: "Enterprise",
    credit_code: "Credit code",
    level: "Level",
    schema: "Schema",
    issued: "Issued",
    expires: "Expires",
    signature: "Signature",
    issued_by: "Issued by",
    json: "Machine-readable certificate (JSON, with its signature)",
    surveillance: "Under surveillance review: the association is reviewing this certificate after the holder's complaint handling.",
    liaison: "The holder is a complaint-reconciliation liaison unit.",
};

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage<'a> {
    en: bool,
    style: &'static str,
    t: &'static VerifyLabels,
    c: &'a PublicCertificate,
    status: &'static str,
    class: &'static str,
    level: &'a str,
    signature: &'static str,
    issuer: &'a str,
    disclaimer: &'static str,
    json_url: String,
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct NotFoundPage<'a> {
    en: bool,
    style: &'static str,
    title: &'static str,
    number: &'a str,
}

struct DirectoryRow<'a> {
    enterprise: &'a str,
    level: &'a str,
    expires_on: &'a str,
    number: &'a str,
    /// The holder is an approved complaint-reconciliation liaison unit.
    liaison_unit: bool,
}

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage<'a> {
    en: bool,
    style: &'static str,
    title: &'static str,
    rows: Vec<DirectoryRow<'a>>,
}

fn status_text(status: CertificateStatus, en: bool) -> (&'static str, &'static str) {
    use CertificateStatus::*;
    match (status, en) {
        (Active, false) => ("有效", "ok"),
        (Active, true) => ("VALID", "ok"),
        (Suspended, false) => ("已暂停", "warn"),
        (Suspended, true) => ("SUSPENDED", "warn"),
        (Revoked, false) => ("已撤销 — 本证书无效", "bad"),
        (Revoked, true) => ("REVOKED — this certificate is not valid", "bad"),
        (Expired, false) => ("已过期 — 本证书无效", "bad"),
        (Expired, true) => ("EXPIRED — this certificate is not valid", "bad"),
        (Superseded, false) => ("已被新证书取代", "warn"),
        (Superseded, true) => ("SUPERSEDED by a newer certificate", "warn"),
    }
}

/// The public verification page of a certificate (HTML, Chinese by default).
#[utoipa::path(
    operation_id = "getVerifyPage",
    security(()),
    tag = "public",
    params(("number" = String, Path), LangQuery),
    responses(
        (status = 200, content_type = "text/html", body = String,
            description = "The page; `Link: rel=alternate` names the certificate's JSON",
            headers(("Link" = String, description = "The certificate's public JSON"))),
        (status = 404, content_type = "text/html", body = String, description = "No such certificate"),
    )
)]
#[get("/verify/{number}")]
pub async fn verify_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    number: web::Path<String>,
    query: Query<LangQuery>,
) -> AppResult<HttpResponse> {
    let en = english(&req, query.lang.as_deref());
    let c = match certification::public_certificate(&state, &number).await {
        Ok(c) => c,
        Err(AppError::NotFound) => {
            let page = NotFoundPage {
                en,
                style: STYLE,
                title: if en {
                    "Certificate not found"
                } else {
                    "未找到证书"
                },
                number: &number,
            };
            return html(HttpResponse::NotFound(), &page);
        }
        Err(e) => return Err(e),
    };
    let (status, class) = status_text(c.status, en);
    let issuer = &c.signed.payload.issuer;
    let (t, level, issuer, disclaimer) = if en {
        (
            &EN,
            &c.level_label.en,
            &issuer.en,
            crate::reports::certificate::DISCLAIMER.1,
        )
    } else {
        (
            &ZH,
            &c.level_label.zh,
            &issuer.zh,
            crate::reports::certificate::DISCLAIMER.0,
        )
    };
    let signature = match (c.signature_valid, en) {
        (true, false) => "验证通过（Ed25519）",
        (true, true) => "valid (Ed25519)",
        (false, false) => "验证失败",
        (false, true) => "INVALID",
    };
    let json_url = format!("/api/v1/public/certificates/{}", c.number);
    let mut res = HttpResponse::Ok();
    res.insert_header(("Cache-Control", "no-cache"));
    res.insert_header((
        header::LINK,
        format!("<{json_url}>; rel=\"alternate\"; type=\"application/json\""),
    ));
    let page = VerifyPage {
        en,
        style: STYLE,
        t,
        c: &c,
        status,
        class,
        level,
        signature,
        issuer,
        disclaimer,
        json_url,
    };
    html(res, &page)
}

/// The public directory of active certificates (HTML, Chinese by default).
#[utoipa::path(
    operation_id = "getDirectoryPage",
    security(()),
    tag = "public",
    params(DirectoryPageQuery),
    responses((status = 200, content_type = "text/html", body = String))
)]
#[get("/directory")]
pub async fn directory_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<DirectoryPageQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    let en = english(&req, q.lang.as_deref());
    let filter = DirectoryFilter {
        industry: q.industry,
        region: q.region,
        q: q.q,
        cursor: q.cursor,
        limit: Some(100),
    };
    let found = certification::directory(&state, filter).await?;
    let rows = found
        .items
        .iter()
        .map(|c| DirectoryRow {
            enterprise: &c.enterprise_name,
            level: if en {
                &c.level_label.en
            } else {
                &c.level_label.zh
            },
            expires_on: &c.expires_on,
            number: &c.number,
            liaison_unit: c.liaison_unit,
        })
        .collect();
    let page = DirectoryPage {
        en,
        style: STYLE,
        title: if en {
            "Assessed enterprises with a valid certificate"
        } else {
            "评价证书有效企业名录"
        },
        rows,
    };
    html(HttpResponse::Ok(), &page)
}

#[derive(Template)]
#[template(path = "problem.html")]
struct ProblemPage {
    en: bool,
    style: &'static str,
    p: &'static ProblemType,
    reason: &'static str,
}

#[derive(Template)]
#[template(path = "problems.html")]
struct ProblemsPage {
    en: bool,
    style: &'static str,
    types: &'static [ProblemType],
}

/// What a problem `code` means and what to do about it: the page every problem's `type` names.
#[utoipa::path(
    operation_id = "getProblemType",
    security(()),
    tag = "public",
    params(("code" = String, Path, description = "A problem's `code`")),
    responses(
        (status = 200, content_type = "text/html", body = String, description = "The code's page"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/docs/problems/{code}")]
pub async fn problem_page(code: web::Path<String>) -> AppResult<HttpResponse> {
    let p = problem_type(&code).ok_or(AppError::NotFound)?;
    let reason = actix_web::http::StatusCode::from_u16(p.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let page = ProblemPage {
        en: true,
        style: STYLE,
        p,
        reason,
    };
    html(HttpResponse::Ok(), &page)
}

/// Every problem code, with its status and meaning.
#[utoipa::path(
    operation_id = "listProblemTypes",
    security(()),
    tag = "public",
    responses((status = 200, content_type = "text/html", body = String, description = "The list of codes"))
)]
#[get("/docs/problems")]
pub async fn problems_page() -> AppResult<HttpResponse> {
    let page = ProblemsPage {
        en: true,
        style: STYLE,
        types: PROBLEM_TYPES,
    };
    html(HttpResponse::Ok(), &page)
}

/// The API browser's address without its trailing slash.
#[utoipa::path(
    operation_id = "redirectDocs",
    security(()),
    tag = "operations",
    responses((status = 308, description = "To `/docs/`, the API browser",
        headers(("Location" = String, description = "`/docs/`"))))
)]
#[get("/docs")]
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}
