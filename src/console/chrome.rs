//! What every console page shares: the language, the signed-in user, the navigation for their
//! role and the CSRF token of their forms; and the error page.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::auth::browser::Caller;
use crate::domain::Role;
use crate::error::AppError;

/// The console's language: Chinese unless the visitor chose English (the `csr_lang` cookie set
/// by the switch), or, before choosing, asked for it first in `Accept-Language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lang {
    pub en: bool,
}

pub const LANG_COOKIE: &str = "csr_lang";

impl Lang {
    pub fn of(req: &HttpRequest) -> Self {
        let en = match req.cookie(LANG_COOKIE) {
            Some(c) => c.value() == "en",
            None => req
                .headers()
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .is_some_and(|first| first.trim().starts_with("en")),
        };
        Self { en }
    }

    /// The text in the page's language.
    pub fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.en { en } else { zh }
    }

    /// The `lang` attribute of the page.
    pub fn code(&self) -> &'static str {
        if self.en { "en" } else { "zh-CN" }
    }

    pub fn role(&self, role: Role) -> &'static str {
        match role {
            Role::Admin => self.t("管理员", "Administrator"),
            Role::Reviewer => self.t("评审员", "Reviewer"),
            Role::IndustryBody => self.t("行业组织", "Industry body"),
            Role::EnterpriseAdmin => self.t("企业管理员", "Enterprise administrator"),
            Role::EnterpriseMember => self.t("企业成员", "Enterprise member"),
            Role::ComplaintOfficer => self.t("投诉和解专员", "Complaint officer"),
            Role::ComplaintPlatform => self.t("合作投诉平台", "Partner complaint platform"),
        }
    }
}

/// A link of the navigation.
#[derive(Debug)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The frame of a page: title, language, navigation, who is signed in.
#[derive(Debug)]
pub struct Chrome {
    pub l: Lang,
    pub title: String,
    /// The form token of the session; empty when nobody is signed in.
    pub csrf: String,
    pub who: String,
    pub role: &'static str,
    pub nav: Vec<NavItem>,
    /// `next=` for the language switch: this page, URL-encoded.
    pub here: String,
}

impl Chrome {
    /// The frame for a signed-in caller; `title` is in the page's language.
    pub fn new(req: &HttpRequest, caller: &Caller, title: &str) -> Self {
        let l = Lang::of(req);
        let path = req.path();
        let mut nav = vec![NavItem {
            href: "/console/",
            label: l.t("首页", "Home"),
            current: path == "/console/",
        }];
        if caller.user.role == Role::Reviewer {
            nav.push(NavItem {
                href: "/console/reviews",
                label: l.t("评审队列", "Review queue"),
                current: path.starts_with("/console/reviews"),
            });
        }
        if caller.user.role.is_enterprise() {
            nav.push(NavItem {
                href: "/console/submissions",
                label: l.t("我们的自评", "Our self-assessments"),
                current: path.starts_with("/console/submissions"),
            });
        }
        if caller
            .user
            .require(crate::auth::roles::COMPLAINT_READERS)
            .is_ok()
        {
            nav.push(NavItem {
                href: "/console/complaints",
                label: l.t("投诉和解", "Complaints"),
                current: path.starts_with("/console/complaints"),
            });
        }
        if matches!(caller.user.role, Role::Reviewer | Role::Admin) {
            nav.push(NavItem {
                href: "/console/surveillance",
                label: l.t("监督审查", "Surveillance"),
                current: path.starts_with("/console/surveillance"),
            });
        }
        if caller.user.require(crate::auth::roles::STATISTICS).is_ok() {
            nav.push(NavItem {
                href: "/console/statistics",
                label: l.t("统计", "Statistics"),
                current: path.starts_with("/console/statistics"),
            });
        }
        if caller.user.role == Role::Admin {
            for (href, label) in [
                ("/console/admin/users", l.t("用户", "Users")),
                ("/console/admin/schemas", l.t("细则版本", "Schemas")),
                ("/console/admin/audit", l.t("审计日志", "Audit log")),
            ] {
                nav.push(NavItem {
                    href,
                    label,
                    current: path.starts_with(href),
                });
            }
        }
        nav.push(NavItem {
            href: "/console/sessions",
            label: l.t("登录会话", "Sessions"),
            current: path.starts_with("/console/sessions"),
        });
        Self {
            l,
            title: title.to_owned(),
            csrf: caller.csrf.clone(),
            who: caller
                .display_name
                .clone()
                .unwrap_or_else(|| caller.email.clone()),
            role: l.role(caller.user.role),
            nav,
            here: here(req),
        }
    }

    /// The frame of a page shown before signing in.
    pub fn signed_out(req: &HttpRequest, title: &str) -> Self {
        Self {
            l: Lang::of(req),
            title: title.to_owned(),
            csrf: String::new(),
            who: String::new(),
            role: "",
            nav: Vec::new(),
            here: here(req),
        }
    }
}

/// `next=` of this page, for the language switch; a page answering a form goes home instead
/// (its address takes only POSTs).
fn here(req: &HttpRequest) -> String {
    let path = if req.method() == actix_web::http::Method::GET {
        req.uri()
            .path_and_query()
            .map_or("/console/", |p| p.as_str())
    } else {
        "/console/"
    };
    serde_urlencoded::to_string([("next", path)]).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: &'a str,
}

/// An error on a console page, shown as a page (in both languages: the request is gone by
/// the time the error is answered).
#[derive(Debug)]
pub struct PageError(pub AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.0.status_code();
        // Server errors keep their detail to the log, as the API's problems do.
        if status.is_server_error() {
            tracing::error!(error = %self.0, "console page failed");
        }
        let detail = if status.is_server_error() {
            String::new()
        } else {
            self.0.detail()
        };
        let title = match status.as_u16() {
            403 => "无权执行此操作 · Not allowed",
            404 => "未找到 · Not found",
            409 => "当前状态不允许此操作 · Not possible in the current state",
            422 => "输入有误 · Please correct the input",
            429 => "尝试过于频繁 · Too many attempts",
            s if s >= 500 => "服务出错 · Something went wrong",
            _ => "请求无效 · Invalid request",
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            detail: &detail,
        };
        match page.render() {
            Ok(body) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(body),
            Err(_) => HttpResponse::build(status).finish(),
        }
    }
}

/// What a console handler answers.
pub type PageResult = Result<HttpResponse, PageError>;
