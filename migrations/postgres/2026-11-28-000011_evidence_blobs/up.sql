-- Evidence content, by SHA-256, when the evidence store is the database (the default on
-- PostgreSQL): every instance on the database then serves every file.
CREATE TABLE evidence_blobs (
    sha256 TEXT PRIMARY KEY,
    content BYTEA NOT NULL
);
