//! Enterprise users' view (read-only; answering stays in the API): their self-assessments with
//! status and score, the reviewer's requests and decisions, their evidence files, the report
//! PDF and the certificate.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::chrome::{Lang, PageResult};
use super::session::Caller;
use super::{Chrome, html};
use crate::auth::roles;
use crate::domain::{ReviewDecision, SubmissionStatus};
use crate::error::AppError;
use crate::state::AppState;

fn status_label(l: Lang, s: SubmissionStatus) -> &'static str {
    match s {
        SubmissionStatus::Draft => l.t("草稿（通过 API 作答）", "Draft (answered through the API)"),
        SubmissionStatus::Submitted => l.t("已提交，等待评审", "Submitted, waiting for a reviewer"),
        SubmissionStatus::UnderReview => l.t("评审中", "Under review"),
        SubmissionStatus::Approved => l.t("已批准", "Approved"),
        SubmissionStatus::Returned => {
            l.t("已退回，请修改后重新提交", "Returned: change and resubmit")
        }
        SubmissionStatus::Rejected => l.t("未通过认证", "Rejected"),
        SubmissionStatus::Withdrawn => l.t("已撤回", "Withdrawn"),
    }
}

struct Row {
    id: i64,
    schema: String,
    status: &'static str,
    score: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "console/submissions.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    cursor: Option<String>,
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    q: web::Query<ListQuery>,
) -> PageResult {
    caller.user.require(roles::ENTERPRISE)?;
    let (after, limit) = crate::views::page_bounds(q.cursor.as_deref(), Some(50))?;
    let p = crate::submissions::list(&state, &caller.user, after, limit).await?;
    let c = Chrome::new(&req, &caller, "");
    let l = c.l;
    let rows = p
        .items
        .into_iter()
        .map(|s| Row {
            id: s.id,
            schema: format!("{} {}", s.schema_id, s.version),
            status: status_label(l, s.status),
            score: s.score_total.map(|t| format!("{t:.1}")).unwrap_or_default(),
            updated: s.created_at.format("%Y-%m-%d").to_string(),
        })
        .collect();
    let title = l.t("我们的自评", "Our self-assessments").to_owned();
    Ok(html(&ListPage {
        c: Chrome { title, ..c },
        rows,
        next: p.next_cursor,
    })?)
}

struct Request {
    criterion: String,
    request: String,
    answer: Option<String>,
    open: bool,
}

struct Decision {
    decision: &'static str,
    comment: String,
    at: String,
}

#[derive(Template)]
#[template(path = "console/submission.html")]
struct DetailPage {
    c: Chrome,
    id: i64,
    status: &'static str,
    score: String,
    missing: usize,
    requests: Vec<Request>,
    decisions: Vec<Decision>,
    files: Vec<(i64, String, String)>,
    certificate: Option<String>,
}

pub async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<i64>,
) -> PageResult {
    caller.user.require(roles::ENTERPRISE)?;
    let id = id.into_inner();
    let v = crate::reviews::view(&state, caller.user.clone(), id).await?;
    let s = &v.submission;
    let c = Chrome::new(&req, &caller, "");
    let l = c.l;
    let decisions = v
        .rounds
        .iter()
        .filter_map(|r| {
            let decision = match r.decision? {
                ReviewDecision::Returned => l.t("退回", "Returned"),
                ReviewDecision::Rejected => l.t("拒绝", "Rejected"),
                ReviewDecision::Approved => l.t("批准", "Approved"),
            };
            Some(Decision {
                decision,
                comment: r.comment.clone().unwrap_or_default(),
                at: r
                    .decided_at
                    .map(|t| t.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
            })
        })
        .collect();
    let page = DetailPage {
        id,
        status: status_label(l, s.status),
        score: format!("{:.1}", s.score.total),
        missing: s.missing.len(),
        // Every round's requests, newest first, with the answers given (they stay once the
        // reviewer decides the criterion).
        requests: v
            .rounds
            .iter()
            .rev()
            .flat_map(|r| r.verdicts.iter())
            .filter_map(|x| {
                Some(Request {
                    criterion: x.criterion_id.clone(),
                    request: x.request.clone()?,
                    answer: x.answer.clone(),
                    open: x.verdict == crate::domain::VerdictKind::RequestEvidence,
                })
            })
            .collect(),
        decisions,
        files: s
            .evidence
            .iter()
            .map(|e| {
                let size = format!("{:.0} KB", (e.size_bytes as f64 / 1024.0).ceil());
                (e.id, e.filename.clone(), size)
            })
            .collect(),
        certificate: s.certificate.as_ref().map(|c| c.number.clone()),
        c: Chrome {
            title: format!("{} #{id}", l.t("自评", "Self-assessment")),
            ..c
        },
    };
    Ok(html(&page)?)
}

/// The self-assessment report as PDF, in the console's language.
pub async fn report(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<i64>,
) -> PageResult {
    let id = id.into_inner();
    let lang = if Lang::of(&req).en {
        crate::reports::Lang::En
    } else {
        crate::reports::Lang::Zh
    };
    let bytes = crate::reports::report_pdf(&state, caller.user.clone(), id, lang)
        .await
        .map_err(|e| match e {
            AppError::Forbidden(_) => AppError::NotFound,
            other => other,
        })?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "Content-Disposition",
            crate::routes::evidence::disposition("inline", &format!("csr-report-{id}.pdf")),
        ))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}
