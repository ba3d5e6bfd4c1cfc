//! argon2id password hashing. Hashing is slow on purpose, so callers run it on the blocking
//! pool; hashes made with weaker parameters than configured are upgraded at the next login.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::Settings;

#[derive(Clone, Debug)]
pub struct Hasher {
    params: Params,
    /// A hash of a random password, verified against when the account does not exist so that
    /// an unknown e-mail costs the same time as a wrong password.
    dummy: String,
}

impl Hasher {
    pub fn new(settings: &Settings) -> Result<Self, String> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            settings.argon2_parallelism,
            None,
        )
        .map_err(|e| format!("invalid argon2 parameters: {e}"))?;
        let mut hasher = Self {
            params,
            dummy: String::new(),
        };
        hasher.dummy = hasher.hash(&crate::auth::random_token(24))?;
        Ok(hasher)
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    pub fn hash(&self, password: &str) -> Result<String, String> {
        self.argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| format!("hashing failed: {e}"))
    }

    /// Checks `password` against `hash`, or against the dummy hash when there is no account.
    pub fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let hash = hash.unwrap_or(&self.dummy);
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        self.argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    }

    /// Whether `hash` was made with weaker parameters than the configured ones.
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return true;
        };
        let Ok(old) = Params::try_from(&parsed) else {
            return true;
        };
        parsed.algorithm.as_str() != "argon2id"
            || old.m_cost() < self.params.m_cost()
            || old.t_cost() < self.params.t_cost()
            || old.p_cost() < self.params.p_cost()
    }
}
