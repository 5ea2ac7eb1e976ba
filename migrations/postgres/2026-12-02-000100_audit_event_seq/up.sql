-- Audit events get a sequence that the database assigns as each one is written: the order they
-- are listed and paged in. Existing events are numbered in their old (id) order first.
-- Sequence values are handed out before commit, so across credentials they are not the commit
-- order; within one credential they are, because every event of a credential is written under
-- that credential's row lock (see docs/API-DESIGN.md, Pagination).

ALTER TABLE audit_events ADD COLUMN seq BIGINT;

UPDATE audit_events
SET seq = ordered.n
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_events) AS ordered
WHERE audit_events.id = ordered.id;

ALTER TABLE audit_events ALTER COLUMN seq SET NOT NULL;

ALTER TABLE audit_events ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY;

SELECT setval(
    pg_get_serial_sequence('audit_events', 'seq'),
    (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events),
    false
);

CREATE UNIQUE INDEX audit_events_team_id_credential_id_seq_idx
    ON audit_events (team_id, credential_id, seq);

DROP INDEX audit_events_team_id_credential_id_id_idx;
