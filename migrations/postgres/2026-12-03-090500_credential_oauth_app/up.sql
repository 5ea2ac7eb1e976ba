-- A credential of an OAuth kind may be issued through an OAuth app of its team (SPEC §11). No
-- cascade: an app that credentials reference cannot be deleted (the store counts them first, in
-- the delete's transaction, and this key refuses a delete that races a new link). The app is
-- of the credential's team; the use cases check it, as every query is scoped by team.
ALTER TABLE credentials ADD COLUMN oauth_app_id TEXT REFERENCES oauth_apps (id);

-- The credentials of an app: the count of a refused delete, and the key's own check.
CREATE INDEX credentials_oauth_app_id_idx ON credentials (oauth_app_id);
