-- Audit events get a sequence that the database assigns as each one is written: the order they
-- are listed and paged in. SQLite has one writer at a time, so the rowid (max + 1 on insert) is
-- the commit order. A rowid column cannot be added to a table, so the table is rebuilt, with
-- the existing events numbered in their old (id) order.

CREATE TABLE audit_events_with_seq (
    seq INTEGER NOT NULL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
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

INSERT INTO audit_events_with_seq (
    id, team_id, credential_id, action, actor_id, actor_kind, changed_fields, secrets,
    request_id, at
)
SELECT id, team_id, credential_id, action, actor_id, actor_kind, changed_fields, secrets,
    request_id, at
FROM audit_events
ORDER BY id;

DROP TABLE audit_events;

ALTER TABLE audit_events_with_seq RENAME TO audit_events;

CREATE UNIQUE INDEX audit_events_team_id_credential_id_seq_idx
    ON audit_events (team_id, credential_id, seq);
