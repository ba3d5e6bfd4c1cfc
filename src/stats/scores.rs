//! Score figures of each enterprise's latest self-assessment: distributions, the lowest pass
//! rates by criterion, and quarterly trends.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::AnyConnection;
use crate::db::rollups::{PASS_FRACTION, quarter_sql};
use crate::domain::disclosure::Pattern;
use crate::domain::stats::{suppress, total_shown};
use crate::error::AppResult;

use super::*;

#[derive(QueryableByName)]
pub(super) struct GroupValue {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = diesel::sql_types::Double)]
    v: f64,
}

#[derive(QueryableByName)]
pub(super) struct PassRow {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    passed: i64,
}

/// Total scores of each enterprise's latest self-assessment in the selection.
pub fn latest_totals(conn: &mut AnyConnection, sel: &Selection) -> AppResult<Vec<f64>> {
    let sql = if sel.all_latest() {
        format!(
            "SELECT '' AS grp, x.score_total AS v FROM latest_self_assessments x WHERE {} AND x.score_total IS NOT NULL",
            sel.enterprise_where("x")
        )
    } else {
        format!(
            "SELECT '' AS grp, s.score_total AS v FROM submissions s WHERE s.id IN ({}) AND s.score_total IS NOT NULL",
            sel.latest_ids_sql()
        )
    };
    let rows: Vec<GroupValue> = diesel::sql_query(sql).load(conn)?;
    Ok(rows.into_iter().map(|r| r.v).collect())
}

/// Theme scores of each enterprise's latest self-assessment in the selection, by theme.
pub fn latest_theme_scores(
    conn: &mut AnyConnection,
    sel: &Selection,
) -> AppResult<BTreeMap<String, Vec<f64>>> {
    let sql = if sel.all_latest() {
        format!(
            "SELECT x.theme_id AS grp, x.score AS v FROM latest_theme_scores x WHERE {}",
            sel.enterprise_where("x")
        )
    } else {
        format!(
            "SELECT t.theme_id AS grp, t.score AS v FROM submission_theme_scores t WHERE t.submission_id IN ({})",
            sel.latest_ids_sql()
        )
    };
    let rows: Vec<GroupValue> = diesel::sql_query(sql).load(conn)?;
    let mut by_theme: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in rows {
        by_theme.entry(r.grp).or_default().push(r.v);
    }
    Ok(by_theme)
}

/// Scores by theme.
type ThemeValues = BTreeMap<String, Vec<f64>>;

#[derive(QueryableByName)]
struct ValueCount {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = diesel::sql_types::Double)]
    v: f64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// [`latest_totals`] and [`latest_theme_scores`] of a selection without a region, from the
/// counts of enterprises per industry and score: a few thousand rows where the scores are
/// hundreds of thousands, giving the same values.
fn latest_score_counts(
    conn: &mut AnyConnection,
    sel: &Selection,
) -> AppResult<(Vec<f64>, ThemeValues)> {
    let rows: Vec<ValueCount> = diesel::sql_query(format!(
        "SELECT x.theme_id AS grp, x.score AS v, x.enterprises AS n FROM latest_score_counts x \
         WHERE {} AND x.enterprises > 0",
        sel.enterprise_where("x")
    ))
    .load(conn)?;
    let mut totals = Vec::new();
    let mut by_theme: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in rows {
        let values = if r.grp.is_empty() {
            &mut totals
        } else {
            by_theme.entry(r.grp).or_default()
        };
        values.extend(std::iter::repeat_n(r.v, r.n as usize));
    }
    Ok((totals, by_theme))
}

/// Score distribution of each enterprise's latest self-assessment in the selection.
pub fn distribution(
    conn: &mut AnyConnection,
    sel: &Selection,
    pattern: &Pattern,
) -> AppResult<Distribution> {
    let k = pattern.min_group();
    let withheld = !sel.shown(pattern, "");
    let (values, by_theme) = if withheld {
        (Vec::new(), BTreeMap::new())
    } else if sel.all_latest() && sel.region.is_none() {
        latest_score_counts(conn, sel)?
    } else {
        (latest_totals(conn, sel)?, latest_theme_scores(conn, sel)?)
    };
    let mut counts = [0i64; 10];
    for v in &values {
        counts[((v / 10.0).floor() as usize).min(9)] += 1;
    }
    let all_hidden = withheld || !total_shown(values.len() as i64, k);
    let hidden = suppress(&counts, k);
    let histogram = counts
        .iter()
        .zip(hidden)
        .enumerate()
        .map(|(i, (n, h))| Bucket {
            from: i as f64 * 10.0,
            to: (i as f64 + 1.0) * 10.0,
            enterprises: Count::of(*n, h || all_hidden),
        })
        .collect();
    Ok(Distribution {
        total: summary(values, k, withheld),
        themes: by_theme
            .into_iter()
            .map(|(t, v)| (t, summary(v, k, false)))
            .collect(),
        histogram,
        min_group: k,
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CriterionPassRate {
    pub criterion_id: String,
    /// Enterprises whose latest self-assessment scored the criterion.
    pub enterprises: i64,
    /// Share of them earning at least half of its weight.
    pub pass_rate: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PassRates {
    /// Lowest pass rates first: where training should go.
    pub criteria: Vec<CriterionPassRate>,
    /// Criteria left out because fewer than `min_group` enterprises scored them.
    pub suppressed: usize,
    /// True when the selection itself is a group the statistics may not describe (too small,
    /// or hidden so that a small group cannot be worked out): no criterion is listed.
    pub withheld: bool,
    pub min_group: i64,
}

/// The criteria with the lowest pass rates in the selection.
pub fn pass_rates(
    conn: &mut AnyConnection,
    sel: &Selection,
    pattern: &Pattern,
    limit: usize,
) -> AppResult<PassRates> {
    let k = pattern.min_group();
    if !sel.shown(pattern, "") {
        return Ok(PassRates {
            criteria: Vec::new(),
            suppressed: 0,
            withheld: true,
            min_group: k,
        });
    }
    let sql = if sel.all_latest() {
        format!(
            "SELECT x.criterion_id AS grp, CAST(SUM(x.enterprises) AS BIGINT) AS n, CAST(SUM(x.passed) AS BIGINT) AS passed \
             FROM latest_criterion_counts x WHERE {}{} GROUP BY x.criterion_id HAVING SUM(x.enterprises) > 0",
            sel.enterprise_where("x"),
            // Without a region, the whole country's rows; a region's prefix leaves them out.
            if sel.region.is_none() {
                " AND x.region_code = ''"
            } else {
                ""
            }
        )
    } else {
        format!(
            "SELECT r.criterion_id AS grp, COUNT(*) AS n, SUM(CASE WHEN r.fraction >= {PASS_FRACTION} THEN 1 ELSE 0 END) AS passed \
             FROM submission_criterion_results r WHERE r.submission_id IN ({}) GROUP BY r.criterion_id",
            sel.latest_ids_sql()
        )
    };
    let rows: Vec<PassRow> = diesel::sql_query(sql).load(conn)?;
    let suppressed = rows.iter().filter(|r| r.n < k).count();
    let mut criteria: Vec<CriterionPassRate> = rows
        .into_iter()
        .filter(|r| r.n >= k)
        .map(|r| CriterionPassRate {
            criterion_id: r.grp,
            enterprises: r.n,
            pass_rate: (r.passed as f64 / r.n as f64 * 10_000.0).round() / 10_000.0,
        })
        .collect();
    criteria.sort_by(|a, b| {
        a.pass_rate
            .total_cmp(&b.pass_rate)
            .then(a.criterion_id.cmp(&b.criterion_id))
    });
    criteria.truncate(limit);
    Ok(PassRates {
        criteria,
        suppressed,
        withheld: false,
        min_group: k,
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrendRow {
    /// `2026Q4`.
    pub quarter: String,
    /// Enterprises that submitted a self-assessment in the quarter.
    pub self_assessed: Count,
    pub mean_score: Figure,
    /// Certificates issued in the quarter.
    pub certified: Count,
}

/// Self-assessments, mean score and certificates by quarter; no quarter at all when the
/// selection is a group the statistics may not describe.
pub fn trends(
    conn: &mut AnyConnection,
    sel: &Selection,
    pattern: &Pattern,
) -> AppResult<Vec<TrendRow>> {
    let k = pattern.min_group();
    if !sel.shown(pattern, "") {
        return Ok(Vec::new());
    }
    let ew = sel.enterprise_where("e");
    let (assessed, means) = if sel.all_latest() {
        let x = sel.enterprise_where("x");
        (
            grouped(
                conn,
                format!(
                    "SELECT x.quarter AS grp, COUNT(*) AS n FROM self_assessment_quarters x WHERE {x} GROUP BY x.quarter"
                ),
            )?,
            diesel::sql_query(format!(
                "SELECT x.quarter AS grp, SUM(x.score_sum) / CAST(SUM(x.scored) AS DOUBLE PRECISION) AS v FROM self_assessment_quarters x \
                 WHERE {x} GROUP BY x.quarter HAVING SUM(x.scored) > 0"
            ))
            .load::<GroupValue>(conn)?,
        )
    } else {
        let sw = sel.submission_where();
        let q = quarter_sql(conn, "s.submitted_at");
        (
            grouped(
                conn,
                format!(
                    "SELECT {q} AS grp, COUNT(DISTINCT s.enterprise_id) AS n FROM submissions s JOIN enterprises e ON e.id = s.enterprise_id \
                     WHERE {ew} AND {sw} GROUP BY {q}"
                ),
            )?,
            diesel::sql_query(format!(
                "SELECT {q} AS grp, AVG(s.score_total) AS v FROM submissions s JOIN enterprises e ON e.id = s.enterprise_id \
                 WHERE {ew} AND {sw} AND s.score_total IS NOT NULL GROUP BY {q}"
            ))
            .load::<GroupValue>(conn)?,
        )
    };
    let cq = quarter_sql(conn, "c.issued_on");
    let certified = grouped(
        conn,
        format!(
            "SELECT {cq} AS grp, COUNT(DISTINCT c.enterprise_id) AS n FROM certificates c JOIN enterprises e ON e.id = c.enterprise_id \
             WHERE {ew} GROUP BY {cq}"
        ),
    )?;
    let mut quarters: Vec<String> = assessed.keys().chain(certified.keys()).cloned().collect();
    quarters.sort();
    quarters.dedup();
    let sizes: Vec<i64> = quarters
        .iter()
        .map(|q| assessed.get(q).copied().unwrap_or(0))
        .collect();
    let hidden = suppress(&sizes, k);
    let cert_sizes: Vec<i64> = quarters
        .iter()
        .map(|q| certified.get(q).copied().unwrap_or(0))
        .collect();
    let cert_hidden = suppress(&cert_sizes, k);
    Ok(quarters
        .iter()
        .enumerate()
        .map(|(i, q)| TrendRow {
            quarter: q.clone(),
            self_assessed: Count::of(sizes[i] as i64, hidden[i]),
            mean_score: match means.iter().find(|m| &m.grp == q) {
                Some(m) if !hidden[i] && sizes[i] >= k => Figure::shown(round2(m.v)),
                _ => Figure::hidden(),
            },
            certified: Count::of(cert_sizes[i] as i64, cert_hidden[i]),
        })
        .collect())
}
