-- Assessment schema versions: shipped ones and those added through the API.
CREATE TABLE schema_versions (
    id BIGSERIAL PRIMARY KEY,
    schema_id TEXT NOT NULL,
    version TEXT NOT NULL,
    status TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    document TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    predecessor TEXT,
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    published_at TIMESTAMP,
    retired_at TIMESTAMP,
    UNIQUE (schema_id, version)
);
