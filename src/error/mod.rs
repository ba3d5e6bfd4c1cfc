//! The one error type of the service and its RFC 9457 `application/problem+json` rendering.
//!
//! Every failure a client can see goes through [`AppError`]: handlers return [`AppResult`],
//! extractor failures are mapped here, and a middleware turns any other error response (unknown
//! route, wrong method, actix internals) into the same shape. Internal details are logged and
//! never echoed.

pub mod catalogue;
mod codes;

pub use codes::Code;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub type AppResult<T> = Result<T, AppError>;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One offending field of a request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field, e.g. `credit_code` or `answers[3].value`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A problem lists at most this many invalid fields, so that its size never follows the input's.
pub const MAX_LISTED_ERRORS: usize = 50;

/// A field name as a problem repeats it: names can come from the input (an unknown criterion id),
/// so long ones are cut.
fn bounded(field: &str) -> String {
    const MAX: usize = 200;
    match field.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &field[..cut]),
        None => field.to_owned(),
    }
}

/// RFC 9457 problem details, as every error of this API is rendered.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// The problem type: `/docs/problems/{code}`, a page saying what the code means and what
    /// to do about it.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, snake_case.
    pub code: String,
    /// For validation errors: the offending fields, at most 50 of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// How many more invalid fields there were than `errors` lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors_omitted: Option<usize>,
    /// For server errors: the request's id (also in `X-Request-Id`), the one thing to quote to
    /// the operator, whose log holds the cause under it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    #[error("authentication required")]
    Unauthorized(Code),
    #[error("invalid e-mail or password")]
    InvalidCredentials,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed(String),
    #[error("conflict: {detail}")]
    Conflict { code: Code, detail: String },
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("evidence quota exceeded")]
    QuotaExceeded(String),
    #[error("precondition required")]
    PreconditionRequired,
    #[error("precondition failed")]
    PreconditionFailed,
    #[error("unprocessable: {detail}")]
    Unprocessable {
        code: Code,
        detail: String,
        errors: Vec<FieldError>,
    },
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Too much work of one kind is queued (PDF renders): retry after a few seconds.
    #[error("busy")]
    Busy { retry_after_secs: u64 },
    #[error("insufficient storage: {0}")]
    InsufficientStorage(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// A 409: the resource is not in a state that allows the request.
    pub fn conflict(code: Code, detail: String) -> Self {
        Self::Conflict { code, detail }
    }

    /// A 422 with a specific code: the request is well-formed but refused, for these fields.
    pub fn unprocessable(code: Code, detail: String, errors: Vec<FieldError>) -> Self {
        Self::Unprocessable {
            code,
            detail,
            errors,
        }
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    /// Stable machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "malformed_request",
            Self::Validation(_) => "validation_failed",
            Self::Unauthorized(code) => code.as_str(),
            Self::InvalidCredentials => "invalid_credentials",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Conflict { code, .. } => code.as_str(),
            Self::PayloadTooLarge => "payload_too_large",
            Self::QuotaExceeded(_) => "evidence_quota_exceeded",
            Self::PreconditionRequired => "precondition_required",
            Self::PreconditionFailed => "precondition_failed",
            Self::Unprocessable { code, .. } => code.as_str(),
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Unavailable(_) => "service_unavailable",
            Self::Busy { .. } => "busy",
            Self::InsufficientStorage(_) => "insufficient_storage",
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Self::BadRequest(msg) => msg.clone(),
            Self::Validation(errors) => match errors.as_slice() {
                [one] => format!("`{}`: {}", bounded(&one.field), one.message),
                many if many.len() > MAX_LISTED_ERRORS => format!(
                    "{} fields are invalid; the first {MAX_LISTED_ERRORS} are listed",
                    many.len()
                ),
                many => format!("{} fields are invalid", many.len()),
            },
            Self::Unauthorized(Code::InvalidRefreshToken) => {
                "The refresh token is unknown, expired or revoked: log in again.".into()
            }
            Self::Unauthorized(Code::RefreshTokenReused) => {
                "This refresh token was already used once, so it may have been copied: every \
                 session of this login has been ended. Log in again."
                    .into()
            }
            Self::Unauthorized(Code::InvalidToken) => {
                "The bearer access token is invalid or expired: refresh it or log in again.".into()
            }
            Self::Unauthorized(_) => "A valid bearer access token is required.".into(),
            Self::InvalidCredentials => "The e-mail or the password is wrong.".into(),
            Self::Forbidden(msg) => msg.clone(),
            Self::NotFound => "No such resource.".into(),
            Self::MethodNotAllowed(allow) => {
                format!("This resource does not accept that method; allowed: {allow}.")
            }
            Self::Conflict { detail, .. } => detail.clone(),
            Self::PayloadTooLarge => "The request body exceeds the size limit.".into(),
            Self::QuotaExceeded(msg) => msg.clone(),
            Self::PreconditionRequired => {
                "Send If-Match with the ETag of the version you edited.".into()
            }
            Self::PreconditionFailed => {
                "The resource changed since you read it; fetch it again and reapply your change."
                    .into()
            }
            Self::Unprocessable { detail, .. } => detail.clone(),
            Self::UnsupportedMediaType(msg) => msg.clone(),
            Self::TooManyRequests { retry_after_secs } => {
                format!("Too many attempts; retry in {retry_after_secs} s.")
            }
            Self::Unavailable(_) => "The database is unavailable; retry shortly.".into(),
            Self::Busy { retry_after_secs } => {
                format!("Too many documents are being rendered; retry in {retry_after_secs} s.")
            }
            Self::InsufficientStorage(_) => {
                "The evidence store is out of space; nothing was stored. Retry later.".into()
            }
            Self::Internal(_) => {
                "An internal error occurred; quote the request id to the operator.".into()
            }
        }
    }

    pub fn to_problem(&self) -> Problem {
        let status = self.status_code();
        Problem {
            type_: catalogue::type_uri(self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.detail(),
            code: self.code().to_owned(),
            errors: match self {
                Self::Validation(errors) | Self::Unprocessable { errors, .. } => errors
                    .iter()
                    .take(MAX_LISTED_ERRORS)
                    .map(|e| FieldError::new(bounded(&e.field), e.message.clone()))
                    .collect(),
                _ => Vec::new(),
            },
            errors_omitted: match self {
                Self::Validation(errors) | Self::Unprocessable { errors, .. } => {
                    Some(errors.len().saturating_sub(MAX_LISTED_ERRORS)).filter(|&n| n > 0)
                }
                _ => None,
            },
            request_id: None,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(_) | Self::InvalidCredentials => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge | Self::QuotaExceeded(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientStorage(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Unavailable(e) => tracing::warn!(error = %e, "database unavailable"),
            Self::InsufficientStorage(e) => tracing::error!(error = %e, "evidence store full"),
            Self::Internal(e) => tracing::error!(error = %e, "internal error"),
            _ => {}
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self {
            Self::TooManyRequests { retry_after_secs } | Self::Busy { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Unauthorized(_) | Self::InvalidCredentials => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::MethodNotAllowed(allow) => {
                res.insert_header((header::ALLOW, allow.as_str()));
            }
            Self::Unavailable(_) => {
                res.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        res.body(serde_json::to_string(&self.to_problem()).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => Self::NotFound,
            E::DatabaseError(K::UniqueViolation, info) => {
                Self::conflict(Code::AlreadyExists, conflict_detail(info.message()))
            }
            E::DatabaseError(K::ForeignKeyViolation, _) => Self::conflict(
                Code::ReferenceConflict,
                "The resource is referenced by, or refers to, another one.".into(),
            ),
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            E::DatabaseError(K::SerializationFailure, info) => {
                Self::Unavailable(info.message().to_owned())
            }
            E::DatabaseError(_, info) if is_transient(info.message()) => {
                Self::Unavailable(info.message().to_owned())
            }
            // PostgreSQL text cannot hold U+0000; whatever field carried it, the input is at fault.
            E::DatabaseError(_, info) if info.message().contains("invalid byte sequence") => {
                Self::validation("text", "must not contain the NUL character (U+0000)")
            }
            E::RollbackErrorOnCommit { commit_error, .. } => Self::from(*commit_error),
            // Anything else is a fault of this service (a constraint its checks should have
            // caught, a query it built wrongly): 500, so that it is not retried as an outage.
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Errors that pass when the database is reachable again or less busy: locks, deadlocks (the
/// other transaction went through), lost or refused connections, a server shutting down or
/// starting up.
fn is_transient(msg: &str) -> bool {
    let msg = msg.to_ascii_lowercase();
    [
        "locked",
        "busy",
        "terminating connection",
        "connection",
        "could not connect",
        "server closed",
        "timed out",
        "timeout",
        "shutting down",
        "starting up",
        "in recovery",
        "too many clients",
        "disk i/o",
        "deadlock detected",
    ]
    .iter()
    .any(|m| msg.contains(m))
}

fn conflict_detail(msg: &str) -> String {
    // Say which unique value clashed without echoing the database message.
    if msg.contains("credit_code") {
        "An enterprise with this credit code is already registered.".into()
    } else if msg.contains("email") {
        "A user with this e-mail already exists.".into()
    } else {
        "The resource already exists.".into()
    }
}

/// No pooled connection in time: the database is busy or gone.
impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// Turns a serde error with its path into the field-naming validation error clients get.
pub fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    use serde_json::error::Category;
    let inner = e.inner();
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            AppError::BadRequest(format!("the body is not valid JSON: {inner}"))
        }
        Category::Data => {
            let path = e.path().to_string();
            let message = strip_position(&inner.to_string());
            // serde names missing and unknown fields in the message, one level below the path.
            let named = between_backticks(&message).filter(|_| {
                message.starts_with("missing field") || message.starts_with("unknown field")
            });
            let field = match (path.as_str(), named) {
                (".", Some(name)) => name.to_owned(),
                (p, Some(name)) if message.starts_with("missing field") => format!("{p}.{name}"),
                (".", None) => "body".to_owned(),
                (p, _) => p.to_owned(),
            };
            let message = if message.starts_with("unknown field") {
                "unknown field".to_owned()
            } else {
                message
            };
            AppError::validation(field, message)
        }
    }
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn between_backticks(msg: &str) -> Option<&str> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(&msg[start..start + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant, with every specific code.
    fn every_error() -> Vec<AppError> {
        let mut all = vec![
            AppError::BadRequest(String::new()),
            AppError::Validation(Vec::new()),
            AppError::InvalidCredentials,
            AppError::Forbidden(String::new()),
            AppError::NotFound,
            AppError::MethodNotAllowed(String::new()),
            AppError::PayloadTooLarge,
            AppError::QuotaExceeded(String::new()),
            AppError::PreconditionRequired,
            AppError::PreconditionFailed,
            AppError::UnsupportedMediaType(String::new()),
            AppError::TooManyRequests {
                retry_after_secs: 1,
            },
            AppError::Unavailable(String::new()),
            AppError::Busy {
                retry_after_secs: 1,
            },
            AppError::InsufficientStorage(String::new()),
            AppError::Internal(String::new()),
        ];
        for code in Code::ALL {
            all.push(match code.status() {
                401 => AppError::Unauthorized(code),
                422 => AppError::unprocessable(code, String::new(), Vec::new()),
                _ => AppError::conflict(code, String::new()),
            });
        }
        all
    }

    /// Every code has its page, with the status it is answered with, and every page a code.
    #[test]
    fn the_catalogue_covers_every_code_exactly() {
        let errors = every_error();
        for e in &errors {
            let page = catalogue::problem_type(e.code())
                .unwrap_or_else(|| panic!("no page for {}", e.code()));
            assert_eq!(page.status, e.status_code().as_u16(), "{}", e.code());
            assert_eq!(e.to_problem().type_, format!("/docs/problems/{}", e.code()));
        }
        for page in catalogue::PROBLEM_TYPES {
            assert!(
                errors.iter().any(|e| e.code() == page.code),
                "{} is never answered",
                page.code
            );
        }
    }

    #[test]
    fn database_faults_are_500_and_outages_503() {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        let db = |kind, msg: &str| AppError::from(E::DatabaseError(kind, Box::new(msg.to_owned())));
        let status = |e: AppError| e.status_code().as_u16();
        // A bug is not an outage: clients must not retry it.
        assert_eq!(
            status(db(K::CheckViolation, "CHECK constraint failed")),
            500
        );
        assert_eq!(
            status(db(K::NotNullViolation, "NOT NULL constraint failed")),
            500
        );
        assert_eq!(status(db(K::Unknown, "no such column: x")), 500);
        assert_eq!(status(AppError::from(E::BrokenTransactionManager)), 500);
        assert_eq!(
            status(AppError::from(E::QueryBuilderError("bad".into()))),
            500
        );
        // Outages and contention are: 503 with Retry-After.
        assert_eq!(status(db(K::ClosedConnection, "closed")), 503);
        assert_eq!(
            status(db(K::SerializationFailure, "could not serialize")),
            503
        );
        assert_eq!(status(db(K::Unknown, "database is locked")), 503);
        assert_eq!(status(db(K::Unknown, "deadlock detected")), 503);
        assert_eq!(
            status(db(
                K::Unknown,
                "terminating connection due to administrator command"
            )),
            503
        );
        assert_eq!(
            status(db(K::Unknown, "the database system is shutting down")),
            503
        );
        assert_eq!(status(db(K::UniqueViolation, "UNIQUE")), 409);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code)]
    struct Body {
        name: String,
        inner: Inner,
    }
    #[derive(Debug, serde::Deserialize)]
    #[expect(dead_code)]
    struct Inner {
        count: u32,
    }

    fn parse(s: &str) -> AppError {
        let de = &mut serde_json::Deserializer::from_str(s);
        match serde_path_to_error::deserialize::<_, Body>(de) {
            Ok(_) => panic!("parsed"),
            Err(e) => json_error(e),
        }
    }

    fn fields(e: AppError) -> Vec<String> {
        match e {
            AppError::Validation(f) => f.into_iter().map(|f| f.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn names_missing_unknown_and_mistyped_fields() {
        assert_eq!(fields(parse(r#"{"inner":{"count":1}}"#)), ["name"]);
        assert_eq!(
            fields(parse(r#"{"name":"a","inner":{"count":1},"x":1}"#)),
            ["x"]
        );
        assert_eq!(
            fields(parse(r#"{"name":"a","inner":{"count":"x"}}"#)),
            ["inner.count"]
        );
        assert_eq!(fields(parse(r#"{"name":"a","inner":{}}"#)), ["inner.count"]);
    }

    #[test]
    fn syntax_errors_are_bad_requests() {
        assert!(matches!(parse("{"), AppError::BadRequest(_)));
        assert!(matches!(parse("nope"), AppError::BadRequest(_)));
    }
}
