//! Webhooks (Standard Webhooks 1.0): enterprises and industry bodies register endpoints for
//! event types; events are written to an outbox in the transaction that made them, and a
//! delivery worker in every instance sends them (see [`delivery`]).
//!
//! Enterprise endpoints hear their enterprise's events. Industry bodies' endpoints hear only
//! the certificate events — what the public verification page shows anyway — of enterprises in
//! their industry scopes.

pub mod delivery;
mod target;

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AuthUser, roles};
use crate::db::webhooks::{self as db, Endpoint, NewEndpoint};
use crate::db::{AnyConnection, audit, now};
use crate::domain::Role;
use crate::domain::webhook::{DeliveryState, EventType, secret_text};
use crate::error::{AppError, AppResult, FieldError};
use crate::idempotency::{self, Keyed, Made, Outcome};
use crate::state::AppState;
use crate::views::{Page, paged, utc};

pub use target::check_url;

/// An endpoint to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://` (or `http://` to a host the operator allows in `CSR_WEBHOOK_ALLOWED_HOSTS`).
    pub url: String,
    /// The events to send; industry bodies may subscribe to certificate events only.
    pub event_types: Vec<EventType>,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<EventType>,
    /// The enterprise whose events it hears; `null` for an industry body's endpoint.
    pub enterprise_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    /// Set when deliveries kept failing (or by hand); `POST …/enable` resumes them.
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
}

/// A registered endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_…`: verify each request's `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    pub event_type: String,
    /// The `webhook-id` header: the same on every attempt and redelivery of one event.
    pub message_id: String,
    pub state: DeliveryState,
    pub attempts: i32,
    /// The endpoint's last HTTP status, if it answered.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When a pending delivery is tried next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

fn view(e: &Endpoint) -> WebhookView {
    WebhookView {
        id: e.id,
        url: e.url.clone(),
        description: e.description.clone(),
        event_types: serde_json::from_str::<Vec<String>>(&e.event_types)
            .unwrap_or_default()
            .iter()
            .filter_map(|t| EventType::parse(t))
            .collect(),
        enterprise_id: e.enterprise_id,
        created_at: utc(e.created_at),
        disabled_at: e.disabled_at.map(utc),
        disabled_reason: e.disabled_reason.clone(),
    }
}

fn delivery_view((d, event_type, message_id): (db::Delivery, String, String)) -> DeliveryView {
    DeliveryView {
        id: d.id,
        event_type,
        message_id,
        next_attempt_at: (DeliveryState::parse(&d.state) == DeliveryState::Pending)
            .then(|| utc(d.next_attempt_at)),
        state: DeliveryState::parse(&d.state),
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error,
        last_attempt_at: d.last_attempt_at.map(utc),
        delivered_at: d.delivered_at.map(utc),
        created_at: utc(d.created_at),
    }
}

fn record(
    conn: &mut AnyConnection,
    user: &AuthUser,
    request_id: &str,
    e: &Endpoint,
    action: &str,
    details: serde_json::Value,
) -> AppResult<()> {
    audit::append(
        conn,
        audit::Event {
            actor_user_id: Some(user.id),
            action,
            entity_type: "webhook",
            entity_id: e.id.to_string(),
            enterprise_id: e.enterprise_id,
            request_id: Some(request_id),
            details,
        },
    )
}

/// Registers an endpoint: an enterprise's administrator for the enterprise's events, an
/// industry body for certificate events in its scopes. The secret is returned once (and again
/// to a retry with the same idempotency key).
pub async fn register(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    input: NewWebhook,
    key: Option<String>,
) -> AppResult<Outcome<Made<CreatedWebhook>>> {
    user.require(roles::WEBHOOK_OWNERS)?;
    let mut errors = Vec::new();
    if let Err(e) = check_url(&input.url, &state.settings.webhook_allowed_hosts) {
        errors.push(FieldError::new("url", e));
    }
    if input.event_types.is_empty() {
        errors.push(FieldError::new(
            "event_types",
            "name at least one event type",
        ));
    }
    if user.role == Role::IndustryBody {
        for (i, t) in input.event_types.iter().enumerate() {
            if !t.is_public() {
                errors.push(FieldError::new(
                    format!("event_types[{i}]"),
                    "industry bodies receive certificate events only",
                ));
            }
        }
    }
    let description = input
        .description
        .as_deref()
        .map(|d| crate::domain::text::name(d, 200))
        .transpose()
        .map_err(|e| AppError::validation("description", e))?;
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let enterprise_id = match user.role {
        Role::EnterpriseAdmin => Some(
            user.enterprise_id
                .filter(|e| user.belongs_to(*e))
                .ok_or_else(|| AppError::Forbidden("no enterprise of yours".into()))?,
        ),
        _ => None,
    };
    let mut types: Vec<&str> = input.event_types.iter().map(|t| t.as_str()).collect();
    types.sort_unstable();
    types.dedup();
    let request = serde_json::json!({
        "url": input.url, "event_types": types, "description": description,
    });
    let keyed = Keyed::new(user.id, "createWebhook", key, &request);
    let event_types = serde_json::to_string(&types).map_err(AppError::internal)?;
    let secret_key: [u8; 32] = crate::auth::random_bytes();
    let secret = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, secret_key);
    let url = input.url.clone();
    idempotency::write(state, keyed, move |conn| {
        let id = db::insert_endpoint(
            conn,
            &NewEndpoint {
                owner_id: user.id,
                enterprise_id,
                url: &url,
                description: description.as_deref(),
                event_types: &event_types,
                secret: &secret,
                created_at: now(),
            },
        )?;
        let e = db::endpoint(conn, id)?.ok_or(AppError::NotFound)?;
        record(
            conn,
            &user,
            &request_id,
            &e,
            "webhook.created",
            serde_json::json!({ "url": e.url, "event_types": types }),
        )?;
        let created = CreatedWebhook {
            webhook: view(&e),
            secret: secret_text(&secret_key),
        };
        Ok(Made::created(created, location(e.id)))
    })
    .await
}

/// Where endpoint `id` is read.
pub fn location(id: i64) -> String {
    format!("/api/v1/webhooks/{id}")
}

/// The endpoint if the caller may see it: its owner, the administrators of its enterprise, and
/// the service's administrators; 404 for everyone else.
fn visible(conn: &mut AnyConnection, user: &AuthUser, id: i64) -> AppResult<Endpoint> {
    let e = db::endpoint(conn, id)?.ok_or(AppError::NotFound)?;
    let may = e.owner_id == user.id
        || user.role == Role::Admin
        || (user.role == Role::EnterpriseAdmin
            && e.enterprise_id.is_some_and(|ent| user.belongs_to(ent)));
    if may { Ok(e) } else { Err(AppError::NotFound) }
}

/// The caller's endpoints (administrators: everyone's).
pub async fn list(
    state: &AppState,
    user: AuthUser,
    after: i64,
    limit: i64,
) -> AppResult<Page<WebhookView>> {
    user.require(roles::WEBHOOK_READERS)?;
    let rows = state
        .db
        .read(move |conn| {
            let owner = (user.role != Role::Admin).then_some(user.id);
            // An enterprise's administrators see all of its endpoints.
            let enterprise = user
                .enterprise_id
                .filter(|e| user.role == Role::EnterpriseAdmin && user.belongs_to(*e));
            db::endpoints(conn, owner, enterprise, after, limit + 1)
        })
        .await?;
    let (rows, next_cursor) = paged(rows, limit, |e| e.id.to_string());
    Ok(Page {
        items: rows.iter().map(view).collect(),
        next_cursor,
    })
}

pub async fn get(state: &AppState, user: AuthUser, id: i64) -> AppResult<WebhookView> {
    user.require(roles::WEBHOOK_READERS)?;
    let e = state.db.read(move |conn| visible(conn, &user, id)).await?;
    Ok(view(&e))
}

/// Deletes an endpoint: nothing more is sent to it.
pub async fn delete(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
) -> AppResult<()> {
    user.require(roles::WEBHOOK_READERS)?;
    state
        .db
        .write(move |conn| {
            let e = visible(conn, &user, id)?;
            db::delete_endpoint(conn, id)?;
            record(
                conn,
                &user,
                &request_id,
                &e,
                "webhook.deleted",
                serde_json::json!({}),
            )
        })
        .await
}

/// Enables a disabled endpoint: its pending deliveries resume.
pub async fn enable(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
) -> AppResult<WebhookView> {
    user.require(roles::WEBHOOK_READERS)?;
    let e = state
        .db
        .write(move |conn| {
            let e = visible(conn, &user, id)?;
            db::set_disabled(conn, id, None)?;
            record(
                conn,
                &user,
                &request_id,
                &e,
                "webhook.enabled",
                serde_json::json!({}),
            )?;
            db::endpoint(conn, id)?.ok_or(AppError::NotFound)
        })
        .await?;
    Ok(view(&e))
}

/// The delivery log of an endpoint, oldest first.
pub async fn deliveries(
    state: &AppState,
    user: AuthUser,
    id: i64,
    after: i64,
    limit: i64,
) -> AppResult<Page<DeliveryView>> {
    user.require(roles::WEBHOOK_READERS)?;
    let rows = state
        .db
        .read(move |conn| {
            visible(conn, &user, id)?;
            db::deliveries(conn, id, after, limit + 1)
        })
        .await?;
    let (rows, next_cursor) = paged(rows, limit, |(d, ..)| d.id.to_string());
    Ok(Page {
        items: rows.into_iter().map(delivery_view).collect(),
        next_cursor,
    })
}

/// Sends an event again (a new delivery of the same message, due now), whatever became of the
/// earlier one.
pub async fn redeliver(
    state: &AppState,
    user: AuthUser,
    request_id: String,
    id: i64,
    delivery_id: i64,
) -> AppResult<DeliveryView> {
    user.require(roles::WEBHOOK_READERS)?;
    state
        .db
        .write(move |conn| {
            let e = visible(conn, &user, id)?;
            let d = db::delivery(conn, delivery_id)?
                .filter(|d| d.endpoint_id == id)
                .ok_or(AppError::NotFound)?;
            let new = db::insert_delivery(conn, d.event_id, id)?;
            record(
                conn,
                &user,
                &request_id,
                &e,
                "webhook.redelivered",
                serde_json::json!({ "delivery": delivery_id, "new_delivery": new }),
            )?;
            db::deliveries(conn, id, new - 1, 1)?
                .into_iter()
                .next()
                .map(delivery_view)
                .ok_or(AppError::NotFound)
        })
        .await
}

/// A certificate event: what the public verification page shows.
pub fn certificate_event(
    kind: EventType,
    c: &crate::db::certificates::Certificate,
    industry_code: &str,
    reason: Option<&str>,
) -> Event {
    let summary = crate::views::CertificateSummary::from(c);
    Event {
        kind,
        enterprise_id: c.enterprise_id,
        industry_code: industry_code.to_owned(),
        data: serde_json::json!({
            "certificate": summary,
            "reason": reason,
        }),
        dedupe_key: (kind == EventType::CertificateExpiring)
            .then(|| format!("certificate.expiring:{}:{}", c.number, c.expires_on)),
    }
}

/// A submission event: its id, status and what the reviewer said.
pub fn submission_event(
    kind: EventType,
    s: &crate::db::submissions::Submission,
    extra: serde_json::Value,
) -> Event {
    let mut data = serde_json::json!({
        "submission_id": s.id,
        "enterprise_id": s.enterprise_id,
        "schema_id": s.schema_id,
        "version": s.version,
    });
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    Event {
        kind,
        enterprise_id: s.enterprise_id,
        industry_code: s.industry_code.clone(),
        data,
        dedupe_key: None,
    }
}

/// Raises `certificate.expiring` once for every active certificate that expires within 30
/// days (the worker calls this hourly).
pub async fn raise_expiring(state: &AppState) -> AppResult<()> {
    state
        .db
        .write(|conn| {
            let today = Utc::now().date_naive();
            let until = today + chrono::Duration::days(30);
            for (c, industry) in crate::db::certificates::expiring(conn, today, until)? {
                emit(
                    conn,
                    certificate_event(EventType::CertificateExpiring, &c, &industry, None),
                )?;
            }
            Ok(())
        })
        .await
}

/// An event, as a workflow raises it inside its own transaction.
pub struct Event {
    pub kind: EventType,
    pub enterprise_id: i64,
    pub industry_code: String,
    pub data: serde_json::Value,
    /// Events raised once per subject carry a key; a second with the same key is not made.
    pub dedupe_key: Option<String>,
}

/// Writes the event to the outbox with one delivery per endpoint that listens, in the caller's
/// transaction: it is sent if and only if what it reports is committed.
pub fn emit(conn: &mut AnyConnection, event: Event) -> AppResult<()> {
    emit_all(conn, vec![event])
}

/// [`emit`] for several events of one change, in order, reading the endpoints of each
/// enterprise once.
pub fn emit_all(conn: &mut AnyConnection, events: Vec<Event>) -> AppResult<()> {
    let mut endpoints: HashMap<i64, Vec<(Endpoint, Option<String>)>> = HashMap::new();
    for event in events {
        let of_enterprise = match endpoints.entry(event.enterprise_id) {
            Entry::Occupied(known) => known.into_mut(),
            Entry::Vacant(slot) => slot.insert(db::listeners(conn, event.enterprise_id)?),
        };
        let listeners = listening(of_enterprise, &event);
        outbox(conn, event, listeners)?;
    }
    Ok(())
}

/// The endpoints among `endpoints` (an enterprise's, with their owners' industry scopes) that
/// take `event`.
fn listening(endpoints: &[(Endpoint, Option<String>)], event: &Event) -> Vec<i64> {
    endpoints
        .iter()
        .filter(|(e, scopes)| {
            let subscribed = serde_json::from_str::<Vec<String>>(&e.event_types)
                .unwrap_or_default()
                .iter()
                .any(|t| t == event.kind.as_str());
            let in_scope = match e.enterprise_id {
                Some(_) => true,
                None => {
                    event.kind.is_public()
                        && scopes.as_deref().unwrap_or_default().split(',').any(|p| {
                            !p.trim().is_empty() && event.industry_code.starts_with(p.trim())
                        })
                }
            };
            subscribed && in_scope
        })
        .map(|(e, _)| e.id)
        .collect()
}

/// Writes `event` to the outbox with a delivery to each of `listeners`, unless none listens or
/// an event with its key was raised before.
fn outbox(conn: &mut AnyConnection, event: Event, listeners: Vec<i64>) -> AppResult<()> {
    if listeners.is_empty() {
        return Ok(());
    }
    if let Some(key) = &event.dedupe_key
        && db::raised(conn, key)?
    {
        return Ok(());
    }
    let message_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
    let payload = serde_json::json!({
        "type": event.kind.as_str(),
        "timestamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": event.data,
    })
    .to_string();
    let id = db::insert_event(
        conn,
        &db::NewEvent {
            message_id: &message_id,
            event_type: event.kind.as_str(),
            enterprise_id: event.enterprise_id,
            industry_code: &event.industry_code,
            payload: &payload,
            dedupe_key: event.dedupe_key.as_deref(),
            created_at: now(),
        },
    )?;
    for endpoint in listeners {
        db::insert_delivery(conn, id, endpoint)?;
    }
    Ok(())
}
