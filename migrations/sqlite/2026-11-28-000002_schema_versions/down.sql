DROP TABLE schema_versions;
