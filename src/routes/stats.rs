//! Adoption statistics for associations and industry bodies: never a figure about fewer than
//! five enterprises, never an enterprise name. JSON, or CSV with `?format=csv` or
//! `Accept: text/csv`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::certification::today;
use crate::domain::Role;
use crate::error::{AppError, AppResult, Problem};
use crate::startup::AppState;
use crate::stats::{self, Figure, Funnel, LevelRow};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// GB/T 4754 prefix within your scope.
    pub industry: Option<String>,
    /// GB/T 2260 prefix.
    pub region: Option<String>,
    /// `2026`, `2026Q3` or `2026-01-01..2026-07-01` (when self-assessments were submitted).
    pub period: Option<String>,
    /// Schema version of the self-assessments.
    pub version: Option<String>,
    /// `none` (default), `section`, `division` or `province`.
    pub group_by: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PopulationsSaved {
    pub rows: usize,
}

fn wants_csv(req: &HttpRequest, format: Option<&str>) -> AppResult<bool> {
    match format {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(AppError::validation("format", "must be json or csv")),
        None => Ok(req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv"))),
    }
}

fn cell(f: &Figure) -> String {
    f.value
        .map_or_else(|| "suppressed".to_owned(), |v| v.to_string())
}

fn csv_response(body: String, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .body(body)
}

fn selection(user: &AuthUser, q: &StatsQuery) -> AppResult<stats::Selection> {
    stats::selection(
        user,
        q.industry.as_deref(),
        q.region.as_deref(),
        q.period.as_deref(),
        q.version.as_deref(),
        q.group_by.as_deref(),
    )
}

/// The adoption funnel: enterprises registered, with a submitted self-assessment, with an
/// active certificate, and with one expiring within 90 days; the adoption rate where a
/// population was uploaded.
#[utoipa::path(
    tag = "stats",
    params(StatsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Funnel),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/funnel")]
pub async fn funnel(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let sel = selection(&user, &query)?;
    let csv = wants_csv(&req, query.format.as_deref())?;
    let k = state.settings.stats_min_group;
    let f = state
        .db
        .read(move |conn| stats::funnel(conn, &sel, today(), k))
        .await?;
    if csv {
        let rows = f
            .rows
            .iter()
            .chain(std::iter::once(&f.total))
            .map(|r| {
                vec![
                    r.group.clone(),
                    cell(&r.registered),
                    cell(&r.self_assessed),
                    cell(&r.certified),
                    cell(&r.expiring_90_days),
                    cell(&r.adoption_rate),
                ]
            })
            .collect::<Vec<_>>();
        let header = [
            "group",
            "registered",
            "self_assessed",
            "certified",
            "expiring_90_days",
            "adoption_rate",
        ];
        return Ok(csv_response(stats::csv(&header, &rows), "funnel"));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(f))
}

/// Active certificates by level.
#[utoipa::path(
    tag = "stats",
    params(StatsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<LevelRow>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/levels")]
pub async fn levels(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let sel = selection(&user, &query)?;
    let csv = wants_csv(&req, query.format.as_deref())?;
    let k = state.settings.stats_min_group;
    let rows = state
        .db
        .read(move |conn| stats::levels(conn, &sel, today(), k))
        .await?;
    if csv {
        let lines = rows
            .iter()
            .flat_map(|r| {
                r.levels
                    .iter()
                    .map(move |(l, f)| vec![r.group.clone(), l.clone(), cell(f)])
            })
            .collect::<Vec<_>>();
        return Ok(csv_response(
            stats::csv(&["group", "level", "certificates"], &lines),
            "levels",
        ));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(rows))
}

/// Upload enterprise populations (CSV lines `industry,region,count`, region empty for the whole
/// country) to compute adoption rates. Industry bodies within their scope, and administrators.
#[utoipa::path(
    tag = "stats",
    request_body(content = String, content_type = "text/csv"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = PopulationsSaved),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/stats/populations")]
pub async fn populations(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
    user.require(&[Role::IndustryBody, Role::Admin])?;
    let is_csv = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/csv") || v.starts_with("text/plain"));
    if !is_csv {
        return Err(AppError::UnsupportedMediaType(
            "send CSV with Content-Type: text/csv".into(),
        ));
    }
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::validation("body", "must be UTF-8 text"))?;
    let rows = stats::parse_populations(&user, text)?;
    let n = rows.len();
    let actor = user.id;
    state
        .db
        .write(move |conn| {
            stats::save_populations(conn, actor, &rows)?;
            crate::db::audit::append(
                conn,
                crate::db::audit::Event {
                    actor_user_id: Some(actor),
                    action: "stats.populations_uploaded",
                    entity_type: "stat_populations",
                    entity_id: actor.to_string(),
                    enterprise_id: None,
                    request_id: None,
                    details: serde_json::json!({ "rows": rows.len() }),
                },
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(PopulationsSaved { rows: n }))
}

/// Score distribution of each enterprise's latest self-assessment: mean, median and quartiles
/// of the total and of each theme, and a histogram of the total.
#[utoipa::path(
    tag = "stats",
    params(StatsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = stats::Distribution),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/scores")]
pub async fn scores(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let sel = selection(&user, &query)?;
    let csv = wants_csv(&req, query.format.as_deref())?;
    let k = state.settings.stats_min_group;
    let d = state
        .db
        .read(move |conn| stats::distribution(conn, &sel, k))
        .await?;
    if csv {
        let summary_row = |name: &str, s: &stats::Summary| {
            vec![
                name.to_owned(),
                cell(&s.enterprises),
                cell(&s.mean),
                cell(&s.median),
                cell(&s.q1),
                cell(&s.q3),
            ]
        };
        let rows: Vec<Vec<String>> = std::iter::once(summary_row("total", &d.total))
            .chain(d.themes.iter().map(|(t, s)| summary_row(t, s)))
            .collect();
        return Ok(csv_response(
            stats::csv(
                &["scope", "enterprises", "mean", "median", "q1", "q3"],
                &rows,
            ),
            "scores",
        ));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(d))
}

/// The criteria with the lowest pass rates (share of enterprises earning at least half of the
/// criterion's weight): where training should go.
#[utoipa::path(
    tag = "stats",
    params(StatsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = stats::PassRates),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/criteria")]
pub async fn criteria(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let sel = selection(&user, &query)?;
    let csv = wants_csv(&req, query.format.as_deref())?;
    let k = state.settings.stats_min_group;
    let p = state
        .db
        .read(move |conn| stats::pass_rates(conn, &sel, k, 10))
        .await?;
    if csv {
        let rows: Vec<Vec<String>> = p
            .criteria
            .iter()
            .map(|c| {
                vec![
                    c.criterion_id.clone(),
                    c.enterprises.to_string(),
                    c.pass_rate.to_string(),
                ]
            })
            .collect();
        return Ok(csv_response(
            stats::csv(&["criterion", "enterprises", "pass_rate"], &rows),
            "criteria",
        ));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(p))
}

/// Trends by quarter: enterprises self-assessing, their mean score, certificates issued.
#[utoipa::path(
    tag = "stats",
    params(StatsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<stats::TrendRow>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/stats/trends")]
pub async fn trends(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let sel = selection(&user, &query)?;
    let csv = wants_csv(&req, query.format.as_deref())?;
    let k = state.settings.stats_min_group;
    let rows = state
        .db
        .read(move |conn| stats::trends(conn, &sel, k))
        .await?;
    if csv {
        let lines: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                vec![
                    r.quarter.clone(),
                    cell(&r.self_assessed),
                    cell(&r.mean_score),
                    cell(&r.certified),
                ]
            })
            .collect();
        return Ok(csv_response(
            stats::csv(
                &["quarter", "self_assessed", "mean_score", "certified"],
                &lines,
            ),
            "trends",
        ));
    }
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(rows))
}
