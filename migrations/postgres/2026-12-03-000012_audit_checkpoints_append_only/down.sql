DROP TRIGGER audit_checkpoints_append_only ON audit_checkpoints;
DROP FUNCTION audit_checkpoints_append_only();
