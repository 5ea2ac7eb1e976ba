//! Unit tests of the token client: the bytes it sends, what an answer means, which URLs it
//! refuses, its bounds, and that no `Debug` shows a secret.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use credvault_domain::ids::TeamId;
use credvault_domain::oauth_token::{
    CodeExchange, RefreshRequest, TokenEndpoint, TokenError, TokenGrant,
};
use credvault_domain::secret::{MASK, SecretValue};
use serde_json::json;

use crate::ProbeSettings;
use crate::oauth::answer::classify;
use crate::oauth::{Admission, OAuthClient, TokenUrl, form};

fn classify_json(
    status: u16,
    body: serde_json::Value,
    secrets: &[&SecretValue],
) -> Result<TokenGrant, TokenError> {
    classify(status, body.to_string().as_bytes(), secrets)
}

#[test]
fn the_form_and_the_basic_header_are_form_urlencoded() {
    let body = form::body(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "a b+c/d=&é"),
    ]);
    assert_eq!(
        body.expose(),
        "grant_type=refresh_token&refresh_token=a%20b%2Bc%2Fd%3D%26%C3%A9"
    );
    let header = form::basic_authorization("my app:1", &SecretValue::from("s3:cr+t"));
    let encoded = header.expose().strip_prefix("Basic ").unwrap();
    let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
    assert_eq!(decoded, "my%20app%3A1:s3%3Acr%2Bt");
    assert_eq!(format!("{header:?}"), format!("SecretValue({MASK})"));
}

#[test]
fn a_token_response_is_a_grant() {
    let grant = classify_json(
        200,
        json!({"access_token": "at-1", "token_type": "bearer", "expires_in": 3600,
               "refresh_token": "rt-2", "scope": " read write "}),
        &[],
    )
    .unwrap();
    assert_eq!(grant.access_token.expose(), "at-1");
    assert_eq!(grant.expires_in, Some(3600));
    assert_eq!(grant.refresh_token.unwrap().expose(), "rt-2");
    assert_eq!(grant.scope.as_deref(), Some("read write"));
}

#[test]
fn expires_in_may_be_a_string_or_a_fraction_and_is_ignored_when_malformed() {
    for (value, expected) in [
        (json!("3599"), Some(3599)),
        (json!(" 60 "), Some(60)),
        (json!(59.9), Some(59)),
        (json!("59.9"), Some(59)),
        (json!(-5), None),
        (json!("soon"), None),
        (json!(null), None),
        (json!(true), None),
    ] {
        let grant =
            classify_json(200, json!({"access_token": "at", "expires_in": value}), &[]).unwrap();
        assert_eq!(grant.expires_in, expected, "{value}");
    }
}

#[test]
fn a_missing_token_type_is_tolerated_and_an_unknown_one_rejected() {
    let grant = classify_json(200, json!({"access_token": "at"}), &[]).unwrap();
    assert_eq!(grant.refresh_token.map(|t| t.expose().to_owned()), None);
    assert!(
        classify_json(
            200,
            json!({"access_token": "at", "token_type": "Bearer"}),
            &[]
        )
        .is_ok()
    );
    assert!(matches!(
        classify_json(200, json!({"access_token": "at", "token_type": "mac"}), &[]),
        Err(TokenError::Rejected { code, .. }) if code == "unsupported_token_type"
    ));
}

#[test]
fn a_2xx_that_is_not_a_token_response_is_transient() {
    for body in [
        b"<html>maintenance</html>".as_slice(),
        b"".as_slice(),
        b"[1,2]".as_slice(),
        br#"{"token_type":"Bearer"}"#.as_slice(),
        br#"{"access_token":""}"#.as_slice(),
        br#"{"access_token":42}"#.as_slice(),
    ] {
        let error = classify(200, body, &[]).unwrap_err();
        assert!(error.is_transient(), "{error:?}");
        assert!(!error.to_string().contains("maintenance"), "{error}");
    }
}

#[test]
fn oauth_error_codes_are_classified() {
    let error =
        |status, code: &str| classify_json(status, json!({"error": code}), &[]).unwrap_err();
    assert_eq!(
        error(400, "invalid_grant"),
        TokenError::InvalidGrant { description: None }
    );
    assert!(
        matches!(error(401, "invalid_client"), TokenError::InvalidClient { code, .. } if code == "invalid_client")
    );
    assert!(
        matches!(error(400, "unauthorized_client"), TokenError::InvalidClient { code, .. } if code == "unauthorized_client")
    );
    assert!(
        matches!(error(400, "invalid_scope"), TokenError::Rejected { code, .. } if code == "invalid_scope")
    );
    assert!(
        matches!(error(403, "access_denied"), TokenError::Rejected { code, .. } if code == "access_denied")
    );
    // Some providers answer errors with 200.
    assert!(matches!(
        error(200, "invalid_grant"),
        TokenError::InvalidGrant { .. }
    ));
    assert!(error(400, "temporarily_unavailable").is_transient());
    assert!(error(400, "server_error").is_transient());
}

#[test]
fn server_errors_throttling_and_timeouts_are_transient_whatever_the_body() {
    for status in [500, 502, 503, 504, 429, 408] {
        let error = classify_json(status, json!({"error": "invalid_grant"}), &[]).unwrap_err();
        assert!(error.is_transient(), "{status}: {error:?}");
        assert!(classify(status, b"oops", &[]).unwrap_err().is_transient());
    }
}

#[test]
fn a_redirect_or_a_bare_4xx_is_rejected_without_quoting_the_body() {
    for status in [301, 302, 307, 308] {
        let error = classify(status, b"moved to https://evil.example", &[]).unwrap_err();
        assert!(
            matches!(&error, TokenError::Rejected { code, .. } if *code == format!("http_{status}")),
            "{error:?}"
        );
        assert!(!error.to_string().contains("evil"), "{error}");
    }
    let error = classify(404, b"<h1>Not Found: rt-secret</h1>", &[]).unwrap_err();
    assert!(matches!(&error, TokenError::Rejected { code, .. } if code == "http_404"));
    assert!(!error.to_string().contains("Not Found"), "{error}");
}

#[test]
fn descriptions_and_codes_never_show_a_secret() {
    let token = SecretValue::from("rt-very/secret+1");
    let encoded = form::encoded(token.expose());
    let secrets = [&token, &encoded];
    let error = classify_json(
        400,
        json!({"error": "invalid_grant",
               "error_description": "Token rt-very/secret+1 (rt-very%2Fsecret%2B1)\nis revoked"}),
        &secrets,
    )
    .unwrap_err();
    assert_eq!(
        error,
        TokenError::InvalidGrant {
            description: Some(format!("Token {MASK} ({MASK}) is revoked"))
        }
    );
    // A code that quotes a secret, or is not a plain code, is replaced by the status.
    for code in [
        json!("rt-very/secret+1"),
        json!("bad code <b>"),
        json!(7),
        json!("x".repeat(65)),
    ] {
        let error = classify_json(400, json!({"error": code}), &secrets).unwrap_err();
        assert!(
            matches!(&error, TokenError::Rejected { code, .. } if code == "http_400"),
            "{error:?}"
        );
    }
}

#[test]
fn token_urls_must_be_https_unless_the_host_is_allowed_and_never_hold_user_info() {
    let hosts = vec![
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
        "idp.internal".to_owned(),
    ];
    let ok = |text: &str| TokenUrl::parse(text, &hosts).unwrap();
    let refused = |text: &str| match TokenUrl::parse(text, &hosts).unwrap_err() {
        TokenError::Refused { reason } => reason,
        error => panic!("{text}: {error:?}"),
    };
    let url = ok("https://login.example.com/oauth2/token");
    assert_eq!((url.host.as_str(), url.port), ("login.example.com", 443));
    assert_eq!(ok("https://login.example.com:8443/t").port, 8443);
    assert_eq!(ok("http://127.0.0.1:9000/token").port, 9000);
    assert_eq!(ok("http://[::1]/token").port, 80);
    assert_eq!(
        ok("HTTP://IDP.internal/token").host.to_ascii_lowercase(),
        "idp.internal"
    );
    assert!(refused("http://login.example.com/token").contains("oauth_http_hosts"));
    assert!(refused("https://user:pw@login.example.com/token").contains("user info"));
    assert!(!refused("https://user:pw@login.example.com/token").contains("pw"));
    assert!(refused("ftp://login.example.com/token").contains("https"));
    assert!(refused("/token").contains("host"));
    assert!(refused("not a url").contains("URL"));
    assert!(refused("https://login.example.com:0/token").contains("port 0"));
}

#[test]
fn a_refused_url_is_refused_before_anything_is_counted_or_sent() {
    let client = OAuthClient::new(&ProbeSettings::default(), &[]);
    let request = RefreshRequest {
        token_url: "https://127.0.0.1:9/token".to_owned(),
        client_id: "app".to_owned(),
        client_secret: SecretValue::from("client-secret"),
        refresh_token: SecretValue::from("refresh-token"),
        scopes: vec![],
    };
    match client.refresh(TeamId::new(), &request).unwrap_err() {
        TokenError::Refused { reason } => {
            assert!(reason.contains("loopback"), "{reason}");
            assert!(reason.contains("token requests may not"), "{reason}");
        }
        error => panic!("{error:?}"),
    }
    assert_eq!(client.in_flight(), 0);
}

#[test]
fn the_bounds_refuse_as_transient_and_give_slots_back() {
    let admission = Admission::new(3, 2);
    let (team, other) = (TeamId::new(), TeamId::new());
    let first = admission.admit(team).unwrap();
    let _second = admission.admit(team).unwrap();
    let busy = admission.admit(team).err().unwrap();
    assert!(
        busy.is_transient() && busy.to_string().contains("team"),
        "{busy}"
    );
    let _third = admission.admit(other).unwrap();
    let busy = admission.admit(TeamId::new()).err().unwrap();
    assert_eq!(
        busy.to_string(),
        "the server is running as many token requests as it may"
    );
    drop(first);
    assert_eq!(admission.lock().total, 2);
    admission.admit(team).unwrap();
}

#[test]
fn debug_shows_no_secret() {
    let request = RefreshRequest {
        token_url: "https://login.example.com/token".to_owned(),
        client_id: "app".to_owned(),
        client_secret: SecretValue::from("client-secret-1"),
        refresh_token: SecretValue::from("refresh-token-1"),
        scopes: vec!["read".to_owned()],
    };
    let grant = classify_json(
        200,
        json!({"access_token": "access-token-1", "refresh_token": "refresh-token-2"}),
        &[],
    )
    .unwrap();
    let exchange = CodeExchange {
        token_url: "https://login.example.com/token".to_owned(),
        client_id: "app".to_owned(),
        client_secret: SecretValue::from("client-secret-1"),
        code: SecretValue::from("code-1"),
        redirect_uri: "https://vault.example/callback".to_owned(),
        code_verifier: SecretValue::from("verifier-1"),
    };
    let client = OAuthClient::new(&ProbeSettings::default(), &[]);
    let text = format!("{request:?} {grant:?} {exchange:?} {client:?}");
    assert!(text.contains("https://vault.example/callback"), "{text}");
    for secret in [
        "client-secret-1",
        "refresh-token-1",
        "access-token-1",
        "refresh-token-2",
        "code-1",
        "verifier-1",
    ] {
        assert!(!text.contains(secret), "{text}");
    }
}
