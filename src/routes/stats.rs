//! Adoption statistics for associations and industry bodies: never a figure about fewer than
//! five enterprises, never an enterprise name. JSON, or CSV with `?format=csv` or
//! `Accept: text/csv`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::error::{AppError, AppResult, Problem};
use crate::extract::Query;
use crate::state::AppState;
use crate::stats::tables::ChartLang;
use crate::stats::{self, Funnel, LevelRow, Table, figures, tables};

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
    #[param(value_type = Option<stats::GroupBy>)]
    pub group_by: Option<String>,
    /// `json` (default), `csv`, `xlsx` or `svg` (figures with a chart); without it, the
    /// `Accept` header chooses.
    #[param(value_type = Option<Format>)]
    pub format: Option<String>,
}

/// The parameters of figures that are not broken down by group (scores, weakest criteria,
/// trends): `group_by` is refused there rather than ignored.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FigureQuery {
    /// GB/T 4754 prefix within your scope.
    pub industry: Option<String>,
    /// GB/T 2260 prefix.
    pub region: Option<String>,
    /// `2026`, `2026Q3` or `2026-01-01..2026-07-01` (when self-assessments were submitted).
    pub period: Option<String>,
    /// Schema version of the self-assessments.
    pub version: Option<String>,
    /// `json` (default), `csv`, `xlsx` or `svg` (figures with a chart); without it, the
    /// `Accept` header chooses.
    #[param(value_type = Option<Format>)]
    pub format: Option<String>,
}

impl From<FigureQuery> for StatsQuery {
    fn from(q: FigureQuery) -> Self {
        Self {
            industry: q.industry,
            region: q.region,
            period: q.period,
            version: q.version,
            group_by: None,
            format: q.format,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PopulationsSaved {
    pub rows: usize,
}

/// How a figure is sent: JSON, or a CSV/XLSX table, or an SVG chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum Format {
    Json,
    Csv,
    Xlsx,
    Svg,
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn format(req: &HttpRequest, format: Option<&str>) -> AppResult<Format> {
    match format {
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        Some("xlsx") => Ok(Format::Xlsx),
        Some("svg") => Ok(Format::Svg),
        Some(_) => Err(AppError::validation(
            "format",
            "must be json, csv, xlsx or svg",
        )),
        None => {
            let accept = req
                .headers()
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            Ok(if accept.contains("text/csv") {
                Format::Csv
            } else if accept.contains(XLSX) {
                Format::Xlsx
            } else if accept.contains("image/svg+xml") {
                Format::Svg
            } else {
                Format::Json
            })
        }
    }
}

fn respond(fmt: Format, json: impl Serialize, table: Table) -> AppResult<HttpResponse> {
    let attachment = |ext: &str| format!("attachment; filename=\"{}.{ext}\"", table.name);
    Ok(match fmt {
        Format::Json => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(json),
        Format::Csv => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Content-Disposition", attachment("csv")))
            .body(table.csv()),
        Format::Xlsx => HttpResponse::Ok()
            .content_type(XLSX)
            .insert_header(("Content-Disposition", attachment("xlsx")))
            .body(table.xlsx().map_err(AppError::internal)?),
        Format::Svg => match table.chart {
            Some(svg) => HttpResponse::Ok().content_type("image/svg+xml").body(svg),
            None => {
                return Err(AppError::validation(
                    "format",
                    "this figure has no chart; use json, csv or xlsx",
                ));
            }
        },
    })
}

/// What every figure needs from a request: the selection in the caller's scope, the output
/// format.
fn prepare(
    user: &AuthUser,
    req: &HttpRequest,
    q: &StatsQuery,
) -> AppResult<(stats::Selection, Format)> {
    let sel = stats::selection(
        user,
        q.industry.as_deref(),
        q.region.as_deref(),
        q.period.as_deref(),
        q.version.as_deref(),
        q.group_by.as_deref(),
    )?;
    Ok((sel, format(req, q.format.as_deref())?))
}

/// The adoption funnel: enterprises registered, with a submitted self-assessment, with an
/// active certificate, and with one expiring within 90 days; the adoption rate where a
/// population was uploaded.
#[utoipa::path(
    operation_id = "getFunnelStats",
    tag = "stats",
    params(StatsQuery),
    security(("bearer" = ["admin", "reviewer", "industry_body"])),
    responses(
        (status = 200, description = "The funnel as JSON, a CSV or XLSX table (`format` or `Accept`), or an SVG chart", content((Funnel = "application/json"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (String = "image/svg+xml"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/funnel")]
pub async fn funnel(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let (sel, fmt) = prepare(&user, &req, &query)?;
    let f = figures::adoption(&state, &user, sel).await?;
    respond(fmt, &f, tables::funnel(&f, ChartLang::En))
}

/// Complaints received in the period (default: the current month and the eleven before it) by
/// enterprises of the selection, and how they were handled: on-time acknowledgement,
/// reconciliation, days to close. The same suppression as every other figure; never personal
/// data.
#[utoipa::path(
    operation_id = "getComplaintStats",
    tag = "stats",
    params(StatsQuery),
    security(("bearer" = ["admin", "reviewer", "industry_body"])),
    responses(
        (status = 200, description = "The figures as JSON, or a CSV or XLSX table (`format` or `Accept`)", content((stats::ComplaintFigures = "application/json"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/complaints")]
pub async fn complaints(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    if query.version.is_some() {
        return Err(AppError::validation(
            "version",
            "complaints are not tied to a schema version",
        ));
    }
    let (sel, fmt) = prepare(&user, &req, &query)?;
    let f = figures::complaints(&state, &user, sel).await?;
    respond(fmt, &f, tables::complaints(&f))
}

/// Active certificates by level.
#[utoipa::path(
    operation_id = "getLevelStats",
    tag = "stats",
    params(StatsQuery),
    security(("bearer" = ["admin", "reviewer", "industry_body"])),
    responses(
        (status = 200, description = "Certificates by level as JSON, a CSV or XLSX table (`format` or `Accept`), or an SVG chart", content((Vec<LevelRow> = "application/json"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (String = "image/svg+xml"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/levels")]
pub async fn levels(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: Query<StatsQuery>,
) -> AppResult<HttpResponse> {
    let (sel, fmt) = prepare(&user, &req, &query)?;
    let rows = figures::certificate_levels(&state, &user, sel).await?;
    respond(fmt, &rows, tables::levels(&rows, ChartLang::En))
}

/// Upload enterprise populations (CSV lines `industry,region,count`, region empty for the whole
/// country) to compute adoption rates. Industry bodies within their scope, and administrators.
#[utoipa::path(
    operation_id = "uploadPopulations",
    tag = "stats",
    request_body(
        content = String,
        content_type = "text/csv",
        description = "UTF-8 CSV, one line per population: `industry,region,count` (GB/T 4754 \
                       code, GB/T 2260 code or empty for the whole country, number of \
                       enterprises); an optional header line `industry,region,count`",
        example = "industry,region,count\nC14,,1200\nC14,33,180\n"
    ),
    security(("bearer" = ["admin", "industry_body"])),
    responses(
        (status = 200, body = PopulationsSaved),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/populations")]
pub async fn populations(
    state: web::Data<AppState>,
    user: AuthUser,
    rid: crate::extract::RequestId,
    req: HttpRequest,
    body: web::Bytes,
) -> AppResult<HttpResponse> {
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
    let n = figures::upload_populations(&state, &user, rid.0, text).await?;
    Ok(HttpResponse::Ok().json(PopulationsSaved { rows: n }))
}

/// Score distribution of each enterprise's latest self-assessment: mean, median and quartiles
/// of the total and of each theme, and a histogram of the total.
#[utoipa::path(
    operation_id = "getScoreStats",
    tag = "stats",
    params(FigureQuery),
    security(("bearer" = ["admin", "reviewer", "industry_body"])),
    responses(
        (status = 200, description = "The score distribution as JSON, a CSV or XLSX table (`format` or `Accept`), or an SVG chart", content((stats::Distribution = "application/json"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (String = "image/svg+xml"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/scores")]
pub async fn scores(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: Query<FigureQuery>,
) -> AppResult<HttpResponse> {
    let (sel, fmt) = prepare(&user, &req, &query.into_inner().into())?;
    let d = figures::scores(&state, &user, sel).await?;
    respond(fmt, &d, tables::scores(&d, ChartLang::En))
}

/// The criteria with the lowest pass rates (share of enterprises earning at least half of the
/// criterion's weight): where training should go.
#[utoipa::path(
    operation_id = "getCriteriaStats",
    tag = "stats",
    params(FigureQuery),
    security(("bearer" = ["admin", "reviewer", "industry_body"])),
    responses(
        (status = 200, description = "Pass rates by criterion as JSON, a CSV or XLSX table (`format` or `Accept`), or an SVG chart of the ten lowest", content((stats::PassRates = "application/json"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (String = "image/svg+xml"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/criteria")]
pub async fn criteria(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: Query<FigureQuery>,
) -> AppResult<HttpResponse> {
    let (sel, fmt) = prepare(&user, &req, &query.into_inner().into())?;
    let p = figures::weakest_criteria(&state, &user, sel).await?;
    respond(fmt, &p, tables::criteria(&p, ChartLang::En))
}

/// Trends by quarter: enterprises self-assessing, their mean score, certificates issued.
#[utoipa::path(
    operation_id = "getTrendStats",
    tag = "stats",
    params(FigureQuery),
    security(("bearer" = ["admin", "reviewer", "industry_body"])),
    responses(
        (status = 200, description = "Quarterly trends as JSON, a CSV or XLSX table (`format` or `Accept`), or an SVG chart", content((Vec<stats::TrendRow> = "application/json"), (String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (String = "image/svg+xml"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/trends")]
pub async fn trends(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: Query<FigureQuery>,
) -> AppResult<HttpResponse> {
    let (sel, fmt) = prepare(&user, &req, &query.into_inner().into())?;
    let rows = figures::quarterly(&state, &user, sel).await?;
    respond(fmt, &rows, tables::trends(&rows, ChartLang::En))
}
