//! Latencies per operation and the tables printed from them.

use super::*;

#[derive(Default)]
pub(crate) struct Op {
    pub(crate) micros: Vec<u64>,
    pub(crate) statuses: BTreeMap<u16, u64>,
}

#[derive(Default, Clone)]
pub(crate) struct Recorder(pub(crate) Rc<RefCell<BTreeMap<&'static str, Op>>>);

impl Recorder {
    pub(crate) fn record(&self, op: &'static str, status: u16, elapsed: Duration) {
        let mut ops = self.0.borrow_mut();
        let o = ops.entry(op).or_default();
        o.micros.push(elapsed.as_micros() as u64);
        *o.statuses.entry(status).or_default() += 1;
    }

    pub(crate) fn take(&self) -> BTreeMap<&'static str, Op> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

pub(crate) struct Row {
    pub(crate) op: String,
    pub(crate) count: usize,
    pub(crate) rps: f64,
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
    pub(crate) statuses: BTreeMap<u16, u64>,
}

impl Row {
    pub(crate) fn statuses(&self) -> String {
        self.statuses
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub(crate) fn server_errors(&self) -> u64 {
        self.statuses.range(500..).map(|(_, n)| n).sum()
    }
}

pub(crate) fn quantile_ms(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i] as f64 / 1000.0
}

pub(crate) fn rows(ops: BTreeMap<&'static str, Op>, wall: Duration) -> Vec<Row> {
    ops.into_iter()
        .map(|(name, mut o)| {
            o.micros.sort_unstable();
            Row {
                op: name.to_owned(),
                count: o.micros.len(),
                rps: o.micros.len() as f64 / wall.as_secs_f64(),
                p50: quantile_ms(&o.micros, 0.5),
                p90: quantile_ms(&o.micros, 0.9),
                p99: quantile_ms(&o.micros, 0.99),
                max: quantile_ms(&o.micros, 1.0),
                statuses: o.statuses,
            }
        })
        .collect()
}

pub(crate) fn print_table(title: &str, rows: &[Row]) {
    println!("\n#### {title}\n");
    println!("| operation | requests | req/s | p50 ms | p90 ms | p99 ms | max ms | statuses |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            r.op,
            r.count,
            r.rps,
            r.p50,
            r.p90,
            r.p99,
            r.max,
            r.statuses()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP
