-- One audit entry appended in one call: the chain's lock, the head's read and the entry's insert,
-- where a writer sent the lock and the append as two statements. Called alone, or inside the
-- statement that makes the change it records (an answer save is one statement).
--
-- The head is read by a statement of its own after the lock is granted: a VOLATILE function
-- takes a fresh snapshot for each statement, so the head includes the entry of the writer that
-- held the lock before. Entry n's hash is SHA-256(h_{n-1} ‖ prefix ‖ n ‖ '}'), where `prefix` is
-- the entry's canonical JSON up to its sequence number (src/db/audit.rs, `hashed_before_seq`).
-- The lock's key is src/db/audit.rs's CHAIN_LOCK.
CREATE FUNCTION audit_append(
    p_occurred_at TIMESTAMP,
    p_actor_user_id BIGINT,
    p_action TEXT,
    p_entity_type TEXT,
    p_entity_id TEXT,
    p_enterprise_id BIGINT,
    p_request_id TEXT,
    p_details TEXT,
    p_details_digest TEXT,
    p_prefix TEXT
) RETURNS BIGINT AS $$
DECLARE
    head_seq BIGINT;
    head_hash TEXT;
BEGIN
    PERFORM pg_advisory_xact_lock(7271002);
    SELECT seq, hash INTO head_seq, head_hash
        FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1;
    IF head_seq IS NULL THEN
        head_seq := 0;
        head_hash := '0000000000000000000000000000000000000000000000000000000000000000';
    ELSIF head_hash IS NULL THEN
        RAISE EXCEPTION 'the audit chain''s head has a sequence number and no hash';
    END IF;
    INSERT INTO audit_log (occurred_at, actor_user_id, action, entity_type, entity_id,
                           enterprise_id, request_id, details, seq, details_digest, prev_hash,
                           hash)
    VALUES (p_occurred_at, p_actor_user_id, p_action, p_entity_type, p_entity_id,
            p_enterprise_id, p_request_id, p_details, head_seq + 1, p_details_digest, head_hash,
            encode(sha256(convert_to(head_hash || p_prefix || (head_seq + 1)::text || '}',
                                     'UTF8')), 'hex'));
    RETURN head_seq + 1;
END;
$$ LANGUAGE plpgsql VOLATILE;
