//! The statistics as workflows the API and the console share: each figure for a validated
//! [`Selection`] within the caller's scope, read in one snapshot together with the disclosure
//! pattern, so that what is shown and what is suppressed describe the same enterprises.

use crate::auth::{AuthUser, roles};
use crate::certification::today;
use crate::db::{AnyConnection, audit};
use crate::domain::disclosure::Pattern;
use crate::error::AppResult;
use crate::state::AppState;

use super::{
    Distribution, Funnel, LevelRow, PassRates, Selection, TrendRow, distribution, funnel, levels,
    parse_populations, pass_rates, save_populations, trends,
};

/// Runs `figure` in one snapshot with the disclosure pattern of the enterprises it sees.
async fn figure<T: Send + 'static>(
    state: &AppState,
    user: &AuthUser,
    figure: impl FnOnce(&mut AnyConnection, &Pattern) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    user.require(roles::STATISTICS)?;
    let (cache, k) = (state.disclosure.clone(), state.settings.stats_min_group);
    state
        .db
        .snapshot(move |conn| {
            let pattern = cache.pattern(conn, k)?;
            figure(conn, &pattern)
        })
        .await
}

/// The adoption funnel.
pub async fn adoption(state: &AppState, user: &AuthUser, sel: Selection) -> AppResult<Funnel> {
    figure(state, user, move |conn, p| funnel(conn, &sel, p, today())).await
}

/// Active certificates by level.
pub async fn certificate_levels(
    state: &AppState,
    user: &AuthUser,
    sel: Selection,
) -> AppResult<Vec<LevelRow>> {
    figure(state, user, move |conn, p| levels(conn, &sel, p, today())).await
}

/// Complaints received and how they were handled.
pub async fn complaints(
    state: &AppState,
    user: &AuthUser,
    sel: Selection,
) -> AppResult<super::ComplaintFigures> {
    let today = crate::complaints::today();
    figure(state, user, move |conn, p| {
        super::complaint_figures(conn, &sel, p, today)
    })
    .await
}

/// The distribution of the latest self-assessed scores.
pub async fn scores(state: &AppState, user: &AuthUser, sel: Selection) -> AppResult<Distribution> {
    figure(state, user, move |conn, p| distribution(conn, &sel, p)).await
}

/// The ten criteria with the lowest pass rates.
pub async fn weakest_criteria(
    state: &AppState,
    user: &AuthUser,
    sel: Selection,
) -> AppResult<PassRates> {
    figure(state, user, move |conn, p| pass_rates(conn, &sel, p, 10)).await
}

/// Quarterly trends.
pub async fn quarterly(
    state: &AppState,
    user: &AuthUser,
    sel: Selection,
) -> AppResult<Vec<TrendRow>> {
    figure(state, user, move |conn, p| trends(conn, &sel, p)).await
}

/// Replaces the enterprise populations of the caller's scope with the rows of `csv`
/// (`industry,region,count`); returns how many were saved.
pub async fn upload_populations(
    state: &AppState,
    user: &AuthUser,
    request_id: String,
    csv: &str,
) -> AppResult<usize> {
    user.require(roles::POPULATIONS)?;
    let rows = parse_populations(user, csv)?;
    let n = rows.len();
    let actor = user.id;
    state
        .db
        .write(move |conn| {
            save_populations(conn, actor, &rows)?;
            audit::append(
                conn,
                audit::Event {
                    actor_user_id: Some(actor),
                    action: "stats.populations_uploaded",
                    entity_type: "stat_populations",
                    entity_id: actor.to_string(),
                    enterprise_id: None,
                    request_id: Some(&request_id),
                    details: serde_json::json!({ "rows": rows.len() }),
                },
            )
        })
        .await?;
    Ok(n)
}
