-- The theme scores of each enterprise's latest self-assessment, stored in industry order beside
-- the enterprise's codes, so that an industry's score distribution is one range read. Kept in
-- step with latest_self_assessments, in the same transactions.
CREATE TABLE latest_theme_scores (
    industry_code TEXT NOT NULL,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    theme_id TEXT NOT NULL,
    region_code TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (industry_code, enterprise_id, theme_id)
);
INSERT INTO latest_theme_scores (industry_code, enterprise_id, theme_id, region_code, score)
SELECT l.industry_code, l.enterprise_id, t.theme_id, l.region_code, t.score
FROM latest_self_assessments l JOIN submission_theme_scores t ON t.submission_id = l.submission_id;
