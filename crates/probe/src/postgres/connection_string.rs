//! Reading a libpq connection string the way libpq does, so that it can be checked and rebuilt.
//!
//! Both forms are read: the URI (`postgresql://user:password@host:port/dbname?key=value`, with
//! percent-encoding and bracketed IPv6 hosts) and keyword/value pairs
//! (`host=db port=5432 password='it''s'` — values quoted with `'`, `\` escaping). A later value
//! of the same keyword replaces an earlier one. The password is kept as a [`SecretValue`]; error
//! messages never quote the text.

use credvault_domain::secret::SecretValue;

/// The parameters of a connection string. `Debug` names the password's presence, never its value.
#[derive(Default)]
pub(crate) struct ConnParams {
    /// `host`: a name, an address or (refused later) a socket directory.
    pub(crate) host: Option<String>,
    /// `hostaddr`: an IP address.
    pub(crate) hostaddr: Option<String>,
    /// `port`, as written.
    pub(crate) port: Option<String>,
    /// Every other keyword except `password`, in order, the last value of each.
    pub(crate) options: Vec<(String, String)>,
    /// `password`.
    pub(crate) password: Option<SecretValue>,
}

impl std::fmt::Debug for ConnParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnParams")
            .field("host", &self.host)
            .field("hostaddr", &self.hostaddr)
            .field("port", &self.port)
            .field("options", &self.options)
            .field("password", &self.password.as_ref().map(|_| "••••"))
            .finish()
    }
}

impl ConnParams {
    fn set(&mut self, keyword: &str, value: String) {
        match keyword {
            "host" => self.host = Some(value),
            "hostaddr" => self.hostaddr = Some(value),
            "port" => self.port = Some(value),
            "password" => self.password = Some(SecretValue::new(value)),
            _ => {
                self.options.retain(|(name, _)| name != keyword);
                self.options.push((keyword.to_owned(), value));
            }
        }
    }
}

/// Why a connection string could not be read. The text is never quoted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the connection string cannot be read: {0}")]
pub(crate) struct ParseError(&'static str);

/// Reads a connection string in either form.
pub(crate) fn parse(text: &str) -> Result<ConnParams, ParseError> {
    let text = text.trim();
    match text
        .strip_prefix("postgresql://")
        .or_else(|| text.strip_prefix("postgres://"))
    {
        Some(rest) => parse_uri(rest),
        None => parse_keyword_value(text),
    }
}

fn parse_keyword_value(text: &str) -> Result<ConnParams, ParseError> {
    let mut params = ConnParams::default();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|ch| ch.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut keyword = String::new();
        while let Some(ch) = chars.next_if(|ch| *ch != '=' && !ch.is_whitespace()) {
            keyword.push(ch);
        }
        while chars.next_if(|ch| ch.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(ParseError("a keyword is not followed by '='"));
        }
        while chars.next_if(|ch| ch.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    None => return Err(ParseError("a quoted value is not closed")),
                    Some('\\') => match chars.next() {
                        Some(ch) => value.push(ch),
                        None => return Err(ParseError("a quoted value is not closed")),
                    },
                    Some('\'') => break,
                    Some(ch) => value.push(ch),
                }
            }
        } else {
            while let Some(ch) = chars.next_if(|ch| !ch.is_whitespace()) {
                if ch == '\\' {
                    if let Some(escaped) = chars.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(ch);
                }
            }
        }
        if keyword.is_empty() {
            return Err(ParseError("a value has no keyword"));
        }
        params.set(&keyword, value);
    }
    Ok(params)
}

fn parse_uri(rest: &str) -> Result<ConnParams, ParseError> {
    let mut params = ConnParams::default();
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    // As libpq does: credentials end at the first '@' seen before any '/'.
    let credentials_end = before_query
        .find(['@', '/'])
        .filter(|&index| before_query[index..].starts_with('@'));
    let after_credentials = match credentials_end {
        Some(at) => {
            let credentials = &before_query[..at];
            let (user, password) = match credentials.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (credentials, None),
            };
            if !user.is_empty() {
                params.set("user", percent_decode(user)?);
            }
            if let Some(password) = password {
                params.set("password", percent_decode(password)?);
            }
            &before_query[at + 1..]
        }
        None => before_query,
    };
    let (host_part, database) = match after_credentials.split_once('/') {
        Some((hosts, database)) => (hosts, Some(database)),
        None => (after_credentials, None),
    };
    let mut hosts = Vec::new();
    let mut ports = Vec::new();
    for spec in host_part.split(',') {
        let (host, port) = if let Some(rest) = spec.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or(ParseError("a bracketed IPv6 host is not closed"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or(ParseError("unexpected text after a bracketed IPv6 host"))?,
                ),
            };
            (host.to_owned(), port)
        } else {
            match spec.split_once(':') {
                Some((host, port)) => (percent_decode(host)?, Some(port)),
                None => (percent_decode(spec)?, None),
            }
        };
        hosts.push(host);
        ports.push(port.unwrap_or_default().to_owned());
    }
    if hosts.iter().any(|host| !host.is_empty()) {
        params.set("host", hosts.join(","));
    }
    if ports.iter().any(|port| !port.is_empty()) {
        params.set("port", ports.join(","));
    }
    if let Some(database) = database.filter(|database| !database.is_empty()) {
        params.set("dbname", percent_decode(database)?);
    }
    for pair in query.into_iter().flat_map(|query| query.split('&')) {
        if pair.is_empty() {
            continue;
        }
        let (keyword, value) = pair
            .split_once('=')
            .ok_or(ParseError("a query parameter has no '='"))?;
        let keyword = percent_decode(keyword)?;
        let value = percent_decode(value)?;
        // libpq's JDBC-compatible spelling.
        if keyword == "ssl" && value == "true" {
            params.set("sslmode", "require".to_owned());
        } else {
            params.set(&keyword, value);
        }
    }
    Ok(params)
}

fn percent_decode(text: &str) -> Result<String, ParseError> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes
                .get(index + 1..index + 3)
                .and_then(|pair| std::str::from_utf8(pair).ok())
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or(ParseError("a percent-encoding is malformed"))?;
            decoded.push(hex);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| ParseError("a percent-encoded value is not UTF-8"))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn option<'a>(params: &'a ConnParams, keyword: &str) -> Option<&'a str> {
        params
            .options
            .iter()
            .find(|(name, _)| name == keyword)
            .map(|(_, value)| value.as_str())
    }

    #[test]
    fn uri_parts_are_decoded() {
        let params =
            parse("postgresql://etl%40corp:p%40ss%3Aw%2Fd@db.internal:6432/dw%20x?sslmode=verify-full&application_name=a")
                .unwrap();
        assert_eq!(params.host.as_deref(), Some("db.internal"));
        assert_eq!(params.port.as_deref(), Some("6432"));
        assert_eq!(option(&params, "user"), Some("etl@corp"));
        assert_eq!(params.password.as_ref().unwrap().expose(), "p@ss:w/d");
        assert_eq!(option(&params, "dbname"), Some("dw x"));
        assert_eq!(option(&params, "sslmode"), Some("verify-full"));
        assert_eq!(option(&params, "application_name"), Some("a"));
    }

    #[test]
    fn uri_with_ipv6_and_no_credentials() {
        let params = parse("postgres://[::1]:5433").unwrap();
        assert_eq!(params.host.as_deref(), Some("::1"));
        assert_eq!(params.port.as_deref(), Some("5433"));
        assert!(params.password.is_none());
        let params = parse("postgres://[2001:db8::1]/db?ssl=true").unwrap();
        assert_eq!(params.host.as_deref(), Some("2001:db8::1"));
        assert_eq!(option(&params, "sslmode"), Some("require"));
    }

    #[test]
    fn uri_query_parameters_override_the_authority() {
        let params = parse("postgresql:///db?host=other&port=1&password=q").unwrap();
        assert_eq!(params.host.as_deref(), Some("other"));
        assert_eq!(params.port.as_deref(), Some("1"));
        assert_eq!(params.password.as_ref().unwrap().expose(), "q");
    }

    #[test]
    fn uri_with_several_hosts_keeps_them_all() {
        let params = parse("postgresql://a:1,b:2/db").unwrap();
        assert_eq!(params.host.as_deref(), Some("a,b"));
        assert_eq!(params.port.as_deref(), Some("1,2"));
    }

    #[test]
    fn keyword_value_pairs_with_quotes_and_escapes() {
        let params = parse(
            "host = db.internal port=5432 dbname='my db' user=etl password='it\\'s \\\\ x' sslmode=require",
        )
        .unwrap();
        assert_eq!(params.host.as_deref(), Some("db.internal"));
        assert_eq!(params.port.as_deref(), Some("5432"));
        assert_eq!(option(&params, "dbname"), Some("my db"));
        assert_eq!(params.password.as_ref().unwrap().expose(), "it's \\ x");
        assert_eq!(option(&params, "sslmode"), Some("require"));
    }

    #[test]
    fn the_last_value_of_a_keyword_wins() {
        let params = parse("user=a user=b host=x host=y").unwrap();
        assert_eq!(option(&params, "user"), Some("b"));
        assert_eq!(params.host.as_deref(), Some("y"));
        assert_eq!(params.options.len(), 1);
    }

    #[test]
    fn malformed_strings_are_errors_that_quote_nothing() {
        for text in [
            "host",
            "=x",
            "password='unclosed secret",
            "postgresql://u:p@[::1/db",
            "postgresql://u:%zzsecret@h/db",
            "postgresql://h/db?novalue",
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(!error.contains("secret"), "{error}");
        }
    }
}
