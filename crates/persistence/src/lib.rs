#![doc = include_str!("../README.md")]

mod backend;
mod checkpoint;
mod conn;
pub mod constraint;
mod convert;
mod error;
mod repo;
mod row_lock;
mod rows;
mod schema;
mod startup;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use credvault_domain::audit::AuditEvent;
use credvault_domain::credential::{Credential, CredentialStatus, Health};
use credvault_domain::ids::{
    ClientCredentialId, CredentialId, PrincipalId, ServiceAccountId, TeamId,
};
use credvault_domain::patch::Patch;
use credvault_domain::principal::{Principal, PrincipalKind, Role};
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
    /// When an SQLite commit reaches the disk (ignored on PostgreSQL).
    pub sqlite_synchronous: SqliteSynchronous,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            pool_size: 8,
            connection_timeout: Duration::from_secs(5),
            sqlite_synchronous: SqliteSynchronous::default(),
        }
    }
}

/// SQLite's `PRAGMA synchronous` in WAL mode: whether each commit is synced to disk before it
/// is acknowledged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteSynchronous {
    /// `FULL`: the WAL is synced on every commit, so an acknowledged write survives a power loss
    /// or a kernel crash. The default.
    #[default]
    Full,
    /// `NORMAL`: the WAL is synced only at checkpoints. A killed process loses nothing, but a
    /// power loss can roll back the last commits (the file stays consistent).
    Normal,
}

impl SqliteSynchronous {
    /// The value as the PRAGMA takes it.
    pub fn as_pragma(self) -> &'static str {
        match self {
            SqliteSynchronous::Full => "FULL",
            SqliteSynchronous::Normal => "NORMAL",
        }
    }
}

impl std::str::FromStr for SqliteSynchronous {
    type Err = String;

    /// `full` or `normal`, in any case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "full" => Ok(SqliteSynchronous::Full),
            "normal" => Ok(SqliteSynchronous::Normal),
            _ => Err("expected `full` or `normal`".to_owned()),
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

/// A bearer token that authenticates: whose it is and until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedToken {
    /// The principal the token authenticates as.
    pub principal: Principal,
    /// When the token stops working; `None` for a token without expiry.
    pub expires_at: Option<DateTime<Utc>>,
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
#[expect(
    clippy::large_enum_variant,
    reason = "one value per update, moved once; boxing would only add an allocation"
)]
pub enum CredentialChange {
    /// Nothing changed: write nothing, bump nothing, record no event.
    Unchanged,
    /// Write this state. The store sets `version` to the stored version + 1 and `updated_at`
    /// to the time of the write (µs precision), and the event's `at` to that same instant;
    /// `modified_by` is taken as given.
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

/// The outcome of a connection test to write on the tested credential ([`Store::record_test`]).
#[derive(Clone, Debug)]
pub struct TestRecord {
    /// The version that was tested; a credential changed since keeps its state.
    pub version: i64,
    /// The status after the test.
    pub status: CredentialStatus,
    /// The health after the test.
    pub health: Health,
    /// The field names the event gets when the outcome is written, e.g. `status`, `health`.
    pub recorded_fields: Vec<String>,
}

/// Filters of the credential list.
#[derive(Clone, Debug, Default)]
pub struct CredentialFilter {
    /// Only this provider.
    pub provider: Option<Provider>,
    /// Only this status.
    pub status: Option<CredentialStatus>,
}

/// A page request: items strictly after `after` in id (UUID v7, creation) order; for audit
/// events, after the event with that id in the order the trail was written.
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

/// How long the first response to an `Idempotency-Key` answers retries.
pub const IDEMPOTENCY_RETENTION: TimeDelta = TimeDelta::hours(24);

/// How long a claim on an `Idempotency-Key` holds the key without completing. After that its
/// holder is presumed dead (a crash between claim and write) and another request may claim the
/// key. A holder that is only slow loses nothing but its answer: its write completes the claim in
/// the same transaction, so it rolls back once the claim was taken over.
pub const IDEMPOTENCY_CLAIM_TIMEOUT: TimeDelta = TimeDelta::seconds(60);

/// The record of an `Idempotency-Key`: the request that claimed it and, once that request
/// succeeded, its response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// The principal that sent the key; keys are scoped per principal.
    pub principal_id: PrincipalId,
    /// The client's key.
    pub key: String,
    /// The keyed fingerprint of the request that claimed the key (hex HMAC-SHA256, made by
    /// `credvault_crypto::KeyRing::fingerprint`); never a plain hash of the request.
    pub fingerprint: String,
    /// The id of the master key the fingerprint was made under.
    pub fingerprint_key_id: String,
    /// The first response; `None` while the request that claimed the key is running.
    pub response: Option<StoredResponse>,
    /// When the key was claimed; the record answers for [`IDEMPOTENCY_RETENTION`] from then.
    pub created_at: DateTime<Utc>,
}

/// A response stored for replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    /// The status.
    pub status: u16,
    /// The headers worth replaying (`ETag`, `Location`, `Content-Type`).
    pub headers: Vec<(String, String)>,
    /// The body (secrets are already masked in it).
    pub body: Vec<u8>,
}

/// A request's hold on an `Idempotency-Key`, from [`Store::reserve_idempotency`]. Only its
/// holder can complete it (with the write it records) or release it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// The principal that sent the key.
    pub principal_id: PrincipalId,
    /// The client's key.
    pub key: String,
    /// A random id of this claim, stored in the record.
    token: String,
}

/// What [`Store::reserve_idempotency`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reservation {
    /// The key was free (or its record expired, or its claim went stale): this request runs.
    Claimed(IdempotencyClaim),
    /// Another request claimed the key: it is running (`response` is `None`) or has answered.
    /// Whether it was the same request is for the caller to decide from the fingerprint.
    Taken(IdempotencyRecord),
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

/// A user token as owners see it: never the token or its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserToken {
    /// The token's id: the id of the principal it authenticates as (audit events name it).
    pub id: PrincipalId,
    /// The team it acts in.
    pub team_id: TeamId,
    /// A name for people.
    pub name: String,
    /// Its role in the team.
    pub role: Role,
    /// The principal that issued it; `None` for the admin CLI and the first start.
    pub created_by: Option<PrincipalId>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops authenticating; `None` for never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it last authenticated, to the minute; `None` if never.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What [`Store::issue_user_token`] stores.
#[derive(Clone, Copy, Debug)]
pub struct NewUserToken<'a> {
    /// The team it acts in.
    pub team_id: TeamId,
    /// Its role there.
    pub role: Role,
    /// A name for people.
    pub name: &'a str,
    /// Hex SHA-256 of the token.
    pub token_hash: &'a str,
    /// The principal issuing it; `None` for the admin CLI and the first start.
    pub created_by: Option<PrincipalId>,
    /// When it stops authenticating; `None` for never.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The time as the store keeps it: truncated to microseconds, the precision of PostgreSQL's
/// `TIMESTAMP`. Values written through a [`Store`] read back equal to this.
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    convert::utc(convert::db_time(at))
}

fn now() -> DateTime<Utc> {
    truncate_to_micros(Utc::now())
}

/// The decide-and-write half of [`Store::update_credential`], on a row read (or locked) by the
/// caller. Writes only if the row is still at the version read: returns the row as it is now
/// (written, or unchanged when there was nothing to write), or `None` when it changed or went
/// after it was read and nothing was written.
fn decide_and_write<E>(
    conn: &mut conn::DbConn,
    row: Option<rows::CredentialRow>,
    expected_version: Option<i64>,
    decide: &mut impl FnMut(&StoredCredential) -> Result<CredentialChange, E>,
) -> Result<Option<StoredCredential>, UpdateError<E>> {
    let stored = row.ok_or(StoreError::NotFound)?.into_domain()?;
    let current = stored.credential.version;
    if expected_version.is_some_and(|expected| expected != current) {
        return Err(StoreError::VersionMismatch { current }.into());
    }
    let (credential, secrets, event) = match decide(&stored).map_err(UpdateError::Rejected)? {
        CredentialChange::Unchanged => return Ok(Some(stored)),
        CredentialChange::Update {
            credential,
            secrets,
            event,
        } => (credential, secrets, event),
    };
    let StoredCredential {
        credential: old,
        ciphertext: old_ciphertext,
    } = stored;
    // One clock reading for the row and its event, taken after the row was read (or locked): the
    // write below applies only if nobody wrote since that read, so the trail's times never go
    // backwards, and a delete (stamped under its lock) always comes after.
    let written_at = now();
    let credential = Credential {
        id: old.id,
        team_id: old.team_id,
        created_at: old.created_at,
        created_by: old.created_by,
        version: current + 1,
        updated_at: written_at,
        ..credential
    };
    let keep_ciphertext = matches!(secrets, SecretsUpdate::Keep);
    let ciphertext = match secrets {
        SecretsUpdate::Keep => old_ciphertext,
        SecretsUpdate::Replace(ciphertext) => Some(ciphertext),
        SecretsUpdate::Remove => None,
    };
    let row = rows::CredentialRow::from_domain(&credential, ciphertext.as_ref())?;
    let event = rows::AuditEventRow::from_domain(&AuditEvent {
        team_id: old.team_id,
        credential_id: old.id,
        at: written_at,
        ..event
    })?;
    let written = backend::update_if_version(conn, &row, current, keep_ciphertext, &event)?;
    if !written {
        return Ok(None);
    }
    // Read back from the row so the caller sees exactly what is stored (µs timestamps).
    Ok(Some(row.into_domain()?))
}

/// Inserts a user token: its principal with the membership, its bearer token's hash and its
/// metadata. The caller's transaction makes them one.
fn insert_user_token(
    conn: &mut conn::DbConn,
    token: &UserToken,
    token_hash: &str,
) -> Result<(), StoreError> {
    repo::principals::insert_with_membership(
        conn,
        token.team_id.to_string(),
        token.id,
        PrincipalKind::User,
        token.role,
        token.created_at,
    )?;
    repo::principals::insert_token(
        conn,
        &rows::ApiTokenRow {
            token_hash,
            principal_id: token.id.to_string(),
            client_credential_id: None,
            created_at: convert::db_time(token.created_at),
            expires_at: token.expires_at.map(convert::db_time),
        },
    )?;
    repo::user_tokens::insert(
        conn,
        &repo::user_tokens::UserTokenRow {
            principal_id: token.id.to_string(),
            team_id: token.team_id.to_string(),
            name: token.name.clone(),
            created_by: token.created_by.map(|id| id.to_string()),
            created_at: convert::db_time(token.created_at),
            last_used_at: None,
        },
    )
}

/// The result of one [`Store::reencrypt_batch`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReencryptBatch {
    /// Rows rewritten to the active key.
    pub reencrypted: u64,
    /// Pass as `after` for the next batch; `None` when no row was left.
    pub next_after: Option<CredentialId>,
}

/// The database: a connection pool and every query of the product, each scoped by team.
#[derive(Clone)]
pub struct Store {
    pool: conn::Pool,
    backend: Backend,
    /// Queues this process's concurrent updates of one credential (PostgreSQL).
    row_locks: Arc<row_lock::RowLocks>,
    /// Checkpoints the WAL of an SQLite file; stops with the last clone of the store.
    _checkpointer: Option<Arc<checkpoint::Checkpointer>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens a pool on `sqlite://PATH` (file created if missing) or `postgres://…`.
    ///
    /// The first connection is made here: an unreachable database gives
    /// [`StoreError::Unavailable`] after `options.connection_timeout`. SQLite also accepts
    /// `sqlite::memory:`, a database that lives as long as the store.
    pub fn open(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let target = conn::Target::parse(url)?;
        let backend = target.backend;
        let checkpointer = match backend {
            Backend::Sqlite if target.address != ":memory:" => Some(Arc::new(
                checkpoint::Checkpointer::start(&target.address, options.connection_timeout)
                    .map_err(|error| StoreError::Database(error.to_string()))?,
            )),
            _ => None,
        };
        let pool = conn::build_pool(target, options)?;
        log::debug!("opened the {backend:?} store");
        Ok(Store {
            pool,
            backend,
            row_locks: Arc::new(row_lock::RowLocks::new()),
            _checkpointer: checkpointer,
        })
    }

    /// Applies pending migrations; returns the names applied.
    ///
    /// On PostgreSQL this holds an advisory lock, so instances that start at once migrate one
    /// after the other, and the later ones find nothing left to apply.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let applied = startup::with_migration_lock(&mut *self.conn()?, backend::run_migrations)?;
        log::debug!("applied {} migrations", applied.len());
        Ok(applied)
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (for `/readyz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        use diesel::connection::SimpleConnection;
        self.conn()?
            .batch_execute("SELECT 1")
            .map_err(error::db_error)
    }

    fn conn(&self) -> Result<conn::PooledConn, StoreError> {
        self.pool.get().map_err(error::pool_error)
    }

    // Teams and principals.

    /// Creates a team; `Conflict` when the label is taken.
    pub fn create_team(&self, label: &TeamLabel) -> Result<Team, StoreError> {
        let team = Team {
            id: TeamId::new(),
            label: label.clone(),
            created_at: now(),
        };
        let row = rows::TeamRow {
            id: team.id.to_string(),
            label: label.as_str().to_owned(),
            created_at: convert::db_time(team.created_at),
        };
        repo::teams::insert(&mut *self.conn()?, &row)?;
        Ok(team)
    }

    /// Creates the team `label` with an owner token, but only if the database has no team at
    /// all; returns the team and the token's metadata, or `None` when a team existed.
    ///
    /// The check and the writes are one transaction that holds a lock every instance takes for
    /// this (an advisory lock on PostgreSQL, the write lock on SQLite), so of several instances
    /// starting at once on an empty database exactly one creates the team and the others find it.
    pub fn create_first_team(
        &self,
        label: &TeamLabel,
        owner_token_hash: &str,
        owner_token_name: &str,
    ) -> Result<Option<(Team, UserToken)>, StoreError> {
        let at = now();
        let team = Team {
            id: TeamId::new(),
            label: label.clone(),
            created_at: at,
        };
        let token = UserToken {
            id: PrincipalId::new(),
            team_id: team.id,
            name: owner_token_name.to_owned(),
            role: Role::Owner,
            created_by: None,
            created_at: at,
            expires_at: None,
            last_used_at: None,
        };
        backend::write_transaction(&mut *self.conn()?, |conn| {
            startup::lock_bootstrap(conn)?;
            if repo::teams::count(conn)? > 0 {
                return Ok(None);
            }
            repo::teams::insert(
                conn,
                &rows::TeamRow {
                    id: team.id.to_string(),
                    label: label.as_str().to_owned(),
                    created_at: convert::db_time(at),
                },
            )?;
            insert_user_token(conn, &token, owner_token_hash)?;
            Ok(Some((team, token)))
        })
    }

    /// How many teams exist (the server creates `demo` when there are none).
    pub fn count_teams(&self) -> Result<i64, StoreError> {
        repo::teams::count(&mut *self.conn()?)
    }

    /// Looks a team up by id or label.
    pub fn find_team(&self, team: &TeamRef) -> Result<Option<Team>, StoreError> {
        repo::teams::find(&mut *self.conn()?, team)
    }

    /// Creates a user principal with `role` in the team and a bearer token stored as `token_hash`
    /// (hex SHA-256): a user token named "user token" that never expires.
    pub fn create_user(
        &self,
        team_id: TeamId,
        role: Role,
        token_hash: &str,
    ) -> Result<PrincipalId, StoreError> {
        let token = self.issue_user_token(&NewUserToken {
            team_id,
            role,
            name: "user token",
            token_hash,
            created_by: None,
            expires_at: None,
        })?;
        Ok(token.id)
    }

    /// Issues a user token: a user principal with the role in the team, its bearer token stored
    /// as `token_hash` (hex SHA-256) with its expiry, and the metadata owners list.
    pub fn issue_user_token(&self, new: &NewUserToken<'_>) -> Result<UserToken, StoreError> {
        let token = UserToken {
            id: PrincipalId::new(),
            team_id: new.team_id,
            name: new.name.to_owned(),
            role: new.role,
            created_by: new.created_by,
            created_at: now(),
            expires_at: new.expires_at.map(truncate_to_micros),
            last_used_at: None,
        };
        backend::write_transaction(&mut *self.conn()?, |conn| {
            insert_user_token(conn, &token, new.token_hash)
        })?;
        Ok(token)
    }

    /// A page of the team's user tokens, oldest first (expired ones included).
    pub fn list_user_tokens(
        &self,
        team_id: TeamId,
        page: PageRequest,
    ) -> Result<Page<UserToken>, StoreError> {
        repo::user_tokens::list_in_team(&mut *self.conn()?, team_id, page)
    }

    /// One user token of the team.
    pub fn find_user_token(
        &self,
        team_id: TeamId,
        id: PrincipalId,
    ) -> Result<Option<UserToken>, StoreError> {
        repo::user_tokens::find_in_team(&mut *self.conn()?, team_id, id)
    }

    /// Revokes a user token of the team: its principal, membership, token and metadata are
    /// deleted, so it stops authenticating at the next store lookup. `NotFound` when the team has
    /// no such user token (a service account's principal is not one).
    pub fn revoke_user_token(&self, team_id: TeamId, id: PrincipalId) -> Result<(), StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::user_tokens::find_in_team(conn, team_id, id)?.ok_or(StoreError::NotFound)?;
            repo::principals::delete(conn, &id.to_string())
        })
    }

    /// Revokes a user token of whatever team it is in, for the admin CLI (an operator's tool,
    /// never reachable over HTTP); returns what it was. `NotFound` when there is none.
    pub fn revoke_user_token_in_any_team(&self, id: PrincipalId) -> Result<UserToken, StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let token =
                repo::user_tokens::find_in_any_team(conn, id)?.ok_or(StoreError::NotFound)?;
            repo::principals::delete(conn, &id.to_string())?;
            Ok(token)
        })
    }

    /// The principal holding an unexpired token with this hash.
    pub fn authenticate(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Principal>, StoreError> {
        Ok(self
            .authenticate_token(token_hash, now)?
            .map(|token| token.principal))
    }

    /// The principal holding an unexpired token with this hash, and when the token expires, so
    /// that a cache of the answer does not outlive the token.
    pub fn authenticate_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AuthenticatedToken>, StoreError> {
        repo::principals::authenticate(&mut *self.conn()?, token_hash, now)
    }

    /// The team and the principal's role in it, in one query. `None` when the team does not exist
    /// *or* the principal has no role in it: callers must not tell these apart.
    pub fn membership(
        &self,
        team: &TeamRef,
        principal_id: PrincipalId,
    ) -> Result<Option<(Team, Role)>, StoreError> {
        repo::teams::membership(&mut *self.conn()?, team, principal_id)
    }

    // Integration credentials. Every call takes the team id and filters by it in the same statement.

    /// Inserts a new credential (version 1) and its `created` event in one transaction.
    pub fn insert_credential(
        &self,
        credential: &Credential,
        ciphertext: Option<&Ciphertext>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        // Encode before taking the (SQLite: database-wide) write lock.
        let row = rows::CredentialRow::from_domain(credential, ciphertext)?;
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::credentials::insert(conn, &row)?;
            repo::events::insert(conn, event)
        })
    }

    /// One credential of the team.
    pub fn find_credential(
        &self,
        team_id: TeamId,
        id: CredentialId,
    ) -> Result<Option<StoredCredential>, StoreError> {
        repo::credentials::find_in_team(&mut *self.conn()?, team_id, id)
    }

    /// A page of the team's credentials in id order.
    pub fn list_credentials(
        &self,
        team_id: TeamId,
        filter: &CredentialFilter,
        page: PageRequest,
    ) -> Result<Page<Credential>, StoreError> {
        repo::credentials::list_in_team(&mut *self.conn()?, team_id, filter, page)
    }

    /// Read-decide-write on the latest row: the closure sees the stored row; on `Update` the row
    /// is written with version + 1 and the event appended, atomically; on `Unchanged` or an
    /// error nothing is written. `expected_version` (from `If-Match`) yields `VersionMismatch`
    /// when stale. Returns the row as it is after the call.
    ///
    /// The row's identity (`id`, `team_id`, `created_at`, `created_by`) and the event's
    /// `team_id` and `credential_id` are taken from the stored row, whatever the closure says.
    ///
    /// On SQLite this is one `BEGIN IMMEDIATE` transaction. On PostgreSQL, updates of one
    /// credential from this process queue in the process (see `row_lock`); the row is read, the
    /// closure decides, and the row and its event are written in one statement that applies
    /// only if the version read is still stored: two round trips and no transaction. If another
    /// process wrote in between, the closure runs again inside a transaction that locks the row
    /// first (`FOR UPDATE`), which always succeeds; so the closure runs at most twice, and
    /// nothing it decided on a stale row is ever written. When the closure keeps the secrets,
    /// the stored ciphertext is left as it is in the database (a key rotation may have resealed
    /// it meanwhile), and the returned ciphertext is the one that was read.
    pub fn update_credential<E>(
        &self,
        team_id: TeamId,
        id: CredentialId,
        expected_version: Option<i64>,
        mut decide: impl FnMut(&StoredCredential) -> Result<CredentialChange, E>,
    ) -> Result<StoredCredential, UpdateError<E>> {
        let team = team_id.to_string();
        let credential = id.to_string();
        match self.backend {
            Backend::Sqlite => backend::write_transaction(&mut *self.conn()?, |conn| {
                let stored = backend::lock_credential(conn, &team, &credential)?;
                // The write lock is held: nobody else can have changed the row.
                decide_and_write(conn, stored, expected_version, &mut decide)?
                    .ok_or(StoreError::NotFound.into())
            }),
            Backend::Postgres => {
                let _queued = self.row_locks.lock(id.as_uuid());
                let mut conn = self.conn()?;
                let stored = backend::read_credential(&mut conn, &team, &credential)?;
                if let Some(stored) =
                    decide_and_write(&mut conn, stored, expected_version, &mut decide)?
                {
                    return Ok(stored);
                }
                log::debug!("credential {id} changed under an update; retrying under a row lock");
                backend::write_transaction(&mut conn, |conn| {
                    let stored = backend::lock_credential(conn, &team, &credential)?;
                    // The row is locked: it cannot have changed; a broken invariant if it did.
                    decide_and_write(conn, stored, expected_version, &mut decide)?
                        .ok_or(StoreError::NotFound.into())
                })
            }
        }
    }

    /// How many stored ciphertexts each master key id protects. A key that protects none may be
    /// dropped from the configuration.
    pub fn ciphertext_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        repo::credentials::count_by_key(&mut *self.conn()?)
    }

    /// Re-encrypts one batch of credentials to `active_key_id`, in one transaction.
    ///
    /// Takes the next `limit` credentials after `after` (id order) whose ciphertext is under
    /// another key, locks each row (so a concurrent PATCH either finished before or waits), checks
    /// again under the lock, and writes what `reseal` returns. The version does not change: the
    /// secrets are the same. Safe to interrupt and rerun; rows already on the active key are
    /// skipped. Returns how many rows were rewritten and the cursor for the next batch (`None`
    /// when none is left).
    pub fn reencrypt_batch<E>(
        &self,
        active_key_id: &str,
        after: Option<CredentialId>,
        limit: u32,
        reseal: impl FnMut(TeamId, CredentialId, &Ciphertext) -> Result<Ciphertext, E>,
    ) -> Result<ReencryptBatch, UpdateError<E>> {
        self.reencrypt_batch_with(active_key_id, after, limit, reseal, |_, _| Ok(()))
    }

    /// [`Store::reencrypt_batch`], with `between` run on the transaction's connection after the
    /// candidates are selected and before any of them is locked (a seam for tests).
    fn reencrypt_batch_with<E>(
        &self,
        active_key_id: &str,
        after: Option<CredentialId>,
        limit: u32,
        mut reseal: impl FnMut(TeamId, CredentialId, &Ciphertext) -> Result<Ciphertext, E>,
        mut between: impl FnMut(&mut conn::DbConn, &[(String, String)]) -> Result<(), StoreError>,
    ) -> Result<ReencryptBatch, UpdateError<E>> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let candidates = repo::credentials::not_on_key(conn, active_key_id, after, limit)?;
            between(conn, &candidates)?;
            // The cursor comes from the candidates, not from the rows still there once locked:
            // a full batch whose rows were all deleted meanwhile must not end the rotation.
            let full = candidates.len() >= usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
            let next_after = match candidates.last() {
                Some((_, id)) if full => Some(convert::parse("credentials.id", id)?),
                _ => None,
            };
            let mut batch = ReencryptBatch {
                reencrypted: 0,
                next_after,
            };
            for (team_id, id) in &candidates {
                let Some(row) = backend::lock_credential(conn, team_id, id)? else {
                    continue;
                };
                let stored = row.into_domain()?;
                let credential_id = stored.credential.id;
                let Some(ciphertext) = stored.ciphertext.filter(|c| c.key_id != active_key_id)
                else {
                    continue;
                };
                let resealed = reseal(stored.credential.team_id, credential_id, &ciphertext)
                    .map_err(UpdateError::Rejected)?;
                repo::credentials::replace_ciphertext(
                    conn,
                    team_id,
                    id,
                    &resealed.key_id,
                    &resealed.bytes,
                )?;
                batch.reencrypted += 1;
            }
            Ok(batch)
        })
    }

    /// [`Store::reencrypt_batch`] as it runs when every candidate it selects is deleted by
    /// another writer before it can lock them: the candidates are deleted (with their events
    /// left alone) between the select and the locks, in the batch's own transaction, so the race
    /// is the same on both backends.
    #[cfg(feature = "testing")]
    pub fn reencrypt_batch_losing_every_candidate<E>(
        &self,
        active_key_id: &str,
        after: Option<CredentialId>,
        limit: u32,
        reseal: impl FnMut(TeamId, CredentialId, &Ciphertext) -> Result<Ciphertext, E>,
    ) -> Result<ReencryptBatch, UpdateError<E>> {
        self.reencrypt_batch_with(active_key_id, after, limit, reseal, |conn, candidates| {
            for (team_id, id) in candidates {
                repo::credentials::delete_in_team(
                    conn,
                    convert::parse("credentials.team_id", team_id)?,
                    convert::parse("credentials.id", id)?,
                )?;
            }
            Ok(())
        })
    }

    /// Deletes the credential and its ciphertext and appends `event`; the audit trail stays.
    /// `NotFound` when the team has no such credential.
    ///
    /// The event's `at` is stamped here, once the row is deleted (PostgreSQL: while its row lock
    /// is held; SQLite: under the write lock), so it is the last event of the trail, in order and
    /// in time: an update that lost the race finds no row and records nothing.
    pub fn delete_credential(
        &self,
        team_id: TeamId,
        id: CredentialId,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            if repo::credentials::delete_in_team(conn, team_id, id)? == 0 {
                return Err(StoreError::NotFound);
            }
            repo::events::insert(
                conn,
                &AuditEvent {
                    team_id,
                    credential_id: id,
                    at: now(),
                    ..event.clone()
                },
            )
        })
    }

    /// Appends the `tested` event of a connection test and, with a `record`, writes the test's
    /// outcome (`health` and `status`) in the same transaction, without a new version: the
    /// outcome is server-owned state, so `version`, `updated_at`, `modified_by` and the `ETag`
    /// stay, and an owner's `If-Match` keeps working while members test.
    ///
    /// The outcome is written only if the credential is still at `record.version` (otherwise it
    /// describes an older state); the event is appended either way and names
    /// `record.recorded_fields` only when the outcome was written. Returns whether it was.
    /// `NotFound` (and nothing written) when the team has no such credential.
    pub fn record_test(
        &self,
        team_id: TeamId,
        id: CredentialId,
        record: Option<&TestRecord>,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let recorded = match record {
                Some(record) => {
                    repo::test_outcomes::record_in_team(
                        conn,
                        team_id,
                        id,
                        record.version,
                        record.status,
                        &record.health,
                    )? == 1
                }
                None => false,
            };
            if !recorded && !repo::test_outcomes::exists_in_team(conn, team_id, id)? {
                return Err(StoreError::NotFound);
            }
            let mut event = AuditEvent {
                team_id,
                credential_id: id,
                ..event.clone()
            };
            if let (true, Some(record)) = (recorded, record) {
                event
                    .changed_fields
                    .extend(record.recorded_fields.iter().cloned());
            }
            repo::events::insert(conn, &event)?;
            Ok(recorded)
        })
    }

    /// A page of a credential's audit events in the order they were written (the credential may
    /// be deleted); `page.after` is the id of the previous page's last event. `NotFound` when
    /// the team never held the credential, with or without a cursor.
    pub fn list_events(
        &self,
        team_id: TeamId,
        credential_id: CredentialId,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>, StoreError> {
        repo::events::list_in_team(&mut *self.conn()?, team_id, credential_id, page)
    }

    // Idempotency.

    /// The record for this principal and key, if claimed within [`IDEMPOTENCY_RETENTION`] of
    /// `now`, without claiming anything (a dry run's check).
    ///
    /// An older record is deleted, so that the key can be claimed again.
    pub fn find_idempotency(
        &self,
        principal_id: PrincipalId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let mut conn = self.conn()?;
        let Some(record) = repo::idempotency::find(&mut conn, principal_id, key)? else {
            return Ok(None);
        };
        let cutoff = now - IDEMPOTENCY_RETENTION;
        if record.created_at > cutoff {
            return Ok(Some(record));
        }
        repo::idempotency::delete_if_older(&mut conn, principal_id, key, cutoff)?;
        Ok(None)
    }

    /// Claims `key` for the principal's request with this fingerprint, before the request runs;
    /// or returns the record of the request that holds it.
    ///
    /// The insert of the claim is what decides between concurrent requests, on one instance or
    /// many: the primary key `(principal_id, key)` admits one. A record older than
    /// [`IDEMPOTENCY_RETENTION`], or a claim still in progress after
    /// [`IDEMPOTENCY_CLAIM_TIMEOUT`], no longer holds the key. Records of any principal older
    /// than [`IDEMPOTENCY_RETENTION`] are deleted on the way.
    ///
    /// The claim is committed at once, so that every instance sees it. Its holder then either
    /// writes with [`Store::insert_credential_completing`] or
    /// [`Store::update_credential_completing`], which store the response in the same
    /// transaction, or gives the key back with [`Store::release_idempotency`].
    pub fn reserve_idempotency(
        &self,
        principal_id: PrincipalId,
        key: &str,
        fingerprint: &str,
        fingerprint_key_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Reservation, StoreError> {
        let now = truncate_to_micros(now);
        let claim = IdempotencyClaim {
            principal_id,
            key: key.to_owned(),
            token: Uuid::new_v4().to_string(),
        };
        let row = rows::IdempotencyRow::claimed(&claim, fingerprint, fingerprint_key_id, now);
        let mut conn = self.conn()?;
        repo::idempotency::purge_older(&mut conn, now - IDEMPOTENCY_RETENTION)?;
        repo::idempotency::delete_stale_claim(
            &mut conn,
            principal_id,
            key,
            now - IDEMPOTENCY_CLAIM_TIMEOUT,
        )?;
        // Each statement commits on its own: a claim must be visible to other instances while
        // its request runs. The loop only repeats when the record that refused the insert was
        // released before it could be read.
        for _ in 0..3 {
            match repo::idempotency::insert_claim(&mut conn, &row) {
                Ok(()) => return Ok(Reservation::Claimed(claim)),
                Err(StoreError::Conflict { constraint })
                    if constraint == constraint::IDEMPOTENCY_KEY => {}
                Err(error) => return Err(error),
            }
            if let Some(record) = repo::idempotency::find(&mut conn, principal_id, key)? {
                return Ok(Reservation::Taken(record));
            }
        }
        Err(StoreError::Conflict {
            constraint: constraint::IDEMPOTENCY_KEY.to_owned(),
        })
    }

    /// Gives the key of `claim` back without a response, after its request failed, so that a
    /// corrected request may use the key. Does nothing when the claim is no longer held or was
    /// completed.
    pub fn release_idempotency(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        repo::idempotency::release(&mut *self.conn()?, claim)
    }

    /// [`Store::insert_credential`], and in the same transaction completes `claim` with
    /// `response`: the credential, its event and the record commit together or not at all.
    ///
    /// `Conflict` ([`constraint::IDEMPOTENCY_KEY`]) when the claim is no longer held (it went
    /// stale and another request took the key); nothing is written then.
    pub fn insert_credential_completing(
        &self,
        credential: &Credential,
        ciphertext: Option<&Ciphertext>,
        event: &AuditEvent,
        claim: &IdempotencyClaim,
        response: &StoredResponse,
    ) -> Result<(), StoreError> {
        let row = rows::CredentialRow::from_domain(credential, ciphertext)?;
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::credentials::insert(conn, &row)?;
            repo::events::insert(conn, event)?;
            repo::idempotency::complete(conn, claim, response)
        })
    }

    /// [`Store::update_credential`], and in the same transaction completes `claim` with the
    /// response `respond` renders from the row as it is after the call (also when the closure
    /// decided `Unchanged`). The update, its event and the record commit together or not at all;
    /// when `decide` or `respond` fails, nothing is written.
    ///
    /// Unlike [`Store::update_credential`], this always runs in one transaction that locks the
    /// row first (`FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite), so each closure runs
    /// once. `Conflict` ([`constraint::IDEMPOTENCY_KEY`]) when the claim is no longer held.
    pub fn update_credential_completing<E>(
        &self,
        team_id: TeamId,
        id: CredentialId,
        expected_version: Option<i64>,
        claim: &IdempotencyClaim,
        mut decide: impl FnMut(&StoredCredential) -> Result<CredentialChange, E>,
        respond: impl FnOnce(&StoredCredential) -> Result<StoredResponse, E>,
    ) -> Result<StoredCredential, UpdateError<E>> {
        let team = team_id.to_string();
        let credential = id.to_string();
        // Queue behind this process's other updates of the row, as `update_credential` does.
        let _queued = match self.backend {
            Backend::Postgres => Some(self.row_locks.lock(id.as_uuid())),
            Backend::Sqlite => None,
        };
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let row = backend::lock_credential(conn, &team, &credential)?;
            // The row is locked: it cannot have changed since it was read.
            let stored = decide_and_write(conn, row, expected_version, &mut decide)?
                .ok_or(StoreError::NotFound)?;
            let response = respond(&stored).map_err(UpdateError::Rejected)?;
            repo::idempotency::complete(conn, claim, &response)?;
            Ok(stored)
        })
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
        let now = now();
        let account = ServiceAccount {
            id: ServiceAccountId::new(),
            team_id,
            principal_id: PrincipalId::new(),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            role,
            created_at: now,
            updated_at: now,
        };
        let row = rows::ServiceAccountRow {
            id: account.id.to_string(),
            team_id: team_id.to_string(),
            principal_id: account.principal_id.to_string(),
            name: account.name.clone(),
            description: account.description.clone(),
            role: role.as_str().to_owned(),
            created_at: convert::db_time(now),
            updated_at: convert::db_time(now),
        };
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::principals::insert_with_membership(
                conn,
                team_id.to_string(),
                account.principal_id,
                PrincipalKind::ServiceAccount,
                role,
                now,
            )?;
            repo::service_accounts::insert(conn, &row)
        })?;
        Ok(account)
    }

    /// A page of the team's service accounts.
    pub fn list_service_accounts(
        &self,
        team_id: TeamId,
        page: PageRequest,
    ) -> Result<Page<ServiceAccount>, StoreError> {
        repo::service_accounts::list_in_team(&mut *self.conn()?, team_id, page)
    }

    /// One service account of the team.
    pub fn find_service_account(
        &self,
        team_id: TeamId,
        id: ServiceAccountId,
    ) -> Result<Option<ServiceAccount>, StoreError> {
        repo::service_accounts::find_in_team(&mut *self.conn()?, team_id, id)?
            .map(rows::ServiceAccountRow::into_domain)
            .transpose()
    }

    /// Updates name and/or description (`Patch::Null` clears the description). `NotFound` when absent.
    ///
    /// Only the sent fields are written, in one statement, so concurrent updates of different
    /// fields all survive on both backends; the account is then read back in the same transaction.
    pub fn update_service_account(
        &self,
        team_id: TeamId,
        id: ServiceAccountId,
        name: Option<&str>,
        description: &Patch<String>,
    ) -> Result<ServiceAccount, StoreError> {
        let updated_at = convert::db_time(now());
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let written = repo::service_accounts::update_in_team(
                conn,
                team_id,
                id,
                name,
                description,
                updated_at,
            )?;
            if written == 0 {
                return Err(StoreError::NotFound);
            }
            repo::service_accounts::find_in_team(conn, team_id, id)?
                .ok_or(StoreError::NotFound)?
                .into_domain()
        })
    }

    /// Deletes the account, its principal, membership, client credentials and tokens.
    pub fn delete_service_account(
        &self,
        team_id: TeamId,
        id: ServiceAccountId,
    ) -> Result<(), StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let row = repo::service_accounts::find_in_team(conn, team_id, id)?
                .ok_or(StoreError::NotFound)?;
            // Children first, explicitly: the cascades are a second line, not the plan.
            repo::client_credentials::delete_all_of_account(conn, &row.id)?;
            repo::service_accounts::delete_in_team(conn, team_id, id)?;
            repo::principals::delete(conn, &row.principal_id)
        })
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
        let credential = ClientCredential {
            id: ClientCredentialId::new(),
            service_account_id,
            client_id: client_id.to_owned(),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            created_at: now(),
            last_used_at: None,
        };
        let row = rows::ClientCredentialRow {
            id: credential.id.to_string(),
            service_account_id: service_account_id.to_string(),
            client_id: credential.client_id.clone(),
            secret_hash: secret_hash.to_owned(),
            name: credential.name.clone(),
            description: credential.description.clone(),
            created_at: convert::db_time(credential.created_at),
            last_used_at: None,
        };
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::service_accounts::find_in_team(conn, team_id, service_account_id)?
                .ok_or(StoreError::NotFound)?;
            repo::client_credentials::insert(conn, &row)
        })?;
        Ok(credential)
    }

    /// A page of an account's client credentials.
    pub fn list_client_credentials(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        page: PageRequest,
    ) -> Result<Page<ClientCredential>, StoreError> {
        repo::client_credentials::list_in_team(
            &mut *self.conn()?,
            team_id,
            service_account_id,
            page,
        )
    }

    /// One client credential of an account of the team.
    pub fn find_client_credential(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        id: ClientCredentialId,
    ) -> Result<Option<ClientCredential>, StoreError> {
        repo::client_credentials::find_in_team(&mut *self.conn()?, team_id, service_account_id, id)
    }

    /// Updates name and/or description. `NotFound` when absent.
    ///
    /// Only the sent fields are written, in one statement, so concurrent updates of different
    /// fields all survive on both backends; the credential is then read back in the same
    /// transaction.
    pub fn update_client_credential(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        id: ClientCredentialId,
        name: Option<&str>,
        description: &Patch<String>,
    ) -> Result<ClientCredential, StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            repo::client_credentials::update_in_team(
                conn,
                team_id,
                service_account_id,
                id,
                name,
                description,
            )?;
            repo::client_credentials::find_in_team(conn, team_id, service_account_id, id)?
                .ok_or(StoreError::NotFound)
        })
    }

    /// Deletes a client credential and every token issued through it.
    pub fn delete_client_credential(
        &self,
        team_id: TeamId,
        service_account_id: ServiceAccountId,
        id: ClientCredentialId,
    ) -> Result<(), StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            match repo::client_credentials::delete_in_team(conn, team_id, service_account_id, id)? {
                0 => Err(StoreError::NotFound),
                _ => Ok(()),
            }
        })
    }

    /// Looks a client credential up by its public client id (for the token endpoint).
    pub fn find_client_credential_by_client_id(
        &self,
        client_id: &str,
    ) -> Result<Option<ClientCredentialAuth>, StoreError> {
        repo::client_credentials::find_by_client_id(&mut *self.conn()?, client_id)
    }

    /// Records a successful exchange: sets `last_used_at` and stores an access token hash that
    /// expires at `expires_at` and dies with the client credential.
    ///
    /// On the way it deletes a bounded batch of access tokens that expired by `now`, so a client
    /// that keeps asking for tokens cannot grow the table beyond what is still valid.
    pub fn issue_access_token(
        &self,
        client_credential_id: ClientCredentialId,
        token_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        backend::write_transaction(&mut *self.conn()?, |conn| {
            let principal_id = repo::client_credentials::principal_of(conn, client_credential_id)?
                .ok_or(StoreError::NotFound)?;
            repo::principals::purge_expired_access_tokens(conn, now)?;
            repo::client_credentials::set_last_used(
                conn,
                client_credential_id,
                convert::db_time(now),
            )?;
            repo::principals::insert_token(
                conn,
                &rows::ApiTokenRow {
                    token_hash,
                    principal_id,
                    client_credential_id: Some(client_credential_id.to_string()),
                    created_at: convert::db_time(now),
                    expires_at: Some(convert::db_time(expires_at)),
                },
            )
        })
    }
}
