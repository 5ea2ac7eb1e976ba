//! The OAuth token client against the token server of `credvault_probe::testing::oauth_server`
//! on loopback: refresh and rotation, the code exchange with PKCE, how each failure is
//! classified, and the outbound policy (a refused URL sends nothing).

use std::time::Duration;

use credvault_domain::ids::TeamId;
use credvault_domain::oauth_token::{
    CodeExchange, RefreshRequest, TokenEndpoint, TokenError, TokenGrant,
};
use credvault_domain::secret::{MASK, SecretValue};
use credvault_probe::testing::oauth_server::{OAuthServer, pkce_challenge};
use credvault_probe::{OAuthClient, ProbeSettings};

const CLIENT_ID: &str = "credvault app";
const CLIENT_SECRET: &str = "client:secret/123";
const REDIRECT_URI: &str = "https://vault.example/oauth/callback";

/// Settings that open 127.0.0.1 to token requests, over plain http.
fn loopback_settings() -> ProbeSettings {
    ProbeSettings {
        allow: vec!["127.0.0.1/32".parse().unwrap()],
        oauth_http_hosts: vec!["127.0.0.1".to_owned()],
        ..ProbeSettings::default()
    }
}

fn client() -> OAuthClient {
    OAuthClient::new(&loopback_settings(), &[])
}

fn refresh_request(token_url: String, refresh_token: &str) -> RefreshRequest {
    RefreshRequest {
        token_url,
        client_id: CLIENT_ID.to_owned(),
        client_secret: SecretValue::from(CLIENT_SECRET),
        refresh_token: SecretValue::from(refresh_token),
        scopes: Vec::new(),
    }
}

fn refresh(client: &OAuthClient, request: &RefreshRequest) -> Result<TokenGrant, TokenError> {
    client.refresh(TeamId::new(), request)
}

#[test]
fn a_refresh_issues_a_new_access_token_and_rotates_the_refresh_token() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    server.seed_refresh_token("rt-first");
    let client = client();

    let grant = refresh(&client, &refresh_request(server.token_url(), "rt-first")).unwrap();
    assert!(server.issued_access_token(grant.access_token.expose()));
    assert_eq!(grant.expires_in, Some(3600));
    let rotated = grant.refresh_token.unwrap();
    assert_ne!(rotated.expose(), "rt-first");
    assert!(server.refresh_token_is_valid(rotated.expose()));
    assert_eq!(server.redemptions("rt-first"), 1);

    // The redeemed token is spent; the rotated one works.
    let spent = refresh(&client, &refresh_request(server.token_url(), "rt-first")).unwrap_err();
    assert!(
        matches!(spent, TokenError::InvalidGrant { .. }),
        "{spent:?}"
    );
    let again = refresh(
        &client,
        &refresh_request(server.token_url(), rotated.expose()),
    )
    .unwrap();
    assert!(server.issued_access_token(again.access_token.expose()));
    assert_eq!(server.redemptions("rt-first"), 1);
    assert_eq!(server.redemptions(rotated.expose()), 1);
    assert_eq!(server.total_redemptions(), 2);
    assert_eq!(client.in_flight(), 0);
}

#[test]
fn without_rotation_the_refresh_token_stays_and_scopes_are_sent() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    server.seed_refresh_token("rt-kept");
    server.set_rotate(false);
    server.set_expires_in(None);
    let client = client();
    let mut request = refresh_request(server.token_url(), "rt-kept");
    request.scopes = vec!["Files.Read".to_owned(), " offline_access ".to_owned()];

    let grant = refresh(&client, &request).unwrap();
    assert!(grant.refresh_token.is_none());
    assert_eq!(grant.expires_in, None);
    assert_eq!(
        server.last_scope().as_deref(),
        Some("Files.Read offline_access")
    );
    assert_eq!(grant.scope.as_deref(), Some("Files.Read offline_access"));
    refresh(&client, &request).unwrap();
    assert_eq!(server.redemptions("rt-kept"), 2);
}

#[test]
fn invalid_grant_is_reported_with_the_description_cleaned_of_the_token() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    server.seed_refresh_token("rt-echoed-123");
    server.set_invalid_grant(true);

    let error = refresh(
        &client(),
        &refresh_request(server.token_url(), "rt-echoed-123"),
    )
    .unwrap_err();
    assert_eq!(
        error,
        TokenError::InvalidGrant {
            description: Some(format!("The refresh token {MASK} is expired or revoked.")),
        }
    );
    assert!(!format!("{error} {error:?}").contains("rt-echoed-123"));
    assert_eq!(server.redemptions("rt-echoed-123"), 0);
}

#[test]
fn server_errors_are_transient_and_the_next_answer_counts() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    server.seed_refresh_token("rt-1");
    let client = client();
    let request = refresh_request(server.token_url(), "rt-1");

    server.fail_next(503, 1);
    let error = refresh(&client, &request).unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(error.to_string().contains("503"), "{error}");
    server.fail_next(500, 1);
    assert!(refresh(&client, &request).unwrap_err().is_transient());
    assert_eq!(server.redemptions("rt-1"), 0);

    refresh(&client, &request).unwrap();
    assert_eq!(server.redemptions("rt-1"), 1);
}

#[test]
fn a_redirect_is_not_followed_and_is_rejected() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    server.seed_refresh_token("rt-1");
    server.fail_next(307, 1);
    let error = refresh(&client(), &refresh_request(server.token_url(), "rt-1")).unwrap_err();
    assert!(
        matches!(&error, TokenError::Rejected { code, .. } if code == "http_307"),
        "{error:?}"
    );
    // Followed, the 307 would have resent the refresh token and redeemed it.
    assert_eq!(server.requests(), 1);
    assert_eq!(server.redemptions("rt-1"), 0);
}

#[test]
fn https_speaks_tls_first_so_a_plain_server_sees_no_token_and_the_answer_is_transient() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    server.seed_refresh_token("rt-1");
    let https = server.token_url().replace("http://", "https://");
    let error = refresh(&client(), &refresh_request(https, "rt-1")).unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(error.to_string().contains("127.0.0.1"), "{error}");
    assert_eq!(server.redemptions("rt-1"), 0);
    assert!(server.refresh_token_is_valid("rt-1"));
}

#[test]
fn a_closed_port_is_transient() {
    let port = credvault_probe::testing::free_port();
    let url = format!("http://127.0.0.1:{port}/token");
    let error = refresh(&client(), &refresh_request(url, "rt-1")).unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(!error.to_string().contains("rt-1"), "{error}");
}

#[test]
fn an_endpoint_slower_than_the_time_limit_is_transient() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    server.seed_refresh_token("rt-slow");
    server.set_delay(Duration::from_secs(4));
    let client = client().with_timeout(Duration::from_secs(1));

    let error = refresh(&client, &refresh_request(server.token_url(), "rt-slow")).unwrap_err();
    assert!(error.is_transient(), "{error:?}");
    assert!(error.to_string().contains("no answer"), "{error}");
    assert_eq!(client.in_flight(), 0);
}

#[test]
fn a_revoked_client_or_a_wrong_secret_is_invalid_client() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    server.seed_refresh_token("rt-1");
    let client = client();

    let mut request = refresh_request(server.token_url(), "rt-1");
    request.client_secret = SecretValue::from("not-the-secret");
    let error = refresh(&client, &request).unwrap_err();
    assert!(
        matches!(&error, TokenError::InvalidClient { code, .. } if code == "invalid_client"),
        "{error:?}"
    );

    server.revoke_client(true);
    let error = refresh(&client, &refresh_request(server.token_url(), "rt-1")).unwrap_err();
    assert!(
        matches!(error, TokenError::InvalidClient { .. }),
        "{error:?}"
    );
    assert_eq!(server.redemptions("rt-1"), 0);
}

#[test]
fn a_token_url_on_a_denied_address_is_refused_and_nothing_is_sent() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    server.seed_refresh_token("rt-1");

    // The default policy: loopback is refused, even with the host allowed for http.
    let default_policy = OAuthClient::new(
        &ProbeSettings {
            oauth_http_hosts: vec!["127.0.0.1".to_owned()],
            ..ProbeSettings::default()
        },
        &[],
    );
    let error = refresh(
        &default_policy,
        &refresh_request(server.token_url(), "rt-1"),
    )
    .unwrap_err();
    assert!(
        matches!(&error, TokenError::Refused { reason } if reason.contains("loopback")),
        "{error:?}"
    );
    let error = refresh(
        &default_policy,
        &refresh_request("https://10.0.0.1/token".to_owned(), "rt-1"),
    )
    .unwrap_err();
    assert!(
        matches!(&error, TokenError::Refused { reason } if reason.contains("private")),
        "{error:?}"
    );

    // The server's own listen address is refused even where loopback is open.
    let own = OAuthClient::new(&loopback_settings(), &[server.address()]);
    let error = refresh(&own, &refresh_request(server.token_url(), "rt-1")).unwrap_err();
    assert!(matches!(error, TokenError::Refused { .. }), "{error:?}");
    assert_eq!(server.requests(), 0);
}

#[test]
fn plain_http_to_a_host_not_allowed_is_refused_and_nothing_is_sent() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    let settings = ProbeSettings {
        oauth_http_hosts: Vec::new(),
        ..loopback_settings()
    };
    let client = OAuthClient::new(&settings, &[]);
    let error = refresh(&client, &refresh_request(server.token_url(), "rt-1")).unwrap_err();
    assert!(
        matches!(&error, TokenError::Refused { reason } if reason.contains("oauth_http_hosts")),
        "{error:?}"
    );
    let with_user_info = server.token_url().replace("http://", "http://user:pw@");
    let error = refresh(&client, &refresh_request(with_user_info, "rt-1")).unwrap_err();
    assert!(matches!(error, TokenError::Refused { .. }), "{error:?}");
    assert_eq!(server.requests(), 0);
}

/// Follows the authorization endpoint's redirect by hand; the query of the `Location`.
fn authorize(server: &OAuthServer, challenge: &str, state: &str) -> Vec<(String, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .proxy(None)
        .build()
        .into();
    let response = agent
        .get(server.authorize_url())
        .query("response_type", "code")
        .query("client_id", CLIENT_ID)
        .query("redirect_uri", REDIRECT_URI)
        .query("state", state)
        .query("code_challenge", challenge)
        .query("code_challenge_method", "S256")
        .query("scope", "Files.Read")
        .call()
        .unwrap();
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let query = location
        .strip_prefix(&format!("{REDIRECT_URI}?"))
        .unwrap_or_else(|| panic!("{location}"));
    query
        .split('&')
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap();
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn exchange(server: &OAuthServer, code: &str, verifier: &str) -> CodeExchange {
    CodeExchange {
        token_url: server.token_url(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: SecretValue::from(CLIENT_SECRET),
        code: SecretValue::from(code),
        redirect_uri: REDIRECT_URI.to_owned(),
        code_verifier: SecretValue::from(verifier),
    }
}

#[test]
fn a_code_exchange_with_the_right_pkce_verifier_issues_tokens_and_a_wrong_one_fails() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    let client = client();
    let verifier = "verifier-0123456789-0123456789-0123456789-abc";

    let query = authorize(&server, &pkce_challenge(verifier), "state-1");
    assert_eq!(param(&query, "state"), Some("state-1"));
    let code = param(&query, "code").unwrap().to_owned();
    let grant = client
        .exchange_code(TeamId::new(), &exchange(&server, &code, verifier))
        .unwrap();
    assert!(server.issued_access_token(grant.access_token.expose()));
    let refresh_token = grant.refresh_token.unwrap();
    assert!(server.refresh_token_is_valid(refresh_token.expose()));
    assert_eq!(grant.scope.as_deref(), Some("Files.Read"));
    // A code is good once.
    let reused = client
        .exchange_code(TeamId::new(), &exchange(&server, &code, verifier))
        .unwrap_err();
    assert!(
        matches!(reused, TokenError::InvalidGrant { .. }),
        "{reused:?}"
    );

    let query = authorize(&server, &pkce_challenge(verifier), "state-2");
    let code = param(&query, "code").unwrap().to_owned();
    let wrong = client
        .exchange_code(
            TeamId::new(),
            &exchange(&server, &code, "another-verifier-0123456789-0123456789"),
        )
        .unwrap_err();
    assert!(
        matches!(wrong, TokenError::InvalidGrant { .. }),
        "{wrong:?}"
    );
}

#[test]
fn a_denied_authorization_redirects_with_access_denied() {
    let server = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    server.set_deny_authorize(true);
    let query = authorize(&server, &pkce_challenge("verifier"), "state-3");
    assert_eq!(param(&query, "error"), Some("access_denied"));
    assert_eq!(param(&query, "state"), Some("state-3"));
    assert_eq!(param(&query, "code"), None);
}
