//! The names [`crate::StoreError::Conflict`] reports, the same on both backends.
//!
//! Callers may compare with these to word a `409` more precisely; every conflict is a conflict
//! whatever its name. A constraint not listed here is reported by its backend's own name.

/// Another team already has this label.
pub const TEAM_LABEL: &str = "teams.label";
/// Another client credential already has this client id.
pub const CLIENT_ID: &str = "client_credentials.client_id";
/// A token with this hash is already stored.
pub const TOKEN_HASH: &str = "api_tokens.token_hash";
/// The principal already has a record (a claim or a response) for this `Idempotency-Key`; also
/// reported when a write was to complete a claim that is no longer held.
pub const IDEMPOTENCY_KEY: &str = "idempotency_keys.key";
/// The principal already has a role in the team.
pub const MEMBERSHIP: &str = "memberships.principal_id";
/// A row refers to a row that does not exist (e.g. a team that is not there).
pub const FOREIGN_KEY: &str = "foreign_key";

/// Known constraints: the public name, PostgreSQL's name, and the column list in SQLite's message.
const KNOWN: &[(&str, &str, &str)] = &[
    (TEAM_LABEL, "teams_label_key", "teams.label"),
    (
        CLIENT_ID,
        "client_credentials_client_id_key",
        "client_credentials.client_id",
    ),
    (TOKEN_HASH, "api_tokens_pkey", "api_tokens.token_hash"),
    (
        IDEMPOTENCY_KEY,
        "idempotency_keys_pkey",
        "idempotency_keys.principal_id, idempotency_keys.key",
    ),
    (
        MEMBERSHIP,
        "memberships_pkey",
        "memberships.team_id, memberships.principal_id",
    ),
];

/// The public name of a unique constraint from PostgreSQL's constraint name or, for SQLite,
/// from its message `UNIQUE constraint failed: table.column, …`.
pub(crate) fn unique_name(pg_constraint: Option<&str>, message: &str) -> String {
    let sqlite_columns = message
        .split_once("constraint failed: ")
        .map(|(_, columns)| columns.trim());
    KNOWN
        .iter()
        .find(|(_, pg, sqlite)| pg_constraint == Some(*pg) || sqlite_columns == Some(*sqlite))
        .map(|(name, _, _)| (*name).to_owned())
        .or_else(|| pg_constraint.map(str::to_owned))
        .or_else(|| sqlite_columns.map(str::to_owned))
        .unwrap_or_else(|| "unique".to_owned())
}
