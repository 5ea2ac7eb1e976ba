DROP INDEX credentials_oauth_app_id_idx;
ALTER TABLE credentials DROP COLUMN oauth_app_id;
