//! Schema versions resolved for an industry, cached by content hash: a published or retired
//! version never changes, so any instance may keep them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::db::submissions::Submission;
use crate::db::{AnyConnection, schema_versions};
use crate::domain::IndustryCode;
use crate::domain::schema::{self, Criterion, Resolved, SchemaDoc, Status};
use crate::error::{AppError, AppResult};

/// A schema version resolved for one industry, indexed by criterion id. Immutable: keyed by the
/// version's content hash, so it can be cached by any instance.
#[derive(Debug)]
pub struct ResolvedSchema {
    pub resolved: Resolved,
    pub criteria: Vec<Criterion>,
    index: HashMap<String, usize>,
    /// The levels the version reserves to two reviewers.
    pub four_eyes_levels: Vec<String>,
    /// How long a certificate issued on the version is valid.
    pub certificate_validity_months: u32,
}

impl ResolvedSchema {
    fn new(doc: &SchemaDoc, industry: &IndustryCode) -> Self {
        let resolved = schema::resolve(doc, Some(industry));
        let criteria: Vec<Criterion> = resolved
            .criteria
            .iter()
            .map(|c| c.criterion.clone())
            .collect();
        let index = criteria
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.clone(), i))
            .collect();
        Self {
            resolved,
            criteria,
            index,
            four_eyes_levels: doc.four_eyes_levels.clone(),
            certificate_validity_months: doc.certificate_validity_months,
        }
    }

    /// Whether the version reserves `level` to two reviewers.
    pub fn four_eyes(&self, level: &str) -> bool {
        self.four_eyes_levels.iter().any(|l| l == level)
    }

    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.index.get(id).map(|i| &self.criteria[*i])
    }
}

/// Resolved schemas by (content hash, industry code).
#[derive(Default)]
pub struct SchemaCache(Mutex<HashMap<(String, String), Arc<ResolvedSchema>>>);

impl SchemaCache {
    /// Resolves a published or retired version for an industry, reading it once.
    pub fn get(
        &self,
        conn: &mut AnyConnection,
        schema_id: &str,
        version: &str,
        hash: Option<&str>,
        industry: &str,
    ) -> AppResult<Arc<ResolvedSchema>> {
        if let Some(hash) = hash
            && let Ok(map) = self.0.lock()
            && let Some(found) = map.get(&(hash.to_owned(), industry.to_owned()))
        {
            return Ok(found.clone());
        }
        let row = schema_versions::find(conn, schema_id, version)?
            .filter(|r| r.status() != Status::Draft)
            .ok_or(AppError::NotFound)?;
        let doc = row.doc()?;
        let code = IndustryCode::parse(industry).map_err(AppError::internal)?;
        let resolved = Arc::new(ResolvedSchema::new(&doc, &code));
        if let Ok(mut map) = self.0.lock() {
            map.insert((row.content_hash, industry.to_owned()), resolved.clone());
        }
        Ok(resolved)
    }
}

impl SchemaCache {
    /// The resolved schema a submission is answered against.
    pub fn of(&self, conn: &mut AnyConnection, s: &Submission) -> AppResult<Arc<ResolvedSchema>> {
        self.get(
            conn,
            &s.schema_id,
            &s.version,
            Some(&s.schema_hash),
            &s.industry_code,
        )
    }
}
