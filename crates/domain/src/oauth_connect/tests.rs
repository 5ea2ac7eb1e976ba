//! The connect rules: the authorize URL, who can connect, the status after, error words.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use serde_json::json;

use super::*;
use crate::ids::TeamId;
use crate::oauth_app::NewOAuthApp;

fn app(provider: &str, scopes: &[&str], authorize_url: &str) -> OAuthApp {
    let body = json!({
        "name": "App", "provider": provider, "client_id": "client", "client_secret": "s",
        "scopes": scopes, "authorize_url": authorize_url,
    });
    let (app, _) = NewOAuthApp::from_json(body)
        .unwrap()
        .into_app(TeamId::new(), chrono::Utc::now());
    app
}

#[test]
fn microsoft_asks_for_offline_access_once() {
    let app = app(
        "microsoft",
        &["User.Read"],
        "https://login.example.test/authorize",
    );
    let url = authorize_url(&app, "https://v/cb", "s", "c");
    assert!(url.contains("&scope=User.Read%20offline_access&"), "{url}");
    assert!(!url.contains("access_type"), "{url}");

    let app = self::app(
        "sharepoint",
        &["offline_access"],
        "https://login.example.test/a",
    );
    let url = authorize_url(&app, "https://v/cb", "s", "c");
    assert!(url.contains("&scope=offline_access&"), "{url}");
}

#[test]
fn an_authorize_url_with_a_query_is_extended() {
    let app = app(
        "google",
        &[],
        "https://accounts.example.test/auth?hd=example.com",
    );
    let url = authorize_url(&app, "https://v/cb", "s", "c");
    assert!(
        url.starts_with("https://accounts.example.test/auth?hd=example.com&response_type=code&"),
        "{url}"
    );
    assert!(
        !url.contains("scope="),
        "no scopes, no scope parameter: {url}"
    );
}

#[test]
fn a_sharepoint_credential_with_a_site_is_connected() {
    let mut credential = crate::testing::stored_oauth_credential();
    credential.provider = Provider::Sharepoint;
    credential.kind = Kind::SharepointOauth;
    credential.extra_data.insert(
        SITE_URL.to_owned(),
        json!("https://example.sharepoint.com/sites/x"),
    );
    assert_eq!(
        status_after_connect(&credential),
        CredentialStatus::Connected
    );
}

#[test]
fn a_linked_oauth_credential_is_connectable_only_with_its_own_app() {
    let mut credential = crate::testing::stored_oauth_credential();
    let mut app = app("google", &[], "https://accounts.example.test/auth");
    app.team_id = credential.team_id;
    credential.oauth_app_id = Some(app.id);
    assert_eq!(check_connectable(&credential, Some(&app)), Ok(()));
    app.team_id = TeamId::new();
    assert_eq!(
        check_connectable(&credential, Some(&app)),
        Err(NotConnectable::NoApp)
    );
}

#[test]
fn error_codes_that_are_not_plausible_are_not_shown() {
    assert_eq!(error_code_or_unknown("access_denied"), "access_denied");
    assert_eq!(error_code_or_unknown("<script>\"x\""), "unknown_error");
    assert_eq!(error_code_or_unknown(""), "unknown_error");
    assert_eq!(error_code_or_unknown(&"x".repeat(65)), "unknown_error");
}
