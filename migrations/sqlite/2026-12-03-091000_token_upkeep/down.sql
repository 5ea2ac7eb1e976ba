DROP INDEX credentials_upkeep_due_at_idx;
ALTER TABLE credentials DROP COLUMN health_check_interval_seconds;
ALTER TABLE credentials DROP COLUMN token_refreshed_at;
ALTER TABLE credentials DROP COLUMN upkeep_lease_holder;
ALTER TABLE credentials DROP COLUMN upkeep_lease_until;
ALTER TABLE credentials DROP COLUMN upkeep_failures;
ALTER TABLE credentials DROP COLUMN upkeep_due_at;
