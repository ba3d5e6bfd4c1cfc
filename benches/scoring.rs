//! Scoring a 100-criterion submission: the work done for every live score preview.
//!
//! `cargo bench --bench scoring`; figures in docs/BENCHMARKS.md.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;

use criterion::{Criterion as Bench, criterion_group, criterion_main};
use csr_assess::domain::schema::{Criterion, Kind, SchemaDoc};
use csr_assess::domain::scoring::{Answer, Value, score};

/// The 2024 criteria, repeated under new ids until there are 100, with a realistic answer mix.
fn fixture() -> (
    SchemaDoc,
    Vec<Criterion>,
    HashMap<String, Answer>,
    HashSet<String>,
) {
    let doc: SchemaDoc =
        serde_json::from_str(include_str!("../schemas/cca-good-enterprise/2024.json"))
            .expect("2024");
    let mut criteria = Vec::new();
    let mut round = 0;
    while criteria.len() < 100 {
        for c in &doc.criteria {
            if criteria.len() == 100 {
                break;
            }
            let mut c = c.clone();
            c.id = format!("{}_{round}", c.id);
            criteria.push(c);
        }
        round += 1;
    }
    let mut answers = HashMap::new();
    let mut evidence = HashSet::new();
    for (i, c) in criteria.iter().enumerate() {
        let value = match c.kind {
            Kind::YesNo => Value::Bool(i % 5 != 0),
            Kind::Maturity => Value::Number((i % 5) as f64),
            Kind::SingleChoice => Value::Text(c.options[i % c.options.len()].id.clone()),
            Kind::MultipleChoice => {
                Value::Choices(c.options.iter().take(2).map(|o| o.id.clone()).collect())
            }
            Kind::Measured => Value::Number(50.0 + (i % 50) as f64),
            Kind::FreeText => Value::Text("text".into()),
        };
        let answer = if c.not_applicable_allowed && i % 7 == 0 {
            Answer::NotApplicable
        } else {
            Answer::Given(value)
        };
        answers.insert(c.id.clone(), answer);
        if i % 3 != 0 {
            evidence.insert(c.id.clone());
        }
    }
    (doc, criteria, answers, evidence)
}

fn bench(c: &mut Bench) {
    let (doc, criteria, answers, evidence) = fixture();
    assert_eq!(criteria.len(), 100);
    c.bench_function("score 100 criteria", |b| {
        b.iter(|| {
            score(
                black_box(&doc.themes),
                black_box(&criteria),
                black_box(&doc.levels),
                black_box(&answers),
                black_box(&evidence),
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
