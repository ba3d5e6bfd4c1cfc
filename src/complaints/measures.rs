//! How an enterprise handles complaints, per quarter: complaints received, acknowledged on
//! time, reconciled, the median days to close, complaints per month. Counted over the
//! complaints received in the quarter, from the narrow `complaints` table only (never personal
//! data).

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::AnyConnection;
use crate::db::schema::{complaint_incidents as inc, complaints as c};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A calendar quarter, written `2026Q3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    pub year: i32,
    pub q: u32,
}

impl Quarter {
    pub fn parse(s: &str) -> Result<Self, String> {
        let err = || "a quarter such as 2026Q3".to_owned();
        let (y, q) = s.split_once(['Q', 'q']).ok_or_else(err)?;
        let year: i32 = y.parse().map_err(|_| err())?;
        let q: u32 = q.parse().map_err(|_| err())?;
        if !(2000..=2100).contains(&year) || !(1..=4).contains(&q) {
            return Err(err());
        }
        Ok(Self { year, q })
    }

    /// The quarter before.
    pub fn previous(self) -> Self {
        if self.q == 1 {
            Self {
                year: self.year - 1,
                q: 4,
            }
        } else {
            Self {
                year: self.year,
                q: self.q - 1,
            }
        }
    }

    pub fn of(d: NaiveDate) -> Self {
        Self {
            year: d.year(),
            q: (d.month() - 1) / 3 + 1,
        }
    }

    /// The first day of the quarter and the first day of the next.
    pub fn bounds(self) -> (NaiveDate, NaiveDate) {
        let start = NaiveDate::from_ymd_opt(self.year, (self.q - 1) * 3 + 1, 1).unwrap_or_default();
        let end = if self.q == 4 {
            NaiveDate::from_ymd_opt(self.year + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(self.year, self.q * 3 + 1, 1)
        }
        .unwrap_or_default();
        (start, end)
    }
}

impl std::fmt::Display for Quarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}Q{}", self.year, self.q)
    }
}

/// One enterprise's complaint handling in one quarter.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Measures {
    pub enterprise_id: i64,
    /// `2026Q3`.
    pub quarter: String,
    /// Complaints received in the quarter.
    pub received: i64,
    /// Of those, acknowledged, and acknowledged by their deadline.
    pub acknowledged: i64,
    pub acknowledged_on_time: i64,
    /// Complaints whose acknowledgement is settled: acknowledged, or past the deadline.
    pub acknowledgement_due: i64,
    /// `acknowledged_on_time / acknowledgement_due`; null while nothing is due.
    pub on_time_rate: Option<f64>,
    /// Answered by the consumer: accepted (reconciled) or rejected (not reconciled).
    pub reconciled: i64,
    pub not_reconciled: i64,
    /// `reconciled / (reconciled + not_reconciled)`; null before any answer.
    pub reconciliation_rate: Option<f64>,
    pub closed: i64,
    /// Calendar days from receipt to closing, median over the closed ones.
    pub median_days_to_close: Option<f64>,
    /// `received` over the quarter's three months.
    pub per_month: f64,
    /// Group-complaint incidents of the enterprise not closed today.
    pub open_incidents: i64,
}

type Row = (
    String,
    Option<String>,
    NaiveDate,
    NaiveDate,
    Option<NaiveDate>,
    Option<NaiveDate>,
);

/// Computes the measures of one enterprise and quarter (an indexed range read).
pub fn compute(
    conn: &mut AnyConnection,
    enterprise: i64,
    quarter: Quarter,
    today: NaiveDate,
) -> AppResult<Measures> {
    let (start, end) = quarter.bounds();
    let mut m = over(conn, enterprise, start, end, today)?;
    m.quarter = quarter.to_string();
    Ok(m)
}

/// The measures over the complaints received in `[start, end)`; `quarter` names the range
/// (`2025-12-06..2026-12-06`) and `per_month` counts its months.
pub fn over(
    conn: &mut AnyConnection,
    enterprise: i64,
    start: NaiveDate,
    end: NaiveDate,
    today: NaiveDate,
) -> AppResult<Measures> {
    let rows: Vec<Row> = c::table
        .filter(c::enterprise_id.eq(enterprise))
        .filter(c::received_on.ge(start))
        .filter(c::received_on.lt(end))
        .select((
            c::state,
            c::outcome,
            c::received_on,
            c::acknowledge_due,
            c::acknowledged_on,
            c::closed_on,
        ))
        .load(conn)?;
    let open_incidents: i64 = inc::table
        .filter(inc::enterprise_id.eq(enterprise))
        .filter(inc::state.ne("closed"))
        .count()
        .get_result(conn)?;
    let mut m = summarise(enterprise, &rows, open_incidents, today);
    m.quarter = format!("{start}..{end}");
    m.per_month = m.received as f64 / ((end - start).num_days() as f64 / 30.44).max(1.0);
    Ok(m)
}

fn summarise(enterprise: i64, rows: &[Row], open_incidents: i64, today: NaiveDate) -> Measures {
    let received = rows.len() as i64;
    let acknowledged = rows.iter().filter(|r| r.4.is_some()).count() as i64;
    let on_time = rows
        .iter()
        .filter(|r| r.4.is_some_and(|a| a <= r.3))
        .count() as i64;
    let due = rows.iter().filter(|r| r.4.is_some() || r.3 < today).count() as i64;
    // The outcome of a closed complaint, or the answer of one not closed yet.
    let ended = |r: &Row, s: &str| r.1.as_deref() == Some(s) || r.0 == s;
    let reconciled = rows.iter().filter(|r| ended(r, "reconciled")).count() as i64;
    let not_reconciled = rows.iter().filter(|r| ended(r, "not_reconciled")).count() as i64;
    let mut days: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.5.map(|closed| (closed - r.2).num_days()))
        .collect();
    days.sort_unstable();
    let median = match days.len() {
        0 => None,
        n if n % 2 == 1 => Some(days[n / 2] as f64),
        n => Some((days[n / 2 - 1] + days[n / 2]) as f64 / 2.0),
    };
    let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
    Measures {
        enterprise_id: enterprise,
        quarter: String::new(),
        received,
        acknowledged,
        acknowledged_on_time: on_time,
        acknowledgement_due: due,
        on_time_rate: ratio(on_time, due),
        reconciled,
        not_reconciled,
        reconciliation_rate: ratio(reconciled, reconciled + not_reconciled),
        closed: days.len() as i64,
        median_days_to_close: median,
        per_month: received as f64 / 3.0,
        open_incidents,
    }
}

/// The measures of an enterprise for its users, association staff of its region and
/// administrators; 404 for everyone else.
pub async fn of_enterprise(
    state: &AppState,
    user: AuthUser,
    enterprise: i64,
    quarter: Option<String>,
) -> AppResult<Measures> {
    let quarter = match quarter {
        Some(q) => Quarter::parse(&q).map_err(|e| AppError::validation("quarter", e))?,
        None => Quarter::of(super::today()),
    };
    state
        .db
        .read(move |conn| {
            let e = crate::db::enterprises::find(conn, enterprise)?.ok_or(AppError::NotFound)?;
            let may = user.role == Role::Admin
                || user.belongs_to(enterprise)
                || user.staff_region(&e.region_code);
            if !may {
                return Err(AppError::NotFound);
            }
            compute(conn, enterprise, quarter, super::today())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn quarters_parse_and_bound() {
        let q = Quarter::parse("2026Q4").unwrap_or(Quarter { year: 0, q: 0 });
        assert_eq!(q.bounds(), (d("2026-10-01"), d("2027-01-01")));
        assert_eq!(Quarter::of(d("2026-09-30")).to_string(), "2026Q3");
        for bad in ["2026", "2026Q5", "Q1", "1999Q1", "2026Q"] {
            assert!(Quarter::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn measures_count_what_happened() {
        let s = |x: &str| x.to_owned();
        let rows: Vec<Row> = vec![
            // On time, reconciled, closed after 10 days.
            (
                s("closed"),
                Some(s("reconciled")),
                d("2026-07-01"),
                d("2026-07-06"),
                Some(d("2026-07-02")),
                Some(d("2026-07-11")),
            ),
            // Late, rejected, closed after 20 days.
            (
                s("closed"),
                Some(s("not_reconciled")),
                d("2026-07-01"),
                d("2026-07-06"),
                Some(d("2026-07-08")),
                Some(d("2026-07-21")),
            ),
            // Answered, accepted, not closed yet.
            (
                s("reconciled"),
                None,
                d("2026-08-01"),
                d("2026-08-05"),
                Some(d("2026-08-03")),
                None,
            ),
            // Never acknowledged.
            (
                s("forwarded"),
                None,
                d("2026-09-01"),
                d("2026-09-03"),
                None,
                None,
            ),
        ];
        let m = summarise(1, &rows, 0, d("2026-09-02"));
        assert_eq!(
            (m.received, m.acknowledged, m.acknowledged_on_time),
            (4, 3, 2)
        );
        // The unacknowledged one is not due yet on 2 September: two of three on time.
        assert_eq!(m.acknowledgement_due, 3);
        assert_eq!(m.on_time_rate, Some(2.0 / 3.0));
        let later = summarise(1, &rows, 0, d("2026-09-04"));
        assert_eq!(later.on_time_rate, Some(0.5));
        assert_eq!((m.reconciled, m.not_reconciled), (2, 1));
        assert_eq!(m.closed, 2);
        assert_eq!(m.median_days_to_close, Some(15.0));
        let empty = summarise(1, &[], 0, d("2026-09-04"));
        assert_eq!(
            (empty.on_time_rate, empty.median_days_to_close),
            (None, None)
        );
    }
}
