//! Sealing consumers' personal data at rest: AES-256-GCM with a random 96-bit nonce per value
//! and the complaint's reference as associated data, so a sealed value copied onto another
//! complaint does not open. The key comes from configuration (`CSR_PERSONAL_DATA_KEY`) or the
//! keys directory, never from the database: a copy of the database alone reveals nothing.
//!
//! Stored form: `v1.<key id>.<base64(nonce ‖ ciphertext ‖ tag)>`, where the key id is the first
//! eight hex digits of SHA-256 over a label and the key, so a value sealed under another key is
//! recognised as such instead of failing as tampered.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::error::{AppError, AppResult};

/// The file in the keys directory that holds the key when the environment does not.
pub const KEY_FILE: &str = "personal-data.key";

pub struct Sealer {
    cipher: Aes256Gcm,
    kid: String,
    /// Keys [`Sealer::digest`]: derived from the key, never the key itself.
    mac_key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").field("kid", &self.kid).finish()
    }
}

impl Sealer {
    pub fn new(key: [u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(b"csr-assess personal-data key\0");
        h.update(key);
        let kid: String = h.finalize()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut m = Sha256::new();
        m.update(b"csr-assess personal-data digest\0");
        m.update(key);
        Self {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(key)),
            kid,
            mac_key: m.finalize().into(),
        }
    }

    /// The key `settings` name: `CSR_PERSONAL_DATA_KEY`, or the key file in the keys directory
    /// (created with a random key when missing).
    pub fn of(settings: &Settings) -> Result<Self, String> {
        let text = match &settings.personal_data_key {
            Some(k) => k.expose().to_owned(),
            None => {
                let dir = settings.keys_dir();
                let path = dir.join(KEY_FILE);
                match std::fs::read_to_string(&path) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        create_key_file(&dir, &path)?;
                        std::fs::read_to_string(&path)
                            .map_err(|e| format!("{}: {e}", path.display()))?
                    }
                    Err(e) => return Err(format!("{}: {e}", path.display())),
                }
            }
        };
        let key = STANDARD
            .decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or("the personal-data key must be 32 bytes in base64")?;
        Ok(Self::new(key))
    }

    /// Refuses a key that does not open what is stored: the first sealed value names the key
    /// it was sealed under. A lost key file would otherwise be replaced silently by a new key,
    /// and every sealed value before it would be unreadable.
    pub async fn check_against(&self, db: &crate::db::Db) -> Result<(), String> {
        use diesel::prelude::*;

        use crate::db::sql::FirstRow;
        let stored: Option<String> = db
            .read(|conn| {
                use crate::db::schema::complaint_cases as cc;
                Ok(cc::table
                    .filter(cc::personal.is_not_null())
                    .select(cc::personal)
                    .first_row::<Option<String>, _>(conn)
                    .optional()?
                    .flatten())
            })
            .await
            .map_err(|e| e.to_string())?;
        match stored.as_deref().and_then(|s| s.split('.').nth(1)) {
            Some(kid) if kid != self.kid => Err(format!(
                "personal data in the database is sealed under key {kid}, but the configured \
                 personal-data key is {} (CSR_PERSONAL_DATA_KEY or {KEY_FILE} in the keys \
                 directory): restore the key the data was sealed with",
                self.kid
            )),
            _ => Ok(()),
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Seals `plain`, bound to `context` (the complaint's reference).
    pub fn seal(&self, plain: &[u8], context: &str) -> AppResult<String> {
        let nonce_bytes = crate::auth::random_bytes::<12>();
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce_bytes),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| AppError::internal("sealing personal data failed"))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("v1.{}.{}", self.kid, STANDARD.encode(out)))
    }

    /// A keyed digest (HMAC-SHA256, hex) of personal data: equal inputs give equal digests,
    /// and without the key the digest says nothing about a telephone number.
    pub fn digest(&self, plain: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.mac_key)
            .expect("HMAC takes keys of any length");
        mac.update(plain);
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Opens a value sealed with [`Sealer::seal`] under the same context.
    pub fn open(&self, stored: &str, context: &str) -> AppResult<Vec<u8>> {
        let mut parts = stored.splitn(3, '.');
        let (Some("v1"), Some(kid), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(AppError::internal(
                "sealed personal data in an unknown form",
            ));
        };
        if kid != self.kid {
            return Err(AppError::internal(format!(
                "personal data sealed under key {kid}, but the configured key is {}",
                self.kid
            )));
        }
        let bytes = STANDARD
            .decode(body)
            .map_err(|_| AppError::internal("sealed personal data is not base64"))?;
        if bytes.len() < 12 + 16 {
            return Err(AppError::internal("sealed personal data is too short"));
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| AppError::internal("sealed personal data: bad nonce"))?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| AppError::internal("sealed personal data failed authentication"))
    }
}

/// Writes a new random key to `path`, unless another instance did first: the key is written to
/// a temporary file of this process alone, flushed, and linked into place only if nothing is
/// there yet, so that every instance ends up reading the same key.
fn create_key_file(dir: &std::path::Path, path: &std::path::Path) -> Result<(), String> {
    use std::io::Write;
    crate::files::private_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = dir.join(format!(".{KEY_FILE}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(
            STANDARD
                .encode(crate::auth::random_bytes::<32>())
                .as_bytes(),
        )?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("{}: {e}", tmp.display()));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            tracing::info!(path = %path.display(), "generated a personal-data key");
            Ok(())
        }
        // Another instance linked its key first: that one is used.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let s = Sealer::new([7; 32]);
        let sealed = s
            .seal("王女士 13800000000".as_bytes(), "TS1")
            .unwrap_or_default();
        assert!(sealed.starts_with(&format!("v1.{}.", s.kid())));
        assert!(!sealed.contains("13800000000"));
        assert_eq!(
            s.open(&sealed, "TS1").ok().as_deref(),
            Some("王女士 13800000000".as_bytes())
        );
        // Another complaint's reference, another key, a flipped bit: refused.
        assert!(s.open(&sealed, "TS2").is_err());
        assert!(Sealer::new([8; 32]).open(&sealed, "TS1").is_err());
        let mut bytes = STANDARD
            .decode(sealed.rsplit('.').next().unwrap_or_default())
            .unwrap_or_default();
        bytes[20] ^= 1;
        let tampered = format!("v1.{}.{}", s.kid(), STANDARD.encode(bytes));
        assert!(s.open(&tampered, "TS1").is_err());
        // Two seals of one value differ (a fresh nonce each time).
        assert_ne!(s.seal(b"x", "TS1").ok(), s.seal(b"x", "TS1").ok());
    }
}
