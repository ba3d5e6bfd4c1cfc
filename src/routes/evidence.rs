//! Evidence files over HTTP: the multipart upload (PDF, PNG, JPEG) read within its limits, list,
//! download as an attachment, delete. The workflows are in [`crate::evidence`].

use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use futures_util::StreamExt;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, Problem};
use crate::evidence::{self, Upload};
use crate::extract::{IdempotencyKey, Page, Query, RequestId};
use crate::idempotency::Outcome;
use crate::state::AppState;
use crate::submissions::EvidenceView;
use crate::views;

/// A multipart upload: one file and the criteria it supports, and no other parts.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceUpload {
    /// A PDF, PNG or JPEG file; its declared type, extension and content must agree.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// Criterion ids, separated by commas.
    pub criteria: String,
}

/// A multipart error as a problem: 413 once the body passed its cap, 400 otherwise.
fn body_error(e: actix_multipart::MultipartError, what: &str) -> AppError {
    match e {
        actix_multipart::MultipartError::Payload(actix_web::error::PayloadError::Overflow) => {
            AppError::PayloadTooLarge
        }
        e => AppError::BadRequest(format!("{what}: {e}")),
    }
}

/// At most this many form parts: one file and criteria, which may come one per part.
const MAX_PARTS: usize = 100;
/// The text of all `criteria` parts together.
const CRITERIA_TEXT_MAX: usize = 64 * 1024;
/// Criteria one file can be evidence for (a schema has about sixty).
const MAX_CRITERIA: usize = 200;
/// What a body may carry besides the file and the criteria: part headers and boundaries.
const FORM_OVERHEAD: u64 = 64 * 1024;

/// The most an upload body may weigh with a file of at most `file_limit` bytes.
fn body_limit(file_limit: u64) -> u64 {
    file_limit + CRITERIA_TEXT_MAX as u64 + FORM_OVERHEAD
}

/// Reads the multipart body, stopping at the size limits (the file, the criteria text, the
/// number of parts) with 413 as soon as one is passed; nothing is written before it is whole.
async fn read_upload(
    mut payload: Multipart,
    limit: u64,
) -> AppResult<(Option<Upload>, Vec<String>)> {
    let mut file = None;
    let mut criteria = Vec::new();
    let (mut parts, mut criteria_text) = (0, 0);
    while let Some(field) = payload.next().await {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(AppError::PayloadTooLarge);
        }
        let mut field = field.map_err(|e| body_error(e, "invalid multipart body"))?;
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" if file.is_some() => {
                return Err(AppError::validation("file", "send one file per upload"));
            }
            "file" => {
                let filename = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .unwrap_or_default()
                    .to_owned();
                let content_type = field
                    .content_type()
                    .map(|m| m.essence_str().to_owned())
                    .unwrap_or_default();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|e| body_error(e, "upload interrupted"))?;
                    if (bytes.len() + chunk.len()) as u64 > limit {
                        return Err(AppError::PayloadTooLarge);
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some(Upload {
                    filename,
                    content_type,
                    bytes,
                });
            }
            "criteria" => {
                let mut text = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(|e| body_error(e, "upload interrupted"))?;
                    criteria_text += chunk.len();
                    if criteria_text > CRITERIA_TEXT_MAX {
                        return Err(AppError::PayloadTooLarge);
                    }
                    text.extend_from_slice(&chunk);
                }
                let text = String::from_utf8(text)
                    .map_err(|_| AppError::validation("criteria", "must be text"))?;
                criteria.extend(
                    text.split([',', ' ', '\n'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned),
                );
                criteria.sort();
                criteria.dedup();
                if criteria.len() > MAX_CRITERIA {
                    return Err(AppError::validation(
                        "criteria",
                        format!("name at most {MAX_CRITERIA} criteria"),
                    ));
                }
            }
            other => {
                return Err(AppError::validation(
                    other,
                    "unknown field; send `file` and `criteria`",
                ));
            }
        }
    }
    Ok((file, criteria))
}

/// Upload an evidence file for one or more criteria of an editable submission, or, under
/// review, of criteria the reviewer asked evidence for. PDF, PNG and JPEG only, checked by
/// content; size and per-enterprise quota are limited. With `Idempotency-Key`, a retried
/// upload is answered with the first response (`Idempotent-Replayed: true`) and stores nothing.
#[utoipa::path(
    operation_id = "uploadEvidence",
    tag = "evidence",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body(content = EvidenceUpload, content_type = "multipart/form-data"),
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 201, body = EvidenceView, description = "Stored; `ETag` is the submission's new ETag",
            headers(("ETag" = String, description = "The submission's new ETag"))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/evidence")]
pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: AuthUser,
    rid: RequestId,
    key: IdempotencyKey,
    id: web::Path<i64>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    // A declared length past what any valid upload weighs is refused before reading.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > body_limit(state.settings.evidence_max_bytes)) {
        return Err(AppError::PayloadTooLarge);
    }
    // Refuse before reading the body when the submission cannot take evidence.
    let target = evidence::upload_target(&state, &user, id).await?;
    // Whatever the framing (chunked bodies declare no length), no more than a valid upload
    // weighs is read: past it the stream fails and the upload is 413.
    let cap = body_limit(state.settings.evidence_max_bytes);
    let mut seen = 0u64;
    let capped = payload.map(move |chunk| {
        let chunk = chunk?;
        seen += chunk.len() as u64;
        if seen > cap {
            return Err(actix_web::error::PayloadError::Overflow);
        }
        Ok(chunk)
    });
    let payload = Multipart::new(req.headers(), capped);
    let (received, criteria) = read_upload(payload, state.settings.evidence_max_bytes).await?;
    let upload = received.ok_or_else(|| AppError::validation("file", "attach a file"))?;
    let (view, etag) =
        match evidence::upload(&state, user, rid.0, target, upload, criteria, key.0).await? {
            Outcome::Done(done) => done,
            Outcome::Replayed(replay) => return Ok(super::replayed(replay)),
        };
    Ok(HttpResponse::Created()
        .insert_header((header::ETAG, etag))
        .insert_header((header::LOCATION, evidence::location(id, view.id)))
        .json(view))
}

/// The evidence of a submission.
#[utoipa::path(
    operation_id = "listEvidence",
    tag = "evidence",
    params(("id" = i64, Path), Page),
    security(("bearer" = ["admin", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = views::Page<EvidenceView>, description = "A page, oldest first; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}/evidence")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<i64>,
    page: Query<Page>,
) -> AppResult<HttpResponse> {
    let (after, limit) = page.bounds()?;
    let page = evidence::list(&state, user, id.into_inner(), after, limit).await?;
    Ok(super::page_response(&req, page))
}

/// Download an evidence file (always as an attachment).
#[utoipa::path(
    operation_id = "downloadEvidence",
    tag = "evidence",
    params(("id" = i64, Path), ("evidence_id" = i64, Path)),
    security(("bearer" = ["admin", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, description = "The file, with the content type it was uploaded with", content(
            (Vec<u8> = "application/pdf"),
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/jpeg"),
        )),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/{id}/evidence/{evidence_id}")]
pub async fn download(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (id, eid) = path.into_inner();
    let (e, bytes) = evidence::read(&state, user, id, eid).await?;
    Ok(HttpResponse::Ok()
        .content_type(e.content_type.as_str())
        .insert_header((
            "Content-Disposition",
            disposition("attachment", &e.filename),
        ))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}

/// Delete evidence from an editable submission; submitted ones keep theirs (409).
#[utoipa::path(
    operation_id = "deleteEvidence",
    tag = "evidence",
    params(("id" = i64, Path), ("evidence_id" = i64, Path)),
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 204, description = "Deleted; `ETag` is the submission's new ETag",
            headers(("ETag" = String, description = "The submission's new ETag"))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/{id}/evidence/{evidence_id}")]
pub async fn remove(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (id, eid) = path.into_inner();
    let etag = evidence::remove(&state, user, rid.0, id, eid).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::ETAG, etag))
        .finish())
}

/// A `Content-Disposition` value (`attachment` or `inline`) naming `filename`: an ASCII
/// fallback and the UTF-8 name (RFC 6266, RFC 8187), so Chinese names survive.
pub fn disposition(kind: &str, filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}
