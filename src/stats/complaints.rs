//! Complaint figures per industry and region: complaints received and how they were handled,
//! under the same disclosure rules as the adoption figures — a group is shown only where the
//! disclosure pattern of the registered enterprises publishes every cell it covers, so no
//! figure concerns fewer than `min_group` enterprises and none can be worked out by
//! subtracting shown groups from a shown total. Never personal data: the narrow `complaints`
//! table holds none.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use serde::Serialize;
use utoipa::ToSchema;

use super::queries::{Count, Figure, grouped};
use super::selection::prefix_sql;
use super::{GroupBy, Selection};
use crate::db::AnyConnection;
use crate::domain::disclosure::Pattern;
use crate::error::AppResult;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplaintRow {
    /// The group: industry section or division, province code, or `total`.
    pub group: String,
    /// Registered enterprises of the group (the population the figures are about).
    pub enterprises: Count,
    /// Enterprises of the group with at least one complaint received in the period.
    pub enterprises_with_complaints: Count,
    pub received: Count,
    /// Acknowledged by the deadline, of those whose acknowledgement was due.
    pub on_time_rate: Figure,
    /// Accepted proposals, of the answered ones.
    pub reconciliation_rate: Figure,
    /// Mean calendar days from receipt to closing, of the closed ones.
    pub mean_days_to_close: Figure,
    /// Complaints per registered enterprise and month of the period.
    pub per_enterprise_month: Figure,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ComplaintFigures {
    /// The groups that may be shown (see the adoption funnel for the rule).
    pub rows: Vec<ComplaintRow>,
    pub total: ComplaintRow,
    pub min_group: i64,
    /// The period the complaints were received in.
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(QueryableByName)]
struct Agg {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = BigInt)]
    firms: i64,
    #[diesel(sql_type = BigInt)]
    received: i64,
    #[diesel(sql_type = BigInt)]
    due: i64,
    #[diesel(sql_type = BigInt)]
    on_time: i64,
    #[diesel(sql_type = BigInt)]
    reconciled: i64,
    #[diesel(sql_type = BigInt)]
    answered: i64,
    #[diesel(sql_type = Nullable<Double>)]
    days: Option<f64>,
}

/// The figures for complaints received in `[from, to)` (the selection's period, or the last
/// twelve months up to `today`).
pub fn complaint_figures(
    conn: &mut AnyConnection,
    sel: &Selection,
    pattern: &Pattern,
    today: NaiveDate,
) -> AppResult<ComplaintFigures> {
    let (from, to) = sel.period.unwrap_or((
        today - chrono::Duration::days(365),
        today + chrono::Duration::days(1),
    ));
    let key = sel.group_by.key_sql("e");
    let ew = sel.enterprise_where("e");
    let registered = grouped(
        conn,
        format!(
            "SELECT {key} AS grp, COUNT(*) AS n FROM enterprises e WHERE {ew}{}",
            sel.group_by.group_sql("e", "")
        ),
    )?;
    let days = match conn {
        AnyConnection::Sqlite(_) => "julianday(x.closed_on) - julianday(x.received_on)",
        AnyConnection::Postgresql(_) => "(x.closed_on - x.received_on)",
    };
    // Served by the (industry_code, received_on) index for one industry; the whole country
    // reads the period's complaints once.
    let industry_range = if sel.industries.is_empty() {
        String::new()
    } else {
        let any: Vec<String> = sel
            .industries
            .iter()
            .map(|p| prefix_sql("x.industry_code", p))
            .collect();
        format!(" AND ({})", any.join(" OR "))
    };
    let region = sel
        .region
        .as_deref()
        .map(|r| format!(" AND {}", prefix_sql("x.region_code", r)))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {xkey} AS grp, COUNT(DISTINCT x.enterprise_id) AS firms, COUNT(*) AS received, \
         COALESCE(SUM(CASE WHEN x.acknowledged_on IS NOT NULL OR x.acknowledge_due < '{today}' THEN 1 ELSE 0 END), 0) AS due, \
         COALESCE(SUM(CASE WHEN x.acknowledged_on IS NOT NULL AND x.acknowledged_on <= x.acknowledge_due THEN 1 ELSE 0 END), 0) AS on_time, \
         COALESCE(SUM(CASE WHEN x.outcome = 'reconciled' OR x.state = 'reconciled' THEN 1 ELSE 0 END), 0) AS reconciled, \
         COALESCE(SUM(CASE WHEN x.outcome IS NOT NULL OR x.state IN ('reconciled', 'not_reconciled') THEN 1 ELSE 0 END), 0) AS answered, \
         CAST(AVG(CASE WHEN x.closed_on IS NOT NULL THEN {days} END) AS DOUBLE PRECISION) AS days \
         FROM complaints x WHERE x.received_on >= '{from}' AND x.received_on < '{to}'{industry_range}{region}{group}",
        xkey = sel.group_by.key_sql("x"),
        group = sel.group_by.group_sql("x", ""),
    );
    let rows: Vec<Agg> = diesel::sql_query(sql).load(conn)?;
    let aggs: BTreeMap<String, Agg> = rows.into_iter().map(|a| (a.grp.clone(), a)).collect();
    let months = ((to - from).num_days() as f64 / 30.44).max(1.0);
    let row = |g: &str| {
        let hide = !sel.shown(pattern, g);
        let n = registered.get(g).copied().unwrap_or(0);
        let a = aggs.get(g);
        let get = |f: fn(&Agg) -> i64| a.map(f).unwrap_or(0);
        let ratio = |x: i64, y: i64| {
            if hide || y == 0 {
                Figure {
                    value: None,
                    suppressed: hide,
                }
            } else {
                Figure::of(x as f64 / y as f64, false)
            }
        };
        ComplaintRow {
            group: if g.is_empty() {
                "total".into()
            } else {
                g.to_owned()
            },
            enterprises: Count::of(n, hide),
            enterprises_with_complaints: Count::of(get(|a| a.firms), hide),
            received: Count::of(get(|a| a.received), hide),
            on_time_rate: ratio(get(|a| a.on_time), get(|a| a.due)),
            reconciliation_rate: ratio(get(|a| a.reconciled), get(|a| a.answered)),
            mean_days_to_close: match a.and_then(|a| a.days) {
                Some(d) if !hide => Figure::of(d, false),
                _ => Figure {
                    value: None,
                    suppressed: hide,
                },
            },
            per_enterprise_month: if hide || n == 0 {
                Figure {
                    value: None,
                    suppressed: hide,
                }
            } else {
                Figure::of(get(|a| a.received) as f64 / n as f64 / months, false)
            },
        }
    };
    let rows = if sel.group_by == GroupBy::None {
        Vec::new()
    } else {
        registered
            .keys()
            .filter(|g| sel.shown(pattern, g))
            .map(|g| row(g))
            .collect()
    };
    Ok(ComplaintFigures {
        rows,
        total: row(""),
        min_group: pattern.min_group(),
        from,
        to,
    })
}
