-- Per criterion, how many enterprises' latest self-assessments scored it and how many of them
-- passed it (earned at least half of its weight), summed per industry and county, and per
-- industry over the whole country (region_code ''): the lowest pass rates of an industry read
-- one row per criterion (per county and criterion within a region) instead of every criterion
-- result of its enterprises. Changed by the difference each submission status change makes, in
-- the same transaction as latest_self_assessments.
CREATE TABLE latest_criterion_counts (
    industry_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    criterion_id TEXT NOT NULL,
    enterprises BIGINT NOT NULL,
    passed BIGINT NOT NULL,
    PRIMARY KEY (industry_code, region_code, criterion_id)
) WITHOUT ROWID;
INSERT INTO latest_criterion_counts (industry_code, region_code, criterion_id, enterprises, passed)
SELECT l.industry_code, l.region_code, r.criterion_id, COUNT(*),
       SUM(CASE WHEN r.fraction >= 0.5 THEN 1 ELSE 0 END)
FROM latest_self_assessments l JOIN submission_criterion_results r ON r.submission_id = l.submission_id
GROUP BY l.industry_code, l.region_code, r.criterion_id
UNION ALL
SELECT l.industry_code, '', r.criterion_id, COUNT(*),
       SUM(CASE WHEN r.fraction >= 0.5 THEN 1 ELSE 0 END)
FROM latest_self_assessments l JOIN submission_criterion_results r ON r.submission_id = l.submission_id
GROUP BY l.industry_code, r.criterion_id;

-- How many enterprises' latest self-assessments have each total score (theme_id '') and each
-- theme score, per industry. Scores have two decimals, so an industry holds a few thousand
-- distinct values where it has tens of thousands of enterprises: score distributions without a
-- region read these counts, and their quantiles are exactly those of the scores.
CREATE TABLE latest_score_counts (
    industry_code TEXT NOT NULL,
    theme_id TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    enterprises BIGINT NOT NULL,
    PRIMARY KEY (industry_code, theme_id, score)
) WITHOUT ROWID;
INSERT INTO latest_score_counts (industry_code, theme_id, score, enterprises)
SELECT industry_code, '', score_total, COUNT(*) FROM latest_self_assessments
WHERE score_total IS NOT NULL GROUP BY industry_code, score_total
UNION ALL
SELECT industry_code, theme_id, score, COUNT(*) FROM latest_theme_scores
GROUP BY industry_code, theme_id, score;

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
) WITHOUT ROWID;
INSERT INTO self_assessment_quarters
    (industry_code, enterprise_id, quarter, region_code, submissions, scored, score_sum)
SELECT e.industry_code, e.id, strftime('%Y', s.submitted_at) || 'Q' || ((CAST(strftime('%m', s.submitted_at) AS INTEGER) + 2) / 3), e.region_code, COUNT(*), COUNT(s.score_total),
       COALESCE(SUM(s.score_total), 0)
FROM submissions s JOIN enterprises e ON e.id = s.enterprise_id
WHERE s.status IN ('submitted', 'under_review', 'approved', 'returned', 'rejected')
  AND s.submitted_at IS NOT NULL
GROUP BY e.industry_code, e.id, strftime('%Y', s.submitted_at) || 'Q' || ((CAST(strftime('%m', s.submitted_at) AS INTEGER) + 2) / 3), e.region_code;
