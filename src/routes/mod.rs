//! HTTP routes, one module per resource. Each handler carries its OpenAPI description, so the
//! registered routes and the OpenAPI document cannot drift apart.

pub mod audit;
pub mod auth;
pub mod certificates;
pub mod enterprises;
pub mod evidence;
pub mod health;
pub mod me;
pub mod reference;
pub mod reports;
pub mod reviews;
pub mod schemas;
pub mod stats;
pub mod submissions;
pub mod users;

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::auth::access::{Access, declared};
use crate::error::AppError;
use crate::startup::AppState;

/// Registers every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(health::openapi)
        .service(audit::keys)
        .service(audit::head)
        .service(certificates::verify_page)
        .service(certificates::directory_page)
        .service(
            scope("/api/v1")
                .service(audit::verify)
                .service(audit::checkpoint)
                .service(auth::login)
                .service(auth::refresh)
                .service(auth::logout)
                .service(auth::change_password)
                .service(me::me)
                .service(enterprises::register)
                .service(enterprises::list)
                .service(enterprises::get)
                .service(enterprises::list_users)
                .service(enterprises::add_user)
                .service(enterprises::verify)
                .service(users::create)
                .service(users::list)
                .service(users::get)
                .service(users::disable)
                .service(users::enable)
                .service(reference::industries)
                .service(reference::regions)
                .service(schemas::list)
                .service(schemas::versions)
                .service(schemas::get)
                .service(schemas::resolved)
                .service(schemas::diff)
                .service(schemas::create)
                .service(schemas::update)
                .service(schemas::publish)
                .service(schemas::retire)
                .service(submissions::create)
                .service(submissions::list)
                .service(submissions::get)
                .service(submissions::put_answer)
                .service(submissions::patch_answers)
                .service(submissions::delete_answer)
                .service(submissions::submit)
                .service(submissions::withdraw)
                .service(submissions::upgrade)
                .service(submissions::history)
                .service(submissions::answer_evidence_request)
                .service(reports::report)
                .service(evidence::upload)
                .service(evidence::list)
                .service(evidence::download)
                .service(evidence::remove)
                .service(reviews::queue)
                .service(reviews::get)
                .service(reviews::claim)
                .service(reviews::verdict)
                .service(reviews::verdict_batch)
                .service(reviews::return_to_enterprise)
                .service(reviews::reject)
                .service(reviews::approve)
                .service(certificates::suspend)
                .service(certificates::reinstate)
                .service(certificates::revoke)
                .service(reports::certificate_pdf)
                .service(certificates::public_get)
                .service(certificates::public_list)
                .service(stats::funnel)
                .service(stats::levels)
                .service(stats::scores)
                .service(stats::criteria)
                .service(stats::trends)
                .service(stats::populations),
        );
}

/// Fallback for requests no route matched: 405 with `Allow` when the path exists under other
/// methods, 404 otherwise.
pub async fn fallback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    actix_web::ResponseError::error_response(&state.routes.unrouted(req.match_info().as_str()))
}

/// Whether a request path segment fits a template segment such as `{id}` or `{number}.pdf`.
fn segment_matches(template: &str, segment: &str) -> bool {
    match (template.find('{'), template.rfind('}')) {
        (Some(open), Some(close)) if open < close => {
            let (prefix, suffix) = (&template[..open], &template[close + 1..]);
            segment.len() > prefix.len() + suffix.len()
                && segment.starts_with(prefix)
                && segment.ends_with(suffix)
        }
        _ => template == segment,
    }
}

/// One documented path: its template, split into segments, and each method with the access it
/// declares.
#[derive(Debug)]
struct Route {
    segments: Vec<String>,
    methods: Vec<(String, Access)>,
}

/// The documented paths and methods, read once from the OpenAPI document: request paths are
/// matched against them for 405 answers, and the access middleware looks up the roles each
/// operation declares.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    by_template: HashMap<String, usize>,
}

/// Where the API browser (Swagger UI) is served.
pub const DOCS_PATTERN: &str = "/docs/{_:.*}";

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

impl RouteTable {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let mut table = Self::default();
        for (path, item) in api.paths.paths.iter() {
            let value = serde_json::to_value(item).unwrap_or_default();
            let methods = METHODS
                .iter()
                .filter_map(|m| {
                    let op = value.get(*m)?;
                    Some((m.to_ascii_uppercase(), declared(op.get("security"))))
                })
                .collect();
            table.add(path, methods);
        }
        // The API browser is served beside the documented operations, to anyone.
        table.add(DOCS_PATTERN, vec![("GET".to_owned(), Access::Public)]);
        table
    }

    fn add(&mut self, template: &str, methods: Vec<(String, Access)>) {
        self.by_template
            .insert(template.to_owned(), self.routes.len());
        self.routes.push(Route {
            segments: template.split('/').map(str::to_owned).collect(),
            methods,
        });
    }

    /// The access `method` on the route template `template` declares, if it is documented.
    pub fn access(&self, method: &str, template: &str) -> Option<&Access> {
        let route = &self.routes[*self.by_template.get(template)?];
        route
            .methods
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, access)| access)
    }

    /// The answer to a request for `path` (percent-decoded as the router sees it) that no
    /// documented operation takes: 405 with the methods the path has, or 404.
    pub fn unrouted(&self, path: &str) -> AppError {
        let allowed = self.allowed_methods(path);
        if allowed.is_empty() {
            AppError::NotFound
        } else {
            AppError::MethodNotAllowed(allowed.join(", "))
        }
    }

    pub fn allowed_methods(&self, path: &str) -> Vec<String> {
        let parts: Vec<&str> = path.split('/').collect();
        let mut methods: Vec<String> = self
            .routes
            .iter()
            .filter(|r| {
                r.segments.len() == parts.len()
                    && r.segments
                        .iter()
                        .zip(&parts)
                        .all(|(t, p)| segment_matches(t, p))
            })
            .flat_map(|r| r.methods.iter().map(|(m, _)| m.clone()))
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }
}
