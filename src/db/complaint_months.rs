//! Complaint figures kept per industry, region and month of receipt (`complaint_months`), and
//! which enterprises received complaints in a month (`complaint_firm_months`), changed in the
//! transaction that changes the complaint: the statistics of a year read these instead of
//! every complaint.

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::AnyConnection;
use super::complaints::Complaint;
use super::schema::{complaint_firm_months as fm, complaint_months as cm};
use crate::error::AppResult;

/// What one complaint counts in its month's figures; a change of the complaint adds the
/// difference between what it counts after and before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub received: i64,
    pub acknowledged: i64,
    pub on_time: i64,
    pub answered: i64,
    pub reconciled: i64,
    pub closed: i64,
    pub close_days: i64,
}

impl Tally {
    /// The same conditions as the statistics' count over the complaints themselves (and the
    /// migration that filled the table).
    pub fn of(x: &Complaint) -> Self {
        let answered =
            x.outcome.is_some() || matches!(x.state.as_str(), "reconciled" | "not_reconciled");
        let reconciled = x.outcome.as_deref() == Some("reconciled") || x.state == "reconciled";
        Self {
            received: 1,
            acknowledged: x.acknowledged_on.is_some().into(),
            on_time: x
                .acknowledged_on
                .is_some_and(|d| d <= x.acknowledge_due)
                .into(),
            answered: answered.into(),
            reconciled: reconciled.into(),
            closed: x.closed_on.is_some().into(),
            close_days: x.closed_on.map_or(0, |d| (d - x.received_on).num_days()),
        }
    }

    /// What changing `before` into `after` adds.
    pub fn change(before: &Complaint, after: &Complaint) -> Self {
        let (a, b) = (Self::of(after), Self::of(before));
        Self {
            received: a.received - b.received,
            acknowledged: a.acknowledged - b.acknowledged,
            on_time: a.on_time - b.on_time,
            answered: a.answered - b.answered,
            reconciled: a.reconciled - b.reconciled,
            closed: a.closed - b.closed,
            close_days: a.close_days - b.close_days,
        }
    }
}

/// The first day of `d`'s month: the key the figures are kept under.
pub fn month_of(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// A difference to the figures of one industry, region and month, made by a change of one
/// complaint: [`apply`] writes it, last in the transaction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[must_use = "apply the change to the monthly figures with `complaint_months::apply`"]
pub struct Change {
    industry_code: String,
    month: NaiveDate,
    region_code: String,
    enterprise_id: i64,
    tally: TallyKey,
}

/// [`Tally`] in a form that sorts (the order of [`apply`] is the key's).
type TallyKey = [i64; 7];

impl Change {
    pub fn new(x: &Complaint, t: Tally) -> Self {
        Self {
            industry_code: x.industry_code.clone(),
            month: month_of(x.received_on),
            region_code: x.region_code.clone(),
            enterprise_id: x.enterprise_id,
            tally: [
                t.received,
                t.acknowledged,
                t.on_time,
                t.answered,
                t.reconciled,
                t.closed,
                t.close_days,
            ],
        }
    }
}

/// Writes the changes of a transaction to the monthly figures, in the order of their keys.
/// Called last in the transaction, after every complaint it locks: a transaction waiting for a
/// month's row then holds no complaint another one waits for, and two that hold month rows
/// took them in the same order, so PostgreSQL never deadlocks on them (the rows are shared by
/// every complaint of an industry, region and month).
pub fn apply(conn: &mut AnyConnection, changes: impl IntoIterator<Item = Change>) -> AppResult<()> {
    let mut changes: Vec<Change> = changes.into_iter().filter(|c| c.tally != [0; 7]).collect();
    changes.sort();
    for c in changes {
        let [
            received,
            acknowledged,
            on_time,
            answered,
            reconciled,
            closed,
            close_days,
        ] = c.tally;
        let upsert = diesel::insert_into(cm::table)
            .values((
                cm::industry_code.eq(&c.industry_code),
                cm::region_code.eq(&c.region_code),
                cm::month.eq(c.month),
                cm::received.eq(received),
                cm::acknowledged.eq(acknowledged),
                cm::on_time.eq(on_time),
                cm::answered.eq(answered),
                cm::reconciled.eq(reconciled),
                cm::closed.eq(closed),
                cm::close_days.eq(close_days),
            ))
            .on_conflict((cm::industry_code, cm::month, cm::region_code))
            .do_update()
            .set((
                cm::received.eq(cm::received + excluded(cm::received)),
                cm::acknowledged.eq(cm::acknowledged + excluded(cm::acknowledged)),
                cm::on_time.eq(cm::on_time + excluded(cm::on_time)),
                cm::answered.eq(cm::answered + excluded(cm::answered)),
                cm::reconciled.eq(cm::reconciled + excluded(cm::reconciled)),
                cm::closed.eq(cm::closed + excluded(cm::closed)),
                cm::close_days.eq(cm::close_days + excluded(cm::close_days)),
            ));
        let firm = diesel::insert_into(fm::table)
            .values((
                fm::industry_code.eq(&c.industry_code),
                fm::month.eq(c.month),
                fm::region_code.eq(&c.region_code),
                fm::enterprise_id.eq(c.enterprise_id),
            ))
            .on_conflict_do_nothing();
        // ON CONFLICT has no multi-backend form: run it on the concrete connection.
        match conn {
            AnyConnection::Sqlite(conn) => {
                upsert.execute(conn)?;
                if received > 0 {
                    firm.execute(conn)?;
                }
            }
            AnyConnection::Postgresql(conn) => {
                upsert.execute(conn)?;
                if received > 0 {
                    firm.execute(conn)?;
                }
            }
        }
    }
    Ok(())
}

/// Counts every complaint again: after a bulk load that bypassed [`apply`], or to repair the
/// figures. On PostgreSQL, writers of complaints wait until it commits.
pub fn rebuild(conn: &mut AnyConnection) -> AppResult<()> {
    let (month, days) = match conn {
        AnyConnection::Sqlite(_) => (
            "date(received_on, 'start of month')",
            "CAST(julianday(closed_on) - julianday(received_on) AS INTEGER)",
        ),
        AnyConnection::Postgresql(_) => (
            "CAST(date_trunc('month', received_on) AS DATE)",
            "(closed_on - received_on)",
        ),
    };
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query("LOCK TABLE complaints IN SHARE MODE").execute(pg)?;
    }
    diesel::delete(cm::table).execute(conn)?;
    diesel::delete(fm::table).execute(conn)?;
    diesel::sql_query(format!(
        "INSERT INTO complaint_months \
         SELECT industry_code, region_code, {month}, COUNT(*), \
         SUM(CASE WHEN acknowledged_on IS NOT NULL THEN 1 ELSE 0 END), \
         SUM(CASE WHEN acknowledged_on <= acknowledge_due THEN 1 ELSE 0 END), \
         SUM(CASE WHEN outcome IS NOT NULL OR state IN ('reconciled', 'not_reconciled') THEN 1 ELSE 0 END), \
         SUM(CASE WHEN outcome = 'reconciled' OR state = 'reconciled' THEN 1 ELSE 0 END), \
         SUM(CASE WHEN closed_on IS NOT NULL THEN 1 ELSE 0 END), \
         COALESCE(SUM({days}), 0) \
         FROM complaints GROUP BY industry_code, region_code, {month}"
    ))
    .execute(conn)?;
    diesel::sql_query(format!(
        "INSERT INTO complaint_firm_months \
         SELECT DISTINCT industry_code, {month}, region_code, enterprise_id FROM complaints"
    ))
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complaint() -> Complaint {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        Complaint {
            id: 1,
            reference: "TS1".into(),
            enterprise_id: 1,
            industry_code: "C1491".into(),
            region_code: "330106".into(),
            category: "after_sales".into(),
            channel: "hotline".into(),
            amount_fen: None,
            received_on: d(3, 30),
            state: "forwarded".into(),
            outcome: None,
            acknowledge_due: d(4, 2),
            acknowledged_on: None,
            proposal_due: None,
            closed_on: None,
            incident_id: None,
        }
    }

    #[test]
    fn a_walk_through_the_workflow_sums_to_the_end_state() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let mut x = complaint();
        let mut sum = Tally::of(&x);
        let mut step = |x: &mut Complaint, f: &dyn Fn(&mut Complaint)| {
            let before = x.clone();
            f(x);
            let t = Tally::change(&before, x);
            sum = Tally {
                received: sum.received + t.received,
                acknowledged: sum.acknowledged + t.acknowledged,
                on_time: sum.on_time + t.on_time,
                answered: sum.answered + t.answered,
                reconciled: sum.reconciled + t.reconciled,
                closed: sum.closed + t.closed,
                close_days: sum.close_days + t.close_days,
            };
        };
        step(&mut x, &|x| {
            x.state = "acknowledged".into();
            x.acknowledged_on = Some(d(4, 3));
        });
        step(&mut x, &|x| x.state = "reconciled".into());
        step(&mut x, &|x| {
            x.state = "closed".into();
            x.outcome = Some("reconciled".into());
            x.closed_on = Some(d(4, 9));
        });
        // Reopened: no longer closed nor answered; then rejected and closed again.
        step(&mut x, &|x| {
            x.state = "acknowledged".into();
            x.outcome = None;
            x.closed_on = None;
        });
        step(&mut x, &|x| x.state = "not_reconciled".into());
        step(&mut x, &|x| {
            x.state = "closed".into();
            x.outcome = Some("not_reconciled".into());
            x.closed_on = Some(d(4, 20));
        });
        assert_eq!(sum, Tally::of(&x));
        assert_eq!(
            sum,
            Tally {
                received: 1,
                acknowledged: 1,
                on_time: 0,
                answered: 1,
                reconciled: 0,
                closed: 1,
                close_days: 21,
            }
        );
        assert_eq!(month_of(x.received_on), d(3, 1));
    }
}
