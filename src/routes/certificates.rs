//! Certificates: status changes by the association, and public verification (JSON and HTML).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::certification::{self, PublicCertificate};
use crate::domain::certificate::{CertificateChange, CertificateStatus};
use crate::error::{AppError, AppResult, Problem};
use crate::extract::{Json, RequestId};
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
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Suspend an active certificate, with a reason (administrators, and reviewers who may act on
/// the enterprise: in their region, neither belonging to it nor to a competitor in its industry
/// division).
#[utoipa::path(
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
#[post("/certificates/{number}/suspend")]
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
#[post("/certificates/{number}/reinstate")]
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
#[post("/certificates/{number}/revoke")]
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
    Ok(web::Json(certification::public_view(
        &c,
        &state.signing.jwks(),
    )?))
}

/// Verify a certificate by its number: its content, status and whether its signature holds.
/// No login needed.
#[utoipa::path(
    security(()),
    tag = "public",
    params(("number" = String, Path)),
    responses((status = 200, body = PublicCertificate), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/public/certificates/{number}")]
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
    security(()),
    tag = "public",
    params(DirectoryQuery),
    responses((status = 200, body = views::Page<PublicCertificate>), (status = 422, body = Problem, content_type = "application/problem+json"))
)]
#[get("/public/certificates")]
pub async fn public_list(
    state: web::Data<AppState>,
    query: web::Query<DirectoryQuery>,
) -> AppResult<web::Json<views::Page<PublicCertificate>>> {
    Ok(web::Json(
        certification::directory(&state, query.into_inner().into()).await?,
    ))
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

/// The filters of the directory page, which shows 100 certificates at a time.
impl From<DirectoryQuery> for certification::DirectoryFilter {
    fn from(q: DirectoryQuery) -> Self {
        Self {
            industry: q.industry,
            region: q.region,
            q: q.q,
            after: q.after,
            limit: q.limit,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DirectoryPageQuery {
    /// GB/T 4754 code prefix.
    pub industry: Option<String>,
    /// GB/T 2260 region prefix (2, 4 or 6 digits).
    pub region: Option<String>,
    /// Part of the enterprise name or certificate number.
    pub q: Option<String>,
    /// The last certificate id of the previous page.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// `zh` (default) or `en`; otherwise the first `Accept-Language`.
    pub lang: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LangQuery {
    /// `zh` (default) or `en`; otherwise the first `Accept-Language`.
    pub lang: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

pub const STYLE: &str = "body{font-family:system-ui,'Noto Sans CJK SC','WenQuanYi Micro Hei',sans-serif;margin:0;background:#f4f6f8;color:#1d2733}\
main{max-width:640px;margin:0 auto;padding:16px}h1{font-size:1.3rem}\
.card{background:#fff;border-radius:10px;padding:16px;box-shadow:0 1px 3px rgba(0,0,0,.12)}\
.status{font-size:1.4rem;font-weight:700;padding:12px;border-radius:8px;text-align:center;margin:12px 0}\
.ok{background:#e3f6e8;color:#11662e}.bad{background:#fde4e4;color:#a11212;border:3px solid #a11212}\
.warn{background:#fff4d6;color:#7a5200}dl{display:grid;grid-template-columns:auto 1fr;gap:6px 12px}\
dt{color:#5b6775}dd{margin:0;word-break:break-all}table{width:100%;border-collapse:collapse}\
td,th{padding:6px;border-bottom:1px solid #dde3e9;text-align:left}footer{font-size:.8rem;color:#5b6775;margin-top:16px}";

fn page(en: bool, title: &str, body: &str) -> String {
    let lang = if en { "en" } else { "zh-CN" };
    format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{body}<footer>csr-assess · {}</footer></main></body></html>",
        escape(title),
        if en {
            "Assessment based on the guideline on the social responsibility of good enterprises in \
             protecting consumer interests"
        } else {
            "依据《良好企业保护消费者利益社会责任导则》编制的评价细则"
        }
    )
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
    security(()),
    tag = "public",
    params(("number" = String, Path), LangQuery),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String))
)]
#[get("/verify/{number}")]
pub async fn verify_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    number: web::Path<String>,
    query: web::Query<LangQuery>,
) -> AppResult<HttpResponse> {
    let en = english(&req, query.lang.as_deref());
    let found = match certification::public_certificate(&state, &number).await {
        Ok(c) => c,
        Err(AppError::NotFound) => {
            let (title, text) = if en {
                (
                    "Certificate not found",
                    format!(
                        "No certificate has the number {}. Check the number on the certificate.",
                        escape(&number)
                    ),
                )
            } else {
                (
                    "未找到证书",
                    format!(
                        "没有编号为 {} 的证书，请核对证书上的编号。",
                        escape(&number)
                    ),
                )
            };
            let body = format!(
                "<h1>{title}</h1><div class=\"card\"><div class=\"status bad\">{title}</div><p>{text}</p></div>"
            );
            return Ok(HttpResponse::NotFound()
                .content_type("text/html; charset=utf-8")
                .body(page(en, title, &body)));
        }
        Err(e) => return Err(e),
    };
    let (status, class) = status_text(found.status, en);
    let labels: [&str; 9] = if en {
        [
            "Certificate verification",
            "Enterprise",
            "Credit code",
            "Level",
            "Schema",
            "Issued",
            "Expires",
            "Signature",
            "Certificate number",
        ]
    } else {
        [
            "证书验证",
            "企业",
            "统一社会信用代码",
            "等级",
            "评价细则",
            "发证日期",
            "有效期至",
            "数字签名",
            "证书编号",
        ]
    };
    let signature = match (found.signature_valid, en) {
        (true, false) => "验证通过（Ed25519）",
        (true, true) => "valid (Ed25519)",
        (false, false) => "验证失败",
        (false, true) => "INVALID",
    };
    let level = if en {
        &found.level_label.en
    } else {
        &found.level_label.zh
    };
    let issuer = &found.signed.payload.issuer;
    let (issued_by, issuer, disclaimer) = if en {
        (
            "Issued by",
            escape(&issuer.en),
            crate::reports::certificate::DISCLAIMER.1,
        )
    } else {
        (
            "评价机构",
            escape(&issuer.zh),
            crate::reports::certificate::DISCLAIMER.0,
        )
    };
    let body = format!(
        "<h1>{}</h1><div class=\"card\"><div class=\"status {class}\" id=\"status\">{status}</div><dl>\
         <dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{}</dt><dd>{} {}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd>\
         <dt>{issued_by}</dt><dd>{issuer}</dd></dl><p class=\"note\">{disclaimer}</p></div>",
        labels[0],
        labels[8],
        escape(&found.number),
        labels[1],
        escape(&found.enterprise_name),
        labels[2],
        escape(&found.credit_code),
        labels[3],
        escape(level),
        labels[4],
        escape(&found.schema_id),
        escape(&found.version),
        labels[5],
        escape(&found.issued_on),
        labels[6],
        escape(&found.expires_on),
        labels[7],
        signature,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .body(page(en, labels[0], &body)))
}

/// The public directory of active certificates (HTML, Chinese by default).
#[utoipa::path(
    security(()),
    tag = "public",
    params(DirectoryPageQuery),
    responses((status = 200, content_type = "text/html", body = String))
)]
#[get("/directory")]
pub async fn directory_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<DirectoryPageQuery>,
) -> AppResult<HttpResponse> {
    let q = query.into_inner();
    if q.after.is_some_and(|a| a < 0) {
        return Err(AppError::validation("after", "must not be negative"));
    }
    let en = english(&req, q.lang.as_deref());
    let filter = DirectoryQuery {
        industry: q.industry,
        region: q.region,
        q: q.q,
        after: q.after,
        limit: Some(100),
    };
    let found = certification::directory(&state, filter.into()).await?;
    let (title, head) = if en {
        (
            "Assessed enterprises with a valid certificate",
            "<tr><th>Enterprise</th><th>Level</th><th>Valid until</th><th>Certificate</th></tr>",
        )
    } else {
        (
            "评价证书有效企业名录",
            "<tr><th>企业</th><th>等级</th><th>有效期至</th><th>证书编号</th></tr>",
        )
    };
    let rows: String = found
        .items
        .iter()
        .map(|c| {
            let level = if en { &c.level_label.en } else { &c.level_label.zh };
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/verify/{n}\">{n}</a></td></tr>",
                escape(&c.enterprise_name),
                escape(level),
                escape(&c.expires_on),
                n = escape(&c.number)
            )
        })
        .collect();
    let body = format!("<h1>{title}</h1><div class=\"card\"><table>{head}{rows}</table></div>");
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(page(en, title, &body)))
}
