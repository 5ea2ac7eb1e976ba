//! The OAuth app bodies: what they accept, refuse, keep and replace.

#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

use chrono::Utc;
use serde_json::{Value, json};

use super::*;
use crate::authz::{Action, authorize};
use crate::principal::Role;

fn create_body() -> Value {
    json!({
        "name": "  Graph  ",
        "provider": "sharepoint",
        "client_id": "client-1",
        "client_secret": "first-secret",
    })
}

fn app() -> OAuthApp {
    NewOAuthApp::from_json(create_body())
        .unwrap()
        .into_app(TeamId::new(), Utc::now())
        .0
}

fn fields_of(errors: &ValidationErrors) -> Vec<&str> {
    errors
        .errors()
        .iter()
        .map(|error| error.field.as_str())
        .collect()
}

#[test]
fn a_create_body_takes_the_providers_urls_when_it_names_none() {
    let parsed = NewOAuthApp::from_json(create_body()).unwrap();
    assert_eq!(parsed.name, "Graph");
    assert_eq!(parsed.provider, Provider::Sharepoint);
    assert_eq!(
        parsed.token_url,
        "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    );
    assert_eq!(
        parsed.authorize_url,
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    );
    assert_eq!(parsed.client_secret.expose(), "first-secret");
    assert!(parsed.scopes.is_empty());
    let google = NewOAuthApp::from_json(json!({
        "name": "Drive", "provider": "google", "client_id": "c", "client_secret": "s",
        "token_url": "https://tokens.example.test/token", "scopes": ["openid", "email"],
    }))
    .unwrap();
    assert_eq!(google.token_url, "https://tokens.example.test/token");
    assert_eq!(
        google.authorize_url,
        "https://accounts.google.com/o/oauth2/v2/auth"
    );
    assert_eq!(google.scopes, ["openid", "email"]);
}

#[test]
fn a_create_body_lists_every_problem_without_quoting_a_value() {
    let errors = NewOAuthApp::from_json(json!({
        "name": "",
        "provider": "stripe",
        "client_id": "x".repeat(513),
        "client_secret": 7,
        "token_url": "http://plain.example.test/token",
        "authorize_url": "https://user:hunter2@example.test/auth",
        "scopes": ["ok", "has space"],
        "metadata": [],
        "kind": "oauth2",
    }))
    .unwrap_err();
    assert_eq!(
        fields_of(&errors),
        [
            "kind",
            "name",
            "provider",
            "client_id",
            "client_secret",
            "token_url",
            "authorize_url",
            "scopes[1]",
            "metadata"
        ]
    );
    let text = format!("{errors:?}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("has space"), "{text}");
}

#[test]
fn a_create_body_needs_a_real_client_secret() {
    for secret in [json!(null), json!(""), json!("   "), json!(MASK)] {
        let mut body = create_body();
        body[CLIENT_SECRET] = secret.clone();
        let errors = NewOAuthApp::from_json(body).unwrap_err();
        assert_eq!(fields_of(&errors), [CLIENT_SECRET], "{secret}");
    }
    let mut body = create_body();
    body.as_object_mut().unwrap().remove(CLIENT_SECRET);
    assert_eq!(
        fields_of(&NewOAuthApp::from_json(body).unwrap_err()),
        [CLIENT_SECRET]
    );
}

#[test]
fn debug_of_a_create_body_masks_the_secret() {
    let parsed = NewOAuthApp::from_json(create_body()).unwrap();
    let text = format!("{parsed:?}");
    assert!(!text.contains("first-secret"), "{text}");
    assert!(text.contains(MASK), "{text}");
}

#[test]
fn blank_null_and_the_mask_keep_the_secret_and_another_string_replaces_it() {
    for keep in [json!(""), json!(null), json!(MASK), json!("  ")] {
        let patch = OAuthAppPatch::from_json(json!({ "client_secret": keep })).unwrap();
        assert!(matches!(patch.client_secret, ClientSecretPatch::Keep));
        let change = patch.apply(&app()).unwrap();
        assert!(change.client_secret.is_none());
        assert!(change.changed_fields.is_empty());
    }
    let patch = OAuthAppPatch::from_json(json!({"client_secret": "second"})).unwrap();
    let change = patch.apply(&app()).unwrap();
    assert_eq!(change.client_secret.unwrap().expose(), "second");
    assert_eq!(change.changed_fields, [CLIENT_SECRET]);
}

#[test]
fn a_patch_changes_only_what_it_names() {
    let current = app();
    let patch = OAuthAppPatch::from_json(json!({
        "name": "Renamed",
        "scopes": ["Sites.Read.All"],
        "token_url": "https://login.example.test/token",
        "metadata": {"env": "prod"},
    }))
    .unwrap();
    let change = patch.apply(&current).unwrap();
    assert_eq!(change.app.name, "Renamed");
    assert_eq!(change.app.client_id, current.client_id);
    assert_eq!(change.app.authorize_url, current.authorize_url);
    assert_eq!(change.app.token_url, "https://login.example.test/token");
    assert_eq!(change.app.scopes, ["Sites.Read.All"]);
    assert_eq!(change.app.metadata["env"], "prod");
    assert_eq!(change.changed_fields, [NAME, TOKEN_URL, SCOPES, METADATA]);
    // `null` URLs are the provider's again; `null` scopes and metadata empty them.
    let reset = OAuthAppPatch::from_json(json!({
        "token_url": null, "scopes": null, "metadata": null,
    }))
    .unwrap()
    .apply(&change.app)
    .unwrap();
    assert_eq!(reset.app.token_url, current.token_url);
    assert!(reset.app.scopes.is_empty());
    assert!(reset.app.metadata.is_empty());
}

#[test]
fn metadata_merges_by_rfc_7396_and_stays_bounded() {
    let mut current = app();
    current.metadata = json!({"a": 1, "nested": {"x": 1, "y": 2}})
        .as_object()
        .unwrap()
        .clone();
    let change = OAuthAppPatch::from_json(json!({"metadata": {"nested": {"x": null}, "b": 2}}))
        .unwrap()
        .apply(&current)
        .unwrap();
    assert_eq!(
        Value::Object(change.app.metadata),
        json!({"a": 1, "nested": {"y": 2}, "b": 2})
    );
    let big = "x".repeat(MAX_JSON_BYTES);
    let errors = OAuthAppPatch::from_json(json!({"metadata": {"big": big}}))
        .unwrap()
        .apply(&current)
        .unwrap_err();
    assert_eq!(fields_of(&errors), [METADATA]);
}

#[test]
fn a_patch_refuses_the_provider_and_bad_values() {
    let errors = OAuthAppPatch::from_json(json!({
        "provider": "google",
        "name": null,
        "client_id": "",
        "client_secret": ["x"],
        "authorize_url": "ftp://example.test",
        "scopes": "openid",
        "metadata": 3,
    }))
    .unwrap_err();
    assert_eq!(
        fields_of(&errors),
        [
            "provider",
            NAME,
            CLIENT_ID,
            CLIENT_SECRET,
            AUTHORIZE_URL,
            SCOPES,
            METADATA
        ]
    );
    assert!(OAuthAppPatch::from_json(json!([])).is_err());
}

#[test]
fn members_read_apps_and_owners_write_them() {
    assert_eq!(authorize(Some(Role::Member), Action::ReadOAuthApp), Ok(()));
    for action in [
        Action::CreateOAuthApp,
        Action::UpdateOAuthApp,
        Action::DeleteOAuthApp,
    ] {
        assert!(authorize(Some(Role::Member), action).is_err());
        assert_eq!(authorize(Some(Role::Owner), action), Ok(()));
    }
}

// The link of a credential to an app.

mod link {
    use chrono::Utc;
    use serde_json::json;

    use crate::credential::Credential;
    use crate::ids::{OAuthAppId, TeamId};
    use crate::oauth_app::{NewOAuthApp, OAuthApp, check_link};
    use crate::schema::{Kind, Provider};
    use crate::testing::stored_postgres_credential;

    fn app(team_id: TeamId, provider: &str) -> OAuthApp {
        let body =
            json!({"name": "App", "provider": provider, "client_id": "a", "client_secret": "s"});
        NewOAuthApp::from_json(body)
            .unwrap()
            .into_app(team_id, Utc::now())
            .0
    }

    fn linked(provider: Provider, kind: Kind, app: &OAuthApp) -> Credential {
        let (mut credential, _) = stored_postgres_credential();
        credential.provider = provider;
        credential.kind = kind;
        credential.team_id = app.team_id;
        credential.oauth_app_id = Some(app.id);
        credential
    }

    fn error_of(credential: &Credential, app: Option<&OAuthApp>) -> (String, String) {
        let errors = check_link(credential, app).unwrap_err();
        let [error] = errors.errors() else {
            panic!("one error expected: {errors:?}");
        };
        (error.field.clone(), error.message.clone())
    }

    #[test]
    fn an_app_of_the_team_and_provider_is_accepted() {
        let app = app(TeamId::new(), "sharepoint");
        assert!(
            check_link(
                &linked(Provider::Sharepoint, Kind::SharepointOauth, &app),
                Some(&app)
            )
            .is_ok()
        );
        let (unlinked, _) = stored_postgres_credential();
        assert!(check_link(&unlinked, None).is_ok());
    }

    #[test]
    fn a_missing_app_and_another_teams_app_get_the_same_error() {
        let app = app(TeamId::new(), "google");
        let credential = linked(Provider::Google, Kind::Oauth2, &app);
        let mut other_team = app.clone();
        other_team.team_id = TeamId::new();
        let missing = error_of(&credential, None);
        assert_eq!(missing.0, "oauth_app_id");
        assert_eq!(error_of(&credential, Some(&other_team)), missing);
        let mut another_id = credential.clone();
        another_id.oauth_app_id = Some(OAuthAppId::new());
        assert_eq!(error_of(&another_id, Some(&app)), missing);
        assert!(!missing.1.contains(&app.id.to_string()));
    }

    #[test]
    fn a_provider_mismatch_is_refused() {
        let app = app(TeamId::new(), "microsoft");
        let (field, message) = error_of(
            &linked(Provider::Sharepoint, Kind::Oauth2, &app),
            Some(&app),
        );
        assert_eq!(field, "oauth_app_id");
        assert!(
            message.contains("microsoft") && message.contains("sharepoint"),
            "{message}"
        );
    }

    #[test]
    fn a_non_oauth_kind_is_refused() {
        let app = app(TeamId::new(), "google");
        let (field, message) = error_of(
            &linked(Provider::Postgresql, Kind::UserPassword, &app),
            Some(&app),
        );
        assert_eq!(field, "oauth_app_id");
        assert!(message.contains("OAuth kinds"), "{message}");
    }
}

#[test]
fn plain_http_urls_are_accepted_only_on_loopback() {
    for url in [
        "http://127.0.0.1:8080/token",
        "http://localhost/token",
        "http://[::1]:9/token",
        "http://LOCALHOST:1",
    ] {
        let mut body = create_body();
        body["token_url"] = json!(url);
        body["authorize_url"] = json!(url);
        let parsed = NewOAuthApp::from_json(body);
        assert!(parsed.is_ok(), "{url}: {:?}", parsed.err());
    }
    for url in [
        "http://127.0.0.2/token",
        "http://localhost.example.test/token",
        "http://[::2]/token",
        "http://127.0.0.1.nip.io/token",
    ] {
        let mut body = create_body();
        body["token_url"] = json!(url);
        let errors = NewOAuthApp::from_json(body).unwrap_err();
        assert_eq!(fields_of(&errors), ["token_url"], "{url}");
    }
}
