//! Fault-test harness: a `credvault serve` process that can be killed, a small API client, and
//! reading secrets back through the store and a key ring (the API never returns them).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use credvault_crypto::{Aad, KeyRing, Sealed};
use credvault_domain::ids::{CredentialId, TeamId};
use credvault_persistence::Store;
use serde_json::{Value, json};

/// A `k1:base64`-style key spec with a fresh random key.
pub(crate) fn new_key(id: &str) -> String {
    format!("{id}:{}", credvault_crypto::generate_master_key())
}

/// A server process whose stderr is drained continuously (so a chatty log never blocks it).
pub(crate) struct ServerProcess {
    child: Child,
    /// What the server printed on start.
    pub(crate) started: Value,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    log: Arc<Mutex<String>>,
    drain: Option<JoinHandle<()>>,
    // Kept open: the server may print more, and a closed pipe would make that fail.
    _stdout: BufReader<ChildStdout>,
}

impl ServerProcess {
    /// Runs `command serve` on a free port and waits for its start-up JSON.
    pub(crate) fn start(mut command: Command) -> ServerProcess {
        let mut child = command
            .env("CREDVAULT_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("server starts");
        let log = Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        let drain = std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(read) = stderr.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("first line");
        let Ok(started) = serde_json::from_str::<Value>(&line) else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = drain.join();
            panic!(
                "the server printed no start-up JSON ({line:?}); log:\n{}",
                log.lock().unwrap()
            );
        };
        let base_url = started["listening"].as_str().expect("listening").to_owned();
        ServerProcess {
            child,
            started,
            base_url,
            log,
            drain: Some(drain),
            _stdout: stdout,
        }
    }

    /// The demo team's owner token (first run only).
    pub(crate) fn demo_token(&self) -> String {
        self.started["demo"]["owner_token"]
            .as_str()
            .expect("a first run prints the demo token")
            .to_owned()
    }

    /// The demo team's id (first run only).
    pub(crate) fn demo_team_id(&self) -> TeamId {
        self.started["demo"]["team_id"]
            .as_str()
            .expect("a first run prints the demo team")
            .parse()
            .unwrap()
    }

    /// SIGKILL: no shutdown, no flush, no chance to finish anything.
    pub(crate) fn kill(mut self) -> String {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("server exits");
        self.collect_log()
    }

    /// SIGTERM and a clean exit.
    pub(crate) fn stop(mut self) -> String {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = self.child.wait().expect("server exits");
        let log = self.collect_log();
        assert!(exit.success(), "graceful stop exits 0: {exit:?}\n{log}");
        log
    }

    fn collect_log(&mut self) -> String {
        if let Some(drain) = self.drain.take() {
            let _ = drain.join();
        }
        self.log.lock().unwrap().clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.drain.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A blocking HTTP client for one team, acting with one bearer token.
#[derive(Clone)]
pub(crate) struct ApiClient {
    agent: ureq::Agent,
    integrations: String,
    auth: String,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
}

/// A response: status and JSON body (`Null` when the body is not JSON).
#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Value,
}

impl ApiClient {
    /// A client of the team `team` (label or id) on `base_url`; requests give up after `timeout`.
    pub(crate) fn new(base_url: &str, team: &str, token: &str, timeout: Duration) -> ApiClient {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(timeout))
            .build()
            .into();
        ApiClient {
            agent,
            integrations: format!("{base_url}/api/v1/teams/{team}/integrations"),
            auth: format!("Bearer {token}"),
            base_url: base_url.to_owned(),
        }
    }

    /// Creates a PostgreSQL credential with this password; returns its id.
    pub(crate) fn create_postgres(&self, name: &str, password: &str) -> CredentialId {
        let reply = self
            .send(
                "POST",
                &self.integrations,
                Some(json!({
                    "provider": "postgresql", "kind": "user_password", "name": name,
                    "extra_data": {"host": "db.internal", "port": 5432, "database": "dw",
                                   "username": "etl", "password": password}
                })),
            )
            .expect("create answers");
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        reply.body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Creates a credential from `body`; returns its id.
    pub(crate) fn create(&self, body: Value) -> CredentialId {
        let reply = self
            .send("POST", &self.integrations, Some(body))
            .expect("create answers");
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        reply.body["id"].as_str().unwrap().parse().unwrap()
    }

    /// The text of any path of the server, without a token (`/metrics`).
    pub(crate) fn get_text(&self, path: &str) -> String {
        self.agent
            .get(format!("{}{path}", self.base_url))
            .call()
            .expect("the server answers")
            .into_body()
            .read_to_string()
            .expect("a text body")
    }

    /// `PATCH` a credential; `Err` when no HTTP answer came (connection refused or reset).
    pub(crate) fn patch(&self, id: CredentialId, body: Value) -> Result<Reply, ureq::Error> {
        self.send("PATCH", &format!("{}/{id}", self.integrations), Some(body))
    }

    /// `GET` a credential.
    pub(crate) fn get(&self, id: CredentialId) -> Result<Reply, ureq::Error> {
        self.send("GET", &format!("{}/{id}", self.integrations), None)
    }

    /// `GET` a credential's audit events (the first page).
    pub(crate) fn events(&self, id: CredentialId) -> Result<Reply, ureq::Error> {
        self.send("GET", &format!("{}/{id}/events", self.integrations), None)
    }

    /// Sends `body` with `method` to the team's credential collection (a create that may fail).
    pub(crate) fn send_json(&self, method: &str, body: Value) -> Result<Reply, ureq::Error> {
        self.send(method, &self.integrations, Some(body))
    }

    /// `GET` the team's credential list.
    pub(crate) fn list(&self) -> Result<Reply, ureq::Error> {
        self.send("GET", &self.integrations, None)
    }

    /// `GET` any path of the server, without a token.
    pub(crate) fn get_path(&self, path: &str) -> Result<Reply, ureq::Error> {
        let response = self.agent.get(format!("{}{path}", self.base_url)).call()?;
        Ok(read_reply(response))
    }

    fn send(&self, method: &str, url: &str, body: Option<Value>) -> Result<Reply, ureq::Error> {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("authorization", &self.auth);
        let response = match body {
            Some(body) => self.agent.run(
                request
                    .header("content-type", "application/json")
                    .body(serde_json::to_vec(&body).unwrap())
                    .unwrap(),
            )?,
            None => self
                .agent
                .run(request.body(ureq::SendBody::none()).unwrap())?,
        };
        Ok(read_reply(response))
    }
}

fn read_reply(mut response: ureq::http::Response<ureq::Body>) -> Reply {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    Reply {
        status,
        content_type,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
    }
}

/// A stored credential as the database holds it, its secrets opened with `key_ring`.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) version: i64,
    pub(crate) key_id: String,
    pub(crate) password: Option<String>,
    pub(crate) port: Option<i64>,
}

/// Reads a credential through the store and opens its ciphertext with `key_ring`; panics when it
/// does not open (wrong key, wrong row, corrupt bytes).
pub(crate) fn open_stored(
    store: &Store,
    key_ring: &KeyRing,
    team_id: TeamId,
    id: CredentialId,
) -> Opened {
    let stored = store
        .find_credential(team_id, id)
        .unwrap()
        .unwrap_or_else(|| panic!("credential {id} is gone"));
    let ciphertext = stored.ciphertext.expect("the credential has secrets");
    let sealed = Sealed::from_bytes(&ciphertext.bytes).unwrap();
    assert_eq!(sealed.key_id().as_str(), ciphertext.key_id, "key id column");
    let secrets = key_ring
        .open(&sealed, &Aad::new(team_id, id))
        .unwrap_or_else(|error| panic!("credential {id} does not open: {error}"));
    Opened {
        version: stored.credential.version,
        key_id: ciphertext.key_id,
        password: secrets
            .get("password")
            .map(|value| value.expose().to_owned()),
        port: stored
            .credential
            .extra_data
            .get("port")
            .and_then(Value::as_i64),
    }
}

/// Calls `attempt` until it returns something, for at most `limit`; panics with `what` then.
pub(crate) fn wait_for<T>(
    what: &str,
    limit: Duration,
    mut attempt: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = attempt() {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}
