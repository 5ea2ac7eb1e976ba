-- Back to stored responses only; reservations and keyed fingerprints are dropped.
DROP TABLE idempotency_keys;

CREATE TABLE idempotency_keys (
    principal_id TEXT NOT NULL REFERENCES principals (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    headers TEXT NOT NULL,
    body BYTEA NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (principal_id, key)
);

CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);
