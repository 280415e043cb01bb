-- In production an agent is known by the ARN in its token, not by a sandbox
-- agents row: an operator's authorisation (assist agents authorise) must not
-- need one. SQLite cannot drop a constraint, so the table is rebuilt. The
-- sandbox still checks that the agent was created before recording a client.
CREATE TABLE agent_clients_new (
    arn          TEXT NOT NULL,
    nino         TEXT NOT NULL,
    relationship TEXT NOT NULL CHECK (relationship IN ('main', 'supporting')),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (arn, nino)
);
INSERT INTO agent_clients_new (arn, nino, relationship, created_at)
    SELECT arn, nino, relationship, created_at FROM agent_clients;
DROP TABLE agent_clients;
ALTER TABLE agent_clients_new RENAME TO agent_clients;
-- assist agents list --nino
CREATE INDEX agent_clients_nino ON agent_clients (nino);
