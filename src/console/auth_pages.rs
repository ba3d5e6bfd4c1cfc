//! Signing in and out, the language switch, the home page and the list of one's own sessions.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::chrome::{LANG_COOKIE, PageResult};
use super::session::{self, Caller, Form};
use super::{Chrome, html, local_target, page, see_other};
use crate::domain::Role;
use crate::error::AppError;
use crate::extract::RequestId;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    c: Chrome,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_form(req: HttpRequest, q: web::Query<NextQuery>) -> PageResult {
    let c = Chrome::signed_out(&req, "");
    let c = Chrome {
        title: c.l.t("登录", "Sign in").to_owned(),
        ..c
    };
    Ok(html(&LoginPage {
        c,
        next: local_target(q.next.as_deref()),
        email: String::new(),
        error: None,
    })?)
}

#[derive(Deserialize)]
pub struct LoginInput {
    email: String,
    password: String,
    next: Option<String>,
}

/// Checks the password like the API's login (same throttling and audit) and opens a session;
/// a failure shows the form again with the e-mail as typed.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    rid: RequestId,
    form: web::Form<LoginInput>,
) -> PageResult {
    let LoginInput {
        email,
        password,
        next,
    } = form.into_inner();
    let client = crate::auth::client_address(&req);
    let agent = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let next = local_target(next.as_deref());
    let previous = session::token_of(&req);
    match session::login(&state, &email, password, client, agent, rid.0, previous).await {
        Ok(token) => {
            let mut res = see_other(&next);
            res.add_cookie(&session::session_cookie(&state, &req, token))
                .map_err(AppError::internal)?;
            Ok(res)
        }
        Err(e) => {
            let c = Chrome::signed_out(&req, "");
            let l = c.l;
            let (status, error) = match &e {
                AppError::InvalidCredentials => (
                    StatusCode::UNAUTHORIZED,
                    l.t(
                        "电子邮箱或密码不正确。",
                        "The e-mail or the password is wrong.",
                    )
                    .to_owned(),
                ),
                AppError::TooManyRequests { retry_after_secs } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    if l.en {
                        format!("Too many attempts: try again in {retry_after_secs} seconds.")
                    } else {
                        format!("尝试次数过多，请 {retry_after_secs} 秒后再试。")
                    },
                ),
                _ => return Err(e.into()),
            };
            let c = Chrome {
                title: l.t("登录", "Sign in").to_owned(),
                ..c
            };
            Ok(page(
                status,
                &LoginPage {
                    c,
                    next,
                    email,
                    error: Some(error),
                },
            )?)
        }
    }
}

/// Switches the console's language (a preference cookie) and goes back to the page.
pub async fn language(lang: web::Path<String>, q: web::Query<NextQuery>) -> PageResult {
    let value = match lang.as_str() {
        "en" => "en",
        "zh" => "zh",
        _ => return Err(AppError::NotFound.into()),
    };
    let mut c = Cookie::new(LANG_COOKIE, value);
    c.set_path("/console/");
    c.set_same_site(SameSite::Lax);
    c.set_http_only(true);
    c.set_max_age(actix_web::cookie::time::Duration::days(365));
    let mut res = see_other(&local_target(q.next.as_deref()));
    res.add_cookie(&c).map_err(AppError::internal)?;
    Ok(res)
}

#[derive(Template)]
#[template(path = "console/home.html")]
struct HomePage {
    c: Chrome,
    reviewer: bool,
    statistics: bool,
    role: Role,
}

pub async fn home(req: HttpRequest, caller: Caller) -> PageResult {
    let c = Chrome::new(&req, &caller, "");
    let title = c.l.t("控制台", "Console").to_owned();
    Ok(html(&HomePage {
        c: Chrome { title, ..c },
        reviewer: caller.user.role == Role::Reviewer,
        statistics: caller.user.require(crate::auth::roles::STATISTICS).is_ok(),
        role: caller.user.role,
    })?)
}

pub async fn to_home() -> HttpResponse {
    see_other("/console/")
}

#[derive(Deserialize)]
pub struct Empty {}

/// Ends this session (everywhere its cookie is used) and forgets the cookie.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    rid: RequestId,
    _form: Form<Empty>,
) -> PageResult {
    session::revoke(&state, &caller, caller.session_id, rid.0).await?;
    let mut res = see_other("/console/login");
    res.add_cookie(&session::cleared_cookie(&state, &req))
        .map_err(AppError::internal)?;
    Ok(res)
}

struct SessionRow {
    id: i64,
    current: bool,
    client: String,
    user_agent: String,
    created_at: String,
    last_seen_at: String,
}

#[derive(Template)]
#[template(path = "console/sessions.html")]
struct SessionsPage {
    c: Chrome,
    rows: Vec<SessionRow>,
}

/// The caller's live console sessions, each with a button that ends it.
pub async fn sessions(state: web::Data<AppState>, req: HttpRequest, caller: Caller) -> PageResult {
    let rows = session::sessions(&state, &caller)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            id: s.id,
            current: s.id == caller.session_id,
            client: s.client,
            user_agent: s.user_agent,
            created_at: s.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            last_seen_at: s.last_seen_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        })
        .collect();
    let c = Chrome::new(&req, &caller, "");
    let title = c.l.t("登录会话", "Sessions").to_owned();
    Ok(html(&SessionsPage {
        c: Chrome { title, ..c },
        rows,
    })?)
}

/// Ends one of the caller's sessions; ending the current one signs out.
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    rid: RequestId,
    id: web::Path<i64>,
    _form: Form<Empty>,
) -> PageResult {
    let id = id.into_inner();
    session::revoke(&state, &caller, id, rid.0).await?;
    if id == caller.session_id {
        let mut res = see_other("/console/login");
        res.add_cookie(&session::cleared_cookie(&state, &req))
            .map_err(AppError::internal)?;
        return Ok(res);
    }
    Ok(see_other("/console/sessions"))
}
