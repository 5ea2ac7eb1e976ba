#![doc = include_str!("../README.md")]

// CONTRACT STUB: the signatures below are the public API of this crate. The bodies are filled in
// by the persistence implementation; the API crate is written against these signatures.

use std::time::Duration;

use chrono::{DateTime, Utc};
use credvault_domain::audit::AuditEvent;
use credvault_domain::credential::{Credential, CredentialStatus};
use credvault_domain::ids::{
    ClientCredentialId, CredentialId, PrincipalId, ServiceAccountId, TeamId,
};
use credvault_domain::patch::Patch;
use credvault_domain::principal::{Principal, Role};
use credvault_domain::schema::Provider;
use credvault_domain::service_account::{ClientCredential, ServiceAccount};
use credvault_domain::team::{Team, TeamLabel, TeamRef};
use uuid::Uuid;

/// Which database a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (WAL).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Pool settings.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Connections in the pool (SQLite always uses one writer connection).
    pub pool_size: u32,
    /// How long a request waits for a connection before `StoreError::Unavailable`.
    pub connection_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            pool_size: 8,
            connection_timeout: Duration::from_secs(5),
        }
    }
}

/// Why a store call failed. Mapped to HTTP by the API without looking at strings.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The scoped row does not exist (or belongs to another team: the same answer).
    #[error("not found")]
    NotFound,
    /// `If-Match` named another version than the stored one.
    #[error("version mismatch: the current version is {current}")]
    VersionMismatch {
        /// The stored version.
        current: i64,
    },
    /// A unique or foreign key constraint refused the write (e.g. a team label already taken).
    #[error("conflict on {constraint}")]
    Conflict {
        /// The constraint's name or the column it guards.
        constraint: String,
    },
    /// The database cannot be reached or no connection was free in time.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored value could not be read back into a domain value.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(String),
}

/// The sealed secrets of a credential as stored: the master key id beside the ciphertext bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    /// The id of the master key that sealed it.
    pub key_id: String,
    /// The self-describing ciphertext (`credvault_crypto::Sealed::to_bytes`).
    pub bytes: Vec<u8>,
}

/// A credential row: the domain value and its ciphertext, if it has secrets.
#[derive(Clone, Debug)]
pub struct StoredCredential {
    /// The non-secret state.
    pub credential: Credential,
    /// The sealed secrets; `None` when no secret is stored.
    pub ciphertext: Option<Ciphertext>,
}

/// What an update closure decided.
#[derive(Debug)]
pub enum CredentialChange {
    /// Nothing changed: write nothing, bump nothing, record no event.
    Unchanged,
    /// Write this state. The store sets `version` to the stored version + 1 and `updated_at`
    /// to the time of the write (µs precision); `modified_by` is taken as given.
    Update {
        /// The new state.
        credential: Credential,
        /// What to do with the ciphertext.
        secrets: SecretsUpdate,
        /// The audit event to append in the same transaction.
        event: AuditEvent,
    },
}

/// The ciphertext part of an update.
#[derive(Debug)]
pub enum SecretsUpdate {
    /// Keep the stored ciphertext.
    Keep,
    /// Replace it (the old bytes are overwritten, not kept).
    Replace(Ciphertext),
    /// Remove it (no secret left).
    Remove,
}

/// Why an update did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    /// The store failed, the row was not found, or the expected version did not match.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The closure refused the change; nothing was written.
    #[error("the update was rejected")]
    Rejected(E),
}

/// Filters of the credential list.
#[derive(Clone, Debug, Default)]
pub struct CredentialFilter {
    /// Only this provider.
    pub provider: Option<Provider>,
    /// Only this status.
    pub status: Option<CredentialStatus>,
}

/// A page request: items strictly after `after` in id (UUID v7, creation) order.
#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    /// The last id of the previous page.
    pub after: Option<Uuid>,
    /// At most this many items (1..=100).
    pub limit: u32,
}

/// One page of items.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The items in id order.
    pub items: Vec<T>,
    /// The id to pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<Uuid>,
}

/// A stored response for an `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The principal that sent the key; keys are scoped per principal.
    pub principal_id: PrincipalId,
    /// The client's key.
    pub key: String,
    /// A hash of method, path and body; another fingerprint with the same key is refused.
    pub fingerprint: String,
    /// The first response's status.
    pub status: u16,
    /// The first response's headers worth replaying (`ETag`, `Location`, `Content-Type`).
    pub headers: Vec<(String, String)>,
    /// The first response's body (secrets are already masked in it).
    pub body: Vec<u8>,
    /// When it was stored; records older than 24 h are ignored.
    pub created_at: DateTime<Utc>,
}

/// A service account's client credential as needed for the token exchange.
#[derive(Clone, Debug)]
pub struct ClientCredentialAuth {
    /// The credential.
    pub credential: ClientCredential,
    /// The team of its account.
    pub team_id: TeamId,
    /// The principal its tokens authenticate as.
    pub principal_id: PrincipalId,
    /// Hex SHA-256 of the client secret.
    pub secret_hash: String,
}

/// The database: a connection pool and every query of the product, each scoped by team.
#[derive(Clone)]
pub struct Store {}

#[expect(unused_variables, clippy::unimplemented, reason = "contract stub")]
impl Store {
    /// Opens a pool on `sqlite://PATH` (file created if missing) or `postgres://…`.
    pub fn open(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        unimplemented!()
    }
    /// Applies pending migrations; returns the names applied.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        unimplemented!()
    }
    /// The backend in use.
    pub fn backend(&self) -> Backend {
        unimplemented!()
    }
    /// Checks that the database answers (for `/readyz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        unimplemented!()
    }

    // Teams and principals.

    /// Creates a team; `Conflict` when the label is taken.
    pub fn create_team(&self, label: &TeamLabel) -> Result<Team, StoreError> {
        unimplemented!()
    }
    /// How many teams exist (the server creates `demo` when there are none).
    pub fn count_teams(&self) -> Result<i64, StoreError> {
        unimplemented!()
    }
    /// Looks a team up by id or label.
    pub fn find_team(&self, team: &TeamRef) -> Result<Option<Team>, StoreError> {
        unimplemented!()
    }
    /// Creates a user principal with `role` in the team and a bearer token stored as `token_hash`
    /// (hex SHA-256).
    pub fn create_user(
        &self,
        team_id: TeamId,
        role: Role,
        token_hash: &str,
    ) -> Result<PrincipalId, StoreError> {
        unimplemented!()
    }
    /// The principal holding an unexpired token with this hash.
    pub fn authenticate(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError> {
        unimplemented!()
    }
    /// The team and the principal's role in it, in one query. `None` when the team does not exist
    /// *or* the principal has no role in it: callers must not tell these apart.
    pub fn membership(
        &self,
        team: &TeamRef,
        principal_id: PrincipalId,
    ) -> Result<Option<(Team, Role)>, StoreError> {
        unimplemented!()
    }

    // Integration credentials. Every call takes the team id and filters by it in the same statement.

    /// Inserts a new credential (version 1) and its `created` event in one transaction.
    pub fn insert_credential(
        &self,
        credential: &Credential,
        ciphertext: Option<&Ciphertext>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        unimplemented!()
    }
    /// One credential of the team.
    pub fn find_credential(
        &self,
        team_id: TeamId,
        id: CredentialId,
    ) -> Result<Option<StoredCredential>, StoreError> {
        unimplemented!()
    }
    /// A page of the team's credentials in id order.
    pub fn list_credentials(
        &self,
        team_id: TeamId,
        filter: &CredentialFilter,
        page: PageRequest,
    ) -> Result<Page<Credential>, StoreError> {
        unimplemented!()
    }
    /// Read-decide-write in one transaction on the latest row (row lock on PostgreSQL, `BEGIN
    /// IMMEDIATE` on SQLite). `expected_version` (from `If-Match`) yields `VersionMismatch` when
    /// stale. The closure sees the stored row; on `Update` the row is written with version + 1
    /// and the event appended; on `Unchanged` or an error nothing is written. Returns the row as
    /// it is after the call.
    pub fn update_credential<E>(
        &self,
        team_id: TeamId,
        id: CredentialId,
        expected_version: Option<i64>,
        decide: impl FnOnce(&StoredCredential) -> Result<CredentialChange, E>,
    ) -> Result<StoredCredential, UpdateError<E>> {
        unimplemented!()
    }
    /// Deletes the credential and its ciphertext and appends `event`; the audit trail stays.
    /// `NotFound` when the team has no such credential.
    pub fn delete_credential(
        &self,
        team_id: TeamId,
        id: CredentialId,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        unimplemented!()
    }
    /// A page of a credential's audit events, oldest first (the credential may be deleted).
    pub fn list_events(
        &self,
        team_id: TeamId,
        credential_id: CredentialId,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        unimplemented!()
    }

    // Idempotency.

    /// The record for this principal and key, if stored within the last 24 hours of `now`.
    pub fn find_idempotency(
        &self,
        principal_id: PrincipalId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        unimplemented!()
    }
    /// Stores a record; `Conflict` if one exists for the principal and key (a concurrent retry).
    pub fn insert_idempotency(&self, record: &IdempotencyRecord) -> Result<(), StoreError> {
        unimplemented!()
    }

    // Service accounts.

    /// Creates a service account, its principal and its membership with `role`.
    pub fn create_service_account(
        &self,
        team_id: TeamId,
        name: &str,
        description: Option<&str>,
        role: Role,
    ) -> Result<ServiceAccount, StoreError> {
        unimplemented!()
    }
    /// A page of the team's service accounts.
    pub fn list_service_accounts(
        &self,
        team_id: TeamId,
        page: PageRequest,
    ) -> Result<Page<ServiceAccount>, StoreError> {
        unimplemented!()
    }
    /// One service account of the team.
    pub fn find_service_account(
        &self,
        team_id: TeamId,
        id: ServiceAccountId,
    ) -> Result<Option<ServiceAccount>, StoreError> {
        unimplemented!()
    }
    /// Updates name and/or description (`Patch::Null` clears the description). `NotFound` when absent.
    pub fn update_service_account(
        &self,
        team_id: TeamId,
        id: ServiceAccountId,
        name: Option<&str>,
        description: &Patch<String>,
    ) -> Result<ServiceAccount, StoreError> {
        unimplemented!()
    }
    /// Deletes the account, its principal, membership, client credentials and tokens.
    pub fn delete_service_account(
        &self,
        team_id: TeamId,
        id: ServiceAccountId,
    ) -> Result<(), StoreError> {
        unimplemented!()
    }
    /// Adds a client credential to an account of the team; `NotFound` when the account is absent.
    pub fn create_client_credential(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        name: &str,
        description: Option<&str>,
        client_id: &str,
        secret_hash: &str,
    ) -> Result<ClientCredential, StoreError> {
        unimplemented!()
    }
    /// A page of an account's client credentials.
    pub fn list_client_credentials(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        page: PageRequest,
    ) -> Result<Page<ClientCredential>, StoreError> {
        unimplemented!()
    }
    /// One client credential of an account of the team.
    pub fn find_client_credential(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        id: ClientCredentialId,
    ) -> Result<Option<ClientCredential>, StoreError> {
        unimplemented!()
    }
    /// Updates name and/or description. `NotFound` when absent.
    pub fn update_client_credential(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        id: ClientCredentialId,
        name: Option<&str>,
        description: &Patch<String>,
    ) -> Result<ClientCredential, StoreError> {
        unimplemented!()
    }
    /// Deletes a client credential and every token issued through it.
    pub fn delete_client_credential(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        id: ClientCredentialId,
    ) -> Result<(), StoreError> {
        unimplemented!()
    }
    /// Looks a client credential up by its public client id (for the token endpoint).
    pub fn find_client_credential_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<ClientCredentialAuth>, StoreError> {
        unimplemented!()
    }
    /// Records a successful exchange: sets `last_used_at` and stores an access token hash that
    /// expires at `expires_at` and dies with the client credential.
    pub fn issue_access_token(
        &self,
        client_credential_id: ClientCredentialId,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        unimplemented!()
    }
}
