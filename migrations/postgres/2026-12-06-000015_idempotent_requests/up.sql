-- Responses kept for requests made with an Idempotency-Key (evidence uploads, approvals): a
-- retry with the same key and the same request gets the same response, and changes nothing.
-- Keys are the caller's own: one user's key never replays another user's response.
CREATE TABLE idempotent_requests (
    user_id BIGINT NOT NULL REFERENCES users (id),
    operation TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    etag TEXT,
    location TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, operation, key)
);
