//! The web console: server-rendered pages for the association's reviewers, industry bodies and
//! administrators (and a read-only view for enterprise users), Chinese by default with an
//! English switch. Pages are askama templates (`src/templates/console/`), checked when the
//! crate compiles and escaping every value they print; partial updates use htmx, vendored in
//! `static/` and served by the binary, so the console loads nothing from another host. Every
//! action goes through the same workflow functions as the API (`reviews`, `certification`, …),
//! with the same rules and the same audit log.
//!
//! The console is a user interface, not part of the integration API: its routes are not in the
//! OpenAPI document. They are in [`ROUTES`], which the access middleware reads like the
//! document's declarations: a page needs a live console session, a POST must come from the
//! console's own origin and carry the session's CSRF token ([`session::Form`]).

mod admin_pages;
mod auth_pages;
mod chrome;
mod complaint_pages;
mod enterprise_pages;
mod review_pages;
pub mod session;
mod stats_pages;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::access::Access;
use crate::error::{AppError, AppResult};
pub use chrome::{Chrome, Lang};

/// Every console route with its method and access; the access middleware admits nothing else.
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("/console/static/{file}", "GET", Access::Public),
    ("/console/login", "GET", Access::Public),
    ("/console/login", "POST", Access::Public),
    ("/console/lang/{lang}", "GET", Access::Public),
    ("/console", "GET", Access::Public),
    ("/console/", "GET", Access::Console),
    ("/console/logout", "POST", Access::Console),
    ("/console/sessions", "GET", Access::Console),
    ("/console/sessions/{id}/revoke", "POST", Access::Console),
    ("/console/reviews", "GET", Access::Console),
    ("/console/reviews/{id}", "GET", Access::Console),
    ("/console/reviews/{id}/claim", "POST", Access::Console),
    (
        "/console/reviews/{id}/verdicts/{criterion}",
        "POST",
        Access::Console,
    ),
    ("/console/reviews/{id}/decision", "POST", Access::Console),
    ("/console/reviews/{id}/approve", "POST", Access::Console),
    (
        "/console/reviews/{id}/certificate/{number}",
        "POST",
        Access::Console,
    ),
    (
        "/console/reviews/{id}/licence/{enterprise}",
        "POST",
        Access::Console,
    ),
    (
        "/console/submissions/{id}/evidence/{evidence_id}",
        "GET",
        Access::Console,
    ),
    ("/console/submissions", "GET", Access::Console),
    ("/console/complaints", "GET", Access::Console),
    ("/console/complaints/{id}", "GET", Access::Console),
    ("/console/complaints/{id}/step", "POST", Access::Console),
    (
        "/console/complaints/{id}/personal-data",
        "POST",
        Access::Console,
    ),
    ("/console/surveillance", "GET", Access::Console),
    (
        "/console/surveillance/{id}/decision",
        "POST",
        Access::Console,
    ),
    ("/console/submissions/{id}", "GET", Access::Console),
    (
        "/console/submissions/{id}/report.pdf",
        "GET",
        Access::Console,
    ),
    ("/console/statistics", "GET", Access::Console),
    ("/console/statistics/populations", "GET", Access::Console),
    ("/console/statistics/populations", "POST", Access::Console),
    ("/console/statistics/{file}", "GET", Access::Console),
    ("/console/admin/users", "GET", Access::Console),
    ("/console/admin/users", "POST", Access::Console),
    (
        "/console/admin/users/{id}/{action}",
        "POST",
        Access::Console,
    ),
    ("/console/admin/schemas", "GET", Access::Console),
    ("/console/admin/schemas/{id}/diff", "GET", Access::Console),
    (
        "/console/admin/schemas/{id}/versions/{version}/{action}",
        "POST",
        Access::Console,
    ),
    ("/console/admin/audit", "GET", Access::Console),
    ("/console/admin/audit/verify", "POST", Access::Console),
    ("/console/admin/audit/checkpoint", "POST", Access::Console),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/static/{file}", web::get().to(asset))
        .route("/console/login", web::get().to(auth_pages::login_form))
        .route("/console/login", web::post().to(auth_pages::login))
        .route("/console/lang/{lang}", web::get().to(auth_pages::language))
        .route("/console/", web::get().to(auth_pages::home))
        .route("/console/complaints", web::get().to(complaint_pages::list))
        .route(
            "/console/complaints/{id}",
            web::get().to(complaint_pages::detail),
        )
        .route(
            "/console/complaints/{id}/step",
            web::post().to(complaint_pages::step),
        )
        .route(
            "/console/complaints/{id}/personal-data",
            web::post().to(complaint_pages::personal),
        )
        .route(
            "/console/surveillance",
            web::get().to(complaint_pages::surveillance_list),
        )
        .route(
            "/console/surveillance/{id}/decision",
            web::post().to(complaint_pages::surveillance_decide),
        )
        .route("/console", web::get().to(auth_pages::to_home))
        .route("/console/logout", web::post().to(auth_pages::logout))
        .route("/console/sessions", web::get().to(auth_pages::sessions))
        .route(
            "/console/sessions/{id}/revoke",
            web::post().to(auth_pages::revoke),
        )
        .route("/console/reviews", web::get().to(review_pages::queue))
        .route("/console/reviews/{id}", web::get().to(review_pages::review))
        .route(
            "/console/reviews/{id}/claim",
            web::post().to(review_pages::claim),
        )
        .route(
            "/console/reviews/{id}/verdicts/{criterion}",
            web::post().to(review_pages::verdict),
        )
        .route(
            "/console/reviews/{id}/decision",
            web::post().to(review_pages::decide),
        )
        .route(
            "/console/reviews/{id}/approve",
            web::post().to(review_pages::approve),
        )
        .route(
            "/console/reviews/{id}/certificate/{number}",
            web::post().to(review_pages::certificate),
        )
        .route(
            "/console/reviews/{id}/licence/{enterprise}",
            web::post().to(review_pages::licence),
        )
        .route(
            "/console/submissions/{id}/evidence/{evidence_id}",
            web::get().to(review_pages::evidence),
        )
        .route(
            "/console/submissions",
            web::get().to(enterprise_pages::list),
        )
        .route(
            "/console/submissions/{id}/report.pdf",
            web::get().to(enterprise_pages::report),
        )
        .route(
            "/console/submissions/{id}",
            web::get().to(enterprise_pages::detail),
        )
        .route("/console/statistics", web::get().to(stats_pages::dashboard))
        .route(
            "/console/statistics/populations",
            web::get().to(stats_pages::populations_form),
        )
        .route(
            "/console/statistics/populations",
            web::post().to(stats_pages::populations),
        )
        .route(
            "/console/statistics/{file}",
            web::get().to(stats_pages::file),
        )
        .route("/console/admin/users", web::get().to(admin_pages::users))
        .route(
            "/console/admin/users",
            web::post().to(admin_pages::create_user),
        )
        .route(
            "/console/admin/users/{id}/{action}",
            web::post().to(admin_pages::set_disabled),
        )
        .route(
            "/console/admin/schemas",
            web::get().to(admin_pages::schemas),
        )
        .route(
            "/console/admin/schemas/{id}/diff",
            web::get().to(admin_pages::diff),
        )
        .route(
            "/console/admin/schemas/{id}/versions/{version}/{action}",
            web::post().to(admin_pages::transition),
        )
        .route("/console/admin/audit", web::get().to(admin_pages::audit))
        .route(
            "/console/admin/audit/verify",
            web::post().to(admin_pages::verify),
        )
        .route(
            "/console/admin/audit/checkpoint",
            web::post().to(admin_pages::checkpoint),
        );
}

/// The console's script (htmx, vendored) and stylesheet, served by the binary. Their names
/// carry their version, so they are cached for a year.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "htmx-2.0.11.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("static/htmx-2.0.11.min.js"),
    ),
    (
        "console-2.css",
        "text/css; charset=utf-8",
        include_bytes!("static/console.css"),
    ),
];

async fn asset(file: web::Path<String>) -> AppResult<HttpResponse> {
    let (_, content_type, bytes) = ASSETS
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(*content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(*bytes))
}

/// `303 See Other` to a console page (after a form, or to a page the caller should see).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// The status of a page that shows a form again: 200, or 422 when it shows errors.
pub fn status_for(valid: bool) -> actix_web::http::StatusCode {
    if valid {
        actix_web::http::StatusCode::OK
    } else {
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A page rendered as HTML with `status`.
pub fn page(status: actix_web::http::StatusCode, t: &impl Template) -> AppResult<HttpResponse> {
    let body = t.render().map_err(AppError::internal)?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// A page rendered as HTML (200).
pub fn html(t: &impl Template) -> AppResult<HttpResponse> {
    page(actix_web::http::StatusCode::OK, t)
}

/// A path inside the console to come back to after logging in; anything else (another host,
/// `//evil`, a path outside the console) becomes the console's home.
pub fn local_target(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/console/")
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/console/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::local_target;

    #[test]
    fn only_console_paths_are_returned_to() {
        assert_eq!(
            local_target(Some("/console/reviews?x=1")),
            "/console/reviews?x=1"
        );
        for bad in [
            "https://evil.example/console/",
            "//evil.example/console/",
            "/console/\\evil",
            "/api/v1/users",
            "/console/\r\nSet-Cookie: x",
        ] {
            assert_eq!(local_target(Some(bad)), "/console/", "{bad}");
        }
        assert_eq!(local_target(None), "/console/");
    }
}
