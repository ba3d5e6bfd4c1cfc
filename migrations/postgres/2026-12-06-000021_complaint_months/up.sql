-- Complaint figures kept per industry, region and month of receipt, changed in the same
-- transaction as the complaint, so that statistics over a year read a few thousand rows
-- instead of every complaint. A complaint's industry, region and receipt date never change, so
-- each complaint counts in one row; a step of the workflow adds what it changes.
CREATE TABLE complaint_months (
    industry_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    -- The first day of the month the complaints were received in.
    month DATE NOT NULL,
    received BIGINT NOT NULL,
    acknowledged BIGINT NOT NULL,
    -- Acknowledged on or before the deadline.
    on_time BIGINT NOT NULL,
    -- Answered by the consumer (accepted or rejected), and of those accepted.
    answered BIGINT NOT NULL,
    reconciled BIGINT NOT NULL,
    closed BIGINT NOT NULL,
    -- Calendar days from receipt to closing, summed over the closed ones.
    close_days BIGINT NOT NULL,
    PRIMARY KEY (industry_code, month, region_code)
);

-- Which enterprises received a complaint in a month: how many enterprises had complaints in a
-- period is not a sum of monthly figures.
CREATE TABLE complaint_firm_months (
    industry_code TEXT NOT NULL,
    month DATE NOT NULL,
    region_code TEXT NOT NULL,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    PRIMARY KEY (industry_code, month, region_code, enterprise_id)
);

-- Unacknowledged complaints count as due once their deadline has passed, which depends on the
-- day of the request: they are counted from the complaints themselves, through this index.
CREATE INDEX complaints_unacknowledged
    ON complaints (industry_code, received_on, acknowledge_due, region_code)
    WHERE acknowledged_on IS NULL;

INSERT INTO complaint_months
SELECT industry_code, region_code, CAST(date_trunc('month', received_on) AS DATE), COUNT(*),
       SUM(CASE WHEN acknowledged_on IS NOT NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN acknowledged_on <= acknowledge_due THEN 1 ELSE 0 END),
       SUM(CASE WHEN outcome IS NOT NULL OR state IN ('reconciled', 'not_reconciled') THEN 1 ELSE 0 END),
       SUM(CASE WHEN outcome = 'reconciled' OR state = 'reconciled' THEN 1 ELSE 0 END),
       SUM(CASE WHEN closed_on IS NOT NULL THEN 1 ELSE 0 END),
       COALESCE(SUM(closed_on - received_on), 0)
FROM complaints
GROUP BY industry_code, region_code, CAST(date_trunc('month', received_on) AS DATE);

INSERT INTO complaint_firm_months
SELECT DISTINCT industry_code, CAST(date_trunc('month', received_on) AS DATE), region_code, enterprise_id FROM complaints;
