DROP INDEX certificates_level;
DROP INDEX submissions_enterprise_status;
DROP TABLE stat_populations;
