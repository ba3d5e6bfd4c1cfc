//! What a statistics request selects: the grouping, and the industries, region, period and
//! schema version within the caller's scope, validated before any of it reaches SQL text.

use chrono::NaiveDate;

use crate::auth::AuthUser;
use crate::domain::disclosure::Pattern;
use crate::domain::{IndustryCode, RegionCode, Role};
use crate::error::{AppError, AppResult};

/// How rows are grouped (`division` is also accepted as `industry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
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
    pub(super) fn group_sql(self, t: &str, extra: &str) -> String {
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
    pub(super) fn key_sql(self, t: &str) -> String {
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
    pub(super) industries: Vec<String>,
    pub(super) region: Option<String>,
    /// Submissions submitted in [from, to).
    pub(super) period: Option<(NaiveDate, NaiveDate)>,
    pub(super) version: Option<String>,
    pub(super) group_by: GroupBy,
}

impl Selection {
    /// The enterprises of one GB/T 4754 division, on one schema version: an enterprise's peers
    /// (the report's industry median). The version is one recorded on a submission.
    pub fn peers(industry: &IndustryCode, version: &str) -> AppResult<Self> {
        if !version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            return Err(AppError::internal(format!(
                "unexpected version {version:?}"
            )));
        }
        Ok(Self {
            industries: vec![industry.as_str().chars().take(3).collect()],
            region: None,
            period: None,
            version: Some(version.to_owned()),
            group_by: GroupBy::None,
        })
    }

    pub fn group_by(&self) -> GroupBy {
        self.group_by
    }
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
pub(super) fn prefix_sql(column: &str, prefix: &str) -> String {
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
    pub(super) fn enterprise_where(&self, t: &str) -> String {
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
    pub(super) fn all_latest(&self) -> bool {
        self.period.is_none() && self.version.is_none()
    }

    pub(super) fn submission_where(&self) -> String {
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

impl Selection {
    /// The ids of each enterprise's latest self-assessment in the selection.
    pub(super) fn latest_ids_sql(&self) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::quarter_of;

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
}
