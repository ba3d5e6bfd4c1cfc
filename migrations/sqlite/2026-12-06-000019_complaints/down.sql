DROP TABLE complaint_terms;
DROP TABLE complaint_cases;
DROP TABLE complaints;
DROP TABLE complaint_incidents;
DROP TABLE liaison_units;
