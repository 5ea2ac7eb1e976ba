DROP TABLE use_grants;
ALTER TABLE credentials DROP COLUMN last_used_by;
ALTER TABLE credentials DROP COLUMN last_used_at;
