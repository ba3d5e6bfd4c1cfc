-- A submission's id is never given twice. Without AUTOINCREMENT SQLite numbers a new row one
-- above the highest id present, so discarding the newest draft handed its id to the next
-- submission created, possibly another enterprise's, and the discarded draft's audit entries
-- then named it. The table is rebuilt with AUTOINCREMENT the way SQLite documents a table
-- change: copied, dropped, renamed; the tables referring to `submissions` name it, so they refer
-- to the rebuilt one. Foreign keys are off meanwhile (SQLite ignores the setting inside a
-- transaction, hence `run_in_transaction = false` and a transaction of its own), so that the drop
-- neither checks nor touches the rows referring to the table.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE submissions_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
-- Drafts discarded before this migration may have had ids above the highest one left; the audit
-- log still names them, so numbering goes on above every submission it names.
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'submissions', 0
    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'submissions');
UPDATE sqlite_sequence
    SET seq = MAX(seq, (SELECT COALESCE(MAX(CAST(entity_id AS INTEGER)), 0)
                        FROM audit_log
                        WHERE entity_type = 'submission'
                          -- Ids as the service writes them: digits, short of SQLite's limit (an
                          -- entry written by hand with a huge number would stop all numbering).
                          AND entity_id NOT GLOB '*[^0-9]*'
                          AND length(entity_id) BETWEEN 1 AND 18))
    WHERE name = 'submissions';
COMMIT;
PRAGMA foreign_keys = ON;
