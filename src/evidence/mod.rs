//! Evidence files, as workflows the API and the console share: upload to the criteria of an
//! editable submission (or, under review, to the criteria the reviewer asked evidence for), list,
//! read and delete. Content is stored once per SHA-256 in the [`EvidenceStore`]; the multipart
//! body is read by the handler, which hands over the file and the criteria.

pub mod store;

use std::sync::Arc;

use crate::auth::{AuthUser, roles};
use crate::db::evidence::{self as db, Evidence, NewEvidence};
use crate::db::{enterprises, submissions as submissions_db};
use crate::domain::canonical::sha256_hex;
use crate::error::{AppError, AppResult, FieldError};
use crate::idempotency::{self, Keyed, Outcome};
use crate::schemas::ResolvedSchema;
use crate::scope::{load_editable, load_for_evidence, load_visible};
use crate::state::AppState;
use crate::submissions::{EvidenceView, etag_at, evidence_views, record};
use crate::views::{Page, paged};
pub use store::*;

/// A file as received.
pub struct Upload {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A submission the caller may add evidence to, with its resolved schema.
pub struct UploadTarget {
    submission_id: i64,
    schema: Arc<ResolvedSchema>,
}

/// Checks that the caller may add evidence to submission `id` now: called before the body is
/// read, so a refused upload costs no transfer.
pub async fn upload_target(state: &AppState, user: &AuthUser, id: i64) -> AppResult<UploadTarget> {
    user.require(roles::ENTERPRISE)?;
    let (schemas, user) = (state.schemas.clone(), user.clone());
    let schema = state
        .db
        .read(move |conn| {
            let (s, _) = load_for_evidence(conn, &user, id)?;
            schemas.of(conn, &s)
        })
        .await?;
    Ok(UploadTarget {
        submission_id: id,
        schema,
    })
}

fn over_quota(used: i64, quota: i64) -> AppError {
    AppError::QuotaExceeded(format!(
        "The enterprise stores {used} bytes of evidence; this file would pass the quota of {quota} bytes."
    ))
}

/// Stores an uploaded file as evidence for `criteria` of the target submission: the names, the
/// criteria and the type (by content) are checked, then the enterprise's quota, before and
/// again under the enterprise's lock when the row is written. Content no row refers to after a
/// failure is removed. With an idempotency key, a retry of the same upload is answered with the
/// first response and stores nothing.
pub async fn upload(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    target: UploadTarget,
    mut upload: Upload,
    criteria: Vec<String>,
    key: Option<String>,
) -> AppResult<Outcome<(EvidenceView, String)>> {
    let UploadTarget {
        submission_id: id,
        schema,
    } = target;
    if !upload.filename.is_empty() {
        upload.filename = crate::domain::text::filename(&upload.filename);
    }
    let keyed = key.map(|key| {
        let mut sorted = criteria.clone();
        sorted.sort();
        let request = serde_json::json!({
            "submission": id, "sha256": sha256_hex(&upload.bytes), "filename": upload.filename,
            "content_type": upload.content_type, "criteria": sorted,
        });
        Keyed {
            user_id: user.id,
            operation: "uploadEvidence",
            key,
            request_hash: sha256_hex(request.to_string().as_bytes()),
        }
    });
    if let Some(k) = keyed.clone() {
        let replay = state
            .db
            .read(move |conn| idempotency::recall(conn, &k))
            .await?;
        if let Some(replay) = replay {
            return Ok(Outcome::Replayed(replay));
        }
    }
    let mut errors = Vec::new();
    if criteria.is_empty() {
        errors.push(FieldError::new("criteria", "name at least one criterion"));
    }
    for c in &criteria {
        if schema.criterion(c).is_none() {
            errors.push(FieldError::new(
                c.as_str(),
                "not a criterion of this submission's schema",
            ));
        }
    }
    if upload.filename.is_empty() || upload.filename.chars().count() > 255 {
        errors.push(FieldError::new(
            "file",
            "the file needs a name of at most 255 characters",
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    check_type(&upload.content_type, &upload.filename, &upload.bytes)
        .map_err(AppError::UnsupportedMediaType)?;

    let sha = sha256_hex(&upload.bytes);
    let size = upload.bytes.len() as i64;
    let quota = state.settings.evidence_quota_bytes as i64;
    // Refuse an upload past the quota before storing its content (checked again, under the
    // enterprise's lock, when the row is written).
    let enterprise = user.enterprise_id.unwrap_or_default();
    let used = state
        .db
        .read(move |conn| db::enterprise_usage(conn, enterprise))
        .await?;
    if used + size > quota {
        return Err(over_quota(used, quota));
    }
    state.evidence.put(&sha, upload.bytes).await?;

    let (filename, content_type) = (upload.filename, upload.content_type);
    let sha_w = sha.clone();
    let keyed_w = keyed.clone();
    let result = state
        .db
        .write(move |conn| {
            if let Some(k) = &keyed_w
                && let Some(replay) = idempotency::recall(conn, k)?
            {
                return Ok(Outcome::Replayed(replay));
            }
            // Under review, a verdict or the approval may be deciding this criterion right now.
            submissions_db::lock(conn, id)?;
            let (s, requested) = load_for_evidence(conn, &user, id)?;
            if let Some(requested) = requested {
                let unasked: Vec<FieldError> = criteria
                    .iter()
                    .filter(|c| !requested.contains(c))
                    .map(|c| {
                        FieldError::new(
                            c.as_str(),
                            "under review, evidence goes only to criteria the reviewer asked \
                             evidence for",
                        )
                    })
                    .collect();
                if !unasked.is_empty() {
                    return Err(AppError::Validation(unasked));
                }
            }
            // Parallel uploads of one enterprise queue here, so each sees the others' files.
            enterprises::lock(conn, s.enterprise_id)?;
            let used = db::enterprise_usage(conn, s.enterprise_id)?;
            if used + size > quota {
                return Err(over_quota(used, quota));
            }
            if !submissions_db::bump(conn, id, s.revision)? {
                return Err(AppError::PreconditionFailed);
            }
            let eid = db::insert(
                conn,
                &NewEvidence {
                    enterprise_id: s.enterprise_id,
                    submission_id: id,
                    sha256: &sha_w,
                    content_type: &content_type,
                    filename: &filename,
                    size_bytes: size,
                    created_by: user.id,
                },
                &criteria,
            )?;
            record(
                conn,
                user.id,
                &request_id,
                &s,
                "evidence.uploaded",
                serde_json::json!({
                    "evidence_id": eid, "sha256": sha_w, "size": size, "criteria": criteria,
                }),
            )?;
            let e = db::find(conn, eid)?.ok_or(AppError::NotFound)?;
            let view = EvidenceView::of(&e, criteria);
            let etag = etag_at(id, s.revision + 1);
            if let Some(k) = &keyed_w {
                let location = location(id, eid);
                idempotency::keep(conn, k, 201, &view, Some(&etag), Some(&location))?;
            }
            Ok(Outcome::Done((view, etag)))
        })
        .await;
    // A concurrent request with the same key kept its response first: answer with it.
    let result = idempotency::or_replay(state, result, keyed.as_ref()).await;
    if result.is_err() {
        // Leave nothing behind that no row refers to.
        let sha_c = sha.clone();
        let in_use = state
            .db
            .read(move |conn| db::sha_in_use(conn, &sha_c))
            .await
            .unwrap_or(true);
        if !in_use {
            state.evidence.remove(&sha).await;
        }
    }
    result
}

/// Where evidence `evidence_id` of submission `id` is read.
pub fn location(id: i64, evidence_id: i64) -> String {
    format!("/api/v1/submissions/{id}/evidence/{evidence_id}")
}

/// The evidence of a submission the caller may see.
pub async fn list(
    state: &AppState,
    user: AuthUser,
    id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Page<EvidenceView>> {
    let (rows, links) = state
        .db
        .read(move |conn| {
            load_visible(conn, &user, id)?;
            let rows = db::page_of_submission(conn, id, after, limit + 1)?;
            Ok((rows, db::links_of(conn, id)?))
        })
        .await?;
    let (rows, next_cursor) = paged(rows, limit, |e| e.id.to_string());
    Ok(Page {
        items: evidence_views(&rows, &links),
        next_cursor,
    })
}

/// One evidence file of a submission the caller may see, with its content.
pub async fn read(
    state: &AppState,
    user: AuthUser,
    id: i64,
    evidence_id: i64,
) -> AppResult<(Evidence, Vec<u8>)> {
    let e = state
        .db
        .read(move |conn| {
            load_visible(conn, &user, id)?;
            db::find(conn, evidence_id)?
                .filter(|e| e.submission_id == id)
                .ok_or(AppError::NotFound)
        })
        .await?;
    let bytes = state.evidence.read(&e.sha256).await.map_err(|err| {
        AppError::internal(format!("evidence {} missing from the store: {err}", e.id))
    })?;
    Ok((e, bytes))
}

/// Deletes evidence from an editable submission (submitted ones keep theirs: 409); its content
/// goes when no other row refers to it.
pub async fn remove(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    evidence_id: i64,
) -> AppResult<String> {
    user.require(roles::ENTERPRISE)?;
    let (sha, in_use, etag) = state
        .db
        .write(move |conn| {
            let s = load_visible(conn, &user, id)?;
            let e = db::find(conn, evidence_id)?
                .filter(|e| e.submission_id == id)
                .ok_or(AppError::NotFound)?;
            let s = load_editable(conn, &user, s.id)?;
            if !submissions_db::bump(conn, id, s.revision)? {
                return Err(AppError::PreconditionFailed);
            }
            db::delete(conn, evidence_id)?;
            record(
                conn,
                user.id,
                &request_id,
                &s,
                "evidence.deleted",
                serde_json::json!({ "evidence_id": evidence_id, "sha256": e.sha256 }),
            )?;
            let in_use = db::sha_in_use(conn, &e.sha256)?;
            Ok((e.sha256, in_use, etag_at(id, s.revision + 1)))
        })
        .await?;
    if !in_use {
        state.evidence.remove(&sha).await;
    }
    Ok(etag)
}
