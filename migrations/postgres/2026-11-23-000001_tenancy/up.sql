-- Teams, principals and how principals reach a team: roles, user tokens, service accounts.
-- Ids are UUID strings, timestamps naive UTC with microseconds (the types both backends share).

CREATE TABLE teams (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    label TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE principals (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('user', 'service_account')),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE memberships (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    PRIMARY KEY (team_id, principal_id)
);

CREATE INDEX memberships_principal_id_idx ON memberships (principal_id);

CREATE TABLE service_accounts (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL UNIQUE REFERENCES principals (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE INDEX service_accounts_team_id_id_idx ON service_accounts (team_id, id);

CREATE TABLE client_credentials (
    id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    service_account_id TEXT NOT NULL REFERENCES service_accounts (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);

CREATE INDEX client_credentials_service_account_id_id_idx
    ON client_credentials (service_account_id, id);

-- Bearer tokens, stored only as hashes. Tokens issued through a client credential die with it.
CREATE TABLE api_tokens (
    token_hash TEXT NOT NULL PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    client_credential_id TEXT REFERENCES client_credentials (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP
);

CREATE INDEX api_tokens_principal_id_idx ON api_tokens (principal_id);
CREATE INDEX api_tokens_client_credential_id_idx ON api_tokens (client_credential_id);
