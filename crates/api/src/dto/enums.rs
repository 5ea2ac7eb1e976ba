//! Wire mirrors of the domain enums, with exhaustive conversions in both directions.

use credvault_domain::audit::{AuditAction, SecretEffect};
use credvault_domain::credential::{CredentialStatus, HealthStatus};
use credvault_domain::principal::PrincipalKind;
use credvault_domain::schema::{Kind, Provider};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Writes `From` impls both ways between a domain enum and its wire mirror, variant by variant.
/// Both matches are exhaustive, so a variant added on either side is a compile error.
macro_rules! mirror {
    ($domain:ident <=> $wire:ident { $($variant:ident),+ $(,)? }) => {
        impl From<$domain> for $wire {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => Self::$variant,)+
                }
            }
        }

        impl From<$wire> for $domain {
            fn from(value: $wire) -> Self {
                match value {
                    $($wire::$variant => Self::$variant,)+
                }
            }
        }
    };
}

pub(crate) use mirror;

/// The system a credential reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Provider, example = "postgresql")]
pub enum ProviderDto {
    /// An SFTP server (`user_password` or `key_file`).
    Sftp,
    /// A PostgreSQL database (`user_password`).
    Postgresql,
    /// A PostgreSQL database run by the organisation (`user_password`).
    InternalPostgresql,
    /// Amazon SES (`api_key`).
    AwsSes,
    /// Microsoft 365 / Graph (`oauth2`, `sharepoint_oauth`).
    Microsoft,
    /// SharePoint Online (`oauth2`, `sharepoint_oauth`).
    Sharepoint,
    /// Google APIs (`oauth2`, `google_oauth`).
    Google,
    /// Keystatic CMS on GitHub (`api_key`).
    Keystatic,
    /// WordPress (`user_password`, `api_key`).
    Wordpress,
    /// GitHub (`api_key`).
    Github,
    /// Stripe (`api_key`).
    Stripe,
}

mirror!(Provider <=> ProviderDto {
    Sftp, Postgresql, InternalPostgresql, AwsSes, Microsoft, Sharepoint, Google, Keystatic,
    Wordpress, Github, Stripe,
});

/// The shape of a credential's fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Kind, example = "user_password")]
pub enum KindDto {
    /// User name and password, or a connection string.
    UserPassword,
    /// User name and a PEM private key.
    KeyFile,
    /// API keys or tokens.
    ApiKey,
    /// A generic OAuth 2.0 client.
    Oauth2,
    /// A Google OAuth client.
    GoogleOauth,
    /// A SharePoint OAuth client.
    SharepointOauth,
}

mirror!(Kind <=> KindDto { UserPassword, KeyFile, ApiKey, Oauth2, GoogleOauth, SharepointOauth });

/// Where a credential is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = CredentialStatus, example = "credentials_saved")]
pub enum CredentialStatusDto {
    /// A required secret is missing.
    Pending,
    /// Every required secret is stored; not tested yet.
    CredentialsSaved,
    /// The last test connected.
    Connected,
    /// Connected, but a page or site must still be chosen.
    NeedsPageSelection,
    /// The provider says it expired.
    Expired,
    /// Revoked.
    Revoked,
    /// The last test failed.
    Error,
}

mirror!(CredentialStatus <=> CredentialStatusDto {
    Pending, CredentialsSaved, Connected, NeedsPageSelection, Expired, Revoked, Error,
});

/// The outcome of the last connection test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = HealthStatus, example = "unknown")]
pub enum HealthStatusDto {
    /// Not tested since the last relevant change.
    Unknown,
    /// The last test connected, or the last refresh of its OAuth token succeeded.
    Healthy,
    /// The last refresh of its OAuth token failed for a reason that may pass (network, timeout,
    /// the provider's 5xx); the notes say what happened and when credvault tries again.
    Degraded,
    /// The last test failed, or its OAuth token cannot be refreshed (the notes say why and what
    /// to do).
    Error,
}

mirror!(HealthStatus <=> HealthStatusDto { Unknown, Healthy, Degraded, Error });

/// What happened to a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = AuditAction, example = "updated")]
pub enum AuditActionDto {
    /// Created.
    Created,
    /// Changed by a PATCH.
    Updated,
    /// Deleted.
    Deleted,
    /// Tested.
    Tested,
    /// Its secrets were released to a service account holding a grant of use.
    Used,
    /// An owner granted a service account use of it.
    UseGranted,
    /// An owner revoked a service account's grant of use of it.
    UseRevoked,
    /// credvault redeemed its OAuth refresh token for a new access token.
    Refreshed,
    /// credvault tried to refresh its OAuth access token and failed (see its health).
    RefreshFailed,
}

mirror!(AuditAction <=> AuditActionDto {
    Created, Updated, Deleted, Tested, Used, UseGranted, UseRevoked, Refreshed, RefreshFailed,
});

/// What a request did to one secret field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SecretEffect, example = "set")]
pub enum SecretEffectDto {
    /// A new value was stored.
    Set,
    /// Sent blank, `null` or masked: the stored value stayed.
    Kept,
    /// The stored value was removed.
    Cleared,
    /// The value was released to the event's actor (a `used` event).
    Released,
}

mirror!(SecretEffect <=> SecretEffectDto { Set, Kept, Cleared, Released });

/// What kind of principal acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PrincipalKind, example = "user")]
pub enum PrincipalKindDto {
    /// A person's API token.
    User,
    /// A service account.
    ServiceAccount,
    /// credvault itself (refreshing an OAuth token); its id is the nil UUID.
    System,
}

mirror!(PrincipalKind <=> PrincipalKindDto { User, ServiceAccount, System });
