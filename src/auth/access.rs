//! Who may call each route. Every operation declares it in the OpenAPI document: `security: [{}]`
//! for public routes, `security: [{"bearer": [roles...]}]` for the roles that may call it
//! (OpenAPI 3.1 lets non-OAuth schemes list role names). The [`authorize`] middleware enforces
//! that declaration before any handler runs, so the published document and the service agree;
//! an operation without a declaration is refused to everyone.
//!
//! Object-level rules (an enterprise sees only its own data, a reviewer only their region) stay
//! in the handlers, which answer 404 for objects outside the caller's reach.

use std::collections::HashMap;
use std::future::{Ready, ready};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::Payload;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, ResponseError, web};

use super::AuthUser;
use crate::domain::Role;
use crate::error::{AppError, Code};
use crate::state::AppState;

/// The declared access of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token.
    Public,
    /// A valid bearer token of one of these roles.
    Roles(Vec<Role>),
    /// Nothing declared (or a role name that does not exist): nobody may call it.
    Undeclared,
    /// A web-console page: a live console session (cookie), and for a POST a request from the
    /// console's own origin. The page checks the role itself.
    Console,
}

/// Reads an operation's `security` requirement list.
pub(crate) fn declared(security: Option<&serde_json::Value>) -> Access {
    let Some(requirements) = security.and_then(|s| s.as_array()) else {
        return Access::Undeclared;
    };
    if requirements
        .iter()
        .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
    {
        return Access::Public;
    }
    let mut roles = Vec::new();
    for requirement in requirements {
        let Some(names) = requirement.get("bearer").and_then(|b| b.as_array()) else {
            return Access::Undeclared;
        };
        for name in names {
            match name.as_str().and_then(Role::parse) {
                Some(role) if !roles.contains(&role) => roles.push(role),
                Some(_) => {}
                None => return Access::Undeclared,
            }
        }
    }
    if roles.is_empty() {
        Access::Undeclared
    } else {
        Access::Roles(roles)
    }
}

/// Middleware: checks the caller against the declaration of the operation the router will
/// dispatch to, answering 401 without a valid token and 403 for a role the route does not admit.
/// The authenticated caller is left in the request for the [`AuthUser`] extractor.
///
/// The router matches the percent-decoded path (`/api/v1/%75sers` reaches `/api/v1/users`), so
/// the lookup uses that same decoded path, never the raw one. A request that matches no
/// documented operation never reaches a handler: it gets the 404/405 answer of the fallback here.
/// The extractor checks again with the resource the router actually chose ([`routed_access`]).
pub async fn authorize(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let (Some(state), Some(routes)) = (
        req.app_data::<web::Data<AppState>>().cloned(),
        req.app_data::<web::Data<RouteTable>>().cloned(),
    ) else {
        let e = AppError::internal("application state missing");
        return Ok(req.into_response(e.error_response()).map_into_right_body());
    };
    let routed = req.match_info().as_str();
    // The router's own matcher names the route: a path no registered route takes gets none,
    // and a route outside the table declares no access, so both are refused.
    let pattern = req.request().resource_map().match_pattern(routed);
    let access = pattern
        .as_deref()
        .and_then(|p| routes.access(req.method().as_str(), p));
    let console_post = routed.starts_with("/console/")
        && !matches!(req.method().as_str(), "GET" | "HEAD")
        && !super::browser::same_origin(&state, &req);
    if console_post && access.is_some() {
        let e =
            AppError::Forbidden("a console form must be sent from the console's own pages".into());
        return Ok(req.into_response(e.error_response()).map_into_right_body());
    }
    let verdict = match access {
        None => Err(routes.unrouted(routed)),
        Some(Access::Public) => Ok(()),
        Some(Access::Console) => match super::browser::authenticate(&state, req.request()).await {
            Ok(caller) => {
                req.extensions_mut().insert(caller);
                Ok(())
            }
            Err(_) => {
                let res = super::browser::sign_in_first(req.request());
                return Ok(req.into_response(res).map_into_right_body());
            }
        },
        Some(Access::Undeclared) => Err(AppError::Forbidden(
            "this operation declares no roles, so nobody may call it".into(),
        )),
        Some(Access::Roles(roles)) => match authenticate(req.request()) {
            Ok(user) => match still_valid(&state, &user).await {
                Ok(()) => match user.require(roles) {
                    Ok(()) => {
                        req.extensions_mut().insert(user);
                        Ok(())
                    }
                    Err(e) => {
                        let route = pattern.as_deref().unwrap_or_default();
                        refused(&state, &req, &user, route).await;
                        Err(e)
                    }
                },
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        },
    };
    match verdict {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

/// Audits a caller refused for their role: who, which operation, under which request.
/// A failure to write is logged: the caller is refused either way.
async fn refused(state: &AppState, req: &ServiceRequest, user: &AuthUser, route: &str) {
    let rid = req
        .extensions()
        .get::<crate::extract::RequestId>()
        .map(|r| r.0.clone());
    let (actor, role) = (user.id, user.role.as_str());
    let details = serde_json::json!({
        "method": req.method().as_str(),
        "route": route,
        "role": role,
    });
    let written = state
        .db
        .write(move |conn| {
            crate::db::audit::append(
                conn,
                crate::db::audit::Event {
                    actor_user_id: Some(actor),
                    action: "access.refused",
                    entity_type: "user",
                    entity_id: actor.to_string(),
                    enterprise_id: None,
                    request_id: rid.as_deref(),
                    details,
                },
            )
        })
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "could not audit a refused request");
    }
}

/// The access declared by the operation the router dispatched `req` to. Called after routing
/// (from the [`AuthUser`] extractor), where the matched resource is known exactly; `None`
/// when the request reached no documented operation.
pub(crate) fn routed_access<'a>(req: &HttpRequest, routes: &'a RouteTable) -> Option<&'a Access> {
    let pattern = req.match_pattern()?;
    routes.access(req.method().as_str(), &pattern)
}

/// One segment of a route template, as the table matches it.
#[derive(Debug)]
enum Segment {
    /// Text the path's segment must equal.
    Literal(String),
    /// A parameter (`{id}`, `{number}.pdf`): any non-empty text between a literal prefix and
    /// suffix. One with its own expression (`{_:.*}`) is read as one segment as well, which is
    /// close enough for naming a path's methods in a 405 answer.
    Parameter { prefix: String, suffix: String },
}

impl Segment {
    fn parse(template: &str) -> Self {
        match (template.find('{'), template.rfind('}')) {
            (Some(open), Some(close)) if open < close => Self::Parameter {
                prefix: template[..open].to_owned(),
                suffix: template[close + 1..].to_owned(),
            },
            _ => Self::Literal(template.to_owned()),
        }
    }

    /// Whether a request path's segment fits.
    fn fits(&self, segment: &str) -> bool {
        match self {
            Self::Literal(text) => text == segment,
            Self::Parameter { prefix, suffix } => {
                segment.len() > prefix.len() + suffix.len()
                    && segment.starts_with(prefix.as_str())
                    && segment.ends_with(suffix.as_str())
            }
        }
    }
}

/// One documented path: its template, split into segments, and each method with the access it
/// declares.
#[derive(Debug)]
struct Route {
    segments: Vec<Segment>,
    methods: Vec<(String, Access)>,
}

impl Route {
    /// Whether `parts`, a path's segments, fit the template's one by one.
    fn fits(&self, parts: &[&str]) -> bool {
        self.segments.len() == parts.len()
            && self.segments.iter().zip(parts).all(|(t, p)| t.fits(p))
    }
}

/// The documented paths and methods, read once from the OpenAPI document: request paths are
/// matched against them for 405 answers, and the access middleware looks up the roles each
/// operation declares.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    by_template: HashMap<String, usize>,
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

impl RouteTable {
    /// The table of `api`'s operations, plus the routes served beside the documented operations
    /// (the API browser, the console's pages), each as (template, method, access).
    pub fn from_openapi(api: &utoipa::openapi::OpenApi, beside: &[(&str, &str, Access)]) -> Self {
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
        for (template, method, access) in beside {
            let entry = (method.to_string(), access.clone());
            match table.by_template.get(*template) {
                Some(&i) => table.routes[i].methods.push(entry),
                None => table.add(template, vec![entry]),
            }
        }
        table
    }

    fn add(&mut self, template: &str, methods: Vec<(String, Access)>) {
        self.by_template
            .insert(template.to_owned(), self.routes.len());
        self.routes.push(Route {
            segments: template.split('/').map(Segment::parse).collect(),
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
            .filter(|r| r.fits(&parts))
            .flat_map(|r| r.methods.iter().map(|(m, _)| m.clone()))
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }
}

impl FromRequest for AuthUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    /// Checks the caller a second time, against the operation the router actually dispatched to
    /// (the access middleware checked the one it expected): a routing mistake cannot hand out a
    /// role's privileges.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(routed_caller(req))
    }
}

fn routed_caller(req: &HttpRequest) -> Result<AuthUser, AppError> {
    let routes = req
        .app_data::<web::Data<RouteTable>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    // The access middleware authenticated the caller and checked that the session stands; a
    // request it let through without a caller reached no operation that admits one.
    let user = req.extensions().get::<AuthUser>().cloned().ok_or_else(|| {
        AppError::Forbidden("this request reached no operation that declares its roles".into())
    })?;
    match routed_access(req, routes) {
        Some(Access::Roles(roles)) => user.require(roles)?,
        // A public operation that reads its caller when there is one.
        Some(Access::Public) => {}
        Some(Access::Undeclared | Access::Console) | None => {
            return Err(AppError::Forbidden(
                "this request reached no operation that declares its roles".into(),
            ));
        }
    }
    Ok(user)
}

pub(crate) fn authenticate(req: &HttpRequest) -> Result<AuthUser, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .ok_or(AppError::Unauthorized(Code::MissingToken))?;
    let claims = state
        .jwt
        .verify(token)
        .ok_or(AppError::Unauthorized(Code::InvalidToken))?;
    let id = claims
        .sub
        .parse()
        .map_err(|_| AppError::Unauthorized(Code::InvalidToken))?;
    Ok(AuthUser {
        id,
        role: claims.role,
        enterprise_id: claims.ent,
        region_scope: claims.region,
        industry_scopes: claims.industries,
        session: claims.sid,
    })
}

/// Whether the token's user and session still stand, read from the database on every request
/// so that logout, a password change or disabling ends access at once on every instance: the
/// user exists, is not disabled, still has the token's role and enterprise, and the session
/// has not been revoked.
pub(crate) async fn still_valid(state: &AppState, user: &AuthUser) -> Result<(), AppError> {
    let (id, session) = (user.id, user.session.clone());
    let standing = state
        .db
        .lookup(move |conn| crate::db::tokens::standing(conn, id, &session))
        .await?;
    let current = standing.is_some_and(|u| {
        u.session_live()
            && !u.disabled
            && u.role == user.role.as_str()
            && u.enterprise_id == user.enterprise_id
    });
    if current {
        Ok(())
    } else {
        Err(AppError::Unauthorized(Code::InvalidToken))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table() -> RouteTable {
        let api = utoipa::openapi::OpenApiBuilder::new().build();
        RouteTable::from_openapi(
            &api,
            &[
                ("/api/v1/things", "GET", Access::Public),
                ("/api/v1/things/{id}", "GET", Access::Public),
                ("/api/v1/things/{id}", "DELETE", Access::Undeclared),
                ("/api/v1/things/{number}.pdf", "POST", Access::Public),
                ("/api/v1/things/v{version}", "PATCH", Access::Public),
                ("/api/v1/things/{id}/parts/{part}", "PUT", Access::Public),
                ("/docs/{_:.*}", "GET", Access::Public),
            ],
        )
    }

    #[test]
    fn a_path_answers_405_with_the_methods_of_the_templates_it_fits() {
        let t = table();
        assert_eq!(
            t.allowed_methods("/api/v1/things/7"),
            vec!["DELETE".to_owned(), "GET".to_owned()]
        );
        // Where several templates fit, the methods of each: a suffix, a prefix.
        assert_eq!(
            t.allowed_methods("/api/v1/things/7.pdf"),
            vec!["DELETE".to_owned(), "GET".to_owned(), "POST".to_owned()]
        );
        assert_eq!(
            t.allowed_methods("/api/v1/things/v2"),
            vec!["DELETE".to_owned(), "GET".to_owned(), "PATCH".to_owned()]
        );
        // A parameter takes at least one character besides its prefix and suffix, and the
        // prefix and suffix must be there.
        for id_only in [
            "/api/v1/things/v",
            "/api/v1/things/.pdf",
            "/api/v1/things/report.txt",
            "/api/v1/things/2v",
        ] {
            assert_eq!(
                t.allowed_methods(id_only),
                vec!["DELETE".to_owned(), "GET".to_owned()],
                "{id_only}"
            );
        }
        assert_eq!(
            t.allowed_methods("/api/v1/things/7/parts/a%2Fb"),
            vec!["PUT".to_owned()]
        );
        assert_eq!(
            t.allowed_methods("/docs/index.html"),
            vec!["GET".to_owned()]
        );
        // Empty segments, a literal that differs, another number of segments, and a path
        // under a pattern with its own expression that spans segments (read here as one).
        for none in [
            "/api/v1/things/",
            "/api/v1//things",
            "/api/v1/things/7/parts",
            "/docs/a/b",
            "",
        ] {
            assert!(t.allowed_methods(none).is_empty(), "{none}");
        }
        assert!(matches!(t.unrouted("/api/v1/nothing"), AppError::NotFound));
        assert!(matches!(
            t.unrouted("/api/v1/things/7"),
            AppError::MethodNotAllowed(m) if m == "DELETE, GET"
        ));
    }

    #[test]
    fn declarations_are_read_strictly() {
        assert_eq!(declared(Some(&json!([{}]))), Access::Public);
        assert_eq!(
            declared(Some(&json!([{"bearer": ["admin", "reviewer"]}]))),
            Access::Roles(vec![Role::Admin, Role::Reviewer])
        );
        assert_eq!(declared(None), Access::Undeclared);
        assert_eq!(declared(Some(&json!([]))), Access::Undeclared);
        assert_eq!(declared(Some(&json!([{"bearer": []}]))), Access::Undeclared);
        assert_eq!(
            declared(Some(&json!([{"bearer": ["root"]}]))),
            Access::Undeclared
        );
    }
}
