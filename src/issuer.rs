//! A certificate issuer's public API, as an outside verifier sees it: `csr-assess certificate
//! verify --online URL` asks the issuer whether a certificate kept on file is still in force.

use std::time::Duration;

use serde::Deserialize;

use crate::auth::signing::Jwks;
use crate::certification::{SignedCertificate, parse_signed};

/// Answers larger than this are not a certificate or a key set.
const MAX_ANSWER: u64 = 1 << 20;

pub struct Issuer {
    /// The base URL, without a trailing slash.
    pub base: String,
    agent: ureq::Agent,
}

#[derive(Deserialize)]
struct Record {
    status: String,
    signed: serde_json::Value,
}

impl Issuer {
    pub fn new(base: &str) -> Result<Self, String> {
        let base = base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(format!("--online: {base} is not an http(s) URL"));
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(15)))
            .build()
            .into();
        Ok(Self {
            base: base.to_owned(),
            agent,
        })
    }

    /// The body at `path`, or `None` when the issuer answers 404.
    fn get(&self, path: &str) -> Result<Option<String>, String> {
        let url = format!("{}{path}", self.base);
        match self.agent.get(&url).call() {
            Ok(mut res) => res
                .body_mut()
                .with_config()
                .limit(MAX_ANSWER)
                .read_to_string()
                .map(Some)
                .map_err(|e| format!("{url}: {e}")),
            Err(ureq::Error::StatusCode(404)) => Ok(None),
            Err(e) => Err(format!("{url}: {e}")),
        }
    }

    /// The issuer's published signing keys.
    pub fn keys(&self) -> Result<Jwks, String> {
        let text = self
            .get("/.well-known/csr-assess/keys.json")?
            .ok_or_else(|| format!("{} publishes no signing keys", self.base))?;
        serde_json::from_str(&text).map_err(|e| format!("{}: keys: {e}", self.base))
    }

    /// The certificate's status at the issuer now. An error unless the issuer holds exactly
    /// this signed certificate under its number.
    pub fn status(&self, signed: &SignedCertificate) -> Result<String, String> {
        let number = &signed.payload.number;
        if crate::domain::certificate::parse(number).is_none() {
            return Err(format!("{number}: not a certificate number"));
        }
        let text = self
            .get(&format!("/api/v1/public/certificates/{number}"))?
            .ok_or_else(|| {
                format!(
                    "{number}: the issuer at {} has no such certificate",
                    self.base
                )
            })?;
        let record: Record =
            serde_json::from_str(&text).map_err(|e| format!("{}: {number}: {e}", self.base))?;
        let theirs = parse_signed(&record.signed.to_string())
            .map_err(|e| format!("{}: {number}: {e}", self.base))?;
        if theirs != *signed {
            return Err(format!(
                "{number}: the issuer at {} holds a different certificate under this number",
                self.base
            ));
        }
        Ok(record.status)
    }
}
