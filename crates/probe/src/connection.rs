//! How a workload connects to what a credential points at: the connection part of a *use*
//! (SPEC §10), built from the same fields a connection test reads.
//!
//! For PostgreSQL, the libpq parameters (`host`, `port`, `dbname`, `user`, `password`, `sslmode`,
//! and any other keyword of a stored connection string) and one `postgresql://` URI; for SFTP,
//! the host, port, user name and the pinned host key. Other providers have none.
//!
//! The precedence is the connection test's ([`crate::postgres`]): a stored `connection_string`
//! wins over the separate fields, which are then not read at all, so what a use hands out is
//! what a test connected with. Unlike a test, a use passes the string's keywords on as they are
//! (the workload runs elsewhere, with its own files and sockets) and adds none of its own: no
//! `require_auth` from `extra_data` (that is the vault's test policy) and none of the keywords a
//! test sets for itself (`connect_timeout`, `passfile`, …).
//!
//! ```
//! use credvault_domain::ids::{CredentialId, PrincipalId, TeamId};
//! use credvault_domain::patch::{NewCredential, new_credential};
//! use credvault_probe::connection::{Connection, connection_for};
//! use serde_json::json;
//!
//! let input = NewCredential::from_json(json!({
//!     "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
//!     "extra_data": {"host": "db", "database": "dw", "username": "etl", "password": "p@ss"}
//! }))
//! .unwrap();
//! let created = new_credential(
//!     &input, CredentialId::new(), TeamId::new(), PrincipalId::new(), chrono::Utc::now(),
//! )
//! .unwrap();
//! let Some(Connection::Postgresql(postgres)) =
//!     connection_for(&created.credential, &created.secrets).unwrap()
//! else {
//!     panic!("a PostgreSQL credential has a PostgreSQL connection");
//! };
//! assert_eq!(postgres.uri.expose(), "postgresql://etl:p%40ss@db:5432/dw");
//! assert!(!format!("{postgres:?}").contains("p@ss"));
//! ```

use credvault_domain::credential::Credential;
use credvault_domain::schema::{Kind, Provider, fields};
use credvault_domain::secret::{MASK, SecretMap, SecretValue};
use credvault_domain::validate::ValidationErrors;
use serde_json::Value;

use crate::Fields;
use crate::postgres::connection_string::{self, ConnParams};

/// The default PostgreSQL port.
const POSTGRES_PORT: u16 = 5432;

/// The default SSH port.
const SFTP_PORT: u16 = 22;

/// How to connect, by provider.
#[derive(Debug)]
pub enum Connection {
    /// A PostgreSQL server.
    Postgresql(PostgresConnection),
    /// An SFTP server.
    Sftp(SftpConnection),
}

/// The libpq parameters of a PostgreSQL credential. `Debug` names the keywords of `params` and
/// masks every value (any of them may be secret: `password`, or an option of a stored connection
/// string), and the URI.
pub struct PostgresConnection {
    /// `postgresql://user:password@host:port/dbname?sslmode=…`, every part percent-encoded (an
    /// IPv6 host in brackets); the keywords without a place in a URI (`hostaddr`, `sslmode`, the
    /// other options of a connection string) are query parameters.
    pub uri: SecretValue,
    /// libpq keyword → value, in a stable order (`host`, `hostaddr`, `port`, `dbname`, `user`,
    /// `password`, `sslmode`, then any other keyword of a connection string in its order). Only
    /// keywords with a value.
    pub params: Vec<(String, SecretValue)>,
}

impl std::fmt::Debug for PostgresConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keywords: Vec<&str> = self
            .params
            .iter()
            .map(|(keyword, _)| keyword.as_str())
            .collect();
        f.debug_struct("PostgresConnection")
            .field("uri", &MASK)
            .field("params", &keywords)
            .finish()
    }
}

impl PostgresConnection {
    /// The value of a libpq keyword, if set.
    pub fn param(&self, keyword: &str) -> Option<&SecretValue> {
        self.params
            .iter()
            .find(|(name, _)| name == keyword)
            .map(|(_, value)| value)
    }
}

/// The connection settings of an SFTP credential (its secrets are the use's `secrets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SftpConnection {
    /// Host name or address.
    pub host: String,
    /// Port (22 when not stored).
    pub port: u16,
    /// User name.
    pub username: String,
    /// The pinned host key (`SHA256:…`), if the credential has one.
    pub host_key_sha256: Option<String>,
}

/// The connection of `credential` with its (opened) `secrets`: `None` for providers without one,
/// field errors (naming every missing or malformed field) when the stored fields cannot make
/// one.
pub fn connection_for(
    credential: &Credential,
    secrets: &SecretMap,
) -> Result<Option<Connection>, ValidationErrors> {
    let reader = Fields {
        extra_data: &credential.extra_data,
        secrets,
        errors: ValidationErrors::new(),
    };
    match (credential.provider, credential.kind) {
        (Provider::Postgresql | Provider::InternalPostgresql, Kind::UserPassword) => {
            postgres(reader).map(|postgres| Some(Connection::Postgresql(postgres)))
        }
        (Provider::Sftp, Kind::UserPassword | Kind::KeyFile) => {
            sftp(reader).map(|sftp| Some(Connection::Sftp(sftp)))
        }
        _ => Ok(None),
    }
}

/// A string of `extra_data` that the connection needs, or an error naming it.
fn required_text(reader: &mut Fields<'_>, name: &str) -> String {
    match reader.text(name).filter(|value| !value.is_empty()) {
        Some(value) => value,
        None => {
            reader.invalid(name, "is required to connect");
            String::new()
        }
    }
}

fn postgres(mut reader: Fields<'_>) -> Result<PostgresConnection, ValidationErrors> {
    let params = match reader.secret(fields::CONNECTION_STRING) {
        Some(text) => match connection_string::parse(text.expose()) {
            Ok(params) => params,
            Err(error) => {
                reader.invalid(fields::CONNECTION_STRING, &error.to_string());
                ConnParams::default()
            }
        },
        None => {
            let host = required_text(&mut reader, fields::HOST);
            let port = reader.port(POSTGRES_PORT);
            let username = required_text(&mut reader, fields::USERNAME);
            let password = reader.secret(fields::PASSWORD);
            if password.is_none() {
                reader.invalid(
                    fields::PASSWORD,
                    "is a secret required to connect, and none is stored",
                );
            }
            let mut options = Vec::new();
            if let Some(database) = reader
                .text(fields::DATABASE)
                .filter(|name| !name.is_empty())
            {
                options.push(("dbname".to_owned(), database));
            }
            options.push(("user".to_owned(), username));
            if let Some(ssl_mode) = reader.text(fields::SSL_MODE) {
                options.push(("sslmode".to_owned(), ssl_mode));
            }
            ConnParams {
                host: Some(host),
                hostaddr: None,
                port: Some(port.to_string()),
                options,
                password,
            }
        }
    };
    let connection = postgres_connection(params);
    reader.finish(connection)
}

/// The keywords in the order they are listed first, each followed by the others.
const LEADING_KEYWORDS: [&str; 7] = [
    "host", "hostaddr", "port", "dbname", "user", "password", "sslmode",
];

/// The libpq parameters and the URI of parsed connection parameters.
fn postgres_connection(params: ConnParams) -> PostgresConnection {
    let ConnParams {
        host,
        hostaddr,
        port,
        options,
        password,
    } = params;
    let non_empty = |value: Option<String>| value.filter(|value| !value.is_empty());
    let mut listed: Vec<(String, SecretValue)> = Vec::new();
    let mut push = |keyword: &str, value: SecretValue| listed.push((keyword.to_owned(), value));
    for (keyword, value) in [("host", host), ("hostaddr", hostaddr), ("port", port)] {
        if let Some(value) = non_empty(value) {
            push(keyword, SecretValue::new(value));
        }
    }
    let option = |keyword: &str| {
        options
            .iter()
            .find(|(name, _)| name == keyword)
            .map(|(_, value)| value.clone())
    };
    for keyword in ["dbname", "user"] {
        if let Some(value) = non_empty(option(keyword)) {
            push(keyword, SecretValue::new(value));
        }
    }
    if let Some(password) = password.filter(|password| !password.expose().is_empty()) {
        push("password", password);
    }
    if let Some(value) = non_empty(option("sslmode")) {
        push("sslmode", SecretValue::new(value));
    }
    for (keyword, value) in &options {
        if !LEADING_KEYWORDS.contains(&keyword.as_str()) && !value.is_empty() {
            push(keyword, SecretValue::new(value.clone()));
        }
    }
    let uri = render_uri(&listed);
    PostgresConnection {
        uri,
        params: listed,
    }
}

/// Where [`write_uri`] writes: a counter first, to size the buffer, then the buffer.
trait Sink {
    fn push_str(&mut self, text: &str);

    /// `text` percent-encoded: every byte but RFC 3986's unreserved characters.
    fn push_encoded(&mut self, text: &str);
}

impl Sink for usize {
    fn push_str(&mut self, text: &str) {
        *self += text.len();
    }

    fn push_encoded(&mut self, text: &str) {
        *self += text
            .bytes()
            .map(|byte| if is_unreserved(byte) { 1 } else { 3 })
            .sum::<usize>();
    }
}

impl Sink for String {
    fn push_str(&mut self, text: &str) {
        String::push_str(self, text);
    }

    fn push_encoded(&mut self, text: &str) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        for byte in text.bytes() {
            if is_unreserved(byte) {
                self.push(char::from(byte));
            } else {
                self.push('%');
                self.push(char::from(HEX[usize::from(byte >> 4)]));
                self.push(char::from(HEX[usize::from(byte & 0x0f)]));
            }
        }
    }
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// The URI of `params`, in one buffer sized up front: a `String` that grows moves its text and
/// leaves the old copy (with the password) in freed memory; this one never grows, and is wiped
/// on drop by [`SecretValue`].
fn render_uri(params: &[(String, SecretValue)]) -> SecretValue {
    let mut length = 0_usize;
    write_uri(&mut length, params);
    let mut text = String::with_capacity(length);
    write_uri(&mut text, params);
    debug_assert_eq!(text.capacity(), length, "the URI buffer never reallocates");
    SecretValue::new(text)
}

fn write_uri(out: &mut impl Sink, params: &[(String, SecretValue)]) {
    let get = |keyword: &str| {
        params
            .iter()
            .find(|(name, _)| name == keyword)
            .map(|(_, value)| value.expose())
    };
    out.push_str("postgresql://");
    let user = get("user");
    let password = get("password");
    if user.is_some() || password.is_some() {
        out.push_encoded(user.unwrap_or_default());
        if let Some(password) = password {
            out.push_str(":");
            out.push_encoded(password);
        }
        out.push_str("@");
    }
    // The authority holds the hosts with their ports; several hosts (`a,b`) are listed there
    // only when each has its port or one port serves them all, else both go in the query.
    let hosts: Vec<&str> = get("host")
        .map(|host| host.split(',').collect())
        .unwrap_or_default();
    let ports: Vec<&str> = get("port")
        .map(|port| port.split(',').collect())
        .unwrap_or_default();
    let in_authority = !hosts.is_empty() && (ports.len() <= 1 || ports.len() == hosts.len());
    if in_authority {
        for (index, host) in hosts.iter().enumerate() {
            if index > 0 {
                out.push_str(",");
            }
            if host.contains(':') {
                // An IPv6 address; libpq reads what is in brackets as it is.
                out.push_str("[");
                out.push_str(host);
                out.push_str("]");
            } else {
                out.push_encoded(host);
            }
            let port = if ports.len() == hosts.len() {
                ports.get(index)
            } else {
                ports.first()
            };
            if let Some(port) = port.filter(|port| !port.is_empty()) {
                out.push_str(":");
                out.push_encoded(port);
            }
        }
    }
    let query: Vec<(&str, &str)> = params
        .iter()
        .map(|(keyword, value)| (keyword.as_str(), value.expose()))
        .filter(|(keyword, _)| match *keyword {
            "host" | "port" => !in_authority,
            "dbname" | "user" | "password" => false,
            _ => true,
        })
        .collect();
    let dbname = get("dbname");
    if dbname.is_some() || !query.is_empty() {
        out.push_str("/");
        out.push_encoded(dbname.unwrap_or_default());
    }
    for (index, (keyword, value)) in query.iter().enumerate() {
        out.push_str(if index == 0 { "?" } else { "&" });
        out.push_encoded(keyword);
        out.push_str("=");
        out.push_encoded(value);
    }
}

fn sftp(mut reader: Fields<'_>) -> Result<SftpConnection, ValidationErrors> {
    let host = required_text(&mut reader, fields::HOST);
    let port = reader.port(SFTP_PORT);
    let username = required_text(&mut reader, fields::USERNAME);
    let host_key_sha256 = match reader.extra_data.get(fields::HOST_KEY_SHA256) {
        None | Some(Value::Null) => None,
        // As stored: the workload compares it with the server's key (a connection test checks
        // its form, and says so).
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            reader.invalid(
                fields::HOST_KEY_SHA256,
                "must be an OpenSSH SHA256 host key fingerprint (ssh-keygen -lf)",
            );
            None
        }
    };
    reader.finish(SftpConnection {
        host,
        port,
        username,
        host_key_sha256,
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use credvault_domain::ids::{CredentialId, PrincipalId, TeamId};
    use credvault_domain::patch::{NewCredential, new_credential};
    use serde_json::json;

    use super::*;

    fn created(body: Value) -> (Credential, SecretMap) {
        let input = NewCredential::from_json(body).unwrap();
        let created = new_credential(
            &input,
            CredentialId::new(),
            TeamId::new(),
            PrincipalId::new(),
            chrono::Utc::now(),
        )
        .unwrap();
        (created.credential, created.secrets)
    }

    fn postgres_of(extra_data: Value) -> PostgresConnection {
        let (credential, secrets) = created(json!({
            "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
            "extra_data": extra_data,
        }));
        match connection_for(&credential, &secrets).unwrap() {
            Some(Connection::Postgresql(postgres)) => postgres,
            other => panic!("not a PostgreSQL connection: {other:?}"),
        }
    }

    fn params(connection: &PostgresConnection) -> Vec<(&str, &str)> {
        connection
            .params
            .iter()
            .map(|(keyword, value)| (keyword.as_str(), value.expose()))
            .collect()
    }

    #[test]
    fn the_fields_make_params_in_order_and_a_uri() {
        let connection = postgres_of(json!({
            "host": "db.internal", "port": 6432, "database": "dw", "username": "etl",
            "ssl_mode": "require", "require_auth": "any", "password": "pw-1"
        }));
        assert_eq!(
            params(&connection),
            [
                ("host", "db.internal"),
                ("port", "6432"),
                ("dbname", "dw"),
                ("user", "etl"),
                ("password", "pw-1"),
                ("sslmode", "require"),
            ]
        );
        assert_eq!(
            connection.uri.expose(),
            "postgresql://etl:pw-1@db.internal:6432/dw?sslmode=require"
        );
    }

    #[test]
    fn the_port_defaults_to_5432_and_the_database_is_optional() {
        let connection = postgres_of(json!({"host": "db", "username": "etl", "password": "pw"}));
        assert_eq!(
            params(&connection),
            [
                ("host", "db"),
                ("port", "5432"),
                ("user", "etl"),
                ("password", "pw")
            ]
        );
        assert_eq!(connection.uri.expose(), "postgresql://etl:pw@db:5432");
    }

    #[test]
    fn reserved_characters_and_spaces_are_percent_encoded() {
        let connection = postgres_of(json!({
            "host": "db", "username": "e t@l:/?#%", "database": "my db/?#",
            "password": "p@ss:w/o?r#d% x"
        }));
        assert_eq!(
            connection.uri.expose(),
            "postgresql://e%20t%40l%3A%2F%3F%23%25:p%40ss%3Aw%2Fo%3Fr%23d%25%20x@db:5432/my%20db%2F%3F%23"
        );
        // libpq reads it back to the same values.
        let parsed = connection_string::parse(connection.uri.expose()).unwrap();
        assert_eq!(parsed.password.unwrap().expose(), "p@ss:w/o?r#d% x");
        assert!(
            parsed
                .options
                .contains(&("user".to_owned(), "e t@l:/?#%".to_owned()))
        );
        assert!(
            parsed
                .options
                .contains(&("dbname".to_owned(), "my db/?#".to_owned()))
        );
        // The params keep the plain values.
        assert_eq!(connection.param("user").unwrap().expose(), "e t@l:/?#%");
    }

    #[test]
    fn an_ipv6_host_is_bracketed() {
        let connection = postgres_of(json!({
            "host": "2001:db8::1", "username": "etl", "password": "pw"
        }));
        assert_eq!(
            connection.uri.expose(),
            "postgresql://etl:pw@[2001:db8::1]:5432"
        );
        let parsed = connection_string::parse(connection.uri.expose()).unwrap();
        assert_eq!(parsed.host.as_deref(), Some("2001:db8::1"));
    }

    #[test]
    fn a_uri_connection_string_gives_its_keywords() {
        let connection = postgres_of(json!({
            "connection_string":
                "postgres://etl%40corp:s%3Acret@[::1]:6543/dw?sslmode=verify-full&application_name=etl%20job&connect_timeout=5"
        }));
        assert_eq!(
            params(&connection),
            [
                ("host", "::1"),
                ("port", "6543"),
                ("dbname", "dw"),
                ("user", "etl@corp"),
                ("password", "s:cret"),
                ("sslmode", "verify-full"),
                ("application_name", "etl job"),
                ("connect_timeout", "5"),
            ]
        );
        assert_eq!(
            connection.uri.expose(),
            "postgresql://etl%40corp:s%3Acret@[::1]:6543/dw?sslmode=verify-full&application_name=etl%20job&connect_timeout=5"
        );
    }

    #[test]
    fn a_keyword_value_connection_string_gives_its_keywords() {
        let connection = postgres_of(json!({
            "connection_string":
                "host=db.internal hostaddr=192.0.2.7 port=5433 user=etl password='it\\'s x' dbname='my db' target_session_attrs=read-write"
        }));
        assert_eq!(
            params(&connection),
            [
                ("host", "db.internal"),
                ("hostaddr", "192.0.2.7"),
                ("port", "5433"),
                ("dbname", "my db"),
                ("user", "etl"),
                ("password", "it's x"),
                ("target_session_attrs", "read-write"),
            ]
        );
        assert_eq!(
            connection.uri.expose(),
            "postgresql://etl:it%27s%20x@db.internal:5433/my%20db?hostaddr=192.0.2.7&target_session_attrs=read-write"
        );
        // No keyword of the probe's own is added.
        for keyword in ["connect_timeout", "passfile", "require_auth", "sslcert"] {
            assert!(connection.param(keyword).is_none(), "{keyword}");
        }
    }

    #[test]
    fn a_connection_string_wins_over_the_fields_as_in_a_connection_test() {
        let connection = postgres_of(json!({
            "host": "fields-host", "port": 1111, "username": "fields-user",
            "database": "fields-db", "ssl_mode": "disable", "password": "fields-pw",
            "connection_string": "postgresql://string-user:string-pw@string-host/string-db"
        }));
        assert_eq!(
            params(&connection),
            [
                ("host", "string-host"),
                ("dbname", "string-db"),
                ("user", "string-user"),
                ("password", "string-pw"),
            ]
        );
        assert_eq!(
            connection.uri.expose(),
            "postgresql://string-user:string-pw@string-host/string-db"
        );
    }

    #[test]
    fn several_hosts_keep_their_ports() {
        let connection = postgres_of(json!({
            "connection_string": "postgresql://etl:pw@a:1,b:2/dw"
        }));
        assert_eq!(connection.uri.expose(), "postgresql://etl:pw@a:1,b:2/dw");
        let connection = postgres_of(json!({
            "connection_string": "host=a,b,c port=1,2 user=etl password=pw"
        }));
        assert_eq!(
            connection.uri.expose(),
            "postgresql://etl:pw@/?host=a%2Cb%2Cc&port=1%2C2"
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let (mut credential, mut secrets) = created(json!({
            "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
            "extra_data": {"host": "db", "username": "etl", "password": "pw"}
        }));
        credential.extra_data.clear();
        secrets.remove(fields::PASSWORD);
        let errors = connection_for(&credential, &secrets).unwrap_err();
        let text = format!("{errors:?}");
        for field in [
            "extra_data.host",
            "extra_data.username",
            "extra_data.password",
        ] {
            assert!(text.contains(field), "{field} in {text}");
        }
    }

    #[test]
    fn debug_output_never_holds_the_password() {
        let connection = postgres_of(json!({
            "host": "db", "username": "etl", "password": "hunter2-secret"
        }));
        assert!(connection.uri.expose().contains("hunter2-secret"));
        let shown = format!("{:?}", Connection::Postgresql(connection));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("\"password\""),
            "the keywords are named: {shown}"
        );
        let connection = postgres_of(json!({
            "connection_string": "host=db user=etl password=hunter2-secret"
        }));
        let shown = format!("{connection:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn sftp_gives_host_port_user_and_pin() {
        let (credential, secrets) = created(json!({
            "provider": "sftp", "kind": "user_password", "name": "Drop",
            "extra_data": {"host": "sftp.example", "username": "drop", "password": "pw",
                           "host_key_sha256": "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"}
        }));
        let Some(Connection::Sftp(sftp)) = connection_for(&credential, &secrets).unwrap() else {
            panic!("an SFTP connection");
        };
        assert_eq!(
            sftp,
            SftpConnection {
                host: "sftp.example".to_owned(),
                port: 22,
                username: "drop".to_owned(),
                host_key_sha256: Some(
                    "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8".to_owned()
                ),
            }
        );
        let (credential, secrets) = created(json!({
            "provider": "sftp", "kind": "key_file", "name": "Drop",
            "extra_data": {"host": "sftp.example", "port": 2222, "username": "drop",
                           "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"}
        }));
        let Some(Connection::Sftp(sftp)) = connection_for(&credential, &secrets).unwrap() else {
            panic!("an SFTP connection");
        };
        assert_eq!((sftp.port, sftp.host_key_sha256), (2222, None));
        let (mut credential, secrets) = created(json!({
            "provider": "sftp", "kind": "user_password", "name": "Drop",
            "extra_data": {"host": "sftp.example", "username": "drop", "password": "pw"}
        }));
        credential
            .extra_data
            .insert(fields::HOST_KEY_SHA256.to_owned(), json!(42));
        let errors = connection_for(&credential, &secrets).unwrap_err();
        assert!(format!("{errors:?}").contains("extra_data.host_key_sha256"));
    }

    #[test]
    fn other_providers_have_no_connection() {
        for body in [
            json!({"provider": "stripe", "kind": "api_key", "name": "Billing",
                   "extra_data": {"api_key": "sk_test_1"}}),
            json!({"provider": "github", "kind": "api_key", "name": "Bot",
                   "extra_data": {"github_token": "ghp_1"}}),
        ] {
            let (credential, secrets) = created(body);
            assert!(connection_for(&credential, &secrets).unwrap().is_none());
        }
    }
}
