//! Comparing two versions of a schema, and resolving a version for one industry: the base
//! criteria with its industry profile applied.

use super::*;

/// The difference between two versions of a schema.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Diff {
    pub from: String,
    pub to: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub renamed: Vec<Rename>,
    pub reweighted: Vec<Reweight>,
    /// Criteria (by their id in `to`) whose title or guidance changed.
    pub text_changed: Vec<String>,
    /// Criteria whose kind, options, bands, red-line flag or evidence rule changed: their
    /// answers must be given again.
    pub rules_changed: Vec<String>,
}

/// Compares `from` with `to`, following the renames `to` declares when `from` is its predecessor.
pub fn diff(from: &SchemaDoc, to: &SchemaDoc) -> Diff {
    let renames: Vec<Rename> = if to.predecessor.as_deref() == Some(from.version.as_str()) {
        to.changelog
            .renamed
            .iter()
            .filter(|r| from.criterion(&r.from).is_some() && to.criterion(&r.to).is_some())
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    let old_id_of = |new: &str| -> Option<&str> {
        renames
            .iter()
            .find(|r| r.to == new)
            .map(|r| r.from.as_str())
            .or_else(|| from.criterion(new).map(|c| c.id.as_str()))
    };
    let mut d = Diff {
        from: from.version.clone(),
        to: to.version.clone(),
        renamed: renames.clone(),
        ..Diff::default()
    };
    for c in &to.criteria {
        match old_id_of(&c.id).and_then(|old| from.criterion(old)) {
            None => d.added.push(c.id.clone()),
            Some(old) => {
                if old.weight != c.weight {
                    d.reweighted.push(Reweight {
                        id: c.id.clone(),
                        from: old.weight,
                        to: c.weight,
                    });
                }
                if old.title != c.title || old.guidance != c.guidance {
                    d.text_changed.push(c.id.clone());
                }
                if old.kind != c.kind
                    || old.options != c.options
                    || old.measure != c.measure
                    || old.red_line != c.red_line
                    || old.statutory != c.statutory
                    || old.evidence_required() != c.evidence_required()
                {
                    d.rules_changed.push(c.id.clone());
                }
            }
        }
    }
    for c in &from.criteria {
        let renamed = renames.iter().any(|r| r.from == c.id);
        if !renamed && to.criterion(&c.id).is_none() {
            d.removed.push(c.id.clone());
        }
    }
    d
}

/// A criterion as an enterprise of one industry must answer it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResolvedCriterion {
    #[serde(flatten)]
    #[schema(inline)]
    pub criterion: Criterion,
    /// `base` or the id of the industry profile that added it.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ResolvedProfile {
    pub id: String,
    pub title: Text,
}

/// The effective criteria of a version for one industry.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Resolved {
    pub schema_id: String,
    pub version: String,
    pub content_hash: String,
    pub industry: Option<String>,
    pub profile: Option<ResolvedProfile>,
    pub levels: Vec<Level>,
    pub themes: Vec<Theme>,
    pub criteria: Vec<ResolvedCriterion>,
    /// Base criteria the profile marks not applicable.
    pub excluded: Vec<String>,
}

/// Applies the industry's profile (if any) to the base criteria.
pub fn resolve(doc: &SchemaDoc, industry: Option<&IndustryCode>) -> Resolved {
    let profile = industry.and_then(|i| doc.profile_for(i));
    let excluded: Vec<String> = profile
        .map(|p| p.not_applicable.clone())
        .unwrap_or_default();
    let mut criteria: Vec<ResolvedCriterion> = doc
        .criteria
        .iter()
        .filter(|c| !excluded.contains(&c.id))
        .map(|c| {
            let mut c = c.clone();
            if let Some(w) = profile.and_then(|p| p.weights.get(&c.id)) {
                c.weight = *w;
            }
            ResolvedCriterion {
                criterion: c,
                source: "base".into(),
            }
        })
        .collect();
    if let Some(p) = profile {
        criteria.extend(p.criteria.iter().map(|c| ResolvedCriterion {
            criterion: c.clone(),
            source: p.id.clone(),
        }));
    }
    Resolved {
        schema_id: doc.id.clone(),
        version: doc.version.clone(),
        content_hash: doc.content_hash(),
        industry: industry.map(|i| i.as_str().to_owned()),
        profile: profile.map(|p| ResolvedProfile {
            id: p.id.clone(),
            title: p.title.clone(),
        }),
        levels: doc.levels.clone(),
        themes: doc
            .themes
            .iter()
            .map(|t| {
                let mut t = t.clone();
                if let Some(w) = profile.and_then(|p| p.theme_weights.get(&t.id)) {
                    t.weight = *w;
                }
                t
            })
            .collect(),
        criteria,
        excluded,
    }
}
