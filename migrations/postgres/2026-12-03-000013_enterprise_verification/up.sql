-- An enterprise is verified once a reviewer or an administrator has checked its business
-- licence (one of its evidence files) against its credit code; only then can it be certified.
ALTER TABLE enterprises ADD COLUMN verified_at TIMESTAMP;
ALTER TABLE enterprises ADD COLUMN verified_by BIGINT;
ALTER TABLE enterprises ADD COLUMN licence_evidence_id BIGINT;
