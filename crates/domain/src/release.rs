//! What a *use* of a credential releases (the consumption path, SPEC §10).
//!
//! A principal holding a grant ([`crate::grant`]) receives a credential's connection fields and
//! plaintext secrets. This module decides which secrets: every stored secret of a credential that
//! a workload signs in with (a password, a private key and its passphrase, an API key), and for
//! OAuth kinds only the access token. An OAuth client's `client_secret` and `refresh_token` are
//! what the vault keeps to mint access tokens; a workload that holds them could mint its own
//! tokens for as long as the refresh token lives, beyond any revocation of its grant.

use std::collections::BTreeSet;

use crate::credential::Credential;
use crate::schema::Kind;

pub use crate::schema::fields::{ACCESS_TOKEN, EXPIRES_AT};

/// Why a credential cannot be used yet; nothing is released.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotUsable {
    /// An OAuth credential holds no access token (it was never connected, nor given one).
    #[error(
        "the credential holds no access token yet: connect it, or PATCH its access_token, then use it"
    )]
    NoAccessToken,
    /// The credential stores no secret at all.
    #[error("the credential stores no secret to use")]
    NoSecret,
}

/// Whether the kind is an OAuth 2.0 client with its tokens.
pub const fn is_oauth(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Oauth2 | Kind::GoogleOauth | Kind::SharepointOauth
    )
}

/// The names of the stored secret fields a use of `credential` releases, or why it cannot be
/// used.
///
/// ```
/// use credvault_domain::release::released_fields;
/// use credvault_domain::testing::stored_postgres_credential;
///
/// let (credential, _) = stored_postgres_credential();
/// let released = released_fields(&credential).unwrap();
/// assert!(released.iter().eq(["password"]));
/// ```
pub fn released_fields(credential: &Credential) -> Result<BTreeSet<String>, NotUsable> {
    if is_oauth(credential.kind) {
        return if credential.secret_fields.contains(ACCESS_TOKEN) {
            Ok(BTreeSet::from([ACCESS_TOKEN.to_owned()]))
        } else {
            Err(NotUsable::NoAccessToken)
        };
    }
    if credential.secret_fields.is_empty() {
        return Err(NotUsable::NoSecret);
    }
    Ok(credential.secret_fields.clone())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests fail loudly")]
mod tests {
    use super::*;
    use crate::schema::Provider;
    use crate::testing::stored_postgres_credential;

    fn oauth(secret_fields: &[&str]) -> Credential {
        let (template, _) = stored_postgres_credential();
        Credential {
            provider: Provider::Google,
            kind: Kind::GoogleOauth,
            secret_fields: secret_fields
                .iter()
                .map(|name| (*name).to_owned())
                .collect(),
            ..template
        }
    }

    #[test]
    fn every_stored_secret_of_a_sign_in_kind_is_released() {
        let (mut credential, _) = stored_postgres_credential();
        credential.secret_fields = ["password".to_owned(), "connection_string".to_owned()].into();
        assert_eq!(
            released_fields(&credential).unwrap(),
            credential.secret_fields
        );
    }

    #[test]
    fn an_oauth_use_releases_the_access_token_only() {
        let credential = oauth(&["access_token", "client_secret", "refresh_token"]);
        assert_eq!(
            released_fields(&credential).unwrap(),
            BTreeSet::from(["access_token".to_owned()])
        );
    }

    #[test]
    fn an_oauth_credential_without_access_token_is_not_usable() {
        let credential = oauth(&["client_secret", "refresh_token"]);
        assert_eq!(released_fields(&credential), Err(NotUsable::NoAccessToken));
    }

    #[test]
    fn a_credential_without_secrets_is_not_usable() {
        let (mut credential, _) = stored_postgres_credential();
        credential.secret_fields.clear();
        assert_eq!(released_fields(&credential), Err(NotUsable::NoSecret));
    }
}
