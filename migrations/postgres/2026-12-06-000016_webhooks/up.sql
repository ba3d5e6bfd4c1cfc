-- Webhooks (Standard Webhooks): endpoints registered by enterprises and industry bodies, an
-- outbox of events written in the transaction that made them, and one delivery per event and
-- endpoint, retried with backoff and leased by one instance at a time.
CREATE TABLE webhook_endpoints (
    id BIGSERIAL PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users (id),
    -- Enterprise endpoints receive their enterprise's events; industry bodies' endpoints (no
    -- enterprise) the certificate events within the owner's industry scopes.
    enterprise_id BIGINT REFERENCES enterprises (id),
    url TEXT NOT NULL,
    description TEXT,
    -- A JSON array of event types.
    event_types TEXT NOT NULL,
    -- The signing key (32 random bytes, base64); sent to the owner once, as whsec_….
    secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    disabled_at TIMESTAMP,
    disabled_reason TEXT,
    deleted_at TIMESTAMP
);
CREATE INDEX webhook_endpoints_enterprise ON webhook_endpoints (enterprise_id);

CREATE TABLE webhook_events (
    id BIGSERIAL PRIMARY KEY,
    -- msg_… : the webhook-id header, the same on every attempt.
    message_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    industry_code TEXT NOT NULL,
    -- The body sent: {"type", "timestamp", "data"}.
    payload TEXT NOT NULL,
    -- Set for events raised once per subject (a certificate expiring): a second is not made.
    dedupe_key TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    event_id BIGINT NOT NULL REFERENCES webhook_events (id),
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id),
    -- pending, delivered or failed.
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    -- The instance sending it holds it until then; a crashed instance's lease runs out.
    leased_until TIMESTAMP,
    last_status INTEGER,
    last_error TEXT,
    last_attempt_at TIMESTAMP,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
