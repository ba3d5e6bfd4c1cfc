//! The statistics dashboard of industry bodies (and the association's reviewers and
//! administrators): funnel, certificate levels, score distribution, weakest criteria and
//! quarterly trends for a selection within the caller's scope, each as a chart drawn by the
//! service and as a table, with CSV and XLSX downloads; and the population upload, previewed
//! before it is saved. The same figures, suppression and scope checks as the API.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::chrome::{Lang, PageResult};
use super::session::{Caller, Form};
use super::{Chrome, html, page};
use crate::auth::roles;
use crate::domain::Role;
use crate::domain::enterprise::provinces;
use crate::error::{AppError, AppResult};
use crate::extract::RequestId;
use crate::state::AppState;
use crate::stats::{self, Table, figures, tables};

/// The selection as typed into the dashboard's filters.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Filters {
    #[serde(default)]
    industry: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    period: String,
}

impl Filters {
    fn query(&self) -> String {
        serde_urlencoded::to_string([
            ("industry", self.industry.trim()),
            ("region", self.region.trim()),
            ("period", self.period.trim()),
        ])
        .unwrap_or_default()
    }

    fn selection(&self, caller: &Caller) -> AppResult<stats::Selection> {
        let some = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let (industry, region, period) =
            (some(&self.industry), some(&self.region), some(&self.period));
        stats::selection(
            &caller.user,
            industry.as_deref(),
            region.as_deref(),
            period.as_deref(),
            None,
            None,
        )
        .map_err(|e| match e {
            // A selection outside the caller's scope is an error beside the field they typed.
            AppError::Forbidden(msg) => {
                let field = if caller.user.role == Role::Reviewer {
                    "region"
                } else {
                    "industry"
                };
                AppError::validation(field, msg)
            }
            other => other,
        })
    }
}

const FIGURES: [&str; 5] = ["funnel", "levels", "scores", "criteria", "trends"];

/// One figure of the selection as a table (with its chart).
async fn table(
    state: &AppState,
    caller: &Caller,
    name: &str,
    f: &Filters,
    l: Lang,
) -> AppResult<Table> {
    let sel = f.selection(caller)?;
    let lang = if l.en {
        tables::ChartLang::En
    } else {
        tables::ChartLang::Zh
    };
    let user = &caller.user;
    Ok(match name {
        "funnel" => tables::funnel(&figures::adoption(state, user, sel).await?, lang),
        "levels" => tables::levels(&figures::certificate_levels(state, user, sel).await?, lang),
        "scores" => tables::scores(&figures::scores(state, user, sel).await?, lang),
        "criteria" => tables::criteria(&figures::weakest_criteria(state, user, sel).await?, lang),
        "trends" => tables::trends(&figures::quarterly(state, user, sel).await?, lang),
        _ => return Err(AppError::NotFound),
    })
}

/// A figure shown on the dashboard: its chart's address, its table, its downloads.
struct FigureView {
    name: &'static str,
    title: &'static str,
    /// The chart as a `data:` URI: drawn from the figure this page already computed, rather
    /// than computed again by a request per chart.
    chart: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    suppressed: bool,
}

impl FigureView {
    fn of(name: &'static str, l: Lang, t: Table) -> Self {
        let suppressed = t.rows.iter().flatten().any(|c| c == "suppressed");
        let shown = |c: String| {
            if c == "suppressed" {
                l.t("已隐藏", "suppressed").to_owned()
            } else {
                c
            }
        };
        let chart = t.chart.as_deref().map_or_else(String::new, |svg| {
            let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, svg);
            format!("data:image/svg+xml;base64,{b64}")
        });
        Self {
            name,
            title: titles(l, name),
            chart,
            header: t.header.iter().map(|h| (*h).to_owned()).collect(),
            rows: t
                .rows
                .into_iter()
                .map(|r| r.into_iter().map(shown).collect())
                .collect(),
            suppressed,
        }
    }
}

fn titles(l: Lang, name: &str) -> &'static str {
    match name {
        "funnel" => l.t("采用情况", "Adoption funnel"),
        "levels" => l.t("有效证书的等级分布", "Active certificates by level"),
        "scores" => l.t("自评得分分布", "Score distribution"),
        "criteria" => l.t("通过率最低的评价项", "Criteria with the lowest pass rates"),
        _ => l.t("季度趋势", "Quarterly trends"),
    }
}

#[derive(Template)]
#[template(path = "console/statistics.html")]
struct DashboardPage {
    c: Chrome,
    f: Filters,
    query: String,
    scopes: String,
    provinces: Vec<(String, String)>,
    errors: HashMap<String, String>,
    figures: Vec<FigureView>,
    min_group: i64,
    may_upload: bool,
}

fn require_statistics(caller: &Caller) -> AppResult<()> {
    caller.user.require(roles::STATISTICS)
}

pub async fn dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    f: web::Query<Filters>,
) -> PageResult {
    require_statistics(&caller)?;
    let f = f.into_inner();
    let c = Chrome::new(&req, &caller, "");
    let l = c.l;
    let mut errors = HashMap::new();
    let mut views = Vec::new();
    for name in FIGURES {
        match table(&state, &caller, name, &f, l).await {
            Ok(t) => views.push(FigureView::of(name, l, t)),
            Err(AppError::Validation(fields)) => {
                for e in fields {
                    errors.insert(e.field, e.message);
                }
                views.clear();
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let title = l.t("采用情况统计", "Adoption statistics").to_owned();
    let status = super::status_for(errors.is_empty());
    let scopes = match caller.user.role {
        Role::IndustryBody => caller.user.industry_scopes.join(", "),
        _ => String::new(),
    };
    Ok(page(
        status,
        &DashboardPage {
            c: Chrome { title, ..c },
            query: f.query(),
            f,
            scopes,
            provinces: provinces()
                .iter()
                .map(|p| (p.code.clone(), p.name.clone()))
                .collect(),
            errors,
            figures: views,
            min_group: state.settings.stats_min_group,
            may_upload: caller.user.require(roles::POPULATIONS).is_ok(),
        },
    )?)
}

/// A figure's chart (`funnel.svg`) or download (`funnel.csv`, `funnel.xlsx`).
pub async fn file(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    name: web::Path<String>,
    f: web::Query<Filters>,
) -> PageResult {
    require_statistics(&caller)?;
    let (figure, ext) = name.rsplit_once('.').ok_or(AppError::NotFound)?;
    if !FIGURES.contains(&figure) {
        return Err(AppError::NotFound.into());
    }
    let t = table(&state, &caller, figure, &f, Lang::of(&req)).await?;
    let attachment = format!("attachment; filename=\"{figure}.{ext}\"");
    Ok(match ext {
        "svg" => HttpResponse::Ok()
            .content_type("image/svg+xml")
            .body(t.chart.ok_or(AppError::NotFound)?),
        "csv" => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Content-Disposition", attachment))
            .body(t.csv()),
        "xlsx" => HttpResponse::Ok()
            .content_type(crate::routes::stats::XLSX)
            .insert_header(("Content-Disposition", attachment))
            .body(t.xlsx().map_err(AppError::internal)?),
        _ => return Err(AppError::NotFound.into()),
    })
}

#[derive(Template)]
#[template(path = "console/populations.html")]
struct PopulationsPage {
    c: Chrome,
    text: String,
    preview: Vec<(String, String, i64)>,
    errors: Vec<(String, String)>,
    saved: Option<usize>,
}

pub async fn populations_form(req: HttpRequest, caller: Caller) -> PageResult {
    caller.user.require(roles::POPULATIONS)?;
    let c = Chrome::new(&req, &caller, "");
    let title =
        c.l.t("上传企业总数", "Upload enterprise populations")
            .to_owned();
    Ok(html(&PopulationsPage {
        c: Chrome { title, ..c },
        text: String::new(),
        preview: Vec::new(),
        errors: Vec::new(),
        saved: None,
    })?)
}

#[derive(Deserialize)]
pub struct PopulationsForm {
    #[serde(default)]
    text: String,
    #[serde(default)]
    action: String,
}

/// Previews the rows (each error named by its line), or saves them when asked to.
pub async fn populations(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    rid: RequestId,
    form: Form<PopulationsForm>,
) -> PageResult {
    caller.user.require(roles::POPULATIONS)?;
    let PopulationsForm { text, action } = form.0;
    let c = Chrome::new(&req, &caller, "");
    let title =
        c.l.t("上传企业总数", "Upload enterprise populations")
            .to_owned();
    let c = Chrome { title, ..c };
    let parsed = stats::parse_populations(&caller.user, &text);
    let (preview, errors) = match parsed {
        Ok(rows) => (rows, Vec::new()),
        Err(AppError::Validation(fields)) => (
            Vec::new(),
            fields.into_iter().map(|e| (e.field, e.message)).collect(),
        ),
        Err(e) => return Err(e.into()),
    };
    let mut saved = None;
    if errors.is_empty() && action == "save" {
        saved = Some(figures::upload_populations(&state, &caller.user, rid.0, &text).await?);
    }
    let status = super::status_for(errors.is_empty());
    Ok(page(
        status,
        &PopulationsPage {
            c,
            text,
            preview,
            errors,
            saved,
        },
    )?)
}
