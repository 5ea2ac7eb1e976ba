-- Idempotency records become reservations: a request claims its key (state 'in_progress')
-- before it runs, and its response is stored in the transaction of its write ('completed').
-- Fingerprints are now keyed (HMAC-SHA256 under a key derived from a master key) and name that
-- key. Records in flight are dropped rather than converted: they answer retries for 24 hours
-- only, and their unkeyed SHA-256 fingerprints of request bodies must not stay in the database.
DROP TABLE idempotency_keys;

CREATE TABLE idempotency_keys (
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    fingerprint_key_id TEXT NOT NULL,
    -- Random id of the request holding the reservation; only it may complete or release it.
    claim TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
    status INTEGER,
    headers TEXT,
    body BYTEA,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (principal_id, key),
    CHECK ((state = 'completed') = (status IS NOT NULL AND headers IS NOT NULL AND body IS NOT NULL))
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
