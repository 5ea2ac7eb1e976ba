//! The processes and databases a load run talks to: the release server (started, seeded and
//! stopped), a minimal HTTP/1.1 client for seeding and checks, and a throwaway PostgreSQL
//! database.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bench::host::capture;
use crate::bench::load::SPREAD_ROWS;
use crate::run;

/// `credvault serve` on a free port, with the demo team it created on start.
pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) pid: u32,
    pub(crate) address: String,
    pub(crate) token: String,
    pub(crate) team_label: String,
    pub(crate) team_id: String,
}

impl Server {
    pub(crate) fn start(binary: &Path, env: &[(&str, String)], log_path: &Path) -> Result<Server> {
        let log = fs::File::create(log_path)?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id();
        let mut first_line = String::new();
        if let Some(stdout) = child.stdout.take() {
            BufReader::new(stdout).read_line(&mut first_line)?;
        }
        let started: Value = match serde_json::from_str(&first_line) {
            Ok(value) => value,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the server did not start; see {}", log_path.display());
            }
        };
        let address = started["listening"]
            .as_str()
            .and_then(|url| url.strip_prefix("http://"))
            .context("no listening address in the start-up line")?
            .to_owned();
        let demo = &started["demo"];
        let text = |value: &Value| value.as_str().map(str::to_owned);
        let (Some(token), Some(team_label), Some(team_id)) = (
            text(&demo["owner_token"]),
            text(&demo["label"]),
            text(&demo["team_id"]),
        ) else {
            bail!("the server did not create the demo team (is the database fresh?)");
        };
        Ok(Server {
            child: Some(child),
            pid,
            address,
            token,
            team_label,
            team_id,
        })
    }

    fn client(&self) -> Result<Http> {
        Http::connect(&self.address, Some(&self.token))
    }

    /// Sets up a service account that may use `credential_id` and returns its access token:
    /// the account, a client credential of it and a grant (each with the owner token), then the
    /// token from `POST /api/v1/auth/token`, then one `POST …/use` that must answer 200.
    /// No error names a secret or quotes a response that carries one.
    pub(crate) fn use_token(&self, credential_id: &str) -> Result<String> {
        let team = format!("/api/v1/teams/{}", self.team_label);
        let mut owner = self.client()?;
        let account = owner.created(
            &format!("{team}/service-accounts"),
            br#"{"name": "bench", "role": "member"}"#,
        )?;
        let account_id = text_field(&account, "id", "the service account")?;
        let client = owner.created(
            &format!("{team}/service-accounts/{account_id}/credentials"),
            br#"{"name": "bench"}"#,
        )?;
        let client_id = text_field(&client, "client_id", "the client credential")?;
        let client_secret = text_field(&client, "client_secret", "the client credential")?;
        let grant = serde_json::json!({ "service_account_id": account_id }).to_string();
        owner.created(
            &format!("{team}/integrations/{credential_id}/grants"),
            grant.as_bytes(),
        )?;

        let form = token_form(&client_id, &client_secret);
        let mut anonymous = Http::connect(&self.address, None)?;
        let (status, body) = anonymous.send(
            "POST",
            "/api/v1/auth/token",
            Some("application/x-www-form-urlencoded"),
            form.as_bytes(),
        )?;
        if status != 200 {
            // An error answer is RFC 6749 JSON without a secret.
            bail!(
                "POST /api/v1/auth/token answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let issued: Value =
            serde_json::from_slice(&body).context("the token response is not JSON")?;
        let access_token = text_field(&issued, "access_token", "the token response")?;

        let mut account = Http::connect(&self.address, Some(&access_token))?;
        let path = format!("{team}/integrations/{credential_id}/use");
        let (status, _secrets) = account.send("POST", &path, None, b"")?;
        if status != 200 {
            bail!("POST {path} with the service account's token answered {status}");
        }
        Ok(access_token)
    }

    pub(crate) fn version_of(&self, id: &str) -> Result<i64> {
        let path = format!("/api/v1/teams/{}/integrations/{id}", self.team_label);
        let (status, body) = self.client()?.request("GET", &path, None)?;
        if status != 200 {
            bail!("GET {path} answered {status}");
        }
        let credential: Value = serde_json::from_slice(&body)?;
        credential["version"]
            .as_i64()
            .context("no version in the credential")
    }

    /// SIGTERM, then a bounded wait for the graceful stop.
    pub(crate) fn stop(mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(35);
        while Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill()?;
        child.wait()?;
        bail!("the server did not stop within 35 s of SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Creates a master key for the run with `credvault keys generate`.
pub(crate) fn generate_master_key(binary: &Path) -> Result<String> {
    let output = capture(Command::new(binary).args(["keys", "generate", "--id", "bench"]))?;
    let generated: Value = serde_json::from_str(output.trim()).context("parsing the new key")?;
    generated["key"]
        .as_str()
        .map(str::to_owned)
        .context("no key in the output of keys generate")
}

/// Creates the credentials of the run through the API; returns their ids in creation order.
pub(crate) fn seed(server: &Server, body_path: &Path) -> Result<Vec<String>> {
    let body = fs::read(body_path).with_context(|| format!("reading {}", body_path.display()))?;
    let path = format!("/api/v1/teams/{}/integrations", server.team_label);
    let mut client = server.client()?;
    let mut ids = Vec::with_capacity(SPREAD_ROWS);
    for _ in 0..SPREAD_ROWS {
        let (status, response) = client.request("POST", &path, Some(&body))?;
        if status != 201 {
            bail!(
                "creating a credential answered {status}: {}",
                String::from_utf8_lossy(&response)
            );
        }
        let created: Value = serde_json::from_slice(&response)?;
        ids.push(
            created["id"]
                .as_str()
                .context("no id in the created credential")?
                .to_owned(),
        );
    }
    Ok(ids)
}

/// A string field of a JSON object, or an error that names the field but not the value.
fn text_field(value: &Value, field: &str, what: &str) -> Result<String> {
    value[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {field} in {what}"))
}

/// The body of a client credentials token request, each value form-url-encoded.
pub(crate) fn token_form(client_id: &str, client_secret: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        form_encode(client_id),
        form_encode(client_secret)
    )
}

/// `application/x-www-form-urlencoded` encoding of one value: unreserved bytes as they are,
/// every other byte as `%XX`.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A minimal HTTP/1.1 keep-alive client for seeding and checks (the load itself is wrk's).
struct Http {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    authorization: Option<String>,
}

impl Http {
    fn connect(address: &str, token: Option<&str>) -> Result<Http> {
        let stream =
            TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Http {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            authorization: token.map(|token| format!("Bearer {token}")),
        })
    }

    /// A JSON request.
    fn request(&mut self, method: &str, path: &str, body: Option<&[u8]>) -> Result<(u16, Vec<u8>)> {
        self.send(
            method,
            path,
            Some("application/json"),
            body.unwrap_or_default(),
        )
    }

    /// A JSON `POST` that must answer 201; its body as JSON. A refusal quotes the answer (a
    /// problem document, which names no secret).
    fn created(&mut self, path: &str, body: &[u8]) -> Result<Value> {
        let (status, response) = self.request("POST", path, Some(body))?;
        if status != 201 {
            bail!(
                "POST {path} answered {status}: {}",
                String::from_utf8_lossy(&response)
            );
        }
        serde_json::from_slice(&response).with_context(|| format!("POST {path}: not JSON"))
    }

    fn send(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>)> {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        if let Some(authorization) = &self.authorization {
            head.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        if let Some(content_type) = content_type {
            head.push_str(&format!("Content-Type: {content_type}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        self.writer.write_all(head.as_bytes())?;
        self.writer.write_all(body)?;
        let mut status_line = String::new();
        self.reader.read_line(&mut status_line)?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .with_context(|| format!("bad status line {status_line:?}"))?;
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().context("bad Content-Length")?;
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    bail!("chunked responses are not supported here");
                }
            }
        }
        let mut response = vec![0; content_length];
        self.reader.read_exact(&mut response)?;
        Ok((status, response))
    }
}

// PostgreSQL: a throwaway database.

/// A database `credvault_bench_<pid>` created on the server of an admin URL, dropped on drop.
pub(crate) struct PgDatabase {
    admin_url: String,
    name: String,
    pub(crate) url: String,
}

impl PgDatabase {
    pub(crate) fn create(admin_url: &str) -> Result<PgDatabase> {
        let name = format!("credvault_bench_{}", std::process::id());
        let (location, parameters) = match admin_url.split_once('?') {
            Some((location, parameters)) => (location, format!("?{parameters}")),
            None => (admin_url, String::new()),
        };
        let (server, _) = location
            .rsplit_once('/')
            .filter(|(server, _)| server.contains("://"))
            .context("the PostgreSQL URL must end in /DATABASE")?;
        let database = PgDatabase {
            admin_url: admin_url.to_owned(),
            url: format!("{server}/{name}{parameters}"),
            name,
        };
        database.psql(&format!("DROP DATABASE IF EXISTS {}", database.name))?;
        database.psql(&format!("CREATE DATABASE {}", database.name))?;
        Ok(database)
    }

    fn psql(&self, sql: &str) -> Result<()> {
        run(Command::new("psql")
            .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
            .arg(&self.admin_url)
            .stdout(Stdio::null()))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(error) = self.psql(&sql) {
            eprintln!("bench: could not drop {}: {error:#}", self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::token_form;

    #[test]
    fn the_token_form_encodes_what_is_not_unreserved() {
        assert_eq!(
            token_form("cvc_abc-_.~", "cvs_a+b/c=&d e%"),
            "grant_type=client_credentials&client_id=cvc_abc-_.~\
             &client_secret=cvs_a%2Bb%2Fc%3D%26d%20e%25"
        );
    }
}
