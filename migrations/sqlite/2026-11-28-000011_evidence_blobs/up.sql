-- Evidence content, by SHA-256, when the evidence store is the database (CSR_EVIDENCE_STORE=
-- database): every instance on the database then serves every file.
CREATE TABLE evidence_blobs (
    sha256 TEXT PRIMARY KEY NOT NULL,
    content BLOB NOT NULL
);
