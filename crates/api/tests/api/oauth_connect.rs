//! OAuth connect (authorization code with PKCE S256) through HTTP on both backends, against a
//! real OAuth 2.0 server on loopback (`credvault_probe::testing::OAuthServer`): start, follow the
//! authorize redirect as a browser would, the callback stores the tokens as an update (new
//! version, `updated` event by whoever started), status `connected` or `needs_page_selection`;
//! a used, an expired or an unknown state refused alike; the provider's `access_denied` and a
//! tampered PKCE challenge in words; another team's credential a 404; no secret in any answer.

use std::time::Duration;

use credvault_api::Settings;
use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use credvault_probe::testing::oauth_server::OAuthServer;
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, TestResponse, loopback_probe_settings};

pub(crate) const CLIENT_ID: &str = "connect-client";
pub(crate) const CLIENT_SECRET: &str = "cs-connect-9q8w7e6r-app-secret";

pub(crate) fn settings() -> Settings {
    let mut settings = loopback_probe_settings();
    settings.probe.oauth_http_hosts = vec!["127.0.0.1".to_owned()];
    settings.probe.timeout = Duration::from_secs(5);
    settings
}

struct Setup {
    app: TestApp,
    tokens: OAuthServer,
    id: String,
    browser: Client,
}

/// A server, the token server, an OAuth app of `provider` pointing at it, and a credential of
/// `kind` linked to it (with `extra_data`).
fn setup_with(db: &TestDb, provider: &str, kind: &str, extra_data: Value) -> Setup {
    setup_on(db, settings(), provider, kind, extra_data)
}

fn setup_on(
    db: &TestDb,
    settings: Settings,
    provider: &str,
    kind: &str,
    extra_data: Value,
) -> Setup {
    let app = TestApp::spawn_with_settings(db.store().clone(), settings);
    let tokens = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    let created = app.owner.post_json(
        &format!("/api/v1/teams/{}/oauth-apps", app.team.label),
        &json!({
            "name": "Local", "provider": provider, "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "token_url": tokens.token_url(),
            "authorize_url": tokens.authorize_url(), "scopes": ["files.read", "openid"],
        }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let app_id = created.json()["id"].clone();
    let credential = app.owner.post_json(
        &app.integrations(),
        &json!({"provider": provider, "kind": kind, "name": "Files",
                "oauth_app_id": app_id, "extra_data": extra_data}),
    );
    assert_eq!(credential.status, 201, "{}", credential.body);
    let id = credential.json()["id"].as_str().unwrap().to_owned();
    Setup {
        app,
        tokens,
        id,
        browser: Client::new("", None),
    }
}

fn setup(db: &TestDb) -> Setup {
    setup_with(db, "google", "google_oauth", json!({}))
}

fn connect_url(app: &TestApp, id: &str) -> String {
    format!("{}/oauth/connect", app.credential(id))
}

fn start(setup: &Setup) -> Value {
    let started = setup
        .app
        .owner
        .send("POST", &connect_url(&setup.app, &setup.id), &[], None);
    assert_eq!(started.status, 200, "{}", started.body);
    assert_eq!(started.header("cache-control"), Some("no-store"));
    started.json()
}

/// The browser's visit to the provider: the authorize URL's `302` back to the callback.
fn authorize(setup: &Setup, authorize_url: &str) -> String {
    let approved = setup.browser.get(authorize_url);
    assert_eq!(approved.status, 302, "{}", approved.body);
    approved.header("location").unwrap().to_owned()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

fn assert_problem(response: &TestResponse, status: u16, slug: &str) -> String {
    assert_eq!(response.status, status, "{}", response.body);
    let body = response.json();
    assert_eq!(
        body["type"],
        format!("https://credvault.dev/problems/{slug}"),
        "{body}"
    );
    body["detail"].as_str().unwrap().to_owned()
}

backend_tests! {
    fn a_connect_stores_the_tokens_as_an_update_and_the_credential_is_connected(db: &TestDb) {
        let setup = setup(db);
        let Setup { app, tokens, id, browser } = &setup;
        let before = app.owner.get(&app.credential(id)).json();
        assert_eq!(before["status"], "credentials_saved");

        let started = start(&setup);
        let url = started["authorize_url"].as_str().unwrap();
        let state = started["state"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}?response_type=code&", tokens.authorize_url())), "{url}");
        let redirect_uri = format!("http://{}/api/v1/oauth/callback", app.address);
        assert_eq!(query_param(url, "client_id").as_deref(), Some(CLIENT_ID));
        assert_eq!(
            query_param(url, "redirect_uri").unwrap(),
            redirect_uri.replace(':', "%3A").replace('/', "%2F")
        );
        assert_eq!(query_param(url, "scope").as_deref(), Some("files.read%20openid"));
        assert_eq!(query_param(url, "state").as_deref(), Some(state));
        assert_eq!(query_param(url, "code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(query_param(url, "code_challenge").unwrap().len(), 43);
        assert_eq!(query_param(url, "access_type").as_deref(), Some("offline"));
        assert_eq!(query_param(url, "prompt").as_deref(), Some("consent"));
        assert!(started["expires_at"].is_string());
        // Only the state's hash is stored.
        assert!(!db.contains_bytes(state.as_bytes()), "the state is stored in clear");

        let callback = authorize(&setup, url);
        assert!(callback.starts_with(&format!("{redirect_uri}?code=")), "{callback}");
        let done = browser.get(&callback);
        assert_eq!(done.status, 200, "{}", done.body);
        let done_body = done.json();
        assert_eq!(done_body["status"], "connected");
        assert_eq!(done_body["credential_id"], id.as_str());

        let access_token = app.stored_secret(id, "access_token").unwrap();
        let refresh_token = app.stored_secret(id, "refresh_token").unwrap();
        assert!(tokens.issued_access_token(&access_token));
        assert!(tokens.refresh_token_is_valid(&refresh_token));
        let after = app.owner.get(&app.credential(id));
        let body = after.json();
        assert_eq!(body["status"], "connected");
        assert_eq!(body["version"], before["version"].as_i64().unwrap() + 1);
        assert_eq!(body["secrets"]["access_token"], "••••");
        assert_eq!(body["secrets"]["refresh_token"], "••••");
        assert!(body["extra_data"]["expires_at"].is_string(), "{body}");
        for response in [&after, &done] {
            assert!(!response.body.contains(&access_token), "{}", response.body);
            assert!(!response.body.contains(&refresh_token), "{}", response.body);
            assert!(!response.body.contains(CLIENT_SECRET), "{}", response.body);
        }
        let events = app.events(id);
        let updated = events.last().unwrap();
        assert_eq!(updated["action"], "updated");
        assert_eq!(updated["actor"]["type"], "user");
        assert_eq!(updated["actor"]["id"], body["modified_by"]);
        assert_eq!(updated["secrets"]["access_token"], "set");
        assert_eq!(updated["secrets"]["refresh_token"], "set");
        let changed: Vec<&str> = updated["changed_fields"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert!(changed.contains(&"status") && changed.contains(&"extra_data.expires_at"), "{changed:?}");
        assert!(!updated.to_string().contains(&access_token));

        // The state was used once: the same redirect again is refused, and nothing changes.
        let again = browser.get(&callback);
        assert_problem(&again, 400, "oauth-state-invalid");
        assert_eq!(app.owner.get(&app.credential(id)).json()["version"], body["version"]);
    }

    fn an_expired_or_unknown_state_is_refused_alike(db: &TestDb) {
        let setup = setup(db);
        let started = start(&setup);
        let callback = authorize(&setup, started["authorize_url"].as_str().unwrap());
        db.execute_sql("UPDATE oauth_connect_states SET expires_at = '2000-01-01 00:00:00'");
        let expired = setup.browser.get(&callback);
        let detail = assert_problem(&expired, 400, "oauth-state-invalid");
        assert!(detail.contains("start the connect again"), "{detail}");

        let unknown_url = format!(
            "http://{}/api/v1/oauth/callback?code=abc&state=cvoc_unknown",
            setup.app.address
        );
        let unknown = setup.browser.get(&unknown_url);
        assert_eq!(assert_problem(&unknown, 400, "oauth-state-invalid"), detail);
        let none = setup.browser.get(&format!("http://{}/api/v1/oauth/callback", setup.app.address));
        assert_problem(&none, 400, "oauth-state-invalid");
        assert_eq!(setup.app.stored_secret(&setup.id, "access_token"), None);
        assert_eq!(setup.tokens.requests(), 1, "only the authorize visit reached the provider");
    }

    fn the_providers_access_denied_is_shown_in_words(db: &TestDb) {
        let setup = setup(db);
        setup.tokens.set_deny_authorize(true);
        let started = start(&setup);
        let callback = authorize(&setup, started["authorize_url"].as_str().unwrap());
        assert!(callback.contains("error=access_denied"), "{callback}");
        let denied = setup.browser.get(&callback);
        let detail = assert_problem(&denied, 400, "oauth-connect-failed");
        assert!(detail.contains("access was denied (access_denied)"), "{detail}");
        assert!(detail.contains("nothing was stored"), "{detail}");
        let body = setup.app.owner.get(&setup.app.credential(&setup.id)).json();
        assert_eq!(body["status"], "credentials_saved");
        assert_eq!(body["version"], 1);
        // The state is spent by the denial too.
        assert_problem(&setup.browser.get(&callback), 400, "oauth-state-invalid");
    }

    fn a_tampered_challenge_fails_the_exchange(db: &TestDb) {
        let setup = setup(db);
        let started = start(&setup);
        let url = started["authorize_url"].as_str().unwrap();
        let challenge = query_param(url, "code_challenge").unwrap();
        let forged = credvault_probe::testing::oauth_server::pkce_challenge("another-verifier-of-the-attacker-0000000000");
        let tampered = url.replace(&challenge, &forged);
        let callback = authorize(&setup, &tampered);
        let code = query_param(&callback, "code").unwrap();
        let refused = setup.browser.get(&callback);
        let detail = assert_problem(&refused, 400, "oauth-connect-failed");
        assert!(detail.contains("invalid_grant") && detail.contains("PKCE"), "{detail}");
        assert!(!refused.body.contains(&code), "{}", refused.body);
        assert_eq!(setup.app.stored_secret(&setup.id, "access_token"), None);
    }

    fn a_sharepoint_credential_without_a_site_needs_page_selection(db: &TestDb) {
        let setup = setup_with(db, "sharepoint", "sharepoint_oauth", json!({}));
        let started = start(&setup);
        let url = started["authorize_url"].as_str().unwrap();
        assert_eq!(query_param(url, "scope").as_deref(), Some("files.read%20openid%20offline_access"));
        let done = setup.browser.get(&authorize(&setup, url));
        assert_eq!(done.status, 200, "{}", done.body);
        assert_eq!(done.json()["status"], "needs_page_selection");
        assert_eq!(setup.app.owner.get(&setup.app.credential(&setup.id)).json()["status"], "needs_page_selection");
    }

    fn only_an_owner_of_the_team_starts_a_connect_of_a_linked_oauth_credential(db: &TestDb) {
        let setup = setup(db);
        let app = &setup.app;
        let url = connect_url(app, &setup.id);
        let outsider = app.outsider.send("POST", &url, &[], None);
        let missing = app.owner.send("POST", &connect_url(app, &uuid::Uuid::now_v7().to_string()), &[], None);
        assert_eq!(outsider.status, 404, "{}", outsider.body);
        assert_eq!(outsider.json()["detail"], missing.json()["detail"]);
        assert_eq!(missing.status, 404);
        assert_eq!(app.member.send("POST", &url, &[], None).status, 403);
        assert_eq!(app.anonymous.send("POST", &url, &[], None).status, 401);

        let unlinked = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "google", "kind": "google_oauth", "name": "Own client",
                    "extra_data": {"client_id": "c", "client_secret": "s"}}),
        );
        let unlinked_id = unlinked.json()["id"].as_str().unwrap().to_owned();
        let refused = app.owner.send("POST", &connect_url(app, &unlinked_id), &[], None);
        let detail = assert_problem(&refused, 409, "not-connectable");
        assert!(detail.contains("not linked to an OAuth app"), "{detail}");

        let stripe = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "stripe", "kind": "api_key", "name": "Billing",
                    "extra_data": {"api_key": "sk_test_1"}}),
        );
        let stripe_id = stripe.json()["id"].as_str().unwrap().to_owned();
        let refused = app.owner.send("POST", &connect_url(app, &stripe_id), &[], None);
        let detail = assert_problem(&refused, 409, "not-connectable");
        assert!(detail.contains("api_key credential has no OAuth flow"), "{detail}");
        assert_eq!(db.count_rows("oauth_connect_states"), 0);
    }

    fn a_connect_of_a_principal_who_lost_the_role_stores_nothing(db: &TestDb) {
        let setup = setup(db);
        let started = start(&setup);
        let callback = authorize(&setup, started["authorize_url"].as_str().unwrap());
        db.execute_sql("UPDATE memberships SET role = 'member' WHERE role = 'owner'");
        let refused = setup.browser.get(&callback);
        let detail = assert_problem(&refused, 400, "oauth-connect-failed");
        assert!(detail.contains("may no longer change the credential"), "{detail}");
        assert_eq!(setup.app.stored_secret(&setup.id, "access_token"), None);
    }

    fn a_token_url_the_policy_refuses_is_never_asked(db: &TestDb) {
        // Plain http to loopback is a valid app URL, but the operator did not allow the host.
        let setup = setup_on(db, loopback_probe_settings(), "google", "google_oauth", json!({}));
        let started = start(&setup);
        let callback = authorize(&setup, started["authorize_url"].as_str().unwrap());
        let refused = setup.browser.get(&callback);
        let detail = assert_problem(&refused, 400, "oauth-connect-failed");
        assert!(detail.contains("may not be reached from this server"), "{detail}");
        assert_eq!(setup.tokens.requests(), 1, "only the authorize visit reached the server");
        assert_eq!(setup.app.stored_secret(&setup.id, "access_token"), None);
    }

    fn a_refused_code_is_explained_without_quoting_it(db: &TestDb) {
        let setup = setup(db);
        let started = start(&setup);
        let callback = authorize(&setup, started["authorize_url"].as_str().unwrap());
        let code = query_param(&callback, "code").unwrap();
        // The provider's description quotes the code it was given.
        setup.tokens.set_invalid_grant(true);
        let refused = setup.browser.get(&callback);
        let detail = assert_problem(&refused, 400, "oauth-connect-failed");
        assert!(detail.contains("refused the authorization code (invalid_grant"), "{detail}");
        assert!(!refused.body.contains(&code), "{}", refused.body);
        assert!(!refused.body.contains(CLIENT_SECRET), "{}", refused.body);
        let body = setup.app.owner.get(&setup.app.credential(&setup.id)).json();
        assert_eq!(body["version"], 1);
    }
}
