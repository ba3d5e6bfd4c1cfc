//! The report the benchmarks render: a food manufacturer on the 2024 schema, every one of its
//! 59 criteria answered, with the reviewed score and an industry median (5 A4 pages).

use std::collections::HashMap;

use csr_assess::domain::IndustryCode;
use csr_assess::domain::answers;
use csr_assess::domain::schema::{Kind, SchemaDoc, resolve};
use csr_assess::domain::scoring::score;
use csr_assess::reports::report::ReportData;
use serde_json::{Value, json};

pub fn report_data() -> ReportData {
    let doc: SchemaDoc =
        serde_json::from_str(include_str!("../../schemas/cca-good-enterprise/2024.json"))
            .expect("2024");
    let resolved = resolve(&doc, Some(&IndustryCode::parse("C1491").expect("code")));
    let criteria: Vec<_> = resolved
        .criteria
        .iter()
        .map(|c| c.criterion.clone())
        .collect();
    let mut raw = HashMap::new();
    let mut engine = HashMap::new();
    for (i, c) in criteria.iter().enumerate() {
        let value: Value = match c.kind {
            Kind::YesNo => json!(i % 4 != 0),
            Kind::Maturity => json!(i % 5),
            Kind::SingleChoice => json!(c.options[i % c.options.len()].id),
            Kind::MultipleChoice => json!([c.options[0].id]),
            Kind::Measured => json!(80 + i % 20),
            Kind::FreeText => json!("我们在门店和网店开展了旧衣回收和简约包装活动。"),
        };
        if let Ok(a) = answers::parse(c, &value, None) {
            engine.insert(c.id.clone(), a);
        }
        raw.insert(c.id.clone(), (value, None));
    }
    let evidence = criteria.iter().map(|c| c.id.clone()).collect();
    let s = score(
        &resolved.themes,
        &criteria,
        &resolved.levels,
        &engine,
        &evidence,
    );
    let median = resolved
        .themes
        .iter()
        .map(|t| (t.id.clone(), 72.0))
        .collect();
    ReportData {
        enterprise_name: "杭州放心食品有限公司".into(),
        credit_code: "91330106MA27U8XW4Y".into(),
        industry_code: "C1491".into(),
        schema_id: doc.id.clone(),
        version: doc.version.clone(),
        schema_hash: doc.content_hash(),
        submission_id: 1,
        status: csr_assess::domain::SubmissionStatus::Submitted,
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 28).expect("date"),
        themes: resolved.themes.clone(),
        levels: resolved.levels.clone(),
        criteria,
        answers: raw,
        reviewed: Some(s.clone()),
        score: s,
        verdicts: HashMap::new(),
        complaints: None,
        industry_median: Some(median),
    }
}
