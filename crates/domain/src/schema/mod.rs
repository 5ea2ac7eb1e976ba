//! The registry of providers, kinds and their fields.
//!
//! Every field name the product knows lives here; no other crate hard-codes one. A credential's
//! `(provider, kind)` pair selects a [`Schema`], which lists its declared fields. Keys of
//! `extra_data` that the schema does not declare are allowed when they are not secret-looking
//! (see [`looks_secret`]).
//!
//! ```
//! use credvault_domain::schema::{Kind, Provider, schema_for};
//!
//! let schema = schema_for(Provider::Sftp, Kind::KeyFile).unwrap();
//! assert!(schema.field("private_key").unwrap().secret);
//! assert!(!schema.field("host").unwrap().secret);
//! // A provider only accepts some kinds.
//! assert!(schema_for(Provider::Postgresql, Kind::KeyFile).is_none());
//! ```

pub mod field;
pub mod kind;
pub mod provider;

pub use field::{FieldSpec, FieldType, Required};
pub use kind::{Kind, UnknownKind};
pub use provider::{Provider, UnknownProvider};

/// The declared fields of one provider/kind pair.
#[derive(Debug, PartialEq, Eq)]
pub struct Schema {
    /// The provider.
    pub provider: Provider,
    /// The kind.
    pub kind: Kind,
    /// The declared fields, non-secret first.
    pub fields: &'static [FieldSpec],
}

impl Schema {
    /// The declared field with this name.
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// The declared secret fields.
    pub fn secret_fields(&self) -> impl Iterator<Item = &'static FieldSpec> {
        self.fields.iter().filter(|field| field.secret)
    }

    /// Whether `name` is a declared secret field.
    pub fn is_secret(&self, name: &str) -> bool {
        self.field(name).is_some_and(|field| field.secret)
    }
}

/// Substrings that make an undeclared key look like a secret.
pub const SECRET_LIKE_PARTS: [&str; 5] = ["password", "secret", "token", "private_key", "api_key"];

/// Whether a key name looks like it holds a secret (case-insensitive).
///
/// ```
/// use credvault_domain::schema::looks_secret;
///
/// assert!(looks_secret("db_PASSWORD"));
/// assert!(looks_secret("refreshToken"));
/// assert!(!looks_secret("host"));
/// ```
pub fn looks_secret(name: &str) -> bool {
    let lowered = name.to_ascii_lowercase();
    // `privateKey` and `apiKey` are secret-looking too, so compare without separators as well.
    let squashed: String = lowered
        .chars()
        .filter(|ch| *ch != '_' && *ch != '-')
        .collect();
    SECRET_LIKE_PARTS
        .iter()
        .any(|part| lowered.contains(part) || squashed.contains(&part.replace('_', "")))
}

/// The schema of a provider/kind pair, or `None` when the provider does not accept the kind.
pub fn schema_for(provider: Provider, kind: Kind) -> Option<&'static Schema> {
    SCHEMAS
        .iter()
        .find(|schema| schema.provider == provider && schema.kind == kind)
}

/// Every schema in the registry.
pub fn all_schemas() -> &'static [Schema] {
    SCHEMAS
}

const SSL_MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

const HOST: FieldSpec = FieldSpec::plain("host", FieldType::Hostname).max_len(253);
const PORT: FieldSpec = FieldSpec::plain("port", FieldType::Port);
const USERNAME: FieldSpec = FieldSpec::plain("username", FieldType::Text).max_len(200);
const DATABASE: FieldSpec = FieldSpec::plain("database", FieldType::Text).max_len(200);
const SSL_MODE: FieldSpec = FieldSpec::plain("ssl_mode", FieldType::Enum(SSL_MODES));
/// Which authentication a PostgreSQL connection test accepts (`extra_data.require_auth`, named
/// after libpq's keyword): `scram-sha-256` (the default: a server that asks for the password in
/// clear or as MD5, or for none, is refused where the linked libpq supports it) or `any` (the
/// credential opts in to whatever the server asks for, cleartext and MD5 included).
pub const REQUIRE_AUTH_VALUES: &[&str] = &["scram-sha-256", "any"];
const REQUIRE_AUTH: FieldSpec =
    FieldSpec::plain("require_auth", FieldType::Enum(REQUIRE_AUTH_VALUES));
const SITE_URL: FieldSpec = FieldSpec::plain("site_url", FieldType::Url).max_len(2048);
const PASSWORD: FieldSpec = FieldSpec::secret("password", FieldType::Text).max_len(1024);
const CONNECTION_STRING: FieldSpec =
    FieldSpec::secret("connection_string", FieldType::ConnectionString).max_len(4096);
const PRIVATE_KEY: FieldSpec = FieldSpec::secret("private_key", FieldType::Pem).max_len(16384);
const PASSPHRASE: FieldSpec = FieldSpec::secret("passphrase", FieldType::Text).max_len(1024);
const CLIENT_ID: FieldSpec = FieldSpec::plain("client_id", FieldType::Text).max_len(512);
const TENANT_ID: FieldSpec = FieldSpec::plain("tenant_id", FieldType::Text).max_len(200);
const TOKEN_URL: FieldSpec = FieldSpec::plain("token_url", FieldType::Url).max_len(2048);
const SCOPES: FieldSpec = FieldSpec::plain("scopes", FieldType::Scopes).max_len(4096);
const EXPIRES_AT: FieldSpec = FieldSpec::plain("expires_at", FieldType::Timestamp).descriptive();
const CLIENT_SECRET: FieldSpec = FieldSpec::secret("client_secret", FieldType::Text).max_len(2048);
const ACCESS_TOKEN: FieldSpec = FieldSpec::secret("access_token", FieldType::Text);
const REFRESH_TOKEN: FieldSpec = FieldSpec::secret("refresh_token", FieldType::Text);

const SFTP_PASSWORD: &[FieldSpec] = &[
    HOST.required(),
    PORT,
    USERNAME.required(),
    PASSWORD.required(),
];

const SFTP_KEY_FILE: &[FieldSpec] = &[
    HOST.required(),
    PORT,
    USERNAME.required(),
    PRIVATE_KEY.required(),
    PASSPHRASE,
];

const UNLESS_CONNECTION_STRING: Required = Required::UnlessPresent("connection_string");

const POSTGRES_PASSWORD: &[FieldSpec] = &[
    HOST.required_when(UNLESS_CONNECTION_STRING),
    PORT,
    DATABASE,
    USERNAME.required_when(UNLESS_CONNECTION_STRING),
    SSL_MODE,
    REQUIRE_AUTH,
    PASSWORD.required_when(UNLESS_CONNECTION_STRING),
    CONNECTION_STRING,
];

const AWS_SES: &[FieldSpec] = &[
    FieldSpec::plain("access_key_id", FieldType::Text)
        .max_len(128)
        .required(),
    FieldSpec::plain("region", FieldType::Text)
        .max_len(64)
        .required(),
    FieldSpec::secret("secret_access_key", FieldType::Text)
        .max_len(256)
        .required(),
];

const MICROSOFT_OAUTH: &[FieldSpec] = &[
    CLIENT_ID.required(),
    TENANT_ID,
    TOKEN_URL,
    SCOPES,
    SITE_URL,
    EXPIRES_AT,
    CLIENT_SECRET.required(),
    ACCESS_TOKEN,
    REFRESH_TOKEN,
];

const GOOGLE_OAUTH: &[FieldSpec] = &[
    CLIENT_ID.required(),
    TOKEN_URL,
    SCOPES,
    EXPIRES_AT,
    CLIENT_SECRET.required(),
    ACCESS_TOKEN,
    REFRESH_TOKEN,
];

const KEYSTATIC: &[FieldSpec] = &[
    FieldSpec::plain("repository", FieldType::Text).max_len(200),
    FieldSpec::plain("branch", FieldType::Text).max_len(200),
    FieldSpec::plain("content_paths", FieldType::Object).descriptive(),
    FieldSpec::secret("github_token", FieldType::Text)
        .max_len(512)
        .required(),
];

const WORDPRESS_PASSWORD: &[FieldSpec] = &[
    SITE_URL.required(),
    USERNAME.required(),
    PASSWORD.required(),
];

const WORDPRESS_APP_PASSWORD: &[FieldSpec] = &[
    SITE_URL.required(),
    USERNAME.required(),
    FieldSpec::secret("app_password", FieldType::Text)
        .max_len(256)
        .required_when(Required::UnlessPresent("application_password")),
    FieldSpec::secret("application_password", FieldType::Text)
        .max_len(256)
        .required_when(Required::UnlessPresent("app_password")),
];

const GITHUB: &[FieldSpec] = &[
    FieldSpec::plain("organization", FieldType::Text).max_len(200),
    FieldSpec::secret("github_token", FieldType::Text)
        .max_len(512)
        .required(),
];

const STRIPE: &[FieldSpec] = &[
    FieldSpec::plain("account_id", FieldType::Text).max_len(200),
    FieldSpec::secret("api_key", FieldType::Text)
        .max_len(512)
        .required(),
];

static SCHEMAS: &[Schema] = &[
    schema(Provider::Sftp, Kind::UserPassword, SFTP_PASSWORD),
    schema(Provider::Sftp, Kind::KeyFile, SFTP_KEY_FILE),
    schema(Provider::Postgresql, Kind::UserPassword, POSTGRES_PASSWORD),
    schema(
        Provider::InternalPostgresql,
        Kind::UserPassword,
        POSTGRES_PASSWORD,
    ),
    schema(Provider::AwsSes, Kind::ApiKey, AWS_SES),
    schema(Provider::Microsoft, Kind::Oauth2, MICROSOFT_OAUTH),
    schema(Provider::Microsoft, Kind::SharepointOauth, MICROSOFT_OAUTH),
    schema(Provider::Sharepoint, Kind::Oauth2, MICROSOFT_OAUTH),
    schema(Provider::Sharepoint, Kind::SharepointOauth, MICROSOFT_OAUTH),
    schema(Provider::Google, Kind::Oauth2, GOOGLE_OAUTH),
    schema(Provider::Google, Kind::GoogleOauth, GOOGLE_OAUTH),
    schema(Provider::Keystatic, Kind::ApiKey, KEYSTATIC),
    schema(Provider::Wordpress, Kind::UserPassword, WORDPRESS_PASSWORD),
    schema(Provider::Wordpress, Kind::ApiKey, WORDPRESS_APP_PASSWORD),
    schema(Provider::Github, Kind::ApiKey, GITHUB),
    schema(Provider::Stripe, Kind::ApiKey, STRIPE),
];

const fn schema(provider: Provider, kind: Kind, fields: &'static [FieldSpec]) -> Schema {
    Schema {
        provider,
        kind,
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_allowed_kind_has_exactly_one_schema() {
        for provider in Provider::ALL {
            for kind in Kind::ALL {
                let count = SCHEMAS
                    .iter()
                    .filter(|schema| schema.provider == provider && schema.kind == kind)
                    .count();
                let expected = usize::from(provider.kinds().contains(&kind));
                assert_eq!(count, expected, "{provider}/{kind}");
            }
        }
    }

    #[test]
    fn secret_fields_are_secret_looking_or_declared_secret() {
        for schema in SCHEMAS {
            for field in schema.fields {
                if looks_secret(field.name) && !field.name.ends_with("_url") {
                    assert!(field.secret, "{} looks secret but is plain", field.name);
                }
            }
        }
    }

    #[test]
    fn unless_present_names_a_declared_field() {
        for schema in SCHEMAS {
            for field in schema.fields {
                if let Required::UnlessPresent(other) = field.required {
                    assert!(
                        schema.field(other).is_some(),
                        "{other} in {:?}",
                        schema.kind
                    );
                }
            }
        }
    }

    #[test]
    fn secret_looking_names() {
        for name in [
            "password",
            "db_password",
            "clientSecret",
            "x_token",
            "privateKey",
            "API_KEY",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "host",
            "port",
            "username",
            "region",
            "tenant_id",
            "content_paths",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }
}
