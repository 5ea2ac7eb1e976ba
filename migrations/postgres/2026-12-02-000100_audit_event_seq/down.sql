CREATE INDEX audit_events_team_id_credential_id_id_idx
    ON audit_events (team_id, credential_id, id);

DROP INDEX audit_events_team_id_credential_id_seq_idx;

ALTER TABLE audit_events DROP COLUMN seq;
