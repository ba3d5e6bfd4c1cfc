-- Tamper evidence: each entry carries a sequence number, a digest of its details and a hash
-- chaining it to the previous entry; entries cannot be changed or deleted once chained; signed
-- checkpoints record how long the log was.
ALTER TABLE audit_log ADD COLUMN seq BIGINT;
ALTER TABLE audit_log ADD COLUMN details_digest TEXT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
WHEN OLD.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TABLE audit_checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entries BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    kid TEXT NOT NULL,
    signature TEXT NOT NULL
);
