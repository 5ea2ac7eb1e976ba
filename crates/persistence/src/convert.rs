//! Rows to domain values and back: every row the crate writes is built here from domain values,
//! and every row it reads becomes a domain value here. Reading a row that does not parse is
//! `StoreError::Corrupt`; the message names the column, never its value.

use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use credvault_domain::audit::AuditEvent;
use credvault_domain::credential::{Credential, Health, LastUse};
use credvault_domain::grant::Grant;
use credvault_domain::ids::{ClientCredentialId, PrincipalId, TeamId};
use credvault_domain::oauth_app::{OAUTH_PROVIDERS, OAuthApp};
use credvault_domain::patch::derived_account_name;
use credvault_domain::principal::{PrincipalKind, Role};
use credvault_domain::release::is_oauth;
use credvault_domain::service_account::{ClientCredential, ServiceAccount};
use credvault_domain::team::Team;
use credvault_domain::time::to_micros;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::rows::{
    ApiTokenRow, AuditEventRow, ClientCredentialRow, CredentialRow, GrantRow, IdempotencyRow,
    MembershipRow, OAuthAppRow, PrincipalRow, ServiceAccountRow, TeamRow, UserTokenRow,
};
use crate::{
    Ciphertext, IdempotencyClaim, IdempotencyRecord, StoreError, StoredCredential, StoredOAuthApp,
    StoredResponse, UserToken,
};

/// The time as stored: naive UTC, truncated to microseconds (what PostgreSQL keeps), so that a
/// value reads back equal on both backends. It stays here, beside `domain::time`, because it is
/// the column's conversion: a caller's value at any precision is cut the same way on both.
pub(crate) fn db_time(at: DateTime<Utc>) -> NaiveDateTime {
    to_micros(at).naive_utc()
}

pub(crate) fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

/// Parses a column holding a domain value's text form (ids, enums, labels).
pub(crate) fn parse<T: FromStr>(column: &str, text: &str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("unreadable {column}")))
}

pub(crate) fn to_json<T: Serialize + ?Sized>(
    column: &str,
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|_| StoreError::Database(format!("{column} could not be encoded")))
}

fn from_json<T: DeserializeOwned>(column: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt(format!("unreadable {column}")))
}

impl TeamRow {
    pub(crate) fn from_domain(team: &Team) -> TeamRow {
        let Team {
            id,
            label,
            created_at,
        } = team;
        TeamRow {
            id: id.to_string(),
            label: label.as_str().to_owned(),
            created_at: db_time(*created_at),
        }
    }

    pub(crate) fn into_domain(self) -> Result<Team, StoreError> {
        let TeamRow {
            id,
            label,
            created_at,
        } = self;
        Ok(Team {
            id: parse("teams.id", &id)?,
            label: parse("teams.label", &label)?,
            created_at: utc(created_at),
        })
    }
}

impl CredentialRow {
    /// The row of `credential` as an insert or a PATCH writes it. `last_used` is not the
    /// caller's to write: the row holds NULL (what an insert stores), and a PATCH's update leaves
    /// the stored columns as they are (see `backend::update_if_version`). A client's write of an
    /// OAuth credential, or of one with a health-check interval, makes it due for the upkeep
    /// worker at once, with no failure counted: new tokens or settings deserve a fresh look (the
    /// first scheduled check runs right after the write), and a credential parked after a
    /// refusal is retried once it was changed.
    pub(crate) fn from_domain(
        credential: &Credential,
        ciphertext: Option<&Ciphertext>,
    ) -> Result<CredentialRow, StoreError> {
        Ok(CredentialRow {
            id: credential.id.to_string(),
            team_id: credential.team_id.to_string(),
            provider: credential.provider.as_str().to_owned(),
            kind: credential.kind.as_str().to_owned(),
            name: credential.name.clone(),
            description: credential.description.clone(),
            account_name: Some(credential.account_name.clone()),
            status: credential.status.as_str().to_owned(),
            extra_data: to_json("credentials.extra_data", &credential.extra_data)?,
            metadata: to_json("credentials.metadata", &credential.metadata)?,
            secret_fields: to_json("credentials.secret_fields", &credential.secret_fields)?,
            secret_key_id: ciphertext.map(|sealed| sealed.key_id.clone()),
            secret_ciphertext: ciphertext.map(|sealed| sealed.bytes.clone()),
            health_status: credential.health.status.as_str().to_owned(),
            health_notes: to_json("credentials.health_notes", &credential.health.notes)?,
            health_checked_at: credential.health.checked_at.map(db_time),
            version: credential.version,
            created_at: db_time(credential.created_at),
            updated_at: db_time(credential.updated_at),
            created_by: credential.created_by.to_string(),
            modified_by: credential.modified_by.to_string(),
            last_used_at: None,
            last_used_by: None,
            upkeep_due_at: (is_oauth(credential.kind)
                || credential.health_check_interval_seconds.is_some())
            .then(|| db_time(credential.updated_at)),
            upkeep_failures: 0,
            oauth_app_id: credential.oauth_app_id.map(|id| id.to_string()),
            health_check_interval_seconds: credential
                .health_check_interval_seconds
                .map(|seconds| i32::try_from(seconds).unwrap_or(i32::MAX)),
        })
    }

    pub(crate) fn into_domain(self) -> Result<StoredCredential, StoreError> {
        let ciphertext = match (self.secret_key_id, self.secret_ciphertext) {
            (Some(key_id), Some(bytes)) => Some(Ciphertext { key_id, bytes }),
            (None, None) => None,
            _ => {
                return Err(StoreError::Corrupt(
                    "credentials.secret_key_id and secret_ciphertext disagree".to_owned(),
                ));
            }
        };
        let last_used = match (self.last_used_at, self.last_used_by) {
            (Some(at), Some(by)) => Some(LastUse {
                at: utc(at),
                by: parse("credentials.last_used_by", &by)?,
            }),
            (None, None) => None,
            _ => {
                return Err(StoreError::Corrupt(
                    "credentials.last_used_at and last_used_by disagree".to_owned(),
                ));
            }
        };
        let provider = parse("credentials.provider", &self.provider)?;
        let extra_data = from_json("credentials.extra_data", &self.extra_data)?;
        // A row written before `account_name` was always set may hold NULL: derive it on read,
        // as a create would have, so no migration is needed.
        let account_name = self
            .account_name
            .unwrap_or_else(|| derived_account_name(provider, &extra_data));
        let credential = Credential {
            id: parse("credentials.id", &self.id)?,
            team_id: parse("credentials.team_id", &self.team_id)?,
            provider,
            kind: parse("credentials.kind", &self.kind)?,
            name: self.name,
            description: self.description,
            account_name,
            status: parse("credentials.status", &self.status)?,
            extra_data,
            secret_fields: from_json("credentials.secret_fields", &self.secret_fields)?,
            metadata: from_json("credentials.metadata", &self.metadata)?,
            oauth_app_id: self
                .oauth_app_id
                .map(|id| parse("credentials.oauth_app_id", &id))
                .transpose()?,
            health_check_interval_seconds: self
                .health_check_interval_seconds
                .map(|seconds| {
                    u32::try_from(seconds).map_err(|_| {
                        StoreError::Corrupt(
                            "credentials.health_check_interval_seconds is negative".to_owned(),
                        )
                    })
                })
                .transpose()?,
            health: Health {
                status: parse("credentials.health_status", &self.health_status)?,
                notes: from_json("credentials.health_notes", &self.health_notes)?,
                checked_at: self.health_checked_at.map(utc),
            },
            version: self.version,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
            created_by: parse("credentials.created_by", &self.created_by)?,
            modified_by: parse("credentials.modified_by", &self.modified_by)?,
            last_used,
        };
        Ok(StoredCredential {
            credential,
            ciphertext,
            // The reads that return it look the app up (`backend::with_oauth_app`).
            oauth_app: None,
        })
    }
}

impl OAuthAppRow {
    pub(crate) fn from_domain(
        app: &OAuthApp,
        ciphertext: &Ciphertext,
    ) -> Result<OAuthAppRow, StoreError> {
        let OAuthApp {
            id,
            team_id,
            name,
            provider,
            client_id,
            token_url,
            authorize_url,
            scopes,
            metadata,
            created_at,
            updated_at,
            version,
        } = app;
        Ok(OAuthAppRow {
            id: id.to_string(),
            team_id: team_id.to_string(),
            name: name.clone(),
            provider: provider.as_str().to_owned(),
            client_id: client_id.clone(),
            secret_key_id: ciphertext.key_id.clone(),
            secret_ciphertext: ciphertext.bytes.clone(),
            token_url: token_url.clone(),
            authorize_url: authorize_url.clone(),
            scopes: to_json("oauth_apps.scopes", scopes)?,
            metadata: to_json("oauth_apps.metadata", metadata)?,
            version: *version,
            created_at: db_time(*created_at),
            updated_at: db_time(*updated_at),
        })
    }

    pub(crate) fn into_domain(self) -> Result<StoredOAuthApp, StoreError> {
        let provider = parse("oauth_apps.provider", &self.provider)?;
        if !OAUTH_PROVIDERS.contains(&provider) {
            return Err(StoreError::Corrupt(
                "oauth_apps.provider is not an OAuth provider".to_owned(),
            ));
        }
        let app = OAuthApp {
            id: parse("oauth_apps.id", &self.id)?,
            team_id: parse("oauth_apps.team_id", &self.team_id)?,
            name: self.name,
            provider,
            client_id: self.client_id,
            token_url: self.token_url,
            authorize_url: self.authorize_url,
            scopes: from_json("oauth_apps.scopes", &self.scopes)?,
            metadata: from_json("oauth_apps.metadata", &self.metadata)?,
            created_at: utc(self.created_at),
            updated_at: utc(self.updated_at),
            version: self.version,
        };
        Ok(StoredOAuthApp {
            app,
            ciphertext: Ciphertext {
                key_id: self.secret_key_id,
                bytes: self.secret_ciphertext,
            },
        })
    }
}

impl GrantRow {
    pub(crate) fn from_domain(grant: &Grant) -> GrantRow {
        let Grant {
            id,
            team_id,
            credential_id,
            service_account_id,
            created_at,
            created_by,
        } = grant;
        GrantRow {
            id: id.to_string(),
            team_id: team_id.to_string(),
            credential_id: credential_id.to_string(),
            service_account_id: service_account_id.to_string(),
            created_by: created_by.to_string(),
            created_at: db_time(*created_at),
        }
    }

    pub(crate) fn into_domain(self) -> Result<Grant, StoreError> {
        let GrantRow {
            id,
            team_id,
            credential_id,
            service_account_id,
            created_by,
            created_at,
        } = self;
        Ok(Grant {
            id: parse("use_grants.id", &id)?,
            team_id: parse("use_grants.team_id", &team_id)?,
            credential_id: parse("use_grants.credential_id", &credential_id)?,
            service_account_id: parse("use_grants.service_account_id", &service_account_id)?,
            created_at: utc(created_at),
            created_by: parse("use_grants.created_by", &created_by)?,
        })
    }
}

impl AuditEventRow {
    pub(crate) fn from_domain(event: &AuditEvent) -> Result<AuditEventRow, StoreError> {
        Ok(AuditEventRow {
            id: event.id.to_string(),
            team_id: event.team_id.to_string(),
            credential_id: event.credential_id.to_string(),
            action: event.action.as_str().to_owned(),
            actor_id: event.actor.id.to_string(),
            actor_kind: event.actor.kind.as_str().to_owned(),
            changed_fields: to_json("audit_events.changed_fields", &event.changed_fields)?,
            secrets: to_json("audit_events.secrets", &event.secrets)?,
            request_id: event.request_id.to_string(),
            at: db_time(event.at),
        })
    }

    pub(crate) fn into_domain(self) -> Result<AuditEvent, StoreError> {
        Ok(AuditEvent {
            id: parse("audit_events.id", &self.id)?,
            team_id: parse("audit_events.team_id", &self.team_id)?,
            credential_id: parse("audit_events.credential_id", &self.credential_id)?,
            action: parse("audit_events.action", &self.action)?,
            actor: credvault_domain::audit::Actor {
                id: parse("audit_events.actor_id", &self.actor_id)?,
                kind: parse("audit_events.actor_kind", &self.actor_kind)?,
            },
            changed_fields: from_json("audit_events.changed_fields", &self.changed_fields)?,
            secrets: from_json("audit_events.secrets", &self.secrets)?,
            request_id: parse("audit_events.request_id", &self.request_id)?,
            at: utc(self.at),
        })
    }
}

impl ServiceAccountRow {
    pub(crate) fn from_domain(account: &ServiceAccount) -> ServiceAccountRow {
        let ServiceAccount {
            id,
            team_id,
            principal_id,
            name,
            description,
            role,
            created_at,
            updated_at,
        } = account;
        ServiceAccountRow {
            id: id.to_string(),
            team_id: team_id.to_string(),
            principal_id: principal_id.to_string(),
            name: name.clone(),
            description: description.clone(),
            role: role.as_str().to_owned(),
            created_at: db_time(*created_at),
            updated_at: db_time(*updated_at),
        }
    }

    pub(crate) fn into_domain(self) -> Result<ServiceAccount, StoreError> {
        let ServiceAccountRow {
            id,
            team_id,
            principal_id,
            name,
            description,
            role,
            created_at,
            updated_at,
        } = self;
        Ok(ServiceAccount {
            id: parse("service_accounts.id", &id)?,
            team_id: parse("service_accounts.team_id", &team_id)?,
            principal_id: parse("service_accounts.principal_id", &principal_id)?,
            name,
            description,
            role: parse("service_accounts.role", &role)?,
            created_at: utc(created_at),
            updated_at: utc(updated_at),
        })
    }
}

impl ClientCredentialRow {
    /// The row of a client credential whose secret hashes to `secret_hash` (hex SHA-256).
    pub(crate) fn from_domain(
        credential: &ClientCredential,
        secret_hash: &str,
    ) -> ClientCredentialRow {
        let ClientCredential {
            id,
            service_account_id,
            client_id,
            name,
            description,
            created_at,
            last_used_at,
        } = credential;
        ClientCredentialRow {
            id: id.to_string(),
            service_account_id: service_account_id.to_string(),
            client_id: client_id.clone(),
            secret_hash: secret_hash.to_owned(),
            name: name.clone(),
            description: description.clone(),
            created_at: db_time(*created_at),
            last_used_at: last_used_at.map(db_time),
        }
    }

    /// The client credential; its secret's hash stays behind.
    pub(crate) fn into_domain(self) -> Result<ClientCredential, StoreError> {
        let ClientCredentialRow {
            id,
            service_account_id,
            client_id,
            secret_hash: _,
            name,
            description,
            created_at,
            last_used_at,
        } = self;
        Ok(ClientCredential {
            id: parse("client_credentials.id", &id)?,
            service_account_id: parse(
                "client_credentials.service_account_id",
                &service_account_id,
            )?,
            client_id,
            name,
            description,
            created_at: utc(created_at),
            last_used_at: last_used_at.map(utc),
        })
    }
}

impl PrincipalRow {
    pub(crate) fn new(
        id: PrincipalId,
        kind: PrincipalKind,
        created_at: DateTime<Utc>,
    ) -> PrincipalRow {
        PrincipalRow {
            id: id.to_string(),
            kind: kind.as_str(),
            created_at: db_time(created_at),
        }
    }
}

impl MembershipRow {
    pub(crate) fn new(team_id: TeamId, principal_id: PrincipalId, role: Role) -> MembershipRow {
        MembershipRow {
            team_id: team_id.to_string(),
            principal_id: principal_id.to_string(),
            role: role.as_str(),
        }
    }
}

impl<'a> ApiTokenRow<'a> {
    /// The bearer token of a user token, stored as `token_hash` (hex SHA-256).
    pub(crate) fn for_user(token: &UserToken, token_hash: &'a str) -> ApiTokenRow<'a> {
        ApiTokenRow {
            token_hash,
            principal_id: token.id.to_string(),
            client_credential_id: None,
            created_at: db_time(token.created_at),
            expires_at: token.expires_at.map(db_time),
        }
    }

    /// An access token exchanged for a client credential, acting as `principal_id` (its service
    /// account's) until `expires_at`; it goes with the client credential.
    pub(crate) fn for_access(
        token_hash: &'a str,
        principal_id: PrincipalId,
        client_credential_id: ClientCredentialId,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> ApiTokenRow<'a> {
        ApiTokenRow {
            token_hash,
            principal_id: principal_id.to_string(),
            client_credential_id: Some(client_credential_id.to_string()),
            created_at: db_time(created_at),
            expires_at: Some(db_time(expires_at)),
        }
    }
}

impl UserTokenRow {
    /// The metadata row of a user token; its role and expiry are stored with its principal's
    /// membership and bearer token.
    pub(crate) fn from_domain(token: &UserToken) -> UserTokenRow {
        let UserToken {
            id,
            team_id,
            name,
            role: _,
            created_by,
            created_at,
            expires_at: _,
            last_used_at,
        } = token;
        UserTokenRow {
            principal_id: id.to_string(),
            team_id: team_id.to_string(),
            name: name.clone(),
            created_by: created_by.map(|id| id.to_string()),
            created_at: db_time(*created_at),
            last_used_at: last_used_at.map(db_time),
        }
    }

    /// The user token of a row read with its role (the membership in its team) and its bearer
    /// token's expiry.
    pub(crate) fn into_domain(
        (row, role, expires_at): (UserTokenRow, String, Option<NaiveDateTime>),
    ) -> Result<UserToken, StoreError> {
        let UserTokenRow {
            principal_id,
            team_id,
            name,
            created_by,
            created_at,
            last_used_at,
        } = row;
        Ok(UserToken {
            id: parse("user_tokens.principal_id", &principal_id)?,
            team_id: parse("user_tokens.team_id", &team_id)?,
            name,
            role: parse("memberships.role", &role)?,
            created_by: created_by
                .map(|id| parse("user_tokens.created_by", &id))
                .transpose()?,
            created_at: utc(created_at),
            expires_at: expires_at.map(utc),
            last_used_at: last_used_at.map(utc),
        })
    }
}

impl IdempotencyRow {
    /// The row of a new claim: in progress, no response yet.
    pub(crate) fn claimed(
        claim: &IdempotencyClaim,
        fingerprint: &str,
        fingerprint_key_id: &str,
        created_at: DateTime<Utc>,
    ) -> IdempotencyRow {
        IdempotencyRow {
            principal_id: claim.principal_id.to_string(),
            key: claim.key.clone(),
            fingerprint: fingerprint.to_owned(),
            fingerprint_key_id: fingerprint_key_id.to_owned(),
            claim: claim.token.clone(),
            state: IDEMPOTENCY_IN_PROGRESS.to_owned(),
            status: None,
            headers: None,
            body: None,
            created_at: db_time(created_at),
        }
    }

    pub(crate) fn into_domain(self) -> Result<IdempotencyRecord, StoreError> {
        let response = match (self.state.as_str(), self.status, self.headers, self.body) {
            (IDEMPOTENCY_IN_PROGRESS, _, _, _) => None,
            (IDEMPOTENCY_COMPLETED, Some(status), Some(headers), Some(body)) => {
                Some(StoredResponse {
                    status: u16::try_from(status).map_err(|_| {
                        StoreError::Corrupt("unreadable idempotency_keys.status".to_owned())
                    })?,
                    headers: from_json("idempotency_keys.headers", &headers)?,
                    body,
                })
            }
            _ => {
                return Err(StoreError::Corrupt(
                    "unreadable idempotency_keys.state".to_owned(),
                ));
            }
        };
        Ok(IdempotencyRecord {
            principal_id: parse("idempotency_keys.principal_id", &self.principal_id)?,
            key: self.key,
            fingerprint: self.fingerprint,
            fingerprint_key_id: self.fingerprint_key_id,
            response,
            created_at: utc(self.created_at),
        })
    }
}

/// `idempotency_keys.state` of a claim whose request is still running.
pub(crate) const IDEMPOTENCY_IN_PROGRESS: &str = "in_progress";
/// `idempotency_keys.state` of a record holding the first response.
pub(crate) const IDEMPOTENCY_COMPLETED: &str = "completed";

/// The `headers` column of a stored response.
pub(crate) fn response_headers(response: &StoredResponse) -> Result<String, StoreError> {
    to_json("idempotency_keys.headers", &response.headers)
}
