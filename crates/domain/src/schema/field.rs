//! Field specifications: name, type, required-ness and secret-ness of one credential field.

use chrono::DateTime;
use serde_json::Value;

/// When a field must be present.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Required {
    /// Never required.
    No,
    /// Always required.
    Always,
    /// Required unless the named field is present (e.g. `host` unless `connection_string`).
    UnlessPresent(&'static str),
    /// Required unless the credential is linked to an OAuth app (`oauth_app_id`), which then
    /// supplies the value: the client id and secret of the OAuth kinds.
    UnlessOAuthApp,
}

/// The type a field's value must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// A string of printable text without line breaks.
    Text,
    /// A DNS name or IP address.
    Hostname,
    /// An integer from 1 to 65535.
    Port,
    /// One of the listed strings.
    Enum(&'static [&'static str]),
    /// An absolute `http` or `https` URL.
    Url,
    /// An RFC 3339 timestamp.
    Timestamp,
    /// A space-separated string or an array of strings.
    Scopes,
    /// A JSON object, replaced wholesale by a PATCH.
    Object,
    /// A PEM-encoded block (`-----BEGIN …-----` … `-----END …-----`). Secret fields only.
    Pem,
    /// A PostgreSQL connection URI or keyword/value string. Secret fields only.
    ConnectionString,
}

/// One declared field of a provider/kind schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSpec {
    /// The key inside `extra_data`.
    pub name: &'static str,
    /// The value's type.
    pub ty: FieldType,
    /// When the field must be present.
    pub required: Required,
    /// Whether the value is a secret: encrypted, masked in responses, never in `extra_data`.
    pub secret: bool,
    /// Whether changing the value can change where or how the credential connects; such a change
    /// moves a `connected`/`error`/`expired` credential back to `credentials_saved`.
    pub connection: bool,
    /// The longest value accepted, in characters (for strings).
    pub max_len: usize,
}

impl FieldSpec {
    /// A non-secret optional connection field of the given type.
    pub const fn plain(name: &'static str, ty: FieldType) -> Self {
        Self {
            name,
            ty,
            required: Required::No,
            secret: false,
            connection: true,
            max_len: 1024,
        }
    }

    /// An optional secret field of the given type.
    pub const fn secret(name: &'static str, ty: FieldType) -> Self {
        Self {
            name,
            ty,
            required: Required::No,
            secret: true,
            connection: true,
            max_len: 8192,
        }
    }

    /// The same field, always required.
    pub const fn required(self) -> Self {
        self.required_when(Required::Always)
    }

    /// The same field with the given requirement.
    pub const fn required_when(mut self, required: Required) -> Self {
        self.required = required;
        self
    }

    /// The same field with another length limit.
    pub const fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// The same field, marked as not affecting the connection.
    pub const fn descriptive(mut self) -> Self {
        self.connection = false;
        self
    }

    /// Whether the field is required, given a predicate telling which fields are present and
    /// whether the credential is linked to an OAuth app.
    ///
    /// ```
    /// use credvault_domain::schema::{Kind, Provider, schema_for};
    ///
    /// let google = schema_for(Provider::Google, Kind::GoogleOauth).unwrap();
    /// let client_secret = google.field("client_secret").unwrap();
    /// assert!(client_secret.is_required(|_| false, false));
    /// // A linked app supplies the client id and secret.
    /// assert!(!client_secret.is_required(|_| false, true));
    /// ```
    pub fn is_required(&self, is_present: impl Fn(&str) -> bool, has_oauth_app: bool) -> bool {
        match self.required {
            Required::No => false,
            Required::Always => true,
            Required::UnlessPresent(other) => !is_present(other),
            Required::UnlessOAuthApp => !has_oauth_app,
        }
    }

    /// Checks a non-secret value against the field's type; the error is a message without the value.
    pub fn check_value(&self, value: &Value) -> Result<(), String> {
        match (self.ty, value) {
            (FieldType::Port, Value::Number(number)) => match number.as_u64() {
                Some(1..=65535) => Ok(()),
                _ => Err("must be an integer from 1 to 65535".to_owned()),
            },
            (FieldType::Port, _) => Err("must be an integer from 1 to 65535".to_owned()),
            (FieldType::Object, Value::Object(_)) => Ok(()),
            (FieldType::Object, _) => Err("must be an object".to_owned()),
            (FieldType::Scopes, Value::Array(items)) => {
                if items.iter().all(|item| item.as_str().is_some_and(is_scope)) {
                    Ok(())
                } else {
                    Err("must be a list of scope strings without spaces".to_owned())
                }
            }
            (_, Value::String(text)) => self.check_text(text),
            (FieldType::Scopes, _) => Err("must be a string or a list of strings".to_owned()),
            _ => Err("must be a string".to_owned()),
        }
    }

    /// Checks a secret value; the error never contains the value.
    pub fn check_secret(&self, value: &str) -> Result<(), String> {
        self.check_text(value)
    }

    fn check_text(&self, text: &str) -> Result<(), String> {
        let length = text.chars().count();
        if length > self.max_len {
            return Err(format!("must be at most {} characters", self.max_len));
        }
        match self.ty {
            FieldType::Pem => check_pem(text),
            FieldType::ConnectionString => check_connection_string(text),
            FieldType::Text if text.chars().any(char::is_control) => {
                Err("must not contain control characters".to_owned())
            }
            FieldType::Text => Ok(()),
            FieldType::Hostname if is_hostname(text) => Ok(()),
            FieldType::Hostname => Err("must be a host name or IP address".to_owned()),
            FieldType::Enum(allowed) if allowed.contains(&text) => Ok(()),
            FieldType::Enum(allowed) => Err(format!("must be one of: {}", allowed.join(", "))),
            FieldType::Url if is_http_url(text) => Ok(()),
            FieldType::Url => Err("must be an absolute http or https URL".to_owned()),
            FieldType::Timestamp if DateTime::parse_from_rfc3339(text).is_ok() => Ok(()),
            FieldType::Timestamp => Err("must be an RFC 3339 timestamp".to_owned()),
            FieldType::Scopes
                if text
                    .split(' ')
                    .all(|scope| scope.is_empty() || is_scope(scope)) =>
            {
                Ok(())
            }
            FieldType::Scopes => Err("must be space-separated scope strings".to_owned()),
            FieldType::Port | FieldType::Object => unreachable_type(),
        }
    }
}

fn unreachable_type() -> Result<(), String> {
    // check_value handles these types before reaching text checks.
    Err("has the wrong type".to_owned())
}

fn is_scope(scope: &str) -> bool {
    !scope.is_empty() && scope.chars().all(|ch| ch.is_ascii_graphic())
}

fn is_hostname(text: &str) -> bool {
    if text.is_empty() || text.len() > 253 {
        return false;
    }
    if text.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    // Bracketed IPv6 as written in URLs.
    if let Some(inner) = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    text.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
    })
}

fn is_http_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    match rest {
        Some(rest) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            !authority.is_empty() && !text.chars().any(|ch| ch.is_whitespace() || ch.is_control())
        }
        None => false,
    }
}

fn check_pem(text: &str) -> Result<(), String> {
    let trimmed = text.trim();
    let begin = trimmed
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.split_once("-----"));
    let Some((label, body)) = begin else {
        return Err("must be a PEM block starting with '-----BEGIN <label>-----'".to_owned());
    };
    let end_marker = format!("-----END {label}-----");
    let Some(body) = body.strip_suffix(end_marker.as_str()) else {
        return Err(
            "must be a PEM block ending with the matching '-----END <label>-----'".to_owned(),
        );
    };
    let mut base64_chars = 0usize;
    for line in body.lines().map(str::trim) {
        // OpenSSH and legacy PEM headers ("Proc-Type: ...") are allowed.
        if line.contains(':') {
            continue;
        }
        if !line
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '+' | '/' | '='))
        {
            return Err("must be a PEM block with a base64 body".to_owned());
        }
        base64_chars += line.len();
    }
    if base64_chars == 0 {
        return Err("must be a PEM block with a non-empty body".to_owned());
    }
    Ok(())
}

fn check_connection_string(text: &str) -> Result<(), String> {
    let is_uri = text.starts_with("postgres://") || text.starts_with("postgresql://");
    let is_keyword_form = text.contains('=');
    if is_uri || is_keyword_form {
        Ok(())
    } else {
        Err(
            "must be a 'postgresql://' URI or a keyword/value string such as 'host=… dbname=…'"
                .to_owned(),
        )
    }
}
