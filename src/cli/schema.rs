//! `csr-assess schema`: validate shipped or local schema documents and compare versions.

use super::SchemaCommand;

/// `csr-assess schema …`: checks and compares schema documents without a database.
pub(super) fn schema_command(cmd: SchemaCommand) -> Result<(), String> {
    use crate::domain::schema::{self, SchemaDoc};
    use crate::schemas;

    let shipped: Vec<SchemaDoc> = schemas::shipped()?.into_iter().map(|s| s.doc).collect();
    match cmd {
        SchemaCommand::List => {
            for doc in &shipped {
                println!(
                    "{} {} ({}, effective {}, {} criteria, {} profiles) sha256:{}",
                    doc.id,
                    doc.version,
                    doc.status.as_str(),
                    doc.effective_date,
                    doc.criteria.len(),
                    doc.profiles.len(),
                    doc.content_hash()
                );
            }
            Ok(())
        }
        SchemaCommand::Validate { files } => {
            let mut parsed = Vec::new();
            let mut failed = 0;
            for file in &files {
                let name = file.display().to_string();
                let text = std::fs::read_to_string(file).map_err(|e| format!("{name}: {e}"))?;
                match schemas::parse_document(&text) {
                    Ok(doc) => parsed.push((name, doc)),
                    Err(issues) => {
                        failed += 1;
                        for issue in issues {
                            eprintln!("{name}: {issue}");
                        }
                    }
                }
            }
            for (name, doc) in &parsed {
                let prev = doc.predecessor.as_deref().and_then(|p| {
                    parsed
                        .iter()
                        .map(|(_, d)| d)
                        .chain(shipped.iter())
                        .find(|d| d.id == doc.id && d.version == p)
                });
                let mut issues = schema::check(doc, prev);
                if let (Some(p), None) = (&doc.predecessor, prev) {
                    issues.push(schema::Issue {
                        path: "/predecessor".into(),
                        message: format!("version {p:?} was not given and is not shipped"),
                    });
                }
                if issues.is_empty() {
                    println!(
                        "ok {name}: {} {} with {} criteria, sha256:{}",
                        doc.id,
                        doc.version,
                        doc.criteria.len(),
                        doc.content_hash()
                    );
                } else {
                    failed += 1;
                    for issue in issues {
                        eprintln!("{name}: {issue}");
                    }
                }
            }
            if failed > 0 {
                Err(format!("{failed} of {} file(s) invalid", files.len()))
            } else {
                Ok(())
            }
        }
        SchemaCommand::Diff { from, to } => {
            let load = |arg: &str| -> Result<SchemaDoc, String> {
                if let Some(doc) = shipped.iter().find(|d| d.version == arg) {
                    return Ok(doc.clone());
                }
                let text = std::fs::read_to_string(arg)
                    .map_err(|e| format!("{arg}: not a shipped version or a readable file: {e}"))?;
                schemas::parse_document(&text).map_err(|issues| {
                    let lines: Vec<String> = issues.iter().map(|i| format!("{arg}: {i}")).collect();
                    lines.join("\n")
                })
            };
            let d = schema::diff(&load(&from)?, &load(&to)?);
            println!(
                "{}",
                serde_json::to_string_pretty(&d).map_err(|e| e.to_string())?
            );
            Ok(())
        }
    }
}
