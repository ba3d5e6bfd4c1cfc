//! Counts computed in the database: the funnel, levels, the disclosure pattern and the
//! enterprise populations adoption rates are computed against.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::db::AnyConnection;
use crate::domain::disclosure::Pattern;
use crate::domain::stats::suppress;
use crate::domain::{IndustryCode, RegionCode, Role};
use crate::error::{AppError, AppResult};

use super::*;

#[derive(QueryableByName)]
pub(super) struct GroupCount {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
pub(super) struct GroupLevelCount {
    #[diesel(sql_type = Text)]
    grp: String,
    #[diesel(sql_type = Text)]
    level: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

pub(super) fn grouped(conn: &mut AnyConnection, sql: String) -> AppResult<BTreeMap<String, i64>> {
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
    pub(super) fn shown(v: f64) -> Self {
        Self {
            value: Some(v),
            suppressed: false,
        }
    }

    pub(super) fn hidden() -> Self {
        Self {
            value: None,
            suppressed: true,
        }
    }

    pub(super) fn of(v: f64, hide: bool) -> Self {
        if hide { Self::hidden() } else { Self::shown(v) }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FunnelRow {
    /// The group: industry section or division, province code, or `total`.
    pub group: String,
    pub registered: Count,
    pub self_assessed: Count,
    pub certified: Count,
    pub expiring_90_days: Count,
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
    let get = |m: &BTreeMap<String, i64>, g: &str| m.get(g).copied().unwrap_or(0);
    let row = |g: &str, hide: bool, population: Option<i64>| {
        let certified_n = get(&certified, g);
        FunnelRow {
            group: if g.is_empty() {
                "total".into()
            } else {
                g.to_owned()
            },
            registered: Count::of(get(&registered, g), hide),
            self_assessed: Count::of(get(&assessed, g), hide),
            certified: Count::of(certified_n, hide),
            expiring_90_days: Count::of(get(&expiring, g), hide),
            adoption_rate: match population {
                Some(p) if p > 0 && !hide => Figure::shown(rate(certified_n, p)),
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
    let sum = |m: &BTreeMap<String, i64>| m.values().sum::<i64>();
    let total_population = match sel.industries.as_slice() {
        [one] => population_of(one),
        _ => None,
    };
    let hide_total = !sel.shown(pattern, "");
    let total_certified = sum(&certified);
    let total = FunnelRow {
        group: "total".into(),
        registered: Count::of(total_size, hide_total),
        self_assessed: Count::of(sum(&assessed), hide_total),
        certified: Count::of(total_certified, hide_total),
        expiring_90_days: Count::of(sum(&expiring), hide_total),
        adoption_rate: match total_population {
            Some(p) if p > 0 && !hide_total => Figure::shown(rate(total_certified, p)),
            _ => Figure::hidden(),
        },
    };
    Ok(Funnel {
        rows,
        total,
        min_group: pattern.min_group(),
    })
}

/// A count of enterprises that may be suppressed: `value` is `null` and `suppressed` true for
/// small groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Count {
    #[schema(minimum = 0)]
    pub value: Option<i64>,
    pub suppressed: bool,
}

impl Count {
    pub(super) fn of(n: i64, hide: bool) -> Self {
        Self {
            value: (!hide).then_some(n),
            suppressed: hide,
        }
    }
}

/// What exports need of a figure or a count: the number to draw, and the text of its cell.
pub trait Cell {
    /// The number, `None` when suppressed.
    fn number(&self) -> Option<f64>;
    /// The cell of a CSV or XLSX table: the number, or `suppressed`.
    fn cell(&self) -> String;
}

impl Cell for Figure {
    fn number(&self) -> Option<f64> {
        self.value
    }
    fn cell(&self) -> String {
        self.value
            .map_or_else(|| "suppressed".to_owned(), |v| v.to_string())
    }
}

impl Cell for Count {
    fn number(&self) -> Option<f64> {
        self.value.map(|n| n as f64)
    }
    fn cell(&self) -> String {
        self.value
            .map_or_else(|| "suppressed".to_owned(), |v| v.to_string())
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LevelRow {
    pub group: String,
    /// Active certificates by level id.
    pub levels: BTreeMap<String, Count>,
}

/// `certified` of `population`, to four decimals.
fn rate(certified: i64, population: i64) -> f64 {
    (certified as f64 / population as f64 * 10_000.0).round() / 10_000.0
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
                    .map(|(l, (n, h))| (l.clone(), Count::of(*n, h)))
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
