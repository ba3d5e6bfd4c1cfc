//! Secondary cell suppression over the industry × region hierarchy.
//!
//! Every statistics figure describes a group of enterprises: a *cell* `(industry, region)` of
//! the GB/T 4754 tree (section, division, group, class) crossed with the GB/T 2260 tree
//! (province, city, county), or a union of such cells. One [`Pattern`], computed from all
//! registered enterprises, decides which cells are *published*, and a figure is shown only when
//! every cell it covers is published. The figures of every table, filter and grouping together
//! therefore say nothing beyond the sizes of published cells, and the pattern keeps four rules:
//!
//! 1. a published cell has at least `k` enterprises; no other cell is listed, so an unlisted
//!    group may be empty or small (an attacker cannot even tell which);
//! 2. a hidden cell hides every cell below it, in both hierarchies;
//! 3. a published cell minus its published children, along either hierarchy, leaves either no
//!    enterprise or at least `k` (the remainder is itself a group);
//! 4. every small cell has a *witness*: a hidden cell containing it, `(i, r)`, with sibling
//!    nodes `i2` and `r2` such that `(i2, r)`, `(i, r2)` and the non-empty `(i2, r2)` are all
//!    unpublished. At the top of one hierarchy the witness is one dimensional: `(·, r)` with a
//!    hidden non-empty `(·, r2)`, or `(i, ·)` with a hidden non-empty `(i2, ·)`.
//!
//! Rule 4 is why no small cell can be recovered, by subtraction or any other combination of
//! published figures. Take an enterprise x of the small cell and an enterprise y of `(i2, r2)`
//! and swap their regions. A cell's count changes only if it separates x's industry from y's
//! *and* x's region from y's, that is, only if it lies under one of the four corners of the
//! witness, which are hidden with everything below them (rule 2). Every published figure keeps
//! its value, no count goes negative, and the small cell has one enterprise fewer: its size is
//! not determined by what is published. `tests::no_small_cell_is_determined` checks this with
//! exact linear algebra over random populations.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::stats::MIN_GROUP;

/// Code lengths of the GB/T 4754 levels: section letter, division, group, class.
const INDUSTRY_LEVELS: [usize; 4] = [1, 3, 4, 5];
/// Code lengths of the GB/T 2260 levels: province, city, county.
const REGION_LEVELS: [usize; 3] = [2, 4, 6];
const ROOT: u32 = 0;

/// One hierarchy: node 0 is the root (every code), each other node a code prefix.
struct Tree {
    codes: Vec<String>,
    ids: HashMap<String, u32>,
    parent: Vec<u32>,
    children: Vec<Vec<u32>>,
    depth: Vec<u8>,
}

impl Tree {
    fn new() -> Self {
        Self {
            codes: vec![String::new()],
            ids: HashMap::from([(String::new(), ROOT)]),
            parent: vec![ROOT],
            children: vec![Vec::new()],
            depth: vec![0],
        }
    }

    /// The nodes from the root down to `code`'s deepest level, created as needed. A code that
    /// stops between levels belongs to the node above it (and to no child of that node).
    fn path(&mut self, code: &str, levels: &[usize]) -> Vec<u32> {
        let mut path = vec![ROOT];
        for &len in levels {
            let Some(prefix) = code.get(..len) else {
                break;
            };
            let up = *path.last().unwrap_or(&ROOT);
            let id = match self.ids.get(prefix) {
                Some(id) => *id,
                None => {
                    let id = self.codes.len() as u32;
                    self.codes.push(prefix.to_owned());
                    self.ids.insert(prefix.to_owned(), id);
                    self.parent.push(up);
                    self.children.push(Vec::new());
                    self.depth.push(self.depth[up as usize] + 1);
                    self.children[up as usize].push(id);
                    id
                }
            };
            path.push(id);
        }
        path
    }

    fn ancestors_or_self(&self, mut node: u32) -> Vec<u32> {
        let mut out = vec![node];
        while node != ROOT {
            node = self.parent[node as usize];
            out.push(node);
        }
        out
    }
}

type Key = (u32, u32);

/// A multiply-rotate hash for the cell keys, which are the pattern's own small integers (no
/// outside input chooses them, so no flooding to resist): several times faster than SipHash.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u32(u32::from(*b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type KeyMap<V> = HashMap<Key, V, BuildHasherDefault<KeyHasher>>;

/// Along which hierarchy a parent or child relation runs.
const ALONG_INDUSTRY: usize = 0;
const ALONG_REGION: usize = 1;

#[derive(Debug)]
struct Cell {
    key: Key,
    n: i64,
    hidden: bool,
    covered: bool,
    /// The parent along each hierarchy (none at its root).
    up: [Option<usize>; 2],
    /// The stored children along each hierarchy.
    down: [Vec<usize>; 2],
}

/// The cells under consideration while a [`Pattern`] is worked out.
struct Builder {
    k: i64,
    industries: Tree,
    regions: Tree,
    /// The stored cells, parents before children.
    cells: Vec<Cell>,
    index: KeyMap<usize>,
}

/// Which cells of the industry × region hierarchy may be published.
pub struct Pattern {
    k: i64,
    industries: HashMap<String, u32>,
    regions: HashMap<String, u32>,
    published: std::collections::HashSet<Key, BuildHasherDefault<KeyHasher>>,
}

impl Pattern {
    /// The pattern for enterprises counted by `(industry code, region code, enterprises)`.
    ///
    /// Only cells whose parents both hold `k` enterprises or more are stored: any other cell is
    /// small, lies below a small stored cell, and is hidden and covered with it (rules 2 and 4
    /// pass down the hierarchy). A large population thus costs a few cells per published one
    /// instead of twenty per enterprise's codes.
    pub fn new<'a>(leaves: impl IntoIterator<Item = (&'a str, &'a str, i64)>, k: i64) -> Self {
        let mut pattern = Builder {
            k: k.max(MIN_GROUP),
            industries: Tree::new(),
            regions: Tree::new(),
            cells: Vec::new(),
            index: KeyMap::default(),
        };
        let mut leaves: Vec<(&str, &str, i64)> =
            leaves.into_iter().filter(|(.., n)| *n > 0).collect();
        leaves.sort_unstable();
        let paths: Vec<(Vec<u32>, Vec<u32>, i64)> = leaves
            .into_iter()
            .map(|(i, r, n)| {
                (
                    pattern.industries.path(i, &INDUSTRY_LEVELS),
                    pattern.regions.path(r, &REGION_LEVELS),
                    n,
                )
            })
            .collect();
        // Level pairs parents first: (industry depth a, region depth b) by a + b.
        for depth in 0..=INDUSTRY_LEVELS.len() + REGION_LEVELS.len() {
            for a in 0..=depth.min(INDUSTRY_LEVELS.len()) {
                let b = depth - a;
                if b <= REGION_LEVELS.len() {
                    pattern.store_level(&paths, a, b);
                }
            }
        }
        while pattern.close_and_complement() || pattern.cover() {}
        Self {
            k: pattern.k,
            published: pattern
                .cells
                .iter()
                .filter(|c| !c.hidden)
                .map(|c| c.key)
                .collect(),
            industries: pattern.industries.ids,
            regions: pattern.regions.ids,
        }
    }

    /// Whether the cell of enterprises whose industry code starts with `industry` and whose
    /// region code starts with `region` may be published (`""` is the whole tree).
    pub fn published(&self, industry: &str, region: &str) -> bool {
        match (self.industries.get(industry), self.regions.get(region)) {
            (Some(i), Some(r)) => self.published.contains(&(*i, *r)),
            _ => false,
        }
    }

    /// The smallest group that may be shown.
    pub fn min_group(&self) -> i64 {
        self.k
    }
}

impl Builder {
    /// Stores the cells of industry depth `a` and region depth `b` whose parents are large.
    fn store_level(&mut self, paths: &[(Vec<u32>, Vec<u32>, i64)], a: usize, b: usize) {
        let mut counts: KeyMap<i64> = KeyMap::default();
        for (ip, rp, n) in paths {
            if let (Some(i), Some(r)) = (ip.get(a), rp.get(b)) {
                *counts.entry((*i, *r)).or_default() += n;
            }
        }
        let mut level: Vec<(Key, [Option<usize>; 2], i64)> = counts
            .into_iter()
            .filter_map(|((i, r), n)| {
                let up = [
                    (a > 0).then(|| self.index.get(&(self.industries.parent[i as usize], r))),
                    (b > 0).then(|| self.index.get(&(i, self.regions.parent[r as usize]))),
                ];
                let mut parents = [None, None];
                for (slot, parent) in parents.iter_mut().zip(up) {
                    match parent {
                        None => {}
                        Some(Some(p)) if self.cells[*p].n >= self.k => *slot = Some(*p),
                        Some(_) => return None,
                    }
                }
                Some(((i, r), parents, n))
            })
            .collect();
        level.sort_unstable_by_key(|(key, ..)| *key);
        for (key, up, n) in level {
            let at = self.cells.len();
            for (along, parent) in up.iter().enumerate() {
                if let Some(p) = parent {
                    self.cells[*p].down[along].push(at);
                }
            }
            self.index.insert(key, at);
            self.cells.push(Cell {
                key,
                n,
                hidden: n < self.k,
                covered: false,
                up,
                down: [Vec::new(), Vec::new()],
            });
        }
    }

    /// Rules 2 and 3 in one pass down the hierarchy. Whether anything changed.
    fn close_and_complement(&mut self) -> bool {
        let mut changed = false;
        for at in 0..self.cells.len() {
            let cell = &self.cells[at];
            if !cell.hidden && cell.up.iter().flatten().any(|p| self.cells[*p].hidden) {
                self.cells[at].hidden = true;
                changed = true;
            }
            if self.cells[at].hidden {
                continue;
            }
            for along in [ALONG_INDUSTRY, ALONG_REGION] {
                let cell = &self.cells[at];
                let mut shown: Vec<(i64, usize)> = cell.down[along]
                    .iter()
                    .filter(|c| !self.cells[**c].hidden)
                    .map(|c| (self.cells[*c].n, *c))
                    .collect();
                let mut rest = cell.n - shown.iter().map(|(m, _)| m).sum::<i64>();
                shown.sort_unstable();
                let mut smallest = shown.into_iter();
                while rest > 0 && rest < self.k {
                    let Some((m, c)) = smallest.next() else {
                        break;
                    };
                    self.cells[c].hidden = true;
                    rest += m;
                    changed = true;
                }
            }
        }
        changed
    }

    /// Calls `f` with each witness (rule 4) that the stored cell `at` could be, given as the
    /// stored cells that must be hidden besides `at` (a corner without enterprises need not
    /// be), until `f` returns true. Whether it did.
    fn any_witness(&self, at: usize, mut f: impl FnMut(&[usize]) -> bool) -> bool {
        let cell = &self.cells[at];
        let (i, r) = cell.key;
        match cell.up {
            [None, None] => f(&[]),
            // One dimensional: a non-empty sibling along the one hierarchy that has one.
            [None, Some(p)] | [Some(p), None] => {
                let along = usize::from(cell.up[ALONG_INDUSTRY].is_none());
                self.cells[p].down[along]
                    .iter()
                    .any(|sibling| *sibling != at && f(&[*sibling]))
            }
            // The non-empty corners (i2, r2) lie under the grandparent (i↑, r↑), via (i↑, r2).
            [Some(pi), Some(_)] => {
                let Some(grand) = self.cells[pi].up[ALONG_REGION] else {
                    return false;
                };
                self.cells[grand].down[ALONG_REGION].iter().any(|q| {
                    if *q == pi {
                        return false;
                    }
                    let beside = self.index.get(&(i, self.cells[*q].key.1)).copied();
                    self.cells[*q].down[ALONG_INDUSTRY].iter().any(|corner| {
                        let i2 = self.cells[*corner].key.0;
                        if i2 == i {
                            return false;
                        }
                        let mut keys = [*corner; 3];
                        let mut len = 1;
                        for other in [beside, self.index.get(&(i2, r)).copied()]
                            .into_iter()
                            .flatten()
                        {
                            keys[len] = other;
                            len += 1;
                        }
                        f(&keys[..len])
                    })
                })
            }
        }
    }

    /// Rule 4: gives every small cell a witness, hiding the fewest enterprises that make one.
    /// Whether anything changed.
    fn cover(&mut self) -> bool {
        let mut changed = false;
        for at in 0..self.cells.len() {
            let cell = &self.cells[at];
            if !cell.hidden {
                continue;
            }
            let mut covered = cell
                .up
                .iter()
                .flatten()
                .any(|p| self.cells[*p].hidden && self.cells[*p].covered)
                || self.any_witness(at, |keys| keys.iter().all(|c| self.cells[*c].hidden));
            if !covered && cell.n < self.k {
                for c in self.cheapest_witness(at) {
                    self.cells[c].hidden = true;
                }
                changed = true;
                covered = true;
            }
            self.cells[at].covered = covered;
        }
        changed
    }

    /// The cells to hide so that the cell `at` becomes a witness, choosing the fewest
    /// enterprises hidden; where the cell cannot be one (no non-empty corner), the cheapest of
    /// its ancestors.
    fn cheapest_witness(&self, at: usize) -> Vec<usize> {
        let (i, r) = self.cells[at].key;
        let own = self.cheapest_among([at]);
        if !own.is_empty() {
            return own;
        }
        let ancestors: Vec<usize> = self
            .industries
            .ancestors_or_self(i)
            .into_iter()
            .flat_map(|i1| {
                self.regions
                    .ancestors_or_self(r)
                    .into_iter()
                    .map(move |r1| (i1, r1))
            })
            .filter_map(|key| self.index.get(&key).copied())
            .collect();
        self.cheapest_among(ancestors)
    }

    fn cheapest_among(&self, candidates: impl IntoIterator<Item = usize>) -> Vec<usize> {
        let mut best: Option<(i64, Vec<usize>)> = None;
        for a in candidates {
            let own = if self.cells[a].hidden {
                0
            } else {
                self.cells[a].n
            };
            self.any_witness(a, |keys| {
                let cost = own
                    + keys
                        .iter()
                        .filter(|c| !self.cells[**c].hidden)
                        .map(|c| self.cells[*c].n)
                        .sum::<i64>();
                if best.as_ref().is_none_or(|(b, _)| cost < *b) {
                    let mut hide = keys.to_vec();
                    hide.push(a);
                    best = Some((cost, hide));
                }
                false
            });
        }
        best.map(|(_, keys)| keys).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
