//! What every request handler can reach: the settings, the database, the keys and the caches.
//! Built once at start-up (`startup::AppState::init`); nothing here changes between requests
//! except metrics and caches of immutable data, so any number of instances can serve one
//! database.

use std::sync::Arc;

use crate::auth::jwt::JwtKeys;
use crate::auth::password::Hasher;
use crate::auth::signing::ServiceKeys;
use crate::config::Settings;
use crate::db::Db;
use crate::evidence::store::EvidenceStore;
use crate::metrics::Metrics;
use crate::schemas::SchemaCache;
use crate::stats::disclosure::DisclosureCache;
use crate::workers::Workers;

/// The shared state, registered as `web::Data<AppState>`.
pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    pub jwt: JwtKeys,
    /// Signs certificates and audit checkpoints.
    pub signing: Arc<ServiceKeys>,
    pub hasher: Hasher,
    pub metrics: Metrics,
    pub openapi_json: String,
    /// Resolved schema versions by content hash and industry (immutable, so safe to share).
    pub schemas: Arc<SchemaCache>,
    pub evidence: EvidenceStore,
    /// PDF reports and certificates render here, one per core at a time.
    pub renderers: Arc<Workers>,
    /// The statistics' disclosure pattern, recomputed when enterprises are added.
    pub disclosure: Arc<DisclosureCache>,
    /// Working days, for complaint deadlines.
    pub calendar: Arc<crate::domain::calendar::Calendar>,
    /// Seals and opens consumers' personal data in complaints.
    pub personal: Arc<crate::complaints::seal::Sealer>,
}
