//! The OAuth 2.0 token client: [`OAuthClient`] sends the token requests of the use cases
//! (`credvault_domain::oauth_token`: a refresh, RFC 6749 §6, and an authorization-code
//! exchange with its PKCE verifier, §4.1.3 and RFC 7636) to a provider's token endpoint, under
//! the outbound policy of connection tests.
//!
//! Where it connects:
//! - the token URL must be `https`; plain `http` only to a host of
//!   [`ProbeSettings::oauth_http_hosts`] (a token server on loopback in tests, an internal
//!   identity provider), and never with user info (`https://user:pass@host/`);
//! - its host is resolved once, every address is checked with [`ProbePolicy::check`]
//!   ([`ProbePolicy::resolve`]), and ureq is given a resolver that answers with those checked
//!   addresses only, so it never looks the name up again and a DNS answer that changes in
//!   between (rebinding) cannot slip another address in; a refusal is
//!   [`TokenError::Refused`], and nothing was sent;
//! - no proxy from the environment (`HTTPS_PROXY` would take the request, secrets and all, to
//!   a host the policy never saw), no redirect followed (see `oauth::answer` for what a 3xx is);
//! - one global time limit per request (the connection-test timeout,
//!   [`ProbeSettings::timeout`], unless [`OAuthClient::with_timeout`] says otherwise), name
//!   resolution aside, and an answer of at most [`MAX_ANSWER_BYTES`].
//!
//! What it sends: a `POST` of an `application/x-www-form-urlencoded` body (`grant_type` and the
//! grant's parameters, `scope` when the request names scopes), `Accept: application/json`, and
//! the client authenticated with HTTP Basic (`client_secret_basic`, RFC 6749 §2.3.1: the id and
//! the secret each form-urlencoded before base64). The body and the header are built in buffers
//! sized up front and wiped on drop.
//!
//! What it answers is `answer::classify`'s: a grant, or `InvalidGrant`, `InvalidClient`,
//! `Rejected`, `Transient`. Every provider description goes through
//! `credvault_domain::oauth_token::clean_description` with the request's secrets in every form
//! they were sent (as given and form-urlencoded), so a provider that echoes the refresh token
//! does not leak it; no message quotes the answer's body.
//!
//! How many at once: the client is blocking (callers run it on a blocking thread), and bounds
//! the token requests in flight globally ([`ProbeSettings::max_concurrent`]) and per team
//! ([`ProbeSettings::max_per_team`]), counted apart from the connection tests so neither starves
//! the other. A request over a bound is not sent: [`TokenError::Transient`].

mod answer;
mod form;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use credvault_domain::ids::TeamId;
use credvault_domain::oauth_token::{
    CodeExchange, RefreshRequest, TokenEndpoint, TokenError, TokenGrant, clean_description,
};
use credvault_domain::secret::SecretValue;
use ureq::Agent;
use ureq::http::Uri;
use ureq::http::uri::Scheme;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::policy::ProbePolicy;
use crate::{ProbeSettings, TestCode};

/// The largest answer read from a token endpoint, in bytes; a larger one is
/// [`TokenError::Transient`]. Token responses are a few hundred bytes; a JWT access token with
/// many claims a few KiB.
pub const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// Sends token requests to OAuth 2.0 token endpoints under the outbound policy; cheap to clone
/// (clones share the bounds on requests in flight).
#[derive(Clone, Debug)]
pub struct OAuthClient {
    policy: ProbePolicy,
    /// [`ProbeSettings::oauth_http_hosts`], lower-cased, without brackets.
    http_hosts: Vec<String>,
    timeout: Duration,
    admission: Arc<Admission>,
}

impl OAuthClient {
    /// A client with the policy, timeout and bounds of `settings`, for a server listening on
    /// `listen_addresses` (which token requests never connect to, as connection tests never do).
    pub fn new(settings: &ProbeSettings, listen_addresses: &[SocketAddr]) -> Self {
        Self {
            policy: ProbePolicy::new(settings, listen_addresses),
            http_hosts: settings
                .oauth_http_hosts
                .iter()
                .map(|host| bare_host(host.trim()).to_ascii_lowercase())
                .filter(|host| !host.is_empty())
                .collect(),
            timeout: settings.timeout,
            admission: Arc::new(Admission::new(
                settings.max_concurrent,
                settings.max_per_team,
            )),
        }
    }

    /// The same client with another time limit per request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many token requests are in flight.
    pub fn in_flight(&self) -> usize {
        self.admission.lock().total
    }

    /// Sends the form `body` for `team` to `token_url` with the client's Basic authentication,
    /// and reads the answer. `secrets` are every secret of the request, masked in any message.
    fn send(
        &self,
        team: TeamId,
        token_url: &str,
        client_id: &str,
        client_secret: &SecretValue,
        body: &SecretValue,
        secrets: &[&SecretValue],
    ) -> Result<TokenGrant, TokenError> {
        let target = TokenUrl::parse(token_url, &self.http_hosts)?;
        let _permit = self.admission.admit(team)?;
        let addresses = self
            .policy
            .resolve(&target.host, target.port)
            .map_err(|failure| match failure.code {
                TestCode::RefusedByPolicy => TokenError::Refused {
                    reason: failure
                        .message
                        .replace("connection tests may not", "token requests may not"),
                },
                _ => TokenError::Transient {
                    reason: failure.message,
                },
            })?;
        let agent = self.agent(&target, addresses);

        // Each secret as sent too: a provider may echo the form-urlencoded body.
        let encoded: Vec<SecretValue> = secrets
            .iter()
            .map(|secret| form::encoded(secret.expose()))
            .collect();
        let all_secrets: Vec<&SecretValue> = secrets.iter().copied().chain(&encoded).collect();

        let authorization = form::basic_authorization(client_id, client_secret);
        let sent = agent
            .post(target.uri.clone())
            .header("Accept", "application/json")
            .header("Authorization", authorization.expose())
            .content_type("application/x-www-form-urlencoded")
            .send(body.expose());
        drop(authorization);
        let mut response = sent.map_err(|error| self.failed(error, &target, &all_secrets))?;
        let status = response.status().as_u16();
        let bytes = zeroize::Zeroizing::new(
            response
                .body_mut()
                .with_config()
                .limit(MAX_ANSWER_BYTES)
                .read_to_vec()
                .map_err(|error| self.failed(error, &target, &all_secrets))?,
        );
        answer::classify(status, &bytes, &all_secrets)
    }

    /// An agent that connects only to `addresses`, follows no redirect, uses no proxy and gives
    /// up after the time limit.
    fn agent(&self, target: &TokenUrl, addresses: Vec<SocketAddr>) -> Agent {
        let config = Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .user_agent(concat!("credvault/", env!("CARGO_PKG_VERSION")))
            .build();
        let resolver = CheckedAddresses {
            authority: target.authority.clone(),
            addresses,
        };
        Agent::with_parts(config, DefaultConnector::new(), resolver)
    }

    /// The [`TokenError::Transient`] of a request that got no (complete) answer.
    fn failed(
        &self,
        error: ureq::Error,
        target: &TokenUrl,
        secrets: &[&SecretValue],
    ) -> TokenError {
        let host = &target.host;
        let reason = match error {
            ureq::Error::Timeout(_) => format!(
                "no answer from the token endpoint {host} within {} s",
                self.timeout.as_secs_f64()
            ),
            ureq::Error::BodyExceedsLimit(_) => format!(
                "the answer of the token endpoint {host} is larger than {} KiB",
                MAX_ANSWER_BYTES / 1024
            ),
            ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
                format!("the token endpoint {host} could not be reached")
            }
            // A refused connection, or a TLS handshake cut short (a plain server at an https
            // URL closes the connection).
            ureq::Error::Io(error) => {
                format!("the connection to the token endpoint {host} failed: {error}")
            }
            ureq::Error::Rustls(error) => {
                format!("the TLS handshake with the token endpoint {host} failed: {error}")
            }
            ureq::Error::Tls(error) => {
                format!("the TLS handshake with the token endpoint {host} failed: {error}")
            }
            error => format!("the token request to {host} failed: {error}"),
        };
        TokenError::Transient {
            reason: clean_description(&reason, secrets)
                .unwrap_or_else(|| "the token request failed".to_owned()),
        }
    }
}

impl TokenEndpoint for OAuthClient {
    fn refresh(&self, team: TeamId, request: &RefreshRequest) -> Result<TokenGrant, TokenError> {
        let scope = request
            .scopes
            .iter()
            .map(|scope| scope.trim())
            .filter(|scope| !scope.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let mut pairs = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", request.refresh_token.expose()),
        ];
        if !scope.is_empty() {
            pairs.push(("scope", &scope));
        }
        let body = form::body(&pairs);
        drop(pairs);
        self.send(
            team,
            &request.token_url,
            &request.client_id,
            &request.client_secret,
            &body,
            &[&request.client_secret, &request.refresh_token],
        )
    }

    fn exchange_code(
        &self,
        team: TeamId,
        request: &CodeExchange,
    ) -> Result<TokenGrant, TokenError> {
        let body = form::body(&[
            ("grant_type", "authorization_code"),
            ("code", request.code.expose()),
            ("redirect_uri", &request.redirect_uri),
            ("code_verifier", request.code_verifier.expose()),
        ]);
        self.send(
            team,
            &request.token_url,
            &request.client_id,
            &request.client_secret,
            &body,
            &[
                &request.client_secret,
                &request.code,
                &request.code_verifier,
            ],
        )
    }
}

/// A host without the brackets of an IPv6 literal.
fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(host)
}

/// A token URL that may be requested: `https` (or `http` to an allowed host), a host, no user
/// info.
#[derive(Debug)]
struct TokenUrl {
    uri: Uri,
    /// The authority as written, which the resolver checks it is asked about.
    authority: String,
    /// The host as written (an IPv6 literal in brackets).
    host: String,
    port: u16,
}

impl TokenUrl {
    fn parse(text: &str, http_hosts: &[String]) -> Result<Self, TokenError> {
        let refused = |reason: String| TokenError::Refused { reason };
        let uri: Uri = text
            .trim()
            .parse()
            .map_err(|_| refused("the token URL is not a valid absolute URL".to_owned()))?;
        let authority = uri
            .authority()
            .filter(|authority| !authority.host().is_empty())
            .ok_or_else(|| refused("the token URL names no host".to_owned()))?;
        if authority.as_str().contains('@') {
            return Err(refused(
                "the token URL holds user info (user:password@); the client authenticates \
                 with its client id and secret instead"
                    .to_owned(),
            ));
        }
        let host = authority.host().to_owned();
        let (is_https, default_port) = match uri.scheme() {
            Some(scheme) if *scheme == Scheme::HTTPS => (true, 443),
            Some(scheme) if *scheme == Scheme::HTTP => (false, 80),
            _ => {
                return Err(refused("the token URL must be an https:// URL".to_owned()));
            }
        };
        if !is_https && !http_hosts.contains(&bare_host(&host).to_ascii_lowercase()) {
            return Err(refused(format!(
                "the token URL of {host} is plain http; token URLs must be https unless the \
                 operator allows the host with oauth_http_hosts"
            )));
        }
        let port = authority.port_u16().unwrap_or(default_port);
        if port == 0 {
            return Err(refused(format!("the token URL of {host} names port 0")));
        }
        Ok(Self {
            authority: authority.as_str().to_owned(),
            uri,
            host,
            port,
        })
    }
}

/// The most addresses ureq takes from a resolver.
const MAX_ADDRESSES: usize = 16;

/// The resolver of one token request: the addresses the policy checked, for its one authority.
#[derive(Debug)]
struct CheckedAddresses {
    authority: String,
    addresses: Vec<SocketAddr>,
}

impl Resolver for CheckedAddresses {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &ureq::config::Config,
        _timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        // Redirects are off, so ureq asks about the token URL only; anything else is refused
        // rather than dialled.
        let asked = uri.authority().map(|authority| authority.as_str());
        if asked != Some(self.authority.as_str()) {
            return Err(ureq::Error::HostNotFound);
        }
        let mut resolved = self.empty();
        for address in self.addresses.iter().take(MAX_ADDRESSES) {
            resolved.push(*address);
        }
        Ok(resolved)
    }
}

/// The bounds on token requests in flight.
#[derive(Debug)]
struct Admission {
    max_concurrent: usize,
    max_per_team: usize,
    running: Mutex<Running>,
}

#[derive(Debug, Default)]
struct Running {
    total: usize,
    per_team: HashMap<TeamId, usize>,
}

/// A slot of a request in flight, given back on drop.
struct Permit<'a> {
    admission: &'a Admission,
    team: TeamId,
}

impl Admission {
    fn new(max_concurrent: usize, max_per_team: usize) -> Self {
        Self {
            max_concurrent,
            max_per_team,
            running: Mutex::new(Running::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Running> {
        // Every change is one statement, so the counts stay consistent past a panic.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a request of `team`, or the `Transient` error that says why not.
    fn admit(&self, team: TeamId) -> Result<Permit<'_>, TokenError> {
        let mut running = self.lock();
        if running.total >= self.max_concurrent {
            return Err(TokenError::Transient {
                reason: "the server is running as many token requests as it may".to_owned(),
            });
        }
        let team_count = running.per_team.entry(team).or_default();
        if *team_count >= self.max_per_team {
            return Err(TokenError::Transient {
                reason: "the team is running as many token requests as it may".to_owned(),
            });
        }
        *team_count += 1;
        running.total += 1;
        Ok(Permit {
            admission: self,
            team,
        })
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut running = self.admission.lock();
        running.total = running.total.saturating_sub(1);
        if let Some(count) = running.per_team.get_mut(&self.team) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.per_team.remove(&self.team);
            }
        }
    }
}
