DROP INDEX complaints_unacknowledged;
DROP TABLE complaint_firm_months;
DROP TABLE complaint_months;
