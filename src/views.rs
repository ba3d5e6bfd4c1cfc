//! Response bodies. Rows never leave the service directly, so a new column cannot leak.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::certificates::Certificate;
use crate::db::{enterprises::Enterprise, users::User};
use crate::domain::certificate::CertificateStatus;
use crate::domain::{Role, Size};
use crate::error::{AppError, AppResult};

pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(t, Utc)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnterpriseView {
    pub id: i64,
    /// Unified social credit code (GB 32100-2015).
    pub credit_code: String,
    pub name: String,
    /// GB/T 4754-2017 industry code.
    pub industry_code: String,
    /// GB/T 2260 region code.
    pub region_code: String,
    #[schema(value_type = Size)]
    pub size: String,
    pub contact_email: String,
    pub created_at: DateTime<Utc>,
    /// Whether a reviewer or an administrator has checked the business licence against the
    /// credit code; only verified enterprises can be certified.
    pub verified: bool,
    pub verified_at: Option<DateTime<Utc>>,
}

impl From<Enterprise> for EnterpriseView {
    fn from(e: Enterprise) -> Self {
        Self {
            id: e.id,
            credit_code: e.credit_code,
            name: e.name,
            industry_code: e.industry_code,
            region_code: e.region_code,
            size: e.size,
            contact_email: e.contact_email,
            created_at: utc(e.created_at),
            verified: e.verified_at.is_some(),
            verified_at: e.verified_at.map(utc),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub enterprise_id: Option<i64>,
    /// Reviewers: GB/T 2260 region prefix of their association; `null` for national reviewers.
    pub region_scope: Option<String>,
    /// Industry bodies: GB/T 4754 code prefixes they may see.
    pub industry_scopes: Vec<String>,
    pub display_name: Option<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            email: u.email,
            role: u.role,
            enterprise_id: u.enterprise_id,
            region_scope: u.region_scope,
            industry_scopes: split_scopes(u.industry_scopes.as_deref()),
            display_name: u.display_name,
            disabled: u.disabled,
            created_at: utc(u.created_at),
        }
    }
}

pub fn split_scopes(s: Option<&str>) -> Vec<String> {
    s.unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The caller: their account and, for enterprise users, their enterprise.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    pub enterprise: Option<EnterpriseView>,
}

/// A certificate as its holder sees it in lists and on its submission: what it says, its status
/// now, and where to verify and download it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CertificateSummary {
    pub number: String,
    pub enterprise_id: i64,
    pub submission_id: i64,
    pub level: String,
    pub score: f64,
    pub issued_on: String,
    pub expires_on: String,
    /// Today's status: `expired` once `expires_on` has passed.
    pub status: CertificateStatus,
    /// The public verification page.
    pub verify_url: String,
    /// The signed certificate as JSON (`GET`, no login).
    pub json_url: String,
    /// The certificate as PDF (`GET`, no login).
    pub pdf_url: String,
}

impl From<&Certificate> for CertificateSummary {
    fn from(c: &Certificate) -> Self {
        let status = c.status_on(Utc::now().date_naive());
        Self {
            number: c.number.clone(),
            enterprise_id: c.enterprise_id,
            submission_id: c.submission_id,
            level: c.level.clone(),
            score: c.score,
            issued_on: c.issued_on.clone(),
            expires_on: c.expires_on.clone(),
            status,
            verify_url: format!("/verify/{}", c.number),
            json_url: format!("/api/v1/public/certificates/{}", c.number),
            pdf_url: format!("/api/v1/public/certificates/{}.pdf", c.number),
        }
    }
}

/// A page of a list. `next_cursor` is `null` on the last page; otherwise pass it as `cursor`
/// for the next one (the `Link: rel="next"` header carries the whole address).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; `null` when there is nothing more.
    pub next_cursor: Option<String>,
}

/// Opaque list cursors: a position in a list (an id, or a time and an id), encoded so that
/// clients pass it back rather than build it.
pub mod cursor {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use crate::error::{AppError, AppResult};

    const PREFIX: &str = "p1:";

    pub fn encode(position: &str) -> String {
        URL_SAFE_NO_PAD.encode(format!("{PREFIX}{position}"))
    }

    /// The position a cursor names; a string this API did not hand out is refused, naming the
    /// `cursor` parameter.
    pub fn decode(cursor: &str) -> AppResult<String> {
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| text.strip_prefix(PREFIX).map(str::to_owned))
            .ok_or_else(|| {
                AppError::validation(
                    "cursor",
                    "not a cursor from this API: pass `next_cursor` as is",
                )
            })
    }
}

/// Checks paging parameters: `limit` 1–200 (default 50); `cursor` names the last id of the
/// previous page (0 without one).
pub fn page_bounds(cursor: Option<&str>, limit: Option<i64>) -> AppResult<(i64, i64)> {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(AppError::validation("limit", "must be between 1 and 200"));
    }
    let after = match cursor {
        None => 0,
        Some(c) => cursor::decode(c)?
            .parse::<i64>()
            .ok()
            .filter(|id| *id >= 0)
            .ok_or_else(|| AppError::validation("cursor", "not a cursor of this list"))?,
    };
    Ok((after, limit))
}

/// One page of `rows`, which were read with `limit + 1` so that a following page is known to
/// exist: at most `limit` rows, and the cursor of the next page if there is one.
pub fn paged<R>(
    mut rows: Vec<R>,
    limit: i64,
    position: impl Fn(&R) -> String,
) -> (Vec<R>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|r| cursor::encode(&position(r)));
    (rows, next)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// EdDSA-signed JWT (`typ: at+jwt`), valid for `expires_in` seconds.
    pub access_token: String,
    /// Opaque, single-use refresh token.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in: i64,
}
