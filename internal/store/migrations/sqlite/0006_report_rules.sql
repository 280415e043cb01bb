-- One row per rule that fired in a report (shown, or hidden by the cap),
-- written in the report's transaction: what the rule authors' dashboard
-- counts, and how it sees whether a later calculation still triggers a
-- rule. Reports stored before this table existed are not counted.
CREATE TABLE report_rules (
    report_id      TEXT NOT NULL REFERENCES reports (id),
    rule_id        TEXT NOT NULL,
    shown          INTEGER NOT NULL,  -- 1 shown to the customer, 0 hidden by the cap
    nino           TEXT NOT NULL,     -- to follow one taxpayer's calculations; never shown
    tax_year       TEXT NOT NULL,
    calculation_id TEXT NOT NULL,
    created_at     TEXT NOT NULL,     -- the report's
    evidence       TEXT NOT NULL,     -- JSON: the values behind the (first) message
    PRIMARY KEY (report_id, rule_id)
);
CREATE INDEX report_rules_rule ON report_rules (rule_id, created_at);
CREATE INDEX report_rules_created ON report_rules (created_at);
CREATE INDEX reports_created ON reports (created_at);
