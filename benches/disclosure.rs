//! The disclosure pattern that every statistics request computes: 100,000 enterprises over
//! GB/T 4754 classes and GB/T 2260 counties, skewed as real registrations are (a few industries
//! and provinces hold most enterprises).
//!
//! `cargo bench --bench disclosure`; figures in docs/BENCHMARKS.md.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use csr_assess::domain::disclosure::Pattern;

/// (industry code, region code, enterprises) for `n` enterprises, from a fixed-seed generator.
fn leaves(n: usize) -> Vec<(String, String, i64)> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    // Skewed: the square of a uniform draw favours small indices.
    let mut skewed = |bound: u64| {
        let a = next(bound);
        let b = next(bound);
        a * b / bound
    };
    let sections = b"ABCDEFGHIJKLMNOPQRS";
    let mut counts: HashMap<(String, String), i64> = HashMap::new();
    for _ in 0..n {
        let section = sections[skewed(sections.len() as u64) as usize] as char;
        let industry = format!(
            "{section}{:02}{}{}",
            10 + skewed(40),
            skewed(8) + 1,
            skewed(9) + 1
        );
        let region = format!(
            "{:02}{:02}{:02}",
            11 + skewed(55),
            1 + skewed(20),
            1 + skewed(15)
        );
        *counts.entry((industry, region)).or_default() += 1;
    }
    counts.into_iter().map(|((i, r), n)| (i, r, n)).collect()
}

fn bench(c: &mut Criterion) {
    let leaves = leaves(100_000);
    let mut group = c.benchmark_group("disclosure");
    group.sample_size(10);
    group.bench_function("pattern, 100,000 enterprises", |b| {
        b.iter(|| {
            Pattern::new(
                black_box(&leaves)
                    .iter()
                    .map(|(i, r, n)| (i.as_str(), r.as_str(), *n)),
                5,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
