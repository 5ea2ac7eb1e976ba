//! `TestApp`: a server per test over its own database, and typed clients per principal.
//!
//! - `owner` and `member` hold those roles in the team `acme`;
//! - `outsider` owns another team, `globex`, and has no role in `acme`;
//! - `anonymous` sends no token.
//!
//! Clients speak blocking HTTP (`ureq`) with status codes returned, not raised.

use std::net::TcpListener;
use std::sync::{Mutex, Once, mpsc};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use credvault_api::{AppState, ServerOptions, Settings};
use credvault_crypto::{Aad, KeyRing, Sealed, TokenHash, generate_token};
use credvault_domain::ids::{CredentialId, PrincipalId};
use credvault_domain::principal::Role;
use credvault_domain::secret::SecretMap;
use credvault_domain::team::{Team, TeamLabel};
use credvault_persistence::testing::TestDb;
use credvault_persistence::{Store, StoreOptions, StoredCredential};
use serde_json::{Value, json};
use ureq::http::Request;

/// A running server and its principals.
pub(crate) struct TestApp {
    /// The server's state (store, key ring).
    pub(crate) state: AppState,
    /// The team of `owner` and `member`.
    pub(crate) team: Team,
    /// The team of `outsider`.
    pub(crate) other_team: Team,
    /// Owner of `team`.
    pub(crate) owner: Client,
    /// Member of `team`.
    pub(crate) member: Client,
    /// Owner of `other_team`, nothing in `team`.
    pub(crate) outsider: Client,
    /// No token.
    pub(crate) anonymous: Client,
    /// The address the server listens on.
    pub(crate) address: std::net::SocketAddr,
    handle: ServerHandle,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // `stop` sends the command at once; the returned future only waits for completion.
        drop(self.handle.stop(false));
    }
}

impl TestApp {
    /// Starts a server over `db` with two teams and their principals.
    pub(crate) fn spawn(db: &TestDb) -> TestApp {
        Self::spawn_with_store(db.store().clone())
    }

    /// Starts a server over any store, for example one reaching its database through a relay
    /// that a test can cut.
    pub(crate) fn spawn_with_store(store: Store) -> TestApp {
        Self::spawn_with_settings(store, Settings::default())
    }

    /// Starts a server over `db` whose connection tests may reach servers on loopback (the
    /// default policy refuses loopback, so the tests against local servers opt in).
    pub(crate) fn spawn_for_probes(db: &TestDb) -> TestApp {
        Self::spawn_with_settings(db.store().clone(), loopback_probe_settings())
    }

    /// Starts a server over any store with these settings (rate limits, for example).
    pub(crate) fn spawn_with_settings(store: Store, settings: Settings) -> TestApp {
        capture_logs();
        let state = AppState::new(store.clone(), KeyRing::for_testing(), settings);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let socket_address = listener.local_addr().unwrap();
        let address = format!("http://{socket_address}");
        let options = ServerOptions {
            workers: Some(2),
            shutdown_timeout: Duration::from_secs(1),
            handle_signals: false,
        };
        let (sender, receiver) = mpsc::channel();
        let server_state = state.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = credvault_api::server(listener, server_state, &options).unwrap();
                sender.send(server.handle()).unwrap();
                server.await
            })
        });
        let handle = receiver.recv().unwrap();

        let client = |token: Option<String>| Client::new(&address, token);
        let team = store.create_team(&label("acme")).unwrap();
        let other_team = store.create_team(&label("globex")).unwrap();
        let owner = user(&store, &team, Role::Owner);
        let member = user(&store, &team, Role::Member);
        let outsider = user(&store, &other_team, Role::Owner);
        TestApp {
            owner: client(Some(owner)),
            member: client(Some(member)),
            outsider: client(Some(outsider)),
            anonymous: client(None),
            address: socket_address,
            state,
            team,
            other_team,
            handle,
        }
    }

    /// `/api/v1/teams/acme/integrations`.
    pub(crate) fn integrations(&self) -> String {
        format!("/api/v1/teams/{}/integrations", self.team.label)
    }

    /// `/api/v1/teams/acme/integrations/{id}`.
    pub(crate) fn credential(&self, id: &str) -> String {
        format!("{}/{id}", self.integrations())
    }

    /// Creates a PostgreSQL credential as the owner and returns its body.
    pub(crate) fn create_postgres(&self, name: &str, password: &str) -> Value {
        let response = self.owner.post_json(
            &self.integrations(),
            &json!({
                "provider": "postgresql", "kind": "user_password", "name": name,
                "account_name": "etl@warehouse",
                "extra_data": {"host": "db.internal", "port": 5432, "database": "dw",
                               "username": "etl", "password": password},
                "metadata": {"custom_property": 42}
            }),
        );
        assert_eq!(response.status, 201, "{}", response.body);
        response.json()
    }

    /// The stored row of a credential of `team`, read through the store.
    pub(crate) fn stored(&self, id: &str) -> Option<StoredCredential> {
        let credential_id: CredentialId = id.parse().unwrap();
        self.state
            .store
            .find_credential(self.team.id, credential_id)
            .unwrap()
    }

    /// The decrypted secrets of a credential of `team` (the API never shows them).
    pub(crate) fn stored_secrets(&self, id: &str) -> SecretMap {
        let stored = self.stored(id).unwrap();
        let Some(ciphertext) = stored.ciphertext else {
            return SecretMap::new();
        };
        let sealed = Sealed::from_bytes(&ciphertext.bytes).unwrap();
        self.state
            .key_ring
            .open(
                &sealed,
                &Aad::new(stored.credential.team_id, stored.credential.id),
            )
            .unwrap()
    }

    /// The plaintext of one stored secret field, if set.
    pub(crate) fn stored_secret(&self, id: &str, field: &str) -> Option<String> {
        self.stored_secrets(id)
            .get(field)
            .map(|value| value.expose().to_owned())
    }

    /// The events of a credential, as the owner sees them.
    pub(crate) fn events(&self, id: &str) -> Vec<Value> {
        let response = self.owner.get(&format!("{}/events", self.credential(id)));
        assert_eq!(response.status, 200, "{}", response.body);
        response.json()["items"].as_array().unwrap().clone()
    }
}

impl TestApp {
    /// Starts another instance over `db`, the app's database, with `key_ring`: a second instance
    /// of a scaled-out deployment with its own store (pool, caches). Returns it with the app's
    /// `owner` as a client of it.
    pub(crate) fn other_instance(&self, db: &TestDb, key_ring: KeyRing) -> (Instance, Client) {
        let store = Store::open(
            db.url(),
            &StoreOptions {
                pool_size: 4,
                connection_timeout: Duration::from_secs(30),
                ..StoreOptions::default()
            },
        )
        .unwrap();
        let instance = Instance::with_key_ring(store, key_ring, Settings::default());
        let owner = Client::new(&instance.base, self.owner.token.clone());
        (instance, owner)
    }

    /// The principal id of `owner`.
    pub(crate) fn owner_id(&self) -> PrincipalId {
        let token = self.owner.token().unwrap();
        self.state
            .store
            .authenticate(&TokenHash::of(token).to_hex(), chrono::Utc::now())
            .unwrap()
            .unwrap()
            .id
    }
}

/// Settings whose connection tests may reach loopback (`127.0.0.0/8`, `::1`), and nothing else.
pub(crate) fn loopback_probe_settings() -> Settings {
    Settings {
        probe: credvault_probe::ProbeSettings {
            allow: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
            ..credvault_probe::ProbeSettings::default()
        },
        ..Settings::default()
    }
}

fn label(text: &str) -> TeamLabel {
    text.parse().unwrap()
}

fn user(store: &Store, team: &Team, role: Role) -> String {
    let token = generate_token("cvt");
    let token = token.expose().to_owned();
    store
        .create_user(team.id, role, &TokenHash::of(&token).to_hex())
        .unwrap();
    token
}

/// Another server instance over the same store as a `TestApp` (scale-out: each instance has its
/// own caches), stopped when dropped.
pub(crate) struct Instance {
    handle: ServerHandle,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
}

impl Instance {
    /// Starts an instance over `store` with these settings; it creates no teams or principals.
    pub(crate) fn spawn(store: Store, settings: Settings) -> Instance {
        Self::with_key_ring(store, KeyRing::for_testing(), settings)
    }

    /// Starts an instance over `store` that opens secrets with `key_ring`.
    pub(crate) fn with_key_ring(store: Store, key_ring: KeyRing, settings: Settings) -> Instance {
        let state = AppState::new(store, key_ring, settings);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let options = ServerOptions {
            workers: Some(1),
            shutdown_timeout: Duration::from_secs(1),
            handle_signals: false,
        };
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = credvault_api::server(listener, state, &options).unwrap();
                sender.send(server.handle()).unwrap();
                server.await
            })
        });
        Instance {
            handle: receiver.recv().unwrap(),
            base,
        }
    }

    /// A client of this instance sending `token`.
    pub(crate) fn client(&self, token: &str) -> Client {
        Client::new(&self.base, Some(token.to_owned()))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// An HTTP client acting as one principal.
pub(crate) struct Client {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

impl Client {
    pub(crate) fn new(base: &str, token: Option<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Self {
            agent,
            base: base.to_owned(),
            token,
        }
    }

    /// The server's base URL, `http://127.0.0.1:PORT`.
    pub(crate) fn base_url(&self) -> &str {
        &self.base
    }

    /// The bearer token this client sends, if any.
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// `GET path`.
    pub(crate) fn get(&self, path: &str) -> TestResponse {
        self.send("GET", path, &[], None)
    }

    /// `DELETE path`.
    pub(crate) fn delete(&self, path: &str) -> TestResponse {
        self.send("DELETE", path, &[], None)
    }

    /// `POST path` with a JSON body.
    pub(crate) fn post_json(&self, path: &str, body: &Value) -> TestResponse {
        self.send_json("POST", path, &[], body)
    }

    /// `PATCH path` with a JSON body.
    pub(crate) fn patch_json(&self, path: &str, body: &Value) -> TestResponse {
        self.send_json("PATCH", path, &[], body)
    }

    /// A JSON request with extra headers.
    pub(crate) fn send_json(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> TestResponse {
        let mut all_headers = vec![("content-type", "application/json")];
        all_headers.extend_from_slice(headers);
        let bytes = serde_json::to_vec(body).unwrap();
        self.send(method, path, &all_headers, Some(&bytes))
    }

    /// Any request.
    pub(crate) fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> TestResponse {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let result = match body {
            Some(bytes) => self.agent.run(builder.body(bytes.to_vec()).unwrap()),
            None => self
                .agent
                .run(builder.body(ureq::SendBody::none()).unwrap()),
        };
        let mut response = result.unwrap();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let body = response.body_mut().read_to_string().unwrap();
        TestResponse {
            status,
            headers,
            body,
        }
    }
}

/// A response, fully read.
#[derive(Clone, Debug)]
pub(crate) struct TestResponse {
    /// The status code.
    pub(crate) status: u16,
    /// The headers, names in lowercase.
    pub(crate) headers: Vec<(String, String)>,
    /// The body as text.
    pub(crate) body: String,
}

impl TestResponse {
    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.body))
    }

    /// A header's value.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Asserts a problem+json body with this status and returns it.
    pub(crate) fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.body
        );
        let problem = self.json();
        assert_eq!(problem["status"], status);
        for member in ["type", "title", "detail", "request_id"] {
            assert!(problem[member].is_string(), "{member} missing: {problem}");
        }
        assert_eq!(
            problem["request_id"].as_str(),
            self.header("x-request-id"),
            "request_id differs from X-Request-ID"
        );
        problem
    }

    /// The field names of a 422 problem's `errors`.
    pub(crate) fn error_fields(&self) -> Vec<String> {
        self.error_fields_with(422)
    }

    /// The field names of the `errors` of a problem with this status.
    pub(crate) fn error_fields_with(&self, status: u16) -> Vec<String> {
        let problem = self.problem(status);
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| error["field"].as_str().unwrap().to_owned())
            .collect()
    }
}

/// Every log line written by any test of this binary, at every level.
static LOG_LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct CapturingLogger;

impl log::Log for CapturingLogger {
    fn enabled(&self, _metadata: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}: {}", record.level(), record.target(), record.args());
        LOG_LINES.lock().unwrap().push(line);
    }

    fn flush(&self) {}
}

/// Installs the capturing logger once for the whole test binary.
fn capture_logs() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&CapturingLogger).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// A copy of every log line captured so far (of all tests running in this process).
pub(crate) fn log_lines() -> Vec<String> {
    LOG_LINES.lock().unwrap().clone()
}

/// A raw HTTP/1.1 connection, for requests a client library would not send: stalled bodies,
/// made-up methods, repeated headers.
pub(crate) struct RawConnection {
    stream: std::net::TcpStream,
    buffered: Vec<u8>,
}

impl RawConnection {
    /// Connects to the server; reads give up after 30 seconds.
    pub(crate) fn open(address: std::net::SocketAddr) -> Self {
        let stream = std::net::TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        Self {
            stream,
            buffered: Vec::new(),
        }
    }

    /// Writes bytes as they are.
    pub(crate) fn send(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.stream.write_all(bytes).unwrap();
        self.stream.flush().unwrap();
    }

    /// Reads one response (its body by `Content-Length`).
    pub(crate) fn read_response(&mut self) -> TestResponse {
        let head_end = loop {
            if let Some(end) = find(&self.buffered, b"\r\n\r\n") {
                break end;
            }
            assert!(self.fill() > 0, "no response: closed or timed out");
        };
        let head = String::from_utf8(self.buffered[..head_end].to_vec()).unwrap();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap();
        let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.trim().to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        let length: usize = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .map_or(0, |(_, value)| value.parse().unwrap());
        let body_start = head_end + 4;
        while self.buffered.len() < body_start + length {
            assert!(self.fill() > 0, "the connection closed inside a body");
        }
        let body =
            String::from_utf8(self.buffered[body_start..body_start + length].to_vec()).unwrap();
        self.buffered.drain(..body_start + length);
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// Reads one response to a `HEAD` request: the head only, whatever `Content-Length` says.
    pub(crate) fn read_head_response(&mut self) -> TestResponse {
        let head_end = loop {
            if let Some(end) = find(&self.buffered, b"\r\n\r\n") {
                break end;
            }
            assert!(self.fill() > 0, "no response: closed or timed out");
        };
        let head = String::from_utf8(self.buffered[..head_end].to_vec()).unwrap();
        self.buffered.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers = lines
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.trim().to_ascii_lowercase(), value.trim().to_owned())
            })
            .collect();
        TestResponse {
            status,
            headers,
            body: String::new(),
        }
    }

    /// Whether the server closed the connection (reads end) with nothing more sent.
    pub(crate) fn is_closed_by_server(&mut self) -> bool {
        self.buffered.is_empty() && self.fill() == 0
    }

    /// Whether the server has sent something (or closed) already, without waiting.
    pub(crate) fn answered(&mut self) -> bool {
        if !self.buffered.is_empty() {
            return true;
        }
        self.stream.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        let answered = match self.stream.peek(&mut byte) {
            Ok(_) => true,
            Err(error) => error.kind() != std::io::ErrorKind::WouldBlock,
        };
        self.stream.set_nonblocking(false).unwrap();
        answered
    }

    fn fill(&mut self) -> usize {
        use std::io::Read;
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk) {
            Ok(read) => {
                self.buffered.extend_from_slice(&chunk[..read]);
                read
            }
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                0
            }
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(error) => panic!("reading the response: {error}"),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
