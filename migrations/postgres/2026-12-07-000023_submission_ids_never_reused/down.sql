-- Nothing to change on PostgreSQL: `submissions.id` is a BIGSERIAL, whose sequence never gives a
-- number twice (SQLite's table is rebuilt with AUTOINCREMENT by the migration of the same name).
SELECT 1;
