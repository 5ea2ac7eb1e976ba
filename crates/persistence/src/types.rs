//! The values the store takes and returns: options, ciphertexts, changes, pages, records.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use credvault_domain::credential::{Credential, CredentialStatus};
use credvault_domain::edit::{AuditNote, CredentialEdit};
use credvault_domain::ids::{CredentialId, PrincipalId, ServiceAccountId, TeamId};
use credvault_domain::oauth_app::OAuthApp;
use credvault_domain::principal::{Principal, Role};
use credvault_domain::schema::Provider;
use credvault_domain::secret::SecretValue;
use credvault_domain::service_account::ClientCredential;
use uuid::Uuid;

/// Which database a [`Store`](crate::Store) talks to.
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
    /// The OAuth app `credential.oauth_app_id` names (its non-secret part: the client secret
    /// stays sealed in the app's row), read with the credential; `None` when it has none.
    pub oauth_app: Option<OAuthApp>,
}

/// What [`crate::Store::delete_oauth_app`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthAppDeletion {
    /// The app is gone.
    Deleted,
    /// Nothing was deleted: credentials of the team are linked to the app.
    InUse {
        /// How many.
        credentials: u64,
    },
}

/// An OAuth app row: the domain value and its sealed client secret.
#[derive(Clone, Debug)]
pub struct StoredOAuthApp {
    /// The non-secret state.
    pub app: OAuthApp,
    /// The sealed client secret.
    pub ciphertext: Ciphertext,
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
    /// Write this change. The closure decides only what a caller may: the edited fields, the
    /// ciphertext and the audit note. The store stamps the rest when it writes: the identity it
    /// read, `version` (stored + 1), `modified_by` (the note's actor), the event's id, and one
    /// instant (µs precision) for both `updated_at` and the event's `at`
    /// ([`Credential::edited`](credvault_domain::credential::Credential::edited)).
    Update {
        /// The new values of the caller-owned fields.
        edit: CredentialEdit,
        /// What to do with the ciphertext.
        secrets: SecretsUpdate,
        /// What the audit event appended in the same transaction says.
        audit: AuditNote,
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

/// A request's hold on an `Idempotency-Key`, from
/// [`Store::reserve_idempotency`](crate::Store::reserve_idempotency). Only its holder can complete
/// it (with the write it records) or release it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// The principal that sent the key.
    pub principal_id: PrincipalId,
    /// The client's key.
    pub key: String,
    /// A random id of this claim, stored in the record.
    pub(crate) token: String,
}

/// What [`Store::reserve_idempotency`](crate::Store::reserve_idempotency) found.
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

/// What [`Store::issue_user_token`](crate::Store::issue_user_token) stores.
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

/// The result of one [`Store::reencrypt_batch`](crate::Store::reencrypt_batch) (credentials) or
/// [`Store::reencrypt_oauth_app_batch`](crate::Store::reencrypt_oauth_app_batch) (`Id` =
/// `OAuthAppId`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReencryptBatch<Id = CredentialId> {
    /// Rows rewritten to the active key.
    pub reencrypted: u64,
    /// Pass as `after` for the next batch; `None` when no row was left.
    pub next_after: Option<Id>,
}

/// Which of a team's grants of use to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrantFilter {
    /// Only the grants of this credential.
    pub credential_id: Option<CredentialId>,
    /// Only the grants held by this service account.
    pub service_account_id: Option<ServiceAccountId>,
}

/// What [`Store::record_use`](crate::Store::record_use) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UseOutcome {
    /// The use was recorded at this instant (the `used` event's `at` and `last_used.at`).
    Recorded(DateTime<Utc>),
    /// The service account no longer holds a grant of the credential; nothing was written.
    NotGranted,
}

/// A live web console session: who signed in, in which team, and its CSRF secret.
///
/// The session id itself is never stored or returned, only its hash is (the caller keeps the id
/// in the browser's cookie). `Debug` masks the CSRF secret.
#[derive(Clone)]
pub struct ConsoleSession {
    /// The team the user token acts in.
    pub team_id: TeamId,
    /// The user principal that signed in.
    pub principal_id: PrincipalId,
    /// When the session began.
    pub created_at: DateTime<Utc>,
    /// When it was last used (to [`CONSOLE_SESSION_TOUCH_PRECISION`]).
    pub last_seen_at: DateTime<Utc>,
    /// When it ends whatever happens: the sign-in plus the session lifetime, or the user token's
    /// expiry when that comes first.
    pub expires_at: DateTime<Utc>,
    /// The token every state-changing form of the session carries.
    pub csrf_secret: SecretValue,
}

impl std::fmt::Debug for ConsoleSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleSession")
            .field("team_id", &self.team_id)
            .field("principal_id", &self.principal_id)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("csrf_secret", &self.csrf_secret)
            .finish_non_exhaustive()
    }
}

/// A console session's `last_seen_at` is kept to this precision: a request within this time of
/// the recorded one writes nothing, so a busy session writes at most once a minute.
pub const CONSOLE_SESSION_TOUCH_PRECISION: TimeDelta = TimeDelta::seconds(60);

/// What [`Store::open_console_session`](crate::Store::open_console_session) needs.
#[derive(Clone, Copy)]
pub struct NewConsoleSession<'a> {
    /// Hex SHA-256 of the user token that signs in.
    pub token_hash: &'a str,
    /// Hex SHA-256 of the new session id.
    pub id_hash: &'a str,
    /// The new session's CSRF secret.
    pub csrf_secret: &'a SecretValue,
    /// How long the session may last at most (it ends sooner with its token).
    pub lifetime: TimeDelta,
}

impl std::fmt::Debug for NewConsoleSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewConsoleSession")
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

/// Where the callback of an OAuth connect sends the browser once it is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectReturn {
    /// A small result (JSON or HTML) from the API itself.
    Api,
    /// The credential's page in the web console.
    Console,
}

impl ConnectReturn {
    /// The stored form.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Console => "console",
        }
    }

    /// Reads [`ConnectReturn::as_str`].
    pub(crate) fn parse(text: &str) -> Option<Self> {
        match text {
            "api" => Some(Self::Api),
            "console" => Some(Self::Console),
            _ => None,
        }
    }
}

/// A pending OAuth connect to store ([`crate::Store::begin_connect`]).
pub struct NewConnectState<'a> {
    /// Hex SHA-256 of the single-use `state` (the state itself is never stored).
    pub state_hash: &'a str,
    /// The credential's team.
    pub team_id: TeamId,
    /// The credential being connected.
    pub credential_id: CredentialId,
    /// Who started the connect.
    pub principal_id: PrincipalId,
    /// The PKCE code verifier, sealed.
    pub verifier: Ciphertext,
    /// The redirect URI of the authorization request.
    pub redirect_uri: &'a str,
    /// Where the callback sends the browser.
    pub return_to: ConnectReturn,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it no longer completes.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for NewConnectState<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewConnectState")
            .field("team_id", &self.team_id)
            .field("credential_id", &self.credential_id)
            .field("principal_id", &self.principal_id)
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}

/// A pending OAuth connect, as [`crate::Store::take_connect`] took it: it can never be taken
/// again.
#[derive(Clone)]
pub struct ConnectState {
    /// The credential's team.
    pub team_id: TeamId,
    /// The credential being connected.
    pub credential_id: CredentialId,
    /// Who started the connect (and whether a user or a service account).
    pub principal: Principal,
    /// The PKCE code verifier, sealed.
    pub verifier: Ciphertext,
    /// The redirect URI of the authorization request.
    pub redirect_uri: String,
    /// Where the callback sends the browser.
    pub return_to: ConnectReturn,
    /// When it was started.
    pub created_at: DateTime<Utc>,
    /// When it no longer completes.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for ConnectState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectState")
            .field("team_id", &self.team_id)
            .field("credential_id", &self.credential_id)
            .field("principal", &self.principal)
            .field("return_to", &self.return_to)
            .finish_non_exhaustive()
    }
}
