//! `credvault exec`: the binary as a client of a credvault server, like `doppler run` or
//! `op run`. It signs in as a service account with the client credentials in its environment,
//! *uses* one credential (SPEC §10) and runs a command with that credential in the command's
//! environment (`PGHOST`, `PGPASSWORD`, `DATABASE_URL`, …; see [`VARIABLES_HELP`]).
//!
//! The steps, each bounded by the time-out and named in its failure:
//!
//! 1. `POST {url}/api/v1/auth/token` (`grant_type=client_credentials`), with
//!    `CREDVAULT_CLIENT_ID` and `CREDVAULT_CLIENT_SECRET` from the environment only (a flag would
//!    show in the process list). The answer names the service account's team.
//! 2. `POST {url}/api/v1/teams/{team}/integrations/{credential}/use` with the access token.
//! 3. [`variables`] turns the answer into variables (a pure function, tested below), and the
//!    command runs with them, without the client credentials, and not through a shell.
//!
//! Nothing of credvault's own goes to stdout (it belongs to the command) and no secret is ever
//! printed or put on a command line. The exit status is the command's; 128 + n when a signal n
//! killed it; 127 when it is not found, 126 when it cannot be run; 125 when credvault itself
//! failed, with one line on stderr saying which step failed.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitCode, ExitStatus};
use std::time::Duration;

use credvault_domain::ids::CredentialId;
use credvault_domain::release;
use credvault_domain::schema::{Kind, Provider, fields};
use credvault_domain::secret::SecretValue;
use serde_json::{Map, Value};

use crate::cli::ExecArgs;

/// The client id of the service account (not secret, but the command does not get it either).
pub const CLIENT_ID_VARIABLE: &str = "CREDVAULT_CLIENT_ID";
/// The client secret of the service account.
pub const CLIENT_SECRET_VARIABLE: &str = "CREDVAULT_CLIENT_SECRET";

/// The exit status of a failure of credvault itself (125, as `env` and `timeout` use it).
const FAILED: u8 = 125;
/// The exit status when the command was found but cannot be run.
const NOT_EXECUTABLE: u8 = 126;
/// The exit status when the command is not found.
const NOT_FOUND: u8 = 127;

/// The largest answer read from the server.
const MAX_BODY: u64 = 1 << 20;

/// The variables `credvault exec` sets, by provider (the `--help` text; the server README has
/// the same table).
pub const VARIABLES_HELP: &str = "\
Variables given to COMMAND, by provider (each only when the credential has the value):
  every credential         CREDVAULT_CREDENTIAL_ID
  postgresql,              PGHOST, PGHOSTADDR, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, PGSSLMODE,
  internal_postgresql      the other libpq parameters by libpq's environment names (PGAPPNAME,
                           PGCONNECT_TIMEOUT, PGSSLROOTCERT, PGTARGETSESSIONATTRS, PGOPTIONS, ...;
                           a parameter without one is skipped with a notice), and DATABASE_URL
                           (the postgresql:// URI)
  sftp                     SFTP_HOST, SFTP_PORT, SFTP_USER, SFTP_PASSWORD or SFTP_PRIVATE_KEY (PEM)
                           and SFTP_PASSPHRASE, SFTP_HOST_KEY_SHA256
  aws_ses                  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_DEFAULT_REGION
  github, keystatic        GITHUB_TOKEN, GH_TOKEN
  stripe                   STRIPE_API_KEY
  wordpress                WORDPRESS_URL, WORDPRESS_USERNAME, WORDPRESS_PASSWORD (user_password) or
                           WORDPRESS_APP_PASSWORD (api_key)
  OAuth kinds              CREDVAULT_ACCESS_TOKEN, CREDVAULT_ACCESS_TOKEN_EXPIRES_AT

COMMAND gets credvault's own environment plus these, without CREDVAULT_CLIENT_ID and
CREDVAULT_CLIENT_SECRET. The client credentials are read from the environment only.

Exit status: COMMAND's; 128+N if signal N killed it; 127 if COMMAND is not found, 126 if it cannot
be run; 125 if credvault failed (one line on stderr says which step). SIGINT, SIGTERM, SIGHUP and
SIGQUIT are passed on to COMMAND, and credvault waits for it.";

/// libpq connection parameters and their environment variables, as libpq's documentation lists
/// them ("Environment Variables"); a parameter not listed has none.
const LIBPQ_VARIABLES: &[(&str, &str)] = &[
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("dbname", "PGDATABASE"),
    ("user", "PGUSER"),
    ("password", "PGPASSWORD"),
    ("passfile", "PGPASSFILE"),
    ("require_auth", "PGREQUIREAUTH"),
    ("channel_binding", "PGCHANNELBINDING"),
    ("service", "PGSERVICE"),
    ("servicefile", "PGSERVICEFILE"),
    ("options", "PGOPTIONS"),
    ("application_name", "PGAPPNAME"),
    ("sslmode", "PGSSLMODE"),
    ("sslnegotiation", "PGSSLNEGOTIATION"),
    ("sslcompression", "PGSSLCOMPRESSION"),
    ("sslcert", "PGSSLCERT"),
    ("sslkey", "PGSSLKEY"),
    ("sslcertmode", "PGSSLCERTMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslcrl", "PGSSLCRL"),
    ("sslcrldir", "PGSSLCRLDIR"),
    ("sslsni", "PGSSLSNI"),
    ("requirepeer", "PGREQUIREPEER"),
    ("ssl_min_protocol_version", "PGSSLMINPROTOCOLVERSION"),
    ("ssl_max_protocol_version", "PGSSLMAXPROTOCOLVERSION"),
    ("min_protocol_version", "PGMINPROTOCOLVERSION"),
    ("max_protocol_version", "PGMAXPROTOCOLVERSION"),
    ("gssencmode", "PGGSSENCMODE"),
    ("krbsrvname", "PGKRBSRVNAME"),
    ("gsslib", "PGGSSLIB"),
    ("gssdelegation", "PGGSSDELEGATION"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("client_encoding", "PGCLIENTENCODING"),
    ("target_session_attrs", "PGTARGETSESSIONATTRS"),
    ("load_balance_hosts", "PGLOADBALANCEHOSTS"),
];

/// What [`variables`] makes of a use: the variables to set, and notices for people (keywords
/// only, never a value). `Debug` is not derived: the values are secrets.
pub struct Variables {
    /// Name → value, in a stable order.
    pub set: Vec<(String, SecretValue)>,
    /// What was skipped, for stderr.
    pub notices: Vec<String>,
}

impl Variables {
    /// The value of a variable, if set.
    pub fn get(&self, name: &str) -> Option<&SecretValue> {
        self.set
            .iter()
            .find(|(set, _)| set == name)
            .map(|(_, value)| value)
    }

    fn push(&mut self, name: &str, value: SecretValue) {
        self.set.retain(|(set, _)| set != name);
        self.set.push((name.to_owned(), value));
    }
}

/// Why an answer of the use endpoint cannot be read. The message names fields, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedUse(&'static str);

impl std::fmt::Display for MalformedUse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server's answer is not a use of a credential: {}",
            self.0
        )
    }
}

impl std::error::Error for MalformedUse {}

/// The variables of a use, from the JSON answer of `POST …/integrations/{id}/use` (taken by
/// value so that its secret strings move into [`SecretValue`]s instead of being copied).
pub fn variables(response: Value) -> Result<Variables, MalformedUse> {
    let Value::Object(mut response) = response else {
        return Err(MalformedUse("not a JSON object"));
    };
    let mut out = Variables {
        set: Vec::new(),
        notices: Vec::new(),
    };
    let credential_id =
        take_text(&mut response, "credential_id").ok_or(MalformedUse("no credential_id"))?;
    out.push("CREDVAULT_CREDENTIAL_ID", credential_id);
    let provider = response.get("provider").and_then(Value::as_str);
    let provider = provider.and_then(|name| name.parse::<Provider>().ok());
    let kind = response.get("kind").and_then(Value::as_str);
    let kind = kind.and_then(|name| name.parse::<Kind>().ok());
    let (Some(provider), Some(kind)) = (provider, kind) else {
        return Err(MalformedUse(
            "an unknown provider or kind (is this credvault older than the server?)",
        ));
    };
    let mut extra_data = match response.remove("extra_data") {
        Some(Value::Object(extra_data)) => extra_data,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(MalformedUse("extra_data is not an object")),
    };
    let mut secrets = match response.remove("secrets") {
        Some(Value::Object(secrets)) => secrets,
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(MalformedUse("secrets is not an object")),
    };
    let connection = match response.remove("connection") {
        Some(Value::Object(connection)) => Some(connection),
        None | Some(Value::Null) => None,
        Some(_) => return Err(MalformedUse("connection is not an object")),
    };

    if release::is_oauth(kind) {
        if let Some(token) = take_text(&mut secrets, fields::ACCESS_TOKEN) {
            out.push("CREDVAULT_ACCESS_TOKEN", token);
        }
        if let Some(expires_at) = take_text(&mut response, fields::EXPIRES_AT) {
            out.push("CREDVAULT_ACCESS_TOKEN_EXPIRES_AT", expires_at);
        }
        return Ok(out);
    }
    match provider {
        Provider::Postgresql | Provider::InternalPostgresql => match connection {
            Some(connection) => postgres_variables(connection, &mut out)?,
            None => postgres_fields(&mut extra_data, &mut secrets, &mut out),
        },
        Provider::Sftp => {
            let mut connection = connection.ok_or(MalformedUse("an SFTP use has no connection"))?;
            let names = [
                (fields::HOST, "SFTP_HOST"),
                (fields::PORT, "SFTP_PORT"),
                (fields::USERNAME, "SFTP_USER"),
                (fields::HOST_KEY_SHA256, "SFTP_HOST_KEY_SHA256"),
            ];
            for (field, name) in names {
                if let Some(value) = take_text(&mut connection, field) {
                    out.push(name, value);
                }
            }
            let names = [
                (fields::PASSWORD, "SFTP_PASSWORD"),
                (fields::PRIVATE_KEY, "SFTP_PRIVATE_KEY"),
                (fields::PASSPHRASE, "SFTP_PASSPHRASE"),
            ];
            for (field, name) in names {
                if let Some(value) = take_text(&mut secrets, field) {
                    out.push(name, value);
                }
            }
        }
        Provider::AwsSes => {
            if let Some(value) = take_text(&mut extra_data, fields::ACCESS_KEY_ID) {
                out.push("AWS_ACCESS_KEY_ID", value);
            }
            if let Some(value) = take_text(&mut secrets, fields::SECRET_ACCESS_KEY) {
                out.push("AWS_SECRET_ACCESS_KEY", value);
            }
            if let Some(region) = take_text(&mut extra_data, fields::REGION) {
                out.push("AWS_REGION", region.clone());
                out.push("AWS_DEFAULT_REGION", region);
            }
        }
        Provider::Github | Provider::Keystatic => {
            if let Some(token) = take_text(&mut secrets, fields::GITHUB_TOKEN) {
                out.push("GITHUB_TOKEN", token.clone());
                out.push("GH_TOKEN", token);
            }
        }
        Provider::Stripe => {
            if let Some(value) = take_text(&mut secrets, fields::API_KEY) {
                out.push("STRIPE_API_KEY", value);
            }
        }
        Provider::Wordpress => {
            if let Some(value) = take_text(&mut extra_data, fields::SITE_URL) {
                out.push("WORDPRESS_URL", value);
            }
            if let Some(value) = take_text(&mut extra_data, fields::USERNAME) {
                out.push("WORDPRESS_USERNAME", value);
            }
            if let Some(value) = take_text(&mut secrets, fields::PASSWORD) {
                out.push("WORDPRESS_PASSWORD", value);
            }
            let app_password = take_text(&mut secrets, fields::APP_PASSWORD)
                .or_else(|| take_text(&mut secrets, fields::APPLICATION_PASSWORD));
            if let Some(value) = app_password {
                out.push("WORDPRESS_APP_PASSWORD", value);
            }
        }
        // OAuth-only providers were answered above; a non-OAuth kind of them has nothing
        // conventional to set.
        Provider::Microsoft | Provider::Sharepoint | Provider::Google => {}
    }
    Ok(out)
}

/// The `PG*` variables of a PostgreSQL use without `connection` (the server could not build
/// one from the stored fields): the separate fields as they are, and no `DATABASE_URL`.
fn postgres_fields(
    extra_data: &mut Map<String, Value>,
    secrets: &mut Map<String, Value>,
    out: &mut Variables,
) {
    out.notices.push(
        "the server sent no connection settings for this PostgreSQL credential; the PG* \
         variables come from its separate fields, and DATABASE_URL is not set"
            .to_owned(),
    );
    let names = [
        (fields::HOST, "PGHOST"),
        (fields::PORT, "PGPORT"),
        (fields::DATABASE, "PGDATABASE"),
        (fields::USERNAME, "PGUSER"),
        (fields::SSL_MODE, "PGSSLMODE"),
    ];
    for (field, name) in names {
        if let Some(value) = take_text(extra_data, field) {
            out.push(name, value);
        }
    }
    if let Some(value) = take_text(secrets, fields::PASSWORD) {
        out.push("PGPASSWORD", value);
    }
}

/// The `PG*` variables and `DATABASE_URL` of a PostgreSQL use's `connection`.
fn postgres_variables(
    mut connection: Map<String, Value>,
    out: &mut Variables,
) -> Result<(), MalformedUse> {
    let params = match connection.remove("params") {
        Some(Value::Object(params)) => params,
        _ => return Err(MalformedUse("the connection has no params object")),
    };
    for (keyword, value) in params {
        let Some(value) = into_text(value) else {
            continue;
        };
        match LIBPQ_VARIABLES.iter().find(|(known, _)| *known == keyword) {
            Some((_, name)) => out.push(name, value),
            None => out.notices.push(format!(
                "the libpq parameter {keyword} has no environment variable; it is in \
                 DATABASE_URL only"
            )),
        }
    }
    let uri = take_text(&mut connection, "uri").ok_or(MalformedUse("the connection has no uri"))?;
    out.push("DATABASE_URL", uri);
    Ok(())
}

/// Removes `name` from `object` and gives its text (a string moved, a number written out).
fn take_text(object: &mut Map<String, Value>, name: &str) -> Option<SecretValue> {
    object.remove(name).and_then(into_text)
}

fn into_text(value: Value) -> Option<SecretValue> {
    match value {
        Value::String(text) => Some(SecretValue::new(text)),
        Value::Number(number) => Some(SecretValue::new(number.to_string())),
        Value::Bool(flag) => Some(SecretValue::new(flag.to_string())),
        _ => None,
    }
}

/// Runs `credvault exec`: the exit status of the command, or 125 with one line on stderr.
pub fn run(args: &ExecArgs) -> ExitCode {
    let variables = match fetch(args) {
        Ok(variables) => variables,
        Err(message) => {
            say(&message);
            return ExitCode::from(FAILED);
        }
    };
    for notice in &variables.notices {
        say(notice);
    }
    run_command(&args.command, variables.set)
}

/// One line on stderr, prefixed with `credvault exec:`.
#[expect(
    clippy::print_stderr,
    reason = "the one line of a client command's failure; a log line would carry a timestamp \
              and level"
)]
fn say(message: &str) {
    eprintln!("credvault exec: {message}");
}

/// Steps 1 and 2: the access token, then the use; the variables of the answer.
fn fetch(args: &ExecArgs) -> Result<Variables, String> {
    let client_id = from_environment(CLIENT_ID_VARIABLE)?;
    let client_secret = SecretValue::new(from_environment(CLIENT_SECRET_VARIABLE)?);
    let credential_id: CredentialId = args
        .credential
        .parse()
        .map_err(|_| "--credential (CREDVAULT_CREDENTIAL) must be a credential id (a UUID)")?;
    let base = args.url.trim_end_matches('/');
    let (scheme, rest) = base
        .split_once("://")
        .filter(|(scheme, rest)| matches!(*scheme, "http" | "https") && !rest.is_empty())
        .ok_or("--url (CREDVAULT_URL) must be an http:// or https:// URL")?;
    if scheme == "http" && !is_loopback(rest) {
        say(
            "warning: --url is plain http; the client secret and the credential cross the \
             network unencrypted",
        );
    }
    let timeout = Duration::from_secs(args.timeout_seconds);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        // A redirect would send the client secret (307/308) or the token elsewhere.
        .max_redirects(0)
        .user_agent(concat!("credvault-exec/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();

    let step = format!("requesting an access token from {base}");
    let form = token_form(&client_id, &client_secret);
    drop(client_secret);
    let request = agent
        .post(format!("{base}/api/v1/auth/token"))
        .header("Accept", "application/json")
        .content_type("application/x-www-form-urlencoded")
        .send(form.expose());
    drop(form);
    let token = answer(request, &step, timeout)?;
    let token: Value = serde_json::from_str(token.expose())
        .map_err(|_| format!("{step}: the answer is not JSON"))?;
    let access_token = token
        .get("access_token")
        .and_then(Value::as_str)
        .map(|token| SecretValue::new(token.to_owned()))
        .ok_or_else(|| format!("{step}: the answer has no access_token"))?;
    let team = match &args.team {
        Some(team) => team.clone(),
        None => token
            .get("team_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| {
                format!("{step}: the answer names no team_id (give --team or CREDVAULT_TEAM)")
            })?,
    };
    drop(token);
    if team.is_empty() || !team.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err("--team (CREDVAULT_TEAM) must be a team label or id".to_owned());
    }

    let step = format!("using credential {credential_id} of team {team}");
    let authorization = SecretValue::new(format!("Bearer {}", access_token.expose()));
    drop(access_token);
    let request = agent
        .post(format!(
            "{base}/api/v1/teams/{team}/integrations/{credential_id}/use"
        ))
        .header("Accept", "application/json")
        .header("Authorization", authorization.expose())
        .send_empty();
    drop(authorization);
    let body = answer(request, &step, timeout)?;
    let response: Value = serde_json::from_str(body.expose())
        .map_err(|_| format!("{step}: the answer is not JSON"))?;
    drop(body);
    variables(response).map_err(|error| format!("{step}: {error}"))
}

/// An environment variable that must be set, as text.
fn from_environment(name: &str) -> Result<String, String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Ok(value),
        Ok(_) | Err(std::env::VarError::NotPresent) => Err(format!(
            "{name} is not set: the client credentials of a service account come from the \
             environment ({CLIENT_ID_VARIABLE}, {CLIENT_SECRET_VARIABLE})"
        )),
        Err(std::env::VarError::NotUnicode(_)) => Err(format!("{name} is not UTF-8")),
    }
}

/// Whether the authority of a URL (what follows `scheme://`) names this machine.
fn is_loopback(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The form of a client credentials grant, in one buffer sized up front (no reallocation leaves
/// a copy of the secret behind; wiped on drop).
fn token_form(client_id: &str, client_secret: &SecretValue) -> SecretValue {
    let parts: [(&str, &str); 3] = [
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("client_secret", client_secret.expose()),
    ];
    let encoded_len = |text: &str| {
        text.bytes()
            .map(|b| if form_unreserved(b) { 1 } else { 3 })
            .sum::<usize>()
    };
    let length: usize = parts
        .iter()
        .map(|(name, value)| name.len() + 1 + encoded_len(value) + 1)
        .sum();
    let mut form = String::with_capacity(length);
    for (name, value) in parts {
        if !form.is_empty() {
            form.push('&');
        }
        form.push_str(name);
        form.push('=');
        for byte in value.bytes() {
            if form_unreserved(byte) {
                form.push(char::from(byte));
            } else {
                form.push('%');
                form.push(char::from(HEX[usize::from(byte >> 4)]));
                form.push(char::from(HEX[usize::from(byte & 0x0f)]));
            }
        }
    }
    SecretValue::new(form)
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn form_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// The body of a `200` answer, or the message of a failed step.
fn answer(
    request: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    step: &str,
    timeout: Duration,
) -> Result<SecretValue, String> {
    let mut response = request.map_err(|error| match error {
        ureq::Error::Timeout(_) => format!("{step}: no answer within {} s", timeout.as_secs()),
        error => format!("{step}: {error}"),
    })?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY)
        .read_to_vec()
        .map_err(|error| match error {
            ureq::Error::Timeout(_) => format!("{step}: no answer within {} s", timeout.as_secs()),
            error => format!("{step}: reading the answer: {error}"),
        })?;
    let body = SecretValue::new(
        String::from_utf8(bytes).map_err(|_| format!("{step}: the answer is not UTF-8"))?,
    );
    if status == 200 {
        return Ok(body);
    }
    Err(failure_message(
        status,
        body.expose(),
        retry_after.as_deref(),
        step,
    ))
}

/// `<detail> (HTTP n; step)` of an error answer: problem+json's `detail` (or `title`), OAuth's
/// `error_description` (or `error`), or the bare status.
fn failure_message(status: u16, body: &str, retry_after: Option<&str>, step: &str) -> String {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let detail = ["detail", "error_description", "title", "error"]
        .iter()
        .find_map(|name| parsed.get(name).and_then(Value::as_str))
        .map(str::to_owned)
        .unwrap_or_else(|| match status {
            300..=399 => "the server answered with a redirect, which is not followed".to_owned(),
            _ => "the server refused".to_owned(),
        });
    let retry = retry_after
        .map(|seconds| format!("; retry after {seconds} s"))
        .unwrap_or_default();
    format!("{detail} (HTTP {status}; {step}{retry})")
}

/// Step 3: runs the command with the variables and waits for it, passing signals on.
fn run_command(command: &[OsString], set: Vec<(String, SecretValue)>) -> ExitCode {
    let Some((program, arguments)) = command.split_first() else {
        say("no COMMAND given (credvault exec --credential ID -- COMMAND [ARGS...])");
        return ExitCode::from(FAILED);
    };
    // The handlers are installed before the command exists, so that a signal in between does
    // not end credvault and leave the command behind; `exec` resets them in the command.
    let forwarder = match SignalForwarder::install() {
        Ok(forwarder) => forwarder,
        Err(error) => {
            say(&format!("cannot handle signals: {error}"));
            return ExitCode::from(FAILED);
        }
    };
    let mut child_command = std::process::Command::new(program);
    child_command
        .args(arguments)
        .env_remove(CLIENT_ID_VARIABLE)
        .env_remove(CLIENT_SECRET_VARIABLE);
    for (name, value) in &set {
        child_command.env(name, value.expose());
    }
    let spawned = child_command.spawn();
    // The command's copy of the environment is released at once.
    drop(child_command);
    drop(set);
    let child = match spawned {
        Ok(child) => child,
        Err(error) => {
            let shown = program.to_string_lossy();
            say(&format!("cannot run {shown}: {error}"));
            let code = match error.kind() {
                ErrorKind::NotFound => NOT_FOUND,
                _ => NOT_EXECUTABLE,
            };
            return ExitCode::from(code);
        }
    };
    match forwarder.wait(child) {
        Ok(status) => ExitCode::from(exit_code(status)),
        Err(error) => {
            say(&format!("waiting for the command: {error}"));
            ExitCode::from(FAILED)
        }
    }
}

/// The exit status that reports the command's: its code, or 128 + the signal that killed it.
fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(FAILED),
        (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(FAILED),
        (None, None) => FAILED,
    }
}

/// Catches SIGINT, SIGTERM, SIGHUP and SIGQUIT while the command runs, and passes them on.
///
/// A terminal sends SIGINT and SIGQUIT (Ctrl-C, Ctrl-\\) to its whole foreground process group,
/// the command included: when credvault is in that group those two are not sent a second time
/// (a program that reads a second Ctrl-C as "force quit" would otherwise quit at the first).
struct SignalForwarder {
    runtime: tokio::runtime::Runtime,
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
}

impl SignalForwarder {
    fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let _entered = runtime.enter();
        let interrupt = signal(SignalKind::interrupt())?;
        let terminate = signal(SignalKind::terminate())?;
        let hangup = signal(SignalKind::hangup())?;
        let quit = signal(SignalKind::quit())?;
        drop(_entered);
        Ok(Self {
            runtime,
            interrupt,
            terminate,
            hangup,
            quit,
        })
    }

    /// Waits for `child`, passing on the signals received meanwhile.
    fn wait(self, mut child: std::process::Child) -> std::io::Result<ExitStatus> {
        use rustix::process::{Pid, Signal, kill_process};

        let Self {
            runtime,
            mut interrupt,
            mut terminate,
            mut hangup,
            mut quit,
        } = self;
        let pid = i32::try_from(child.id()).ok().and_then(Pid::from_raw);
        let (done, mut status) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("credvault-exec-wait".to_owned())
            .spawn(move || {
                let _ = done.send(child.wait());
            })?;
        runtime.block_on(async move {
            loop {
                let signal = tokio::select! {
                    biased;
                    result = &mut status => {
                        return result.unwrap_or_else(|_| {
                            Err(std::io::Error::other("the thread waiting for the command ended"))
                        });
                    }
                    Some(()) = interrupt.recv() => Signal::INT,
                    Some(()) = terminate.recv() => Signal::TERM,
                    Some(()) = hangup.recv() => Signal::HUP,
                    Some(()) = quit.recv() => Signal::QUIT,
                };
                let from_terminal =
                    matches!(signal, Signal::INT | Signal::QUIT) && in_terminal_foreground();
                if let (Some(pid), false) = (pid, from_terminal) {
                    // The command may have ended in between; then there is nobody to tell.
                    let _ = kill_process(pid, signal);
                }
            }
        })
    }
}

/// Whether credvault's process group is the foreground group of the terminal on its stdin,
/// stderr or stdout (the group a terminal sends Ctrl-C to).
fn in_terminal_foreground() -> bool {
    use std::os::fd::AsFd;

    let group = rustix::process::getpgrp();
    let stdin = std::io::stdin();
    let stderr = std::io::stderr();
    let stdout = std::io::stdout();
    [stdin.as_fd(), stderr.as_fd(), stdout.as_fd()]
        .into_iter()
        .any(|fd| rustix::termios::tcgetpgrp(fd).is_ok_and(|foreground| foreground == group))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn names_and_values(variables: &Variables) -> BTreeMap<&str, &str> {
        variables
            .set
            .iter()
            .map(|(name, value)| (name.as_str(), value.expose()))
            .collect()
    }

    fn postgres_use() -> Value {
        json!({
            "credential_id": "0192f3a4-0000-7000-8000-00000000abcd",
            "team_id": "0192f3a4-0000-7000-8000-00000000beef",
            "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
            "account_name": "etl@db", "version": 3,
            "extra_data": {"host": "db", "port": 5432, "database": "dw", "username": "etl"},
            "secrets": {"password": "plain-pw"},
            "connection": {"type": "postgresql", "uri": "postgresql://etl:plain-pw@db:5432/dw?sslmode=require",
                           "params": {"host": "db", "port": "5432", "dbname": "dw", "user": "etl",
                                      "password": "plain-pw", "sslmode": "require",
                                      "application_name": "etl", "connect_timeout": "5",
                                      "keepalives": "1"}},
            "expires_at": null, "used_at": "2026-12-02T18:00:00.123456Z"
        })
    }

    #[test]
    fn a_postgres_use_sets_the_libpq_variables_and_database_url() {
        let found = variables(postgres_use()).unwrap();
        assert_eq!(
            names_and_values(&found),
            BTreeMap::from([
                (
                    "CREDVAULT_CREDENTIAL_ID",
                    "0192f3a4-0000-7000-8000-00000000abcd"
                ),
                ("PGHOST", "db"),
                ("PGPORT", "5432"),
                ("PGDATABASE", "dw"),
                ("PGUSER", "etl"),
                ("PGPASSWORD", "plain-pw"),
                ("PGSSLMODE", "require"),
                ("PGAPPNAME", "etl"),
                ("PGCONNECT_TIMEOUT", "5"),
                (
                    "DATABASE_URL",
                    "postgresql://etl:plain-pw@db:5432/dw?sslmode=require"
                ),
            ])
        );
        assert_eq!(found.notices.len(), 1);
        assert!(found.notices[0].contains("keepalives"));
        assert!(!found.notices[0].contains("plain-pw"));
    }

    #[test]
    fn hostaddr_target_session_attrs_and_options_have_their_variables() {
        let mut response = postgres_use();
        response["connection"]["params"] = json!({
            "hostaddr": "192.0.2.7", "target_session_attrs": "read-write",
            "options": "-c search_path=dw", "sslrootcert": "/etc/ca.pem"
        });
        let found = variables(response).unwrap();
        let set = names_and_values(&found);
        assert_eq!(set["PGHOSTADDR"], "192.0.2.7");
        assert_eq!(set["PGTARGETSESSIONATTRS"], "read-write");
        assert_eq!(set["PGOPTIONS"], "-c search_path=dw");
        assert_eq!(set["PGSSLROOTCERT"], "/etc/ca.pem");
        assert!(!set.contains_key("PGHOST"));
        assert!(found.notices.is_empty());
    }

    #[test]
    fn a_postgres_use_without_connection_falls_back_to_the_fields() {
        let mut response = postgres_use();
        response["connection"] = Value::Null;
        let found = variables(response).unwrap();
        assert_eq!(
            names_and_values(&found),
            BTreeMap::from([
                (
                    "CREDVAULT_CREDENTIAL_ID",
                    "0192f3a4-0000-7000-8000-00000000abcd"
                ),
                ("PGHOST", "db"),
                ("PGPORT", "5432"),
                ("PGDATABASE", "dw"),
                ("PGUSER", "etl"),
                ("PGPASSWORD", "plain-pw"),
            ])
        );
        assert!(found.notices[0].contains("DATABASE_URL is not set"));
    }

    #[test]
    fn an_sftp_use_sets_host_user_and_key() {
        let response = json!({
            "credential_id": "c1", "provider": "sftp", "kind": "key_file",
            "extra_data": {"host": "sftp.example", "username": "drop"},
            "secrets": {"private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\n", "passphrase": "pp"},
            "connection": {"type": "sftp", "host": "sftp.example", "port": 2222,
                           "username": "drop", "host_key_sha256": "SHA256:abc"}
        });
        let found = variables(response).unwrap();
        assert_eq!(
            names_and_values(&found),
            BTreeMap::from([
                ("CREDVAULT_CREDENTIAL_ID", "c1"),
                ("SFTP_HOST", "sftp.example"),
                ("SFTP_PORT", "2222"),
                ("SFTP_USER", "drop"),
                ("SFTP_HOST_KEY_SHA256", "SHA256:abc"),
                ("SFTP_PRIVATE_KEY", "-----BEGIN OPENSSH PRIVATE KEY-----\n"),
                ("SFTP_PASSPHRASE", "pp"),
            ])
        );
        let response = json!({
            "credential_id": "c1", "provider": "sftp", "kind": "user_password",
            "secrets": {"password": "pw"},
            "connection": {"type": "sftp", "host": "h", "port": 22, "username": "u",
                           "host_key_sha256": null}
        });
        let found = variables(response).unwrap();
        let set = names_and_values(&found);
        assert_eq!(set["SFTP_PASSWORD"], "pw");
        assert!(!set.contains_key("SFTP_HOST_KEY_SHA256"));
    }

    #[test]
    fn api_key_providers_set_their_conventional_variables() {
        let cases = [
            (
                json!({"provider": "aws_ses", "kind": "api_key",
                       "extra_data": {"access_key_id": "AKIA1", "region": "eu-west-1"},
                       "secrets": {"secret_access_key": "sak"}}),
                vec![
                    ("AWS_ACCESS_KEY_ID", "AKIA1"),
                    ("AWS_SECRET_ACCESS_KEY", "sak"),
                    ("AWS_REGION", "eu-west-1"),
                    ("AWS_DEFAULT_REGION", "eu-west-1"),
                ],
            ),
            (
                json!({"provider": "github", "kind": "api_key", "secrets": {"github_token": "ghp_1"}}),
                vec![("GITHUB_TOKEN", "ghp_1"), ("GH_TOKEN", "ghp_1")],
            ),
            (
                json!({"provider": "keystatic", "kind": "api_key", "secrets": {"github_token": "ghp_2"}}),
                vec![("GITHUB_TOKEN", "ghp_2"), ("GH_TOKEN", "ghp_2")],
            ),
            (
                json!({"provider": "stripe", "kind": "api_key", "secrets": {"api_key": "sk_1"}}),
                vec![("STRIPE_API_KEY", "sk_1")],
            ),
            (
                json!({"provider": "wordpress", "kind": "user_password",
                       "extra_data": {"site_url": "https://blog.example", "username": "ed"},
                       "secrets": {"password": "wp"}}),
                vec![
                    ("WORDPRESS_URL", "https://blog.example"),
                    ("WORDPRESS_USERNAME", "ed"),
                    ("WORDPRESS_PASSWORD", "wp"),
                ],
            ),
            (
                json!({"provider": "wordpress", "kind": "api_key",
                       "extra_data": {"site_url": "https://blog.example", "username": "ed"},
                       "secrets": {"application_password": "ap"}}),
                vec![
                    ("WORDPRESS_URL", "https://blog.example"),
                    ("WORDPRESS_USERNAME", "ed"),
                    ("WORDPRESS_APP_PASSWORD", "ap"),
                ],
            ),
        ];
        for (mut response, expected) in cases {
            response["credential_id"] = json!("c1");
            response["connection"] = Value::Null;
            let shown = response["provider"].to_string();
            let found = variables(response).unwrap();
            let mut expected: BTreeMap<&str, &str> = expected.into_iter().collect();
            expected.insert("CREDVAULT_CREDENTIAL_ID", "c1");
            assert_eq!(names_and_values(&found), expected, "{shown}");
        }
    }

    #[test]
    fn an_oauth_use_sets_the_access_token_and_its_expiry() {
        let response = json!({
            "credential_id": "c1", "provider": "google", "kind": "google_oauth",
            "extra_data": {"client_id": "cid"}, "secrets": {"access_token": "ya29.x"},
            "connection": null, "expires_at": "2026-12-02T19:00:00Z"
        });
        let found = variables(response).unwrap();
        assert_eq!(
            names_and_values(&found),
            BTreeMap::from([
                ("CREDVAULT_CREDENTIAL_ID", "c1"),
                ("CREDVAULT_ACCESS_TOKEN", "ya29.x"),
                ("CREDVAULT_ACCESS_TOKEN_EXPIRES_AT", "2026-12-02T19:00:00Z"),
            ])
        );
        let response = json!({
            "credential_id": "c1", "provider": "microsoft", "kind": "oauth2",
            "secrets": {"access_token": "t"}, "expires_at": null
        });
        let found = variables(response).unwrap();
        assert!(found.get("CREDVAULT_ACCESS_TOKEN_EXPIRES_AT").is_none());
        assert_eq!(found.get("CREDVAULT_ACCESS_TOKEN").unwrap().expose(), "t");
    }

    #[test]
    fn malformed_answers_are_refused_without_quoting_values() {
        for response in [
            json!("plain-pw"),
            json!({"provider": "postgresql", "kind": "user_password"}),
            json!({"credential_id": "c1", "provider": "nope", "kind": "user_password"}),
            json!({"credential_id": "c1", "provider": "postgresql", "kind": "user_password",
                   "secrets": {"password": "plain-pw"}, "connection": {"uri": "plain-pw"}}),
        ] {
            let error = variables(response).err().unwrap().to_string();
            assert!(!error.contains("plain-pw"), "{error}");
        }
    }

    #[test]
    fn error_answers_give_their_detail_and_status() {
        let problem = r#"{"title": "Forbidden", "status": 403, "detail": "no grant of use"}"#;
        assert_eq!(
            failure_message(403, problem, None, "using credential c1"),
            "no grant of use (HTTP 403; using credential c1)"
        );
        let oauth = r#"{"error": "invalid_client", "error_description": "unknown client"}"#;
        assert_eq!(
            failure_message(401, oauth, None, "requesting an access token"),
            "unknown client (HTTP 401; requesting an access token)"
        );
        assert_eq!(
            failure_message(429, r#"{"detail": "slow down"}"#, Some("3"), "s"),
            "slow down (HTTP 429; s; retry after 3 s)"
        );
        assert_eq!(
            failure_message(503, "<html>", None, "s"),
            "the server refused (HTTP 503; s)"
        );
    }

    #[test]
    fn the_token_form_encodes_the_secret() {
        let form = token_form("cvc_1", &SecretValue::from("a b&c=d%"));
        assert_eq!(
            form.expose(),
            "grant_type=client_credentials&client_id=cvc_1&client_secret=a%20b%26c%3Dd%25"
        );
    }

    #[test]
    fn loopback_urls_are_recognised() {
        for rest in ["127.0.0.1:8080", "localhost/x", "[::1]:80", "127.1.2.3"] {
            assert!(is_loopback(rest), "{rest}");
        }
        for rest in [
            "db.example:80",
            "10.0.0.1",
            "[2001:db8::1]:80",
            "localhost.evil",
        ] {
            assert!(!is_loopback(rest), "{rest}");
        }
    }

    #[test]
    fn exit_codes_report_the_command() {
        assert_eq!(exit_code(ExitStatus::from_raw(7 << 8)), 7);
        assert_eq!(exit_code(ExitStatus::from_raw(0)), 0);
        // Killed by SIGTERM (15).
        assert_eq!(exit_code(ExitStatus::from_raw(15)), 143);
    }
}
