//! Rows as stored: ids as UUID text, JSON as text, naive UTC timestamps at µs. `crate::convert`
//! builds them from domain values and turns them back; `repo` and `backend` write and read them
//! (the credential path of `store` builds its rows there and hands them on, see `repo`), and
//! nothing outside this crate sees them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::{
    api_tokens, audit_events, client_credentials, console_sessions, credentials, idempotency_keys,
    memberships, oauth_apps, oauth_connect_states, principals, service_accounts, teams, use_grants,
    user_tokens,
};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = teams)]
pub(crate) struct TeamRow {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = principals)]
pub(crate) struct PrincipalRow {
    pub(crate) id: String,
    pub(crate) kind: &'static str,
    pub(crate) created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = memberships)]
pub(crate) struct MembershipRow {
    pub(crate) team_id: String,
    pub(crate) principal_id: String,
    pub(crate) role: &'static str,
}

#[derive(Insertable)]
#[diesel(table_name = api_tokens, treat_none_as_default_value = false)]
pub(crate) struct ApiTokenRow<'a> {
    pub(crate) token_hash: &'a str,
    pub(crate) principal_id: String,
    pub(crate) client_credential_id: Option<String>,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) expires_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = service_accounts, treat_none_as_default_value = false)]
pub(crate) struct ServiceAccountRow {
    pub(crate) id: String,
    pub(crate) team_id: String,
    pub(crate) principal_id: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) role: String,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = client_credentials, treat_none_as_default_value = false)]
pub(crate) struct ClientCredentialRow {
    pub(crate) id: String,
    pub(crate) service_account_id: String,
    pub(crate) client_id: String,
    pub(crate) secret_hash: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) last_used_at: Option<NaiveDateTime>,
}

/// A credential row. Its update is the hand-written statement of `backend::update_if_version`,
/// which destructures this struct: a new column does not compile until that statement says
/// whether it writes it.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = credentials, treat_none_as_default_value = false)]
pub(crate) struct CredentialRow {
    pub(crate) id: String,
    pub(crate) team_id: String,
    pub(crate) provider: String,
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) account_name: Option<String>,
    pub(crate) status: String,
    pub(crate) extra_data: String,
    pub(crate) metadata: String,
    pub(crate) secret_fields: String,
    pub(crate) secret_key_id: Option<String>,
    pub(crate) secret_ciphertext: Option<Vec<u8>>,
    pub(crate) health_status: String,
    pub(crate) health_notes: String,
    pub(crate) health_checked_at: Option<NaiveDateTime>,
    pub(crate) version: i64,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) updated_at: NaiveDateTime,
    pub(crate) created_by: String,
    pub(crate) modified_by: String,
    /// Written only by a use (`backend::use_if_granted`): an insert writes NULL, and the update
    /// of a PATCH leaves both as they are.
    pub(crate) last_used_at: Option<NaiveDateTime>,
    pub(crate) last_used_by: Option<String>,
    /// Set by every client write (insert or PATCH): the write's instant for an OAuth credential
    /// or one with a health-check interval, so that the upkeep worker looks at it, NULL
    /// otherwise; the failures start again at 0.
    pub(crate) upkeep_due_at: Option<NaiveDateTime>,
    pub(crate) upkeep_failures: i32,
    /// The linked OAuth app; a key without cascade, so a linked app is not deleted.
    pub(crate) oauth_app_id: Option<String>,
    /// The client's interval of scheduled health checks, in seconds.
    pub(crate) health_check_interval_seconds: Option<i32>,
}

/// A `user_tokens` row: the metadata of a user principal's token. Its role and expiry are the
/// principal's membership and its `api_tokens` row.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = user_tokens, treat_none_as_default_value = false)]
pub(crate) struct UserTokenRow {
    pub(crate) principal_id: String,
    pub(crate) team_id: String,
    pub(crate) name: String,
    pub(crate) created_by: Option<String>,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) last_used_at: Option<NaiveDateTime>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub(crate) struct AuditEventRow {
    pub(crate) id: String,
    pub(crate) team_id: String,
    pub(crate) credential_id: String,
    pub(crate) action: String,
    pub(crate) actor_id: String,
    pub(crate) actor_kind: String,
    pub(crate) changed_fields: String,
    pub(crate) secrets: String,
    pub(crate) request_id: String,
    pub(crate) at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub(crate) struct IdempotencyRow {
    pub(crate) principal_id: String,
    pub(crate) key: String,
    pub(crate) fingerprint: String,
    pub(crate) fingerprint_key_id: String,
    pub(crate) claim: String,
    pub(crate) state: String,
    pub(crate) status: Option<i32>,
    pub(crate) headers: Option<String>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) created_at: NaiveDateTime,
}

/// A grant of use of a credential to a service account of the same team.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = use_grants)]
pub(crate) struct GrantRow {
    pub(crate) id: String,
    pub(crate) team_id: String,
    pub(crate) credential_id: String,
    pub(crate) service_account_id: String,
    pub(crate) created_by: String,
    pub(crate) created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_apps, treat_none_as_default_value = false)]
pub(crate) struct OAuthAppRow {
    pub(crate) id: String,
    pub(crate) team_id: String,
    pub(crate) name: String,
    pub(crate) provider: String,
    pub(crate) client_id: String,
    pub(crate) secret_key_id: String,
    pub(crate) secret_ciphertext: Vec<u8>,
    pub(crate) token_url: String,
    pub(crate) authorize_url: String,
    pub(crate) scopes: String,
    pub(crate) metadata: String,
    pub(crate) version: i64,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_connect_states)]
pub(crate) struct ConnectStateRow {
    pub(crate) state_hash: String,
    pub(crate) team_id: String,
    pub(crate) credential_id: String,
    pub(crate) principal_id: String,
    pub(crate) verifier_key_id: String,
    pub(crate) verifier_ciphertext: Vec<u8>,
    pub(crate) redirect_uri: String,
    pub(crate) return_to: String,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) expires_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = console_sessions)]
pub(crate) struct ConsoleSessionRow {
    pub(crate) id_hash: String,
    pub(crate) team_id: String,
    pub(crate) principal_id: String,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) last_seen_at: NaiveDateTime,
    pub(crate) expires_at: NaiveDateTime,
    pub(crate) csrf_secret: String,
}
