//! The catalogue of problem codes that name a specific conflict or refused request, beside the
//! generic ones each [`super::AppError`] variant carries (`not_found`, `validation_failed` …).
//! A client branches on these; they never change once published.

/// A specific reason for a 401, 409 or 422.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    // 401
    MissingToken,
    InvalidToken,
    InvalidRefreshToken,
    /// A refresh token presented a second time: its whole family was logged out.
    RefreshTokenReused,
    // 409
    AlreadyExists,
    ReferenceConflict,
    AlreadyApproved,
    AlreadyClaimed,
    NotClaimable,
    ClaimedByAnother,
    EnterpriseUnverified,
    InvalidTransition,
    NotEditable,
    NotPublished,
    NotUnderReview,
    OwnAccount,
    SchemaChanged,
    SecondApproverRequired,
    VersionExists,
    VersionImmutable,
    /// Two approvals drew the same certificate number; the service retries it.
    CertificateNumberTaken,
    /// A complaint's personal data was erased after the retention period.
    PersonalDataErased,
    /// Only the staff member on a complaint's case reads the consumer's personal data.
    NotOnCase,
    // 422
    EvidenceRequested,
    IdempotencyKeyReused,
    NotCertifiable,
    SubmissionIncomplete,
    VerdictsRequired,
}

impl Code {
    pub const ALL: [Self; 28] = [
        Self::MissingToken,
        Self::InvalidToken,
        Self::InvalidRefreshToken,
        Self::RefreshTokenReused,
        Self::AlreadyExists,
        Self::ReferenceConflict,
        Self::AlreadyApproved,
        Self::AlreadyClaimed,
        Self::NotClaimable,
        Self::ClaimedByAnother,
        Self::EnterpriseUnverified,
        Self::InvalidTransition,
        Self::NotEditable,
        Self::NotPublished,
        Self::NotUnderReview,
        Self::OwnAccount,
        Self::SchemaChanged,
        Self::SecondApproverRequired,
        Self::VersionExists,
        Self::VersionImmutable,
        Self::CertificateNumberTaken,
        Self::PersonalDataErased,
        Self::NotOnCase,
        Self::EvidenceRequested,
        Self::IdempotencyKeyReused,
        Self::NotCertifiable,
        Self::SubmissionIncomplete,
        Self::VerdictsRequired,
    ];

    /// The status this code is answered with.
    pub fn status(self) -> u16 {
        match self {
            Self::MissingToken
            | Self::InvalidToken
            | Self::InvalidRefreshToken
            | Self::RefreshTokenReused => 401,
            Self::EvidenceRequested
            | Self::IdempotencyKeyReused
            | Self::NotCertifiable
            | Self::SubmissionIncomplete
            | Self::VerdictsRequired => 422,
            _ => 409,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::InvalidToken => "invalid_token",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::AlreadyExists => "already_exists",
            Self::ReferenceConflict => "reference_conflict",
            Self::AlreadyApproved => "already_approved",
            Self::AlreadyClaimed => "already_claimed",
            Self::NotClaimable => "not_claimable",
            Self::ClaimedByAnother => "claimed_by_another",
            Self::EnterpriseUnverified => "enterprise_unverified",
            Self::InvalidTransition => "invalid_transition",
            Self::NotEditable => "not_editable",
            Self::NotPublished => "not_published",
            Self::NotUnderReview => "not_under_review",
            Self::OwnAccount => "own_account",
            Self::SchemaChanged => "schema_changed",
            Self::SecondApproverRequired => "second_approver_required",
            Self::VersionExists => "version_exists",
            Self::VersionImmutable => "version_immutable",
            Self::CertificateNumberTaken => "certificate_number_taken",
            Self::PersonalDataErased => "personal_data_erased",
            Self::NotOnCase => "not_on_case",
            Self::EvidenceRequested => "evidence_requested",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::NotCertifiable => "not_certifiable",
            Self::SubmissionIncomplete => "submission_incomplete",
            Self::VerdictsRequired => "verdicts_required",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
        }
    }
}
