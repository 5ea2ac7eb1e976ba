-- OAuth apps (SPEC §11): a team's OAuth 2.0 client. The client secret is sealed like a
-- credential's secrets (AES-256-GCM under a master key, bound to the team and the app), so
-- `secret_ciphertext` holds no plaintext; `scopes` and `metadata` are JSON text.
CREATE TABLE oauth_apps (
    id TEXT NOT NULL PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    client_id TEXT NOT NULL,
    secret_key_id TEXT NOT NULL,
    secret_ciphertext BLOB NOT NULL,
    token_url TEXT NOT NULL,
    authorize_url TEXT NOT NULL,
    scopes TEXT NOT NULL,
    metadata TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A team's apps, in id order (the list's cursor).
CREATE INDEX oauth_apps_team_id_id_idx ON oauth_apps (team_id, id);
