DROP TABLE evidence_blobs;
