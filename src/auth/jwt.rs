//! Access tokens: EdDSA (Ed25519) JWTs with `typ: at+jwt`, validated per RFC 8725.
//!
//! Signing keys live in `<keys-dir>/jwt-keys.json` (created on first start, mode 0600) or in
//! the `CSR_JWT_KEYS` setting (the same JSON). Several keys may be present: the active one signs, all of them
//! verify, so a rotated-out key keeps its tokens valid until they expire.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::domain::Role;

pub const TOKEN_TYPE: &str = "at+jwt";
const KEYS_FILE: &str = "jwt-keys.json";
/// DER prefix of a PKCS#8 v1 Ed25519 private key, followed by the 32-byte seed.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredKey {
    pub kid: String,
    pub created_at: String,
    /// Base64 of the 32-byte Ed25519 seed.
    pub seed: String,
    /// When the key was retired: it no longer verifies access tokens (nor signs anything); the
    /// certificates and checkpoints it signed still verify against the published key set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    pub active: String,
    pub keys: Vec<StoredKey>,
}

impl KeyFile {
    fn generate_key() -> StoredKey {
        let seed: [u8; 32] = crate::auth::random_bytes();
        let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(public)[..12]);
        StoredKey {
            kid,
            created_at: chrono::Utc::now().to_rfc3339(),
            seed: STANDARD.encode(seed),
            retired_at: None,
        }
    }

    fn new() -> Self {
        let key = Self::generate_key();
        Self {
            active: key.kid.clone(),
            keys: vec![key],
        }
    }

    /// Adds a new key and makes it the one that signs; older keys still verify.
    pub fn rotate(&mut self) -> &StoredKey {
        let key = Self::generate_key();
        self.active = key.kid.clone();
        self.keys.push(key);
        self.keys.last().expect("just pushed")
    }

    /// Retires key `kid`: access tokens it signed stop working once the service restarts. The
    /// active key cannot be retired (rotate first).
    pub fn retire(&mut self, kid: &str) -> Result<(), String> {
        if kid == self.active {
            return Err(format!(
                "{kid} is the active key: rotate first, then retire it"
            ));
        }
        let key = self
            .keys
            .iter_mut()
            .find(|k| k.kid == kid)
            .ok_or_else(|| format!("no key {kid}"))?;
        if key.retired_at.is_none() {
            key.retired_at = Some(chrono::Utc::now().to_rfc3339());
        }
        Ok(())
    }

    /// Whether key `kid` has been retired.
    pub fn is_retired(&self, kid: &str) -> bool {
        self.keys
            .iter()
            .any(|k| k.kid == kid && k.retired_at.is_some())
    }

    /// Each key's id and 32-byte seed.
    pub fn seeds(&self) -> Result<Vec<(String, [u8; 32])>, String> {
        self.keys
            .iter()
            .map(|key| {
                STANDARD
                    .decode(&key.seed)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .map(|seed| (key.kid.clone(), seed))
                    .ok_or_else(|| format!("key {}: the seed must be 32 bytes in base64", key.kid))
            })
            .collect()
    }

    /// The keys `settings` name: `CSR_JWT_KEYS` if set, otherwise the file in the keys
    /// directory, created if missing.
    pub fn of(settings: &crate::config::Settings) -> Result<Self, String> {
        match &settings.jwt_keys {
            Some(json) => {
                serde_json::from_str(json.expose()).map_err(|e| format!("CSR_JWT_KEYS: {e}"))
            }
            None => Self::load_or_create(&settings.keys_dir()),
        }
    }

    /// Reads the key file in the keys directory, creating it if missing.
    pub fn load_or_create(keys_dir: &Path) -> Result<Self, String> {
        let path = keys_dir.join(KEYS_FILE);
        match std::fs::read_to_string(&path) {
            Ok(json) => serde_json::from_str(&json).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let file = Self::new();
                file.save(keys_dir)?;
                tracing::info!(kid = %file.active, path = %path.display(), "generated a token-signing key");
                Ok(file)
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Writes the file atomically, readable by the owner only.
    pub fn save(&self, keys_dir: &Path) -> Result<(), String> {
        crate::files::private_dir(keys_dir).map_err(|e| format!("{}: {e}", keys_dir.display()))?;
        let path = keys_dir.join(KEYS_FILE);
        let tmp = keys_dir.join(format!(".{KEYS_FILE}.tmp"));
        let json = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        write_private(&tmp, json.as_bytes()).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ent: Option<i64>,
    /// Reviewer region prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Industry-body industry prefixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub industries: Vec<String>,
    /// The login session (refresh-token family) the token belongs to: it stops working the
    /// moment that session ends.
    pub sid: String,
}

pub struct JwtKeys {
    active_kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_secs: i64,
    /// Tokens whose signature and claims this process has checked, with their claims.
    verified: Mutex<HashMap<Box<str>, Claims>>,
}

/// At most this many verified tokens are remembered (about 600 bytes each); when full, the
/// expired ones are dropped, and all of them if fewer than a quarter had expired.
const VERIFIED_TOKENS: usize = 4096;

impl JwtKeys {
    pub fn new(file: &KeyFile, settings: &Settings) -> Result<Self, String> {
        let mut decoding = HashMap::new();
        let mut encoding = None;
        for (kid, seed) in file.seeds()? {
            let public = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
            if !file.is_retired(&kid) {
                decoding.insert(kid.clone(), DecodingKey::from_ed_der(&public));
            }
            if kid == file.active {
                let mut der = PKCS8_ED25519_PREFIX.to_vec();
                der.extend_from_slice(&seed);
                encoding = Some(EncodingKey::from_ed_der(&der));
            }
        }
        let encoding =
            encoding.ok_or_else(|| format!("active key {} is not in the key file", file.active))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&settings.jwt_issuer]);
        validation.set_audience(&[&settings.jwt_audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        Ok(Self {
            active_kid: file.active.clone(),
            encoding,
            decoding,
            validation,
            issuer: settings.jwt_issuer.clone(),
            audience: settings.jwt_audience.clone(),
            ttl_secs: settings.access_token_ttl_secs,
            verified: Mutex::default(),
        })
    }

    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Signs an access token for a user.
    pub fn issue(
        &self,
        user_id: i64,
        role: Role,
        enterprise: Option<i64>,
        region: Option<String>,
        industries: Vec<String>,
        session: &str,
    ) -> Result<String, String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            exp: now + self.ttl_secs,
            iat: now,
            nbf: now,
            jti: crate::auth::random_token(12),
            role,
            ent: enterprise,
            region,
            industries,
            sid: session.to_owned(),
        };
        self.sign(&claims)
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(TOKEN_TYPE.into());
        header.kid = Some(self.active_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// Validates a bearer token: EdDSA only, known `kid`, `typ: at+jwt`, issuer, audience and
    /// time claims. Any failure is `None`; the reason is logged at debug level.
    ///
    /// A token seen before is not verified again: its signature cannot have changed, and the
    /// keys that verify are fixed for the life of the process. Its time claims are checked at
    /// every use. (An Ed25519 verification is about 400,000 instructions, a fifth of an answer
    /// save.) Only tokens that passed are remembered, under their full text.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let now = chrono::Utc::now().timestamp();
        if let Some(claims) = self.remembered(token, now) {
            return claims;
        }
        let claims = self.verify_signed(token)?;
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        if verified.len() >= VERIFIED_TOKENS {
            verified.retain(|_, c| self.in_time(c, now));
            // Mostly live tokens: start afresh rather than sweep the map at every new token.
            if verified.len() >= VERIFIED_TOKENS * 3 / 4 {
                verified.clear();
            }
        }
        verified.insert(token.into(), claims.clone());
        Some(claims)
    }

    /// `Some(claims)` of a remembered token still in time, `Some(None)` of one that no longer
    /// is (forgotten), `None` of a token not seen.
    fn remembered(&self, token: &str, now: i64) -> Option<Option<Claims>> {
        let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
        let claims = verified.get(token)?;
        if self.in_time(claims, now) {
            return Some(Some(claims.clone()));
        }
        verified.remove(token);
        Some(None)
    }

    /// The time claims as the validation checks them: not expired, not before its time, with
    /// the same leeway.
    fn in_time(&self, claims: &Claims, now: i64) -> bool {
        let leeway = i64::try_from(self.validation.leeway).unwrap_or(i64::MAX);
        claims.exp.saturating_add(leeway) >= now && claims.nbf.saturating_sub(leeway) <= now
    }

    fn verify_signed(&self, token: &str) -> Option<Claims> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(TOKEN_TYPE) {
            tracing::debug!(alg = ?header.alg, typ = ?header.typ, "token rejected: algorithm or type");
            return None;
        }
        let key = self.decoding.get(header.kid.as_deref()?)?;
        match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
            Ok(data) => Some(data.claims),
            Err(e) => {
                tracing::debug!(error = %e, "token rejected");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        let settings = Settings::from_env().expect("default settings");
        JwtKeys::new(&KeyFile::new(), &settings).expect("keys")
    }

    fn token(keys: &JwtKeys) -> String {
        keys.issue(
            7,
            Role::EnterpriseAdmin,
            Some(3),
            None,
            Vec::new(),
            "family",
        )
        .expect("token")
    }

    #[test]
    fn a_token_verified_once_is_remembered_and_its_time_still_checked() {
        let keys = keys();
        let t = token(&keys);
        let first = keys.verify(&t).expect("valid");
        assert_eq!((first.sub.as_str(), first.ent), ("7", Some(3)));
        assert_eq!(keys.verified.lock().expect("lock").len(), 1);
        let again = keys.verify(&t).expect("still valid");
        assert_eq!((again.sub, again.sid), (first.sub, first.sid));

        // Past its expiry (and the leeway), a remembered token is refused and forgotten.
        keys.verified
            .lock()
            .expect("lock")
            .get_mut(t.as_str())
            .expect("remembered")
            .exp = chrono::Utc::now().timestamp() - 31;
        assert!(keys.verify(&t).is_none());
        assert!(keys.verified.lock().expect("lock").is_empty());
    }

    #[test]
    fn only_tokens_that_pass_are_remembered() {
        let keys = keys();
        let t = token(&keys);
        keys.verify(&t).expect("valid");
        // The same claims under a changed signature: not the remembered text, so verified, and
        // refused.
        let (rest, signature) = t.rsplit_once('.').expect("three parts");
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let forged = format!("{rest}.{flipped}{}", &signature[1..]);
        assert!(keys.verify(&forged).is_none());
        assert!(keys.verify("not.a.token").is_none());
        let verified = keys.verified.lock().expect("lock");
        assert_eq!(verified.len(), 1);
        assert!(verified.contains_key(t.as_str()));
    }

    #[test]
    fn the_remembered_tokens_are_bounded() {
        let keys = keys();
        for _ in 0..VERIFIED_TOKENS + 10 {
            keys.verify(&token(&keys)).expect("valid");
        }
        let n = keys.verified.lock().expect("lock").len();
        assert!((1..=VERIFIED_TOKENS).contains(&n), "{n} remembered");
    }
}
