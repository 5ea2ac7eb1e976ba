//! The console's service account, grant, OAuth app and connection test pages in a real headless
//! Chromium, checked through the browser, the JSON API and the store, on both backends.
//!
//! One browser session runs every case of a backend in order.

use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use super::browser::Browser;
use super::{csrf_token, post_form, session_cookie, sign_in};
use crate::helpers::{Client, TestApp};
use crate::service_accounts::{exchange_basic, text};

/// What every case needs: the server, the browser signed in as the owner, and a plain client
/// holding the same session.
struct Console<'a> {
    app: &'a TestApp,
    browser: &'a Browser,
    plain: Client,
    cookie: String,
    csrf: String,
}

impl Console<'_> {
    /// `GET path` with the owner's session cookie, outside the browser.
    fn get(&self, path: &str) -> crate::helpers::TestResponse {
        self.plain
            .send("GET", path, &[("cookie", &self.cookie)], None)
    }

    /// A form post with the owner's session cookie, outside the browser.
    fn post(&self, path: &str, body: &str) -> crate::helpers::TestResponse {
        post_form(&self.plain, path, &self.cookie, body)
    }

    /// The same post with the session's CSRF token.
    fn post_checked(&self, path: &str, body: &str) -> crate::helpers::TestResponse {
        self.post(path, &format!("csrf_token={}&{body}", self.csrf))
    }

    fn service_accounts(&self) -> Vec<Value> {
        let listed = self.app.owner.get(&format!(
            "/api/v1/teams/{}/service-accounts",
            self.app.team.label
        ));
        assert_eq!(listed.status, 200, "{}", listed.body);
        listed.json()["items"].as_array().unwrap().clone()
    }
}

/// The id at the end of a console path `/console/<what>/{id}`.
fn last_segment(path: &str, prefix: &str) -> String {
    path.strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{path} is not under {prefix}"))
        .split('/')
        .next()
        .unwrap()
        .to_owned()
}

credvault_persistence::backend_tests! {
    fn console_pages_in_a_browser(db: &TestDb) {
        let app = TestApp::spawn_for_probes(db);
        let Some(browser) = Browser::start(app.owner.base_url()) else {
            return;
        };
        sign_in(&browser, app.owner.token().unwrap());
        let plain = Client::new(app.owner.base_url(), None);
        let cookie = format!("credvault_console={}", browser.cookie("credvault_console").unwrap());
        let csrf = csrf_token(&plain, &cookie);
        let console = Console { app: &app, browser: &browser, plain, cookie, csrf };
        let account_id = service_accounts(&console);
        grants(&console, &account_id);
        oauth_apps(&console);
        connection_tests(&console);
    }
}

/// Service accounts and their client credentials: the secret shown once. Returns the id of the
/// account it leaves.
fn service_accounts(console: &Console<'_>) -> String {
    let (app, browser) = (console.app, console.browser);
    browser.click("#nav-service-accounts", "#no-service-accounts");
    browser.screenshot("service-accounts-empty");

    // Create one.
    browser.click("#new-service-account", "#service-account-form");
    browser.screenshot("service-account-new");
    browser.fill("#name", "etl runner");
    browser.fill("#description", "nightly loads");
    browser.select("#role", "member");
    browser.click("#save", "#service-account-name");
    let account_id = last_segment(&browser.path(), "/console/service-accounts/");
    let accounts = console.service_accounts();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0]["id"], account_id.as_str());
    assert_eq!(accounts[0]["name"], "etl runner");
    assert_eq!(accounts[0]["description"], "nightly loads");
    assert_eq!(accounts[0]["role"], "member");
    assert!(browser.has("#no-client-credentials"));

    // A form that fails keeps what was typed and writes nothing.
    browser.goto("/console/service-accounts/new");
    browser.fill("#name", "   ");
    browser.fill("#description", "typed description");
    browser.click("#save", "#errors");
    assert!(browser.text("#errors").contains("name"));
    assert_eq!(browser.value("#description"), "typed description");
    assert_eq!(console.service_accounts().len(), 1);

    // A client credential: its secret is on the page that answers the POST, and works.
    browser.goto(&format!("/console/service-accounts/{account_id}"));
    browser.fill("#credential-name", "ci");
    browser.fill("#credential-description", "the CI runner");
    browser.click("#create-client-credential", "#client-secret");
    browser.screenshot("client-secret-once");
    let client_id = browser.text("#client-id");
    let client_secret = browser.text("#client-secret");
    assert!(client_secret.len() > 40, "{client_secret}");
    assert!(!browser.path().contains(&client_secret));
    let exchanged = exchange_basic(app, &client_id, &client_secret);
    assert_eq!(exchanged.status, 200, "{}", exchanged.body);
    // Loading the page again shows the account without the secret, and no page shows it.
    let answered_at = browser.path();
    assert_eq!(
        answered_at,
        format!("/console/service-accounts/{account_id}/credentials")
    );
    browser.goto(&answered_at);
    assert_eq!(
        browser.path(),
        format!("/console/service-accounts/{account_id}")
    );
    browser.screenshot("service-account");
    let page = browser.source();
    assert!(page.contains(&client_id));
    assert!(!page.contains(&client_secret));
    assert!(
        browser
            .text("#client-credentials")
            .contains("the CI runner")
    );
    for path in [
        format!("/console/service-accounts/{account_id}"),
        "/console/service-accounts".to_owned(),
        format!("/console/service-accounts/{account_id}/edit"),
    ] {
        let answer = console.get(&path);
        assert_eq!(answer.status, 200, "{path}");
        assert!(!answer.body.contains(&client_secret), "{path}");
    }

    // The answer to the POST is not to be stored, and holds the secret only in its body.
    let created = console.post_checked(
        &format!("/console/service-accounts/{account_id}/credentials"),
        "name=second",
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    assert!(created.header("location").is_none());
    assert!(created.body.contains("id=\"client-secret\""));
    let credentials = app.owner.get(&format!(
        "/api/v1/teams/{}/service-accounts/{account_id}/credentials",
        app.team.label
    ));
    assert_eq!(credentials.json()["items"].as_array().unwrap().len(), 2);

    // Edit: rename, clear the description.
    browser.click("#edit", "#service-account-form");
    browser.screenshot("service-account-edit");
    assert!(!browser.has("#role"));
    browser.fill("#name", "etl runner 2");
    browser.fill("#description", "");
    browser.click("#save", "#service-account-name");
    let account = app
        .owner
        .get(&format!(
            "/api/v1/teams/{}/service-accounts/{account_id}",
            app.team.label
        ))
        .json();
    assert_eq!(account["name"], "etl runner 2");
    assert_eq!(account["description"], Value::Null);

    // Without its CSRF token a new form's post is refused and writes nothing.
    for (path, body) in [
        ("/console/service-accounts".to_owned(), "name=forged"),
        (
            format!("/console/service-accounts/{account_id}/edit"),
            "name=forged",
        ),
        (
            format!("/console/service-accounts/{account_id}/credentials"),
            "name=forged",
        ),
        (format!("/console/service-accounts/{account_id}/delete"), ""),
    ] {
        assert_eq!(console.post(&path, body).status, 403, "{path}");
    }
    assert_eq!(console.service_accounts().len(), 1);
    assert_eq!(console.service_accounts()[0]["name"], "etl runner 2");
    assert_eq!(credentials_of(app, &account_id).len(), 2);

    // A member sees the account and its client credentials, not the owner's forms.
    let member = Client::new(app.owner.base_url(), None);
    let member_cookie = session_cookie(&post_form(
        &member,
        "/console/sign-in",
        "",
        &format!("token={}", app.member.token().unwrap()),
    ));
    let seen = member.send(
        "GET",
        &format!("/console/service-accounts/{account_id}"),
        &[("cookie", &member_cookie)],
        None,
    );
    assert_eq!(seen.status, 200);
    assert!(seen.body.contains(&client_id));
    assert!(!seen.body.contains("client-credential-form"));
    assert!(!seen.body.contains("held-grants") && !seen.body.contains("no-held-grants"));
    for path in [
        "/console/service-accounts/new".to_owned(),
        format!("/console/service-accounts/{account_id}/edit"),
    ] {
        let answer = member.send("GET", &path, &[("cookie", &member_cookie)], None);
        assert_eq!(answer.status, 403, "{path}");
    }

    // Another team's service account is not found, like a missing one.
    let foreign = app.outsider.post_json(
        &format!("/api/v1/teams/{}/service-accounts", app.other_team.label),
        &json!({"name": "globex robot"}),
    );
    assert_eq!(foreign.status, 201, "{}", foreign.body);
    let foreign_id = text(&foreign.json(), "id");
    let foreign_page = console.get(&format!("/console/service-accounts/{foreign_id}"));
    assert_eq!(foreign_page.status, 404);
    assert!(!foreign_page.body.contains("globex robot"));
    let missing = console.get(&format!(
        "/console/service-accounts/{}",
        uuid::Uuid::now_v7()
    ));
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, foreign_page.body);
    let foreign_delete = console.post_checked(
        &format!("/console/service-accounts/{foreign_id}/delete"),
        "",
    );
    assert_eq!(foreign_delete.status, 404);

    // Delete the first client credential: it no longer signs in.
    browser.goto(&format!("/console/service-accounts/{account_id}"));
    let first = credentials_of(app, &account_id)
        .into_iter()
        .find(|credential| credential["client_id"] == client_id.as_str())
        .unwrap();
    let first_id = text(&first, "id");
    browser.click(
        &format!("#delete-client-credential-{first_id}"),
        "#service-account-name",
    );
    assert!(!browser.has(&format!("#client-credential-{first_id}")));
    assert_eq!(credentials_of(app, &account_id).len(), 1);
    assert_eq!(exchange_basic(app, &client_id, &client_secret).status, 401);

    // Delete a second account after the confirmation.
    let doomed = app.owner.post_json(
        &format!("/api/v1/teams/{}/service-accounts", app.team.label),
        &json!({"name": "short lived", "role": "owner"}),
    );
    let doomed_id = text(&doomed.json(), "id");
    browser.goto(&format!("/console/service-accounts/{doomed_id}"));
    assert_eq!(browser.text("#role-value"), "owner");
    browser.click("#delete", "#confirm-delete");
    browser.screenshot("service-account-delete");
    browser.click("#confirm-delete", "#service-accounts");
    assert_eq!(browser.path(), "/console/service-accounts");
    browser.screenshot("service-accounts");
    assert_eq!(console.service_accounts().len(), 1);
    account_id
}

/// Granting a service account use of a credential, and revoking it.
fn grants(console: &Console<'_>, account_id: &str) {
    let (app, browser) = (console.app, console.browser);
    let created = app.owner.post_json(
        &app.integrations(),
        &json!({"provider": "github", "kind": "api_key", "name": "ci token",
                "extra_data": {"github_token": "ghp_console_grants_secret"}}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = text(&created.json(), "id");
    let grants_api = format!("{}/grants", app.credential(&id));
    let held = || {
        let listed = app.owner.get(&grants_api);
        assert_eq!(listed.status, 200, "{}", listed.body);
        listed.json()["items"].as_array().unwrap().clone()
    };

    browser.goto(&format!("/console/credentials/{id}"));
    browser.click("#grants-link", "#no-grants");
    browser.screenshot("grants-empty");
    let option = format!("#service_account_id option[value='{account_id}']");
    assert!(browser.has(&option));
    browser.select("#service_account_id", account_id);
    browser.click("#grant", "#grants");
    browser.screenshot("grants");
    let listed = held();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["service_account_id"], account_id);
    assert!(
        browser
            .text(&format!("#grant-{account_id}"))
            .contains("etl runner 2")
    );
    assert!(!browser.has(&option));
    assert!(!browser.source().contains("ghp_console_grants_secret"));
    let events = app.events(&id);
    assert_eq!(events.last().unwrap()["action"], "use_granted");
    // The service account's page says what it may use.
    let account_page = console.get(&format!("/console/service-accounts/{account_id}"));
    assert!(
        account_page.body.contains("id=\"held-grants\""),
        "{}",
        account_page.body
    );
    assert!(account_page.body.contains("ci token"));

    // Without the CSRF token nothing is granted or revoked; another team's service account
    // cannot be granted; a member may not see the page.
    let other = app.owner.post_json(
        &format!("/api/v1/teams/{}/service-accounts", app.team.label),
        &json!({"name": "second robot"}),
    );
    let other_id = text(&other.json(), "id");
    let foreign = app.outsider.post_json(
        &format!("/api/v1/teams/{}/service-accounts", app.other_team.label),
        &json!({"name": "globex grantee"}),
    );
    let foreign_id = text(&foreign.json(), "id");
    let grant_path = format!("/console/credentials/{id}/grants");
    let refused = console.post(&grant_path, &format!("service_account_id={other_id}"));
    assert_eq!(refused.status, 403);
    let grant_id = text(&listed[0], "id");
    let revoke_path = format!("/console/credentials/{id}/grants/{grant_id}/revoke");
    assert_eq!(console.post(&revoke_path, "").status, 403);
    let foreign_grant =
        console.post_checked(&grant_path, &format!("service_account_id={foreign_id}"));
    assert_eq!(foreign_grant.status, 422, "{}", foreign_grant.body);
    assert!(foreign_grant.body.contains("no such service account"));
    assert!(!foreign_grant.body.contains("globex grantee"));
    assert_eq!(held().len(), 1);
    let member = Client::new(app.owner.base_url(), None);
    let member_cookie = session_cookie(&post_form(
        &member,
        "/console/sign-in",
        "",
        &format!("token={}", app.member.token().unwrap()),
    ));
    let member_page = member.send("GET", &grant_path, &[("cookie", &member_cookie)], None);
    assert_eq!(member_page.status, 403);
    assert!(!member_page.body.contains("etl runner 2"));

    // Revoke.
    browser.goto(&grant_path);
    browser.click(&format!("#revoke-{account_id}"), "#no-grants");
    assert_eq!(held(), Vec::<Value>::new());
    assert_eq!(app.events(&id).last().unwrap()["action"], "use_revoked");
    assert!(browser.has(&option));
}

fn credentials_of(app: &TestApp, account_id: &str) -> Vec<Value> {
    let listed = app.owner.get(&format!(
        "/api/v1/teams/{}/service-accounts/{account_id}/credentials",
        app.team.label
    ));
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.json()["items"].as_array().unwrap().clone()
}

const APP_SECRET: &str = "cs-console-app-secret-5521";

/// The client secret stored for OAuth app `id`, opened.
fn stored_app_secret(app: &TestApp, id: &str) -> String {
    let stored = app
        .state
        .store
        .find_oauth_app(app.team.id, id.parse().unwrap())
        .unwrap()
        .unwrap();
    credvault_usecases::oauth_apps::client_secret(&app.state.key_ring, &stored)
        .unwrap()
        .expose()
        .to_owned()
}

/// OAuth apps: create, edit without retyping the secret, conflicts, and delete while in use.
fn oauth_apps(console: &Console<'_>) {
    let (app, browser) = (console.app, console.browser);
    let apps_api = format!("/api/v1/teams/{}/oauth-apps", app.team.label);
    browser.click("#nav-oauth-apps", "#no-oauth-apps");
    browser.screenshot("oauth-apps-empty");

    // Create.
    browser.click("#new-oauth-app", "#oauth-app-form");
    browser.screenshot("oauth-app-new");
    assert_eq!(browser.value("#client_secret"), "");
    browser.fill("#name", "Contoso Graph");
    browser.select("#provider", "microsoft");
    browser.fill("#client_id", "contoso-client");
    browser.fill("#client_secret", APP_SECRET);
    browser.fill("#scopes", "offline_access  User.Read");
    browser.fill(
        "#metadata",
        r#"{"owner": "it-ops", "env": {"stage": "prod", "region": "eu"}}"#,
    );
    browser.click("#save", "#oauth-app-name");
    browser.screenshot("oauth-app");
    let app_id = last_segment(&browser.path(), "/console/oauth-apps/");
    assert!(browser.text("#client-secret").contains("••••"));
    assert!(!browser.source().contains(APP_SECRET));
    assert_eq!(stored_app_secret(app, &app_id), APP_SECRET);
    let body = app.owner.get(&format!("{apps_api}/{app_id}")).json();
    assert_eq!(body["name"], "Contoso Graph");
    assert_eq!(body["provider"], "microsoft");
    assert_eq!(body["scopes"], json!(["offline_access", "User.Read"]));
    assert_eq!(
        body["token_url"],
        "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    );
    assert_eq!(body["version"], 1);

    // Edit without retyping the secret: the stored secret is unchanged.
    browser.click("#edit", "#oauth-app-form");
    browser.screenshot("oauth-app-edit");
    assert_eq!(browser.value("#client_secret"), "");
    assert!(browser.source().contains(r#"placeholder="••••""#));
    assert!(!browser.source().contains(APP_SECRET));
    assert!(!browser.has("#provider"));
    browser.fill("#name", "Contoso Graph (prod)");
    browser.fill(
        "#metadata",
        r#"{"owner": "it-ops", "env": {"stage": "prod"}}"#,
    );
    browser.fill("#token_url", "");
    browser.click("#save", "#oauth-app-name");
    let body = app.owner.get(&format!("{apps_api}/{app_id}")).json();
    assert_eq!(body["name"], "Contoso Graph (prod)");
    assert_eq!(
        body["metadata"],
        json!({"owner": "it-ops", "env": {"stage": "prod"}})
    );
    assert_eq!(
        body["token_url"],
        "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    );
    assert_eq!(body["client_id"], "contoso-client");
    assert_eq!(body["version"], 2);
    assert_eq!(stored_app_secret(app, &app_id), APP_SECRET);

    // A failed edit keeps the typed plain values, drops the typed secret, writes nothing.
    browser.goto(&format!("/console/oauth-apps/{app_id}/edit"));
    browser.fill("#client_id", "");
    browser.fill("#client_secret", "typed-app-secret-never-shown");
    browser.click("#save", "#errors");
    assert!(browser.text("#errors").contains("client_id"));
    assert!(!browser.source().contains("typed-app-secret-never-shown"));
    assert_eq!(browser.value("#client_secret"), "");
    assert_eq!(browser.value("#name"), "Contoso Graph (prod)");
    assert_eq!(stored_app_secret(app, &app_id), APP_SECRET);

    // Retyped, the secret is replaced.
    browser.goto(&format!("/console/oauth-apps/{app_id}/edit"));
    browser.fill("#client_secret", "cs-console-app-secret-rotated");
    browser.click("#save", "#oauth-app-name");
    assert_eq!(
        stored_app_secret(app, &app_id),
        "cs-console-app-secret-rotated"
    );
    assert!(!browser.source().contains("cs-console-app-secret-rotated"));

    // Changed elsewhere between opening and saving: a conflict, nothing written.
    browser.goto(&format!("/console/oauth-apps/{app_id}/edit"));
    let changed = app.owner.patch_json(
        &format!("{apps_api}/{app_id}"),
        &json!({"scopes": ["User.Read"]}),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    browser.fill("#name", "my name");
    browser.click("#save", "#conflict");
    browser.screenshot("oauth-app-conflict");
    assert_eq!(
        app.owner.get(&format!("{apps_api}/{app_id}")).json()["name"],
        "Contoso Graph (prod)"
    );

    // Without the CSRF token nothing is created, changed or deleted; a member may only look.
    assert_eq!(
        console
            .post(
                "/console/oauth-apps",
                "name=forged&provider=google&client_id=x&client_secret=y"
            )
            .status,
        403
    );
    assert_eq!(
        console
            .post(
                &format!("/console/oauth-apps/{app_id}/edit"),
                "version=4&name=forged"
            )
            .status,
        403
    );
    assert_eq!(
        console
            .post(&format!("/console/oauth-apps/{app_id}/delete"), "")
            .status,
        403
    );
    let listed = app.owner.get(&apps_api).json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let member = Client::new(app.owner.base_url(), None);
    let member_cookie = session_cookie(&post_form(
        &member,
        "/console/sign-in",
        "",
        &format!("token={}", app.member.token().unwrap()),
    ));
    let seen = member.send(
        "GET",
        &format!("/console/oauth-apps/{app_id}"),
        &[("cookie", &member_cookie)],
        None,
    );
    assert_eq!(seen.status, 200);
    assert!(!seen.body.contains("id=\"edit\""));
    for path in [
        "/console/oauth-apps/new".to_owned(),
        format!("/console/oauth-apps/{app_id}/edit"),
    ] {
        assert_eq!(
            member
                .send("GET", &path, &[("cookie", &member_cookie)], None)
                .status,
            403,
            "{path}"
        );
    }

    // An app that a credential is linked to is not deleted, and the page says why.
    let google = app.owner.post_json(
        &apps_api,
        &json!({"name": "Drive app", "provider": "google", "client_id": "drive-client",
                "client_secret": "cs-drive-app-secret"}),
    );
    assert_eq!(google.status, 201, "{}", google.body);
    let google_id = text(&google.json(), "id");
    let linked = app.owner.post_json(
        &app.integrations(),
        &json!({"provider": "google", "kind": "google_oauth", "name": "Drive",
                "oauth_app_id": google_id, "extra_data": {"refresh_token": "rt-console-1"}}),
    );
    assert_eq!(linked.status, 201, "{}", linked.body);
    browser.goto(&format!("/console/oauth-apps/{google_id}"));
    browser.click("#delete", "#confirm-delete");
    browser.screenshot("oauth-app-delete");
    browser.click("#confirm-delete", "#in-use");
    browser.screenshot("oauth-app-in-use");
    assert!(
        browser
            .text("#in-use")
            .contains("one credential of this team is linked")
    );
    assert_eq!(
        app.owner.get(&format!("{apps_api}/{google_id}")).status,
        200
    );
    let refused = console.post_checked(&format!("/console/oauth-apps/{google_id}/delete"), "");
    assert_eq!(refused.status, 409);

    // One that is not in use goes.
    browser.goto(&format!("/console/oauth-apps/{app_id}/delete"));
    browser.click("#confirm-delete", "#oauth-apps");
    browser.screenshot("oauth-apps");
    assert_eq!(app.owner.get(&format!("{apps_api}/{app_id}")).status, 404);
    assert!(!browser.source().contains("Contoso Graph"));
}

/// The CSRF token of a session `cookie`, read from the credentials list (which members see).
fn csrf_of(client: &Client, cookie: &str) -> String {
    let page = client.send("GET", "/console/credentials", &[("cookie", cookie)], None);
    assert_eq!(page.status, 200, "{}", page.body);
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.body.find(marker).unwrap() + marker.len();
    let end = start + page.body[start..].find('"').unwrap();
    page.body[start..end].to_owned()
}

/// "Test connection" of a stored PostgreSQL credential, and "Test these values" on its edit
/// form, against the real SCRAM cluster.
fn connection_tests(console: &Console<'_>) {
    let cluster = match credvault_probe::testing::cluster::scram_cluster() {
        Ok(cluster) => cluster,
        Err(reason) => {
            eprintln!("skipped the console's connection tests: {reason}");
            return;
        }
    };
    let (app, browser) = (console.app, console.browser);
    let created = app.owner.post_json(
        &app.integrations(),
        &json!({"provider": "postgresql", "kind": "user_password", "name": "Warehouse",
                "extra_data": {"host": "127.0.0.1", "port": cluster.port,
                               "database": cluster.database, "username": cluster.user,
                               "password": cluster.password}}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = text(&created.json(), "id");

    // Test the stored credential: ok, recorded.
    browser.goto(&format!("/console/credentials/{id}"));
    browser.click("#test-connection", "#test-result");
    browser.screenshot("connection-test");
    assert_eq!(browser.text("#test-code"), "ok");
    assert_eq!(browser.text("#test-ok"), "Connected");
    assert!(!browser.source().contains(&cluster.password));
    let body = app.owner.get(&app.credential(&id)).json();
    assert_eq!(body["status"], "connected");
    assert_eq!(body["health"]["status"], "healthy");
    assert_eq!(body["version"], 1);
    let events = app.events(&id);
    assert_eq!(events.last().unwrap()["action"], "tested");
    browser.click("#back", "#health");
    assert!(browser.text("#health").contains("healthy"));

    // Test the edit form's values before saving: a wrong database, then a wrong password.
    browser.goto(&format!("/console/credentials/{id}/edit"));
    browser.fill("#field-database", "no_such_database_console");
    browser.click("#test-values", "#test-result");
    browser.screenshot("test-values");
    assert_eq!(browser.text("#test-code"), "database_not_found");
    assert_eq!(browser.value("#field-database"), "no_such_database_console");
    assert!(browser.has("#test-not-saved"));
    let body = app.owner.get(&app.credential(&id)).json();
    assert_eq!(body["extra_data"]["database"], cluster.database.as_str());
    assert_eq!(
        (body["version"].as_i64(), body["status"].as_str()),
        (Some(1), Some("connected"))
    );
    let tested = app.events(&id).last().unwrap().clone();
    assert_eq!(tested["action"], "tested");
    let changed = tested["changed_fields"].as_array().unwrap();
    assert!(
        changed.contains(&json!("body.extra_data.database")),
        "{tested}"
    );
    assert!(
        !changed.contains(&json!("body.extra_data.host")),
        "{tested}"
    );
    browser.goto(&format!("/console/credentials/{id}/edit"));
    browser.fill("#field-password", "console-wrong-password-8812");
    browser.click("#test-values", "#test-result");
    assert_eq!(browser.text("#test-code"), "auth_failed");
    assert_eq!(browser.value("#field-password"), "");
    let page = browser.source();
    assert!(!page.contains("console-wrong-password-8812"));
    assert!(!page.contains(&cluster.password));
    assert_eq!(
        app.stored_secret(&id, "password").as_deref(),
        Some(cluster.password.as_str())
    );
    // The form still saves from there, with the values typed.
    browser.click("#save", "#credential-name");
    assert_eq!(app.owner.get(&app.credential(&id)).json()["version"], 1);

    // Without the CSRF token nothing runs.
    let recorded = app.events(&id).len();
    assert_eq!(
        console
            .post(&format!("/console/credentials/{id}/test"), "")
            .status,
        403
    );
    assert_eq!(
        console
            .post(
                &format!("/console/credentials/{id}/edit/test"),
                "name=Warehouse&x.host=127.0.0.2"
            )
            .status,
        403
    );
    assert_eq!(app.events(&id).len(), recorded);

    // A member tests the stored credential, but may not send its password to another host.
    let member = Client::new(app.owner.base_url(), None);
    let member_cookie = session_cookie(&post_form(
        &member,
        "/console/sign-in",
        "",
        &format!("token={}", app.member.token().unwrap()),
    ));
    let member_csrf = csrf_of(&member, &member_cookie);
    let stored = post_form(
        &member,
        &format!("/console/credentials/{id}/test"),
        &member_cookie,
        &format!("csrf_token={member_csrf}"),
    );
    assert_eq!(stored.status, 200, "{}", stored.body);
    assert!(
        stored.body.contains(r#"<code id="test-code">ok</code>"#),
        "{}",
        stored.body
    );
    let refused = post_form(
        &member,
        &format!("/console/credentials/{id}/edit/test"),
        &member_cookie,
        &format!("csrf_token={member_csrf}&version=1&name=Warehouse&x.host=127.0.0.2"),
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("needs the owner role"),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains(&cluster.password));
    assert_eq!(app.events(&id).len(), recorded + 1);

    // A credential that cannot be tested by connecting has no button, and says why.
    let github = app.owner.post_json(
        &app.integrations(),
        &json!({"provider": "github", "kind": "api_key", "name": "gh",
                "extra_data": {"github_token": "ghp_console_untestable"}}),
    );
    let github_id = text(&github.json(), "id");
    let shown = console.get(&format!("/console/credentials/{github_id}"));
    assert!(!shown.body.contains("test-connection"));
    let untestable = console.post_checked(&format!("/console/credentials/{github_id}/test"), "");
    assert_eq!(untestable.status, 422, "{}", untestable.body);
    assert!(untestable.body.contains("cannot be tested"));
}
