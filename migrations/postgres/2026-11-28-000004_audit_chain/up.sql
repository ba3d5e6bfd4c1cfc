-- Tamper evidence: each entry carries a sequence number, a digest of its details and a hash
-- chaining it to the previous entry; entries cannot be changed or deleted once chained; signed
-- checkpoints record how long the log was.
ALTER TABLE audit_log
    ADD COLUMN seq BIGINT,
    ADD COLUMN details_digest TEXT,
    ADD COLUMN prev_hash TEXT,
    ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.hash IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE audit_checkpoints (
    id BIGSERIAL PRIMARY KEY,
    entries BIGINT NOT NULL,
    head_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    kid TEXT NOT NULL,
    signature TEXT NOT NULL
);
