-- Theme scores and per-criterion results recorded when a self-assessment is submitted, so that
-- statistics aggregate them in the database instead of re-scoring every submission.
CREATE TABLE submission_theme_scores (
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    theme_id TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (submission_id, theme_id)
);
CREATE TABLE submission_criterion_results (
    submission_id BIGINT NOT NULL REFERENCES submissions (id),
    criterion_id TEXT NOT NULL,
    fraction DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (submission_id, criterion_id)
);
CREATE INDEX submissions_submitted ON submissions (enterprise_id, submitted_at);
