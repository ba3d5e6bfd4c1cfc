-- Self-assessment submissions, their answers (with history) and evidence files.
CREATE TABLE submissions (
    id BIGSERIAL PRIMARY KEY,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    schema_id TEXT NOT NULL,
    version TEXT NOT NULL,
    schema_hash TEXT NOT NULL,
    industry_code TEXT NOT NULL,
    profile_id TEXT,
    status TEXT NOT NULL,
    revision BIGINT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    submitted_at TIMESTAMP,
    score_total DOUBLE PRECISION,
    score_level TEXT
);
CREATE INDEX submissions_enterprise ON submissions (enterprise_id, id);
CREATE INDEX submissions_status ON submissions (status, submitted_at);

-- Replays of POST /submissions with the same Idempotency-Key return the first response.
CREATE TABLE idempotency_keys (
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    response TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (enterprise_id, key)
);

CREATE TABLE answers (
    id BIGSERIAL PRIMARY KEY,
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    criterion_id TEXT NOT NULL,
    value TEXT NOT NULL,
    not_applicable_reason TEXT,
    comment TEXT,
    updated_by BIGINT NOT NULL REFERENCES users (id),
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (submission_id, criterion_id)
);

CREATE TABLE answer_history (
    id BIGSERIAL PRIMARY KEY,
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    criterion_id TEXT NOT NULL,
    change TEXT NOT NULL,
    value TEXT,
    not_applicable_reason TEXT,
    comment TEXT,
    schema_version TEXT NOT NULL,
    changed_by BIGINT NOT NULL REFERENCES users (id),
    changed_at TIMESTAMP NOT NULL
);
CREATE INDEX answer_history_submission ON answer_history (submission_id, id);

CREATE TABLE evidence (
    id BIGSERIAL PRIMARY KEY,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX evidence_submission ON evidence (submission_id);
CREATE INDEX evidence_enterprise ON evidence (enterprise_id);
CREATE INDEX evidence_sha ON evidence (sha256);

CREATE TABLE evidence_links (
    evidence_id BIGINT NOT NULL REFERENCES evidence (id) ON DELETE CASCADE,
    criterion_id TEXT NOT NULL,
    PRIMARY KEY (evidence_id, criterion_id)
);
