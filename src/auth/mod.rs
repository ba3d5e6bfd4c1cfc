//! Authentication and authorisation: password hashing, access tokens, and the [`AuthUser`]
//! extractor with its named role checks.

pub mod access;
pub mod browser;
pub mod jwt;
pub mod password;
pub mod signing;

use actix_web::HttpRequest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::Role;
use crate::error::AppError;

/// The roles each privileged operation requires. The operations check them again where their
/// work is done, beside the access middleware that enforces the OpenAPI declarations.
pub mod roles {
    use crate::domain::Role;

    pub const ADMIN: &[Role] = &[Role::Admin];
    pub const REVIEWER: &[Role] = &[Role::Reviewer];
    pub const ADMIN_OR_REVIEWER: &[Role] = &[Role::Admin, Role::Reviewer];
    pub const STATISTICS: &[Role] = &[Role::Admin, Role::Reviewer, Role::IndustryBody];
    pub const POPULATIONS: &[Role] = &[Role::Admin, Role::IndustryBody];
    pub const ENTERPRISE: &[Role] = &[Role::EnterpriseAdmin, Role::EnterpriseMember];
    pub const ENTERPRISE_ADMIN: &[Role] = &[Role::EnterpriseAdmin];
    pub const ENTERPRISE_MANAGERS: &[Role] = &[Role::Admin, Role::EnterpriseAdmin];
    pub const WEBHOOK_OWNERS: &[Role] = &[Role::EnterpriseAdmin, Role::IndustryBody];
    pub const WEBHOOK_READERS: &[Role] = &[Role::Admin, Role::EnterpriseAdmin, Role::IndustryBody];
    /// Association staff on complaints: complaint officers and reviewers.
    pub const COMPLAINT_STAFF: &[Role] = &[Role::ComplaintOfficer, Role::Reviewer];
    /// Who records a complaint: staff, and partner platforms through the API.
    pub const COMPLAINT_INTAKE: &[Role] = &[
        Role::ComplaintOfficer,
        Role::Reviewer,
        Role::ComplaintPlatform,
    ];
    /// Who reads complaints (each only those within reach).
    pub const COMPLAINT_READERS: &[Role] = &[
        Role::Admin,
        Role::ComplaintOfficer,
        Role::Reviewer,
        Role::ComplaintPlatform,
        Role::EnterpriseAdmin,
        Role::EnterpriseMember,
    ];
}

/// The client address that throttling counts for: the peer's (never a header it could forge),
/// and for IPv6 its /64 network, which one subscriber usually holds whole.
pub fn client_address(req: &HttpRequest) -> String {
    match req.peer_addr().map(|a| a.ip()) {
        Some(std::net::IpAddr::V6(ip)) if ip.to_ipv4_mapped().is_none() => {
            let s = ip.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(std::net::IpAddr::V6(ip)) => ip
            .to_ipv4_mapped()
            .map_or_else(String::new, |v4| v4.to_string()),
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    }
}

/// Cryptographically random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    buf
}

/// A random URL-safe token of `n` random bytes.
pub fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system's random source failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// The authenticated caller, taken from a valid bearer access token.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub role: Role,
    pub enterprise_id: Option<i64>,
    pub region_scope: Option<String>,
    pub industry_scopes: Vec<String>,
    /// The login session the token belongs to.
    pub session: String,
}

impl AuthUser {
    /// Allows one of `roles`, otherwise 403. The access middleware applies each operation's
    /// declared roles with it before the handler runs.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "this action needs one of the roles {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
    }

    /// Whether the caller may see enterprise `id`'s private data: its own users and admins.
    /// Everyone else gets the same 404 as for a missing enterprise.
    pub fn can_see_enterprise(&self, id: i64) -> bool {
        self.role == Role::Admin || self.belongs_to(id)
    }

    /// Whether the caller is a user of enterprise `id` (enterprise roles only: a reviewer's
    /// affiliation gives no access, it only bars reviewing that enterprise).
    pub fn belongs_to(&self, id: i64) -> bool {
        self.role.is_enterprise() && self.enterprise_id == Some(id)
    }

    /// Whether association staff (a complaint officer or a reviewer) cover a region code.
    pub fn staff_region(&self, region_code: &str) -> bool {
        matches!(self.role, Role::Reviewer | Role::ComplaintOfficer)
            && self
                .region_scope
                .as_deref()
                .is_none_or(|prefix| region_code.starts_with(prefix))
    }

    /// Whether a reviewer's association covers a region code (national reviewers cover all).
    pub fn reviews_region(&self, region_code: &str) -> bool {
        self.role == Role::Reviewer
            && self
                .region_scope
                .as_deref()
                .is_none_or(|prefix| region_code.starts_with(prefix))
    }
}
