ALTER TABLE latest_theme_scores DROP CONSTRAINT latest_theme_scores_pkey,
    ADD PRIMARY KEY (industry_code, enterprise_id, theme_id);
CREATE INDEX certificates_enterprise ON certificates (enterprise_id, status);
DROP INDEX certificates_holding;
