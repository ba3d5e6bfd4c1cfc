//! Ed25519 signatures over canonical JSON: certificates and audit checkpoints. The same keys
//! as the access tokens; their public halves are published as a JWK set at
//! `/.well-known/csr-assess/keys.json` so anyone can verify offline.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::jwt::KeyFile;

pub struct ServiceKeys {
    active_kid: String,
    active: SigningKey,
    public: BTreeMap<String, VerifyingKey>,
}

/// One published public key (RFC 8037 OKP JWK).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    pub kid: String,
    pub kty: String,
    pub crv: String,
    /// The public key, base64url.
    pub x: String,
    #[serde(rename = "use")]
    pub use_: String,
    pub alg: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

impl ServiceKeys {
    pub fn new(file: &KeyFile) -> Result<Self, String> {
        let mut public = BTreeMap::new();
        let mut active = None;
        for (kid, seed) in file.seeds()? {
            let key = SigningKey::from_bytes(&seed);
            public.insert(kid.clone(), key.verifying_key());
            if kid == file.active {
                active = Some(key);
            }
        }
        Ok(Self {
            active: active.ok_or("the active key is not in the key file")?,
            active_kid: file.active.clone(),
            public,
        })
    }

    /// Signs `message` with the active key: (kid, base64url signature).
    pub fn sign(&self, message: &[u8]) -> (String, String) {
        let sig = self.active.sign(message);
        (
            self.active_kid.clone(),
            URL_SAFE_NO_PAD.encode(sig.to_bytes()),
        )
    }

    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self
                .public
                .iter()
                .map(|(kid, key)| Jwk {
                    kid: kid.clone(),
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: URL_SAFE_NO_PAD.encode(key.to_bytes()),
                    use_: "sig".into(),
                    alg: "EdDSA".into(),
                })
                .collect(),
        }
    }
}

/// Verifies a base64url Ed25519 signature of `message` by key `kid` of a published key set.
pub fn verify(jwks: &Jwks, kid: &str, message: &[u8], signature: &str) -> Result<(), String> {
    let jwk = jwks
        .keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| format!("no published key {kid:?}"))?;
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&jwk.x)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the published key is not 32 bytes")?;
    let key = VerifyingKey::from_bytes(&x).map_err(|e| format!("invalid public key: {e}"))?;
    let sig: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("the signature is not 64 bytes of base64url")?;
    key.verify(message, &Signature::from_bytes(&sig))
        .map_err(|_| "the signature does not match".to_owned())
}
