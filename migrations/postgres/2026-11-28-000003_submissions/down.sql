DROP TABLE evidence_links;
DROP TABLE evidence;
DROP TABLE answer_history;
DROP TABLE answers;
DROP TABLE idempotency_keys;
DROP TABLE submissions;
