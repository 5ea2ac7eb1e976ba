-- Upkeep of stored OAuth tokens (refresh before expiry) and scheduled health checks of connectable
-- credentials: server-owned state beside the credential, never moving its version, and the
-- client's health-check interval.
--
-- upkeep_due_at: when the upkeep worker should next look at the credential; NULL when nothing is
-- scheduled (neither an OAuth kind nor one with a health-check interval, or parked after a
-- refusal that retrying cannot fix, until a client writes the credential again). A client's write
-- of an OAuth credential or of one with an interval sets it to the write's instant and
-- upkeep_failures to 0.
-- upkeep_failures: consecutive failed refreshes (backoff and the status change after repeated
-- failures count them).
-- upkeep_lease_until / upkeep_lease_holder: a claim on the credential's refresh, by one request or
-- worker of one instance, so that a refresh token is redeemed once; both NULL when unclaimed.
-- token_refreshed_at: the last successful refresh.
-- health_check_interval_seconds: the client's; how often the worker runs the credential's
-- connection test (connectable kinds only, 60 to 604800); NULL for no scheduled checks.

ALTER TABLE credentials ADD COLUMN upkeep_due_at TIMESTAMP;
ALTER TABLE credentials ADD COLUMN upkeep_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE credentials ADD COLUMN upkeep_lease_until TIMESTAMP;
ALTER TABLE credentials ADD COLUMN upkeep_lease_holder TEXT;
ALTER TABLE credentials ADD COLUMN token_refreshed_at TIMESTAMP;
ALTER TABLE credentials ADD COLUMN health_check_interval_seconds INTEGER;

-- Existing OAuth credentials are looked at once; the worker then schedules them.
UPDATE credentials SET upkeep_due_at = updated_at
    WHERE kind IN ('oauth2', 'google_oauth', 'sharepoint_oauth');

CREATE INDEX credentials_upkeep_due_at_idx ON credentials (upkeep_due_at)
    WHERE upkeep_due_at IS NOT NULL;
