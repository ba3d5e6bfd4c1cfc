//! Adoption statistics: the caller's scope, the selection (industry, region, period, schema
//! version), grouped counts computed in the database, and suppression of small groups.
//!
//! Filter values reach SQL only after validation (GB/T 4754 codes are a letter and digits,
//! GB/T 2260 prefixes digits, dates and versions checked), which is what lets the grouped
//! queries be written as SQL text for both backends.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::AnyConnection;
use crate::domain::disclosure::Pattern;
use crate::domain::stats::{suppress, total_shown};
use crate::domain::{IndustryCode, RegionCode, Role};
use crate::error::{AppError, AppResult};

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    None,
    /// GB/T 4754 section letter.
    Section,
    /// GB/T 4754 division (letter and two digits).
    Division,
    /// GB/T 2260 province (two digits).
    Province,
}

impl GroupBy {
    pub fn parse(s: Option<&str>) -> AppResult<Self> {
        match s.unwrap_or("none") {
            "none" => Ok(Self::None),
            "section" => Ok(Self::Section),
            "division" | "industry" => Ok(Self::Division),
            "province" => Ok(Self::Province),
            _ => Err(AppError::validation(
                "group_by",
                "must be none, section, division or province",
            )),
        }
    }

    /// The GROUP BY clause over the codes of table `t` (none at all for totals: PostgreSQL
    /// refuses constants there), with `extra` grouping columns appended.
    fn group_sql(self, t: &str, extra: &str) -> String {
        let mut cols: Vec<String> = Vec::new();
        if self != Self::None {
            cols.push(self.key_sql(t));
        }
        if !extra.is_empty() {
            cols.push(extra.to_owned());
        }
        if cols.is_empty() {
            String::new()
        } else {
            format!(" GROUP BY {}", cols.join(", "))
        }
    }

    /// The group key over the `industry_code` and `region_code` columns of table `t`.
    fn key_sql(self, t: &str) -> String {
        match self {
            Self::None => "''".to_owned(),
            Self::Section => format!("substr({t}.industry_code, 1, 1)"),
            Self::Division => format!("substr({t}.industry_code, 1, 3)"),
            Self::Province => format!("substr({t}.region_code, 1, 2)"),
        }
    }
}

/// A validated selection within the caller's scope.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Industry prefixes any of which an enterprise must match (the caller's scope, narrowed by
    /// the filter); empty means all industries.
    pub industries: Vec<String>,
    pub region: Option<String>,
    /// Submissions submitted in [from, to).
    pub period: Option<(NaiveDate, NaiveDate)>,
    pub version: Option<String>,
    pub group_by: GroupBy,
}

/// Parses `2026`, `2026Q3` or `2026-01-01..2026-07-01`.
pub fn parse_period(s: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let bad =
        || "use a year (2026), a quarter (2026Q3) or a range (2026-01-01..2026-07-01)".to_owned();
    if let Some((a, b)) = s.split_once("..") {
        let a = NaiveDate::parse_from_str(a, "%Y-%m-%d").map_err(|_| bad())?;
        let b = NaiveDate::parse_from_str(b, "%Y-%m-%d").map_err(|_| bad())?;
        return if a < b { Ok((a, b)) } else { Err(bad()) };
    }
    let (year, quarter) = match s.split_once(['Q', 'q']) {
        Some((y, q)) => (y, Some(q.parse::<u32>().map_err(|_| bad())?)),
        None => (s, None),
    };
    let year: i32 = year.parse().map_err(|_| bad())?;
    if !(2000..=2100).contains(&year) {
        return Err(bad());
    }
    let (m0, m1) = match quarter {
        None => (1, 13),
        Some(q @ 1..=4) => (q * 3 - 2, q * 3 + 1),
        Some(_) => return Err(bad()),
    };
    let start = NaiveDate::from_ymd_opt(year, m0, 1).ok_or_else(bad)?;
    let end = if m1 == 13 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, m1, 1)
    }
    .ok_or_else(bad)?;
    Ok((start, end))
}

/// Builds the selection, refusing filters outside the caller's scope (403).
pub fn selection(
    user: &AuthUser,
    industry: Option<&str>,
    region: Option<&str>,
    period: Option<&str>,
    version: Option<&str>,
    group_by: Option<&str>,
) -> AppResult<Selection> {
    let industry = industry
        .filter(|s| !s.is_empty())
        .map(IndustryCode::parse)
        .transpose()
        .map_err(|e| AppError::validation("industry", e))?
        .map(|c| c.as_str().to_owned());
    let region = region
        .filter(|s| !s.is_empty())
        .map(RegionCode::parse_prefix)
        .transpose()
        .map_err(|e| AppError::validation("region", e))?;
    let period = period
        .filter(|s| !s.is_empty())
        .map(parse_period)
        .transpose()
        .map_err(|e| AppError::validation("period", e))?;
    let version = version.filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(v) = &version
        && !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(AppError::validation("version", "not a version label"));
    }
    let group_by = GroupBy::parse(group_by)?;

    let industries = match user.role {
        Role::Admin => industry.into_iter().collect(),
        Role::Reviewer => {
            if let (Some(scope), Some(r)) = (&user.region_scope, &region)
                && !r.starts_with(scope.as_str())
            {
                return Err(AppError::Forbidden(
                    "that region is outside your association's scope".into(),
                ));
            }
            industry.into_iter().collect()
        }
        Role::IndustryBody => match &industry {
            Some(i) => {
                if !user
                    .industry_scopes
                    .iter()
                    .any(|s| i.starts_with(s.as_str()))
                {
                    return Err(AppError::Forbidden(
                        "that industry is outside your scope".into(),
                    ));
                }
                vec![i.clone()]
            }
            None => user.industry_scopes.clone(),
        },
        _ => {
            return Err(AppError::Forbidden(
                "statistics are for associations and industry bodies".into(),
            ));
        }
    };
    // A regional reviewer's statistics cover their region.
    let region = match (user.role, &user.region_scope, region) {
        (Role::Reviewer, Some(scope), None) => Some(scope.clone()),
        (_, _, r) => r,
    };
    Ok(Selection {
        industries,
        region,
        period,
        version,
        group_by,
    })
}

/// `column` starts with `prefix`, as a range that an index serves on both backends (unlike
/// LIKE, which SQLite and PostgreSQL index only under particular collations). `prefix` is a
/// validated code: ASCII letters and digits, so the successor of its last character sorts after
/// every longer code it begins.
fn prefix_sql(column: &str, prefix: &str) -> String {
    let mut upper = prefix.as_bytes().to_vec();
    if let Some(last) = upper.last_mut() {
        *last += 1;
    }
    let upper = String::from_utf8_lossy(&upper);
    format!("({column} >= '{prefix}' AND {column} < '{upper}')")
}

impl Selection {
    /// WHERE conditions on the `industry_code` and `region_code` columns of table `t` (an
    /// enterprise, or its latest self-assessment, which carries its codes).
    fn enterprise_where(&self, t: &str) -> String {
        let mut parts = vec!["1 = 1".to_owned()];
        if !self.industries.is_empty() {
            let any: Vec<String> = self
                .industries
                .iter()
                .map(|p| prefix_sql(&format!("{t}.industry_code"), p))
                .collect();
            parts.push(format!("({})", any.join(" OR ")));
        }
        if let Some(r) = &self.region {
            parts.push(prefix_sql(&format!("{t}.region_code"), r));
        }
        parts.join(" AND ")
    }

    /// Whether the selection is every enterprise's latest self-assessment, which
    /// `latest_self_assessments` holds; a period or version picks the latest among those
    /// submissions instead, found from the submissions themselves.
    fn all_latest(&self) -> bool {
        self.period.is_none() && self.version.is_none()
    }

    fn submission_where(&self) -> String {
        let counted: Vec<String> = crate::db::submissions::counted()
            .iter()
            .map(|s| format!("'{s}'"))
            .collect();
        let mut parts = vec![format!("s.status IN ({})", counted.join(", "))];
        if let Some((a, b)) = self.period {
            parts.push(format!(
                "s.submitted_at >= '{a} 00:00:00' AND s.submitted_at < '{b} 00:00:00'"
            ));
        }
        if let Some(v) = &self.version {
            parts.push(format!("s.version = '{v}'"));
        }
        parts.join(" AND ")
    }
}

/// The longer of two code prefixes when one extends the other (their intersection), or none
/// when they are disjoint.
pub fn narrower<'a>(a: &'a str, b: &'a str) -> Option<&'a str> {
    if a.starts_with(b) {
        Some(a)
    } else if b.starts_with(a) {
        Some(b)
    } else {
        None
    }
}

impl Selection {
    /// The cells of the industry × region hierarchy that make up group `group` of the
    /// selection (`""` for its total): one per industry prefix of the selection that the group
    /// can overlap.
    pub fn cells(&self, group: &str) -> Vec<(String, String)> {
        let (industry_group, region_group) = match self.group_by {
            GroupBy::Section | GroupBy::Division => (group, ""),
            GroupBy::Province => ("", group),
            GroupBy::None => ("", ""),
        };
        let Some(region) = narrower(self.region.as_deref().unwrap_or(""), region_group) else {
            return Vec::new();
        };
        let all = [String::new()];
        let prefixes = if self.industries.is_empty() {
            &all[..]
        } else {
            &self.industries[..]
        };
        let mut cells: Vec<(String, String)> = prefixes
            .iter()
            // A prefix inside another prefix of the selection adds nothing to the union.
            .filter(|p| {
                !prefixes
                    .iter()
                    .any(|q| q.len() < p.len() && p.starts_with(q.as_str()))
            })
            .filter_map(|p| narrower(p, industry_group))
            .map(|i| (i.to_owned(), region.to_owned()))
            .collect();
        cells.sort();
        cells.dedup();
        cells
    }

    /// Whether group `group` of the selection (`""`: its total) may be shown: every cell it
    /// covers is published by the disclosure pattern.
    pub fn shown(&self, pattern: &Pattern, group: &str) -> bool {
        let cells = self.cells(group);
        !cells.is_empty() && cells.iter().all(|(i, r)| pattern.published(i, r))
    }
}

#[derive(QueryableByName)]
struct CodeCount {
    #[diesel(sql_type = Text)]
    industry: String,
    #[diesel(sql_type = Text)]
    region: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName, PartialEq, Eq, Clone, Copy)]
struct Population {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    last: i64,
}

/// The disclosure pattern of the registered enterprises, computed once per change. Enterprises
/// are only ever added and their codes never change, so their number and highest id identify
/// the population a pattern was computed from. Instances behind a load balancer each keep their
/// own copy, derived from the shared database.
#[derive(Default)]
pub struct DisclosureCache(Mutex<Option<(Population, i64, Arc<Pattern>)>>);

impl DisclosureCache {
    /// The pattern for the enterprises `conn` sees (call it in the snapshot the figures are
    /// read from, so that both describe the same enterprises).
    pub fn pattern(&self, conn: &mut AnyConnection, k: i64) -> AppResult<Arc<Pattern>> {
        let now: Population = diesel::sql_query(
            "SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS last FROM enterprises",
        )
        .get_result(conn)?;
        // Held while computing: a second request waits for the first's pattern.
        let mut cached = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((population, min, pattern)) = cached.as_ref()
            && *population == now
            && *min == k
        {
            return Ok(pattern.clone());
        }
        let pattern = Arc::new(pattern(conn, k)?);
        *cached = Some((now, k, pattern.clone()));
        Ok(pattern)
    }
}

/// The disclosure pattern over every registered enterprise: which groups any statistics may
/// show (see `domain::disclosure`).
pub fn pattern(conn: &mut AnyConnection, k: i64) -> AppResult<Pattern> {
    let rows: Vec<CodeCount> = diesel::sql_query(
        "SELECT industry_code AS industry, region_code AS region, COUNT(*) AS n \
         FROM enterprises GROUP BY industry_code, region_code",
    )
    .load(conn)?;
    Ok(Pattern::new(
        rows.iter()
            .map(|r| (r.industry.as_str(), r.region.as_str(), r.n)),
        k,
    ))
}

#[derive(QueryableByName)]
struct GroupCount {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct GroupLevelCount {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = Text)]
    level: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn grouped(conn: &mut AnyConnection, sql: String) -> AppResult<BTreeMap<String, i64>> {
    let rows: Vec<GroupCount> = diesel::sql_query(sql).load(conn)?;
    Ok(rows.into_iter().map(|r| (r.grp, r.n)).collect())
}

/// A figure that may be suppressed: `value` is `null` and `suppressed` true for small groups.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Figure {
    pub value: Option<f64>,
    pub suppressed: bool,
}

impl Figure {
    fn shown(v: f64) -> Self {
        Self {
            value: Some(v),
            suppressed: false,
        }
    }

    fn hidden() -> Self {
        Self {
            value: None,
            suppressed: true,
        }
    }

    fn of(v: f64, hide: bool) -> Self {
        if hide { Self::hidden() } else { Self::shown(v) }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FunnelRow {
    /// The group: industry section or division, province code, or `total`.
    pub group: String,
    pub registered: Figure,
    pub self_assessed: Figure,
    pub certified: Figure,
    pub expiring_90_days: Figure,
    /// Active certificates per enterprise of the uploaded population, where one matches.
    pub adoption_rate: Figure,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Funnel {
    /// The groups that may be shown. A group not listed is empty, smaller than `min_group`, or
    /// hidden so that a small group cannot be worked out from the others.
    pub rows: Vec<FunnelRow>,
    /// The selection's figures, suppressed when the selection itself may not be shown.
    pub total: FunnelRow,
    /// Groups smaller than this are never shown.
    pub min_group: i64,
}

/// The adoption funnel of the selection, grouped, with small groups suppressed.
pub fn funnel(
    conn: &mut AnyConnection,
    sel: &Selection,
    pattern: &Pattern,
    today: NaiveDate,
) -> AppResult<Funnel> {
    let key = sel.group_by.key_sql("e");
    let group = sel.group_by.group_sql("e", "");
    let ew = sel.enterprise_where("e");
    let registered = grouped(
        conn,
        format!("SELECT {key} AS grp, COUNT(*) AS n FROM enterprises e WHERE {ew}{group}"),
    )?;
    let assessed = if sel.all_latest() {
        grouped(
            conn,
            format!(
                "SELECT {} AS grp, COUNT(*) AS n FROM latest_self_assessments x WHERE {}{}",
                sel.group_by.key_sql("x"),
                sel.enterprise_where("x"),
                sel.group_by.group_sql("x", "")
            ),
        )?
    } else {
        grouped(
            conn,
            format!(
                "SELECT {key} AS grp, COUNT(DISTINCT e.id) AS n FROM submissions s JOIN enterprises e ON e.id = s.enterprise_id \
                 WHERE {ew} AND {}{group}",
                sel.submission_where()
            ),
        )?
    };
    // Enterprises of the selection holding an active certificate that expires within
    // [from, to]: driven from the enterprises' index, each probing its own certificates.
    let holding = |conn: &mut AnyConnection, from: NaiveDate, to: Option<NaiveDate>| {
        let until = to.map_or(String::new(), |d| format!(" AND c.expires_on <= '{d}'"));
        grouped(
            conn,
            format!(
                "SELECT {key} AS grp, COUNT(*) AS n FROM enterprises e WHERE {ew} AND EXISTS (\
                 SELECT 1 FROM certificates c WHERE c.enterprise_id = e.id AND c.status = 'active' \
                 AND c.expires_on >= '{from}'{until}){group}"
            ),
        )
    };
    let certified = holding(conn, today, None)?;
    let expiring = holding(conn, today, Some(today + chrono::Duration::days(90)))?;
    let populations = populations(conn)?;
    let region_key = sel.region.clone().unwrap_or_default();
    let population_of = |industry: &str| {
        populations
            .iter()
            .find(|(i, r, _)| i == industry && *r == region_key)
            .map(|(.., n)| *n)
    };

    // Only groups the disclosure pattern publishes are listed: an unlisted group may be empty
    // or small.
    let groups: Vec<&String> = registered
        .keys()
        .filter(|g| sel.shown(pattern, g))
        .collect();
    let get = |m: &BTreeMap<String, i64>, g: &str| m.get(g).copied().unwrap_or(0) as f64;
    let row = |g: &str, hide: bool, population: Option<i64>| {
        let certified_n = get(&certified, g);
        FunnelRow {
            group: if g.is_empty() {
                "total".into()
            } else {
                g.to_owned()
            },
            registered: Figure::of(get(&registered, g), hide),
            self_assessed: Figure::of(get(&assessed, g), hide),
            certified: Figure::of(certified_n, hide),
            expiring_90_days: Figure::of(get(&expiring, g), hide),
            adoption_rate: match population {
                Some(p) if p > 0 && !hide => {
                    Figure::shown((certified_n / p as f64 * 10_000.0).round() / 10_000.0)
                }
                _ => Figure::hidden(),
            },
        }
    };
    let rows = if sel.group_by == GroupBy::None {
        Vec::new()
    } else {
        groups
            .iter()
            .map(|g| {
                let population = matches!(sel.group_by, GroupBy::Section | GroupBy::Division)
                    .then(|| population_of(g))
                    .flatten();
                row(g, false, population)
            })
            .collect()
    };
    let total_size: i64 = registered.values().sum();
    let sum = |m: &BTreeMap<String, i64>| m.values().sum::<i64>() as f64;
    let total_population = match sel.industries.as_slice() {
        [one] => population_of(one),
        _ => None,
    };
    let hide_total = !sel.shown(pattern, "");
    let total_certified = sum(&certified);
    let total = FunnelRow {
        group: "total".into(),
        registered: Figure::of(total_size as f64, hide_total),
        self_assessed: Figure::of(sum(&assessed), hide_total),
        certified: Figure::of(total_certified, hide_total),
        expiring_90_days: Figure::of(sum(&expiring), hide_total),
        adoption_rate: match total_population {
            Some(p) if p > 0 && !hide_total => {
                Figure::shown((total_certified / p as f64 * 10_000.0).round() / 10_000.0)
            }
            _ => Figure::hidden(),
        },
    };
    Ok(Funnel {
        rows,
        total,
        min_group: pattern.min_group(),
    })
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LevelRow {
    pub group: String,
    /// Active certificates by level id.
    pub levels: BTreeMap<String, Figure>,
}

/// Active certificates by level, per group the disclosure pattern publishes; within a group,
/// a level held by fewer than `k` enterprises is hidden (with a partner).
pub fn levels(
    conn: &mut AnyConnection,
    sel: &Selection,
    pattern: &Pattern,
    today: NaiveDate,
) -> AppResult<Vec<LevelRow>> {
    let k = pattern.min_group();
    let key = sel.group_by.key_sql("e");
    let group = sel.group_by.group_sql("e", "c.level");
    let ew = sel.enterprise_where("e");
    let rows: Vec<GroupLevelCount> = diesel::sql_query(format!(
        "SELECT {key} AS grp, c.level AS level, COUNT(DISTINCT e.id) AS n FROM certificates c \
         JOIN enterprises e ON e.id = c.enterprise_id \
         WHERE {ew} AND c.status = 'active' AND c.expires_on >= '{today}'{group}"
    ))
    .load(conn)?;
    let mut by_group: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for r in rows {
        by_group.entry(r.grp).or_default().insert(r.level, r.n);
    }
    Ok(by_group
        .keys()
        .filter(|g| sel.shown(pattern, g))
        .map(|g| {
            let counts = &by_group[g];
            // Within a group, levels are cells of a row whose total is shown: suppress them too.
            let level_ids: Vec<&String> = counts.keys().collect();
            let level_sizes: Vec<i64> = level_ids.iter().map(|l| counts[*l]).collect();
            let hidden_levels = suppress(&level_sizes, k);
            LevelRow {
                group: if g.is_empty() {
                    "total".into()
                } else {
                    g.clone()
                },
                levels: level_ids
                    .into_iter()
                    .zip(level_sizes.iter().zip(hidden_levels))
                    .map(|(l, (n, h))| (l.clone(), Figure::of(*n as f64, h)))
                    .collect(),
            }
        })
        .collect())
}

/// (industry, region, population) rows.
pub fn populations(conn: &mut AnyConnection) -> AppResult<Vec<(String, String, i64)>> {
    use crate::db::schema::stat_populations::dsl as p;
    Ok(p::stat_populations
        .select((p::industry, p::region, p::population))
        .load(conn)?)
}

/// Parses population CSV: `industry,region,count` per line (a header line is allowed; region
/// may be empty for the whole country).
pub fn parse_populations(user: &AuthUser, text: &str) -> AppResult<Vec<(String, String, i64)>> {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.to_ascii_lowercase().starts_with("industry")) {
            continue;
        }
        let field = |n: usize| format!("line {}", n + 1);
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let [industry, region, count] = cols.as_slice() else {
            errors.push(crate::error::FieldError::new(
                field(i),
                "expected industry,region,count",
            ));
            continue;
        };
        let industry = match IndustryCode::parse(industry) {
            Ok(c) => c.as_str().to_owned(),
            Err(e) => {
                errors.push(crate::error::FieldError::new(
                    field(i),
                    format!("industry: {e}"),
                ));
                continue;
            }
        };
        if user.role == Role::IndustryBody
            && !user
                .industry_scopes
                .iter()
                .any(|s| industry.starts_with(s.as_str()))
        {
            return Err(AppError::Forbidden(format!(
                "{industry} is outside your scope"
            )));
        }
        let region = if region.is_empty() {
            String::new()
        } else {
            match RegionCode::parse_prefix(region) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(crate::error::FieldError::new(
                        field(i),
                        format!("region: {e}"),
                    ));
                    continue;
                }
            }
        };
        match count.parse::<i64>() {
            Ok(n) if n >= 0 => rows.push((industry, region, n)),
            _ => errors.push(crate::error::FieldError::new(
                field(i),
                "count must be a whole number",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if rows.is_empty() {
        return Err(AppError::validation("body", "no rows"));
    }
    Ok(rows)
}

pub fn save_populations(
    conn: &mut AnyConnection,
    user: i64,
    rows: &[(String, String, i64)],
) -> AppResult<()> {
    use crate::db::schema::stat_populations::dsl as p;
    let at = crate::db::now();
    for (industry, region, n) in rows {
        diesel::delete(p::stat_populations.find((industry, region))).execute(conn)?;
        diesel::insert_into(p::stat_populations)
            .values((
                p::industry.eq(industry),
                p::region.eq(region),
                p::population.eq(n),
                p::uploaded_by.eq(user),
                p::uploaded_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Current quarter label, e.g. `2026Q4`.
pub fn quarter_of(d: NaiveDate) -> String {
    format!("{}Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

/// CSV with a header, quoting where needed.
pub fn csv(header: &[&str], rows: &[Vec<String>]) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = header
        .iter()
        .map(|h| quote(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for r in rows {
        out.push_str(&r.iter().map(|c| quote(c)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap_or_default();
        assert_eq!(parse_period("2026"), Ok((d(2026, 1, 1), d(2027, 1, 1))));
        assert_eq!(parse_period("2026Q4"), Ok((d(2026, 10, 1), d(2027, 1, 1))));
        assert_eq!(parse_period("2026Q2"), Ok((d(2026, 4, 1), d(2026, 7, 1))));
        assert!(parse_period("2026Q5").is_err());
        assert!(parse_period("2026-07-01..2026-01-01").is_err());
        assert!(parse_period("'; DROP TABLE x").is_err());
        assert_eq!(quarter_of(d(2026, 11, 28)), "2026Q4");
    }

    #[test]
    fn prefixes_are_ranges() {
        assert_eq!(
            prefix_sql("e.industry_code", "C14"),
            "(e.industry_code >= 'C14' AND e.industry_code < 'C15')"
        );
        // The successor of 9 is ':', which sorts after every digit.
        assert_eq!(
            prefix_sql("x.region_code", "3309"),
            "(x.region_code >= '3309' AND x.region_code < '330:')"
        );
    }

    #[test]
    fn csv_quotes() {
        assert_eq!(
            csv(&["a", "b"], &[vec!["x,y".into(), "1".into()]]),
            "a,b\n\"x,y\",1\n"
        );
    }
}

#[derive(QueryableByName)]
struct GroupValue {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = diesel::sql_types::Double)]
    v: f64,
}

#[derive(QueryableByName)]
struct PassRow {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    passed: i64,
}

impl Selection {
    /// The ids of each enterprise's latest self-assessment in the selection.
    fn latest_ids_sql(&self) -> String {
        if self.all_latest() {
            format!(
                "SELECT x.submission_id FROM latest_self_assessments x WHERE {}",
                self.enterprise_where("x")
            )
        } else {
            format!(
                "SELECT MAX(s.id) FROM submissions s JOIN enterprises e ON e.id = s.enterprise_id \
                 WHERE {} AND {} GROUP BY s.enterprise_id",
                self.enterprise_where("e"),
                self.submission_where()
            )
        }
    }
}

/// Location figures of a set of scores, hidden below `k` enterprises.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub enterprises: Figure,
    pub mean: Figure,
    pub median: Figure,
    pub q1: Figure,
    pub q3: Figure,
}

/// Linear-interpolation quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The summary of `values`, all of it hidden when `withheld` (the group may not be described)
/// or when fewer than `k` values remain.
pub fn summary(mut values: Vec<f64>, k: i64, withheld: bool) -> Summary {
    values.sort_by(f64::total_cmp);
    let n = values.len() as i64;
    let hide_n = withheld || !total_shown(n, k);
    let hide = hide_n || n == 0;
    let mean = values.iter().sum::<f64>() / values.len().max(1) as f64;
    Summary {
        enterprises: Figure::of(n as f64, hide_n),
        mean: Figure::of(round2(mean), hide),
        median: Figure::of(round2(quantile(&values, 0.5)), hide),
        q1: Figure::of(round2(quantile(&values, 0.25)), hide),
        q3: Figure::of(round2(quantile(&values, 0.75)), hide),
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Bucket {
    /// Scores from `from` (inclusive) to `to` (exclusive; 100 is in the last bucket).
    pub from: f64,
    pub to: f64,
    pub enterprises: Figure,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Distribution {
    pub total: Summary,
    pub themes: BTreeMap<String, Summary>,
    pub histogram: Vec<Bucket>,
    pub min_group: i64,
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

/// The median of unsorted values.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    quantile(&values, 0.5)
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
            enterprises: Figure::of(*n as f64, h || all_hidden),
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
    let rows: Vec<PassRow> = diesel::sql_query(format!(
        "SELECT r.criterion_id AS grp, COUNT(*) AS n, SUM(CASE WHEN r.fraction >= 0.5 THEN 1 ELSE 0 END) AS passed \
         FROM submission_criterion_results r WHERE r.submission_id IN ({}) GROUP BY r.criterion_id",
        sel.latest_ids_sql()
    ))
    .load(conn)?;
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
    pub self_assessed: Figure,
    pub mean_score: Figure,
    /// Certificates issued in the quarter.
    pub certified: Figure,
}

fn quarter_sql(conn: &AnyConnection, column: &str) -> String {
    match conn {
        AnyConnection::Sqlite(_) => format!(
            "(strftime('%Y', {column}) || 'Q' || ((CAST(strftime('%m', {column}) AS INTEGER) + 2) / 3))"
        ),
        AnyConnection::Postgresql(_) => format!(
            "(to_char(CAST({column} AS TIMESTAMP), 'YYYY') || 'Q' || to_char(CAST({column} AS TIMESTAMP), 'Q'))"
        ),
    }
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
    let (ew, sw) = (sel.enterprise_where("e"), sel.submission_where());
    let q = quarter_sql(conn, "s.submitted_at");
    let assessed = grouped(
        conn,
        format!(
            "SELECT {q} AS grp, COUNT(DISTINCT s.enterprise_id) AS n FROM submissions s JOIN enterprises e ON e.id = s.enterprise_id \
             WHERE {ew} AND {sw} GROUP BY {q}"
        ),
    )?;
    let means: Vec<GroupValue> = diesel::sql_query(format!(
        "SELECT {q} AS grp, AVG(s.score_total) AS v FROM submissions s JOIN enterprises e ON e.id = s.enterprise_id \
         WHERE {ew} AND {sw} AND s.score_total IS NOT NULL GROUP BY {q}"
    ))
    .load(conn)?;
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
            self_assessed: Figure::of(sizes[i] as f64, hidden[i]),
            mean_score: match means.iter().find(|m| &m.grp == q) {
                Some(m) if !hidden[i] && sizes[i] >= k => Figure::shown(round2(m.v)),
                _ => Figure::hidden(),
            },
            certified: Figure::of(cert_sizes[i] as f64, cert_hidden[i]),
        })
        .collect())
}

/// One bar of a chart: a label and its figure (suppressed bars are drawn hatched, without a
/// value).
pub struct Bar<'a> {
    pub label: String,
    pub figure: &'a Figure,
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart as standalone SVG.
pub fn svg_bars(title: &str, bars: &[Bar<'_>]) -> String {
    let width = 640.0;
    let label_w = 150.0;
    let bar_h = 22.0;
    let height = 50.0 + bars.len() as f64 * (bar_h + 8.0) + 20.0;
    let max = bars
        .iter()
        .filter_map(|b| b.figure.value)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         font-family=\"sans-serif\" font-size=\"12\"><title>{t}</title>\
         <defs><pattern id=\"hatch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#999\" stroke-width=\"2\"/></pattern></defs>\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><text x=\"10\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{t}</text>",
        t = xml(title)
    );
    let plot_w = width - label_w - 70.0;
    for (i, b) in bars.iter().enumerate() {
        let y = 40.0 + i as f64 * (bar_h + 8.0);
        out.push_str(&format!(
            "<text x=\"10\" y=\"{}\">{}</text>",
            y + bar_h * 0.7,
            xml(&b.label)
        ));
        match b.figure.value {
            Some(v) => {
                let w = (v / max * plot_w).max(1.0);
                out.push_str(&format!(
                    "<rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar_h}\" fill=\"#1f5c9e\"/>\
                     <text x=\"{:.1}\" y=\"{}\">{}</text>",
                    label_w + w + 6.0,
                    y + bar_h * 0.7,
                    (v * 100.0).round() / 100.0
                ));
            }
            None => out.push_str(&format!(
                "<rect x=\"{label_w}\" y=\"{y}\" width=\"{plot_w:.1}\" height=\"{bar_h}\" fill=\"url(#hatch)\"/>\
                 <text x=\"{:.1}\" y=\"{}\" fill=\"#666\">suppressed</text>",
                label_w + 8.0,
                y + bar_h * 0.7
            )),
        }
    }
    out.push_str("</svg>");
    out
}

/// A one-sheet XLSX workbook of a table; suppressed cells hold the text `suppressed`.
pub fn xlsx(sheet: &str, header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet).map_err(|e| e.to_string())?;
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h)
            .map_err(|e| e.to_string())?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            let (r, c) = (r as u32 + 1, c as u16);
            match value.parse::<f64>() {
                Ok(n) => ws.write_number(r, c, n),
                Err(_) => ws.write_string(r, c, value),
            }
            .map_err(|e| e.to_string())?;
        }
    }
    book.save_to_buffer().map_err(|e| e.to_string())
}
