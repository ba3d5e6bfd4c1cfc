-- Per criterion, how many enterprises' latest self-assessments scored it and how many of them
-- passed it (earned at least half of its weight), summed per industry and county: the lowest
-- pass rates of an industry read one row per county and criterion instead of every criterion
-- result of its enterprises. Changed by the difference each submission status change makes, in
-- the same transaction as latest_self_assessments.
CREATE TABLE latest_criterion_counts (
    industry_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    criterion_id TEXT NOT NULL,
    enterprises BIGINT NOT NULL,
    passed BIGINT NOT NULL,
    PRIMARY KEY (industry_code, region_code, criterion_id)
);
INSERT INTO latest_criterion_counts (industry_code, region_code, criterion_id, enterprises, passed)
SELECT l.industry_code, l.region_code, r.criterion_id, COUNT(*),
       SUM(CASE WHEN r.fraction >= 0.5 THEN 1 ELSE 0 END)
FROM latest_self_assessments l JOIN submission_criterion_results r ON r.submission_id = l.submission_id
GROUP BY l.industry_code, l.region_code, r.criterion_id;

-- Each enterprise's counted self-assessments per quarter of submission: how many, and the sum
-- of their scores. Quarterly trends of an industry read these rows (one per enterprise and
-- quarter) instead of every submission. Rewritten for the enterprise at each status change.
CREATE TABLE self_assessment_quarters (
    industry_code TEXT NOT NULL,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    quarter TEXT NOT NULL,
    region_code TEXT NOT NULL,
    submissions BIGINT NOT NULL,
    scored BIGINT NOT NULL,
    score_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (industry_code, enterprise_id, quarter)
);
INSERT INTO self_assessment_quarters
    (industry_code, enterprise_id, quarter, region_code, submissions, scored, score_sum)
SELECT e.industry_code, e.id, to_char(s.submitted_at, 'YYYY"Q"Q'), e.region_code, COUNT(*), COUNT(s.score_total),
       COALESCE(SUM(s.score_total), 0)
FROM submissions s JOIN enterprises e ON e.id = s.enterprise_id
WHERE s.status IN ('submitted', 'under_review', 'approved', 'returned', 'rejected')
  AND s.submitted_at IS NOT NULL
GROUP BY e.industry_code, e.id, to_char(s.submitted_at, 'YYYY"Q"Q'), e.region_code;
