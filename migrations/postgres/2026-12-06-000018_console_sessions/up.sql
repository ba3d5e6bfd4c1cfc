-- Browser sessions of the web console: the cookie carries a random token, stored here only as
-- its SHA-256. A session ends when revoked (logout, the user's own revocation, a password change,
-- disabling), after CSR_CONSOLE_IDLE_SECS without a request, or at its absolute expiry.
CREATE TABLE console_sessions (
    id BIGSERIAL PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    -- The synchroniser token every state-changing form of the session carries.
    csrf_token TEXT NOT NULL,
    client TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
