//! Working days: Monday to Friday, except public holidays, plus the weekends declared working
//! days to make up for them (调休). The days come from data — the State Council's yearly notice,
//! shipped in `schemas/reference/cn-working-days.json` or another file the operator names
//! (`CSR_CALENDAR_FILE`) — never from code. Beyond the years the data covers, weekends alone
//! are rest days (and the service warns at start-up when today is outside the data).

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

/// The calendar shipped with the service.
pub const SHIPPED: &str = include_str!("../../schemas/reference/cn-working-days.json");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    #[serde(default)]
    source: Option<String>,
    covers: Covers,
    holidays: Vec<NaiveDate>,
    working_weekends: Vec<NaiveDate>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct Covers {
    from: NaiveDate,
    to: NaiveDate,
}

/// A working-day calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub name: String,
    pub source: Option<String>,
    pub covers: (NaiveDate, NaiveDate),
    holidays: BTreeSet<NaiveDate>,
    working_weekends: BTreeSet<NaiveDate>,
}

impl Calendar {
    /// Parses a calendar file, refusing days outside what it says it covers, a holiday that is
    /// also a working day, and a "working weekend" that is not a weekend.
    pub fn parse(json: &str) -> Result<Self, String> {
        let f: File = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if f.covers.from > f.covers.to {
            return Err("covers.from is after covers.to".into());
        }
        let within = |d: &NaiveDate| (f.covers.from..=f.covers.to).contains(d);
        if let Some(d) = f
            .holidays
            .iter()
            .chain(&f.working_weekends)
            .find(|d| !within(d))
        {
            return Err(format!("{d} is outside covers"));
        }
        let holidays: BTreeSet<NaiveDate> = f.holidays.into_iter().collect();
        let working_weekends: BTreeSet<NaiveDate> = f.working_weekends.into_iter().collect();
        if let Some(d) = holidays.intersection(&working_weekends).next() {
            return Err(format!("{d} is both a holiday and a working day"));
        }
        if let Some(d) = working_weekends.iter().find(|d| !is_weekend(**d)) {
            return Err(format!(
                "{d} is a working weekend day but not a Saturday or Sunday"
            ));
        }
        Ok(Self {
            name: f.name,
            source: f.source,
            covers: (f.covers.from, f.covers.to),
            holidays,
            working_weekends,
        })
    }

    /// The calendar shipped with the service.
    pub fn shipped() -> Self {
        Self::parse(SHIPPED).expect("the shipped calendar is valid (unit-tested)")
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.holidays.contains(&d) {
            return false;
        }
        !is_weekend(d) || self.working_weekends.contains(&d)
    }

    pub fn covers(&self, d: NaiveDate) -> bool {
        (self.covers.0..=self.covers.1).contains(&d)
    }

    /// The `n`th working day after `from` (`from` itself never counts, as deadlines "within n
    /// working days" of receipt are counted from the next day). `n = 0` is `from`.
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> NaiveDate {
        let mut d = from;
        let mut left = n;
        while left > 0 {
            d = d.succ_opt().unwrap_or(d);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days after `from` up to and including `to` (0 when `to <= from`).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        let mut n = 0;
        let mut d = from;
        while d < to {
            d = d.succ_opt().unwrap_or(to);
            if self.is_working_day(d) {
                n += 1;
            }
        }
        n
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    #[test]
    fn the_shipped_calendar_parses() {
        let c = Calendar::shipped();
        assert!(c.covers(day("2026-12-06")));
        assert!(!c.is_working_day(day("2026-10-01")));
        // Saturday 10 October 2026 is worked to make up for the National Day week.
        assert!(c.is_working_day(day("2026-10-10")));
        assert!(!c.is_working_day(day("2026-10-11")));
        assert!(c.is_working_day(day("2026-12-07")));
    }

    #[test]
    fn deadlines_skip_weekends_and_holidays_and_count_working_weekends() {
        let c = Calendar::shipped();
        // Thursday 24 September 2026: Friday 25 is the Mid-Autumn holiday, then the weekend,
        // Monday 28 and Tuesday 29 and Wednesday 30 are worked, 1–7 October are the National
        // Day holiday, Thursday 8 and Friday 9 are worked, Saturday 10 is a working weekend.
        let received = day("2026-09-24");
        assert_eq!(c.add_working_days(received, 1), day("2026-09-28"));
        assert_eq!(c.add_working_days(received, 3), day("2026-09-30"));
        assert_eq!(c.add_working_days(received, 4), day("2026-10-08"));
        assert_eq!(c.add_working_days(received, 6), day("2026-10-10"));
        assert_eq!(c.add_working_days(received, 7), day("2026-10-12"));
        assert_eq!(c.add_working_days(received, 0), received);
        assert_eq!(c.working_days_between(received, day("2026-10-12")), 7);
        assert_eq!(c.working_days_between(day("2026-10-12"), received), 0);
        // Beyond the data, weekends alone rest.
        assert_eq!(c.add_working_days(day("2027-01-01"), 1), day("2027-01-04"));
    }

    #[test]
    fn inconsistent_calendars_are_refused() {
        let base = |holidays: &str, weekends: &str| {
            format!(
                r#"{{"name":"t","covers":{{"from":"2026-01-01","to":"2026-12-31"}},"holidays":[{holidays}],"working_weekends":[{weekends}]}}"#
            )
        };
        assert!(Calendar::parse(&base(r#""2026-10-01""#, r#""2026-10-10""#)).is_ok());
        let both = Calendar::parse(&base(r#""2026-10-10""#, r#""2026-10-10""#));
        assert!(both.is_err_and(|e| e.contains("both")));
        let weekday = Calendar::parse(&base("", r#""2026-10-09""#));
        assert!(weekday.is_err_and(|e| e.contains("not a Saturday")));
        let outside = Calendar::parse(&base(r#""2027-01-01""#, ""));
        assert!(outside.is_err_and(|e| e.contains("outside")));
        assert!(Calendar::parse(r#"{"name":"t"}"#).is_err());
    }
}
