use super::*;
use proptest::prelude::*;

/// Industry codes of the test universe (a division-level code included: enterprises may
/// register one) and region codes.
const INDUSTRIES: [&str; 9] = [
    "C1310", "C1320", "C14", "C1491", "C1511", "C2710", "F5211", "F5212", "F5261",
];
const REGIONS: [&str; 8] = [
    "110101", "110102", "330106", "330108", "330201", "440106", "440301", "440303",
];

fn prefixes(code: &str, levels: &[usize]) -> Vec<String> {
    let mut out = vec![String::new()];
    out.extend(
        levels
            .iter()
            .filter_map(|l| code.get(..*l).map(str::to_owned)),
    );
    out
}

/// Every cell an API filter can name over the universe: (industry prefix, region prefix).
fn all_cells() -> Vec<(String, String)> {
    let mut inds: Vec<String> = INDUSTRIES
        .iter()
        .flat_map(|c| prefixes(c, &INDUSTRY_LEVELS))
        .collect();
    inds.sort();
    inds.dedup();
    let mut regs: Vec<String> = REGIONS
        .iter()
        .flat_map(|c| prefixes(c, &REGION_LEVELS))
        .collect();
    regs.sort();
    regs.dedup();
    inds.iter()
        .flat_map(|i| regs.iter().map(move |r| (i.clone(), r.clone())))
        .collect()
}

const P: u64 = (1 << 61) - 1;

fn mul(a: u64, b: u64) -> u64 {
    ((a as u128 * b as u128) % P as u128) as u64
}

fn inverse(a: u64) -> u64 {
    let (mut base, mut exp, mut acc) = (a, P - 2, 1u64);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul(acc, base);
        }
        base = mul(base, base);
        exp >>= 1;
    }
    acc
}

/// Row-echelon basis over GF(p) of 0/1 vectors: rows with their pivot column.
#[derive(Default)]
struct Span(Vec<(usize, Vec<u64>)>);

impl Span {
    fn reduce(&self, mut v: Vec<u64>) -> Vec<u64> {
        for (pivot, row) in &self.0 {
            let f = v[*pivot];
            if f != 0 {
                for (x, y) in v.iter_mut().zip(row) {
                    *x = (*x + P - mul(f, *y)) % P;
                }
            }
        }
        v
    }

    fn add(&mut self, v: Vec<u64>) {
        let v = self.reduce(v);
        if let Some(pivot) = v.iter().position(|x| *x != 0) {
            let inv = inverse(v[pivot]);
            let row: Vec<u64> = v.iter().map(|x| mul(*x, inv)).collect();
            for (_, other) in &mut self.0 {
                let f = other[pivot];
                if f != 0 {
                    for (x, y) in other.iter_mut().zip(&row) {
                        *x = (*x + P - mul(f, *y)) % P;
                    }
                }
            }
            self.0.push((pivot, row));
        }
    }

    fn contains(&self, v: Vec<u64>) -> bool {
        self.reduce(v).iter().all(|x| *x == 0)
    }
}

fn population() -> impl Strategy<Value = Vec<(usize, usize, i64)>> {
    proptest::collection::vec(
        (
            0..INDUSTRIES.len(),
            0..REGIONS.len(),
            prop_oneof![1..5i64, 5..15i64],
        ),
        1..14,
    )
}

fn leaves(pop: &[(usize, usize, i64)]) -> Vec<(&'static str, &'static str, i64)> {
    pop.iter()
        .map(|(i, r, n)| (INDUSTRIES[*i], REGIONS[*r], *n))
        .collect()
}

/// Enterprises of `leaves` in the cell (industry prefix, region prefix).
fn size(leaves: &[(&str, &str, i64)], industry: &str, region: &str) -> i64 {
    leaves
        .iter()
        .filter(|(i, r, _)| i.starts_with(industry) && r.starts_with(region))
        .map(|(.., n)| n)
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Whatever the population: every published cell has k enterprises or more, every
    /// published remainder too, and no small non-empty cell lies in the span of the
    /// published cells (over the atoms: every pair of industry and region codes, empty
    /// ones included), so no combination of published figures recovers it.
    #[test]
    fn no_small_cell_is_determined(pop in population(), k in 5..8i64) {
        let leaves = leaves(&pop);
        let pattern = Pattern::new(leaves.iter().copied(), k);
        let cells = all_cells();
        let atoms: Vec<(&str, &str)> = INDUSTRIES
            .iter()
            .flat_map(|i| REGIONS.iter().map(move |r| (*i, *r)))
            .collect();
        let indicator = |(ci, cr): &(String, String)| -> Vec<u64> {
            atoms
                .iter()
                .map(|(i, r)| u64::from(i.starts_with(ci.as_str()) && r.starts_with(cr.as_str())))
                .collect()
        };
        let mut span = Span::default();
        for c in &cells {
            if pattern.published(&c.0, &c.1) {
                prop_assert!(size(&leaves, &c.0, &c.1) >= k, "{c:?} published below k");
                span.add(indicator(c));
            }
        }
        for c in &cells {
            let n = size(&leaves, &c.0, &c.1);
            if n > 0 && n < k {
                prop_assert!(!pattern.published(&c.0, &c.1));
                prop_assert!(!span.contains(indicator(c)), "{c:?} ({n}) is determined");
            }
        }
    }

    /// A published cell minus its published children leaves 0 or at least k, along
    /// both hierarchies.
    #[test]
    fn remainders_are_groups(pop in population()) {
        let k = 5;
        let leaves = leaves(&pop);
        let pattern = Pattern::new(leaves.iter().copied(), k);
        for (i, r) in all_cells() {
            if !pattern.published(&i, &r) {
                continue;
            }
            let n = size(&leaves, &i, &r);
            let along_industry: i64 = all_cells()
                .iter()
                .filter(|(ci, cr)| *cr == r && ci.len() > i.len() && ci.starts_with(&i)
                    && INDUSTRY_LEVELS.iter().find(|l| **l > i.len()) == Some(&ci.len()))
                .filter(|(ci, cr)| pattern.published(ci, cr))
                .map(|(ci, cr)| size(&leaves, ci, cr))
                .sum();
            let along_region: i64 = all_cells()
                .iter()
                .filter(|(ci, cr)| *ci == i && cr.len() > r.len() && cr.starts_with(&r)
                    && REGION_LEVELS.iter().find(|l| **l > r.len()) == Some(&cr.len()))
                .filter(|(ci, cr)| pattern.published(ci, cr))
                .map(|(ci, cr)| size(&leaves, ci, cr))
                .sum();
            for rest in [n - along_industry, n - along_region] {
                prop_assert!(rest == 0 || rest >= k, "({i}, {r}) leaves {rest}");
            }
        }
    }
}

#[test]
fn the_review_case() {
    // Section C: C13 8, C14 6, C15 5, C27 3, in three provinces.
    let leaves = [
        ("C1310", "440106", 8),
        ("C1491", "330106", 6),
        ("C1511", "440106", 5),
        ("C2710", "110101", 3),
    ];
    let pattern = Pattern::new(leaves, 5);
    let shown = |i, r| pattern.published(i, r);
    assert!(shown("", "") && shown("C", "") && shown("C13", "") && shown("C14", ""));
    // C27 is small; C15, the smallest other division, hides with it, so that C minus the
    // divisions shown leaves 8, not 3.
    assert!(!shown("C27", "") && !shown("C15", ""));
    // Beijing is small and Zhejiang hides with it; Guangdong is shown.
    assert!(shown("", "44") && !shown("", "11") && !shown("", "33"));
    // Below a hidden cell, everything is hidden.
    assert!(!shown("C14", "33") && !shown("C2710", "110101"));
    assert_eq!(size(&leaves, "C", "44"), 13);
    assert!(!shown("C1", ""), "not a node");
}

#[test]
fn a_small_total_hides_everything() {
    let pattern = Pattern::new([("C1310", "440106", 4)], 5);
    assert!(!pattern.published("", ""));
    assert!(!pattern.published("C13", "44"));
    let pattern = Pattern::new(std::iter::empty(), 5);
    assert!(!pattern.published("", ""));
}
