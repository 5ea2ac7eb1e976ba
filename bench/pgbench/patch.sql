-- The database's own rate for a credvault PATCH: lock the row, update it, append the audit event,
-- commit. Run with -D rows=1 (one hot row) or -D rows=1000 (spread). xtask replaces {team_id}.
-- The id is rebuilt from :n so the script works in every -M mode (no psql :'var' quoting here).
\set n random(1, :rows)
\set m random(1, 2000000000)
BEGIN;
SELECT * FROM credentials
    WHERE id = '00000000-0000-7000-8000-' || lpad(:n::text, 12, '0') AND team_id = '{team_id}'
    FOR UPDATE;
UPDATE credentials
    SET metadata = metadata, version = version + 1, updated_at = LOCALTIMESTAMP,
        modified_by = modified_by
    WHERE id = '00000000-0000-7000-8000-' || lpad(:n::text, 12, '0') AND team_id = '{team_id}';
INSERT INTO audit_events (id, team_id, credential_id, action, actor_id, actor_kind,
        changed_fields, secrets, request_id, at)
    VALUES (gen_random_uuid()::text, '{team_id}',
        '00000000-0000-7000-8000-' || lpad(:n::text, 12, '0'), 'updated',
        '00000000-0000-7000-8000-000000000000', 'user', '["metadata.n"]', '{}',
        '00000000-0000-7000-8000-' || lpad(:m::text, 12, '0'), LOCALTIMESTAMP);
COMMIT;
