//! Review and certification: the reviewed score, certificate issuance (numbered, signed,
//! superseding the enterprise's previous certificate) and certificate views.

use chrono::{Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::signing::{self, Jwks, ServiceKeys};
use crate::auth::{AuthUser, roles};
use crate::db::certificates::{self, Certificate, NewCertificate};
use crate::db::enterprises::Enterprise;
use crate::db::submissions::Submission;
use crate::db::{AnyConnection, audit, enterprises, now, users};
use crate::domain::canonical::canonical_json;
use crate::domain::certificate::{self, CertificateChange, CertificateStatus};
use crate::domain::schema::Text;
use crate::domain::scoring::Score;
use crate::domain::webhook::EventType;
use crate::domain::{IndustryCode, RegionCode, Role};
use crate::error::{AppError, AppResult, Code};
use crate::schemas::ResolvedSchema;
use crate::scope::reviewer_may_act;
use crate::state::AppState;
use crate::views::{CertificateSummary, Page, page_bounds, paged};
use crate::webhooks;

/// What a certificate says, signed as canonical JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    pub number: String,
    /// The issuing association.
    pub issuer: Text,
    pub enterprise: PayloadEnterprise,
    pub level: String,
    pub level_label: Text,
    pub score: f64,
    pub schema: PayloadSchema,
    pub submission_id: i64,
    pub issued_on: String,
    pub expires_on: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayloadEnterprise {
    pub name: String,
    pub credit_code: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayloadSchema {
    pub id: String,
    pub version: String,
    pub content_hash: String,
}

/// A signed certificate as anyone can keep and verify offline against the published keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignedCertificate {
    pub payload: Payload,
    /// `EdDSA` (Ed25519) over the canonical JSON of `payload`.
    pub alg: String,
    pub kid: String,
    /// base64url.
    pub signature: String,
}

impl SignedCertificate {
    /// Checks the signature against a published key set. Only `EdDSA` is accepted.
    pub fn verify(&self, jwks: &Jwks) -> Result<(), String> {
        if self.alg != "EdDSA" {
            return Err(format!(
                "the algorithm {:?} is not EdDSA, the only one certificates use",
                self.alg
            ));
        }
        let message = signed_message(&self.payload).map_err(|e| e.to_string())?;
        let verified = signing::verify(jwks, &self.kid, message.as_bytes(), &self.signature);
        if verified.is_ok() {
            return verified;
        }
        // Certificates issued before signatures followed RFC 8785 were signed over the same
        // keys in the same order, with whole numbers written as `85.0`; they stay valid. The
        // earlier form is accepted for them only, so a signature made later over it is not.
        if self.payload.issued_on.as_str() > LAST_LEGACY_ISSUE {
            return verified;
        }
        let value = serde_json::to_value(&self.payload).map_err(|e| e.to_string())?;
        let legacy = canonical_json(&value);
        if legacy != message
            && signing::verify(jwks, &self.kid, legacy.as_bytes(), &self.signature).is_ok()
        {
            return Ok(());
        }
        verified
    }
}

/// The last day a certificate was signed over the earlier canonical form (before RFC 8785).
pub const LAST_LEGACY_ISSUE: &str = "2026-12-06";

/// The bytes a certificate's signature covers: the payload canonicalised by RFC 8785 (JSON
/// Canonicalization Scheme), so that a verifier in any language rebuilds them exactly.
pub fn signed_message(payload: &Payload) -> Result<String, serde_json::Error> {
    serde_json_canonicalizer::to_string(payload)
}

/// Reads a signed certificate from JSON text (the `signed` object of the public certificate
/// JSON, or the whole of it) strictly: a key given twice anywhere, or a field the format does
/// not have, is an error, so that no parser can read a different certificate from the same
/// bytes than the one whose signature was checked.
pub fn parse_signed(text: &str) -> Result<SignedCertificate, String> {
    no_duplicate_keys(text)?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let signed = match value.get("signed") {
        Some(inner) => inner.clone(),
        None => value,
    };
    serde_json::from_value(signed).map_err(|e| format!("not a signed certificate: {e}"))
}

/// Fails when a JSON object anywhere in `text` has the same key twice.
fn no_duplicate_keys(text: &str) -> Result<(), String> {
    use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

    struct Strict;
    impl<'de> serde::Deserialize<'de> for Strict {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(Strict)
        }
    }
    impl<'de> Visitor<'de> for Strict {
        type Value = Strict;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key.clone()) {
                    return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
                }
                map.next_value::<Strict>()?;
            }
            Ok(Strict)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
            while seq.next_element::<Strict>()?.is_some() {}
            Ok(Strict)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Strict, E> {
            Ok(Strict)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Strict, E> {
            Ok(Strict)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Strict, E> {
            Ok(Strict)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Strict, E> {
            Ok(Strict)
        }
        fn visit_str<E>(self, _: &str) -> Result<Strict, E> {
            Ok(Strict)
        }
        fn visit_unit<E>(self) -> Result<Strict, E> {
            Ok(Strict)
        }
    }
    serde_json::from_str::<Strict>(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

pub fn signed(c: &Certificate) -> AppResult<SignedCertificate> {
    Ok(SignedCertificate {
        payload: serde_json::from_str(&c.payload).map_err(AppError::internal)?,
        alg: "EdDSA".into(),
        kid: c.kid.clone(),
        signature: c.signature.clone(),
    })
}

/// The status shown to people: `expired` is derived from the date.
pub fn effective_status(c: &Certificate, today: NaiveDate) -> CertificateStatus {
    c.status_on(today)
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// What a certificate is issued on: an approved submission, its enterprise, the schema version
/// it was answered against and the score approved.
pub struct Approved<'a> {
    pub submission: &'a Submission,
    pub enterprise: &'a Enterprise,
    pub schema: &'a ResolvedSchema,
    pub score: &'a Score,
}

/// Issues the certificate of an approved submission in the caller's transaction: numbers it,
/// signs it, and supersedes the enterprise's previous active certificate.
pub fn issue(
    conn: &mut AnyConnection,
    keys: &ServiceKeys,
    issuer: &Text,
    approved: Approved<'_>,
    actor: i64,
) -> AppResult<Certificate> {
    let Approved {
        submission: s,
        enterprise,
        schema,
        score,
    } = approved;
    let level = schema
        .resolved
        .levels
        .iter()
        .find(|l| l.id == score.level)
        .ok_or_else(|| AppError::internal("approved below every level"))?;
    let issued = today();
    let expires = issued
        .checked_add_months(Months::new(schema.certificate_validity_months))
        .unwrap_or(issued);
    let year = issued.year();
    let number = certificate::number(year, certificates::last_serial_in_year(conn, year)? + 1);
    let payload = Payload {
        number: number.clone(),
        issuer: issuer.clone(),
        enterprise: PayloadEnterprise {
            name: enterprise.name.clone(),
            credit_code: enterprise.credit_code.clone(),
        },
        level: level.id.clone(),
        level_label: level.label.clone(),
        score: score.total,
        schema: PayloadSchema {
            id: s.schema_id.clone(),
            version: s.version.clone(),
            content_hash: s.schema_hash.clone(),
        },
        submission_id: s.id,
        issued_on: issued.to_string(),
        expires_on: expires.to_string(),
    };
    let text = signed_message(&payload).map_err(AppError::internal)?;
    let (kid, signature) = keys.sign(text.as_bytes());
    let superseded = certificates::supersede_active(conn, enterprise.id)?;
    let certificate = certificates::insert(
        conn,
        &NewCertificate {
            number: &number,
            enterprise_id: enterprise.id,
            submission_id: s.id,
            level: &level.id,
            schema_id: &s.schema_id,
            version: &s.version,
            schema_hash: &s.schema_hash,
            score: score.total,
            issued_on: &payload.issued_on,
            expires_on: &payload.expires_on,
            status: CertificateStatus::Active.as_str(),
            payload: &text,
            signature: &signature,
            kid: &kid,
            created_at: now(),
        },
    )?;
    // The history: each certificate this one supersedes, then its issue.
    let reason = format!("superseded by {number}");
    let mut events: Vec<(i64, &str, Option<&str>)> = superseded
        .into_iter()
        .map(|id| {
            (
                id,
                CertificateChange::Supersede.event(),
                Some(reason.as_str()),
            )
        })
        .collect();
    events.push((certificate.id, "issued", None));
    certificates::events(conn, &events, Some(actor))?;
    Ok(certificate)
}

/// A certificate as the public sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicCertificate {
    pub number: String,
    pub enterprise_name: String,
    pub credit_code: String,
    pub level: String,
    pub level_label: Text,
    pub score: f64,
    pub schema_id: String,
    pub version: String,
    pub issued_on: String,
    pub expires_on: String,
    pub status: CertificateStatus,
    /// Whether the signature verifies against the published keys.
    pub signature_valid: bool,
    pub signed: SignedCertificate,
    /// Whether the association is reviewing the certificate after complaints crossed a
    /// threshold (no complaint details are published).
    pub under_surveillance: bool,
    /// Whether the holder is an approved complaint-reconciliation liaison unit.
    pub liaison_unit: bool,
}

pub fn public_view(c: &Certificate, jwks: &Jwks) -> AppResult<PublicCertificate> {
    let signed = signed(c)?;
    Ok(PublicCertificate {
        number: c.number.clone(),
        enterprise_name: signed.payload.enterprise.name.clone(),
        credit_code: signed.payload.enterprise.credit_code.clone(),
        level: c.level.clone(),
        level_label: signed.payload.level_label.clone(),
        score: c.score,
        schema_id: c.schema_id.clone(),
        version: c.version.clone(),
        issued_on: c.issued_on.clone(),
        expires_on: c.expires_on.clone(),
        status: effective_status(c, today()),
        signature_valid: signed.verify(jwks).is_ok(),
        signed,
        under_surveillance: false,
        liaison_unit: false,
    })
}

/// Suspends, reinstates or revokes a certificate, with the reason the history and the audit log
/// keep: administrators, and reviewers who may act on the enterprise. A suspension by an
/// administrator is lifted only by an administrator.
pub async fn change_status(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    number: &str,
    reason: String,
    change: CertificateChange,
) -> AppResult<Certificate> {
    user.require(roles::ADMIN_OR_REVIEWER)?;
    if reason.trim().is_empty() || reason.chars().count() > 2000 {
        return Err(AppError::validation(
            "reason",
            "give a reason of at most 2000 characters",
        ));
    }
    let number = certificate::parse(number).ok_or(AppError::NotFound)?;
    state
        .db
        .write(move |conn| {
            let c = certificates::by_number(conn, &number)?.ok_or(AppError::NotFound)?;
            apply_change(conn, &user, &request_id, c, change, &reason)
        })
        .await
}

/// Suspends, reinstates or revokes `c` in the caller's transaction: checks that a reviewer may
/// act on the enterprise, records the transition with its reason, audits it and raises the
/// certificate event.
pub fn apply_change(
    conn: &mut AnyConnection,
    user: &AuthUser,
    request_id: &str,
    c: Certificate,
    change: CertificateChange,
    reason: &str,
) -> AppResult<Certificate> {
    if user.role == Role::Reviewer {
        let e = enterprises::find(conn, c.enterprise_id)?.ok_or(AppError::NotFound)?;
        reviewer_may_act(conn, user, &e)?;
        if change == CertificateChange::Reinstate
            && let Some(by) =
                certificates::last_actor(conn, c.id, CertificateChange::Suspend.event())?
            && users::find(conn, by)?.is_some_and(|u| u.role == Role::Admin.as_str())
        {
            return Err(AppError::Forbidden(
                "an administrator suspended this certificate; only an administrator can \
                 reinstate it"
                    .into(),
            ));
        }
    }
    let to = change.to();
    if !certificates::transition(conn, c.id, change, Some(reason), Some(user.id))? {
        return Err(AppError::conflict(
            Code::InvalidTransition,
            format!("the certificate is {} and cannot be {to}", c.status),
        ));
    }
    audit::append(
        conn,
        audit::Event {
            actor_user_id: Some(user.id),
            action: &format!("certificate.{}", change.event()),
            entity_type: "certificate",
            entity_id: c.number.clone(),
            enterprise_id: Some(c.enterprise_id),
            request_id: Some(request_id),
            details: serde_json::json!({ "from": c.status, "to": to, "reason": reason }),
        },
    )?;
    let changed = certificates::by_number(conn, &c.number)?.ok_or(AppError::NotFound)?;
    let kind = match change {
        CertificateChange::Suspend => Some(EventType::CertificateSuspended),
        CertificateChange::Reinstate => Some(EventType::CertificateReinstated),
        CertificateChange::Revoke => Some(EventType::CertificateRevoked),
        CertificateChange::Supersede => None,
    };
    if let Some(kind) = kind {
        let e = enterprises::find(conn, c.enterprise_id)?.ok_or(AppError::NotFound)?;
        let event = webhooks::certificate_event(kind, &changed, &e.industry_code, Some(reason));
        webhooks::emit(conn, event)?;
    }
    Ok(changed)
}

/// Certificate `number` as anyone may verify it; 404 for a malformed or unknown number.
pub async fn public_certificate(state: &AppState, number: &str) -> AppResult<PublicCertificate> {
    let number = certificate::parse(number).ok_or(AppError::NotFound)?;
    let (c, flags) = state
        .db
        .read(move |conn| {
            let c = certificates::by_number(conn, &number)?.ok_or(AppError::NotFound)?;
            let flags = public_flags(conn, &c)?;
            Ok((c, flags))
        })
        .await?;
    let mut view = public_view(&c, &state.signing.jwks())?;
    (view.under_surveillance, view.liaison_unit) = flags;
    Ok(view)
}

/// What the public sees beside a certificate: whether it is under surveillance review, and
/// whether its holder is a reconciliation liaison unit.
pub fn public_flags(conn: &mut AnyConnection, c: &Certificate) -> AppResult<(bool, bool)> {
    Ok((
        crate::complaints::surveillance::under_surveillance(conn, c.id)?,
        crate::complaints::liaison::is_unit(conn, c.enterprise_id)?,
    ))
}

/// The filters of the public directory, as given.
#[derive(Debug, Default)]
pub struct DirectoryFilter {
    /// GB/T 4754 code prefix.
    pub industry: Option<String>,
    /// GB/T 2260 region prefix.
    pub region: Option<String>,
    /// Part of the enterprise name or certificate number.
    pub q: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// The certificates an enterprise holds, in any status, oldest first: its own users see their
/// enterprise's, administrators everyone's.
pub async fn list(
    state: &AppState,
    user: &AuthUser,
    after: i64,
    limit: i64,
) -> AppResult<Page<CertificateSummary>> {
    let enterprise = match user.role {
        Role::Admin => None,
        _ => {
            user.require(roles::ENTERPRISE)?;
            match user.enterprise_id.filter(|e| user.belongs_to(*e)) {
                Some(e) => Some(e),
                None => {
                    return Ok(Page {
                        items: Vec::new(),
                        next_cursor: None,
                    });
                }
            }
        }
    };
    let rows = state
        .db
        .read(move |conn| certificates::list(conn, enterprise, after, limit + 1))
        .await?;
    let (rows, next_cursor) = paged(rows, limit, |c| c.id.to_string());
    Ok(Page {
        items: rows.iter().map(Into::into).collect(),
        next_cursor,
    })
}

/// Active, unexpired certificates matching the filter, by id after the cursor.
pub async fn directory(state: &AppState, f: DirectoryFilter) -> AppResult<Page<PublicCertificate>> {
    let industry = f
        .industry
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(IndustryCode::parse)
        .transpose()
        .map_err(|e| AppError::validation("industry", e))?;
    let region = f
        .region
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(RegionCode::parse_prefix)
        .transpose()
        .map_err(|e| AppError::validation("region", e))?;
    let (after, limit) = page_bounds(f.cursor.as_deref(), f.limit)?;
    let text =
        f.q.filter(|s| !s.trim().is_empty())
            .map(|s| s.trim().chars().take(100).collect::<String>());
    let today = today().to_string();
    let rows = state
        .db
        .read(move |conn| {
            certificates::directory(
                conn,
                &today,
                industry.as_ref().map(|i| i.as_str()),
                region.as_deref(),
                text.as_deref(),
                after,
                limit + 1,
            )
        })
        .await?;
    let jwks = state.signing.jwks();
    let (rows, next_cursor) = paged(rows, limit, |r| r.0.id.to_string());
    let certs: Vec<Certificate> = rows.into_iter().map(|r| r.0).collect();
    let (certs, flags) = state
        .db
        .read(move |conn| {
            let flags = certs
                .iter()
                .map(|c| public_flags(conn, c))
                .collect::<AppResult<Vec<_>>>()?;
            Ok((certs, flags))
        })
        .await?;
    let items = certs
        .iter()
        .zip(flags)
        .map(|(c, (surveillance, liaison))| {
            let mut v = public_view(c, &jwks)?;
            (v.under_surveillance, v.liaison_unit) = (surveillance, liaison);
            Ok(v)
        })
        .collect::<AppResult<_>>()?;
    Ok(Page { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwt::KeyFile;

    fn payload(score: f64) -> Payload {
        Payload {
            number: "CCA-2026-000001".into(),
            issuer: Text {
                zh: "中国消费者协会".into(),
                en: "China Consumers' Association".into(),
            },
            enterprise: PayloadEnterprise {
                name: "杭州放心食品有限公司".into(),
                credit_code: "91330100MA27XYZ12A".into(),
            },
            level: "good".into(),
            level_label: Text {
                zh: "良好".into(),
                en: "Good".into(),
            },
            score,
            schema: PayloadSchema {
                id: "cca-good-enterprise".into(),
                version: "2024".into(),
                content_hash: "ab".repeat(32),
            },
            submission_id: 7,
            issued_on: "2026-12-06".into(),
            expires_on: "2029-12-06".into(),
        }
    }

    fn keys() -> (ServiceKeys, Jwks) {
        let dir = tempfile::tempdir().unwrap();
        let keys = ServiceKeys::new(&KeyFile::load_or_create(dir.path()).unwrap()).unwrap();
        let jwks = keys.jwks();
        (keys, jwks)
    }

    /// RFC 8785 writes numbers as ECMAScript does: a whole score has no `.0`, keys are sorted
    /// at every level and text is written as UTF-8, not escaped.
    #[test]
    fn the_signed_bytes_are_rfc_8785() {
        let text = signed_message(&payload(85.0)).unwrap();
        assert!(text.contains(r#""score":85,"#), "{text}");
        assert!(
            text.starts_with(r#"{"enterprise":{"credit_code":"#),
            "{text}"
        );
        assert!(text.contains("杭州放心食品有限公司"), "{text}");
        assert!(
            signed_message(&payload(72.5))
                .unwrap()
                .contains(r#""score":72.5,"#)
        );
        assert!(
            signed_message(&payload(1e-7))
                .unwrap()
                .contains(r#""score":1e-7,"#)
        );
    }

    #[test]
    fn a_signature_over_rfc_8785_verifies_and_a_changed_payload_does_not() {
        let (keys, jwks) = keys();
        let p = payload(85.0);
        let (kid, signature) = keys.sign(signed_message(&p).unwrap().as_bytes());
        let mut cert = SignedCertificate {
            payload: p,
            alg: "EdDSA".into(),
            kid,
            signature,
        };
        cert.verify(&jwks).unwrap();
        cert.payload.score = 85.5;
        assert!(cert.verify(&jwks).is_err());
    }

    /// Certificates signed before the switch to RFC 8785 (whole numbers as `85.0`) still verify.
    #[test]
    fn certificates_signed_over_the_earlier_form_still_verify() {
        let (keys, jwks) = keys();
        let p = payload(85.0);
        let legacy = canonical_json(&serde_json::to_value(&p).unwrap());
        assert!(legacy.contains(r#""score":85.0,"#), "{legacy}");
        let (kid, signature) = keys.sign(legacy.as_bytes());
        let mut cert = SignedCertificate {
            payload: p,
            alg: "EdDSA".into(),
            kid,
            signature,
        };
        cert.verify(&jwks).unwrap();
        cert.payload.enterprise.name.push('X');
        assert!(cert.verify(&jwks).is_err());
    }

    /// The earlier form is accepted only for certificates issued while it was in use.
    #[test]
    fn the_earlier_form_is_refused_for_later_certificates() {
        let (keys, jwks) = keys();
        let mut p = payload(85.0);
        p.issued_on = "2026-12-07".into();
        let legacy = canonical_json(&serde_json::to_value(&p).unwrap());
        let (kid, signature) = keys.sign(legacy.as_bytes());
        let cert = SignedCertificate {
            payload: p,
            alg: "EdDSA".into(),
            kid,
            signature,
        };
        assert!(cert.verify(&jwks).is_err());
    }
}
