-- Submission creation keeps its Idempotency-Key responses in the store every creating request
-- uses (per user and operation); the keys it kept so far move there. A registration's key is
-- looked up by operation and key, before the user it belongs to is known.
INSERT INTO idempotent_requests
    (user_id, operation, key, request_hash, status, body, etag, location, created_at)
SELECT s.created_by, 'createSubmission', k.key, k.request_hash, 201, k.response,
       '"' || k.submission_id || '-1"', '/api/v1/submissions/' || k.submission_id, k.created_at
FROM idempotency_keys k
JOIN submissions s ON s.id = k.submission_id;

DROP TABLE idempotency_keys;

CREATE INDEX idempotent_requests_by_key ON idempotent_requests (operation, key);
