//! Grants of use and the use endpoint (SPEC §10), through HTTP on both backends: who may get a
//! credential's plaintext, what a use releases and records, and what everybody else gets.

use std::time::Duration;

use credvault_api::Settings;
use credvault_api::throttle::RateLimit;
use credvault_crypto::KeyRing;
use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, TestResponse};
use crate::service_accounts::{SignedIn, account_path, not_found_body, text};

/// `…/integrations/{id}/use`.
fn use_path(app: &TestApp, id: &str) -> String {
    format!("{}/use", app.credential(id))
}

/// `…/integrations/{id}/grants`.
fn grants_path(app: &TestApp, id: &str) -> String {
    format!("{}/grants", app.credential(id))
}

/// A client sending the service account's token.
fn client_of(app: &TestApp, account: &SignedIn) -> Client {
    Client::new(app.owner.base_url(), Some(account.token.clone()))
}

/// The owner grants `account` use of credential `id`; returns the grant.
fn grant(app: &TestApp, id: &str, account: &SignedIn) -> Value {
    let response = app.owner.post_json(
        &grants_path(app, id),
        &json!({"service_account_id": account.account_id()}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()
}

fn post_use(client: &Client, path: &str) -> TestResponse {
    client.send("POST", path, &[], None)
}

/// The actions of a credential's trail, in order.
fn actions(app: &TestApp, id: &str) -> Vec<String> {
    app.events(id)
        .iter()
        .map(|event| text(event, "action"))
        .collect()
}

/// The principal id a service account's events name.
fn principal_of(app: &TestApp, account: &SignedIn) -> String {
    let response = app.owner.get(&format!(
        "{}?expand[]=permissions",
        account_path(app, &account.account_id())
    ));
    assert_eq!(response.status, 200, "{}", response.body);
    text(&response.json(), "principal_id")
}

backend_tests! {
    fn a_granted_service_account_gets_exactly_the_stored_secret_and_each_use_is_audited(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("Warehouse", "pw: it's @ 50%/#");
        let id = text(&created, "id");
        let robot = SignedIn::new(&app, "member");
        let granted = grant(&app, &id, &robot);
        assert_eq!(granted["permission"], "use");
        assert_eq!(granted["credential_id"], id.as_str());
        let client = client_of(&app, &robot);

        let used = post_use(&client, &use_path(&app, &id));
        assert_eq!(used.status, 200, "{}", used.body);
        assert_eq!(used.header("cache-control"), Some("no-store"));
        assert_eq!(used.header("pragma"), Some("no-cache"));
        let body = used.json();
        assert_eq!(body["secrets"], json!({"password": "pw: it's @ 50%/#"}));
        assert_eq!(body["extra_data"], created["extra_data"]);
        assert_eq!(body["credential_id"], id.as_str());
        assert_eq!(body["version"], 1);
        let connection = &body["connection"];
        assert_eq!(connection["type"], "postgresql", "{body}");
        assert_eq!(
            connection["params"],
            json!({"host": "db.internal", "port": "5432", "dbname": "dw", "user": "etl",
                   "password": "pw: it's @ 50%/#"})
        );
        assert_eq!(
            connection["uri"],
            "postgresql://etl:pw%3A%20it%27s%20%40%2050%25%2F%23@db.internal:5432/dw"
        );
        let second = post_use(&client, &use_path(&app, &id));
        assert_eq!(second.status, 200, "{}", second.body);

        // Each use is an event naming the service account and the released field, never a value.
        let robot_principal = principal_of(&app, &robot);
        let events = app.events(&id);
        let used_events: Vec<&Value> = events.iter().filter(|e| e["action"] == "used").collect();
        assert_eq!(used_events.len(), 2, "{events:?}");
        for event in &used_events {
            assert_eq!(event["actor"]["id"], robot_principal.as_str(), "{event}");
            assert_eq!(event["actor"]["type"], "service_account", "{event}");
            assert_eq!(event["secrets"], json!({"password": "released"}), "{event}");
        }
        assert_eq!(actions(&app, &id), ["created", "use_granted", "used", "used"]);
        assert!(!serde_json::to_string(&events).unwrap().contains("it's @"));

        // The credential shows its last use; a use is not a change.
        let shown = app.owner.get(&app.credential(&id));
        let shown_body = shown.json();
        assert_eq!(shown_body["last_used_by"], robot_principal.as_str());
        assert_eq!(shown_body["last_used_at"], second.json()["used_at"]);
        assert_eq!(shown_body["version"], 1);
        assert_eq!(shown_body["updated_at"], created["updated_at"]);
        assert_eq!(shown.header("etag"), Some("\"1\""));
        assert_eq!(created["last_used_at"], Value::Null);
    }

    fn nobody_without_a_grant_gets_a_secret_and_nothing_is_recorded(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = text(&app.create_postgres("Warehouse", "never-released-1"), "id");
        let owner_robot = SignedIn::new(&app, "owner");
        let other = SignedIn::new(&app, "member");
        let holder = SignedIn::new(&app, "member");
        grant(&app, &id, &holder);
        for (who, client) in [
            ("owner user", &app.owner),
            ("member user", &app.member),
            ("owner service account", &client_of(&app, &owner_robot)),
            ("member service account", &client_of(&app, &other)),
        ] {
            let refused = post_use(client, &use_path(&app, &id));
            let problem = refused.problem(403);
            assert_eq!(problem["type"], "https://credvault.dev/problems/not-granted", "{who}");
            assert!(!refused.body.contains("never-released-1"), "{who}");
        }
        assert_eq!(actions(&app, &id), ["created", "use_granted"]);
        assert_eq!(app.owner.get(&app.credential(&id)).json()["last_used_at"], Value::Null);
    }

    fn outsiders_get_the_same_404_as_for_a_missing_credential(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = text(&app.create_postgres("Warehouse", "pw"), "id");
        let missing = uuid::Uuid::now_v7().to_string();
        for path in [use_path(&app, &id), grants_path(&app, &id)] {
            let hidden = app.outsider.send("POST", &path, &[], None);
            let absent = app
                .outsider
                .send("POST", &path.replace(&id, &missing), &[], None);
            assert_eq!(not_found_body(&hidden), not_found_body(&absent), "{path}");
        }
        let absent = post_use(&app.member, &use_path(&app, &missing));
        absent.problem(404);
        // A service account of the other team that holds a grant there has none here.
        assert_eq!(actions(&app, &id), ["created"]);
    }

    fn a_revoked_grant_stops_use_on_another_instance_at_once(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = text(&app.create_postgres("Warehouse", "pw-revoked"), "id");
        let robot = SignedIn::new(&app, "member");
        let grant_id = text(&grant(&app, &id, &robot), "id");
        let (other, _) = app.other_instance(db, KeyRing::for_testing());
        let elsewhere = other.client(&robot.token);
        assert_eq!(post_use(&elsewhere, &use_path(&app, &id)).status, 200);

        let revoked = app.owner.delete(&format!("{}/{grant_id}", grants_path(&app, &id)));
        assert_eq!(revoked.status, 204, "{}", revoked.body);
        let refused = post_use(&elsewhere, &use_path(&app, &id));
        refused.problem(403);
        assert!(!refused.body.contains("pw-revoked"));
        assert_eq!(actions(&app, &id), ["created", "use_granted", "used", "use_revoked"]);
        let again = app.owner.delete(&format!("{}/{grant_id}", grants_path(&app, &id)));
        again.problem(404);
    }

    fn owners_list_create_and_revoke_grants_and_bad_input_writes_nothing(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = text(&app.create_postgres("Warehouse", "pw"), "id");
        let robot = SignedIn::new(&app, "member");
        let body = json!({"service_account_id": robot.account_id()});

        let by_member = app.member.post_json(&grants_path(&app, &id), &body);
        by_member.problem(403);
        app.member.get(&grants_path(&app, &id)).problem(403);
        for (bad, field) in [
            (json!({}), "service_account_id"),
            (json!({"service_account_id": "robot"}), "service_account_id"),
            (json!({"service_account_id": 7}), "service_account_id"),
            (json!({"service_account_id": uuid::Uuid::now_v7()}), "service_account_id"),
            (json!({"service_account_id": robot.account_id(), "role": "owner"}), "role"),
            (json!([1]), "body"),
        ] {
            let refused = app.owner.post_json(&grants_path(&app, &id), &bad);
            assert_eq!(refused.error_fields_with(422), [field], "{bad}");
        }
        // A service account of another team is no service account of this one.
        let outsider_account = app.outsider.post_json(
            &format!("/api/v1/teams/{}/service-accounts", app.other_team.label),
            &json!({"name": "theirs", "role": "member"}),
        );
        assert_eq!(outsider_account.status, 201);
        let theirs = json!({"service_account_id": text(&outsider_account.json(), "id")});
        let refused = app.owner.post_json(&grants_path(&app, &id), &theirs);
        assert_eq!(refused.error_fields_with(422), ["service_account_id"]);
        assert_eq!(app.owner.get(&grants_path(&app, &id)).json(), json!({"items": []}));
        assert_eq!(actions(&app, &id), ["created"]);

        let first = app.owner.post_json(&grants_path(&app, &id), &body);
        assert_eq!(first.status, 201, "{}", first.body);
        let again = app.owner.post_json(&grants_path(&app, &id), &body);
        assert_eq!((again.status, again.json()), (200, first.json()));
        let listed = app.owner.get(&grants_path(&app, &id)).json();
        assert_eq!(listed, json!({"items": [first.json()]}));
        let by_account = app
            .owner
            .get(&format!("{}/grants", account_path(&app, &robot.account_id())))
            .json();
        assert_eq!(by_account, listed);
        assert_eq!(actions(&app, &id), ["created", "use_granted"]);
    }

    fn expand_permissions_says_whether_the_caller_may_use_the_credential(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = text(&app.create_postgres("Warehouse", "pw"), "id");
        let holder = SignedIn::new(&app, "member");
        let other = SignedIn::new(&app, "member");
        grant(&app, &id, &holder);
        let path = format!("{}?expand[]=permissions", app.credential(&id));
        for (client, may_use, may_update) in [
            (client_of(&app, &holder), true, false),
            (client_of(&app, &other), false, false),
        ] {
            let shown = client.get(&path);
            assert_eq!(shown.status, 200, "{}", shown.body);
            let permissions = &shown.json()["permissions"];
            assert_eq!(permissions["integrations"]["use"], may_use, "{permissions}");
            assert_eq!(permissions["integrations"]["update"], may_update, "{permissions}");
        }
        let owner_view = app.owner.get(&path).json();
        assert_eq!(owner_view["permissions"]["integrations"]["use"], false);
        assert_eq!(owner_view["permissions"]["integrations"]["update"], true);
        assert!(app.owner.get(&app.credential(&id)).json().get("permissions").is_none());
    }

    fn an_oauth_use_releases_only_a_present_access_token_with_its_expiry(db: &TestDb) {
        let app = TestApp::spawn(db);
        let create = |extra: Value| {
            let response = app.owner.post_json(
                &app.integrations(),
                &json!({"provider": "google", "kind": "google_oauth", "name": "Drive",
                        "extra_data": extra}),
            );
            assert_eq!(response.status, 201, "{}", response.body);
            text(&response.json(), "id")
        };
        let connected = create(json!({
            "client_id": "app.apps.googleusercontent.com", "client_secret": "client-secret-1",
            "access_token": "ya29.access-1", "refresh_token": "refresh-1",
            "expires_at": "2099-12-02T19:00:00Z"}));
        let unconnected = create(json!({
            "client_id": "app.apps.googleusercontent.com", "client_secret": "client-secret-2"}));
        let robot = SignedIn::new(&app, "member");
        grant(&app, &connected, &robot);
        grant(&app, &unconnected, &robot);
        let client = client_of(&app, &robot);

        let used = post_use(&client, &use_path(&app, &connected));
        assert_eq!(used.status, 200, "{}", used.body);
        let body = used.json();
        assert_eq!(body["secrets"], json!({"access_token": "ya29.access-1"}));
        assert_eq!(body["expires_at"], "2099-12-02T19:00:00Z");
        assert_eq!(body["connection"], Value::Null);
        assert!(!used.body.contains("refresh-1") && !used.body.contains("client-secret-1"));
        let events = app.events(&connected);
        assert_eq!(events.last().unwrap()["secrets"], json!({"access_token": "released"}));

        let refused = post_use(&client, &use_path(&app, &unconnected));
        let problem = refused.problem(409);
        assert_eq!(problem["type"], "https://credvault.dev/problems/not-usable");
        assert!(text(&problem, "detail").contains("access token"), "{problem}");
        assert_eq!(actions(&app, &unconnected), ["created", "use_granted"]);
    }

    fn an_sftp_use_says_where_to_connect_and_which_host_key_to_expect(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "sftp", "kind": "user_password", "name": "Drop",
                    "extra_data": {"host": "sftp.example.com", "username": "drop",
                                   "password": "sftp-pw", "host_key_sha256": "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"}}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let id = text(&created.json(), "id");
        let robot = SignedIn::new(&app, "member");
        grant(&app, &id, &robot);
        let used = post_use(&client_of(&app, &robot), &use_path(&app, &id));
        assert_eq!(used.status, 200, "{}", used.body);
        let body = used.json();
        assert_eq!(body["secrets"], json!({"password": "sftp-pw"}));
        assert_eq!(
            body["connection"],
            json!({"type": "sftp", "host": "sftp.example.com", "port": 22, "username": "drop",
                   "host_key_sha256": "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"})
        );
    }

    fn a_credential_whose_key_is_missing_is_a_clear_500_and_releases_nothing(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = text(&app.create_postgres("Warehouse", "pw-sealed"), "id");
        let robot = SignedIn::new(&app, "member");
        grant(&app, &id, &robot);
        let other_key = KeyRing::parse(&format!("k9:{}", base64_of(&[9; 32]))).unwrap();
        let (other, _) = app.other_instance(db, other_key);
        let refused = post_use(&other.client(&robot.token), &use_path(&app, &id));
        let problem = refused.problem(500);
        assert_eq!(problem["type"], "https://credvault.dev/problems/key-unavailable");
        assert!(text(&problem, "detail").contains("master key"), "{problem}");
        assert!(!refused.body.contains("pw-sealed"));
        assert_eq!(actions(&app, &id), ["created", "use_granted"]);
    }

    fn uses_are_rate_limited_per_principal(db: &TestDb) {
        let settings = Settings {
            rate_limit: Some(RateLimit {
                burst: 8.try_into().unwrap(),
                replenish_interval: Duration::from_secs(3600),
            }),
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        let id = text(&app.create_postgres("Warehouse", "pw"), "id");
        // The token exchange and the setup spend part of the owner's and the account's budget.
        let robot = SignedIn::new(&app, "member");
        grant(&app, &id, &robot);
        let client = client_of(&app, &robot);
        let statuses: Vec<u16> = (0..10).map(|_| post_use(&client, &use_path(&app, &id)).status).collect();
        assert!(statuses.contains(&200), "{statuses:?}");
        let limited = post_use(&client, &use_path(&app, &id));
        assert_eq!(limited.status, 429, "{statuses:?}");
        assert!(limited.header("retry-after").is_some());
        let used = actions(&app, &id).iter().filter(|action| *action == "used").count();
        assert_eq!(used, statuses.iter().filter(|status| **status == 200).count());
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
