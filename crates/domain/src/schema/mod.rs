//! The registry of providers, kinds and their fields.
//!
//! Every field name the product knows lives here; no other crate hard-codes one. A credential's
//! `(provider, kind)` pair selects a [`Schema`], which lists its declared fields. Keys of
//! `extra_data` that the schema does not declare are allowed when they are not secret-looking
//! (see [`looks_secret`]). Code outside the registry that reads a field by name takes the name
//! from [`fields`].
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
pub mod fields;
pub mod kind;
pub mod names;
pub mod provider;

use std::sync::LazyLock;

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

    /// The declared field that `name` is a variant of but not equal to: the same name to a
    /// reader (see [`names::fold`]), spelt differently, such as `Host` for `host` or
    /// `connectionString` for `connection_string`.
    ///
    /// ```
    /// use credvault_domain::schema::{Kind, Provider, schema_for};
    ///
    /// let schema = schema_for(Provider::Sftp, Kind::KeyFile).unwrap();
    /// assert_eq!(schema.variant_of("Pass_Phrase").unwrap().name, "passphrase");
    /// assert!(schema.variant_of("passphrase").is_none());
    /// assert!(schema.variant_of("hostname").is_none());
    /// ```
    pub fn variant_of(&self, name: &str) -> Option<&'static FieldSpec> {
        let folded = names::fold(name);
        self.fields
            .iter()
            .find(|field| field.name != name && declared_fold(field.name) == folded)
    }
}

/// Words that make an undeclared key look like a secret, wherever they appear in its name.
///
/// Every declared secret field name of every schema counts as well (see [`looks_secret`]), so
/// `passphrase` or `connection_string` is refused as plain `extra_data` on a kind that does not
/// declare it. `private` alone is not on the list: `private_ip` or `private_network` name
/// connection settings, and `private_key` is already here.
pub const SECRET_LIKE_PARTS: [&str; 10] = [
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "private_key",
    "ssh_key",
    "api_key",
    "credential",
    "dsn",
];

/// Whether a key name looks like it holds a secret.
///
/// The name is compared in its [`names::fold`]ed form, so case, separators, camelCase,
/// compatibility forms, confusable letters and invisible characters make no difference. It
/// looks secret when it contains one of [`SECRET_LIKE_PARTS`] or the name of any declared
/// secret field of any schema.
///
/// ```
/// use credvault_domain::schema::looks_secret;
///
/// assert!(looks_secret("db_PASSWORD"));
/// assert!(looks_secret("refreshToken"));
/// assert!(looks_secret("Passphrase"));
/// assert!(looks_secret("connectionString"));
/// assert!(looks_secret("\u{440}assword")); // Cyrillic er
/// assert!(!looks_secret("host"));
/// ```
pub fn looks_secret(name: &str) -> bool {
    let folded = names::fold(name);
    secret_like_folds()
        .iter()
        .any(|part| folded.contains(part.as_str()))
}

/// The folded [`SECRET_LIKE_PARTS`] and declared secret field names, computed once.
fn secret_like_folds() -> &'static [String] {
    static FOLDS: LazyLock<Vec<String>> = LazyLock::new(|| {
        let declared = SCHEMAS
            .iter()
            .flat_map(Schema::secret_fields)
            .map(|field| field.name);
        let mut folds: Vec<String> = SECRET_LIKE_PARTS
            .into_iter()
            .chain(declared)
            .map(names::fold)
            .collect();
        folds.sort();
        folds.dedup();
        folds
    });
    &FOLDS
}

/// The fold of a declared field name, computed once per name.
fn declared_fold(name: &str) -> &'static str {
    static FOLDS: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
        let mut folds: Vec<(&'static str, String)> = SCHEMAS
            .iter()
            .flat_map(|schema| schema.fields)
            .map(|field| (field.name, names::fold(field.name)))
            .collect();
        folds.sort();
        folds.dedup();
        folds
    });
    FOLDS
        .binary_search_by(|(declared, _)| (*declared).cmp(name))
        .map_or("", |index| FOLDS[index].1.as_str())
}

/// Whether `name` is, exactly, a declared non-secret field of some schema (such as `token_url`,
/// which contains `token`). Such a key is a plain value wherever it is declared.
pub fn is_declared_plain(name: &str) -> bool {
    SCHEMAS
        .iter()
        .flat_map(|schema| schema.fields)
        .any(|field| !field.secret && field.name == name)
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

const HOST: FieldSpec = FieldSpec::plain(fields::HOST, FieldType::Hostname).max_len(253);
const PORT: FieldSpec = FieldSpec::plain(fields::PORT, FieldType::Port);
const USERNAME: FieldSpec = FieldSpec::plain(fields::USERNAME, FieldType::Text).max_len(200);
const DATABASE: FieldSpec = FieldSpec::plain(fields::DATABASE, FieldType::Text).max_len(200);
const SSL_MODE: FieldSpec = FieldSpec::plain(fields::SSL_MODE, FieldType::Enum(SSL_MODES));
/// Which authentication a PostgreSQL connection test accepts (`extra_data.require_auth`, named
/// after libpq's keyword): `scram-sha-256` (the default: a server that asks for the password in
/// clear or as MD5, or for none, is refused where the linked libpq supports it) or `any` (the
/// credential opts in to whatever the server asks for, cleartext and MD5 included).
pub const REQUIRE_AUTH_VALUES: &[&str] = &["scram-sha-256", "any"];
const REQUIRE_AUTH: FieldSpec =
    FieldSpec::plain(fields::REQUIRE_AUTH, FieldType::Enum(REQUIRE_AUTH_VALUES));
const SITE_URL: FieldSpec = FieldSpec::plain(fields::SITE_URL, FieldType::Url).max_len(2048);
const PASSWORD: FieldSpec = FieldSpec::secret(fields::PASSWORD, FieldType::Text).max_len(1024);
const CONNECTION_STRING: FieldSpec =
    FieldSpec::secret(fields::CONNECTION_STRING, FieldType::ConnectionString).max_len(4096);
const PRIVATE_KEY: FieldSpec =
    FieldSpec::secret(fields::PRIVATE_KEY, FieldType::Pem).max_len(16384);
const PASSPHRASE: FieldSpec = FieldSpec::secret(fields::PASSPHRASE, FieldType::Text).max_len(1024);
const CLIENT_ID: FieldSpec = FieldSpec::plain(fields::CLIENT_ID, FieldType::Text).max_len(512);
const TENANT_ID: FieldSpec = FieldSpec::plain(fields::TENANT_ID, FieldType::Text).max_len(200);
const TOKEN_URL: FieldSpec = FieldSpec::plain(fields::TOKEN_URL, FieldType::Url).max_len(2048);
const SCOPES: FieldSpec = FieldSpec::plain(fields::SCOPES, FieldType::Scopes).max_len(4096);
const EXPIRES_AT: FieldSpec =
    FieldSpec::plain(fields::EXPIRES_AT, FieldType::Timestamp).descriptive();
const CLIENT_SECRET: FieldSpec =
    FieldSpec::secret(fields::CLIENT_SECRET, FieldType::Text).max_len(2048);
const ACCESS_TOKEN: FieldSpec = FieldSpec::secret(fields::ACCESS_TOKEN, FieldType::Text);
const REFRESH_TOKEN: FieldSpec = FieldSpec::secret(fields::REFRESH_TOKEN, FieldType::Text);

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

const UNLESS_CONNECTION_STRING: Required = Required::UnlessPresent(fields::CONNECTION_STRING);

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
    FieldSpec::plain(fields::ACCESS_KEY_ID, FieldType::Text)
        .max_len(128)
        .required(),
    FieldSpec::plain(fields::REGION, FieldType::Text)
        .max_len(64)
        .required(),
    FieldSpec::secret(fields::SECRET_ACCESS_KEY, FieldType::Text)
        .max_len(256)
        .required(),
];

/// The client id and secret of an OAuth kind: the credential's own, unless it is linked to an
/// OAuth app of its team, which then supplies both.
const UNLESS_OAUTH_APP: Required = Required::UnlessOAuthApp;

const MICROSOFT_OAUTH: &[FieldSpec] = &[
    CLIENT_ID.required_when(UNLESS_OAUTH_APP),
    TENANT_ID,
    TOKEN_URL,
    SCOPES,
    SITE_URL,
    EXPIRES_AT,
    CLIENT_SECRET.required_when(UNLESS_OAUTH_APP),
    ACCESS_TOKEN,
    REFRESH_TOKEN,
];

const GOOGLE_OAUTH: &[FieldSpec] = &[
    CLIENT_ID.required_when(UNLESS_OAUTH_APP),
    TOKEN_URL,
    SCOPES,
    EXPIRES_AT,
    CLIENT_SECRET.required_when(UNLESS_OAUTH_APP),
    ACCESS_TOKEN,
    REFRESH_TOKEN,
];

const KEYSTATIC: &[FieldSpec] = &[
    FieldSpec::plain(fields::REPOSITORY, FieldType::Text).max_len(200),
    FieldSpec::plain("branch", FieldType::Text).max_len(200),
    FieldSpec::plain("content_paths", FieldType::Object).descriptive(),
    FieldSpec::secret(fields::GITHUB_TOKEN, FieldType::Text)
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
    FieldSpec::secret(fields::APP_PASSWORD, FieldType::Text)
        .max_len(256)
        .required_when(Required::UnlessPresent(fields::APPLICATION_PASSWORD)),
    FieldSpec::secret(fields::APPLICATION_PASSWORD, FieldType::Text)
        .max_len(256)
        .required_when(Required::UnlessPresent(fields::APP_PASSWORD)),
];

const GITHUB: &[FieldSpec] = &[
    FieldSpec::plain(fields::ORGANIZATION, FieldType::Text).max_len(200),
    FieldSpec::secret(fields::GITHUB_TOKEN, FieldType::Text)
        .max_len(512)
        .required(),
];

const STRIPE: &[FieldSpec] = &[
    FieldSpec::plain(fields::ACCOUNT_ID, FieldType::Text).max_len(200),
    FieldSpec::secret(fields::API_KEY, FieldType::Text)
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
    fn only_the_oauth_kinds_let_an_app_supply_their_client_id_and_secret() {
        for schema in SCHEMAS {
            let supplied: Vec<&str> = schema
                .fields
                .iter()
                .filter(|field| field.required == Required::UnlessOAuthApp)
                .map(|field| field.name)
                .collect();
            if crate::release::is_oauth(schema.kind) {
                assert_eq!(
                    supplied,
                    ["client_id", "client_secret"],
                    "{:?}",
                    schema.kind
                );
            } else {
                assert!(supplied.is_empty(), "{:?}", schema.kind);
            }
        }
    }

    #[test]
    fn no_name_is_declared_secret_in_one_schema_and_plain_in_another() {
        for schema in SCHEMAS {
            for field in schema.secret_fields() {
                assert!(!is_declared_plain(field.name), "{}", field.name);
            }
        }
    }

    #[test]
    fn every_declared_secret_name_looks_secret_in_every_spelling() {
        for schema in SCHEMAS {
            for field in schema.secret_fields() {
                let name = field.name;
                for variant in [
                    name.to_owned(),
                    name.to_uppercase(),
                    name.replace('_', "-"),
                    name.replace('_', ""),
                    camel_case(name),
                ] {
                    assert!(looks_secret(&variant), "{variant}");
                }
            }
        }
    }

    fn camel_case(name: &str) -> String {
        let mut parts = name.split('_');
        let mut out = parts.next().unwrap_or_default().to_owned();
        for part in parts {
            let mut chars = part.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        }
        out
    }

    #[test]
    fn variants_of_declared_names_name_the_declared_field() {
        let Some(postgres) = schema_for(Provider::Postgresql, Kind::UserPassword) else {
            panic!("postgresql/user_password has a schema");
        };
        for (variant, declared) in [
            ("Host", "host"),
            ("HOST", "host"),
            ("Connection_String", "connection_string"),
            ("connectionString", "connection_string"),
            ("ssl-mode", "ssl_mode"),
            ("pass\u{200b}word", "password"),
        ] {
            assert_eq!(
                postgres.variant_of(variant).map(|field| field.name),
                Some(declared),
                "{variant:?}"
            );
        }
        assert!(postgres.variant_of("application_name").is_none());
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
            "passphrase",
            "Passphrase",
            "connection_string",
            "Connection_String",
            "connectionString",
            "admin_passwd",
            "PWD",
            "ssh-key",
            "credentials",
            "dsn",
            "secret_access_key",
            "app_password",
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
            "private_ip",
            "application_name",
            "access_key_id",
            "database",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }
}
