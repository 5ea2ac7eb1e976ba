//! An OAuth 2.0 authorization server for the token client's tests: HTTP/1.1 on 127.0.0.1 on an
//! ephemeral port, written over `std::net::TcpListener` with a thread per connection (no HTTP
//! framework; each answer closes its connection).
//!
//! - `POST /token` checks the client with HTTP Basic (`invalid_client`, 401, otherwise) and
//!   answers the refresh-token grant (RFC 6749 §6: a new access token and, unless rotation is
//!   off, a new refresh token, after which the one redeemed is `invalid_grant`) and the
//!   authorization-code grant of codes it issued, with PKCE S256 (RFC 7636).
//! - `GET /authorize` approves at once, redirecting (302) to
//!   `redirect_uri?code=…&state=…`, or, in the denying mode, with `error=access_denied`.
//!
//! A test switches its behaviour at run time: [`OAuthServer::set_invalid_grant`] answers
//! `invalid_grant` to every grant (its description echoes the token presented, so a test can
//! check that the client masks it), [`OAuthServer::fail_next`] answers a status the next N
//! times, [`OAuthServer::set_delay`] answers late, [`OAuthServer::revoke_client`] refuses the
//! client, [`OAuthServer::set_rotate`] keeps refresh tokens. It counts every request it gets
//! ([`OAuthServer::requests`]) and every redemption of each refresh token
//! ([`OAuthServer::redemptions`]). Dropping it stops it.

#![expect(
    clippy::unwrap_used,
    reason = "a test fixture: a step that fails is a test that fails"
)]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The largest request head or body the server reads.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// The PKCE S256 challenge of a code verifier: `BASE64URL(SHA256(verifier))` without padding
/// (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A running token server; stopped on drop.
pub struct OAuthServer {
    address: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    client_id: String,
    client_secret: String,
    state: Mutex<State>,
}

/// What the server knows and how it behaves.
struct State {
    requests: usize,
    /// Refresh tokens that may be redeemed.
    refresh_tokens: HashSet<String>,
    /// Successful redemptions, per refresh token.
    redemptions: HashMap<String, usize>,
    access_tokens: HashSet<String>,
    /// Issued codes not yet exchanged.
    codes: HashMap<String, IssuedCode>,
    last_scope: Option<String>,
    expires_in: Option<u64>,
    rotate: bool,
    invalid_grant: bool,
    client_revoked: bool,
    deny_authorize: bool,
    fail: Option<(u16, usize)>,
    delay: Duration,
}

struct IssuedCode {
    redirect_uri: String,
    challenge: String,
    scope: Option<String>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl OAuthServer {
    /// Starts a server that knows one client, with this id and secret.
    pub fn start(client_id: &str, client_secret: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            state: Mutex::new(State {
                requests: 0,
                refresh_tokens: HashSet::new(),
                redemptions: HashMap::new(),
                access_tokens: HashSet::new(),
                codes: HashMap::new(),
                last_scope: None,
                expires_in: Some(3600),
                rotate: true,
                invalid_grant: false,
                client_revoked: false,
                deny_authorize: false,
                fail: None,
                delay: Duration::ZERO,
            }),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("oauth-server".to_owned())
                .spawn(move || {
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(stream) = stream else { continue };
                        let shared = Arc::clone(&shared);
                        // Detached: a connection that sleeps (the slow mode) must not hold up
                        // the server's drop.
                        let _ = std::thread::Builder::new()
                            .name("oauth-server-conn".to_owned())
                            .spawn(move || serve_connection(stream, &shared));
                    }
                })
                .unwrap()
        };
        Self {
            address,
            shared,
            stop,
            accept: Some(accept),
        }
    }

    /// The server's address on 127.0.0.1.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The token endpoint, `<url>/token`.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.url())
    }

    /// The authorization endpoint, `<url>/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("{}/authorize", self.url())
    }

    /// Plants a refresh token that may be redeemed.
    pub fn seed_refresh_token(&self, value: &str) {
        self.shared.lock().refresh_tokens.insert(value.to_owned());
    }

    /// How many times `refresh_token` was redeemed successfully.
    pub fn redemptions(&self, refresh_token: &str) -> usize {
        self.shared
            .lock()
            .redemptions
            .get(refresh_token)
            .copied()
            .unwrap_or(0)
    }

    /// How many refresh tokens were redeemed successfully in all.
    pub fn total_redemptions(&self) -> usize {
        self.shared.lock().redemptions.values().sum()
    }

    /// How many HTTP requests the server received, on any path, whatever it answered.
    pub fn requests(&self) -> usize {
        self.shared.lock().requests
    }

    /// Whether the server issued this access token.
    pub fn issued_access_token(&self, token: &str) -> bool {
        self.shared.lock().access_tokens.contains(token)
    }

    /// Whether this refresh token may be redeemed now.
    pub fn refresh_token_is_valid(&self, token: &str) -> bool {
        self.shared.lock().refresh_tokens.contains(token)
    }

    /// The `scope` parameter of the last token request that had one.
    pub fn last_scope(&self) -> Option<String> {
        self.shared.lock().last_scope.clone()
    }

    /// The `expires_in` of the tokens it issues from now on (`None`: left out). 3600 at first.
    pub fn set_expires_in(&self, expires_in: Option<u64>) {
        self.shared.lock().expires_in = expires_in;
    }

    /// Whether to issue a new refresh token on each refresh (and invalidate the one redeemed).
    /// On at first.
    pub fn set_rotate(&self, rotate: bool) {
        self.shared.lock().rotate = rotate;
    }

    /// Whether to answer every grant with `invalid_grant`, its description echoing the token or
    /// code presented.
    pub fn set_invalid_grant(&self, on: bool) {
        self.shared.lock().invalid_grant = on;
    }

    /// Answers the next `times` token requests with `status` (a JSON `server_error` for 500, a
    /// redirect to `/token` for a 3xx, a text body otherwise).
    pub fn fail_next(&self, status: u16, times: usize) {
        self.shared.lock().fail = Some((status, times));
    }

    /// Waits this long before answering each token request.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.lock().delay = delay;
    }

    /// Whether to refuse the client (`invalid_client`) as a provider does once an app is
    /// disabled or its secret rotated.
    pub fn revoke_client(&self, revoked: bool) {
        self.shared.lock().client_revoked = revoked;
    }

    /// Whether the authorization endpoint denies (`error=access_denied`) instead of approving.
    pub fn set_deny_authorize(&self, deny: bool) {
        self.shared.lock().deny_authorize = deny;
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// One parsed request.
struct Request {
    method: String,
    path: String,
    query: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// An answer: status, extra headers, content type and body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    content_type: &'static str,
    body: String,
}

impl Answer {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            content_type: "application/json",
            body: body.to_string(),
        }
    }

    fn error(status: u16, code: &str, description: &str) -> Self {
        Self::json(
            status,
            json!({"error": code, "error_description": description}),
        )
    }

    fn redirect(location: String) -> Self {
        Self {
            status: 302,
            headers: vec![("Location".to_owned(), location)],
            content_type: "text/plain",
            body: String::new(),
        }
    }
}

fn serve_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let Some(request) = read_request(stream) else {
        return;
    };
    let answer = handle(&request, shared);
    let reason = match answer.status {
        200 => "OK",
        302 => "Found",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        answer.status,
        answer.content_type,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = writer.write_all(head.as_bytes());
    let _ = writer.write_all(answer.body.as_bytes());
    let _ = writer.flush();
}

fn read_request(stream: TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = HashMap::new();
    let mut head_bytes = line.len();
    loop {
        let mut header = String::new();
        head_bytes += reader.read_line(&mut header).ok()?;
        if head_bytes > MAX_REQUEST_BYTES {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|length| length.parse().ok())
        .unwrap_or(0);
    if length > MAX_REQUEST_BYTES {
        return None;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), query.to_owned()),
        None => (target, String::new()),
    };
    Some(Request {
        method,
        path,
        query,
        headers,
        body,
    })
}

fn handle(request: &Request, shared: &Shared) -> Answer {
    shared.lock().requests += 1;
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/token") => token(request, shared),
        ("GET", "/authorize") => authorize(request, shared),
        (_, "/token" | "/authorize") => Answer::error(405, "invalid_request", "wrong method"),
        _ => Answer::error(404, "not_found", "no such endpoint"),
    }
}

/// `application/x-www-form-urlencoded` pairs, decoded.
fn form_pairs(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// Form-urldecodes (`+` is a space, `%XX` a byte).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                match u8::from_str_radix(text.get(index + 1..index + 3).unwrap_or("zz"), 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Form-urlencodes a query value.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether the request's Basic credentials are the client's.
fn client_authenticated(request: &Request, shared: &Shared) -> bool {
    let Some(encoded) = request
        .headers
        .get("authorization")
        .and_then(|value| value.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let decoded = String::from_utf8_lossy(&decoded).into_owned();
    let Some((id, secret)) = decoded.split_once(':') else {
        return false;
    };
    decode(id) == shared.client_id && decode(secret) == shared.client_secret
}

fn token(request: &Request, shared: &Shared) -> Answer {
    let delay = shared.lock().delay;
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    {
        let mut state = shared.lock();
        if let Some((status, times)) = state.fail {
            state.fail = (times > 1).then_some((status, times - 1));
            return match status {
                500 => Answer::error(500, "server_error", "the server failed"),
                // A redirect to its own token endpoint, which a client that follows it would
                // request a second time.
                300..=399 => Answer {
                    status,
                    headers: vec![("Location".to_owned(), "/token".to_owned())],
                    content_type: "text/plain",
                    body: "moved".to_owned(),
                },
                status => Answer {
                    status,
                    headers: Vec::new(),
                    content_type: "text/plain",
                    body: "unavailable, try later".to_owned(),
                },
            };
        }
    }
    let is_form = request
        .headers
        .get("content-type")
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Answer::error(400, "invalid_request", "the body must be a form");
    }
    let unauthorized = || {
        let mut answer = Answer::error(401, "invalid_client", "client authentication failed");
        answer.headers.push((
            "WWW-Authenticate".to_owned(),
            "Basic realm=\"token\"".to_owned(),
        ));
        answer
    };
    if !client_authenticated(request, shared) {
        return unauthorized();
    }
    let form = form_pairs(&String::from_utf8_lossy(&request.body));
    let mut state = shared.lock();
    if state.client_revoked {
        drop(state);
        return unauthorized();
    }
    if let Some(scope) = form.get("scope") {
        state.last_scope = Some(scope.clone());
    }
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    match form.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {
            let presented = field("refresh_token");
            if state.invalid_grant {
                return Answer::error(
                    400,
                    "invalid_grant",
                    &format!("The refresh token {presented} is expired\nor revoked."),
                );
            }
            if !state.refresh_tokens.contains(&presented) {
                return Answer::error(400, "invalid_grant", "unknown, used or revoked token");
            }
            *state.redemptions.entry(presented.clone()).or_default() += 1;
            let refresh_token = state.rotate.then(|| {
                state.refresh_tokens.remove(&presented);
                let fresh = format!("rt-{}", uuid::Uuid::new_v4().simple());
                state.refresh_tokens.insert(fresh.clone());
                fresh
            });
            let scope = form.get("scope").cloned();
            issue(&mut state, refresh_token, scope)
        }
        Some("authorization_code") => {
            let code = field("code");
            if state.invalid_grant {
                return Answer::error(
                    400,
                    "invalid_grant",
                    &format!("The code {code} is expired."),
                );
            }
            // A code is good for one exchange, whatever its outcome.
            let Some(issued) = state.codes.remove(&code) else {
                return Answer::error(400, "invalid_grant", "unknown or used code");
            };
            if issued.redirect_uri != field("redirect_uri") {
                return Answer::error(400, "invalid_grant", "redirect_uri does not match");
            }
            if pkce_challenge(&field("code_verifier")) != issued.challenge {
                return Answer::error(400, "invalid_grant", "PKCE verification failed");
            }
            let fresh = format!("rt-{}", uuid::Uuid::new_v4().simple());
            state.refresh_tokens.insert(fresh.clone());
            issue(&mut state, Some(fresh), issued.scope)
        }
        _ => Answer::error(400, "unsupported_grant_type", "grant type not supported"),
    }
}

/// A token response with a fresh access token.
fn issue(state: &mut State, refresh_token: Option<String>, scope: Option<String>) -> Answer {
    let access_token = format!("at-{}", uuid::Uuid::new_v4().simple());
    state.access_tokens.insert(access_token.clone());
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "scope": scope.unwrap_or_else(|| "read".to_owned()),
    });
    if let Some(expires_in) = state.expires_in {
        body["expires_in"] = json!(expires_in);
    }
    if let Some(refresh_token) = refresh_token {
        body["refresh_token"] = json!(refresh_token);
    }
    Answer::json(200, body)
}

fn authorize(request: &Request, shared: &Shared) -> Answer {
    let query = form_pairs(&request.query);
    let field = |name: &str| query.get(name).cloned().unwrap_or_default();
    let redirect_uri = field("redirect_uri");
    // An unknown client or a missing redirect URI is answered here, never redirected.
    if field("client_id") != shared.client_id || redirect_uri.is_empty() {
        return Answer::error(400, "invalid_request", "unknown client or no redirect_uri");
    }
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let state_param = field("state");
    let back = |pairs: &[(&str, &str)]| {
        let mut location = format!("{redirect_uri}{separator}");
        let query: Vec<String> = pairs
            .iter()
            .map(|(name, value)| format!("{name}={}", encode(value)))
            .collect();
        location.push_str(&query.join("&"));
        Answer::redirect(location)
    };
    let challenge = field("code_challenge");
    if field("response_type") != "code"
        || field("code_challenge_method") != "S256"
        || challenge.is_empty()
    {
        return back(&[("error", "invalid_request"), ("state", &state_param)]);
    }
    let mut state = shared.lock();
    if state.deny_authorize {
        drop(state);
        return back(&[("error", "access_denied"), ("state", &state_param)]);
    }
    let code = format!("code-{}", uuid::Uuid::new_v4().simple());
    state.codes.insert(
        code.clone(),
        IssuedCode {
            redirect_uri: redirect_uri.clone(),
            challenge,
            scope: query.get("scope").cloned(),
        },
    );
    drop(state);
    back(&[("code", &code), ("state", &state_param)])
}
