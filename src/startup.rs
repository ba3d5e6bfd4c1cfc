//! Building and running the HTTP server: shared state, middleware, routes and error shaping.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::{App, HttpServer, ResponseError, web};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

use crate::auth::access::{Access, RouteTable};
use crate::auth::jwt::{JwtKeys, KeyFile};
use crate::auth::password::Hasher;
use crate::config::Settings;
use crate::db::Db;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::openapi::ApiDoc;
use crate::state::AppState;
use crate::{problem, routes};

impl AppState {
    /// Opens the database (applying migrations), loads or creates the signing keys.
    pub async fn init(settings: Settings) -> Result<Self, String> {
        settings.validate()?;
        let db = Db::open(
            &settings.database_url(),
            settings.db_pool_size,
            settings.db_timeout(),
        )?;
        crate::schemas::sync_shipped(&db).await?;
        let keys = KeyFile::of(&settings)?;
        let jwt = JwtKeys::new(&keys, &settings)?;
        let signing = crate::auth::signing::ServiceKeys::new(&keys)?;
        let hasher = Hasher::new(&settings)?;
        let evidence = crate::evidence::EvidenceStore::open(&settings, &db)?;
        let api = openapi();
        let personal = crate::complaints::seal::Sealer::of(&settings)?;
        personal.check_against(&db).await?;
        let settings_calendar = settings.calendar_file.clone();
        Ok(Self {
            settings,
            db,
            jwt,
            signing: std::sync::Arc::new(signing),
            hasher,
            metrics: Metrics::default(),
            openapi_json: api.to_pretty_json().map_err(|e| e.to_string())?,
            schemas: Default::default(),
            evidence,
            renderers: std::sync::Arc::new(crate::workers::Workers::start("render", 10)),
            disclosure: Default::default(),
            calendar: std::sync::Arc::new(calendar(&settings_calendar)?),
            personal: std::sync::Arc::new(personal),
        })
    }
}

/// The working-day calendar: the operator's file, or the one shipped. Warns when today is
/// outside the years it covers (deadlines then skip weekends only).
fn calendar(
    file: &Option<std::path::PathBuf>,
) -> Result<crate::domain::calendar::Calendar, String> {
    use crate::domain::calendar::Calendar;
    let c = match file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Calendar::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Calendar::shipped(),
    };
    let today = crate::complaints::today();
    if !c.covers(today) {
        tracing::warn!(
            covers_to = %c.covers.1,
            "the working-day calendar does not cover today: complaint deadlines skip weekends only; set CSR_CALENDAR_FILE to a calendar with this year's holidays"
        );
    }
    Ok(c)
}

/// The OpenAPI document of every registered route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    let mut api = api;
    utoipa::Modify::modify(&crate::openapi::ProblemDefault, &mut api);
    api
}

/// A running server and the port it listens on.
pub struct Application {
    pub port: u16,
    pub server: Server,
    pub state: web::Data<AppState>,
    /// The port of the metrics listener (`CSR_METRICS_BIND`), already running, if any.
    pub metrics_port: Option<u16>,
}

impl Application {
    /// Binds `settings.bind` (port 0 picks a free port) and builds the server without running it.
    pub fn build(state: AppState) -> Result<Self, String> {
        let listener = TcpListener::bind(&state.settings.bind)
            .map_err(|e| format!("cannot listen on {}: {e}", state.settings.bind))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let workers = state.settings.workers;
        let state = web::Data::new(state);
        let data = state.clone();
        let mut beside = vec![(routes::DOCS_PATTERN, "GET", Access::Public)];
        beside.extend_from_slice(crate::console::ROUTES);
        let route_table = web::Data::new(RouteTable::from_openapi(&openapi(), &beside));
        let mut server = HttpServer::new(move || {
            let json_limit = data.settings.json_limit_bytes;
            let (app, _) = App::new()
                .into_utoipa_app()
                .openapi(ApiDoc::openapi())
                .app_data(data.clone())
                .app_data(route_table.clone())
                .app_data(web::PayloadConfig::new(json_limit))
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()),
                )
                .configure(routes::configure)
                .split_for_parts();
            app.service(
                SwaggerUi::new(routes::DOCS_PATTERN).config(SwaggerConfig::from("/openapi.json")),
            )
            .configure(crate::console::configure)
            .default_service(web::to(problem::fallback))
            .wrap(from_fn(crate::auth::access::authorize))
            .wrap(from_fn(crate::hardening::body_deadline))
            .wrap(from_fn(problem::refuse_nul_parameters))
            .wrap(ErrorHandlers::new().default_handler(problem::bare_errors))
            .wrap(from_fn(problem::server_error_ids))
            .wrap(from_fn(crate::telemetry::observe))
            .wrap(from_fn(crate::hardening::security_headers))
        })
        .listen(listener)
        .map_err(|e| e.to_string())?
        .shutdown_timeout(30);
        if let Some(n) = workers {
            server = server.workers(n.max(1));
        }
        crate::webhooks::delivery::spawn(state.clone());
        crate::idempotency::spawn_pruning(state.clone());
        crate::complaints::spawn_sweep(state.clone());
        let metrics_port = match &state.settings.metrics_bind {
            Some(bind) => Some(metrics_listener(bind, state.clone())?),
            None => None,
        };
        Ok(Self {
            port,
            server: server.run(),
            state,
            metrics_port,
        })
    }
}

/// Starts the metrics listener: `GET /metrics` and nothing else, one worker.
fn metrics_listener(bind: &str, state: web::Data<AppState>) -> Result<u16, String> {
    let listener =
        TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind} for metrics: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/metrics", web::get().to(routes::health::internal_metrics))
            .default_service(web::to(|| async {
                ResponseError::error_response(&AppError::NotFound)
            }))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .map_err(|e| e.to_string())?
    .run();
    actix_web::rt::spawn(server);
    Ok(port)
}
