//! Typed identifiers.
//!
//! Every entity id is a newtype over [`Uuid`] so that a `TeamId` can never be passed where a
//! `CredentialId` is expected. New ids are UUID v7: they sort by creation time, which gives list
//! endpoints a stable cursor order.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered (UUID v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

uuid_id!(
    /// Identifies a team, the tenant that owns credentials.
    TeamId
);
uuid_id!(
    /// Identifies a stored integration credential.
    CredentialId
);
uuid_id!(
    /// Identifies a principal: a user token holder or a service account.
    PrincipalId
);
uuid_id!(
    /// Identifies a service account of a team.
    ServiceAccountId
);
uuid_id!(
    /// Identifies one client credential (client id + secret) of a service account.
    ClientCredentialId
);
uuid_id!(
    /// Identifies an audit event.
    EventId
);
uuid_id!(
    /// Identifies a grant of *use* of a credential to a service account.
    GrantId
);
uuid_id!(
    /// Identifies an OAuth app (an OAuth 2.0 client) of a team.
    OAuthAppId
);
uuid_id!(
    /// Identifies one request, for logs and audit events.
    RequestId
);
