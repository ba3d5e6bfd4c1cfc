DROP TABLE certificate_events;
DROP TABLE certificates;
DROP TABLE verdicts;
DROP TABLE reviews;
