-- One audit entry appended in one call: the chain's lock, the time, the head's read and the
-- entry's insert, where a writer sent the lock and the append as two statements. Called alone,
-- or inside the statement that makes the change it records (an answer save is one statement).
--
-- The time and the head are read after the lock is granted: the entries' times follow their
-- order in the chain, and the head includes the entry of the writer that held the lock before
-- (a VOLATILE function takes a fresh snapshot for each statement, at READ COMMITTED, which the
-- service's connections set). Entry n's hash is SHA-256(h_{n-1} ‖ before ‖ time ‖ after ‖ n ‖ '}'),
-- where `before` and `after` are the entry's canonical JSON around its time's value and up to
-- its sequence number, and the time is written as src/db/audit.rs writes it (`hashed_around`,
-- `timestamp`). The genesis hash and the lock's key are src/db/audit.rs's GENESIS and CHAIN_LOCK.
CREATE FUNCTION audit_append(
    p_actor_user_id BIGINT,
    p_action TEXT,
    p_entity_type TEXT,
    p_entity_id TEXT,
    p_enterprise_id BIGINT,
    p_request_id TEXT,
    p_details TEXT,
    p_details_digest TEXT,
    p_before_time TEXT,
    p_after_time TEXT
) RETURNS BIGINT AS $$
DECLARE
    head_seq BIGINT;
    head_hash TEXT;
    at TIMESTAMP;
BEGIN
    PERFORM pg_advisory_xact_lock(7271002);
    at := clock_timestamp() AT TIME ZONE 'UTC';
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
    VALUES (at, p_actor_user_id, p_action, p_entity_type, p_entity_id, p_enterprise_id,
            p_request_id, p_details, head_seq + 1, p_details_digest, head_hash,
            encode(sha256(convert_to(head_hash || p_before_time
                                     || to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                                     || p_after_time || (head_seq + 1)::text || '}',
                                     'UTF8')), 'hex'));
    RETURN head_seq + 1;
END;
$$ LANGUAGE plpgsql VOLATILE;
