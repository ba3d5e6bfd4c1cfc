-- Complaint reconciliation (协商和解): enterprises enrolled as liaison units, complaints
-- forwarded to them with deadlines in working days, and group-complaint incidents.
-- The consumer's contact and the complaint's own words are stored only sealed (AES-256-GCM,
-- key from configuration) in `complaints.personal`, erased after the retention period.

-- An enterprise's enrolment as a reconciliation liaison unit (投诉和解联络单位): its complaint
-- desk and the deadlines it commits to, approved by association staff.
CREATE TABLE liaison_units (
    enterprise_id BIGINT PRIMARY KEY REFERENCES enterprises (id),
    -- pending, approved or withdrawn.
    status TEXT NOT NULL,
    -- The enterprise's complaint desk (a business contact, not a consumer's).
    contact_name TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    contact_email TEXT NOT NULL,
    hours TEXT NOT NULL,
    -- Working days to acknowledge a complaint and to make a proposal after acknowledging.
    acknowledge_days INTEGER NOT NULL,
    proposal_days INTEGER NOT NULL,
    requested_by BIGINT NOT NULL REFERENCES users (id),
    requested_at TIMESTAMP NOT NULL,
    decided_by BIGINT REFERENCES users (id),
    decided_at TIMESTAMP
);

-- Many complaints against one enterprise on one issue within a short period.
CREATE TABLE complaint_incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    category TEXT NOT NULL,
    -- open, remediation_reported or closed.
    state TEXT NOT NULL,
    opened_at TIMESTAMP NOT NULL,
    remediation TEXT,
    remediation_at TIMESTAMP,
    closed_by BIGINT REFERENCES users (id),
    closed_at TIMESTAMP
);
-- At most one incident not closed per enterprise and issue, also with parallel intakes.
CREATE UNIQUE INDEX complaint_incidents_one_open
    ON complaint_incidents (enterprise_id, category) WHERE state <> 'closed';

-- What statistics and deadlines need, narrow so that counting millions stays fast; how the
-- complaint is being handled, and the sealed personal data, are in `complaint_cases`.
CREATE TABLE complaints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- Public reference (TS…), also the associated data the personal data is sealed with.
    reference TEXT NOT NULL UNIQUE,
    enterprise_id BIGINT NOT NULL REFERENCES enterprises (id),
    -- The enterprise's industry and region at intake: statistics and staff scopes use them.
    industry_code TEXT NOT NULL,
    region_code TEXT NOT NULL,
    category TEXT NOT NULL,
    channel TEXT NOT NULL,
    -- In fen (0.01 yuan).
    amount_fen BIGINT,
    received_on DATE NOT NULL,
    -- forwarded, acknowledged, proposed, reconciled, not_reconciled or closed.
    state TEXT NOT NULL,
    -- How a closed complaint ended (reconciled or not_reconciled).
    outcome TEXT,
    acknowledge_due DATE NOT NULL,
    acknowledged_on DATE,
    proposal_due DATE,
    closed_on DATE,
    incident_id BIGINT REFERENCES complaint_incidents (id)
);
CREATE INDEX complaints_by_enterprise ON complaints (enterprise_id, received_on);
CREATE INDEX complaints_by_industry ON complaints (industry_code, received_on);
CREATE INDEX complaints_by_region ON complaints (region_code, id);
CREATE INDEX complaints_due ON complaints (state, acknowledge_due);
CREATE INDEX complaints_proposal_due ON complaints (state, proposal_due);
CREATE INDEX complaints_closed ON complaints (state, closed_on);

CREATE TABLE complaint_cases (
    complaint_id BIGINT PRIMARY KEY REFERENCES complaints (id),
    -- Sealed JSON {contact, description}; NULL once erased.
    personal TEXT,
    proposal TEXT,
    proposed_on DATE,
    -- Why the consumer rejected the proposal (the complaint goes to mediation).
    rejection_reason TEXT,
    -- A closed complaint may be reopened until then.
    reopen_until DATE,
    reopened INTEGER NOT NULL,
    -- The stage whose reminder was sent (acknowledge or proposal), and the stage that overran.
    reminded_stage TEXT,
    escalated_stage TEXT,
    escalated_at TIMESTAMP,
    recorded_by BIGINT NOT NULL REFERENCES users (id),
    -- The association staff member on the case.
    officer_id BIGINT REFERENCES users (id),
    -- The partner platform's own number for it; one complaint per platform and number.
    external_ref TEXT,
    erased_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX complaint_cases_external ON complaint_cases (recorded_by, external_ref);

-- The deadlines in force for a complaint, fixed at intake: an enterprise that changes or
-- withdraws its liaison enrolment afterwards does not change what it owes on complaints
-- already forwarded.
CREATE TABLE complaint_terms (
    complaint_id BIGINT PRIMARY KEY REFERENCES complaints (id),
    acknowledge_days INTEGER NOT NULL,
    proposal_days INTEGER NOT NULL
);
