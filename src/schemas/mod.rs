//! The schema registry: the versions shipped in `schemas/` (embedded in the binary), their
//! validation against the meta-schema and the semantic rules, and their immutability once
//! recorded in the database.

mod cache;
pub mod versions;

use std::sync::OnceLock;

use serde_json::Value;

use crate::db::{AnyConnection, Db, audit, schema_versions};
use crate::domain::schema::{self, Issue, SchemaDoc, Status};
use crate::error::{AppError, AppResult, Code};
pub use cache::*;

/// JSON Schema describing assessment-schema documents, for editors and for validation.
pub const META_SCHEMA: &str = include_str!("../../schemas/assessment-schema.schema.json");

/// The shipped versions, oldest first: (path under `schemas/`, content).
pub const SHIPPED: [(&str, &str); 3] = [
    (
        "cca-good-enterprise/2007.json",
        include_str!("../../schemas/cca-good-enterprise/2007.json"),
    ),
    (
        "cca-good-enterprise/2014.json",
        include_str!("../../schemas/cca-good-enterprise/2014.json"),
    ),
    (
        "cca-good-enterprise/2024.json",
        include_str!("../../schemas/cca-good-enterprise/2024.json"),
    ),
];

fn meta_validator() -> Result<&'static jsonschema::Validator, String> {
    static VALIDATOR: OnceLock<Result<jsonschema::Validator, String>> = OnceLock::new();
    VALIDATOR
        .get_or_init(|| {
            let meta: Value = serde_json::from_str(META_SCHEMA).map_err(|e| e.to_string())?;
            jsonschema::validator_for(&meta).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| format!("the meta-schema is invalid: {e}"))
}

/// Checks a document's structure: JSON syntax, the meta-schema, then the typed form.
pub fn parse_document(text: &str) -> Result<SchemaDoc, Vec<Issue>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![Issue {
            path: String::new(),
            message: format!("not valid JSON: {e}"),
        }]
    })?;
    parse_value(&value)
}

pub fn parse_value(value: &Value) -> Result<SchemaDoc, Vec<Issue>> {
    let validator = meta_validator().map_err(|message| {
        vec![Issue {
            path: String::new(),
            message,
        }]
    })?;
    let issues: Vec<Issue> = validator
        .iter_errors(value)
        .map(|e| Issue {
            path: e.instance_path().as_str().to_owned(),
            message: e.to_string(),
        })
        .collect();
    if !issues.is_empty() {
        return Err(issues);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e
            .path()
            .iter()
            .map(|seg| match seg {
                serde_path_to_error::Segment::Seq { index } => format!("/{index}"),
                serde_path_to_error::Segment::Map { key } => format!("/{key}"),
                serde_path_to_error::Segment::Enum { variant } => format!("/{variant}"),
                serde_path_to_error::Segment::Unknown => "/?".to_owned(),
            })
            .collect();
        vec![Issue {
            path,
            message: e.inner().to_string(),
        }]
    })
}

/// A shipped version, validated.
#[derive(Debug, Clone)]
pub struct Shipped {
    pub file: &'static str,
    pub doc: SchemaDoc,
    pub hash: String,
}

/// Parses and checks every shipped version (each against its predecessor).
pub fn shipped() -> Result<Vec<Shipped>, String> {
    let mut out: Vec<Shipped> = Vec::new();
    for (file, text) in SHIPPED {
        let doc = parse_document(text).map_err(|issues| describe(file, &issues))?;
        let prev = doc.predecessor.as_deref().and_then(|p| {
            out.iter()
                .find(|s| s.doc.id == doc.id && s.doc.version == p)
                .map(|s| &s.doc)
        });
        if doc.predecessor.is_some() && prev.is_none() {
            return Err(format!(
                "schemas/{file}: predecessor {:?} is not shipped",
                doc.predecessor
            ));
        }
        let issues = schema::check(&doc, prev);
        if !issues.is_empty() {
            return Err(describe(file, &issues));
        }
        let hash = doc.content_hash();
        out.push(Shipped { file, doc, hash });
    }
    Ok(out)
}

pub fn describe(file: &str, issues: &[Issue]) -> String {
    let lines: Vec<String> = issues.iter().map(|i| format!("  {i}")).collect();
    format!("schemas/{file} is invalid:\n{}", lines.join("\n"))
}

/// Records each shipped version on first sight; a shipped file whose content differs from the
/// version already recorded stops the start instead of silently replacing it.
pub async fn sync_shipped(db: &Db) -> Result<(), String> {
    let shipped = shipped()?;
    db.write(move |conn| {
        for s in &shipped {
            match schema_versions::find(conn, &s.doc.id, &s.doc.version)? {
                Some(row) if row.content_hash == s.hash => {}
                Some(row) => {
                    return Err(AppError::conflict(
                        Code::SchemaChanged,
                        format!(
                            "schemas/{}: {} {} is already recorded ({}) with content hash {}, but the shipped file hashes to {}. \
                             A recorded version never changes: publish the change as a new version.",
                            s.file, s.doc.id, s.doc.version, row.status, row.content_hash, s.hash
                        ),
                    ));
                }
                None => {
                    let document = serde_json::to_string(&s.doc).map_err(AppError::internal)?;
                    schema_versions::insert(conn, &s.doc, &s.hash, &document, Status::Published, "shipped")?;
                    record(conn, None, None, "schema.version_loaded", &s.doc, &s.hash)?;
                }
            }
        }
        Ok(())
    })
    .await
    .map_err(|e| match e {
        AppError::Conflict { detail, .. } => detail,
        other => other.to_problem().detail,
    })
}

pub fn record(
    conn: &mut AnyConnection,
    actor: Option<i64>,
    request_id: Option<&str>,
    action: &str,
    doc: &SchemaDoc,
    hash: &str,
) -> AppResult<()> {
    audit::append(
        conn,
        audit::Event {
            actor_user_id: actor,
            action,
            entity_type: "schema_version",
            entity_id: format!("{}/{}", doc.id, doc.version),
            enterprise_id: None,
            request_id,
            details: serde_json::json!({ "content_hash": hash }),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::schema::Kind;
    use std::collections::BTreeSet;

    fn version(v: &str) -> SchemaDoc {
        shipped()
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .find(|s| s.doc.version == v)
            .map(|s| s.doc)
            .unwrap_or_else(|| panic!("{v} not shipped"))
    }

    #[test]
    fn shipped_versions_are_valid() {
        let shipped = shipped().unwrap_or_else(|e| panic!("{e}"));
        let labels: Vec<&str> = shipped.iter().map(|s| s.doc.version.as_str()).collect();
        assert_eq!(labels, ["2007", "2014", "2024"]);
    }

    #[test]
    fn the_2024_version_is_complete() {
        let doc = version("2024");
        assert_eq!(doc.themes.len(), 10);
        assert!(doc.criteria.len() >= 45, "{}", doc.criteria.len());
        for theme in &doc.themes {
            assert!(
                doc.criteria.iter().filter(|c| c.theme == theme.id).count() >= 3,
                "{}",
                theme.id
            );
        }
        // Every kind of criterion is exercised, and red lines exist.
        let kinds: BTreeSet<String> = doc
            .criteria
            .iter()
            .map(|c| format!("{:?}", c.kind))
            .collect();
        assert_eq!(kinds.len(), 6, "{kinds:?}");
        assert!(
            doc.criteria
                .iter()
                .any(|c| c.red_line && c.kind == Kind::YesNo)
        );
    }

    #[test]
    fn every_operator_duty_article_is_cited_from_2014_on() {
        for v in ["2014", "2024"] {
            let doc = version(v);
            let cited: BTreeSet<u32> = doc
                .criteria
                .iter()
                .flat_map(|c| &c.law_refs)
                .filter(|r| r.law == "crpl-2013")
                .map(|r| r.article)
                .collect();
            let duties: BTreeSet<u32> = (16..=29).collect();
            assert!(cited.is_superset(&duties), "{v}: {cited:?}");
        }
    }

    #[test]
    fn the_2024_version_covers_the_implementing_regulation() {
        let doc = version("2024");
        let regulation: BTreeSet<&str> = doc
            .criteria
            .iter()
            .filter(|c| c.law_refs.iter().any(|r| r.law == "crpl-regulation-2024"))
            .map(|c| c.id.as_str())
            .collect();
        for duty in [
            "fair_trade.no_price_discrimination",
            "fair_trade.auto_renewal",
            "fair_trade.prepaid_rules",
            "information.livestream_selling",
        ] {
            assert!(regulation.contains(duty), "{duty}");
        }
        // Platforms' duties toward their sellers come from the E-commerce Law, not the regulation.
        let platform = doc
            .criterion("supervision.platform_seller_management")
            .expect("platform criterion");
        assert!(platform.law_refs.iter().any(|r| r.law == "ecommerce-2018"));
        // None of these existed before the regulation.
        let old = version("2014");
        assert!(regulation.iter().all(|id| old.criterion(id).is_none()));
    }

    #[test]
    fn profiles_cover_the_named_sectors() {
        for v in ["2014", "2024"] {
            let doc = version(v);
            for code in [
                "C13", "C14", "C15", "F512", "F522", "H62", "C27", "F5151", "F5251", "K7010",
                "K7020", "K7030", "C36", "F5261", "J662", "J6930", "J68", "G531", "G541", "G551",
                "G5611", "G60", "I631", "I6410", "D4420", "C385", "C395", "C262", "C263", "C1329",
                "C2750", "F5166", "F5253", "F5292", "F5293", "I6432",
            ] {
                let industry =
                    crate::domain::IndustryCode::parse(code).unwrap_or_else(|e| panic!("{e}"));
                assert!(
                    doc.profile_for(&industry).is_some(),
                    "{v}: no profile for {code}"
                );
            }
            for p in &doc.profiles {
                assert!(
                    p.criteria.len() >= 3,
                    "{v}: {} adds {}",
                    p.id,
                    p.criteria.len()
                );
                assert!(
                    !p.weights.is_empty() || !p.not_applicable.is_empty(),
                    "{v}: {} tailors nothing",
                    p.id
                );
            }
        }
    }

    #[test]
    fn a_broken_file_is_located_by_path() {
        let mut value: Value = serde_json::from_str(SHIPPED[2].1).unwrap_or_default();
        value["criteria"][7]["weight"] = Value::from("heavy");
        let issues = parse_value(&value).err().unwrap_or_default();
        assert!(
            issues.iter().any(|i| i.path == "/criteria/7/weight"),
            "{issues:?}"
        );
        let issues = parse_document("{ not json").err().unwrap_or_default();
        assert!(issues[0].message.contains("line 1"), "{issues:?}");
    }
}
