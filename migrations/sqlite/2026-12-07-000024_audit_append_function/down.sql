-- Nothing to change on SQLite: its write transactions already serialise appends, and an entry
-- costs no round trip (PostgreSQL's migration of the same name adds the append function).
SELECT 1;
