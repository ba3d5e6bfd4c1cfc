-- Whether an enterprise holds an active, unexpired certificate is answered from one index
-- entry: (enterprise, status, expiry). It replaces the (enterprise, status) index, its prefix;
-- with the expiry in it, SQLite prefers it to the (status, expiry) index even without
-- statistics, instead of scanning every active certificate for each enterprise.
CREATE INDEX IF NOT EXISTS certificates_holding ON certificates (enterprise_id, status, expires_on);
DROP INDEX IF EXISTS certificates_enterprise;
-- The theme scores of an industry are read by an index-only scan: the scores ride in the
-- primary key's leaf entries.
ALTER TABLE latest_theme_scores DROP CONSTRAINT latest_theme_scores_pkey,
    ADD PRIMARY KEY (industry_code, enterprise_id, theme_id) INCLUDE (region_code, score);
