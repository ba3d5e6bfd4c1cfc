//! The documents as workflows the API and the console share: a submission's report for those
//! who may see it, and any certificate by number for anyone. Rendering runs on the render
//! threads; a report waits for a free one at most briefly (503 with `Retry-After` otherwise).

use actix_web::web;

use super::{Lang, certificate, data, report};
use crate::auth::AuthUser;
use crate::db::certificates;
use crate::domain::certificate::parse;
use crate::error::{AppError, AppResult};
use crate::scope::load_visible;
use crate::state::AppState;

/// The self-assessment report of submission `id` as PDF.
pub async fn report_pdf(
    state: &AppState,
    user: AuthUser,
    id: i64,
    lang: Lang,
) -> AppResult<Vec<u8>> {
    let (schemas, min_group) = (state.schemas.clone(), state.settings.stats_min_group);
    let data = state
        .db
        .read(move |conn| {
            let s = load_visible(conn, &user, id)?;
            data::report_data(conn, &schemas, min_group, s)
        })
        .await?;
    let renderers = state.renderers.clone();
    web::block(move || renderers.run_bounded(move || report::render(&data, lang)))
        .await?
        .map_err(|_| AppError::Busy {
            retry_after_secs: 2,
        })?
        .ok_or_else(|| AppError::internal("the render threads are gone"))
}

/// The certificate `number` as a one-page PDF, with its number as stored.
pub async fn certificate_pdf(state: &AppState, number: &str) -> AppResult<(String, Vec<u8>)> {
    let number = parse(number).ok_or(AppError::NotFound)?;
    let c = state
        .db
        .read(move |conn| certificates::by_number(conn, &number))
        .await?
        .ok_or(AppError::NotFound)?;
    let data = data::certificate_data(state, &c)?;
    let renderers = state.renderers.clone();
    let bytes = web::block(move || renderers.run(move || certificate::render(&data)))
        .await?
        .ok_or_else(|| AppError::internal("the render threads are gone"))?;
    Ok((c.number, bytes))
}
