//! Assessment schemas: the document format (see `schemas/assessment-schema.schema.json`), the
//! semantic checks JSON Schema cannot express, content hashing, version diffs and resolution of
//! a version for one industry (base criteria with its industry profile applied).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::canonical::{canonical_json, sha256_hex};
use super::enterprise::IndustryCode;
pub use super::label::Text;
use super::laws;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    Published,
    Retired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Retired => "retired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Published, Self::Retired]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `true` / `false`.
    YesNo,
    /// 0 none, 1 ad hoc, 2 defined, 3 implemented, 4 measured and improved.
    Maturity,
    /// One option id.
    SingleChoice,
    /// Several option ids; their points add up to at most 1.
    MultipleChoice,
    /// A figure scored by threshold bands.
    Measured,
    /// Text for the reviewer, not scored.
    FreeText,
}

impl Kind {
    pub fn is_scored(self) -> bool {
        self != Self::FreeText
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub id: String,
    pub label: Text,
    /// Share of the criterion's weight this option earns, 0–1.
    pub points: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Higher,
    Lower,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Band {
    pub threshold: f64,
    pub points: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    pub unit: String,
    pub better: Better,
    /// From the best band to the worst; a figure earns the points of the first band it reaches.
    pub bands: Vec<Band>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LawRef {
    /// An edition in the law catalogue (`schemas/reference/laws.json`), e.g. `crpl-2013`.
    pub law: String,
    pub article: u32,
    /// The paragraph (款) of the article, where the duty is in one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paragraph: Option<u32>,
    /// The edition's in-force date, as the catalogue gives it (optional; checked when given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_force_from: Option<NaiveDate>,
}

/// References as printed, consecutive places in one law together:
/// 《消费者权益保护法实施条例》（2024年）第十四条、第九条第一款；《电子商务法》（2018年）第二十七条.
pub fn cite_refs(refs: &[LawRef], zh: bool) -> String {
    let mut parts = Vec::new();
    for group in refs.chunk_by(|a, b| a.law == b.law) {
        let places = group.iter().map(|r| (r.article, r.paragraph));
        parts.push(match laws::find(&group[0].law) {
            Some(l) if zh => l.cite_all_zh(places),
            Some(l) => l.cite_all_en(places),
            None => group[0].law.clone(),
        });
    }
    parts.join(if zh { "；" } else { "; " })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Stable id, `theme.name` or `industry.name`.
    pub id: String,
    pub theme: String,
    pub title: Text,
    pub guidance: Text,
    pub kind: Kind,
    /// Relative weight within the theme; 0 for free text.
    pub weight: f64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub red_line: bool,
    /// Restates a binding legal duty: anything short of full points on it (a "no", a
    /// reviewer's adjustment, missing evidence) means no level, whatever the total.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub statutory: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_applicable_allowed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub law_refs: Vec<LawRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChoiceOption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<Measure>,
}

impl Criterion {
    pub fn evidence_required(&self) -> bool {
        self.evidence.as_ref().is_some_and(|e| e.required)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    pub id: String,
    pub title: Text,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub id: String,
    pub min_score: f64,
    pub label: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reweight {
    pub id: String,
    pub from: f64,
    pub to: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Changelog {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Text>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub renamed: Vec<Rename>,
    pub reweighted: Vec<Reweight>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub id: String,
    pub title: Text,
    /// GB/T 4754-2017 code prefixes.
    pub industries: Vec<String>,
    #[serde(default)]
    pub criteria: Vec<Criterion>,
    /// New weights for base criteria.
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    /// Base criteria that do not apply.
    #[serde(default)]
    pub not_applicable: Vec<String>,
    /// New weights of themes (theme id → weight) for this industry; themes not named keep the
    /// version's weight.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub theme_weights: BTreeMap<String, f64>,
}

/// One version of an assessment schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaDoc {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub meta_schema: Option<String>,
    pub id: String,
    pub version: String,
    pub title: Text,
    pub effective_date: NaiveDate,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predecessor: Option<String>,
    pub changelog: Changelog,
    pub levels: Vec<Level>,
    pub certificate_validity_months: u32,
    #[serde(default)]
    pub four_eyes_levels: Vec<String>,
    pub themes: Vec<Theme>,
    pub criteria: Vec<Criterion>,
    #[serde(default)]
    pub profiles: Vec<Profile>,
    /// When a certificate of this version comes under surveillance review (the service's
    /// defaults when absent: versions published before it existed stay as they were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surveillance: Option<Surveillance>,
}

/// Thresholds that open a surveillance review of a certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Surveillance {
    /// A quarter's rates count only with at least this many complaints.
    pub min_complaints: u32,
    /// On-time acknowledgement below this share of the complaints due in a quarter.
    pub on_time_acknowledgement_below: f64,
    /// Reconciliation below this share of the answered complaints of a quarter.
    pub reconciliation_rate_below: f64,
    /// Whether an open group-complaint incident opens a review.
    pub open_incident: bool,
    /// A complaint in one of these categories is a red-line event: a review at once.
    pub red_line_categories: Vec<String>,
}

/// The thresholds shipped with the service, for versions without their own.
pub const SURVEILLANCE_DEFAULTS: &str =
    include_str!("../../../schemas/reference/surveillance-defaults.json");

impl Surveillance {
    pub fn defaults() -> Self {
        serde_json::from_str(SURVEILLANCE_DEFAULTS)
            .expect("the shipped surveillance defaults parse (unit-tested)")
    }
}

/// A problem found in a document, located by a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Issue {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}",
            if self.path.is_empty() {
                "/"
            } else {
                &self.path
            },
            self.message
        )
    }
}

impl SchemaDoc {
    /// SHA-256 (hex) of the canonical JSON of the content: everything but `$schema` and the
    /// lifecycle `status`, so retiring a version does not change what it says.
    pub fn content_hash(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.remove("$schema");
            map.remove("status");
        }
        sha256_hex(canonical_json(&value).as_bytes())
    }

    pub fn criterion(&self, id: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id == id)
    }

    /// The profile for an industry: the one with the longest matching code prefix.
    pub fn profile_for(&self, industry: &IndustryCode) -> Option<&Profile> {
        self.profiles
            .iter()
            .flat_map(|p| p.industries.iter().map(move |code| (p, code)))
            .filter(|(_, code)| industry.is_under(code))
            .max_by_key(|(_, code)| code.len())
            .map(|(p, _)| p)
    }
}

mod check;
mod resolve;
#[cfg(test)]
mod tests;

pub use check::check;
pub use resolve::*;
