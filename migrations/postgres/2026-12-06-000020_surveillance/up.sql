-- Surveillance reviews: a certified enterprise whose complaint handling crossed a threshold of
-- its certificate's schema version (or had a red-line complaint, or an open group-complaint
-- incident) is reviewed by the association, which confirms, suspends or revokes the
-- certificate.
CREATE TABLE surveillance_reviews (
    id BIGSERIAL PRIMARY KEY,
    certificate_id BIGINT NOT NULL REFERENCES certificates (id),
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    -- open or decided.
    state TEXT NOT NULL,
    -- JSON array of what crossed which threshold, with the figures.
    triggers TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    -- confirmed, suspended or revoked.
    outcome TEXT,
    reason TEXT,
    decided_by BIGINT REFERENCES users (id),
    decided_at TIMESTAMP
);
-- Exactly one open review per certificate, also with several instances.
CREATE UNIQUE INDEX surveillance_reviews_one_open
    ON surveillance_reviews (certificate_id) WHERE state = 'open';
CREATE INDEX surveillance_reviews_by_enterprise ON surveillance_reviews (enterprise_id);

-- Renewal self-assessments opened ahead of a certificate's expiry, with the complaint figures
-- measured while it was valid.
CREATE TABLE renewals (
    certificate_id BIGINT PRIMARY KEY REFERENCES certificates (id),
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    -- JSON: the quarterly complaint measures of the certificate's last year.
    complaint_figures TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL
);
