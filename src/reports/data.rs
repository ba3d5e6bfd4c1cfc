//! Gathers what a report or certificate shows from the database, so rendering stays pure.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::certificate::CertificateData;
use super::report::ReportData;
use crate::certification;
use crate::db::certificates::Certificate;
use crate::db::submissions::Submission;
use crate::db::{AnyConnection, enterprises as enterprises_db, reviews};
use crate::domain::stats::total_shown;
use crate::error::{AppError, AppResult};
use crate::schemas::SchemaCache;
use crate::state::AppState;
use crate::stats;
use crate::submissions::load;

/// Median theme scores of the latest self-assessment of each enterprise in the same GB/T 4754
/// division on the same schema version, from the scores recorded at submission, when the group
/// is large enough to be shown.
fn industry_median(
    conn: &mut AnyConnection,
    min_group: i64,
    s: &Submission,
) -> AppResult<Option<HashMap<String, f64>>> {
    let industry =
        crate::domain::IndustryCode::parse(&s.industry_code).map_err(AppError::internal)?;
    let sel = stats::Selection::peers(&industry, &s.version)?;
    let enterprises = stats::latest_totals(conn, &sel)?.len() as i64;
    if !total_shown(enterprises, min_group) || enterprises == 0 {
        return Ok(None);
    }
    Ok(Some(
        stats::latest_theme_scores(conn, &sel)?
            .into_iter()
            .map(|(theme, v)| (theme, stats::median(v)))
            .collect(),
    ))
}

pub fn report_data(
    conn: &mut AnyConnection,
    schemas: &SchemaCache,
    min_group: i64,
    s: Submission,
) -> AppResult<ReportData> {
    let enterprise = enterprises_db::find(conn, s.enterprise_id)?.ok_or(AppError::NotFound)?;
    let median = industry_median(conn, min_group, &s)?;
    let rounds = reviews::all_of(conn, s.id)?;
    let verdict_rows = match rounds.last() {
        Some(r) => reviews::verdicts_of(conn, r.id)?,
        None => Vec::new(),
    };
    let at = s.submitted_at.unwrap_or(s.updated_at);
    let date = at.date();
    // The year of complaints up to the day of the self-assessment, in the complaints' dates.
    let day = crate::complaints::date_in_china(at);
    let complaints = crate::complaints::measures::over(
        conn,
        s.enterprise_id,
        day - chrono::Duration::days(365),
        day + chrono::Duration::days(1),
        crate::complaints::today(),
    )?;
    let loaded = load(conn, schemas, s)?;
    let reviewed = (!rounds.is_empty()).then(|| loaded.reviewed_score(&verdict_rows));
    let verdicts = verdict_rows
        .iter()
        .map(|v| {
            let note = v.reason.clone().or_else(|| v.comment.clone());
            (v.criterion_id.clone(), (v.verdict, v.fraction, note))
        })
        .collect();
    let answers = loaded
        .answers
        .iter()
        .map(|a| {
            let value = serde_json::from_str(&a.value).unwrap_or(serde_json::Value::Null);
            (
                a.criterion_id.clone(),
                (value, a.not_applicable_reason.clone()),
            )
        })
        .collect();
    let r = &loaded.schema.resolved;
    let s = &loaded.submission;
    Ok(ReportData {
        enterprise_name: enterprise.name,
        credit_code: enterprise.credit_code,
        industry_code: enterprise.industry_code,
        schema_id: s.schema_id.clone(),
        version: s.version.clone(),
        schema_hash: s.schema_hash.clone(),
        submission_id: s.id,
        status: s.status,
        date,
        themes: r.themes.clone(),
        levels: r.levels.clone(),
        criteria: loaded.schema.criteria.clone(),
        answers,
        score: loaded.score(),
        reviewed,
        verdicts,
        industry_median: median,
        complaints: Some(complaints),
    })
}

pub fn certificate_data(st: &AppState, c: &Certificate) -> AppResult<CertificateData> {
    let signed = certification::signed(c)?;
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(AppError::internal);
    let base = st
        .settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", st.settings.bind));
    Ok(CertificateData {
        number: c.number.clone(),
        issuer_zh: signed.payload.issuer.zh.clone(),
        issuer_en: signed.payload.issuer.en.clone(),
        seal_text: st.settings.issuer_seal_text.clone(),
        enterprise_name: signed.payload.enterprise.name.clone(),
        credit_code: signed.payload.enterprise.credit_code.clone(),
        level_zh: signed.payload.level_label.zh.clone(),
        level_en: signed.payload.level_label.en.clone(),
        schema_id: c.schema_id.clone(),
        version: c.version.clone(),
        issued_on: date(&c.issued_on)?,
        expires_on: date(&c.expires_on)?,
        verify_url: format!("{}/verify/{}", base.trim_end_matches('/'), c.number),
        signed_json: serde_json::to_string(&signed).map_err(AppError::internal)?,
        kid: c.kid.clone(),
        signature: c.signature.clone(),
        status: certification::effective_status(c, chrono::Utc::now().date_naive()),
    })
}
