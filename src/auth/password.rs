//! argon2id password hashing. Hashing is slow on purpose, so callers run it on the blocking
//! pool; hashes made with weaker parameters than configured are upgraded at the next login.
//!
//! The hashing itself runs on a few threads of its own, each filling one work area it keeps.
//! A hash needs the configured memory (19 MiB at the minimum); allocated afresh for every login,
//! freed blocks of that size pile up in the allocator (measured: +20 MiB resident for each of
//! the first logins). Here one thread hashes, with one work area for the life of the process: a
//! burst of logins takes one core and 19 MiB, never every core, and waits its turn (a hash
//! takes tens of milliseconds). A work area per core cost 19 MiB more per core, resident
//! from the first logins on.

use std::cell::RefCell;
use std::sync::Arc;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::workers::Workers;

thread_local! {
    /// The work area of a hashing thread, grown to the largest parameters it has met.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Raw argon2 of `password` and `salt` into `out`, in this thread's work area.
fn argon2_into(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), String> {
    MEMORY.with_borrow_mut(|blocks| {
        let n = params.block_count();
        if blocks.len() < n {
            blocks.resize(n, Block::default());
        }
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, salt, out, &mut blocks[..n])
            .map_err(|e| format!("hashing failed: {e}"))
    })
}

/// A PHC string of argon2id with `params` over `password` and a fresh salt.
fn phc_hash(params: Params, password: &[u8]) -> Result<String, String> {
    let salt = Salt::generate();
    let mut out = vec![0; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    argon2_into(
        Algorithm::Argon2id,
        Version::V0x13,
        params.clone(),
        password,
        &salt,
        &mut out,
    )?;
    let e = |e: argon2::password_hash::phc::Error| format!("hashing failed: {e}");
    Ok(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| format!("hashing failed: {e}"))?,
        salt: Some(salt),
        hash: Some(Output::new(&out).map_err(e)?),
    }
    .to_string())
}

/// Whether `password` matches the PHC string `hash` (its own algorithm, version and parameters).
fn phc_verify(password: &[u8], hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) = (
        Params::try_from(&parsed),
        Algorithm::new(parsed.algorithm.as_str()),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut out = vec![0; expected.len()];
    argon2_into(algorithm, version, params, password, &salt, &mut out).is_ok()
        // Output's equality is constant-time.
        && Output::new(&out).is_ok_and(|o| o == expected)
}

use crate::config::Settings;

#[derive(Clone)]
pub struct Hasher {
    params: Params,
    /// A hash of a random password, verified against when the account does not exist so that
    /// an unknown e-mail costs the same time as a wrong password.
    dummy: String,
    threads: Arc<Workers>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
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
            threads: Arc::new(Workers::start_n("argon2", 1, 0)),
        };
        hasher.dummy = hasher.hash(&crate::auth::random_token(24))?;
        Ok(hasher)
    }

    pub fn hash(&self, password: &str) -> Result<String, String> {
        let (params, password) = (self.params.clone(), password.to_owned());
        self.threads
            .run(move || phc_hash(params, password.as_bytes()))
            .unwrap_or_else(|| Err("the hashing threads are gone".into()))
    }

    /// Checks `password` against `hash`, or against the dummy hash when there is no account.
    pub fn verify(&self, password: &str, hash: Option<&str>) -> bool {
        let hash = hash.unwrap_or(&self.dummy).to_owned();
        let password = password.to_owned();
        self.threads
            .run(move || phc_verify(password.as_bytes(), &hash))
            .unwrap_or(false)
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
