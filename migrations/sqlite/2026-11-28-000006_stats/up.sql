-- Enterprise populations uploaded by industry bodies, for adoption rates; indexes for the
-- statistics' grouping and joins.
CREATE TABLE stat_populations (
    industry TEXT NOT NULL,
    region TEXT NOT NULL,
    population BIGINT NOT NULL,
    uploaded_by BIGINT NOT NULL REFERENCES users (id),
    uploaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (industry, region)
);
CREATE INDEX submissions_enterprise_status ON submissions (enterprise_id, status);
CREATE INDEX certificates_level ON certificates (status, level);
