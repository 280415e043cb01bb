-- In production an agent is known by the ARN in its token, not by a sandbox
-- agents row: an operator's authorisation (assist agents authorise) must not
-- need one. The sandbox still checks that the agent was created before
-- recording a client.
ALTER TABLE agent_clients DROP CONSTRAINT IF EXISTS agent_clients_arn_fkey;
-- assist agents list --nino
CREATE INDEX agent_clients_nino ON agent_clients (nino);
