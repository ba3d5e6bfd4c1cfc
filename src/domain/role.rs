//! The roles of the service.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Publishes schema versions and manages accounts.
    Admin,
    /// Association reviewer: checks evidence and decides certifications.
    Reviewer,
    /// Industry body: reads adoption statistics for its industries.
    IndustryBody,
    /// Manages one enterprise and its self-assessments.
    EnterpriseAdmin,
    /// Edits the self-assessments of one enterprise.
    EnterpriseMember,
    /// Association staff handling complaints (投诉和解), optionally for one region.
    ComplaintOfficer,
    /// A partner complaint platform's service account: files complaints and follows them.
    ComplaintPlatform,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Self::Admin,
        Self::Reviewer,
        Self::IndustryBody,
        Self::EnterpriseAdmin,
        Self::EnterpriseMember,
        Self::ComplaintOfficer,
        Self::ComplaintPlatform,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Reviewer => "reviewer",
            Self::IndustryBody => "industry_body",
            Self::EnterpriseAdmin => "enterprise_admin",
            Self::EnterpriseMember => "enterprise_member",
            Self::ComplaintOfficer => "complaint_officer",
            Self::ComplaintPlatform => "complaint_platform",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether the role has a region scope (a local association's staff).
    pub fn has_region(self) -> bool {
        matches!(self, Self::Reviewer | Self::ComplaintOfficer)
    }

    /// Whether users of this role belong to an enterprise.
    pub fn is_enterprise(self) -> bool {
        matches!(self, Self::EnterpriseAdmin | Self::EnterpriseMember)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
