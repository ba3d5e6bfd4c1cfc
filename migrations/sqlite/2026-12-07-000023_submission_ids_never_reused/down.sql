-- Back to ids without AUTOINCREMENT, the way up.sql rebuilt the table.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE submissions_rebuilt (
    id INTEGER PRIMARY KEY,
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
INSERT INTO submissions_rebuilt (id, enterprise_id, schema_id, version, schema_hash, industry_code, profile_id, status, revision, created_by, created_at, updated_at, submitted_at, score_total, score_level)
    SELECT id, enterprise_id, schema_id, version, schema_hash, industry_code, profile_id, status, revision, created_by, created_at, updated_at, submitted_at, score_total, score_level FROM submissions;
DROP TABLE submissions;
ALTER TABLE submissions_rebuilt RENAME TO submissions;
CREATE INDEX submissions_enterprise ON submissions (enterprise_id, id);
CREATE INDEX submissions_status ON submissions (status, submitted_at);
CREATE INDEX submissions_enterprise_status ON submissions (enterprise_id, status);
CREATE INDEX submissions_submitted ON submissions (enterprise_id, submitted_at);
COMMIT;
PRAGMA foreign_keys = ON;
