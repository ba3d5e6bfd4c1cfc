//! The disclosure pattern of the registered enterprises (which groups any statistics may show,
//! see `domain::disclosure`), and its cache in the application state.

use std::sync::{Arc, Mutex, PoisonError};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::AnyConnection;
use crate::domain::disclosure::Pattern;
use crate::error::AppResult;

#[derive(QueryableByName)]
pub(super) struct CodeCount {
    #[diesel(sql_type = Text)]
    industry: String,
    #[diesel(sql_type = Text)]
    region: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName, PartialEq, Eq, Clone, Copy)]
pub(super) struct Population {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    last: i64,
}

/// The disclosure pattern of the registered enterprises, computed once per change. Enterprises
/// are only ever added and their codes never change, so their number and highest id identify
/// the population a pattern was computed from. Instances behind a load balancer each keep their
/// own copy, derived from the shared database.
#[derive(Default)]
pub struct DisclosureCache(Mutex<Option<(Population, i64, Arc<Pattern>)>>);

impl DisclosureCache {
    /// The pattern for the enterprises `conn` sees (call it in the snapshot the figures are
    /// read from, so that both describe the same enterprises).
    pub fn pattern(&self, conn: &mut AnyConnection, k: i64) -> AppResult<Arc<Pattern>> {
        let now: Population = diesel::sql_query(
            "SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS last FROM enterprises",
        )
        .get_result(conn)?;
        // Held while computing: a second request waits for the first's pattern.
        let mut cached = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((population, min, pattern)) = cached.as_ref()
            && *population == now
            && *min == k
        {
            return Ok(pattern.clone());
        }
        let pattern = Arc::new(pattern(conn, k)?);
        *cached = Some((now, k, pattern.clone()));
        Ok(pattern)
    }
}

/// The disclosure pattern over every registered enterprise: which groups any statistics may
/// show (see `domain::disclosure`).
pub fn pattern(conn: &mut AnyConnection, k: i64) -> AppResult<Pattern> {
    let rows: Vec<CodeCount> = diesel::sql_query(
        "SELECT industry_code AS industry, region_code AS region, COUNT(*) AS n \
         FROM enterprises GROUP BY industry_code, region_code",
    )
    .load(conn)?;
    Ok(Pattern::new(
        rows.iter()
            .map(|r| (r.industry.as_str(), r.region.as_str(), r.n)),
        k,
    ))
}
