//! The administrator's pages: staff accounts (create, disable, enable), schema versions (list,
//! side-by-side diff, publish, retire) and the audit log (recent entries, the published chain
//! head, a full verification). Through the same functions as the API.

use std::collections::HashMap;

use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::chrome::PageResult;
use super::session::{Caller, Form};
use super::{Chrome, html, page, see_other};
use crate::accounts::{self, Actor};
use crate::auth::roles;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::extract::RequestId;
use crate::schemas::versions as svc;
use crate::state::AppState;

fn require_admin(caller: &Caller) -> AppResult<()> {
    caller.user.require(roles::ADMIN)
}

// ---------------------------------------------------------------------------------------------
// Users

/// The account form as typed (never the password).
#[derive(Debug, Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    region_scope: String,
    #[serde(default)]
    industry_scopes: String,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    c: Chrome,
    users: Vec<crate::views::UserView>,
    next: Option<String>,
    typed: NewUserForm,
    errors: HashMap<String, String>,
    created: Option<String>,
}

#[derive(Deserialize)]
pub struct UsersQuery {
    cursor: Option<String>,
    /// The account just created, named above the form.
    created: Option<i64>,
}

async fn users_page(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    cursor: Option<&str>,
    typed: NewUserForm,
    errors: HashMap<String, String>,
    created: Option<String>,
) -> PageResult {
    require_admin(caller)?;
    let (after, limit) = crate::views::page_bounds(cursor, Some(50))?;
    let page_of = accounts::list_users(state, &caller.user, None, after, limit).await?;
    let c = Chrome::new(req, caller, "");
    let title = c.l.t("用户", "Users").to_owned();
    let status = super::status_for(errors.is_empty());
    Ok(page(
        status,
        &UsersPage {
            c: Chrome { title, ..c },
            users: page_of.items,
            next: page_of.next_cursor,
            typed,
            errors,
            created,
        },
    )?)
}

pub async fn users(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    q: web::Query<UsersQuery>,
) -> PageResult {
    require_admin(&caller)?;
    let q = q.into_inner();
    let created = match q.created {
        Some(id) => accounts::find_user(&state, &caller.user, id)
            .await
            .ok()
            .map(|u| u.email),
        None => None,
    };
    let typed = NewUserForm::default();
    let cursor = q.cursor.as_deref();
    users_page(
        &state,
        &req,
        &caller,
        cursor,
        typed,
        HashMap::new(),
        created,
    )
    .await
}

/// Creates a reviewer, industry-body, complaint-officer, complaint-platform or administrator
/// account; errors beside their fields.
pub async fn create_user(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    rid: RequestId,
    form: Form<NewUserForm>,
) -> PageResult {
    require_admin(&caller)?;
    let mut typed = form.0;
    let role = match typed.role.as_str() {
        "reviewer" => Role::Reviewer,
        "industry_body" => Role::IndustryBody,
        "complaint_officer" => Role::ComplaintOfficer,
        "complaint_platform" => Role::ComplaintPlatform,
        "admin" => Role::Admin,
        _ => {
            let errors = HashMap::from([("role".to_owned(), "choose a role".to_owned())]);
            typed.password.clear();
            return users_page(&state, &req, &caller, None, typed, errors, None).await;
        }
    };
    let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let scopes: Vec<String> = typed
        .industry_scopes
        .split([',', '，', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let account = accounts::staff_account(
        &typed.email,
        &typed.password,
        role,
        some(&typed.region_scope).as_deref(),
        &scopes,
        some(&typed.display_name),
    );
    let result = match account {
        Ok(account) => {
            accounts::create_user(&state, account, Actor::user(&caller.user, &rid.0)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(u) => Ok(see_other(&format!("/console/admin/users?created={}", u.id))),
        Err(AppError::Validation(fields)) => {
            typed.password.clear();
            let errors = fields.into_iter().map(|e| (e.field, e.message)).collect();
            users_page(&state, &req, &caller, None, typed, errors, None).await
        }
        Err(AppError::Conflict { detail, .. }) => {
            typed.password.clear();
            let errors = HashMap::from([("email".to_owned(), detail)]);
            users_page(&state, &req, &caller, None, typed, errors, None).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    reason: String,
}

/// Disables or enables an account, with the reason in the audit log.
pub async fn set_disabled(
    state: web::Data<AppState>,
    caller: Caller,
    rid: RequestId,
    path: web::Path<(i64, String)>,
    form: Form<ReasonForm>,
) -> PageResult {
    require_admin(&caller)?;
    let (id, action) = path.into_inner();
    let disabled = match action.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return Err(AppError::NotFound.into()),
    };
    let reason = form.0.reason.trim().to_owned();
    let actor = Actor::user(&caller.user, &rid.0);
    accounts::set_disabled(&state, id, disabled, reason, actor).await?;
    Ok(see_other("/console/admin/users"))
}

// ---------------------------------------------------------------------------------------------
// Schema versions

struct VersionRow {
    schema: String,
    version: String,
    status: &'static str,
    draft: bool,
    published: bool,
    effective: String,
    predecessor: Option<String>,
    hash: String,
}

#[derive(Template)]
#[template(path = "console/schemas.html")]
struct SchemasPage {
    c: Chrome,
    rows: Vec<VersionRow>,
    error: Option<String>,
}

async fn schemas_page(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    error: Option<String>,
) -> PageResult {
    require_admin(caller)?;
    let c = Chrome::new(req, caller, "");
    let l = c.l;
    let mut rows = Vec::new();
    for schema in svc::list(state, &caller.user).await? {
        for v in svc::versions(state, &caller.user, &schema.id).await? {
            use crate::domain::schema::Status;
            rows.push(VersionRow {
                schema: v.schema_id,
                version: v.version,
                status: match v.status {
                    Status::Draft => l.t("草稿", "draft"),
                    Status::Published => l.t("已发布", "published"),
                    Status::Retired => l.t("已停用", "retired"),
                },
                draft: v.status == Status::Draft,
                published: v.status == Status::Published,
                effective: v.effective_date,
                predecessor: v.predecessor,
                hash: v.content_hash.chars().take(12).collect(),
            });
        }
    }
    let title = l.t("评价细则版本", "Schema versions").to_owned();
    let status = super::status_for(error.is_none());
    Ok(page(
        status,
        &SchemasPage {
            c: Chrome { title, ..c },
            rows,
            error,
        },
    )?)
}

pub async fn schemas(state: web::Data<AppState>, req: HttpRequest, caller: Caller) -> PageResult {
    schemas_page(&state, &req, &caller, None).await
}

#[derive(Deserialize)]
pub struct Empty {}

/// Publishes a draft or retires a published version; a refusal (a document that does not
/// check) is shown above the list.
pub async fn transition(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    rid: RequestId,
    path: web::Path<(String, String, String)>,
    _form: Form<Empty>,
) -> PageResult {
    require_admin(&caller)?;
    let (id, version, action) = path.into_inner();
    let result = match action.as_str() {
        "publish" => svc::publish(&state, &caller.user, rid.0, id, version).await,
        "retire" => svc::retire(&state, &caller.user, rid.0, id, version).await,
        _ => return Err(AppError::NotFound.into()),
    };
    match result {
        Ok(_) => Ok(see_other("/console/admin/schemas")),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let detail = match &e {
                AppError::Validation(fields) => fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                other => other.detail(),
            };
            schemas_page(&state, &req, &caller, Some(detail)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// One changed criterion, before and after.
struct DiffRow {
    kind: &'static str,
    id: String,
    before: String,
    after: String,
}

#[derive(Template)]
#[template(path = "console/diff.html")]
struct DiffPage {
    c: Chrome,
    schema: String,
    from: String,
    to: String,
    rows: Vec<DiffRow>,
}

#[derive(Deserialize)]
pub struct DiffQuery {
    from: String,
    to: String,
}

/// What changed between two versions, each changed criterion with its text before and after.
pub async fn diff(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    q: web::Query<DiffQuery>,
) -> PageResult {
    require_admin(&caller)?;
    let id = id.into_inner();
    let DiffQuery { from, to } = q.into_inner();
    let d = svc::diff(&state, &caller.user, id.clone(), from.clone(), to.clone()).await?;
    let old = svc::version(&state, &caller.user, id.clone(), from.clone()).await?;
    let new = svc::version(&state, &caller.user, id.clone(), to.clone()).await?;
    let c = Chrome::new(&req, &caller, "");
    let l = c.l;
    let text = |doc: &crate::domain::schema::SchemaDoc, cid: &str| {
        doc.criterion(cid)
            .map(|c| {
                format!(
                    "{} — {} (weight {})",
                    l.t(&c.title.zh, &c.title.en),
                    l.t(&c.guidance.zh, &c.guidance.en),
                    c.weight
                )
            })
            .unwrap_or_default()
    };
    let mut rows = Vec::new();
    for cid in &d.added {
        rows.push(DiffRow {
            kind: l.t("新增", "added"),
            id: cid.clone(),
            before: String::new(),
            after: text(&new.document, cid),
        });
    }
    for cid in &d.removed {
        rows.push(DiffRow {
            kind: l.t("删除", "removed"),
            id: cid.clone(),
            before: text(&old.document, cid),
            after: String::new(),
        });
    }
    for r in &d.renamed {
        rows.push(DiffRow {
            kind: l.t("改名", "renamed"),
            id: format!("{} → {}", r.from, r.to),
            before: text(&old.document, &r.from),
            after: text(&new.document, &r.to),
        });
    }
    for w in &d.reweighted {
        rows.push(DiffRow {
            kind: l.t("权重变化", "reweighted"),
            id: w.id.clone(),
            before: format!("{}", w.from),
            after: format!("{}", w.to),
        });
    }
    for (kind, ids) in [
        (l.t("文字变化", "text changed"), &d.text_changed),
        (
            l.t("规则变化（须重新作答）", "rules changed (answer again)"),
            &d.rules_changed,
        ),
    ] {
        for cid in ids {
            rows.push(DiffRow {
                kind,
                id: cid.clone(),
                before: text(&old.document, cid),
                after: text(&new.document, cid),
            });
        }
    }
    let title = format!("{id} {from} → {to}");
    Ok(html(&DiffPage {
        c: Chrome { title, ..c },
        schema: id,
        from,
        to,
        rows,
    })?)
}

// ---------------------------------------------------------------------------------------------
// Audit log

struct EntryRow {
    seq: String,
    at: String,
    actor: String,
    action: String,
    entity: String,
    details: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    c: Chrome,
    head: Option<crate::audit::Checkpoint>,
    report: Option<crate::audit::Report>,
    rows: Vec<EntryRow>,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

async fn audit_page(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
    before: Option<i64>,
    report: Option<crate::audit::Report>,
) -> PageResult {
    require_admin(caller)?;
    let (entries, more) = crate::audit::recent(state, &caller.user, before, 50).await?;
    let head = match crate::audit::head(state).await {
        Ok(h) => Some(h),
        Err(AppError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let older = more.then(|| entries.last().map(|e| e.id)).flatten();
    let rows = entries
        .into_iter()
        .map(|e| EntryRow {
            seq: e.seq.map(|s| s.to_string()).unwrap_or_default(),
            at: e.occurred_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            actor: e.actor_user_id.map(|a| a.to_string()).unwrap_or_default(),
            action: e.action,
            entity: format!("{} {}", e.entity_type, e.entity_id),
            details: e.details.chars().take(300).collect(),
        })
        .collect();
    let c = Chrome::new(req, caller, "");
    let title = c.l.t("审计日志", "Audit log").to_owned();
    Ok(html(&AuditPage {
        c: Chrome { title, ..c },
        head,
        report,
        rows,
        older,
    })?)
}

pub async fn audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    q: web::Query<AuditQuery>,
) -> PageResult {
    audit_page(&state, &req, &caller, q.before, None).await
}

/// Walks the whole chain and its signed checkpoints, and shows the result.
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    _form: Form<Empty>,
) -> PageResult {
    require_admin(&caller)?;
    let report = crate::audit::verify(&state, &caller.user).await?;
    audit_page(&state, &req, &caller, None, Some(report)).await
}

/// Signs a checkpoint of the log now (the service also signs them periodically).
pub async fn checkpoint(
    state: web::Data<AppState>,
    caller: Caller,
    _form: Form<Empty>,
) -> PageResult {
    require_admin(&caller)?;
    crate::audit::checkpoint(&state, &caller.user, None).await?;
    Ok(see_other("/console/admin/audit"))
}
