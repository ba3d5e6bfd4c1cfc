//! The reviewer's pages: the queue and their open rounds, and a review page that shows each
//! criterion with the enterprise's answer, comment, law references and evidence side by side,
//! takes a verdict per criterion without reloading the page (htmx), and returns, rejects or
//! approves the submission. Everything goes through [`crate::reviews`].

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::chrome::{Lang, PageResult};
use super::session::{Caller, Form};
use super::{Chrome, html, page, see_other};
use crate::db::enterprises;
use crate::domain::schema::{Kind, Resolved, cite_refs};
use crate::domain::{ReviewDecision, Role, SubmissionStatus, VerdictKind};
use crate::error::{AppError, FieldError};
use crate::extract::RequestId;
use crate::reviews::{self, QueueItem, QueueQuery, ReviewView, VerdictInput};
use crate::state::AppState;

fn require_reviewer(caller: &Caller) -> Result<(), AppError> {
    caller.user.require(crate::auth::roles::REVIEWER)
}

fn level_label(l: Lang, resolved: Option<&Resolved>, level: &str) -> String {
    if level == crate::domain::scoring::NOT_CERTIFIED {
        return l.t("未达到任何等级", "no level").to_owned();
    }
    if let Some(x) = resolved.and_then(|r| r.levels.iter().find(|x| x.id == level)) {
        return l.t(&x.label.zh, &x.label.en).to_owned();
    }
    // The levels every published version names.
    match level {
        "exemplary" => l.t("优秀", "Exemplary"),
        "good" => l.t("良好", "Good"),
        "compliant" => l.t("合格", "Compliant"),
        other => other,
    }
    .to_owned()
}

fn status_label(l: Lang, s: SubmissionStatus) -> &'static str {
    match s {
        SubmissionStatus::Draft => l.t("草稿", "Draft"),
        SubmissionStatus::Submitted => l.t("待评审", "Waiting for review"),
        SubmissionStatus::UnderReview => l.t("评审中", "Under review"),
        SubmissionStatus::Approved => l.t("已批准", "Approved"),
        SubmissionStatus::Returned => l.t("已退回", "Returned"),
        SubmissionStatus::Rejected => l.t("已拒绝", "Rejected"),
        SubmissionStatus::Withdrawn => l.t("已撤回", "Withdrawn"),
    }
}

struct QueueRow {
    id: i64,
    enterprise: String,
    region: String,
    industry: String,
    schema: String,
    submitted: String,
    score: String,
    level: String,
    awaiting_second: bool,
}

fn queue_row(l: Lang, item: QueueItem, awaiting_second: bool) -> QueueRow {
    QueueRow {
        id: item.submission_id,
        enterprise: item.enterprise_name,
        region: item.region_code,
        industry: item.industry_code,
        schema: format!("{} {}", item.schema_id, item.version),
        submitted: item
            .submitted_at
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        score: item
            .self_assessed_total
            .map(|t| format!("{t:.1}"))
            .unwrap_or_default(),
        level: item
            .self_assessed_level
            .map(|x| level_label(l, None, &x))
            .unwrap_or_default(),
        awaiting_second,
    }
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    c: Chrome,
    mine: Vec<QueueRow>,
    rows: Vec<QueueRow>,
    industry: String,
    level: String,
    min_age_days: String,
    errors: HashMap<String, String>,
    next: Option<String>,
}

#[derive(Deserialize)]
pub struct QueueFilters {
    industry: Option<String>,
    level: Option<String>,
    min_age_days: Option<String>,
    cursor: Option<String>,
}

/// The queue (submitted, in the reviewer's scope, oldest first) with the API's filters, and
/// the rounds that wait for this reviewer.
pub async fn queue(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    q: web::Query<QueueFilters>,
) -> PageResult {
    require_reviewer(&caller)?;
    let c = Chrome::new(&req, &caller, "");
    let l = c.l;
    let q = q.into_inner();
    let blank = |s: &Option<String>| s.clone().filter(|v| !v.trim().is_empty());
    let mut errors = HashMap::new();
    let min_age_days = match blank(&q.min_age_days).map(|v| v.trim().parse::<i64>()) {
        None => None,
        Some(Ok(d)) if d >= 0 => Some(d),
        Some(_) => {
            errors.insert(
                "min_age_days".to_owned(),
                l.t(
                    "请输入不小于 0 的整数天数",
                    "give a whole number of days, 0 or more",
                )
                .to_owned(),
            );
            None
        }
    };
    let query = QueueQuery {
        industry: blank(&q.industry).map(|v| v.trim().to_owned()),
        level: blank(&q.level),
        min_age_days,
        cursor: blank(&q.cursor),
        limit: Some(50),
    };
    let (rows, next) = match reviews::queue(&state, &caller.user, query).await {
        Ok(p) => {
            let next = p.next_cursor.map(|cursor| {
                serde_urlencoded::to_string([
                    ("industry", q.industry.clone().unwrap_or_default()),
                    ("level", q.level.clone().unwrap_or_default()),
                    ("min_age_days", q.min_age_days.clone().unwrap_or_default()),
                    ("cursor", cursor),
                ])
                .unwrap_or_default()
            });
            let rows = p.items.into_iter().map(|i| queue_row(l, i, false));
            (rows.collect(), next)
        }
        Err(AppError::Validation(fields)) => {
            for f in fields {
                errors.insert(f.field, f.message);
            }
            (Vec::new(), None)
        }
        Err(e) => return Err(e.into()),
    };
    let mine = reviews::in_progress(&state, &caller.user)
        .await?
        .into_iter()
        .map(|p| queue_row(l, p.item, p.awaiting_second_approval))
        .collect();
    let title = l.t("评审队列", "Review queue").to_owned();
    let status = super::status_for(errors.is_empty());
    Ok(page(
        status,
        &QueuePage {
            c: Chrome { title, ..c },
            mine,
            rows,
            industry: q.industry.unwrap_or_default(),
            level: q.level.unwrap_or_default(),
            min_age_days: q.min_age_days.unwrap_or_default(),
            errors,
            next,
        },
    )?)
}

/// Claims a submission and opens its review page.
pub async fn claim(
    state: web::Data<AppState>,
    caller: Caller,
    rid: RequestId,
    id: web::Path<i64>,
    _form: Form<super::auth_pages::Empty>,
) -> PageResult {
    require_reviewer(&caller)?;
    let id = id.into_inner();
    reviews::claim(&state, caller.user.clone(), rid.0, id).await?;
    Ok(see_other(&format!("/console/reviews/{id}")))
}

/// One evidence file as the review page links it.
struct FileRow {
    submission: i64,
    id: i64,
    name: String,
    image: bool,
    pdf: bool,
    size: String,
}

/// One criterion of the review page.
struct CriterionRow {
    id: String,
    anchor: String,
    theme: String,
    title: String,
    guidance: String,
    red_line: bool,
    statutory: bool,
    laws: String,
    answer: String,
    not_applicable: Option<String>,
    comment: Option<String>,
    files: Vec<FileRow>,
    /// Points as the enterprise assessed itself, and as reviewed, each of the maximum, with the
    /// rule that decided them.
    self_points: String,
    points: String,
    verdict: Option<VerdictKind>,
    verdict_text: String,
    request: Option<String>,
    answer_to_request: Option<String>,
    required: bool,
    editable: bool,
    /// What was typed into the verdict form when it was refused, and the errors by field.
    typed: VerdictForm,
    errors: HashMap<String, String>,
}

impl CriterionRow {
    /// The verdict the form shows chosen: the one typed into a refused form, else the current.
    fn selected(&self) -> &str {
        if !self.typed.verdict.is_empty() {
            return &self.typed.verdict;
        }
        match self.verdict {
            Some(VerdictKind::Accept) => "accept",
            Some(VerdictKind::Adjust) => "adjust",
            Some(VerdictKind::RequestEvidence) => "request_evidence",
            None => "",
        }
    }
}

/// The figures at the top of the review page (swapped in place after each verdict).
struct Summary {
    status: String,
    self_total: String,
    self_level: String,
    reviewed_total: String,
    reviewed_level: String,
    four_eyes: bool,
    verified: bool,
    /// (anchor, criterion id) of the criteria that still need a verdict.
    required: Vec<(String, String)>,
}

fn anchor(criterion: &str) -> String {
    format!("c-{}", criterion.replace('.', "-"))
}

#[derive(Template)]
#[template(path = "console/review.html")]
struct ReviewPage {
    c: Chrome,
    id: i64,
    enterprise_id: i64,
    summary: Summary,
    rows: Vec<CriterionRow>,
    claimant: bool,
    second_approver: bool,
    claimable: bool,
    certificate: Option<CertificateRow>,
    licence_files: Vec<(i64, String)>,
    decision_errors: HashMap<String, String>,
    comment: String,
}

#[derive(Template)]
#[template(path = "console/criterion_fragment.html")]
struct CriterionFragment {
    c: Chrome,
    id: i64,
    row: CriterionRow,
    summary: Summary,
}

/// The verdict form of one criterion, as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct VerdictForm {
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    comment: String,
}

fn answer_text(l: Lang, c: &crate::domain::schema::Criterion, value: &serde_json::Value) -> String {
    use serde_json::Value;
    let option = |id: &str| {
        c.options.iter().find(|o| o.id == id).map_or_else(
            || id.to_owned(),
            |o| l.t(&o.label.zh, &o.label.en).to_owned(),
        )
    };
    match (c.kind, value) {
        (Kind::YesNo, Value::Bool(true)) => l.t("是", "Yes").to_owned(),
        (Kind::YesNo, Value::Bool(false)) => l.t("否", "No").to_owned(),
        (Kind::Maturity, Value::Number(n)) => {
            let names = [
                l.t("没有", "none"),
                l.t("临时", "ad hoc"),
                l.t("已制定", "defined"),
                l.t("已实施", "implemented"),
                l.t("已衡量并改进", "measured and improved"),
            ];
            let i = n.as_u64().unwrap_or(0).min(4) as usize;
            format!("{i} / 4 · {}", names[i])
        }
        (Kind::SingleChoice, Value::String(id)) => option(id),
        (Kind::MultipleChoice, Value::Array(ids)) => ids
            .iter()
            .filter_map(|v| v.as_str())
            .map(option)
            .collect::<Vec<_>>()
            .join(l.t("；", "; ")),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}

fn verdict_text(l: Lang, v: &reviews::VerdictView) -> String {
    match v.verdict {
        VerdictKind::Accept => l.t("接受", "Accepted").to_owned(),
        VerdictKind::Adjust => format!(
            "{} {:.0}%{}",
            l.t("调整为", "Adjusted to"),
            v.points.unwrap_or(0.0) * 100.0,
            v.reason
                .as_deref()
                .map(|r| format!(" · {r}"))
                .unwrap_or_default()
        ),
        VerdictKind::RequestEvidence => l.t("要求补充证据", "Evidence requested").to_owned(),
    }
}

/// Everything the review page shows, from the review and the resolved schema.
struct Built {
    enterprise: String,
    summary: Summary,
    rows: Vec<CriterionRow>,
    claimant: bool,
    second_approver: bool,
    claimable: bool,
    certificate: Option<CertificateRow>,
    /// The enterprise's files, for the business-licence check while it is not done.
    licence_files: Vec<(i64, String)>,
}

/// The certificate issued on the submission, with what may be done to it today.
struct CertificateRow {
    number: String,
    status: &'static str,
    active: bool,
    suspended: bool,
}

async fn build(
    state: &AppState,
    caller: &Caller,
    l: Lang,
    v: &ReviewView,
) -> Result<Built, AppError> {
    let s = &v.submission;
    let resolved = crate::schemas::versions::resolved(
        state,
        &caller.user,
        s.schema_id.clone(),
        s.version.clone(),
        Some(&s.industry_code),
    )
    .await?;
    let eid = s.enterprise_id;
    let enterprise = state
        .db
        .read(move |conn| enterprises::find(conn, eid))
        .await?
        .map(|e| e.name)
        .unwrap_or_default();
    let open = v.rounds.last().filter(|r| r.decision.is_none());
    let claimant = open.is_some_and(|r| r.reviewer_id == caller.user.id);
    let second_approver = open.is_some_and(|r| {
        r.first_approver_id
            .is_some_and(|first| first != caller.user.id)
    });
    let verdicts: HashMap<&str, &reviews::VerdictView> = open
        .map(|r| {
            r.verdicts
                .iter()
                .map(|v| (v.criterion_id.as_str(), v))
                .collect()
        })
        .unwrap_or_default();
    let self_explained: HashMap<&str, &crate::domain::scoring::CriterionScore> = s
        .score
        .explanation
        .iter()
        .map(|e| (e.id.as_str(), e))
        .collect();
    let explained: HashMap<&str, &crate::domain::scoring::CriterionScore> = v
        .reviewed_score
        .explanation
        .iter()
        .map(|e| (e.id.as_str(), e))
        .collect();
    let requests: HashMap<&str, &crate::submissions::EvidenceRequestView> = s
        .evidence_requests
        .iter()
        .map(|r| (r.criterion_id.as_str(), r))
        .collect();
    let theme_titles: HashMap<&str, String> = resolved
        .themes
        .iter()
        .map(|t| (t.id.as_str(), l.t(&t.title.zh, &t.title.en).to_owned()))
        .collect();
    let rows = resolved
        .criteria
        .iter()
        .map(|rc| {
            let c = &rc.criterion;
            let answer = s.answers.get(&c.id);
            let verdict = verdicts.get(c.id.as_str());
            let request = requests.get(c.id.as_str());
            CriterionRow {
                id: c.id.clone(),
                anchor: anchor(&c.id),
                theme: theme_titles
                    .get(c.theme.as_str())
                    .cloned()
                    .unwrap_or_default(),
                title: l.t(&c.title.zh, &c.title.en).to_owned(),
                guidance: l.t(&c.guidance.zh, &c.guidance.en).to_owned(),
                red_line: c.red_line,
                statutory: c.statutory,
                laws: cite_refs(&c.law_refs, !l.en),
                answer: answer.map_or_else(
                    || l.t("未作答", "not answered").to_owned(),
                    |a| {
                        if a.not_applicable_reason.is_some() {
                            l.t("不适用", "not applicable").to_owned()
                        } else {
                            answer_text(l, c, &a.value)
                        }
                    },
                ),
                not_applicable: answer.and_then(|a| a.not_applicable_reason.clone()),
                comment: answer.and_then(|a| a.comment.clone()),
                files: s
                    .evidence
                    .iter()
                    .filter(|e| e.criteria.iter().any(|x| x == &c.id))
                    .map(|e| FileRow {
                        submission: s.id,
                        id: e.id,
                        name: e.filename.clone(),
                        image: e.content_type.starts_with("image/"),
                        pdf: e.content_type == "application/pdf",
                        size: format!("{:.0} KB", (e.size_bytes as f64 / 1024.0).ceil()),
                    })
                    .collect(),
                self_points: self_explained
                    .get(c.id.as_str())
                    .map(|e| format!("{:.2} / {:.2} ({})", e.points, e.max_points, e.detail))
                    .unwrap_or_default(),
                points: explained
                    .get(c.id.as_str())
                    .map(|e| format!("{:.2} / {:.2} ({})", e.points, e.max_points, e.detail))
                    .unwrap_or_default(),
                verdict: verdict.map(|v| v.verdict),
                verdict_text: verdict.map(|v| verdict_text(l, v)).unwrap_or_default(),
                request: request.map(|r| r.request.clone()),
                answer_to_request: request.and_then(|r| r.answer.clone()),
                required: v.verdicts_required.contains(&c.id),
                editable: claimant,
                typed: VerdictForm::default(),
                errors: HashMap::new(),
            }
        })
        .collect();
    let summary = Summary {
        status: status_label(l, s.status).to_owned(),
        self_total: format!("{:.1}", s.score.total),
        self_level: level_label(l, Some(&resolved), &s.score.level),
        reviewed_total: format!("{:.1}", v.reviewed_score.total),
        reviewed_level: level_label(l, Some(&resolved), &v.reviewed_score.level),
        four_eyes: v.four_eyes_required,
        verified: v.enterprise_verified,
        required: v
            .verdicts_required
            .iter()
            .map(|c| (anchor(c), c.clone()))
            .collect(),
    };
    Ok(Built {
        enterprise,
        summary,
        rows,
        claimant,
        second_approver,
        claimable: s.status == SubmissionStatus::Submitted,
        certificate: s.certificate.as_ref().map(|c| {
            use crate::domain::certificate::CertificateStatus as C;
            CertificateRow {
                number: c.number.clone(),
                status: match c.status {
                    C::Active => l.t("有效", "valid"),
                    C::Suspended => l.t("已暂停", "suspended"),
                    C::Revoked => l.t("已撤销", "revoked"),
                    C::Expired => l.t("已过期", "expired"),
                    C::Superseded => l.t("已被取代", "superseded"),
                },
                active: c.status == C::Active,
                suspended: c.status == C::Suspended,
            }
        }),
        licence_files: if v.enterprise_verified {
            Vec::new()
        } else {
            s.evidence
                .iter()
                .map(|e| (e.id, e.filename.clone()))
                .collect()
        },
    })
}

async fn review_page(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    id: i64,
    decision_errors: HashMap<String, String>,
    comment: String,
) -> PageResult {
    if !matches!(caller.user.role, Role::Reviewer | Role::Admin) {
        return Err(AppError::NotFound.into());
    }
    let v = reviews::view(state, caller.user.clone(), id).await?;
    let c = Chrome::new(req, caller, "");
    let b = build(state, caller, c.l, &v).await?;
    let title = format!("{} · {}", c.l.t("评审", "Review"), b.enterprise);
    let status = super::status_for(decision_errors.is_empty());
    Ok(page(
        status,
        &ReviewPage {
            c: Chrome { title, ..c },
            id,
            enterprise_id: v.submission.enterprise_id,
            summary: b.summary,
            rows: b.rows,
            claimant: b.claimant,
            second_approver: b.second_approver,
            claimable: b.claimable,
            certificate: b.certificate,
            licence_files: b.licence_files,
            decision_errors,
            comment,
        },
    )?)
}

pub async fn review(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<i64>,
) -> PageResult {
    review_page(
        &state,
        &req,
        &caller,
        id.into_inner(),
        HashMap::new(),
        String::new(),
    )
    .await
}

/// Records one criterion's verdict. Through htmx the criterion's section is answered (with the
/// summary swapped out of band); without script, the page again at the criterion. A refused
/// verdict shows its errors beside the fields, with what was typed.
pub async fn verdict(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    rid: RequestId,
    path: web::Path<(i64, String)>,
    form: Form<VerdictForm>,
) -> PageResult {
    require_reviewer(&caller)?;
    let (id, criterion) = path.into_inner();
    let typed = form.0;
    let l = Lang::of(&req);
    let mut errors: HashMap<String, String> = HashMap::new();
    let points = match typed.points.trim() {
        "" => None,
        p => match p.parse::<f64>() {
            Ok(x) => Some(x / 100.0),
            Err(_) => {
                errors.insert(
                    "points".into(),
                    l.t(
                        "请输入 0 到 100 之间的百分数",
                        "give a percentage from 0 to 100",
                    )
                    .into(),
                );
                None
            }
        },
    };
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    if errors.is_empty() {
        let input = VerdictInput {
            verdict: typed.verdict.clone(),
            points,
            reason: some(&typed.reason),
            comment: some(&typed.comment),
        };
        let result = reviews::set_verdicts(
            &state,
            caller.user.clone(),
            rid.0,
            id,
            vec![(criterion.clone(), input)],
            "",
        )
        .await;
        match result {
            Ok(_) => {}
            Err(AppError::Validation(fields)) => {
                for FieldError { field, message } in fields {
                    let field = match field.as_str() {
                        "points" | "reason" | "comment" => field,
                        _ => "verdict".to_owned(),
                    };
                    errors.insert(field, message);
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    let htmx = req.headers().contains_key("hx-request");
    if errors.is_empty() && !htmx {
        let anchor = anchor(&criterion);
        return Ok(see_other(&format!("/console/reviews/{id}#{anchor}")));
    }
    let v = reviews::view(&state, caller.user.clone(), id).await?;
    let c = Chrome::new(&req, &caller, "");
    let b = build(&state, &caller, c.l, &v).await?;
    let mut row = b
        .rows
        .into_iter()
        .find(|r| r.id == criterion)
        .ok_or(AppError::NotFound)?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        row.typed = typed;
        row.errors = errors;
        StatusCode::UNPROCESSABLE_ENTITY
    };
    if !htmx {
        let title = format!("{} · {}", c.l.t("评审", "Review"), b.enterprise);
        let rows = vec![row];
        return Ok(page(
            status,
            &ReviewPage {
                c: Chrome { title, ..c },
                id,
                enterprise_id: v.submission.enterprise_id,
                summary: b.summary,
                rows,
                claimant: b.claimant,
                second_approver: b.second_approver,
                claimable: b.claimable,
                certificate: b.certificate,
                licence_files: b.licence_files,
                decision_errors: HashMap::new(),
                comment: String::new(),
            },
        )?);
    }
    // htmx swaps only 2xx answers by default: a refused verdict comes back as 200 with its
    // errors in the fragment.
    Ok(html(&CriterionFragment {
        c,
        id,
        row,
        summary: b.summary,
    })?)
}

/// After an action of the review page: back to the page, or the page again with the action's
/// field errors (named `{prefix}{field}`) beside its form and the comment as typed.
async fn after_action<T>(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    id: i64,
    result: Result<T, AppError>,
    prefix: &str,
    comment: String,
) -> PageResult {
    match result {
        Ok(_) => Ok(see_other(&format!("/console/reviews/{id}"))),
        Err(AppError::Validation(fields)) => {
            let errors = fields
                .into_iter()
                .map(|f| (format!("{prefix}{}", f.field), f.message))
                .collect();
            review_page(state, req, caller, id, errors, comment).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct DecisionForm {
    decision: String,
    #[serde(default)]
    comment: String,
}

/// Returns the submission to the enterprise or rejects it, with the comment it reads.
pub async fn decide(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    rid: RequestId,
    id: web::Path<i64>,
    form: Form<DecisionForm>,
) -> PageResult {
    require_reviewer(&caller)?;
    let id = id.into_inner();
    let DecisionForm { decision, comment } = form.0;
    let decision = match decision.as_str() {
        "returned" => ReviewDecision::Returned,
        "rejected" => ReviewDecision::Rejected,
        _ => return Err(AppError::validation("decision", "return or reject").into()),
    };
    let result = reviews::decide(
        &state,
        caller.user.clone(),
        rid.0,
        id,
        decision,
        Some(comment.clone()).filter(|c| !c.trim().is_empty()),
    )
    .await;
    after_action(&state, &req, &caller, id, result, "", comment).await
}

#[derive(Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    comment: String,
}

/// Approves (the first of two approvals where the level needs four eyes); the certificate is
/// issued in the same transaction and shown on the page.
pub async fn approve(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    rid: RequestId,
    id: web::Path<i64>,
    form: Form<ApproveForm>,
) -> PageResult {
    require_reviewer(&caller)?;
    let id = id.into_inner();
    let comment = Some(form.0.comment.trim().to_owned()).filter(|c| !c.is_empty());
    let result = reviews::approve(&state, caller.user.clone(), rid.0, id, comment, None).await;
    after_action(&state, &req, &caller, id, result, "", String::new()).await
}

/// An evidence file for the reviewer's eyes: images and PDFs inline (shown by the browser, a
/// PDF in its own viewer), anything else as a download, always under its own name.
pub async fn evidence(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(i64, i64)>,
) -> PageResult {
    let (id, eid) = path.into_inner();
    let (e, bytes) = crate::evidence::read(&state, caller.user.clone(), id, eid).await?;
    let inline = matches!(
        e.content_type.as_str(),
        "image/png" | "image/jpeg" | "application/pdf"
    );
    let kind = if inline { "inline" } else { "attachment" };
    Ok(HttpResponse::Ok()
        .content_type(e.content_type.as_str())
        .insert_header((
            "Content-Disposition",
            crate::routes::evidence::disposition(kind, &e.filename),
        ))
        .insert_header(("Cache-Control", "private, no-store"))
        .body(bytes))
}

#[derive(Deserialize)]
pub struct CertificateForm {
    action: String,
    #[serde(default)]
    reason: String,
}

/// Suspends, reinstates or revokes the submission's certificate, with the reason (audited,
/// shown on the verification page's status).
pub async fn certificate(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    rid: RequestId,
    path: web::Path<(i64, String)>,
    form: Form<CertificateForm>,
) -> PageResult {
    use crate::domain::certificate::CertificateChange;
    caller.user.require(crate::auth::roles::ADMIN_OR_REVIEWER)?;
    let (id, number) = path.into_inner();
    let CertificateForm { action, reason } = form.0;
    let change = match action.as_str() {
        "suspend" => CertificateChange::Suspend,
        "reinstate" => CertificateChange::Reinstate,
        "revoke" => CertificateChange::Revoke,
        _ => return Err(AppError::validation("action", "suspend, reinstate or revoke").into()),
    };
    let result = crate::certification::change_status(
        &state,
        caller.user.clone(),
        rid.0,
        &number,
        reason.clone(),
        change,
    )
    .await;
    after_action(
        &state,
        &req,
        &caller,
        id,
        result,
        "certificate_",
        String::new(),
    )
    .await
}

#[derive(Deserialize)]
pub struct LicenceForm {
    #[serde(default)]
    evidence_id: String,
    #[serde(default)]
    note: String,
}

/// Records that the enterprise's business licence (one of its files) was checked against its
/// credit code, as approval requires.
pub async fn licence(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    rid: RequestId,
    path: web::Path<(i64, i64)>,
    form: Form<LicenceForm>,
) -> PageResult {
    caller.user.require(crate::auth::roles::ADMIN_OR_REVIEWER)?;
    let (id, enterprise) = path.into_inner();
    let LicenceForm { evidence_id, note } = form.0;
    let Ok(evidence_id) = evidence_id.parse::<i64>() else {
        let errors = HashMap::from([(
            "licence_evidence_id".to_owned(),
            Lang::of(&req)
                .t("请选择营业执照文件", "choose the business licence's file")
                .to_owned(),
        )]);
        return review_page(&state, &req, &caller, id, errors, String::new()).await;
    };
    let note = Some(note.trim().to_owned()).filter(|n| !n.is_empty());
    let result = crate::accounts::verify_enterprise(
        &state,
        caller.user.clone(),
        rid.0,
        enterprise,
        evidence_id,
        note,
    )
    .await;
    after_action(&state, &req, &caller, id, result, "licence_", String::new()).await
}
