-- What each report's request showed to the fraud prevention checks: the
-- assessment the rules read, as JSON; NULL for reports made before.
ALTER TABLE reports ADD COLUMN fraud TEXT;

-- The latest request each caller made to each endpoint with each connection
-- method, for validation feedback: one row per (owner, endpoint,
-- connection_method), overwritten, so a caller's traffic cannot grow it.
CREATE TABLE fraud_requests (
    owner             TEXT NOT NULL, -- the application's client id, else the token's subject
    endpoint          TEXT NOT NULL, -- produce or acknowledge
    connection_method TEXT NOT NULL, -- '' when none (or no known one) was sent
    subject           TEXT NOT NULL, -- the user, to see a device id change
    method            TEXT NOT NULL,
    path              TEXT NOT NULL,
    received_at       TEXT NOT NULL, -- UTC, fixed-width RFC 3339
    headers           TEXT NOT NULL, -- JSON object: lower-case Gov-* name -> value as sent
    device_id         TEXT NOT NULL, -- Gov-Client-Device-ID when a UUID, else ''
    PRIMARY KEY (owner, endpoint, connection_method)
);
CREATE INDEX fraud_requests_subject ON fraud_requests (subject, received_at);
