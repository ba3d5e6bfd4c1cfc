//! Webhook events, their signatures (Standard Webhooks 1.0) and the retry schedule.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

/// What happened, as an endpoint subscribes to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// A reviewer returned the submission to the enterprise for changes.
    #[serde(rename = "submission.returned")]
    SubmissionReturned,
    #[serde(rename = "submission.approved")]
    SubmissionApproved,
    #[serde(rename = "submission.rejected")]
    SubmissionRejected,
    /// A reviewer asked for evidence on a criterion.
    #[serde(rename = "evidence.requested")]
    EvidenceRequested,
    #[serde(rename = "certificate.issued")]
    CertificateIssued,
    #[serde(rename = "certificate.suspended")]
    CertificateSuspended,
    #[serde(rename = "certificate.reinstated")]
    CertificateReinstated,
    #[serde(rename = "certificate.revoked")]
    CertificateRevoked,
    /// An active certificate expires within 30 days (sent once per certificate).
    #[serde(rename = "certificate.expiring")]
    CertificateExpiring,
    /// The certificate came under surveillance review (what the verification page shows).
    #[serde(rename = "certificate.under_surveillance")]
    CertificateUnderSurveillance,
    /// A renewal self-assessment was opened ahead of the certificate's expiry.
    #[serde(rename = "certificate.renewal_opened")]
    CertificateRenewalOpened,
    /// A complaint was forwarded to the enterprise: acknowledge it by `acknowledge_due`.
    #[serde(rename = "complaint.forwarded")]
    ComplaintForwarded,
    #[serde(rename = "complaint.acknowledged")]
    ComplaintAcknowledged,
    #[serde(rename = "complaint.proposed")]
    ComplaintProposed,
    /// The consumer's answer to the proposal was recorded (`accepted`).
    #[serde(rename = "complaint.answered")]
    ComplaintAnswered,
    #[serde(rename = "complaint.closed")]
    ComplaintClosed,
    #[serde(rename = "complaint.reopened")]
    ComplaintReopened,
    /// A deadline falls today or on the next working day (sent once per stage).
    #[serde(rename = "complaint.deadline_near")]
    ComplaintDeadlineNear,
    /// A deadline passed: the complaint is escalated to the association.
    #[serde(rename = "complaint.escalated")]
    ComplaintEscalated,
    /// Many complaints on one issue: a group-complaint incident was opened.
    #[serde(rename = "complaint_incident.opened")]
    ComplaintIncidentOpened,
}

impl EventType {
    pub const ALL: [Self; 20] = [
        Self::SubmissionReturned,
        Self::SubmissionApproved,
        Self::SubmissionRejected,
        Self::EvidenceRequested,
        Self::CertificateIssued,
        Self::CertificateSuspended,
        Self::CertificateReinstated,
        Self::CertificateRevoked,
        Self::CertificateExpiring,
        Self::CertificateUnderSurveillance,
        Self::CertificateRenewalOpened,
        Self::ComplaintForwarded,
        Self::ComplaintAcknowledged,
        Self::ComplaintProposed,
        Self::ComplaintAnswered,
        Self::ComplaintClosed,
        Self::ComplaintReopened,
        Self::ComplaintDeadlineNear,
        Self::ComplaintEscalated,
        Self::ComplaintIncidentOpened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SubmissionReturned => "submission.returned",
            Self::SubmissionApproved => "submission.approved",
            Self::SubmissionRejected => "submission.rejected",
            Self::EvidenceRequested => "evidence.requested",
            Self::CertificateIssued => "certificate.issued",
            Self::CertificateSuspended => "certificate.suspended",
            Self::CertificateReinstated => "certificate.reinstated",
            Self::CertificateRevoked => "certificate.revoked",
            Self::CertificateExpiring => "certificate.expiring",
            Self::CertificateUnderSurveillance => "certificate.under_surveillance",
            Self::CertificateRenewalOpened => "certificate.renewal_opened",
            Self::ComplaintForwarded => "complaint.forwarded",
            Self::ComplaintAcknowledged => "complaint.acknowledged",
            Self::ComplaintProposed => "complaint.proposed",
            Self::ComplaintAnswered => "complaint.answered",
            Self::ComplaintClosed => "complaint.closed",
            Self::ComplaintReopened => "complaint.reopened",
            Self::ComplaintDeadlineNear => "complaint.deadline_near",
            Self::ComplaintEscalated => "complaint.escalated",
            Self::ComplaintIncidentOpened => "complaint_incident.opened",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether the event says only what the public verification page says, so that an
    /// industry body may receive it for enterprises in its scope.
    pub fn is_public(self) -> bool {
        self.as_str().starts_with("certificate.") && self != Self::CertificateRenewalOpened
    }
}

/// Where a delivery stands (`webhook_deliveries.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not sent yet, or failed and due again at `next_attempt_at`.
    Pending,
    Delivered,
    /// Given up after the retry window; `POST …/redeliver` sends it again.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    /// The state stored as `s`; anything unknown is treated as pending.
    pub fn parse(s: &str) -> Self {
        [Self::Delivered, Self::Failed]
            .into_iter()
            .find(|d| d.as_str() == s)
            .unwrap_or(Self::Pending)
    }
}

/// The secret as shown to the endpoint's owner: `whsec_` and the key in base64.
pub fn secret_text(key: &[u8]) -> String {
    format!("whsec_{}", STANDARD.encode(key))
}

/// The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256, keyed with the endpoint's
/// secret, of `{webhook-id}.{webhook-timestamp}.{body}`.
pub fn signature(key: &[u8], message_id: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(format!("{message_id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// How long to wait before attempt `attempts + 1`, after `attempts` failed ones: `base`
/// doubled each time, at most eight hours.
pub fn retry_delay(attempts: u32, base: Duration) -> Duration {
    let factor = 1u32 << attempts.saturating_sub(1).min(20);
    base.saturating_mul(factor)
        .min(Duration::from_secs(8 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signatures_match_the_reference() {
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn event_types_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(EventType::parse("certificate.deleted"), None);
    }

    #[test]
    fn retries_double_up_to_eight_hours_and_last_a_day() {
        let base = Duration::from_secs(5);
        assert_eq!(retry_delay(1, base), Duration::from_secs(5));
        assert_eq!(retry_delay(2, base), Duration::from_secs(10));
        assert_eq!(retry_delay(5, base), Duration::from_secs(80));
        assert_eq!(retry_delay(40, base), Duration::from_secs(8 * 3600));
        let day: Duration = (1..=16).map(|n| retry_delay(n, base)).sum();
        assert!(day > Duration::from_secs(24 * 3600), "{day:?}");
    }
}
