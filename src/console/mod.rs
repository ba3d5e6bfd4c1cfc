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

use actix_web::http::{Method, header};
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::auth::access::Access;
use crate::error::{AppError, AppResult};
pub use chrome::{Chrome, Lang};

/// Declares the console's routes once: [`ROUTES`], read by the access middleware, and
/// `configure`, which registers the same routes in the same order (the order in which the router
/// tries them), so that no page is served without its declared access.
macro_rules! console_routes {
    ($($method:ident $path:literal $access:ident => $page:path,)*) => {
        /// Every console route with its method and access; the access middleware admits nothing
        /// else.
        pub const ROUTES: &[(&str, &str, Access)] =
            &[$(($path, stringify!($method), Access::$access)),*];

        /// Registers every route of [`ROUTES`] with its page.
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::route().method(Method::$method).to($page));)*
        }
    };
}

console_routes! {
    GET "/console/static/{file}" Public => asset,
    GET "/console/login" Public => auth_pages::login_form,
    POST "/console/login" Public => auth_pages::login,
    GET "/console/lang/{lang}" Public => auth_pages::language,
    GET "/console/" Console => auth_pages::home,
    GET "/console/complaints" Console => complaint_pages::list,
    GET "/console/complaints/{id}" Console => complaint_pages::detail,
    POST "/console/complaints/{id}/step" Console => complaint_pages::step,
    POST "/console/complaints/{id}/personal-data" Console => complaint_pages::personal,
    GET "/console/surveillance" Console => complaint_pages::surveillance_list,
    POST "/console/surveillance/{id}/decision" Console => complaint_pages::surveillance_decide,
    GET "/console" Public => auth_pages::to_home,
    POST "/console/logout" Console => auth_pages::logout,
    GET "/console/sessions" Console => auth_pages::sessions,
    POST "/console/sessions/{id}/revoke" Console => auth_pages::revoke,
    GET "/console/reviews" Console => review_pages::queue,
    GET "/console/reviews/{id}" Console => review_pages::review,
    POST "/console/reviews/{id}/claim" Console => review_pages::claim,
    POST "/console/reviews/{id}/verdicts/{criterion}" Console => review_pages::verdict,
    POST "/console/reviews/{id}/decision" Console => review_pages::decide,
    POST "/console/reviews/{id}/approve" Console => review_pages::approve,
    POST "/console/reviews/{id}/certificate/{number}" Console => review_pages::certificate,
    POST "/console/reviews/{id}/licence/{enterprise}" Console => review_pages::licence,
    GET "/console/submissions/{id}/evidence/{evidence_id}" Console => review_pages::evidence,
    GET "/console/submissions" Console => enterprise_pages::list,
    GET "/console/submissions/{id}/report.pdf" Console => enterprise_pages::report,
    GET "/console/submissions/{id}" Console => enterprise_pages::detail,
    GET "/console/statistics" Console => stats_pages::dashboard,
    GET "/console/statistics/populations" Console => stats_pages::populations_form,
    POST "/console/statistics/populations" Console => stats_pages::populations,
    GET "/console/statistics/{file}" Console => stats_pages::file,
    GET "/console/admin/users" Console => admin_pages::users,
    POST "/console/admin/users" Console => admin_pages::create_user,
    POST "/console/admin/users/{id}/{action}" Console => admin_pages::set_disabled,
    GET "/console/admin/schemas" Console => admin_pages::schemas,
    GET "/console/admin/schemas/{id}/diff" Console => admin_pages::diff,
    POST "/console/admin/schemas/{id}/versions/{version}/{action}" Console => admin_pages::transition,
    GET "/console/admin/audit" Console => admin_pages::audit,
    POST "/console/admin/audit/verify" Console => admin_pages::verify,
    POST "/console/admin/audit/checkpoint" Console => admin_pages::checkpoint,
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
