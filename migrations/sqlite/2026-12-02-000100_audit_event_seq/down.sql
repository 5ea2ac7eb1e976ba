CREATE TABLE audit_events_without_seq (
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

INSERT INTO audit_events_without_seq (
    id, team_id, credential_id, action, actor_id, actor_kind, changed_fields, secrets,
    request_id, at
)
SELECT id, team_id, credential_id, action, actor_id, actor_kind, changed_fields, secrets,
    request_id, at
FROM audit_events;

DROP TABLE audit_events;

ALTER TABLE audit_events_without_seq RENAME TO audit_events;

CREATE INDEX audit_events_team_id_credential_id_id_idx
    ON audit_events (team_id, credential_id, id);
