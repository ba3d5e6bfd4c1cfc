//! Review and certification: the reviewed score, certificate issuance (numbered, signed,
//! superseding the enterprise's previous certificate) and certificate views.

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::signing::{self, Jwks, ServiceKeys};
use crate::db::certificates::{self, Certificate, NewCertificate};
use crate::db::enterprises::Enterprise;
use crate::db::reviews::VerdictRow;
use crate::db::submissions::Submission;
use crate::db::{AnyConnection, now, schema_versions};
use crate::domain::canonical::canonical_json;
use crate::domain::certificate;
use crate::domain::schema::Text;
use crate::domain::scoring::{self, Score, Verdict};
use crate::error::{AppError, AppResult};
use crate::submissions::Loaded;

/// Whether a reviewer may act on `enterprise` (claim, verdicts, decisions, certificate status):
/// it lies in their association's region (404 otherwise, as for anything out of sight), they do
/// not belong to it, and it is not a competitor of the enterprise they belong to: one in the
/// same GB/T 4754 industry division (403 for both conflicts of interest).
pub fn reviewer_may_act(
    conn: &mut AnyConnection,
    user: &crate::auth::AuthUser,
    enterprise: &Enterprise,
) -> AppResult<()> {
    if user.role != crate::domain::Role::Reviewer || !user.reviews_region(&enterprise.region_code) {
        return Err(AppError::NotFound);
    }
    let Some(own) = user.enterprise_id else {
        return Ok(());
    };
    if own == enterprise.id {
        return Err(AppError::Forbidden(
            "reviewers never act on an enterprise they belong to".into(),
        ));
    }
    let own = crate::db::enterprises::find(conn, own)?;
    let division = |code: &str| code.get(..3).map(str::to_owned);
    if own.is_some_and(|o| division(&o.industry_code) == division(&enterprise.industry_code)) {
        return Err(AppError::Forbidden(
            "reviewers never act on a competitor of the enterprise they belong to (same industry division)"
                .into(),
        ));
    }
    Ok(())
}

/// The reviewer's verdicts as the scoring engine takes them.
pub fn engine_verdicts(rows: &[VerdictRow]) -> HashMap<String, Verdict> {
    rows.iter()
        .filter_map(|v| {
            let verdict = match v.verdict.as_str() {
                "adjust" => Verdict::Adjust(v.fraction.unwrap_or(0.0)),
                "request_evidence" => Verdict::RequestEvidence,
                _ => return None,
            };
            Some((v.criterion_id.clone(), verdict))
        })
        .collect()
}

/// The score with the reviewer's verdicts applied, by the same engine as the self-assessment.
pub fn reviewed_score(loaded: &Loaded, verdicts: &[VerdictRow]) -> Score {
    let r = &loaded.schema.resolved;
    scoring::score_reviewed(
        &r.themes,
        &loaded.schema.criteria,
        &r.levels,
        &loaded.engine_answers,
        &loaded.with_evidence,
        &engine_verdicts(verdicts),
    )
}

/// What a certificate says, signed as canonical JSON.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Payload {
    pub number: String,
    pub issuer: String,
    pub enterprise: PayloadEnterprise,
    pub level: String,
    pub level_label: Text,
    pub score: f64,
    pub schema: PayloadSchema,
    pub submission_id: i64,
    pub issued_on: String,
    pub expires_on: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayloadEnterprise {
    pub name: String,
    pub credit_code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PayloadSchema {
    pub id: String,
    pub version: String,
    pub content_hash: String,
}

/// A signed certificate as anyone can keep and verify offline against the published keys.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignedCertificate {
    pub payload: Payload,
    /// `EdDSA` (Ed25519) over the canonical JSON of `payload`.
    pub alg: String,
    pub kid: String,
    /// base64url.
    pub signature: String,
}

impl SignedCertificate {
    /// Checks the signature against a published key set.
    pub fn verify(&self, jwks: &Jwks) -> Result<(), String> {
        let value = serde_json::to_value(&self.payload).map_err(|e| e.to_string())?;
        signing::verify(
            jwks,
            &self.kid,
            canonical_json(&value).as_bytes(),
            &self.signature,
        )
    }
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
pub fn effective_status(c: &Certificate, today: NaiveDate) -> String {
    let expired = NaiveDate::parse_from_str(&c.expires_on, "%Y-%m-%d").is_ok_and(|d| d < today);
    if c.status == "active" && expired {
        "expired".into()
    } else {
        c.status.clone()
    }
}

pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Issues the certificate of an approved submission in the caller's transaction: numbers it,
/// signs it, and supersedes the enterprise's previous active certificate.
pub fn issue(
    conn: &mut AnyConnection,
    keys: &ServiceKeys,
    s: &Submission,
    enterprise: &Enterprise,
    score: &Score,
    actor: i64,
) -> AppResult<Certificate> {
    let doc = schema_versions::find(conn, &s.schema_id, &s.version)?
        .ok_or(AppError::NotFound)?
        .doc()?;
    let level = doc
        .levels
        .iter()
        .find(|l| l.id == score.level)
        .ok_or_else(|| AppError::internal("approved below every level"))?;
    let issued = today();
    let expires = issued
        .checked_add_months(Months::new(doc.certificate_validity_months))
        .unwrap_or(issued);
    let year = issued.year();
    let number = certificate::number(year, certificates::last_serial_in_year(conn, year)? + 1);
    let payload = Payload {
        number: number.clone(),
        issuer: "csr-assess".into(),
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
    let value = serde_json::to_value(&payload).map_err(AppError::internal)?;
    let text = canonical_json(&value);
    let (kid, signature) = keys.sign(text.as_bytes());
    for old in certificates::of_enterprise(conn, enterprise.id, "active")? {
        certificates::transition(
            conn,
            old.id,
            &["active"],
            "superseded",
            "superseded",
            Some(&format!("superseded by {number}")),
            Some(actor),
        )?;
    }
    let id = certificates::insert(
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
            status: "active",
            payload: &text,
            signature: &signature,
            kid: &kid,
            created_at: now(),
        },
    )?;
    certificates::event(conn, id, "issued", None, Some(actor))?;
    certificates::by_number(conn, &number)?.ok_or(AppError::NotFound)
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
    /// `active`, `suspended`, `revoked`, `superseded` or `expired`.
    pub status: String,
    /// Whether the signature verifies against the published keys.
    pub signature_valid: bool,
    pub signed: SignedCertificate,
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
    })
}
