//! Response headers that keep browsers from misusing the service's pages, and the deadline on
//! reading request bodies.

use std::sync::LazyLock;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, web};
use base64::Engine;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// The pages' policy: nothing loads but the one stylesheet embedded in them (allowed by its
/// hash), images from the service itself, no script at all, no framing.
static PAGE_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let digest = Sha256::digest(crate::routes::pages::STYLE.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest);
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; img-src 'self' data:; \
         form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static("default-src 'none'"))
});

/// The console's policy: its one script (htmx) and stylesheet from this service, no inline
/// script or style, requests only to itself, forms only to itself, no framing.
const CONSOLE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// The API browser's policy: its own scripts and styles from this service, no inline script.
const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
     frame-ancestors 'none'";

/// Middleware: every response tells browsers not to sniff its type, to send no referrer and
/// never to frame it, and answers to authenticated callers are not stored; HTML
/// (the verification and directory pages, the API browser) gets a strict
/// `Content-Security-Policy` without inline script.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let docs = req.path().starts_with("/docs") && !req.path().starts_with("/docs/problems");
    let console = req.path().starts_with("/console");
    // Behind https, browsers are told to come back over https only (the session cookie never
    // travels in clear).
    let https = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.settings.public_url.as_deref())
        .is_some_and(|u| u.starts_with("https://"));
    // A console page is the signed-in user's; only its versioned assets may be kept.
    let authenticated = req.headers().contains_key(header::AUTHORIZATION)
        || (console && !req.path().starts_with("/console/static/"));
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    // No response is ever sniffed into another type, and nothing answered to a caller who
    // identified themselves is kept by a browser or a shared cache.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if authenticated {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    headers.insert(
        header::REFERRER_POLICY,
        // The console's forms must name their origin, which browsers replace by `null` under
        // `no-referrer`: within the site, the console keeps it.
        HeaderValue::from_static(if console {
            "same-origin"
        } else {
            "no-referrer"
        }),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    // A chart or an image the console serves runs nothing, whoever opens it directly.
    let image = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"image/"));
    if console && image {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
        );
    }
    if html || docs {
        let policy = if console {
            HeaderValue::from_static(CONSOLE_POLICY)
        } else if docs {
            HeaderValue::from_static(DOCS_POLICY)
        } else {
            PAGE_POLICY.clone()
        };
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    Ok(res)
}

/// Middleware: a request body must arrive whole within `CSR_BODY_TIMEOUT_SECS` of the request's
/// start; reading a slower one fails (the request is refused as malformed), instead of holding
/// a connection open indefinitely.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let has_body = req.headers().contains_key(header::CONTENT_LENGTH)
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let secs = req
        .app_data::<web::Data<AppState>>()
        .map_or(300, |s| s.settings.body_timeout_secs);
    if has_body {
        let deadline = actix_web::rt::time::Instant::now() + Duration::from_secs(secs);
        let payload = req.take_payload();
        let stream = futures_util::stream::unfold(Some(payload), move |state| async move {
            let mut payload = state?;
            let left = deadline.saturating_duration_since(actix_web::rt::time::Instant::now());
            match actix_web::rt::time::timeout(left, payload.next()).await {
                Ok(Some(item)) => Some((item, Some(payload))),
                Ok(None) => None,
                Err(_) => Some((
                    Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the request body did not arrive in time",
                    ))),
                    None,
                )),
            }
        })
        // Readers may poll again after the end (multipart does).
        .fuse();
        req.set_payload(Payload::Stream {
            payload: Box::pin(stream),
        });
    }
    next.call(req).await
}
