-- Each enterprise's latest self-assessment that counts for the statistics (submitted or later,
-- not withdrawn), with the enterprise's codes copied beside it, so that per-industry figures read
-- one row per enterprise instead of finding the latest of all its submissions on every request.
-- Kept in step in the transaction of every submission status change.
CREATE TABLE latest_self_assessments (
    enterprise_id BIGINT PRIMARY KEY REFERENCES enterprises (id),
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    industry_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    score_total DOUBLE PRECISION
);
CREATE INDEX latest_self_assessments_industry ON latest_self_assessments (industry_code);
CREATE INDEX latest_self_assessments_region ON latest_self_assessments (region_code);
INSERT INTO latest_self_assessments (enterprise_id, submission_id, industry_code, region_code, score_total)
SELECT e.id, s.id, e.industry_code, e.region_code, s.score_total
FROM submissions s JOIN enterprises e ON e.id = s.enterprise_id
WHERE s.id IN (
    SELECT MAX(id) FROM submissions
    WHERE status IN ('submitted', 'under_review', 'approved', 'returned', 'rejected')
    GROUP BY enterprise_id
);
