-- Pending OAuth connects (SPEC §11): the authorization-code flow with PKCE of one credential,
-- between its start and the provider's redirect back to the callback. Only the SHA-256 of the
-- single-use `state` is stored, so a copy of this table cannot complete a connect; the PKCE
-- code verifier is sealed under a master key (bound to the team and the credential, under a
-- context of its own), so it is never readable from the database. A row is taken (deleted) by
-- its one callback; one that outlived `expires_at` no longer completes and is purged by later
-- starts. It goes with its credential, its principal and its team.

CREATE TABLE oauth_connect_states (
    state_hash TEXT NOT NULL PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    -- Who started it: the callback writes the tokens as this principal.
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    verifier_key_id TEXT NOT NULL,
    verifier_ciphertext BLOB NOT NULL,
    -- The redirect URI of the authorization request, sent again with the code.
    redirect_uri TEXT NOT NULL,
    -- Where the callback sends the browser: `api` (a small result page) or `console`.
    return_to TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- The purge of expired states, and the delete of a credential's or a principal's.
CREATE INDEX oauth_connect_states_expires_at_idx ON oauth_connect_states (expires_at);
CREATE INDEX oauth_connect_states_credential_id_idx ON oauth_connect_states (credential_id);
CREATE INDEX oauth_connect_states_principal_id_idx ON oauth_connect_states (principal_id);
