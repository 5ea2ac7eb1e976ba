-- Integration credentials, their audit trail and stored responses for Idempotency-Key.
-- JSON lives in TEXT columns; the secrets of a credential are one ciphertext beside its key id.

CREATE TABLE credentials (
    id TEXT NOT NULL PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    account_name TEXT,
    status TEXT NOT NULL,
    extra_data TEXT NOT NULL,
    metadata TEXT NOT NULL,
    secret_fields TEXT NOT NULL,
    secret_key_id TEXT,
    secret_ciphertext BLOB,
    health_status TEXT NOT NULL,
    health_notes TEXT NOT NULL,
    health_checked_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL,
    modified_by TEXT NOT NULL
);

CREATE INDEX credentials_team_id_id_idx ON credentials (team_id, id);

-- No foreign key to credentials: events outlive the credential they describe.
CREATE TABLE audit_events (
    id TEXT NOT NULL PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    action TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    changed_fields TEXT NOT NULL,
    secrets TEXT NOT NULL,
    request_id TEXT NOT NULL,
    at TIMESTAMP NOT NULL
);

CREATE INDEX audit_events_team_id_credential_id_id_idx
    ON audit_events (team_id, credential_id, id);

CREATE TABLE idempotency_keys (
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (principal_id, key)
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
