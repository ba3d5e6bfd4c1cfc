//! Who may call each route. Every operation declares it in the OpenAPI document: `security: [{}]`
//! for public routes, `security: [{"bearer": [roles...]}]` for the roles that may call it
//! (OpenAPI 3.1 lets non-OAuth schemes list role names). The [`authorize`] middleware enforces
//! that declaration before any handler runs, so the published document and the service agree;
//! an operation without a declaration is refused to everyone.
//!
//! Object-level rules (an enterprise sees only its own data, a reviewer only their region) stay
//! in the handlers, which answer 404 for objects outside the caller's reach.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, ResponseError, web};

use crate::domain::Role;
use crate::error::AppError;
use crate::startup::AppState;

/// The declared access of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token.
    Public,
    /// A valid bearer token of one of these roles.
    Roles(Vec<Role>),
    /// Nothing declared (or a role name that does not exist): nobody may call it.
    Undeclared,
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
/// The authenticated caller is left in the request for the [`super::AuthUser`] extractor.
///
/// The router matches the percent-decoded path (`/api/v1/%75sers` reaches `/api/v1/users`), so
/// the lookup uses that same decoded path, never the raw one. A request that matches no
/// documented operation never reaches a handler: it gets the 404/405 answer of the fallback here.
/// The extractor checks again with the resource the router actually chose ([`routed_access`]).
pub async fn authorize(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        let e = AppError::internal("application state missing");
        return Ok(req.into_response(e.error_response()).map_into_right_body());
    };
    let routed = req.match_info().as_str();
    let pattern = req.request().resource_map().match_pattern(routed);
    let access = pattern
        .as_deref()
        .and_then(|p| state.routes.access(req.method().as_str(), p));
    let verdict = match access {
        None => Err(state.routes.unrouted(routed)),
        Some(Access::Public) => Ok(()),
        Some(Access::Undeclared) => Err(AppError::Forbidden(
            "this operation declares no roles, so nobody may call it".into(),
        )),
        Some(Access::Roles(roles)) => match super::authenticate(req.request()) {
            Ok(user) => match super::still_valid(&state, &user).await {
                Ok(()) => match user.require(roles) {
                    Ok(()) => {
                        req.extensions_mut().insert(user);
                        Ok(())
                    }
                    Err(e) => {
                        let route = pattern.clone().unwrap_or_default();
                        refused(&state, &req, &user, &route).await;
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
async fn refused(state: &AppState, req: &ServiceRequest, user: &super::AuthUser, route: &str) {
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
/// (from the [`super::AuthUser`] extractor), where the matched resource is known exactly; `None`
/// when the request reached no documented operation.
pub(crate) fn routed_access<'a>(req: &HttpRequest, state: &'a AppState) -> Option<&'a Access> {
    let pattern = req.match_pattern()?;
    state.routes.access(req.method().as_str(), &pattern)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
