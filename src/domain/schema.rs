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

fn check_criterion(
    c: &Criterion,
    path: &str,
    themes: &HashSet<&str>,
    effective: NaiveDate,
    issues: &mut Vec<Issue>,
) {
    let mut issue = |field: &str, message: String| {
        issues.push(Issue {
            path: format!("{path}{field}"),
            message,
        })
    };
    if !themes.contains(c.theme.as_str()) {
        issue("/theme", format!("unknown theme {:?}", c.theme));
    }
    if c.kind.is_scored() && !(c.weight > 0.0 && c.weight.is_finite()) {
        issue("/weight", "must be positive for a scored criterion".into());
    }
    if !c.kind.is_scored() && c.weight != 0.0 {
        issue(
            "/weight",
            "must be 0 for free text, which is not scored".into(),
        );
    }
    if c.red_line && c.kind != Kind::YesNo {
        issue("/red_line", "only yes/no criteria can be red lines".into());
    }
    if c.statutory && !c.kind.is_scored() {
        issue("/statutory", "free text cannot be a legal duty".into());
    }
    if c.statutory && c.law_refs.is_empty() {
        issue(
            "/statutory",
            "a legal duty must cite the law that imposes it (law_refs)".into(),
        );
    }
    if c.red_line && c.not_applicable_allowed {
        issue(
            "/not_applicable_allowed",
            "a red line cannot be not applicable".into(),
        );
    }
    let choice = matches!(c.kind, Kind::SingleChoice | Kind::MultipleChoice);
    if choice {
        let mut seen = HashSet::new();
        for (i, o) in c.options.iter().enumerate() {
            if !seen.insert(o.id.as_str()) {
                issue(
                    &format!("/options/{i}/id"),
                    format!("duplicate option id {:?}", o.id),
                );
            }
        }
        let best = c.options.iter().map(|o| o.points).fold(0.0, f64::max);
        let sum: f64 = c.options.iter().map(|o| o.points).sum();
        if c.kind == Kind::SingleChoice && (best - 1.0).abs() > 1e-9 {
            issue(
                "/options",
                "the best option must earn 1 (the full weight)".into(),
            );
        }
        if c.kind == Kind::MultipleChoice && sum < 1.0 - 1e-9 {
            issue(
                "/options",
                "all options together must earn at least 1".into(),
            );
        }
        if c.options.len() < 2 {
            issue("/options", "a choice needs at least two options".into());
        }
    } else if !c.options.is_empty() {
        issue("/options", "only choice criteria have options".into());
    }
    match (&c.measure, c.kind) {
        (Some(m), Kind::Measured) => {
            for (i, pair) in m.bands.windows(2).enumerate() {
                let ordered = match m.better {
                    Better::Higher => pair[0].threshold > pair[1].threshold,
                    Better::Lower => pair[0].threshold < pair[1].threshold,
                };
                if !ordered {
                    issue(
                        &format!("/measure/bands/{}/threshold", i + 1),
                        "thresholds must run from the best band to the worst".into(),
                    );
                }
                if pair[0].points <= pair[1].points {
                    issue(
                        &format!("/measure/bands/{}/points", i + 1),
                        "points must fall from the best band to the worst".into(),
                    );
                }
            }
            if m.bands
                .first()
                .is_some_and(|b| (b.points - 1.0).abs() > 1e-9)
            {
                issue(
                    "/measure/bands/0/points",
                    "the best band must earn 1".into(),
                );
            }
        }
        (None, Kind::Measured) => issue("/measure", "a measured criterion needs bands".into()),
        (Some(_), _) => issue("/measure", "only measured criteria have bands".into()),
        (None, _) => {}
    }
    for (i, r) in c.law_refs.iter().enumerate() {
        let at = format!("/law_refs/{i}");
        let Some(law) = laws::find(&r.law) else {
            issue(
                &format!("{at}/law"),
                format!("{:?} is not in the law catalogue", r.law),
            );
            continue;
        };
        if let Some(why) = law.not_in_force(effective) {
            issue(&format!("{at}/law"), why);
        }
        if r.in_force_from.is_some_and(|d| d != law.in_force) {
            issue(
                &format!("{at}/in_force_from"),
                format!("{} is in force from {}", r.law, law.in_force),
            );
        }
        let (first, last) = law.articles;
        if !(first..=last).contains(&r.article) {
            issue(
                &format!("{at}/article"),
                format!(
                    "{} has articles {first}–{last}, not {}",
                    law.cite_zh(None, None),
                    r.article
                ),
            );
        }
        if r.paragraph == Some(0) {
            issue(&format!("{at}/paragraph"), "paragraphs count from 1".into());
        }
    }
}

/// The semantic checks of one document; `predecessor` is the version it declares it replaces,
/// when available, so the changelog can be compared with the actual difference.
pub fn check(doc: &SchemaDoc, predecessor: Option<&SchemaDoc>) -> Vec<Issue> {
    let mut issues = Vec::new();
    let mut push = |path: String, message: String| issues.push(Issue { path, message });

    let mut theme_ids = HashSet::new();
    for (i, t) in doc.themes.iter().enumerate() {
        if !theme_ids.insert(t.id.as_str()) {
            push(
                format!("/themes/{i}/id"),
                format!("duplicate theme id {:?}", t.id),
            );
        }
    }
    let mut level_ids = HashSet::new();
    for (i, l) in doc.levels.iter().enumerate() {
        if !level_ids.insert(l.id.as_str()) {
            push(
                format!("/levels/{i}/id"),
                format!("duplicate level id {:?}", l.id),
            );
        }
        if i > 0 && doc.levels[i - 1].min_score <= l.min_score {
            push(
                format!("/levels/{i}/min_score"),
                "levels must be ordered from the highest threshold to the lowest".into(),
            );
        }
    }
    for (i, l) in doc.four_eyes_levels.iter().enumerate() {
        if !level_ids.contains(l.as_str()) {
            push(
                format!("/four_eyes_levels/{i}"),
                format!("unknown level {l:?}"),
            );
        }
    }

    let mut all_ids: HashMap<&str, String> = HashMap::new();
    let mut criterion_issues = Vec::new();
    for (i, c) in doc.criteria.iter().enumerate() {
        let path = format!("/criteria/{i}");
        if let Some(first) = all_ids.insert(c.id.as_str(), path.clone()) {
            criterion_issues.push(Issue {
                path: format!("{path}/id"),
                message: format!("duplicate criterion id {:?} (first at {first})", c.id),
            });
        }
        check_criterion(
            c,
            &path,
            &theme_ids,
            doc.effective_date,
            &mut criterion_issues,
        );
    }
    for t in &doc.themes {
        if !doc
            .criteria
            .iter()
            .any(|c| c.theme == t.id && c.kind.is_scored())
        {
            criterion_issues.push(Issue {
                path: format!(
                    "/themes/{}",
                    doc.themes.iter().position(|x| x.id == t.id).unwrap_or(0)
                ),
                message: format!("theme {:?} has no scored criterion", t.id),
            });
        }
    }

    let base: HashSet<&str> = doc.criteria.iter().map(|c| c.id.as_str()).collect();
    let mut profile_ids = HashSet::new();
    let mut industry_owner: HashMap<&str, &str> = HashMap::new();
    for (p_i, p) in doc.profiles.iter().enumerate() {
        let at = format!("/profiles/{p_i}");
        if !profile_ids.insert(p.id.as_str()) {
            criterion_issues.push(Issue {
                path: format!("{at}/id"),
                message: format!("duplicate profile id {:?}", p.id),
            });
        }
        for (i, code) in p.industries.iter().enumerate() {
            if let Err(e) = IndustryCode::parse(code) {
                criterion_issues.push(Issue {
                    path: format!("{at}/industries/{i}"),
                    message: format!("{code}: {e}"),
                });
            }
            if let Some(other) = industry_owner.insert(code.as_str(), p.id.as_str()) {
                criterion_issues.push(Issue {
                    path: format!("{at}/industries/{i}"),
                    message: format!("{code} is already covered by profile {other:?}"),
                });
            }
        }
        for (i, c) in p.criteria.iter().enumerate() {
            let path = format!("{at}/criteria/{i}");
            if let Some(first) = all_ids.insert(c.id.as_str(), path.clone()) {
                criterion_issues.push(Issue {
                    path: format!("{path}/id"),
                    message: format!("duplicate criterion id {:?} (first at {first})", c.id),
                });
            }
            check_criterion(
                c,
                &path,
                &theme_ids,
                doc.effective_date,
                &mut criterion_issues,
            );
        }
        for (id, w) in &p.weights {
            if !base.contains(id.as_str()) {
                criterion_issues.push(Issue {
                    path: format!("{at}/weights/{id}"),
                    message: "not a criterion of this version".into(),
                });
            } else if *w <= 0.0 || w.is_nan() {
                criterion_issues.push(Issue {
                    path: format!("{at}/weights/{id}"),
                    message: "must be positive".into(),
                });
            }
        }
        for (id, w) in &p.theme_weights {
            if !theme_ids.contains(id.as_str()) {
                criterion_issues.push(Issue {
                    path: format!("{at}/theme_weights/{id}"),
                    message: "not a theme of this version".into(),
                });
            } else if !(w.is_finite() && *w > 0.0) {
                criterion_issues.push(Issue {
                    path: format!("{at}/theme_weights/{id}"),
                    message: "must be positive and finite".into(),
                });
            }
        }
        for (i, id) in p.not_applicable.iter().enumerate() {
            if !base.contains(id.as_str()) {
                criterion_issues.push(Issue {
                    path: format!("{at}/not_applicable/{i}"),
                    message: format!("{id:?} is not a criterion of this version"),
                });
            } else if doc.criterion(id).is_some_and(|c| c.red_line) {
                criterion_issues.push(Issue {
                    path: format!("{at}/not_applicable/{i}"),
                    message: format!("{id:?} is a red line and always applies"),
                });
            }
        }
    }
    issues.extend(criterion_issues);
    issues.extend(check_changelog(doc, predecessor));
    issues
}

fn check_changelog(doc: &SchemaDoc, predecessor: Option<&SchemaDoc>) -> Vec<Issue> {
    let mut issues = Vec::new();
    let log = &doc.changelog;
    let Some(prev) = predecessor else {
        if doc.predecessor.is_none()
            && (!log.added.is_empty()
                || !log.removed.is_empty()
                || !log.renamed.is_empty()
                || !log.reweighted.is_empty())
        {
            issues.push(Issue {
                path: "/changelog".into(),
                message: "a first version has nothing to change from: name its predecessor".into(),
            });
        }
        return issues;
    };
    if doc.predecessor.as_deref() != Some(prev.version.as_str()) || doc.id != prev.id {
        issues.push(Issue {
            path: "/predecessor".into(),
            message: format!("expected {} {}", prev.id, prev.version),
        });
        return issues;
    }
    for (i, r) in log.renamed.iter().enumerate() {
        if prev.criterion(&r.from).is_none() {
            issues.push(Issue {
                path: format!("/changelog/renamed/{i}/from"),
                message: format!("{:?} is not a criterion of {}", r.from, prev.version),
            });
        }
        if doc.criterion(&r.to).is_none() {
            issues.push(Issue {
                path: format!("/changelog/renamed/{i}/to"),
                message: format!("{:?} is not a criterion of this version", r.to),
            });
        }
    }
    let actual = diff(prev, doc);
    let compare = |field: &str, declared: BTreeSet<String>, actual: BTreeSet<String>| {
        let missing: Vec<_> = actual.difference(&declared).cloned().collect();
        let extra: Vec<_> = declared.difference(&actual).cloned().collect();
        let mut out = Vec::new();
        if !missing.is_empty() {
            out.push(Issue {
                path: format!("/changelog/{field}"),
                message: format!("does not list {}", missing.join(", ")),
            });
        }
        if !extra.is_empty() {
            out.push(Issue {
                path: format!("/changelog/{field}"),
                message: format!(
                    "lists {} but the versions do not differ so",
                    extra.join(", ")
                ),
            });
        }
        out
    };
    issues.extend(compare(
        "added",
        log.added.iter().cloned().collect(),
        actual.added.iter().cloned().collect(),
    ));
    issues.extend(compare(
        "removed",
        log.removed.iter().cloned().collect(),
        actual.removed.iter().cloned().collect(),
    ));
    issues.extend(compare(
        "reweighted",
        log.reweighted
            .iter()
            .map(|r| format!("{} {}→{}", r.id, r.from, r.to))
            .collect(),
        actual
            .reweighted
            .iter()
            .map(|r| format!("{} {}→{}", r.id, r.from, r.to))
            .collect(),
    ));
    issues
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> SchemaDoc {
        let text = include_str!("../../schemas/cca-good-enterprise/2024.json");
        serde_json::from_str(text).expect("shipped 2024")
    }

    fn prev() -> SchemaDoc {
        let text = include_str!("../../schemas/cca-good-enterprise/2014.json");
        serde_json::from_str(text).expect("shipped 2014")
    }

    fn paths(d: &SchemaDoc) -> Vec<String> {
        check(d, Some(&prev()))
            .into_iter()
            .map(|i| i.path)
            .collect()
    }

    #[test]
    fn the_shipped_document_passes() {
        assert_eq!(paths(&doc()), Vec::<String>::new());
    }

    #[test]
    fn each_rule_names_its_path() {
        let find = |d: &SchemaDoc, id: &str| d.criteria.iter().position(|c| c.id == id).expect(id);
        let mut cases: Vec<(SchemaDoc, String)> = Vec::new();

        let mut d = doc();
        d.criteria[2].theme = "nowhere".into();
        cases.push((d, "/criteria/2/theme".into()));

        let mut d = doc();
        let i = find(&d, "disputes.response_time");
        if let Some(m) = d.criteria[i].measure.as_mut() {
            m.bands.swap(0, 1);
        }
        cases.push((d, format!("/criteria/{i}/measure/bands/1/threshold")));

        let mut d = doc();
        let i = find(&d, "disputes.complaint_channel");
        d.criteria[i].options[1].id = d.criteria[i].options[0].id.clone();
        cases.push((d, format!("/criteria/{i}/options/1/id")));

        let mut d = doc();
        let i = find(&d, "lawful.compliance_system");
        d.criteria[i].red_line = true;
        cases.push((d, format!("/criteria/{i}/red_line")));

        let mut d = doc();
        d.criteria[0].weight = 0.0;
        cases.push((d, "/criteria/0/weight".into()));

        let mut d = doc();
        d.criteria[0].law_refs[0].in_force_from = NaiveDate::from_ymd_opt(2013, 1, 1);
        cases.push((d, "/criteria/0/law_refs/0/in_force_from".into()));

        let mut d = doc();
        d.criteria[0].law_refs[0].article = 64;
        cases.push((d, "/criteria/0/law_refs/0/article".into()));

        let mut d = doc();
        d.criteria[0].law_refs[0].law = "crpl-1993".into();
        cases.push((d, "/criteria/0/law_refs/0/law".into()));

        let mut d = doc();
        d.criteria[0].law_refs[0].law = "consumer-law".into();
        cases.push((d, "/criteria/0/law_refs/0/law".into()));

        let mut d = doc();
        d.profiles[0].weights.insert("nothing.here".into(), 2.0);
        cases.push((d, "/profiles/0/weights/nothing.here".into()));

        let mut d = doc();
        d.profiles[0].theme_weights.insert("nowhere".into(), 2.0);
        cases.push((d, "/profiles/0/theme_weights/nowhere".into()));

        let mut d = doc();
        d.profiles[0]
            .theme_weights
            .insert("sustainability".into(), f64::INFINITY);
        cases.push((d, "/profiles/0/theme_weights/sustainability".into()));

        let mut d = doc();
        let taken = d.profiles[0].industries[0].clone();
        d.profiles[1].industries.push(taken);
        let n = d.profiles[1].industries.len() - 1;
        cases.push((d, format!("/profiles/1/industries/{n}")));

        let mut d = doc();
        d.profiles[0]
            .not_applicable
            .push("lawful.no_fraud_penalty".into());
        let n = d.profiles[0].not_applicable.len() - 1;
        cases.push((d, format!("/profiles/0/not_applicable/{n}")));

        let mut d = doc();
        d.four_eyes_levels.push("platinum".into());
        cases.push((d, "/four_eyes_levels/1".into()));

        let mut d = doc();
        d.changelog.removed.clear();
        cases.push((d, "/changelog/removed".into()));

        let mut d = doc();
        d.changelog.reweighted[0].to = 9.0;
        cases.push((d, "/changelog/reweighted".into()));

        for (d, path) in cases {
            let found = paths(&d);
            assert!(found.contains(&path), "{path} not in {found:?}");
        }
    }

    #[test]
    fn a_profile_replaces_the_theme_weights_it_names() {
        let mut d = doc();
        d.profiles[0].theme_weights.clear();
        d.profiles[0].theme_weights.insert("safety".into(), 30.0);
        let code = IndustryCode::parse(&d.profiles[0].industries[0]).expect("code");
        let r = resolve(&d, Some(&code));
        let weight = |r: &Resolved, id: &str| {
            r.themes
                .iter()
                .find(|t| t.id == id)
                .map(|t| t.weight)
                .expect(id)
        };
        assert_eq!(weight(&r, "safety"), 30.0);
        let base = |id: &str| d.themes.iter().find(|t| t.id == id).expect(id).weight;
        assert_eq!(weight(&r, "lawful"), base("lawful"));
        // Without the profile, the version's own weights.
        let r = resolve(&d, None);
        assert_eq!(weight(&r, "safety"), base("safety"));
        assert_eq!(paths(&d), Vec::<String>::new());
    }

    #[test]
    fn content_hash_ignores_status_and_formatting_only() {
        let d = doc();
        let mut retired = d.clone();
        retired.status = Status::Retired;
        assert_eq!(d.content_hash(), retired.content_hash());
        let reparsed: SchemaDoc =
            serde_json::from_str(&serde_json::to_string_pretty(&d).expect("json")).expect("doc");
        assert_eq!(d.content_hash(), reparsed.content_hash());
        let mut changed = d.clone();
        changed.criteria[0].title.en.push('.');
        assert_ne!(d.content_hash(), changed.content_hash());
    }

    #[test]
    fn canonical_json_sorts_keys() {
        use crate::domain::canonical::canonical_json;
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[1,{"f":2,"e":3}],"c":"x"}}"#).expect("json");
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":"x","d":[1,{"e":3,"f":2}]},"b":1}"#
        );
    }
}
