//! Enterprises: registration, reading, and their users.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::{self, Actor, Fields, NewAccount, Registration};
use crate::auth::{AuthUser, roles};
use crate::domain::{CreditCode, Email, IndustryCode, Password, RegionCode, Role, Size};
use crate::error::{AppError, AppResult, Problem};
use crate::extract::{DeferredJson, IdempotencyKey, Json, Page, Query, RequestId};
use crate::state::AppState;
use crate::views::{self, EnterpriseView, UserView};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterEnterprise {
    /// Unified social credit code, 18 characters with a valid check character.
    #[schema(example = "91350100M000100Y43")]
    pub credit_code: String,
    pub name: String,
    /// GB/T 4754-2017 class code (section letter and four digits), e.g. `C1491`: the
    /// industry profile of the assessment is chosen by class.
    #[schema(example = "C1491")]
    pub industry_code: String,
    /// GB/T 2260 six-digit region code.
    #[schema(example = "330106")]
    pub region_code: String,
    pub size: Size,
    pub contact_email: String,
    /// E-mail of the enterprise's first administrator.
    pub admin_email: String,
    /// At least 12 characters.
    pub admin_password: String,
}

impl RegisterEnterprise {
    fn parse(self) -> AppResult<Registration> {
        let mut f = Fields::default();
        let credit_code = f.check("credit_code", CreditCode::parse(&self.credit_code));
        let name = f.check("name", crate::domain::text::name(&self.name, 200));
        let industry = f.check(
            "industry_code",
            IndustryCode::parse_class(&self.industry_code),
        );
        let region = f.check("region_code", RegionCode::parse(&self.region_code));
        let contact_email = f.check("contact_email", Email::parse(&self.contact_email));
        let admin_email = f.check("admin_email", Email::parse(&self.admin_email));
        let admin_password = f.check("admin_password", Password::parse(&self.admin_password));
        f.finish()?;
        match (
            credit_code,
            name,
            industry,
            region,
            contact_email,
            admin_email,
            admin_password,
        ) {
            (
                Some(credit_code),
                Some(name),
                Some(industry),
                Some(region),
                Some(contact_email),
                Some(admin_email),
                Some(admin_password),
            ) => Ok(Registration {
                credit_code,
                name,
                industry,
                region,
                size: self.size,
                contact_email,
                admin_email,
                admin_password,
            }),
            _ => Err(AppError::internal("validation passed without values")),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddEnterpriseUser {
    pub email: String,
    /// At least 12 characters.
    pub password: String,
    pub display_name: Option<String>,
}

/// Register an enterprise together with its first `enterprise_admin` user. No login needed;
/// each client address may register a limited number of times an hour (429 with `Retry-After`).
#[utoipa::path(
    operation_id = "registerEnterprise",
    security(()),
    tag = "enterprises",
    request_body = RegisterEnterprise,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses(
        (status = 201, body = EnterpriseView),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
        (status = 429, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("")]
pub async fn register(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    rid: RequestId,
    key: IdempotencyKey,
    body: Json<RegisterEnterprise>,
) -> AppResult<HttpResponse> {
    let registration = body.0.parse()?;
    let actor = Actor {
        user_id: None,
        request_id: Some(rid.0),
    };
    let client = crate::auth::client_address(&req);
    let outcome =
        accounts::register_enterprise(&state, registration, &client, actor, key.0).await?;
    Ok(super::keyed_response(outcome))
}

/// List enterprises (administrators).
#[utoipa::path(
    operation_id = "listEnterprises",
    tag = "enterprises",
    params(Page),
    security(("bearer" = ["admin"])),
    responses((status = 200, body = views::Page<EnterpriseView>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))), (status = 403, body = Problem, content_type = "application/problem+json"))
)]
#[get("")]
pub async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    page: Query<Page>,
) -> AppResult<HttpResponse> {
    let (after, limit) = page.bounds()?;
    let page = accounts::list_enterprises(&state, &user, after, limit).await?;
    Ok(super::page_response(&req, page))
}

/// One enterprise: visible to its own users and administrators; 404 for everyone else.
#[utoipa::path(
    operation_id = "getEnterprise",
    tag = "enterprises",
    params(("id" = i64, Path)),
    security(("bearer" = ["admin", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = EnterpriseView), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<EnterpriseView>> {
    let e = accounts::visible_enterprise(&state, &user, id.into_inner()).await?;
    Ok(web::Json(e.into()))
}

/// The users of an enterprise.
#[utoipa::path(
    operation_id = "listEnterpriseUsers",
    tag = "enterprises",
    params(("id" = i64, Path), Page),
    security(("bearer" = ["admin", "enterprise_admin", "enterprise_member"])),
    responses((status = 200, body = views::Page<UserView>, description = "A page; `Link: rel=next` names the next one", headers(("Link" = String, description = "`<…?cursor=…>; rel=\"next\"` while more pages follow"))), (status = 404, body = Problem, content_type = "application/problem+json"))
)]
#[get("/{id}/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    id: web::Path<i64>,
    page: Query<Page>,
) -> AppResult<HttpResponse> {
    let (after, limit) = page.bounds()?;
    let page = accounts::enterprise_users(&state, &user, id.into_inner(), after, limit).await?;
    Ok(super::page_response(&req, page))
}

/// Add an `enterprise_member` to an enterprise (its `enterprise_admin` or an administrator).
#[utoipa::path(
    operation_id = "addEnterpriseUser",
    tag = "enterprises",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = AddEnterpriseUser,
    security(("bearer" = ["admin", "enterprise_admin"])),
    responses(
        (status = 201, body = UserView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/users")]
pub async fn add_user(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    key: IdempotencyKey,
    body: DeferredJson,
) -> AppResult<HttpResponse> {
    user.require(roles::ENTERPRISE_MANAGERS)?;
    let e = accounts::visible_enterprise(&state, &user, id.into_inner()).await?;
    let AddEnterpriseUser {
        email,
        password,
        display_name,
    } = body.parse()?;
    let mut f = Fields::default();
    let email = f.check("email", Email::parse(&email));
    let password = f.check("password", Password::parse(&password));
    let display_name = f
        .check(
            "display_name",
            accounts::display_name(display_name.as_deref()),
        )
        .flatten();
    f.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(AppError::internal("validation passed without values"));
    };
    let account = NewAccount {
        email,
        password,
        role: Role::EnterpriseMember,
        enterprise_id: Some(e.id),
        region_scope: None,
        industry_scopes: Vec::new(),
        display_name,
    };
    let actor = Actor::user(&user, &rid.0);
    let key = key.0.map(|k| ("addEnterpriseUser", k));
    let outcome = accounts::create_user_keyed(&state, account, actor, key).await?;
    Ok(super::keyed_response(outcome))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEnterprise {
    /// The enterprise's evidence file holding its business licence (营业执照), checked against
    /// its credit code.
    pub evidence_id: i64,
    /// What was checked, for the audit log (at most 2000 characters).
    pub note: Option<String>,
}

/// Record that the enterprise's business licence was checked against its credit code
/// (administrators, and reviewers who may act on the enterprise). Until then it cannot be
/// certified. Verifying again records the newer check.
#[utoipa::path(
    operation_id = "verifyEnterprise",
    tag = "enterprises",
    params(("id" = i64, Path)),
    request_body = VerifyEnterprise,
    security(("bearer" = ["admin", "reviewer"])),
    responses(
        (status = 200, body = EnterpriseView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/{id}/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: RequestId,
    id: web::Path<i64>,
    body: Json<VerifyEnterprise>,
) -> AppResult<web::Json<EnterpriseView>> {
    let VerifyEnterprise { evidence_id, note } = body.0;
    let (id, rid) = (id.into_inner(), rid.0);
    let e = accounts::verify_enterprise(&state, user, rid, id, evidence_id, note).await?;
    Ok(web::Json(e))
}
