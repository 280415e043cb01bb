-- Reports: one row per evaluation, including those with no messages (body is
-- NULL then). body holds the exact bytes returned to the client, which the
-- non-repudiation record will carry.
CREATE TABLE reports (
    id                 TEXT PRIMARY KEY,      -- lower-case UUID v4
    nino               TEXT NOT NULL,
    tax_year           TEXT NOT NULL,         -- "2025-26"
    calculation_id     TEXT NOT NULL,
    correlation_id     TEXT NOT NULL,         -- 64 upper-case hex characters
    rule_set_version   TEXT NOT NULL,
    language           TEXT NOT NULL,         -- "en" or "cy"
    messages           TEXT NOT NULL,         -- JSON array, each message with its ruleId
    rule_errors        TEXT NOT NULL,         -- JSON array of rules that failed at run time
    body               BYTEA,
    requested_by_group TEXT NOT NULL,         -- affinity group: Individual or Agent
    requested_by_nino  TEXT,
    requested_by_arn   TEXT,
    request_id         TEXT NOT NULL,         -- X-CorrelationId of the response
    created_at         TEXT NOT NULL          -- UTC, fixed-width RFC 3339
);
CREATE INDEX reports_calculation ON reports (nino, tax_year, calculation_id);

-- At most one acknowledgement per report: the first one.
CREATE TABLE acknowledgements (
    report_id       TEXT PRIMARY KEY REFERENCES reports (id),
    acknowledged_at TEXT NOT NULL,
    affinity_group  TEXT NOT NULL,
    nino            TEXT,
    arn             TEXT,
    request_id      TEXT NOT NULL
);

-- Sandbox identities (HMRC's Create Test User API).
CREATE TABLE individuals (
    nino             TEXT PRIMARY KEY,
    mtd_it_id        TEXT NOT NULL UNIQUE,
    mtd_enrolled     INTEGER NOT NULL,
    confidence_level INTEGER NOT NULL,
    created_at       TEXT NOT NULL
);

CREATE TABLE agents (
    arn        TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);

-- A client's authorisation of an agent: main or supporting.
CREATE TABLE agent_clients (
    arn          TEXT NOT NULL REFERENCES agents (arn),
    nino         TEXT NOT NULL,
    relationship TEXT NOT NULL CHECK (relationship IN ('main', 'supporting')),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (arn, nino)
);

-- Calculations loaded through the sandbox, as the Individual Calculations
-- API returns them.
CREATE TABLE calculations (
    nino           TEXT NOT NULL,
    tax_year       TEXT NOT NULL,
    calculation_id TEXT NOT NULL,
    body           BYTEA NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (nino, tax_year, calculation_id)
);

-- The key the sandbox signs its tokens with, made on first start.
CREATE TABLE signing_keys (
    id         TEXT PRIMARY KEY,
    jwk        TEXT NOT NULL,                 -- private key as a JSON Web Key
    created_at TEXT NOT NULL
);
