//! Figures kept beside `latest_self_assessments` so that an industry's statistics are a range
//! read: pass counts per criterion (`latest_criterion_counts`, summed per industry and county,
//! and per industry), how many enterprises have each score (`latest_score_counts`, per
//! industry) and each enterprise's counted self-assessments per quarter
//! (`self_assessment_quarters`).
//! Both change in the transaction of every submission status change, through
//! [`super::submissions::refresh_latest`]; [`rebuild`] counts them again from the submissions.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::upsert::excluded;

use super::AnyConnection;
use super::schema::{
    latest_criterion_counts as lcc, latest_score_counts as lsc, self_assessment_quarters as saq,
    submission_criterion_results as scr, submission_theme_scores as sts, submissions,
};
use super::sql::FirstRow;
use crate::error::AppResult;

/// A criterion counts as passed when it earned at least this share of its weight.
pub const PASS_FRACTION: f64 = 0.5;

/// Moves an enterprise's contribution to the shared counts of its industry from submission
/// `old` to submission `new` (either absent): the criterion counts of its county and of the
/// whole country, then the score counts. Each table's rows are upserted by one statement in key
/// order, so two transactions take the rows they share in the same order. Callers hold the
/// enterprise's row lock (PostgreSQL), so that each refresh moves the counts from where the
/// previous one left them.
pub(super) fn move_latest(
    conn: &mut AnyConnection,
    industry: &str,
    region: &str,
    old: Option<i64>,
    new: Option<i64>,
) -> AppResult<()> {
    if old == new {
        return Ok(());
    }
    move_criterion_counts(conn, industry, region, old, new)?;
    move_score_counts(conn, industry, old, new)
}

fn move_criterion_counts(
    conn: &mut AnyConnection,
    industry: &str,
    region: &str,
    old: Option<i64>,
    new: Option<i64>,
) -> AppResult<()> {
    // criterion → (enterprises, passed) to add.
    let mut delta: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (id, sign) in [(old, -1), (new, 1)] {
        let Some(id) = id else { continue };
        let results: Vec<(String, f64)> = scr::table
            .filter(scr::submission_id.eq(id))
            .select((scr::criterion_id, scr::fraction))
            .load(conn)?;
        for (criterion, fraction) in results {
            let d = delta.entry(criterion).or_default();
            d.0 += sign;
            d.1 += sign * i64::from(fraction >= PASS_FRACTION);
        }
    }
    // Both areas' rows in one statement, in key order: a single round trip on PostgreSQL, where
    // the rows stay locked until the commit and the next status change in the industry waits.
    let mut rows = BTreeMap::new();
    for area in ["", region] {
        for (criterion, &(enterprises, passed)) in &delta {
            if (enterprises, passed) != (0, 0) {
                let d: &mut (i64, i64) = rows.entry((area, criterion.as_str())).or_default();
                d.0 += enterprises;
                d.1 += passed;
            }
        }
    }
    let rows: Vec<_> = rows
        .into_iter()
        .map(|((area, criterion), (enterprises, passed))| {
            (
                lcc::industry_code.eq(industry),
                lcc::region_code.eq(area),
                lcc::criterion_id.eq(criterion),
                lcc::enterprises.eq(enterprises),
                lcc::passed.eq(passed),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let upsert = diesel::insert_into(lcc::table)
        .values(&rows)
        .on_conflict((lcc::industry_code, lcc::region_code, lcc::criterion_id))
        .do_update()
        .set((
            lcc::enterprises.eq(lcc::enterprises + excluded(lcc::enterprises)),
            lcc::passed.eq(lcc::passed + excluded(lcc::passed)),
        ));
    // ON CONFLICT has no multi-backend form: run it on the concrete connection.
    match conn {
        AnyConnection::Sqlite(c) => upsert.execute(c)?,
        AnyConnection::Postgresql(c) => upsert.execute(c)?,
    };
    Ok(())
}

fn move_score_counts(
    conn: &mut AnyConnection,
    industry: &str,
    old: Option<i64>,
    new: Option<i64>,
) -> AppResult<()> {
    // (theme, score's bits) → enterprises to add; '' is the total score. Scores are never
    // negative, so the bits sort as the scores do.
    let mut delta: BTreeMap<(String, u64), i64> = BTreeMap::new();
    for (id, sign) in [(old, -1), (new, 1)] {
        let Some(id) = id else { continue };
        let total: Option<f64> = submissions::table
            .find(id)
            .select(submissions::score_total)
            .first_row(conn)?;
        let themes: Vec<(String, f64)> = sts::table
            .filter(sts::submission_id.eq(id))
            .select((sts::theme_id, sts::score))
            .load(conn)?;
        for (theme, score) in total.map(|t| (String::new(), t)).into_iter().chain(themes) {
            // + 0.0 makes -0.0 the 0.0 it equals in the database's unique key.
            *delta.entry((theme, (score + 0.0).to_bits())).or_default() += sign;
        }
    }
    let rows: Vec<_> = delta
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|((theme, bits), n)| {
            (
                lsc::industry_code.eq(industry),
                lsc::theme_id.eq(theme),
                lsc::score.eq(f64::from_bits(*bits)),
                lsc::enterprises.eq(*n),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let upsert = diesel::insert_into(lsc::table)
        .values(&rows)
        .on_conflict((lsc::industry_code, lsc::theme_id, lsc::score))
        .do_update()
        .set(lsc::enterprises.eq(lsc::enterprises + excluded(lsc::enterprises)));
    match conn {
        AnyConnection::Sqlite(c) => upsert.execute(c)?,
        AnyConnection::Postgresql(c) => upsert.execute(c)?,
    };
    Ok(())
}

/// Writes enterprise `enterprise`'s rows of `self_assessment_quarters` again from its counted
/// submissions. The rows belong to the enterprise alone, so no other transaction waits on them.
pub(super) fn rewrite_quarters(
    conn: &mut AnyConnection,
    enterprise: i64,
    industry: &str,
    region: &str,
) -> AppResult<()> {
    diesel::delete(
        saq::table
            .filter(saq::industry_code.eq(industry))
            .filter(saq::enterprise_id.eq(enterprise)),
    )
    .execute(conn)?;
    let submitted: Vec<(Option<chrono::NaiveDateTime>, Option<f64>)> = submissions::table
        .filter(submissions::enterprise_id.eq(enterprise))
        .filter(submissions::status.eq_any(super::submissions::counted()))
        .filter(submissions::submitted_at.is_not_null())
        .select((submissions::submitted_at, submissions::score_total))
        .load(conn)?;
    // quarter → (submissions, scored, score sum)
    let mut quarters: BTreeMap<String, (i64, i64, f64)> = BTreeMap::new();
    for (at, score) in submitted {
        let Some(at) = at else { continue };
        let q = quarters
            .entry(crate::stats::quarter_of(at.date()))
            .or_default();
        q.0 += 1;
        if let Some(score) = score {
            q.1 += 1;
            q.2 += score;
        }
    }
    let rows: Vec<_> = quarters
        .into_iter()
        .map(|(quarter, (n, scored, sum))| {
            (
                saq::industry_code.eq(industry),
                saq::enterprise_id.eq(enterprise),
                saq::quarter.eq(quarter),
                saq::region_code.eq(region),
                saq::submissions.eq(n),
                saq::scored.eq(scored),
                saq::score_sum.eq(sum),
            )
        })
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    // Multi-row inserts have no multi-backend form: run them on the concrete connection.
    let insert = diesel::insert_into(saq::table).values(&rows);
    match conn {
        AnyConnection::Sqlite(c) => insert.execute(c)?,
        AnyConnection::Postgresql(c) => insert.execute(c)?,
    };
    Ok(())
}

/// The SQL expression of the quarter (`2026Q4`) of timestamp `column`.
pub fn quarter_sql(conn: &AnyConnection, column: &str) -> String {
    match conn {
        AnyConnection::Sqlite(_) => format!(
            "(strftime('%Y', {column}) || 'Q' || ((CAST(strftime('%m', {column}) AS INTEGER) + 2) / 3))"
        ),
        AnyConnection::Postgresql(_) => format!(
            "(to_char(CAST({column} AS TIMESTAMP), 'YYYY') || 'Q' || to_char(CAST({column} AS TIMESTAMP), 'Q'))"
        ),
    }
}

/// Counts both tables again from `latest_self_assessments` and the submissions: after a bulk
/// load that bypassed [`super::submissions::refresh_latest`], or to repair them. On PostgreSQL,
/// submission status changes wait until it commits.
pub fn rebuild(conn: &mut AnyConnection) -> AppResult<()> {
    if let AnyConnection::Postgresql(pg) = conn {
        diesel::sql_query("LOCK TABLE submissions, latest_self_assessments IN SHARE MODE")
            .execute(pg)?;
    }
    diesel::delete(lcc::table).execute(conn)?;
    diesel::delete(lsc::table).execute(conn)?;
    diesel::delete(saq::table).execute(conn)?;
    let passed = format!("SUM(CASE WHEN r.fraction >= {PASS_FRACTION} THEN 1 ELSE 0 END)");
    let results = "FROM latest_self_assessments l \
         JOIN submission_criterion_results r ON r.submission_id = l.submission_id";
    diesel::sql_query(format!(
        "INSERT INTO latest_criterion_counts (industry_code, region_code, criterion_id, enterprises, passed) \
         SELECT l.industry_code, l.region_code, r.criterion_id, COUNT(*), {passed} {results} \
         GROUP BY l.industry_code, l.region_code, r.criterion_id \
         UNION ALL \
         SELECT l.industry_code, '', r.criterion_id, COUNT(*), {passed} {results} \
         GROUP BY l.industry_code, r.criterion_id"
    ))
    .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO latest_score_counts (industry_code, theme_id, score, enterprises) \
         SELECT industry_code, '', score_total, COUNT(*) FROM latest_self_assessments \
         WHERE score_total IS NOT NULL GROUP BY industry_code, score_total \
         UNION ALL \
         SELECT industry_code, theme_id, score, COUNT(*) FROM latest_theme_scores \
         GROUP BY industry_code, theme_id, score",
    )
    .execute(conn)?;
    let q = quarter_sql(conn, "s.submitted_at");
    let counted: Vec<String> = super::submissions::counted()
        .iter()
        .map(|s| format!("'{s}'"))
        .collect();
    diesel::sql_query(format!(
        "INSERT INTO self_assessment_quarters \
         (industry_code, enterprise_id, quarter, region_code, submissions, scored, score_sum) \
         SELECT e.industry_code, e.id, {q}, e.region_code, COUNT(*), COUNT(s.score_total), \
         COALESCE(SUM(s.score_total), 0) \
         FROM submissions s JOIN enterprises e ON e.id = s.enterprise_id \
         WHERE s.status IN ({}) AND s.submitted_at IS NOT NULL \
         GROUP BY e.industry_code, e.id, {q}, e.region_code",
        counted.join(", ")
    ))
    .execute(conn)?;
    Ok(())
}
