//! Rendering a self-assessment report (2024 schema, food profile, every criterion answered),
//! the same report with the longest allowed answers in every text field, and a certificate,
//! with the font subset.
//!
//! `cargo bench --bench report`; figures in docs/BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use csr_assess::domain::answers;
use csr_assess::domain::schema::Kind;
use csr_assess::reports::Lang;
use csr_assess::reports::certificate::{self, CertificateData};
use csr_assess::reports::report::{self, ReportData};
use report_data::report_data;
use serde_json::{Value, json};

#[path = "common/report_data.rs"]
mod report_data;

fn certificate_data() -> CertificateData {
    CertificateData {
        issuer_zh: "示例消费者协会".into(),
        issuer_en: "Example Consumers' Association".into(),
        seal_text: "评价专用章".into(),
        number: "CSR-2026-000123-K".into(),
        enterprise_name: "杭州放心食品有限公司".into(),
        credit_code: "91330106MA27U8XW4Y".into(),
        level_zh: "良好".into(),
        level_en: "Good".into(),
        schema_id: "cca-good-enterprise".into(),
        version: "2024".into(),
        issued_on: chrono::NaiveDate::from_ymd_opt(2026, 11, 28).expect("date"),
        expires_on: chrono::NaiveDate::from_ymd_opt(2028, 11, 28).expect("date"),
        verify_url: "https://csr.example.org/verify/CSR-2026-000123-K".into(),
        signed_json: "{}".into(),
        kid: "kid".into(),
        signature: "signature".into(),
        status: csr_assess::domain::certificate::CertificateStatus::Active,
    }
}

/// The same report with every free-text answer and every N/A reason at the longest allowed,
/// written as one run of full-width commas (the worst case for line breaking).
fn longest_report_data() -> ReportData {
    let mut data = report_data();
    let longest = "，".repeat(answers::MAX_TEXT_CHARS);
    for c in &data.criteria {
        let entry = data.answers.get_mut(&c.id).expect("answered");
        if c.kind == Kind::FreeText {
            entry.0 = json!(longest);
        } else if c.not_applicable_allowed {
            *entry = (Value::Null, Some(longest.clone()));
        }
    }
    data
}

fn bench(c: &mut Criterion) {
    let longest = longest_report_data();
    c.bench_function("render report, longest answers (zh)", |b| {
        b.iter(|| report::render(black_box(&longest), Lang::Zh))
    });
    let data = report_data();
    let bytes = report::render(&data, Lang::Zh);
    eprintln!("report: {} bytes", bytes.len());
    let cert = certificate_data();
    eprintln!("certificate: {} bytes", certificate::render(&cert).len());
    c.bench_function("render report (zh)", |b| {
        b.iter(|| report::render(black_box(&data), Lang::Zh))
    });
    c.bench_function("render certificate", |b| {
        b.iter(|| certificate::render(black_box(&cert)))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
