-- A reviewer's request for evidence and the enterprise's answer (a comment, alongside the
-- files it uploads for the criterion). Both stay with the criterion's later verdict, so the
-- round shows what was asked and answered.
ALTER TABLE verdicts ADD COLUMN request TEXT;
ALTER TABLE verdicts ADD COLUMN requested_at TIMESTAMP;
ALTER TABLE verdicts ADD COLUMN answer TEXT;
ALTER TABLE verdicts ADD COLUMN answered_by BIGINT;
ALTER TABLE verdicts ADD COLUMN answered_at TIMESTAMP;
