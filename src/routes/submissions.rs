//! Self-assessment submissions: create (idempotent), answer, submit, withdraw, upgrade.
//! Writes to a draft carry `If-Match` with its ETag, so two editors never overwrite each other.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{AuthUser, roles};
use crate::db::submissions::{self as db, NewSubmission};
use crate::db::{enterprises, now, schema_versions};
use crate::domain::Role;
use crate::domain::canonical::{canonical_json, sha256_hex};
use crate::domain::schema::{SchemaDoc, Status};
use crate::error::{AppError, AppResult, FieldError, Problem};
use crate::extract::{DeferredJson, Json, Page, RequestId};
use crate::startup::AppState;
use crate::submissions::{
    self as svc, AnswerInput, SubmissionView, UpgradePlan, check_answer, etag, load, load_editable,
    load_visible, record, state,
};
use crate::views::{self, utc};

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubmission {
    #[schema(example = "cca-good-enterprise")]
    pub schema_id: String,
    #[schema(example = "2024")]
    pub version: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkAnswers {
    /// Answers by criterion id.
    pub answers: BTreeMap<String, AnswerInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnswersSaved {
    pub criteria: Vec<String>,
    /// The submission's new revision (its ETag is `"<id>-<revision>"`).
    pub revision: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionSummary {
    pub id: i64,
    pub status: String,
    pub schema_id: String,
    pub version: String,
    pub revision: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub submitted_at: Option<chrono::DateTime<chrono::Utc>>,
    pub score_total: Option<f64>,
    pub score_level: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Upgraded {
    pub plan: UpgradePlan,
    pub submission: SubmissionView,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UpgradeQuery {
    /// The version to move to, e.g. `2024` (required; checked once the submission is found,
    /// so a request about another enterprise's submission is a plain 404).
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub criterion_id: String,
    /// `answered`, `cleared`, `must_reanswer_on_upgrade` or `dropped_on_upgrade`.
    pub change: String,
    pub value: Option<serde_json::Value>,
    pub not_applicable_reason: Option<String>,
    pub comment: Option<String>,
    pub schema_version: String,
    pub changed_by: i64,
    pub changed_at: chrono::DateTime<chrono::Utc>,
}

fn with_etag(mut res: HttpResponse, tag: String) -> HttpResponse {
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&tag) {
        res.headers_mut().insert(actix_web::http::header::ETAG, v);
    }
    res
}

fn require_enterprise_user(user: &AuthUser) -> AppResult<i64> {
    match (user.role, user.enterprise_id) {
        (Role::EnterpriseAdmin | Role::EnterpriseMember, Some(e)) => Ok(e),
        _ => Err(AppError::Forbidden(
            "only enterprise users create submissions".into(),
        )),
    }
}

fn idempotency_key(req: &HttpRequest) -> AppResult<Option<String>> {
    match req.headers().get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let key = v.to_str().unwrap_or_default().trim().to_owned();
            if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(AppError::validation(
                    "Idempotency-Key",
                    "must be 1 to 255 printable ASCII characters",
                ));
            }
            Ok(Some(key))
        }
    }
}

enum Created {
    New(Box<SubmissionView>),
    Replay(String),
}

/// Start a self-assessment on a published schema version; the enterprise's industry profile is
/// applied and the version's content hash recorded. With `Idempotency-Key`, a repeated request
/// returns the first response and creates nothing.
#[utoipa::path(
    tag = "submissions",
    request_body = CreateSubmission,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe")),
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 201, body = SubmissionView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/submissions")]
pub async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    req: HttpRequest,
    body: Json<CreateSubmission>,
) -> AppResult<HttpResponse> {
    user.require(roles::ENTERPRISE)?;
    let enterprise_id = require_enterprise_user(&user)?;
    let key = idempotency_key(&req)?;
    let body = body.0;
    let request_hash = {
        let value = serde_json::to_value(&body).map_err(AppError::internal)?;
        sha256_hex(canonical_json(&value).as_bytes())
    };
    let attempt = {
        let (st, key, hash) = (state.clone(), key.clone(), request_hash.clone());
        let user = user.clone();
        state
            .db
            .write(move |conn| {
                if let Some(key) = &key
                    && let Some(found) = replay(conn, enterprise_id, key, &hash)?
                {
                    return Ok(Created::Replay(found));
                }
                let enterprise = enterprises::find(conn, enterprise_id)?.ok_or(AppError::NotFound)?;
                let row = schema_versions::find(conn, &body.schema_id, &body.version)?
                    .filter(|r| r.status() != Status::Draft)
                    .ok_or_else(|| {
                        AppError::validation("version", format!("{} {} is not a published version", body.schema_id, body.version))
                    })?;
                if row.status() == Status::Retired {
                    return Err(AppError::validation("version", "this version is retired; start on a current one"));
                }
                let schema = st.schemas.get(
                    conn,
                    &row.schema_id,
                    &row.version,
                    Some(&row.content_hash),
                    &enterprise.industry_code,
                )?;
                let at = now();
                let id = db::insert(
                    conn,
                    &NewSubmission {
                        enterprise_id,
                        schema_id: &row.schema_id,
                        version: &row.version,
                        schema_hash: &row.content_hash,
                        industry_code: &enterprise.industry_code,
                        profile_id: schema.resolved.profile.as_ref().map(|p| p.id.as_str()),
                        status: state::DRAFT,
                        revision: 1,
                        created_by: user.id,
                        created_at: at,
                        updated_at: at,
                    },
                )?;
                let s = db::find(conn, id)?.ok_or(AppError::NotFound)?;
                record(conn, user.id, &rid.0, &s, "submission.created", serde_json::json!({
                    "schema_id": s.schema_id, "version": s.version, "schema_hash": s.schema_hash,
                }))?;
                let view = load(conn, &st.schemas, s)?.view();
                if let Some(key) = &key {
                    let text = serde_json::to_string(&view).map_err(AppError::internal)?;
                    db::remember(conn, enterprise_id, key, &hash, id, &text)?;
                }
                Ok(Created::New(Box::new(view)))
            })
            .await
    };
    let created = match (attempt, &key) {
        // A concurrent request with the same key won the race: answer with its response.
        (Err(AppError::Conflict(..)), Some(key)) => {
            let (key, hash) = (key.clone(), request_hash.clone());
            state
                .db
                .read(move |conn| replay(conn, enterprise_id, &key, &hash))
                .await?
                .map(Created::Replay)
                .ok_or_else(|| AppError::Unavailable("concurrent idempotent request".into()))?
        }
        (other, _) => other?,
    };
    let (text, id, revision) = match created {
        Created::New(view) => (
            serde_json::to_string(&view).map_err(AppError::internal)?,
            view.id,
            view.revision,
        ),
        Created::Replay(text) => {
            let v: serde_json::Value = serde_json::from_str(&text).map_err(AppError::internal)?;
            let id = v["id"].as_i64().unwrap_or_default();
            let revision = v["revision"].as_i64().unwrap_or_default();
            (text, id, revision)
        }
    };
    let res = HttpResponse::Created()
        .content_type("application/json")
        .insert_header(("Location", format!("/api/v1/submissions/{id}")))
        .body(text);
    Ok(with_etag(res, format!("\"{id}-{revision}\"")))
}

/// The stored response of an earlier request with this key; 422 if its body differed.
fn replay(
    conn: &mut crate::db::AnyConnection,
    enterprise_id: i64,
    key: &str,
    hash: &str,
) -> AppResult<Option<String>> {
    match db::idempotent(conn, enterprise_id, key)? {
        None => Ok(None),
        Some((stored, _, response)) if stored == hash => Ok(Some(response)),
        Some(_) => Err(AppError::Unprocessable(
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request body.".into(),
            vec![FieldError::new(
                "Idempotency-Key",
                "already used for a different request",
            )],
        )),
    }
}

/// The caller's enterprise's submissions, oldest first.
#[utoipa::path(
    tag = "submissions",
    params(Page),
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = views::Page<SubmissionSummary>))
)]
#[get("/submissions")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    page: web::Query<Page>,
) -> AppResult<web::Json<views::Page<SubmissionSummary>>> {
    user.require(roles::ENTERPRISE)?;
    let (after, limit) = page.bounds()?;
    let Some(enterprise_id) = user.enterprise_id.filter(|e| user.belongs_to(*e)) else {
        return Ok(web::Json(views::Page {
            items: Vec::new(),
            next_cursor: None,
        }));
    };
    let rows = state
        .db
        .read(move |conn| db::list_for_enterprise(conn, enterprise_id, after, limit))
        .await?;
    let next_cursor = views::next_cursor(&rows, limit, |r| r.id);
    Ok(web::Json(views::Page {
        items: rows
            .into_iter()
            .map(|s| SubmissionSummary {
                id: s.id,
                status: s.status,
                schema_id: s.schema_id,
                version: s.version,
                revision: s.revision,
                created_at: utc(s.created_at),
                submitted_at: s.submitted_at.map(utc),
                score_total: s.score_total,
                score_level: s.score_level,
            })
            .collect(),
        next_cursor,
    }))
}

/// A submission with its answers, completeness and a live score with its explanation.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = SubmissionView, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/submissions/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let st = state.clone();
    let view = state
        .db
        .read(move |conn| svc::visible_view(conn, &st.schemas, &user, id))
        .await?;
    let tag = view.etag();
    Ok(with_etag(HttpResponse::Ok().json(view), tag))
}

async fn save(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    req: HttpRequest,
    id: i64,
    items: impl FnOnce() -> AppResult<Vec<(String, AnswerInput)>> + Send + 'static,
) -> AppResult<HttpResponse> {
    let if_match = req
        .headers()
        .get(actix_web::http::header::IF_MATCH)
        .cloned();
    let st = state.clone();
    let saved = state
        .db
        .write(move |conn| {
            let s = load_editable(conn, &user, id)?;
            // The body is read only once the caller is known to see the submission.
            let items = items()?;
            svc::check_precondition(if_match.as_ref(), &s)?;
            let schema = st.schemas.of(conn, &s)?;
            let errors: Vec<FieldError> = items
                .iter()
                .filter_map(|(c, a)| check_answer(&schema, c, a).err())
                .collect();
            if !errors.is_empty() {
                return Err(AppError::Validation(errors));
            }
            svc::write_answers(conn, &s, &user, &rid.0, &items)
        })
        .await?;
    let body = AnswersSaved {
        criteria: Vec::new(),
        revision: saved.revision,
    };
    Ok(with_etag(HttpResponse::Ok().json(body), etag(&saved)))
}

/// Answer one criterion (a form's autosave). Requires `If-Match`.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path), ("criterion" = String, Path), ("If-Match" = String, Header)),
    request_body = AnswerInput,
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = AnswersSaved, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/submissions/{id}/answers/{criterion}")]
pub async fn put_answer(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    req: HttpRequest,
    path: web::Path<(i64, String)>,
    body: DeferredJson,
) -> AppResult<HttpResponse> {
    user.require(roles::ENTERPRISE)?;
    let (id, criterion) = path.into_inner();
    save(state, user, rid, req, id, move || {
        Ok(vec![(criterion, body.parse()?)])
    })
    .await
}

/// Answer many criteria at once: `{answers: {criterion_id: answer, ...}}`. All or nothing.
/// Requires `If-Match`.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path), ("If-Match" = String, Header)),
    request_body = BulkAnswers,
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = AnswersSaved, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/submissions/{id}/answers")]
pub async fn patch_answers(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    req: HttpRequest,
    id: web::Path<i64>,
    body: DeferredJson,
) -> AppResult<HttpResponse> {
    user.require(roles::ENTERPRISE)?;
    save(state, user, rid, req, id.into_inner(), move || {
        let bulk: BulkAnswers = body.parse()?;
        if bulk.answers.is_empty() {
            return Err(AppError::validation("answers", "give at least one answer"));
        }
        Ok(bulk.answers.into_iter().collect())
    })
    .await
}

/// Clear one answer; it stays in the history. Requires `If-Match`.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path), ("criterion" = String, Path), ("If-Match" = String, Header)),
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 204, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/submissions/{id}/answers/{criterion}")]
pub async fn delete_answer(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    req: HttpRequest,
    path: web::Path<(i64, String)>,
) -> AppResult<HttpResponse> {
    user.require(roles::ENTERPRISE)?;
    let (id, criterion) = path.into_inner();
    let if_match = req
        .headers()
        .get(actix_web::http::header::IF_MATCH)
        .cloned();
    let saved = state
        .db
        .write(move |conn| {
            let s = load_editable(conn, &user, id)?;
            svc::check_precondition(if_match.as_ref(), &s)?;
            let row = db::answer_of(conn, id, &criterion)?.ok_or(AppError::NotFound)?;
            if !db::bump(conn, id, s.revision)? {
                return Err(AppError::PreconditionFailed);
            }
            db::remove_answer(conn, &row, "cleared", &s.version, user.id)?;
            record(
                conn,
                user.id,
                &rid.0,
                &s,
                "submission.answer_cleared",
                serde_json::json!({ "criterion": criterion }),
            )?;
            db::find(conn, id)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(with_etag(HttpResponse::NoContent().finish(), etag(&saved)))
}

async fn transition(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    req: HttpRequest,
    id: i64,
    action: &'static str,
) -> AppResult<HttpResponse> {
    let if_match = req
        .headers()
        .get(actix_web::http::header::IF_MATCH)
        .cloned();
    let st = state.clone();
    let view = state
        .db
        .write(move |conn| {
            let s = load_visible(conn, &user, id)?;
            if !user.belongs_to(s.enterprise_id) || user.role != Role::EnterpriseAdmin {
                return Err(AppError::Forbidden(format!(
                    "only the enterprise's administrator can {action}"
                )));
            }
            svc::check_precondition(if_match.as_ref(), &s)?;
            let allowed = match action {
                "submit" => state::editable(&s.status),
                _ => s.status == state::SUBMITTED || s.status == state::RETURNED,
            };
            if !allowed {
                let done = if action == "submit" {
                    "submitted"
                } else {
                    "withdrawn"
                };
                return Err(AppError::Conflict(
                    "invalid_transition",
                    format!("a {} submission cannot be {done}", s.status),
                ));
            }
            if !db::bump(conn, id, s.revision)? {
                return Err(AppError::PreconditionFailed);
            }
            if action == "submit" {
                let loaded = load(conn, &st.schemas, s.clone())?;
                let (missing, lacking) = loaded.completeness();
                if !missing.is_empty() || !lacking.is_empty() {
                    let errors = missing
                        .iter()
                        .map(|c| FieldError::new(c.as_str(), "not answered"))
                        .chain(
                            lacking
                                .iter()
                                .map(|c| FieldError::new(c.as_str(), "evidence required")),
                        )
                        .collect();
                    return Err(AppError::Unprocessable(
                        "submission_incomplete",
                        format!(
                            "{} criteria unanswered and {} lacking evidence",
                            missing.len(),
                            lacking.len()
                        ),
                        errors,
                    ));
                }
                let score = loaded.score();
                db::mark_submitted(conn, id, &score)?;
                record(
                    conn,
                    user.id,
                    &rid.0,
                    &s,
                    "submission.submitted",
                    serde_json::json!({
                        "from": s.status, "total": score.total, "level": score.level,
                    }),
                )?;
            } else {
                db::set_status(conn, id, state::WITHDRAWN)?;
                record(
                    conn,
                    user.id,
                    &rid.0,
                    &s,
                    "submission.withdrawn",
                    serde_json::json!({ "from": s.status }),
                )?;
            }
            let s = db::find(conn, id)?.ok_or(AppError::NotFound)?;
            Ok(load(conn, &st.schemas, s)?.view())
        })
        .await?;
    let tag = view.etag();
    Ok(with_etag(HttpResponse::Ok().json(view), tag))
}

/// Submit for review (the enterprise's administrator). Refused with 422 listing unanswered
/// criteria and criteria lacking required evidence. Requires `If-Match`.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path), ("If-Match" = String, Header)),
    security(("bearer" = ["enterprise_admin"])),
    responses(
        (status = 200, body = SubmissionView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/submissions/{id}/submit")]
pub async fn submit(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    req: HttpRequest,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    user.require(roles::ENTERPRISE_ADMIN)?;
    transition(state, user, rid, req, id.into_inner(), "submit").await
}

/// Withdraw a submitted or returned submission (the enterprise's administrator). Requires
/// `If-Match`.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path), ("If-Match" = String, Header)),
    security(("bearer" = ["enterprise_admin"])),
    responses(
        (status = 200, body = SubmissionView, headers(("ETag" = String))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/submissions/{id}/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    req: HttpRequest,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    user.require(roles::ENTERPRISE_ADMIN)?;
    transition(state, user, rid, req, id.into_inner(), "withdraw").await
}

/// Move a draft to a newer version of its schema. Answers are carried over where the criterion
/// is unchanged (following renames); answers to changed or dropped criteria move to the
/// history, never lost. Returns the plan. Requires `If-Match`.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path), UpgradeQuery, ("If-Match" = String, Header)),
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = Upgraded, headers(("ETag" = String))),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 412, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 428, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/submissions/{id}/upgrade")]
pub async fn upgrade(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    req: HttpRequest,
    id: web::Path<i64>,
    query: web::Query<UpgradeQuery>,
) -> AppResult<HttpResponse> {
    user.require(roles::ENTERPRISE)?;
    let id = id.into_inner();
    let to = query.into_inner().to;
    let if_match = req
        .headers()
        .get(actix_web::http::header::IF_MATCH)
        .cloned();
    let st = state.clone();
    let (plan, view) = state
        .db
        .write(move |conn| {
            let s = load_editable(conn, &user, id)?;
            let to = to.ok_or_else(|| AppError::validation("to", "name the version to move to"))?;
            svc::check_precondition(if_match.as_ref(), &s)?;
            if s.status != state::DRAFT {
                return Err(AppError::Conflict(
                    "invalid_transition",
                    "only drafts can be upgraded".into(),
                ));
            }
            let docs: Vec<SchemaDoc> = schema_versions::all(conn)?
                .into_iter()
                .filter(|r| r.schema_id == s.schema_id && r.status() != Status::Draft)
                .map(|r| r.doc())
                .collect::<AppResult<_>>()?;
            let target = docs.iter().find(|d| d.version == to).ok_or_else(|| {
                AppError::validation(
                    "to",
                    format!("{to} is not a published version of {}", s.schema_id),
                )
            })?;
            if target.status == Status::Retired {
                return Err(AppError::validation("to", "that version is retired"));
            }
            let chain = svc::version_chain(&docs, &s.version, &to)
                .filter(|c| c.len() >= 2)
                .ok_or_else(|| {
                    AppError::validation("to", format!("{to} does not succeed {}", s.version))
                })?;
            let old = st.schemas.of(conn, &s)?;
            let target_row =
                schema_versions::find(conn, &s.schema_id, &to)?.ok_or(AppError::NotFound)?;
            let new = st.schemas.get(
                conn,
                &s.schema_id,
                &to,
                Some(&target_row.content_hash),
                &s.industry_code,
            )?;
            let rows = db::answers_of(conn, id)?;
            let answered: Vec<String> = rows.iter().map(|r| r.criterion_id.clone()).collect();
            let plan = svc::plan_upgrade(&chain, &old, &new, &answered);
            if !db::bump(conn, id, s.revision)? {
                return Err(AppError::PreconditionFailed);
            }
            for row in &rows {
                if let Some(c) = plan
                    .carried_over
                    .iter()
                    .find(|c| c.from == row.criterion_id)
                {
                    if c.to != c.from {
                        db::rename_answer(conn, row.id, &c.to)?;
                    }
                } else if plan.dropped.contains(&row.criterion_id) {
                    db::remove_answer(conn, row, "dropped_on_upgrade", &s.version, user.id)?;
                } else {
                    db::remove_answer(conn, row, "must_reanswer_on_upgrade", &s.version, user.id)?;
                }
            }
            db::move_to_version(
                conn,
                id,
                &to,
                &target_row.content_hash,
                new.resolved.profile.as_ref().map(|p| p.id.as_str()),
            )?;
            record(
                conn,
                user.id,
                &rid.0,
                &s,
                "submission.upgraded",
                serde_json::to_value(&plan).map_err(AppError::internal)?,
            )?;
            let s = db::find(conn, id)?.ok_or(AppError::NotFound)?;
            Ok((plan, load(conn, &st.schemas, s)?.view()))
        })
        .await?;
    let tag = view.etag();
    Ok(with_etag(
        HttpResponse::Ok().json(Upgraded {
            plan,
            submission: view,
        }),
        tag,
    ))
}

/// Every answer ever written to a submission, including those cleared or left behind by an
/// upgrade.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "reviewer", "enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = Vec<HistoryEntry>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/submissions/{id}/history")]
pub async fn history(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<Vec<HistoryEntry>>> {
    let id = id.into_inner();
    let rows = state
        .db
        .read(move |conn| {
            load_visible(conn, &user, id)?;
            db::history_of(conn, id)
        })
        .await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|h| HistoryEntry {
                criterion_id: h.criterion_id,
                change: h.change,
                value: h.value.and_then(|v| serde_json::from_str(&v).ok()),
                not_applicable_reason: h.not_applicable_reason,
                comment: h.comment,
                schema_version: h.schema_version,
                changed_by: h.changed_by,
                changed_at: utc(h.changed_at),
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestAnswerInput {
    /// What the files uploaded for the criterion show, or why there are none.
    pub answer: String,
}

/// Answer the reviewer's request for evidence on one criterion, while the submission is under
/// review or returned: upload the files first (`POST …/evidence` takes them for the requested
/// criteria under review), then say what they show. The reviewer then decides the criterion.
#[utoipa::path(
    tag = "submissions",
    params(("id" = i64, Path), ("criterion" = String, Path)),
    request_body = RequestAnswerInput,
    security(("bearer" = ["enterprise_admin", "enterprise_member"])),
    responses(
        (status = 200, body = SubmissionView),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/submissions/{id}/evidence-requests/{criterion}/answer")]
pub async fn answer_evidence_request(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    path: web::Path<(i64, String)>,
    body: DeferredJson,
) -> AppResult<web::Json<SubmissionView>> {
    use crate::domain::answers::MAX_TEXT_CHARS;
    user.require(roles::ENTERPRISE)?;
    let (id, criterion) = path.into_inner();
    let st = state.clone();
    let view = state
        .db
        .write(move |conn| {
            db::lock(conn, id)?;
            let s = load_visible(conn, &user, id)?;
            if !user.belongs_to(s.enterprise_id) {
                return Err(AppError::Forbidden(
                    "only the enterprise's users answer its evidence requests".into(),
                ));
            }
            // The body is read only once the caller is known to see the submission.
            let input: RequestAnswerInput = body.parse()?;
            let answer = input.answer.trim();
            if answer.is_empty() || answer.chars().count() > MAX_TEXT_CHARS {
                return Err(AppError::validation(
                    "answer",
                    format!("say what the evidence shows, in 1 to {MAX_TEXT_CHARS} characters"),
                ));
            }
            if s.status != state::UNDER_REVIEW && s.status != state::RETURNED {
                return Err(AppError::Conflict(
                    "not_under_review",
                    format!(
                        "a {} submission has no evidence requests to answer",
                        s.status
                    ),
                ));
            }
            let round = crate::db::reviews::latest(conn, id)?.ok_or(AppError::NotFound)?;
            if !crate::db::reviews::answer_request(conn, round.id, &criterion, user.id, answer)? {
                return Err(AppError::NotFound);
            }
            let view = svc::visible_view(conn, &st.schemas, &user, id)?;
            // The answer as given, and the files it points to, are kept in the audit log.
            let files = view
                .evidence_requests
                .iter()
                .find(|r| r.criterion_id == criterion)
                .map(|r| r.evidence_ids.clone())
                .unwrap_or_default();
            record(
                conn,
                user.id,
                &rid.0,
                &s,
                "review.evidence_answered",
                serde_json::json!({
                    "criterion": criterion, "review_id": round.id, "answer": answer,
                    "evidence_ids": files,
                }),
            )?;
            Ok(view)
        })
        .await?;
    Ok(web::Json(view))
}
