//! Each figure as a table (the rows of its CSV and XLSX exports) and a chart (SVG), built once
//! for the API and the console. Suppressed cells read `suppressed` in tables and are drawn
//! hatched, without a value, in charts.

use super::{
    Bar, Cell, Distribution, Funnel, LevelRow, PassRates, Summary, TrendRow, csv, svg_bars, xlsx,
};

/// The language of a chart's title and labels (tables keep their English column names, which
/// are the API's field names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartLang {
    En,
    Zh,
}

impl ChartLang {
    fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }
}

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
/// The complaint figures (no chart).
pub fn complaints(f: &super::ComplaintFigures) -> Table {
    let rows = f
        .rows
        .iter()
        .chain(std::iter::once(&f.total))
        .map(|r| {
            vec![
                r.group.clone(),
                cell(&r.enterprises),
                cell(&r.enterprises_with_complaints),
                cell(&r.received),
                cell(&r.on_time_rate),
                cell(&r.reconciliation_rate),
                cell(&r.mean_days_to_close),
                cell(&r.per_enterprise_month),
            ]
        })
        .collect();
    Table {
        name: "complaints",
        header: &[
            "group",
            "enterprises",
            "enterprises_with_complaints",
            "received",
            "on_time_rate",
            "reconciliation_rate",
            "mean_days_to_close",
            "per_enterprise_month",
        ],
        rows,
        chart: None,
    }
}

pub fn funnel(f: &Funnel, lang: ChartLang) -> Table {
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
        lang.t("采用情况", "Adoption funnel"),
        &[
            Bar::of(lang.t("已注册", "registered"), &t.registered),
            Bar::of(lang.t("已自评", "self-assessed"), &t.self_assessed),
            Bar::of(lang.t("已获证书", "certified"), &t.certified),
            Bar::of(
                lang.t("90天内到期", "expiring in 90 days"),
                &t.expiring_90_days,
            ),
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
pub fn levels(groups: &[LevelRow], lang: ChartLang) -> Table {
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
        chart: Some(svg_bars(
            lang.t("有效证书的等级分布", "Active certificates by level"),
            &bars,
        )),
    }
}

/// The score distribution: the total's and each theme's summary; the histogram as the chart.
pub fn scores(d: &Distribution, lang: ChartLang) -> Table {
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
        chart: Some(svg_bars(
            lang.t(
                "总分分布（各分数段的企业数）",
                "Total scores (enterprises per band)",
            ),
            &bars,
        )),
    }
}

/// Pass rates by criterion, lowest first; the chart shows the ten lowest.
pub fn criteria(p: &PassRates, lang: ChartLang) -> Table {
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
        chart: Some(svg_bars(
            lang.t(
                "通过率最低的评价项（企业百分比）",
                "Lowest pass rates (% of enterprises)",
            ),
            &bars,
        )),
    }
}

/// Quarterly trends; the chart shows enterprises self-assessing per quarter.
pub fn trends(rows: &[TrendRow], lang: ChartLang) -> Table {
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
        chart: Some(svg_bars(
            lang.t(
                "每季度自评的企业数",
                "Enterprises self-assessing per quarter",
            ),
            &bars,
        )),
    }
}
