-- Reviews (one row per claim), per-criterion verdicts, certificates and their status history.
CREATE TABLE reviews (
    id BIGSERIAL PRIMARY KEY,
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    reviewer_id BIGINT NOT NULL REFERENCES users (id),
    claimed_at TIMESTAMP NOT NULL,
    first_approver_id BIGINT REFERENCES users (id),
    first_approved_at TIMESTAMP,
    decision TEXT,
    decided_by BIGINT REFERENCES users (id),
    decided_at TIMESTAMP,
    comment TEXT,
    reviewed_total DOUBLE PRECISION,
    reviewed_level TEXT
);
-- At most one open review per submission, whatever the number of instances.
CREATE UNIQUE INDEX reviews_open ON reviews (submission_id) WHERE decision IS NULL;
CREATE INDEX reviews_submission ON reviews (submission_id, id);

CREATE TABLE verdicts (
    review_id BIGINT NOT NULL REFERENCES reviews (id),
    criterion_id TEXT NOT NULL,
    verdict TEXT NOT NULL,
    fraction DOUBLE PRECISION,
    reason TEXT,
    comment TEXT,
    reviewer_id BIGINT NOT NULL REFERENCES users (id),
    decided_at TIMESTAMP NOT NULL,
    PRIMARY KEY (review_id, criterion_id)
);

CREATE TABLE certificates (
    id BIGSERIAL PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    submission_id BIGINT NOT NULL UNIQUE REFERENCES submissions (id),
    level TEXT NOT NULL,
    schema_id TEXT NOT NULL,
    version TEXT NOT NULL,
    schema_hash TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    issued_on TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    signature TEXT NOT NULL,
    kid TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX certificates_enterprise ON certificates (enterprise_id, status);
CREATE INDEX certificates_status ON certificates (status, expires_on);

CREATE TABLE certificate_events (
    id BIGSERIAL PRIMARY KEY,
    certificate_id BIGINT NOT NULL REFERENCES certificates (id),
    action TEXT NOT NULL,
    reason TEXT,
    actor_id BIGINT REFERENCES users (id),
    at TIMESTAMP NOT NULL
);
CREATE INDEX certificate_events_certificate ON certificate_events (certificate_id, id);
