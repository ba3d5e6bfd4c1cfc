//! The delivery worker. Every instance runs one: it leases due deliveries (on PostgreSQL with
//! `FOR UPDATE SKIP LOCKED`, so two instances never take the same one), sends each signed as
//! Standard Webhooks prescribe, and records the outcome. A failed attempt is retried with
//! doubling delays; one that keeps failing past the retry window is given up and its endpoint
//! disabled. A delivery leased by an instance that died is taken again when its lease runs out,
//! so an event may arrive twice but is never lost: receivers deduplicate on `webhook-id`.

use std::time::Duration;

use actix_web::web;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::db::webhooks::{self as db, Job};
use crate::db::{audit, now};
use crate::domain::webhook::{retry_delay, signature};
use crate::error::AppResult;
use crate::state::AppState;

use super::target::check_resolved;

/// Deliveries taken per round.
const BATCH: i64 = 16;

/// Starts the worker (unless `CSR_WEBHOOK_POLL_MS` is 0).
pub fn spawn(state: web::Data<AppState>) {
    let every = state.settings.webhook_poll_ms;
    if every == 0 {
        return;
    }
    actix_web::rt::spawn(async move {
        let mut timer = actix_web::rt::time::interval(Duration::from_millis(every));
        let mut last_scan = None::<std::time::Instant>;
        loop {
            timer.tick().await;
            if last_scan.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
                last_scan = Some(std::time::Instant::now());
                if let Err(e) = super::raise_expiring(&state).await {
                    tracing::warn!(error = %e, "webhooks: expiring certificates not raised");
                }
            }
            // Keep going while there is a full batch due.
            loop {
                match run_once(&state).await {
                    Ok(n) if n as i64 == BATCH => continue,
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "webhook deliveries failed");
                        break;
                    }
                }
            }
        }
    });
}

/// One round: leases the due deliveries, sends them, records what happened. Returns how many
/// were sent.
pub async fn run_once(state: &AppState) -> AppResult<usize> {
    let timeout = Duration::from_secs(state.settings.webhook_timeout_secs.max(1));
    // Held long enough for every send of the round to time out.
    let lease = chrono::Duration::from_std(timeout * 3).unwrap_or_default();
    let jobs = state
        .db
        .write(move |conn| {
            let at = now();
            db::claim(conn, at, at + lease, BATCH)
        })
        .await?;
    let n = jobs.len();
    let allowed = state.settings.webhook_allowed_hosts.clone();
    let sends = jobs.into_iter().map(|job| {
        let allowed = allowed.clone();
        async move {
            let attempt = web::block(move || {
                let result = send(&job, &allowed, timeout);
                (job, result)
            })
            .await;
            attempt.ok()
        }
    });
    for (job, result) in futures_util::future::join_all(sends)
        .await
        .into_iter()
        .flatten()
    {
        let base = Duration::from_millis(state.settings.webhook_retry_base_ms.max(1));
        let window = chrono::Duration::seconds(state.settings.webhook_retry_window_secs as i64);
        state
            .db
            .write(move |conn| record(conn, &job, result, base, window))
            .await?;
    }
    Ok(n)
}

/// What an attempt came to: the endpoint's status if it answered, or why it did not.
type Attempt = Result<u16, String>;

fn send(job: &Job, allowed: &[String], timeout: Duration) -> Attempt {
    let pinned = check_resolved(&job.url, allowed)?;
    let key = STANDARD
        .decode(&job.secret)
        .map_err(|_| "the endpoint's secret is unreadable".to_owned())?;
    let timestamp = chrono::Utc::now().timestamp();
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent("csr-assess-webhooks")
        .build();
    let connector = ureq::unversioned::transport::DefaultConnector::default();
    let agent = ureq::Agent::with_parts(config, connector, pinned);
    let response = agent
        .post(&job.url)
        .header("content-type", "application/json")
        .header("webhook-id", &job.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header(
            "webhook-signature",
            signature(&key, &job.message_id, timestamp, &job.payload),
        )
        .send(job.payload.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

fn record(
    conn: &mut crate::db::AnyConnection,
    job: &Job,
    result: Attempt,
    base: Duration,
    window: chrono::Duration,
) -> AppResult<()> {
    let (status, error) = match &result {
        Ok(s) => (Some(i32::from(*s)), None),
        Err(e) => (None, Some(e.chars().take(500).collect::<String>())),
    };
    let delivered = matches!(result, Ok(s) if (200..300).contains(&s));
    if delivered {
        return db::record_attempt(conn, job.delivery_id, status, None, true, None);
    }
    let error = error.or_else(|| status.map(|s| format!("the endpoint answered {s}")));
    let attempts = u32::try_from(job.attempts + 1).unwrap_or(u32::MAX);
    let at = now();
    let next = at + chrono::Duration::from_std(retry_delay(attempts, base)).unwrap_or_default();
    if next - job.event_created_at <= window {
        return db::record_attempt(
            conn,
            job.delivery_id,
            status,
            error.as_deref(),
            false,
            Some(next),
        );
    }
    // Failing for longer than the window: give up, and stop sending to the endpoint until its
    // owner enables it again.
    db::record_attempt(conn, job.delivery_id, status, error.as_deref(), false, None)?;
    let reason = format!(
        "deliveries failed for more than {} hours (last: {})",
        window.num_hours(),
        error.as_deref().unwrap_or("no answer")
    );
    db::set_disabled(conn, job.endpoint_id, Some(&reason))?;
    audit::append(
        conn,
        audit::Event {
            actor_user_id: None,
            action: "webhook.disabled",
            entity_type: "webhook",
            entity_id: job.endpoint_id.to_string(),
            enterprise_id: None,
            request_id: None,
            details: serde_json::json!({ "reason": reason, "delivery": job.delivery_id }),
        },
    )
}
