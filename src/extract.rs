//! Request extractors whose failures are problem+json: a strict JSON body and the request id.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use crate::error::{AppError, json_error};

/// A JSON request body. Unlike `web::Json`, errors name the offending field by its path, the
/// size limit answers 413, and a wrong content type answers 415.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = DeferredJson::from_request(req, payload);
        Box::pin(async move { body.await?.parse().map(Json) })
    }
}

/// Query parameters. Unlike `web::Query`, an unknown parameter is refused naming it and the
/// parameters the operation takes, and a value of the wrong type names its parameter (400).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

/// Reads a query string into `T`, naming the parameter any error is about.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        if let Some((name, rest)) = message
            .strip_prefix("unknown field `")
            .and_then(|m| m.split_once('`'))
        {
            let takes = rest
                .trim_start_matches(", ")
                .replace("expected", "this operation takes");
            return AppError::BadRequest(format!("unknown query parameter `{name}`; {takes}"));
        }
        match e.path().to_string().as_str() {
            "." => AppError::BadRequest(format!("query string: {message}")),
            name => AppError::BadRequest(format!("query parameter `{name}`: {message}")),
        }
    })
}

/// A JSON request body read (within the size limit) but not parsed yet. Handlers of an
/// enterprise's objects parse it only after checking that the caller may see the object, so a
/// malformed body tells an outsider no more than a missing object would: both are 404.
#[derive(Debug)]
pub struct DeferredJson {
    bytes: web::Bytes,
    is_json: bool,
}

impl DeferredJson {
    /// Parses the body as `T`: 415 unless it was sent as JSON, 422 naming the field otherwise.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, AppError> {
        if !self.is_json {
            return Err(AppError::UnsupportedMediaType(
                "the body must be JSON with Content-Type: application/json".into(),
            ));
        }
        // No stored text may hold U+0000 (PostgreSQL cannot), on either backend.
        if self
            .bytes
            .windows(6)
            .any(|w| w.eq_ignore_ascii_case(b"\\u0000"))
        {
            return Err(AppError::validation(
                "body",
                "text must not contain the NUL character (U+0000)",
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(&self.bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
        de.end().map_err(|e| {
            AppError::BadRequest(format!("trailing data after the JSON value: {e}"))
        })?;
        Ok(value)
    }
}

impl FromRequest for DeferredJson {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_json = req
            .mime_type()
            .ok()
            .flatten()
            .is_some_and(|m| m.subtype() == "json" || m.suffix().is_some_and(|s| s == "json"));
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body.await.map_err(|e| {
                if e.as_response_error().status_code()
                    == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE
                {
                    AppError::PayloadTooLarge
                } else {
                    AppError::BadRequest(format!("cannot read the body: {e}"))
                }
            })?;
            Ok(Self { bytes, is_json })
        })
    }
}

/// The `If-Match` header as sent (`None` when absent). A value that is neither `*` nor a list
/// of quoted entity tags (RFC 9110, section 13.1.1) is refused as malformed (400), so that an
/// unquoted `4-1` is not mistaken for a stale ETag.
#[derive(Debug, Clone)]
pub struct IfMatch(pub Option<String>);

impl IfMatch {
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let value = match req.headers().get(actix_web::http::header::IF_MATCH) {
            None => Ok(None),
            Some(v) => match v.to_str() {
                Ok(v) if crate::domain::etag::if_match_tags(v).is_some() => Ok(Some(v.to_owned())),
                _ => Err(AppError::BadRequest(
                    "malformed If-Match: send the ETag exactly as received, quotes included \
                     (e.g. If-Match: \"4-1\"), or *"
                        .into(),
                )),
            },
        };
        ready(value.map(Self))
    }
}

/// The `Idempotency-Key` header: absent, or 1 to 255 printable ASCII characters (422 otherwise).
#[derive(Debug, Clone)]
pub struct IdempotencyKey(pub Option<String>);

impl FromRequest for IdempotencyKey {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = match req.headers().get("idempotency-key") {
            None => Ok(None),
            Some(v) => {
                let key = v.to_str().unwrap_or_default().trim().to_owned();
                if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
                    Err(AppError::validation(
                        "Idempotency-Key",
                        "must be 1 to 255 printable ASCII characters",
                    ))
                } else {
                    Ok(Some(key))
                }
            }
        };
        ready(key.map(Self))
    }
}

/// The id of the current request (from `X-Request-Id` or generated), for logs and the audit log.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl FromRequest for RequestId {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()));
        ready(Ok(id))
    }
}

/// Paging parameters shared by list endpoints.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// The `next_cursor` of the previous page; without it, the first page.
    pub cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

impl Page {
    pub fn bounds(&self) -> Result<(i64, i64), AppError> {
        crate::views::page_bounds(self.cursor.as_deref(), self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::{Page, parse_query};
    use crate::error::AppError;

    fn refusal(query: &str) -> String {
        match parse_query::<Page>(query) {
            Err(AppError::BadRequest(detail)) => detail,
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let page: Page = parse_query("limit=5&cursor=abc").unwrap();
        assert_eq!((page.limit, page.cursor.as_deref()), (Some(5), Some("abc")));
        let unknown = refusal("limit=5&after=3");
        assert!(
            unknown.starts_with("unknown query parameter `after`;")
                && unknown.contains("`cursor`")
                && unknown.contains("`limit`"),
            "{unknown}"
        );
        let typed = refusal("limit=many");
        assert!(typed.starts_with("query parameter `limit`:"), "{typed}");
    }
}
