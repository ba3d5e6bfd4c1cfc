//! Every error response leaves as RFC 9457 problem+json, shaped here and in [`AppError`]: the
//! answer to requests no operation takes (404/405), parameters carrying U+0000, errors raised
//! by actix itself or the API browser, and the request id every server error carries.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{ErrorHandlerResponse, Next};
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};

use crate::auth::access::RouteTable;
use crate::error::{AppError, PROBLEM_JSON};
use crate::extract::RequestId;

/// Fallback for requests no route matched: 405 with `Allow` when the path exists under other
/// methods, 404 otherwise.
pub async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> HttpResponse {
    ResponseError::error_response(&routes.unrouted(req.match_info().as_str()))
}

/// Middleware: no path or query parameter may carry U+0000 (PostgreSQL text cannot hold it;
/// refused on both backends alike), answered 422 like any other refused value.
pub async fn refuse_nul_parameters(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let field = if req.query_string().contains("%00") {
        "query"
    } else if req.path().contains("%00") {
        "path"
    } else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let e = AppError::validation(field, "must not contain the NUL character (%00)");
    Ok(req
        .into_response(actix_web::ResponseError::error_response(&e))
        .map_into_right_body())
}

/// Middleware: a server error's problem names the request's id (given by `telemetry::observe`),
/// the one thing a client can quote to the operator.
pub async fn server_error_ids(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    let id = res
        .request()
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone());
    match id {
        Some(id) if res.status().is_server_error() && is_problem(&res) => {
            Ok(with_request_id(res, &id).await)
        }
        _ => Ok(res),
    }
}

fn is_problem(res: &ServiceResponse<BoxBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == crate::error::PROBLEM_JSON.as_bytes())
}

/// Adds `request_id` to a server error's problem. The problem says nothing else about the
/// cause, which is logged under that id.
async fn with_request_id(res: ServiceResponse<BoxBody>, id: &str) -> ServiceResponse<BoxBody> {
    let (req, res) = res.into_parts();
    let (res, body) = res.into_parts();
    let mut problem = match actix_web::body::to_bytes(body).await {
        Ok(bytes) => serde_json::from_slice::<serde_json::Value>(&bytes).ok(),
        Err(_) => None,
    }
    .filter(serde_json::Value::is_object)
    .unwrap_or_else(|| {
        let internal = crate::error::AppError::Internal(String::new()).to_problem();
        serde_json::to_value(internal).unwrap_or_default()
    });
    if let Some(map) = problem.as_object_mut() {
        map.insert("request_id".into(), id.into());
    }
    let body = BoxBody::new(serde_json::to_vec(&problem).unwrap_or_default());
    ServiceResponse::new(req, res.set_body(body))
}

/// Turns an error response that is not problem+json yet (actix internals, the Swagger UI
/// service) into one, keeping its status.
pub fn bare_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Problems pass through, and so do pages meant for people (the public not-found page).
    let keep = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()) || v.as_bytes().starts_with(b"text/html")
    });
    if keep {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let err = match status.as_u16() {
        404 => AppError::NotFound,
        413 => AppError::PayloadTooLarge,
        415 => AppError::UnsupportedMediaType("unsupported content type".into()),
        405 => AppError::MethodNotAllowed(
            res.headers()
                .get(header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
        ),
        s if s >= 500 => AppError::Internal(format!("unhandled {status}")),
        _ => AppError::BadRequest(
            status
                .canonical_reason()
                .unwrap_or("bad request")
                .to_owned(),
        ),
    };
    let mut new = err.error_response();
    *new.status_mut() = status;
    if let Some(rid) = res.headers().get(crate::telemetry::REQUEST_ID) {
        new.headers_mut()
            .insert(crate::telemetry::REQUEST_ID, rid.clone());
    }
    new.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    let (req, _) = res.into_parts();
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}
