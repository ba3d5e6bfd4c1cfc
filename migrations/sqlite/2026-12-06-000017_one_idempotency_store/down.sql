DROP INDEX idempotent_requests_by_key;

CREATE TABLE idempotency_keys (
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    response TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (enterprise_id, key)
);
