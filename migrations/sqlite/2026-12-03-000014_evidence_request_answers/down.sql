ALTER TABLE verdicts DROP COLUMN answered_at;
ALTER TABLE verdicts DROP COLUMN answered_by;
ALTER TABLE verdicts DROP COLUMN answer;
ALTER TABLE verdicts DROP COLUMN requested_at;
ALTER TABLE verdicts DROP COLUMN request;
