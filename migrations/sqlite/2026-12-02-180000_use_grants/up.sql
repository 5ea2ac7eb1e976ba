-- Grants of use (SPEC §10): an owner grants a service account *use* of one credential, and a
-- service account holding it receives the credential's secrets. Each use sets the credential's
-- last use (server-owned state like health: both columns set, or both NULL; never written by a
-- PATCH, nor moving its version).

ALTER TABLE credentials ADD COLUMN last_used_at TIMESTAMP;
ALTER TABLE credentials ADD COLUMN last_used_by TEXT;

-- A grant goes with its credential, its service account and its team.
CREATE TABLE use_grants (
    id TEXT NOT NULL PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    service_account_id TEXT NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (credential_id, service_account_id)
);

-- The unique index lists a credential's grants; these list a service account's and a team's.
CREATE INDEX use_grants_service_account_id_id_idx ON use_grants (service_account_id, id);
CREATE INDEX use_grants_team_id_id_idx ON use_grants (team_id, id);
