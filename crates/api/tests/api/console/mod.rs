//! The web console in a real headless Chromium: sign-in, the credential pages, the masked edit
//! form's rules, `If-Match` conflicts, tenancy, CSRF and sign-out; checked through the browser,
//! the JSON API and the store.
//!
//! One browser session runs every case of a backend in order (starting Chromium is the slow
//! part). The whole suite runs on SQLite; sign-in and edit also run on PostgreSQL.

mod browser;
mod pages;

use credvault_persistence::testing::TestDb;
use serde_json::json;

use crate::helpers::{Client, TestApp, TestResponse};
use browser::Browser;

const SFTP_PASSWORD: &str = "sftp-password-original-71";
const PEM: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nYnJvd3Nlci10ZXN0LWtleQ==\n-----END OPENSSH PRIVATE KEY-----";
const PASSPHRASE: &str = "key-passphrase-93";

/// Signs the browser in as `token` and lands on the credentials list.
fn sign_in(browser: &Browser, token: &str) {
    browser.goto("/console/sign-in");
    browser.fill("#token", token);
    browser.click("#sign-in", "#filter");
    assert_eq!(browser.path(), "/console/credentials");
}

/// The id in a `/console/credentials/{id}` path.
fn id_of(path: &str) -> String {
    path.strip_prefix("/console/credentials/")
        .unwrap_or_else(|| panic!("not a credential page: {path}"))
        .to_owned()
}

/// Creates an SFTP password credential in the browser; returns its id.
fn create_sftp_in_browser(browser: &Browser, name: &str) -> String {
    browser.goto("/console/credentials/new");
    browser.click("#new-sftp-user_password", "#credential-form");
    browser.fill("#name", name);
    browser.fill("#field-host", "files.example.com");
    browser.fill("#field-port", "2222");
    browser.fill("#field-username", "deploy");
    browser.fill("#field-password", SFTP_PASSWORD);
    browser.click("#save", "#credential-name");
    id_of(&browser.path())
}

/// A form post with a plain HTTP client that carries the browser's session cookie.
fn post_form(client: &Client, path: &str, cookie: &str, body: &str) -> TestResponse {
    client.send(
        "POST",
        path,
        &[
            ("cookie", cookie),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        Some(body.as_bytes()),
    )
}

credvault_persistence::backend_tests! {
    fn console_sign_in_and_edit_keep_the_stored_password(db: &TestDb) {
        let app = TestApp::spawn(db);
        let Some(browser) = Browser::start(app.owner.base_url()) else {
            return;
        };
        sign_in(&browser, app.owner.token().unwrap());
        let id = create_sftp_in_browser(&browser, "nightly upload");
        assert_eq!(app.stored_secret(&id, "password").as_deref(), Some(SFTP_PASSWORD));

        browser.goto(&format!("/console/credentials/{id}/edit"));
        assert_eq!(browser.value("#field-password"), "");
        assert!(!browser.source().contains(SFTP_PASSWORD));
        browser.fill("#field-host", "files2.example.com");
        browser.click("#save", "#credential-name");
        let body = app.owner.get(&app.credential(&id)).json();
        assert_eq!(body["extra_data"]["host"], "files2.example.com");
        assert_eq!(body["version"], 2);
        assert_eq!(app.stored_secret(&id, "password").as_deref(), Some(SFTP_PASSWORD));

        // The session lives in the database: another instance over it knows the cookie.
        let session = browser.cookie("credvault_console").unwrap();
        let (instance, _) = app.other_instance(db, credvault_crypto::KeyRing::for_testing());
        let other = Client::new(&instance.base, None);
        let page = other.send(
            "GET",
            &format!("/console/credentials/{id}"),
            &[("cookie", &format!("credvault_console={session}"))],
            None,
        );
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("files2.example.com"));
    }
}

/// Every console case on SQLite, in one browser session.
#[test]
fn console_in_a_browser() {
    let db = TestDb::sqlite();
    let app = TestApp::spawn(&db);
    let Some(browser) = Browser::start(app.owner.base_url()) else {
        return;
    };
    let plain = Client::new(app.owner.base_url(), None);

    // Signed out, every page leads to the sign-in form; a wrong token is refused.
    browser.goto("/console/credentials");
    assert_eq!(browser.path(), "/console/sign-in");
    browser.screenshot("sign-in");
    browser.fill("#token", "cvu_not-a-token");
    browser.click("#sign-in", "#sign-in-refused");
    assert!(!browser.source().contains("cvu_not-a-token"));
    let refused = post_form(&plain, "/console/sign-in", "", "token=cvu_not-a-token");
    assert_eq!(refused.status, 401);
    assert!(refused.header("set-cookie").is_none());

    // Sign in.
    sign_in(&browser, app.owner.token().unwrap());
    let session = browser.cookie("credvault_console").unwrap();
    let cookie = format!("credvault_console={session}");
    browser.screenshot("credentials-empty");

    // Every console page carries the security headers.
    let page = plain.send("GET", "/console/credentials", &[("cookie", &cookie)], None);
    assert_eq!(page.status, 200);
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
        ("referrer-policy", "no-referrer"),
        ("x-content-type-options", "nosniff"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(page.header(name), Some(value), "{name}");
    }

    // Create an SFTP credential.
    browser.goto("/console/credentials/new");
    browser.screenshot("new-choose-kind");
    browser.goto("/console/credentials/new?provider=sftp&kind=user_password");
    browser.screenshot("new-form");
    let id = create_sftp_in_browser(&browser, "nightly upload");
    browser.screenshot("credential");
    assert!(browser.text("#field-password").contains("••••"));
    assert!(!browser.source().contains(SFTP_PASSWORD));
    let body = app.owner.get(&app.credential(&id)).json();
    assert_eq!(body["name"], "nightly upload");
    assert_eq!(body["extra_data"]["port"], 2222);
    assert_eq!(body["status"], "credentials_saved");
    assert_eq!(
        app.stored_secret(&id, "password").as_deref(),
        Some(SFTP_PASSWORD)
    );

    // Edit the host without retyping the password: the stored password stays.
    browser.goto(&format!("/console/credentials/{id}/edit"));
    browser.screenshot("edit");
    assert_eq!(browser.value("#field-password"), "");
    assert_eq!(browser.value("#field-host"), "files.example.com");
    assert!(!browser.source().contains(SFTP_PASSWORD));
    browser.fill("#field-host", "files2.example.com");
    browser.click("#save", "#credential-name");
    let body = app.owner.get(&app.credential(&id)).json();
    assert_eq!(body["extra_data"]["host"], "files2.example.com");
    assert_eq!(body["version"], 2);
    assert_eq!(
        app.stored_secret(&id, "password").as_deref(),
        Some(SFTP_PASSWORD)
    );
    let events = app.events(&id);
    assert_eq!(
        events.last().unwrap()["changed_fields"],
        json!(["extra_data.host"])
    );

    // Retype it: it changes.
    browser.goto(&format!("/console/credentials/{id}/edit"));
    browser.fill("#field-password", "sftp-password-rotated-72");
    browser.click("#save", "#credential-name");
    assert_eq!(
        app.stored_secret(&id, "password").as_deref(),
        Some("sftp-password-rotated-72")
    );
    assert!(!browser.source().contains("sftp-password-rotated-72"));

    // Clear an optional secret: the key file's passphrase.
    let created = app.owner.post_json(
        &app.integrations(),
        &json!({"provider": "sftp", "kind": "key_file", "name": "backup key",
                "extra_data": {"host": "backup.example.com", "username": "backup",
                               "private_key": PEM, "passphrase": PASSPHRASE}}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let key_id = created.json()["id"].as_str().unwrap().to_owned();
    browser.goto(&format!("/console/credentials/{key_id}/edit"));
    assert!(browser.has("#clear-passphrase"));
    // A required secret cannot be cleared.
    assert!(!browser.has("#clear-private_key"));
    assert!(!browser.source().contains(PASSPHRASE));
    assert!(!browser.source().contains("YnJvd3Nlci10ZXN0LWtleQ"));
    browser.screenshot("edit-key-file");
    browser.click("#clear-passphrase", "#clear-passphrase");
    browser.click("#save", "#credential-name");
    assert_eq!(app.stored_secret(&key_id, "passphrase"), None);
    assert_eq!(
        app.stored_secret(&key_id, "private_key").as_deref(),
        Some(PEM)
    );
    assert!(browser.text("#field-passphrase").contains("not set"));

    // A validation error keeps the typed non-secret values and no secret.
    browser.goto("/console/credentials/new?provider=sftp&kind=user_password");
    browser.fill("#name", "typed name kept");
    browser.fill("#field-host", "bad host!");
    browser.fill("#field-password", "typed-secret-never-shown");
    browser.click("#save", "#errors");
    browser.screenshot("validation-error");
    let source = browser.source();
    assert!(source.contains("extra_data.host"), "{source}");
    assert!(source.contains("extra_data.username"), "{source}");
    assert!(!source.contains("typed-secret-never-shown"));
    assert_eq!(browser.value("#name"), "typed name kept");
    assert_eq!(browser.value("#field-host"), "bad host!");
    assert_eq!(browser.value("#field-password"), "");
    let listed = app.owner.get(&app.integrations()).json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);

    // An If-Match conflict: the credential changes through the API between opening and saving.
    browser.goto(&format!("/console/credentials/{id}/edit"));
    let changed = app.owner.patch_json(
        &app.credential(&id),
        &json!({"description": "changed elsewhere"}),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    browser.fill("#description", "my change");
    browser.click("#save", "#conflict");
    browser.screenshot("conflict");
    assert!(
        browser
            .text("#conflict")
            .contains("changed since you opened it")
    );
    assert_eq!(browser.value("#description"), "my change");
    let body = app.owner.get(&app.credential(&id)).json();
    assert_eq!(body["description"], "changed elsewhere");
    assert_eq!(body["version"], 4);
    browser.click("#reload", "#credential-form");
    assert_eq!(browser.value("#description"), "changed elsewhere");

    // Filters: by provider and status.
    browser.goto("/console/credentials");
    browser.screenshot("credentials");
    assert!(browser.source().contains("nightly upload"));
    browser.select("#provider", "postgresql");
    browser.click("#filter", "#no-credentials");
    browser.goto("/console/credentials?provider=sftp&status=credentials_saved");
    assert!(browser.source().contains("backup key"));

    // Another team's credential gives exactly the page of a missing one.
    let foreign = app.outsider.post_json(
        &format!("/api/v1/teams/{}/integrations", app.other_team.label),
        &json!({"provider": "github", "kind": "api_key", "name": "globex ci",
                "extra_data": {"github_token": "ghp_foreign"}}),
    );
    assert_eq!(foreign.status, 201, "{}", foreign.body);
    let foreign_id = foreign.json()["id"].as_str().unwrap().to_owned();
    browser.goto(&format!("/console/credentials/{foreign_id}"));
    browser.screenshot("not-found");
    let foreign_page = browser.source();
    assert_eq!(browser.text("#error-title"), "Not found");
    assert!(!foreign_page.contains("globex ci"));
    browser.goto(&format!("/console/credentials/{}", uuid::Uuid::now_v7()));
    assert_eq!(browser.source(), foreign_page);
    for path in [
        format!("/console/credentials/{foreign_id}/edit"),
        format!("/console/credentials/{foreign_id}"),
    ] {
        let answer = plain.send("GET", &path, &[("cookie", &cookie)], None);
        assert_eq!(answer.status, 404, "{path}");
    }
    let csrf = csrf_token(&plain, &cookie);
    let foreign_delete = post_form(
        &plain,
        &format!("/console/credentials/{foreign_id}/delete"),
        &cookie,
        &format!("csrf_token={csrf}"),
    );
    assert_eq!(foreign_delete.status, 404);
    assert_eq!(
        app.outsider
            .get(&format!(
                "/api/v1/teams/{}/integrations/{foreign_id}",
                app.other_team.label
            ))
            .status,
        200
    );

    // A form posted without its CSRF token, or with another, is refused and writes nothing.
    let edit_path = format!("/console/credentials/{id}/edit");
    for body in [
        "version=4&name=forged".to_owned(),
        "csrf_token=csrf_wrong&version=4&name=forged".to_owned(),
    ] {
        let refused = post_form(&plain, &edit_path, &cookie, &body);
        assert_eq!(refused.status, 403, "{body}");
    }
    let refused_delete = post_form(
        &plain,
        &format!("/console/credentials/{id}/delete"),
        &cookie,
        "",
    );
    assert_eq!(refused_delete.status, 403);
    let body = app.owner.get(&app.credential(&id)).json();
    assert_eq!(
        (body["name"].as_str(), body["version"].as_i64()),
        (Some("nightly upload"), Some(4))
    );
    // The same post with the session's token goes through, so the refusals above were the token's.
    let accepted = post_form(
        &plain,
        &edit_path,
        &cookie,
        &format!("csrf_token={csrf}&version=4&name=renamed+by+form"),
    );
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    assert_eq!(
        accepted.header("location"),
        Some(format!("/console/credentials/{id}").as_str())
    );
    assert_eq!(
        app.owner.get(&app.credential(&id)).json()["name"],
        "renamed by form"
    );
    // A cross-site post is refused even with the token.
    let cross_site = plain.send(
        "POST",
        &edit_path,
        &[
            ("cookie", &cookie),
            ("content-type", "application/x-www-form-urlencoded"),
            ("origin", "https://evil.example"),
        ],
        Some(format!("csrf_token={csrf}&version=5&name=cross+site").as_bytes()),
    );
    assert_eq!(cross_site.status, 403);

    // A member sees the pages but not the owner's forms.
    let member = Client::new(app.owner.base_url(), None);
    let member_cookie = session_cookie(&post_form(
        &member,
        "/console/sign-in",
        "",
        &format!("token={}", app.member.token().unwrap()),
    ));
    assert_eq!(
        member
            .send(
                "GET",
                &format!("/console/credentials/{id}"),
                &[("cookie", &member_cookie)],
                None
            )
            .status,
        200
    );
    assert_eq!(
        member
            .send("GET", &edit_path, &[("cookie", &member_cookie)], None)
            .status,
        403
    );

    // Delete, after a confirmation.
    browser.goto(&format!("/console/credentials/{key_id}"));
    browser.click("#delete", "#confirm-delete");
    browser.screenshot("delete");
    browser.click("#confirm-delete", "#filter");
    assert_eq!(browser.path(), "/console/credentials");
    assert_eq!(app.owner.get(&app.credential(&key_id)).status, 404);

    // Sign out: the session is over, in the browser and for its cookie.
    browser.click("#sign-out", "#sign-in");
    assert_eq!(browser.path(), "/console/sign-in");
    browser.goto("/console/credentials");
    assert_eq!(browser.path(), "/console/sign-in");
    let after = plain.send("GET", "/console/credentials", &[("cookie", &cookie)], None);
    assert_eq!(after.status, 303);
    assert_eq!(after.header("location"), Some("/console/sign-in"));

    // Revoking a user token ends its sessions.
    let revoked_page = member.send(
        "GET",
        "/console/credentials",
        &[("cookie", &member_cookie)],
        None,
    );
    assert_eq!(revoked_page.status, 200);
    let member_id = app
        .state
        .store
        .authenticate(
            &credvault_crypto::TokenHash::of(app.member.token().unwrap()).to_hex(),
            chrono::Utc::now(),
        )
        .unwrap()
        .unwrap()
        .id;
    let revoked = app.owner.delete(&format!(
        "/api/v1/teams/{}/tokens/{member_id}",
        app.team.label
    ));
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    assert_eq!(
        member
            .send(
                "GET",
                "/console/credentials",
                &[("cookie", &member_cookie)],
                None
            )
            .status,
        303
    );
}

/// The CSRF token of the session `cookie`, read from a page's form.
fn csrf_token(client: &Client, cookie: &str) -> String {
    let page = client.send(
        "GET",
        "/console/credentials/new",
        &[("cookie", cookie)],
        None,
    );
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.body.find(marker).unwrap() + marker.len();
    let end = start + page.body[start..].find('"').unwrap();
    page.body[start..end].to_owned()
}

/// `credvault_console=…` from a sign-in's `Set-Cookie`.
fn session_cookie(response: &TestResponse) -> String {
    assert_eq!(response.status, 303, "{}", response.body);
    let set_cookie = response.header("set-cookie").unwrap();
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict")
            && set_cookie.contains("Path=/console"),
        "{set_cookie}"
    );
    set_cookie.split(';').next().unwrap().to_owned()
}

/// OAuth connect from a credential's page on SQLite: "Connect" sends the browser to the local
/// authorization server, which approves at once; the callback lands back on the page, which says
/// "Connected" once and shows the status; a denial is shown in words.
#[test]
fn console_oauth_connect_in_a_browser() {
    use crate::oauth_connect::{CLIENT_ID, CLIENT_SECRET, settings};
    use credvault_probe::testing::oauth_server::OAuthServer;

    let db = TestDb::sqlite();
    let app = TestApp::spawn_with_settings(db.store().clone(), settings());
    let Some(browser) = Browser::start(app.owner.base_url()) else {
        return;
    };
    let tokens = OAuthServer::start(CLIENT_ID, CLIENT_SECRET);
    let oauth_app = app.owner.post_json(
        &format!("/api/v1/teams/{}/oauth-apps", app.team.label),
        &json!({"name": "Local Google", "provider": "google", "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET, "token_url": tokens.token_url(),
                "authorize_url": tokens.authorize_url(), "scopes": ["drive.readonly"]}),
    );
    assert_eq!(oauth_app.status, 201, "{}", oauth_app.body);
    let created = app.owner.post_json(
        &app.integrations(),
        &json!({"provider": "google", "kind": "google_oauth", "name": "Drive",
                "oauth_app_id": oauth_app.json()["id"]}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let page = format!("/console/credentials/{id}");

    // A member sees the credential but no Connect button.
    sign_in(&browser, app.member.token().unwrap());
    browser.goto(&page);
    assert!(browser.has("#credential-name"));
    assert!(!browser.has("#connect"));
    browser.click("#sign-out", "#token");

    sign_in(&browser, app.owner.token().unwrap());
    browser.goto(&page);
    assert_eq!(browser.text("#oauth-app"), "Local Google");
    assert_eq!(browser.text("#status-value"), "credentials_saved");
    browser.screenshot("credential-oauth-connect");

    // The form posts to the console, which redirects to the provider; it approves and the
    // callback sends the browser back here.
    browser.click("#connect", "#flash");
    assert_eq!(browser.path(), page);
    assert!(
        browser.text("#flash").starts_with("Connected"),
        "{}",
        browser.text("#flash")
    );
    assert_eq!(browser.text("#status-value"), "connected");
    browser.screenshot("credential-oauth-connected");
    let access_token = app.stored_secret(&id, "access_token").unwrap();
    assert!(tokens.issued_access_token(&access_token));
    assert!(app.stored_secret(&id, "refresh_token").is_some());
    assert!(!browser.source().contains(&access_token));
    assert!(browser.text("#field-access_token").contains("••••"));
    let events = app.events(&id);
    assert_eq!(events.last().unwrap()["action"], "updated");
    // The message is shown once.
    browser.goto(&page);
    assert!(!browser.has("#flash"));

    // A denial at the provider comes back in words, and the stored tokens stay.
    tokens.set_deny_authorize(true);
    browser.click("#connect", "#flash");
    let flash = browser.text("#flash");
    assert!(
        flash.contains("access was denied (access_denied)"),
        "{flash}"
    );
    assert_eq!(browser.text("#status-value"), "connected");
    assert_eq!(
        app.stored_secret(&id, "access_token").as_deref(),
        Some(access_token.as_str())
    );
    browser.screenshot("credential-oauth-denied");
}
