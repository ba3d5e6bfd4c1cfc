-- Whether an enterprise holds an active, unexpired certificate is answered from one index
-- entry: (enterprise, status, expiry). It replaces the (enterprise, status) index, its prefix;
-- with the expiry in it, SQLite prefers it to the (status, expiry) index even without
-- statistics, instead of scanning every active certificate for each enterprise.
CREATE INDEX IF NOT EXISTS certificates_holding ON certificates (enterprise_id, status, expires_on);
DROP INDEX IF EXISTS certificates_enterprise;
