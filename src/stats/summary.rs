//! Location figures (quantiles, median) and quarters: pure arithmetic over values already read.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::stats::total_shown;

use super::*;

/// Location figures of a set of scores, hidden below `k` enterprises.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub enterprises: Count,
    pub mean: Figure,
    pub median: Figure,
    pub q1: Figure,
    pub q3: Figure,
}

/// Linear-interpolation quantile of sorted values.
pub(super) fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

pub(super) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The summary of `values`, all of it hidden when `withheld` (the group may not be described)
/// or when fewer than `k` values remain.
pub fn summary(mut values: Vec<f64>, k: i64, withheld: bool) -> Summary {
    values.sort_by(f64::total_cmp);
    let n = values.len() as i64;
    let hide_n = withheld || !total_shown(n, k);
    let hide = hide_n || n == 0;
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    Summary {
        enterprises: Count::of(n, hide_n),
        mean: Figure::of(round2(mean), hide),
        median: Figure::of(round2(quantile(&values, 0.5)), hide),
        q1: Figure::of(round2(quantile(&values, 0.25)), hide),
        q3: Figure::of(round2(quantile(&values, 0.75)), hide),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bucket {
    /// Scores from `from` (inclusive) to `to` (exclusive; 100 is in the last bucket).
    pub from: f64,
    pub to: f64,
    pub enterprises: Count,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Distribution {
    pub total: Summary,
    pub themes: BTreeMap<String, Summary>,
    pub histogram: Vec<Bucket>,
    pub min_group: i64,
}

/// The median of unsorted values.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    quantile(&values, 0.5)
}

/// Current quarter label, e.g. `2026Q4`.
pub fn quarter_of(d: NaiveDate) -> String {
    format!("{}Q{}", d.year(), (d.month() - 1) / 3 + 1)
}
