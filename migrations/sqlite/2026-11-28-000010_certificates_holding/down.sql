CREATE INDEX certificates_enterprise ON certificates (enterprise_id, status);
DROP INDEX certificates_holding;
