//! Typed settings, read from command-line flags or `CSR_*` environment variables.
//!
//! Secrets are wrapped in [`Secret`] so they never show up in logs or `Debug` output.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A string that never prints.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// Where evidence content lives.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceStoreKind {
    /// Files under the evidence directory of this instance.
    Disk,
    /// The database, shared by every instance.
    Database,
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (coloured only on a terminal).
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Minimum argon2id parameters (OWASP): never configurable below these.
pub const ARGON2_MIN_MEMORY_KIB: u32 = 19_456;
pub const ARGON2_MIN_ITERATIONS: u32 = 2;
pub const ARGON2_MIN_PARALLELISM: u32 = 1;

#[derive(clap::Args, Clone, Debug)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "CSR_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// Directory for the embedded database, signing keys and evidence files.
    #[arg(long, env = "CSR_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// `postgres://…` for PostgreSQL, `sqlite://PATH` or a file path for SQLite;
    /// default: `<data-dir>/csr-assess.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Secret>,

    /// Maximum database connections in the pool.
    #[arg(long, env = "CSR_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: u32,

    /// Seconds to wait for a database connection before answering 503.
    #[arg(long, env = "CSR_DB_TIMEOUT_SECS", default_value_t = 5)]
    pub db_timeout_secs: u64,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "CSR_WORKERS")]
    pub workers: Option<usize>,

    /// Largest JSON request body accepted, in bytes.
    #[arg(long, env = "CSR_JSON_LIMIT_BYTES", default_value_t = 1024 * 1024)]
    pub json_limit_bytes: usize,

    /// Base URL at which the public can reach this service (used in links and QR codes).
    #[arg(long, env = "CSR_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Directory holding the token-signing keys (default: `<data-dir>/keys`).
    #[arg(long, env = "CSR_KEYS_DIR")]
    pub keys_dir: Option<PathBuf>,

    /// Directory of the content-addressed evidence store (default: `<data-dir>/evidence`).
    #[arg(long, env = "CSR_EVIDENCE_DIR")]
    pub evidence_dir: Option<PathBuf>,

    /// Where evidence content lives: `disk` (the evidence directory of this instance) or
    /// `database` (shared by every instance). Default: `database` on PostgreSQL, `disk` on SQLite.
    #[arg(long, env = "CSR_EVIDENCE_STORE", value_enum)]
    pub evidence_store: Option<EvidenceStoreKind>,

    /// The token-signing keys as JSON (the content of `<keys-dir>/jwt-keys.json`), for
    /// deployments that distribute them as a secret instead of a file.
    #[arg(long, env = "CSR_JWT_KEYS", hide_env_values = true)]
    pub jwt_keys: Option<Secret>,

    /// `text` (default) or `json` log lines on standard error.
    #[arg(long, env = "CSR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Largest evidence file accepted, in bytes.
    #[arg(long, env = "CSR_EVIDENCE_MAX_BYTES", default_value_t = 20 * 1024 * 1024)]
    pub evidence_max_bytes: u64,

    /// Evidence each enterprise may store in total, in bytes.
    #[arg(long, env = "CSR_EVIDENCE_QUOTA_BYTES", default_value_t = 500 * 1024 * 1024)]
    pub evidence_quota_bytes: u64,

    /// The issuing association's name in Chinese, signed into and printed on every certificate
    /// (a deployment sets its own; the default says it is a demonstration).
    #[arg(
        long,
        env = "CSR_ISSUER_NAME_ZH",
        default_value = "示例消费者协会（演示）"
    )]
    pub issuer_name_zh: String,

    /// The issuing association's name in English.
    #[arg(
        long,
        env = "CSR_ISSUER_NAME_EN",
        default_value = "Example Consumers' Association (demonstration)"
    )]
    pub issuer_name_en: String,

    /// The text in the centre of the issuer's seal printed on certificates, e.g. 评价专用章.
    #[arg(long, env = "CSR_ISSUER_SEAL_TEXT", default_value = "评价专用章")]
    pub issuer_seal_text: String,

    /// `iss` of issued access tokens.
    #[arg(long, env = "CSR_JWT_ISSUER", default_value = "csr-assess")]
    pub jwt_issuer: String,

    /// `aud` of issued access tokens.
    #[arg(long, env = "CSR_JWT_AUDIENCE", default_value = "csr-assess-api")]
    pub jwt_audience: String,

    /// Lifetime of access tokens in seconds.
    #[arg(long, env = "CSR_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: i64,

    /// Lifetime of refresh tokens in seconds.
    #[arg(long, env = "CSR_REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: i64,

    /// argon2id memory cost in KiB (at least 19456).
    #[arg(long, env = "CSR_ARGON2_MEMORY_KIB", default_value_t = ARGON2_MIN_MEMORY_KIB)]
    pub argon2_memory_kib: u32,

    /// argon2id iterations (at least 2).
    #[arg(long, env = "CSR_ARGON2_ITERATIONS", default_value_t = ARGON2_MIN_ITERATIONS)]
    pub argon2_iterations: u32,

    /// argon2id lanes (at least 1).
    #[arg(long, env = "CSR_ARGON2_PARALLELISM", default_value_t = ARGON2_MIN_PARALLELISM)]
    pub argon2_parallelism: u32,

    /// Password attempts allowed per (account, client address) within the window before 429.
    #[arg(long, env = "CSR_LOGIN_MAX_FAILURES", default_value_t = 5)]
    pub login_max_failures: i32,

    /// Password attempts allowed per client address within the window before 429 (successful
    /// ones are given back).
    #[arg(long, env = "CSR_LOGIN_MAX_FAILURES_PER_ADDRESS", default_value_t = 50)]
    pub login_max_failures_per_address: i32,

    /// Password attempts allowed per account from all addresses together within the window
    /// before 429 (successful ones are given back).
    #[arg(
        long,
        env = "CSR_LOGIN_MAX_FAILURES_PER_ACCOUNT",
        default_value_t = 100
    )]
    pub login_max_failures_per_account: i32,

    /// Registrations accepted per client address within an hour before 429.
    #[arg(long, env = "CSR_REGISTRATIONS_PER_ADDRESS", default_value_t = 20)]
    pub registrations_per_address: i32,

    /// Length of the login-throttling window in seconds.
    #[arg(long, env = "CSR_LOGIN_WINDOW_SECS", default_value_t = 900)]
    pub login_window_secs: i64,

    /// Statistics hide groups of fewer enterprises than this (never below 5).
    #[arg(long, env = "CSR_STATS_MIN_GROUP", default_value_t = 5)]
    pub stats_min_group: i64,

    /// Seconds between signed checkpoints of the audit log.
    #[arg(long, env = "CSR_AUDIT_CHECKPOINT_SECS", default_value_t = 300)]
    pub audit_checkpoint_secs: u64,

    /// Milliseconds between the webhook worker's rounds (0: this instance sends no webhooks).
    #[arg(long, env = "CSR_WEBHOOK_POLL_MS", default_value_t = 1000)]
    pub webhook_poll_ms: u64,

    /// The first retry of a failed webhook delivery waits this long; each next one twice as
    /// long, at most eight hours.
    #[arg(long, env = "CSR_WEBHOOK_RETRY_BASE_MS", default_value_t = 5000)]
    pub webhook_retry_base_ms: u64,

    /// How long a failing webhook delivery is retried (default 26 hours) before it is given up
    /// and its endpoint disabled.
    #[arg(long, env = "CSR_WEBHOOK_RETRY_WINDOW_SECS", default_value_t = 26 * 3600)]
    pub webhook_retry_window_secs: u64,

    /// Seconds a webhook endpoint has to answer.
    #[arg(long, env = "CSR_WEBHOOK_TIMEOUT_SECS", default_value_t = 10)]
    pub webhook_timeout_secs: u64,

    /// Hosts webhooks may reach over plain http and at private or loopback addresses
    /// (comma-separated); all others must be https on public addresses.
    #[arg(long, env = "CSR_WEBHOOK_ALLOWED_HOSTS", value_delimiter = ',')]
    pub webhook_allowed_hosts: Vec<String>,

    /// Hours a response kept for an `Idempotency-Key` is replayed to retries; after that the key
    /// is forgotten.
    #[arg(long, env = "CSR_IDEMPOTENCY_KEEP_HOURS", default_value_t = 24)]
    pub idempotency_keep_hours: u64,

    /// Seconds a web-console session may stay unused before it ends.
    #[arg(long, env = "CSR_CONSOLE_IDLE_SECS", default_value_t = 30 * 60)]
    pub console_idle_secs: i64,

    /// Seconds a web-console session lasts at most, however busy.
    #[arg(long, env = "CSR_CONSOLE_SESSION_SECS", default_value_t = 12 * 3600)]
    pub console_session_secs: i64,

    /// The key that seals consumers' personal data in complaints: 32 bytes in base64
    /// (AES-256-GCM). Without it, `personal-data.key` in the keys directory is used, created
    /// on first start; every instance must hold the same key.
    #[arg(long, env = "CSR_PERSONAL_DATA_KEY", hide_env_values = true)]
    pub personal_data_key: Option<Secret>,

    /// A working-day calendar (public holidays and worked weekends) to use instead of the one
    /// shipped in `schemas/reference/cn-working-days.json`.
    #[arg(long, env = "CSR_CALENDAR_FILE")]
    pub calendar_file: Option<PathBuf>,

    /// Working days an enterprise that is not an enrolled liaison unit has to acknowledge a
    /// complaint; enrolled units commit to this or fewer.
    #[arg(long, env = "CSR_COMPLAINT_ACKNOWLEDGE_DAYS", default_value_t = 3)]
    pub complaint_acknowledge_days: u32,

    /// Working days, after acknowledging, to propose a settlement (the same rule).
    #[arg(long, env = "CSR_COMPLAINT_PROPOSAL_DAYS", default_value_t = 10)]
    pub complaint_proposal_days: u32,

    /// Working days after closing during which a complaint may be reopened.
    #[arg(long, env = "CSR_COMPLAINT_REOPEN_DAYS", default_value_t = 20)]
    pub complaint_reopen_days: u32,

    /// Days after closing (and after the reopening window) that a consumer's contact and words
    /// are kept; then they are erased and only the complaint's figures remain.
    #[arg(long, env = "CSR_COMPLAINT_RETENTION_DAYS", default_value_t = 365)]
    pub complaint_retention_days: u32,

    /// Days without any step after which a complaint that was never closed is treated as
    /// abandoned: the consumer's contact and words are erased as after the retention period.
    #[arg(long, env = "CSR_COMPLAINT_IDLE_DAYS", default_value_t = 730,
          value_parser = clap::value_parser!(u32).range(30..=36_500))]
    pub complaint_idle_days: u32,

    /// Complaints against one enterprise in one category within `CSR_GROUP_COMPLAINT_DAYS` that
    /// raise a group-complaint incident.
    #[arg(long, env = "CSR_GROUP_COMPLAINT_THRESHOLD", default_value_t = 5)]
    pub group_complaint_threshold: u32,

    /// The period, in days, that group complaints are counted over.
    #[arg(long, env = "CSR_GROUP_COMPLAINT_DAYS", default_value_t = 7)]
    pub group_complaint_days: u32,

    /// Seconds between runs of the complaint sweep (reminders, escalations, erasure); 0: never.
    #[arg(long, env = "CSR_COMPLAINT_SWEEP_SECS", default_value_t = 3600)]
    pub complaint_sweep_secs: u64,

    /// E-mail of the administrator created on first start.
    #[arg(
        long,
        env = "CSR_ADMIN_EMAIL",
        default_value = "admin@csr-assess.local"
    )]
    pub admin_email: String,

    /// Password of the administrator created on first start (random if unset).
    #[arg(long, env = "CSR_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<Secret>,

    /// Seconds a request body may take to arrive in full.
    #[arg(long, env = "CSR_BODY_TIMEOUT_SECS", default_value_t = 300)]
    pub body_timeout_secs: u64,

    /// A separate address serving only `GET /metrics`, without authentication, for a Prometheus
    /// scraper on an internal network (off by default).
    #[arg(long, env = "CSR_METRICS_BIND")]
    pub metrics_bind: Option<String>,

    /// A bearer token that opens `GET /metrics` on the main address; without it the main address
    /// does not serve metrics.
    #[arg(long, env = "CSR_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,
}

impl Settings {
    /// The issuing association's name, as certificates carry it.
    pub fn issuer(&self) -> crate::domain::schema::Text {
        crate::domain::schema::Text {
            zh: self.issuer_name_zh.clone(),
            en: self.issuer_name_en.clone(),
        }
    }

    /// Parses the settings from the environment alone, as a server started without flags would.
    pub fn from_env() -> Result<Self, clap::Error> {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            settings: Settings,
        }
        <Only as clap::Parser>::try_parse_from(["csr-assess"]).map(|o| o.settings)
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => self.data_dir.join("csr-assess.db").display().to_string(),
        }
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.keys_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }

    pub fn evidence_dir(&self) -> PathBuf {
        self.evidence_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("evidence"))
    }

    pub fn db_timeout(&self) -> Duration {
        Duration::from_secs(self.db_timeout_secs.max(1))
    }

    /// Checks values that clap's types cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.argon2_memory_kib < ARGON2_MIN_MEMORY_KIB
            || self.argon2_iterations < ARGON2_MIN_ITERATIONS
            || self.argon2_parallelism < ARGON2_MIN_PARALLELISM
        {
            return Err(format!(
                "argon2 parameters below the minimum (m={ARGON2_MIN_MEMORY_KIB} KiB, t={ARGON2_MIN_ITERATIONS}, p={ARGON2_MIN_PARALLELISM})"
            ));
        }
        if !(1..=7 * 86_400).contains(&self.console_idle_secs) {
            return Err("CSR_CONSOLE_IDLE_SECS must be between 1 and 604800".into());
        }
        if !(60..=90 * 86_400).contains(&self.console_session_secs) {
            return Err("CSR_CONSOLE_SESSION_SECS must be between 60 and 7776000".into());
        }
        if !(1..=60).contains(&self.complaint_acknowledge_days)
            || !(1..=120).contains(&self.complaint_proposal_days)
            || self.complaint_reopen_days > 250
        {
            return Err(
                "complaint deadlines: acknowledge 1–60, proposal 1–120, reopen 0–250 working days"
                    .into(),
            );
        }
        if self.group_complaint_threshold < 2 || !(1..=365).contains(&self.group_complaint_days) {
            return Err("CSR_GROUP_COMPLAINT_THRESHOLD must be at least 2 and CSR_GROUP_COMPLAINT_DAYS 1–365".into());
        }
        if self.stats_min_group < crate::domain::stats::MIN_GROUP {
            return Err("CSR_STATS_MIN_GROUP cannot be below 5".into());
        }
        if self.db_pool_size == 0 {
            return Err("CSR_DB_POOL_SIZE must be at least 1".into());
        }
        if self.login_max_failures < 1
            || self.login_max_failures_per_address < 1
            || self.login_max_failures_per_account < 1
        {
            return Err("login failure limits must be at least 1".into());
        }
        if self.access_token_ttl_secs < 60 || self.refresh_token_ttl_secs < 60 {
            return Err("token lifetimes must be at least 60 s".into());
        }
        Ok(())
    }
}
