//! Complaint figures per industry and region: complaints received and how they were handled,
//! under the same disclosure rules as the adoption figures — a group is shown only where the
//! disclosure pattern of the registered enterprises publishes every cell it covers, so no
//! figure concerns fewer than `min_group` enterprises and none can be worked out by
//! subtracting shown groups from a shown total. Never personal data: the narrow `complaints`
//! table holds none.

use std::collections::BTreeMap;

use chrono::{Duration, Months, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use utoipa::ToSchema;

use super::queries::{Count, Figure, grouped};
use super::{GroupBy, Selection};
use crate::db::AnyConnection;
use crate::db::complaint_months::month_of;
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

/// Counts of complaints of a group, from the monthly figures or from the complaints.
#[derive(QueryableByName, Default)]
struct Agg {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = BigInt)]
    received: i64,
    #[diesel(sql_type = BigInt)]
    acknowledged: i64,
    #[diesel(sql_type = BigInt)]
    on_time: i64,
    #[diesel(sql_type = BigInt)]
    answered: i64,
    #[diesel(sql_type = BigInt)]
    reconciled: i64,
    #[diesel(sql_type = BigInt)]
    closed: i64,
    #[diesel(sql_type = BigInt)]
    close_days: i64,
}

impl Agg {
    fn add(&mut self, o: &Agg) {
        self.received += o.received;
        self.acknowledged += o.acknowledged;
        self.on_time += o.on_time;
        self.answered += o.answered;
        self.reconciled += o.reconciled;
        self.closed += o.closed;
        self.close_days += o.close_days;
    }
}

/// The current month and the eleven before it.
pub fn default_period(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let this_month = month_of(today);
    let from = this_month
        .checked_sub_months(Months::new(11))
        .unwrap_or(this_month);
    (from, today + Duration::days(1))
}

/// Where `[from, to)` is counted from: the whole months `[m0, m1)` from the monthly figures,
/// the days before and after them (`edges`) from the complaints. No complaint is received
/// after `today` (intake refuses it), so a period reaching past today has today's month whole.
fn split(
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
) -> (NaiveDate, NaiveDate, Vec<(NaiveDate, NaiveDate)>) {
    let next = |d: NaiveDate| month_of(d).checked_add_months(Months::new(1)).unwrap_or(d);
    let m0 = if month_of(from) == from {
        from
    } else {
        next(from)
    };
    let m1 = if to > today {
        next(today)
    } else {
        month_of(to)
    };
    if m0 >= m1 {
        return (m0, m0, vec![(from, to)]);
    }
    let edges = [(from, m0), (m1, to)]
        .into_iter()
        .filter(|(a, b)| a < b)
        .collect();
    (m0, m1, edges)
}

/// The figures for complaints received in `[from, to)` (the selection's period, or
/// [`default_period`]).
pub fn complaint_figures(
    conn: &mut AnyConnection,
    sel: &Selection,
    pattern: &Pattern,
    today: NaiveDate,
) -> AppResult<ComplaintFigures> {
    let (from, to) = sel.period.unwrap_or_else(|| default_period(today));
    let key = sel.group_by.key_sql("e");
    let ew = sel.enterprise_where("e");
    let registered = grouped(
        conn,
        format!(
            "SELECT {key} AS grp, COUNT(*) AS n FROM enterprises e WHERE {ew}{}",
            sel.group_by.group_sql("e", "")
        ),
    )?;
    // The industries and region of the selection, over the `industry_code` and `region_code`
    // columns the complaints and both monthly tables share.
    let scope = |t: &str| format!(" AND {}", sel.enterprise_where(t));
    let (m0, m1, edges) = split(from, to, today);
    let in_edges = |t: &str| {
        let any: Vec<String> = edges
            .iter()
            .map(|(a, b)| format!("({t}.received_on >= '{a}' AND {t}.received_on < '{b}')"))
            .collect();
        format!("({})", any.join(" OR "))
    };
    let sum = |c: &str| format!("CAST(COALESCE(SUM({c}), 0) AS BIGINT) AS {c}");
    let mut aggs: BTreeMap<String, Agg> = BTreeMap::new();
    let mut merge = |rows: Vec<Agg>| {
        for a in rows {
            aggs.entry(a.grp.clone()).or_default().add(&a);
        }
    };
    let mut firms_from = Vec::new();
    if m0 < m1 {
        let cols: Vec<String> = [
            "received",
            "acknowledged",
            "on_time",
            "answered",
            "reconciled",
            "closed",
            "close_days",
        ]
        .iter()
        .map(|c| sum(c))
        .collect();
        merge(
            diesel::sql_query(format!(
                "SELECT {rkey} AS grp, {cols} FROM complaint_months r \
                 WHERE r.month >= '{m0}' AND r.month < '{m1}'{scope}{group}",
                rkey = sel.group_by.key_sql("r"),
                cols = cols.join(", "),
                scope = scope("r"),
                group = sel.group_by.group_sql("r", ""),
            ))
            .load(conn)?,
        );
        firms_from.push(format!(
            "SELECT {} AS grp, r.enterprise_id AS eid FROM complaint_firm_months r \
             WHERE r.month >= '{m0}' AND r.month < '{m1}'{}",
            sel.group_by.key_sql("r"),
            scope("r")
        ));
    }
    if !edges.is_empty() {
        let days = match conn {
            AnyConnection::Sqlite(_) => {
                "CAST(julianday(x.closed_on) - julianday(x.received_on) AS INTEGER)"
            }
            AnyConnection::Postgresql(_) => "(x.closed_on - x.received_on)",
        };
        let when = |cond: &str, c: &str| {
            format!("CAST(COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) AS BIGINT) AS {c}")
        };
        merge(
            diesel::sql_query(format!(
                "SELECT {xkey} AS grp, COUNT(*) AS received, {ack}, {on_time}, {answered}, \
                 {reconciled}, {closed}, \
                 CAST(COALESCE(SUM(CASE WHEN x.closed_on IS NOT NULL THEN {days} END), 0) AS BIGINT) AS close_days \
                 FROM complaints x WHERE {edges}{scope}{group}",
                xkey = sel.group_by.key_sql("x"),
                ack = when("x.acknowledged_on IS NOT NULL", "acknowledged"),
                on_time = when("x.acknowledged_on <= x.acknowledge_due", "on_time"),
                answered = when(
                    "x.outcome IS NOT NULL OR x.state IN ('reconciled', 'not_reconciled')",
                    "answered"
                ),
                reconciled = when(
                    "x.outcome = 'reconciled' OR x.state = 'reconciled'",
                    "reconciled"
                ),
                closed = when("x.closed_on IS NOT NULL", "closed"),
                edges = in_edges("x"),
                scope = scope("x"),
                group = sel.group_by.group_sql("x", ""),
            ))
            .load(conn)?,
        );
        firms_from.push(format!(
            "SELECT {} AS grp, x.enterprise_id AS eid FROM complaints x WHERE {}{}",
            sel.group_by.key_sql("x"),
            in_edges("x"),
            scope("x")
        ));
    }
    let firms = grouped(
        conn,
        format!(
            "SELECT grp, COUNT(DISTINCT eid) AS n FROM ({}) u GROUP BY grp",
            firms_from.join(" UNION ALL ")
        ),
    )?;
    // Unacknowledged complaints whose deadline has passed are due too: this depends on the
    // day, so they are counted from the complaints (a partial index holds only them).
    let overdue = grouped(
        conn,
        format!(
            "SELECT {xkey} AS grp, COUNT(*) AS n FROM complaints x \
             WHERE x.acknowledged_on IS NULL AND x.acknowledge_due < '{today}' \
             AND x.received_on >= '{from}' AND x.received_on < '{to}'{scope}{group}",
            xkey = sel.group_by.key_sql("x"),
            scope = scope("x"),
            group = sel.group_by.group_sql("x", ""),
        ),
    )?;
    let months = ((to - from).num_days() as f64 / 30.44).max(1.0);
    let row = |g: &str| {
        let hide = !sel.shown(pattern, g);
        let n = registered.get(g).copied().unwrap_or(0);
        let a = aggs.get(g);
        let get = |f: fn(&Agg) -> i64| a.map(f).unwrap_or(0);
        let due = get(|a| a.acknowledged) + overdue.get(g).copied().unwrap_or(0);
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
            enterprises_with_complaints: Count::of(firms.get(g).copied().unwrap_or(0), hide),
            received: Count::of(get(|a| a.received), hide),
            on_time_rate: ratio(get(|a| a.on_time), due),
            reconciliation_rate: ratio(get(|a| a.reconciled), get(|a| a.answered)),
            mean_days_to_close: ratio(get(|a| a.close_days), get(|a| a.closed)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn whole_months_come_from_the_monthly_figures_and_the_rest_from_the_complaints() {
        let today = d(2026, 12, 6);
        // The default period: whole months, today's month whole since nothing comes later.
        let (from, to) = default_period(today);
        assert_eq!((from, to), (d(2026, 1, 1), d(2026, 12, 7)));
        assert_eq!(split(from, to, today), (from, d(2027, 1, 1), vec![]));
        // A calendar year in the past.
        assert_eq!(
            split(d(2025, 1, 1), d(2026, 1, 1), today),
            (d(2025, 1, 1), d(2026, 1, 1), vec![])
        );
        // Days before and after the whole months.
        assert_eq!(
            split(d(2025, 12, 30), d(2026, 3, 5), today),
            (
                d(2026, 1, 1),
                d(2026, 3, 1),
                vec![
                    (d(2025, 12, 30), d(2026, 1, 1)),
                    (d(2026, 3, 1), d(2026, 3, 5))
                ]
            )
        );
        // No whole month: everything from the complaints.
        let (m0, m1, edges) = split(d(2026, 3, 2), d(2026, 3, 30), today);
        assert!(m0 >= m1);
        assert_eq!(edges, vec![(d(2026, 3, 2), d(2026, 3, 30))]);
        // Within today's month, up to tomorrow: the month is whole.
        assert_eq!(
            split(d(2026, 12, 1), d(2026, 12, 7), today),
            (d(2026, 12, 1), d(2027, 1, 1), vec![])
        );
    }
}
