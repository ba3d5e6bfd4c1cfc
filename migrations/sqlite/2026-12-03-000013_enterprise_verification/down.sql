ALTER TABLE enterprises DROP COLUMN licence_evidence_id;
ALTER TABLE enterprises DROP COLUMN verified_by;
ALTER TABLE enterprises DROP COLUMN verified_at;
