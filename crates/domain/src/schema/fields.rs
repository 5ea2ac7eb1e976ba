//! The names of the fields that code outside the registry reads by name.
//!
//! The connection tests (crate `credvault-probe`) read a credential's `extra_data` and secrets
//! by these names; the registry's own declarations use them too, so a name is written once.
//! Every constant but [`HOST_KEY_SHA256`] is a declared field of some schema (a test checks it).
//!
//! ```
//! use credvault_domain::schema::{Kind, Provider, fields, schema_for};
//!
//! let sftp = schema_for(Provider::Sftp, Kind::KeyFile).unwrap();
//! assert!(sftp.is_secret(fields::PRIVATE_KEY));
//! // The host-key pin is read by the SFTP test but declared by no schema.
//! assert!(sftp.field(fields::HOST_KEY_SHA256).is_none());
//! ```

/// The host name or address of a server (SFTP, PostgreSQL).
pub const HOST: &str = "host";
/// The TCP port of a server.
pub const PORT: &str = "port";
/// The login name.
pub const USERNAME: &str = "username";
/// The login password (secret).
pub const PASSWORD: &str = "password";
/// The PostgreSQL database name.
pub const DATABASE: &str = "database";
/// The PostgreSQL `sslmode`.
pub const SSL_MODE: &str = "ssl_mode";
/// Which authentication a PostgreSQL connection test accepts (see
/// [`super::REQUIRE_AUTH_VALUES`]).
pub const REQUIRE_AUTH: &str = "require_auth";
/// A libpq connection string (secret), which wins over the separate PostgreSQL fields.
pub const CONNECTION_STRING: &str = "connection_string";
/// A PEM private key (secret) of an SFTP `key_file` credential.
pub const PRIVATE_KEY: &str = "private_key";
/// The passphrase (secret) of [`PRIVATE_KEY`].
pub const PASSPHRASE: &str = "passphrase";

/// The AWS access key id (not secret; the secret access key is separate).
pub const ACCESS_KEY_ID: &str = "access_key_id";
/// The OAuth client id (not secret).
pub const CLIENT_ID: &str = "client_id";
/// The Microsoft tenant id (not secret).
pub const TENANT_ID: &str = "tenant_id";
/// The Stripe account id (not secret).
pub const ACCOUNT_ID: &str = "account_id";
/// The GitHub organisation.
pub const ORGANIZATION: &str = "organization";
/// The GitHub repository behind a Keystatic site.
pub const REPOSITORY: &str = "repository";
/// The OAuth kinds' access token (secret); the one secret a use of them releases.
pub const ACCESS_TOKEN: &str = "access_token";
/// When the OAuth kinds' access token expires (RFC 3339).
pub const EXPIRES_AT: &str = "expires_at";
/// The OAuth kinds' refresh token (secret), redeemed for a new access token.
pub const REFRESH_TOKEN: &str = "refresh_token";
/// The OAuth kinds' own client secret (secret), when no OAuth app supplies one.
pub const CLIENT_SECRET: &str = "client_secret";
/// The OAuth kinds' own token endpoint, when neither an OAuth app nor the provider's default
/// supplies one.
pub const TOKEN_URL: &str = "token_url";
/// The OAuth kinds' scopes (space-separated).
pub const SCOPES: &str = "scopes";
/// The AWS region.
pub const REGION: &str = "region";
/// The AWS secret access key (secret).
pub const SECRET_ACCESS_KEY: &str = "secret_access_key";
/// A GitHub token (secret), of GitHub and Keystatic credentials.
pub const GITHUB_TOKEN: &str = "github_token";
/// An API key (secret), of Stripe credentials.
pub const API_KEY: &str = "api_key";
/// The WordPress site's URL.
pub const SITE_URL: &str = "site_url";
/// A WordPress application password (secret); [`APPLICATION_PASSWORD`] is its other spelling.
pub const APP_PASSWORD: &str = "app_password";
/// A WordPress application password (secret), spelled out.
pub const APPLICATION_PASSWORD: &str = "application_password";

/// The SFTP host-key pin: the OpenSSH SHA-256 fingerprint (`SHA256:…`, as `ssh-keygen -lf`
/// prints it) that the SFTP connection test requires of the server's host key.
///
/// It is not a declared field of the SFTP schemas: it travels as an undeclared, non-secret
/// `extra_data` key (see "Known quirks" in `docs/API-DESIGN.md`), so it is not type-checked on
/// write, and a PATCH of a test body that changes it counts as a redirecting change like any
/// undeclared key (`connection_test::redirecting_fields`).
pub const HOST_KEY_SHA256: &str = "host_key_sha256";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::all_schemas;

    #[test]
    fn every_name_but_the_host_key_pin_is_declared() {
        let declared = |name: &str| {
            all_schemas()
                .iter()
                .any(|schema| schema.field(name).is_some())
        };
        for name in [
            HOST,
            PORT,
            USERNAME,
            PASSWORD,
            DATABASE,
            SSL_MODE,
            REQUIRE_AUTH,
            CONNECTION_STRING,
            PRIVATE_KEY,
            PASSPHRASE,
            ACCESS_KEY_ID,
            CLIENT_ID,
            TENANT_ID,
            ACCOUNT_ID,
            ORGANIZATION,
            REPOSITORY,
            ACCESS_TOKEN,
            EXPIRES_AT,
            REFRESH_TOKEN,
            CLIENT_SECRET,
            TOKEN_URL,
            SCOPES,
            REGION,
            SECRET_ACCESS_KEY,
            GITHUB_TOKEN,
            API_KEY,
            SITE_URL,
            APP_PASSWORD,
            APPLICATION_PASSWORD,
        ] {
            assert!(declared(name), "{name}");
        }
        assert!(!declared(HOST_KEY_SHA256));
    }
}
