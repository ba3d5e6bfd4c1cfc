//! HTTP routes, one module per resource. Each handler carries its OpenAPI description, so the
//! registered routes and the OpenAPI document cannot drift apart.

pub mod audit;
pub mod auth;
pub mod certificates;
pub mod complaints;
pub mod enterprises;
pub mod evidence;
pub mod health;
pub mod me;
pub mod pages;
pub mod reference;
pub mod reports;
pub mod reviews;
pub mod schemas;
pub mod stats;
pub mod submissions;
pub mod users;
pub mod webhooks;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Registers every documented route. The API's routes are grouped in scopes by their first
/// segment (each handler's path is relative to its scope): the router then compares one prefix
/// per group and tries the patterns of one group's routes only, where a flat list had it try
/// each route's pattern, one regular expression apiece, until one matched.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(health::metrics)
        .service(health::openapi)
        .service(audit::keys)
        .service(audit::head)
        .service(pages::verify_page)
        .service(pages::directory_page)
        .service(pages::problems_page)
        .service(pages::problem_page)
        .service(pages::docs_redirect)
        .service(
            scope("/api/v1")
                .service(
                    scope("/audit")
                        .service(audit::verify)
                        .service(audit::checkpoint),
                )
                .service(
                    scope("/auth")
                        .service(auth::login)
                        .service(auth::refresh)
                        .service(auth::logout)
                        .service(auth::change_password),
                )
                .service(scope("/me").service(me::me))
                .service(
                    scope("/enterprises")
                        .service(enterprises::register)
                        .service(enterprises::list)
                        .service(enterprises::get)
                        .service(enterprises::list_users)
                        .service(enterprises::add_user)
                        .service(enterprises::verify)
                        .service(complaints::enrol)
                        .service(complaints::get_liaison)
                        .service(complaints::withdraw_liaison)
                        .service(complaints::decide_liaison)
                        .service(complaints::complaint_measures),
                )
                .service(
                    scope("/users")
                        .service(users::create)
                        .service(users::list)
                        .service(users::get)
                        .service(users::disable)
                        .service(users::enable),
                )
                .service(
                    scope("/reference")
                        .service(reference::industries)
                        .service(reference::regions),
                )
                .service(
                    scope("/schemas")
                        .service(schemas::list)
                        .service(schemas::versions)
                        .service(schemas::get)
                        .service(schemas::resolved)
                        .service(schemas::diff)
                        .service(schemas::create)
                        .service(schemas::update)
                        .service(schemas::publish)
                        .service(schemas::retire),
                )
                .service(
                    scope("/submissions")
                        .service(submissions::create)
                        .service(submissions::list)
                        .service(submissions::get)
                        .service(submissions::discard)
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
                        .service(complaints::renewal),
                )
                .service(
                    scope("/reviews")
                        .service(reviews::queue)
                        .service(reviews::get)
                        .service(reviews::claim)
                        .service(reviews::verdict)
                        .service(reviews::verdict_batch)
                        .service(reviews::return_to_enterprise)
                        .service(reviews::reject)
                        .service(reviews::approve),
                )
                .service(
                    scope("/certificates")
                        .service(certificates::list)
                        .service(certificates::suspend)
                        .service(certificates::reinstate)
                        .service(certificates::revoke),
                )
                .service(
                    scope("/public")
                        .service(reports::certificate_pdf)
                        .service(certificates::public_get)
                        .service(certificates::public_list),
                )
                .service(
                    scope("/stats")
                        .service(stats::funnel)
                        .service(stats::levels)
                        .service(stats::scores)
                        .service(stats::criteria)
                        .service(stats::trends)
                        .service(stats::populations)
                        .service(stats::complaints),
                )
                .service(
                    scope("/webhooks")
                        .service(webhooks::create)
                        .service(webhooks::list)
                        .service(webhooks::get)
                        .service(webhooks::remove)
                        .service(webhooks::enable)
                        .service(webhooks::deliveries)
                        .service(webhooks::redeliver),
                )
                .service(
                    scope("/complaints")
                        .service(complaints::create)
                        .service(complaints::list)
                        .service(complaints::get)
                        .service(complaints::personal_data)
                        .service(complaints::acknowledge)
                        .service(complaints::propose)
                        .service(complaints::answer)
                        .service(complaints::close)
                        .service(complaints::reopen)
                        .service(complaints::take),
                )
                .service(
                    scope("/complaint-incidents")
                        .service(complaints::incident)
                        .service(complaints::remediation)
                        .service(complaints::close_incident),
                )
                .service(scope("/liaison-units").service(complaints::list_liaison))
                .service(
                    scope("/surveillance-reviews")
                        .service(complaints::list_surveillance)
                        .service(complaints::get_surveillance)
                        .service(complaints::decide_surveillance),
                ),
        );
}

/// A page of a list as JSON, with `Link: <…>; rel="next"` (RFC 8288) when a next page exists:
/// the request's own address with its `cursor` replaced by the page's `next_cursor`.
pub fn page_response<T: serde::Serialize>(
    req: &actix_web::HttpRequest,
    page: crate::views::Page<T>,
) -> actix_web::HttpResponse {
    let mut res = actix_web::HttpResponse::Ok();
    if let Some(next) = &page.next_cursor {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
            if name != "cursor" {
                query.append_pair(&name, &value);
            }
        }
        query.append_pair("cursor", next);
        res.insert_header((
            actix_web::http::header::LINK,
            format!("<{}?{}>; rel=\"next\"", req.path(), query.finish()),
        ));
    }
    res.json(page)
}

/// The response kept for an earlier request with the same `Idempotency-Key`, sent again and
/// marked `Idempotent-Replayed: true`.
pub fn replayed(r: crate::idempotency::Replay) -> actix_web::HttpResponse {
    use actix_web::http::{StatusCode, header};
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    let mut res = actix_web::HttpResponse::build(status);
    res.insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header(("Idempotent-Replayed", "true"));
    if let Some(etag) = r.etag {
        res.insert_header((header::ETAG, etag));
    }
    if let Some(location) = r.location {
        res.insert_header((header::LOCATION, location));
    }
    res.body(r.body)
}

/// A keyed operation's answer: what it made, with its status, ETag and Location, or the
/// response kept for an earlier request with the same key.
pub fn keyed_response<T: serde::Serialize>(
    outcome: crate::idempotency::Outcome<crate::idempotency::Made<T>>,
) -> actix_web::HttpResponse {
    use actix_web::http::{StatusCode, header};
    match outcome {
        crate::idempotency::Outcome::Replayed(r) => replayed(r),
        crate::idempotency::Outcome::Done(made) => {
            let status = StatusCode::from_u16(made.status).unwrap_or(StatusCode::OK);
            let mut res = actix_web::HttpResponse::build(status);
            if let Some(etag) = made.etag {
                res.insert_header((header::ETAG, etag));
            }
            if let Some(location) = made.location {
                res.insert_header((header::LOCATION, location));
            }
            res.json(made.value)
        }
    }
}

/// Where the API browser (Swagger UI) is served.
pub const DOCS_PATTERN: &str = "/docs/{_:.*}";
