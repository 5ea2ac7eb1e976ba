-- Rows for pgbench/patch.sql: copies of one credential the HTTP run created, under ids that the
-- pgbench script can rebuild from a number (pgbench has no arrays; see DEPENDENCIES pitfall 15).
-- xtask replaces {source_id} and {rows}.
DELETE FROM credentials WHERE id LIKE '00000000-0000-7000-8000-%';
INSERT INTO credentials (id, team_id, provider, kind, name, description, account_name, status,
    extra_data, metadata, secret_fields, secret_key_id, secret_ciphertext, health_status,
    health_notes, health_checked_at, version, created_at, updated_at, created_by, modified_by)
SELECT '00000000-0000-7000-8000-' || lpad(n::text, 12, '0'), team_id, provider, kind, name,
    description, account_name, status, extra_data, metadata, secret_fields, secret_key_id,
    secret_ciphertext, health_status, health_notes, health_checked_at, version, created_at,
    updated_at, created_by, modified_by
FROM credentials, generate_series(1, {rows}) AS n
WHERE id = '{source_id}';
VACUUM ANALYZE credentials;
