-- Web console sessions: a user signs in with a user token once, and the console keeps a random
-- session id in an HttpOnly cookie. Only the session id's SHA-256 is stored, so a copy of this
-- table lets nobody in. A session goes with its principal (revoking the user token deletes it)
-- and its team. The table, not memory, holds sessions so that every instance over one database
-- knows them.

CREATE TABLE console_sessions (
    id_hash TEXT NOT NULL PRIMARY KEY,
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    -- Moves on with use; a session idle for longer than the console's idle timeout is over.
    last_seen_at TIMESTAMP NOT NULL,
    -- The absolute end, never moved: the sign-in plus the console's session lifetime, or the
    -- user token's own expiry when that comes first.
    expires_at TIMESTAMP NOT NULL,
    -- The per-session token every state-changing form carries (CSRF).
    csrf_secret TEXT NOT NULL
);

-- Sign-out of every session of a principal, and the purge of ended sessions.
CREATE INDEX console_sessions_principal_id_idx ON console_sessions (principal_id);
CREATE INDEX console_sessions_expires_at_idx ON console_sessions (expires_at);
