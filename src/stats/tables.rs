//! Each figure as a table (the rows of its CSV and XLSX exports) and a chart (SVG), built once
//! for the API and the console. Suppressed cells read `suppressed` in tables and are drawn
//! hatched, without a value, in charts.

use super::{
    Bar, Cell, Distribution, Funnel, LevelRow, PassRates, Summary, TrendRow, csv, svg_bars, xlsx,
};

/// A figure as a table, with its chart where it has one.
#[derive(Debug)]
pub struct Table {
    /// The file name of its exports, without extension.
    pub name: &'static str,
    pub header: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
    pub chart: Option<String>,
}

impl Table {
    pub fn csv(&self) -> String {
        csv(self.header, &self.rows)
    }

    pub fn xlsx(&self) -> Result<Vec<u8>, String> {
        xlsx(self.name, self.header, &self.rows)
    }
}

fn cell(f: &impl Cell) -> String {
    f.cell()
}

/// The adoption funnel, one row per group and the total.
pub fn funnel(f: &Funnel) -> Table {
    let rows = f
        .rows
        .iter()
        .chain(std::iter::once(&f.total))
        .map(|r| {
            vec![
                r.group.clone(),
                cell(&r.registered),
                cell(&r.self_assessed),
                cell(&r.certified),
                cell(&r.expiring_90_days),
                cell(&r.adoption_rate),
            ]
        })
        .collect();
    let t = &f.total;
    let chart = svg_bars(
        "Adoption funnel",
        &[
            Bar::of("registered", &t.registered),
            Bar::of("self-assessed", &t.self_assessed),
            Bar::of("certified", &t.certified),
            Bar::of("expiring in 90 days", &t.expiring_90_days),
        ],
    );
    Table {
        name: "funnel",
        header: &[
            "group",
            "registered",
            "self_assessed",
            "certified",
            "expiring_90_days",
            "adoption_rate",
        ],
        rows,
        chart: Some(chart),
    }
}

/// Active certificates by level, per group; the chart shows the levels of all groups.
pub fn levels(groups: &[LevelRow]) -> Table {
    let rows = groups
        .iter()
        .flat_map(|r| {
            r.levels
                .iter()
                .map(move |(l, f)| vec![r.group.clone(), l.clone(), cell(f)])
        })
        .collect();
    let bars: Vec<Bar> = groups
        .iter()
        .flat_map(|r| {
            r.levels.iter().map(move |(l, f)| {
                let label = if groups.len() == 1 {
                    l.clone()
                } else {
                    format!("{} {l}", r.group)
                };
                Bar::of(label, f)
            })
        })
        .collect();
    Table {
        name: "levels",
        header: &["group", "level", "certificates"],
        rows,
        chart: Some(svg_bars("Active certificates by level", &bars)),
    }
}

/// The score distribution: the total's and each theme's summary; the histogram as the chart.
pub fn scores(d: &Distribution) -> Table {
    let summary_row = |name: &str, s: &Summary| {
        vec![
            name.to_owned(),
            cell(&s.enterprises),
            cell(&s.mean),
            cell(&s.median),
            cell(&s.q1),
            cell(&s.q3),
        ]
    };
    let rows = std::iter::once(summary_row("total", &d.total))
        .chain(d.themes.iter().map(|(t, s)| summary_row(t, s)))
        .collect();
    let bars: Vec<Bar> = d
        .histogram
        .iter()
        .map(|b| Bar::of(format!("{}–{}", b.from, b.to), &b.enterprises))
        .collect();
    Table {
        name: "scores",
        header: &["scope", "enterprises", "mean", "median", "q1", "q3"],
        rows,
        chart: Some(svg_bars("Total scores (enterprises per band)", &bars)),
    }
}

/// Pass rates by criterion, lowest first; the chart shows the ten lowest.
pub fn criteria(p: &PassRates) -> Table {
    let rows = p
        .criteria
        .iter()
        .map(|c| {
            vec![
                c.criterion_id.clone(),
                c.enterprises.to_string(),
                c.pass_rate.to_string(),
            ]
        })
        .collect();
    let bars: Vec<Bar> = p
        .criteria
        .iter()
        .take(10)
        .map(|c| Bar {
            label: c.criterion_id.clone(),
            value: Some((c.pass_rate * 1000.0).round() / 10.0),
        })
        .collect();
    Table {
        name: "criteria",
        header: &["criterion", "enterprises", "pass_rate"],
        rows,
        chart: Some(svg_bars("Lowest pass rates (% of enterprises)", &bars)),
    }
}

/// Quarterly trends; the chart shows enterprises self-assessing per quarter.
pub fn trends(rows: &[TrendRow]) -> Table {
    let lines = rows
        .iter()
        .map(|r| {
            vec![
                r.quarter.clone(),
                cell(&r.self_assessed),
                cell(&r.mean_score),
                cell(&r.certified),
            ]
        })
        .collect();
    let bars: Vec<Bar> = rows
        .iter()
        .map(|r| Bar::of(r.quarter.clone(), &r.self_assessed))
        .collect();
    Table {
        name: "trends",
        header: &["quarter", "self_assessed", "mean_score", "certified"],
        rows: lines,
        chart: Some(svg_bars("Enterprises self-assessing per quarter", &bars)),
    }
}
