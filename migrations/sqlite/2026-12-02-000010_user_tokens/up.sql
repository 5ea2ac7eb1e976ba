-- User tokens that owners issue, list and revoke (and the admin CLI). A user token is a principal
-- of kind 'user' with one bearer token in api_tokens; its id is that principal's id, and its
-- expiry is the token's expires_at. This table holds what an owner sees of it: never the token.

CREATE TABLE user_tokens (
    principal_id TEXT NOT NULL PRIMARY KEY REFERENCES principals (id) ON DELETE CASCADE,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The principal that issued it; NULL for the admin CLI and the first start.
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);

CREATE INDEX user_tokens_team_id_principal_id_idx ON user_tokens (team_id, principal_id);

-- The user tokens made before this table existed become listable and revocable.
INSERT INTO user_tokens (principal_id, team_id, name, created_by, created_at, last_used_at)
SELECT principals.id, memberships.team_id, 'user token', NULL, principals.created_at, NULL
FROM principals
JOIN memberships ON memberships.principal_id = principals.id
WHERE principals.kind = 'user';

-- Expired access tokens are purged as new ones are issued.
CREATE INDEX api_tokens_expires_at_idx ON api_tokens (expires_at);
