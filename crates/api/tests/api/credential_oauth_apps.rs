//! Credentials linked to an OAuth app (SPEC §11, seed 002) through HTTP: `oauth_app_id` on
//! create and PATCH (`null` unlinks), the embedded `oauth_app` with its client secret masked in
//! every credential response, the 422s that write nothing (another team's app answered exactly
//! like an unknown id), and the 409 of deleting an app in use.

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

const APP_SECRET: &str = "cs-Lk77-linked-app-client-secret";

fn apps_url(team_label: &str) -> String {
    format!("/api/v1/teams/{team_label}/oauth-apps")
}

fn google_app_body(name: &str) -> Value {
    json!({"name": name, "provider": "google", "client_id": format!("{name}-client"),
           "client_secret": APP_SECRET, "metadata": {"env": "prod"}})
}

fn create_app(app: &TestApp, body: &Value) -> Value {
    let created = app
        .owner
        .post_json(&apps_url(app.team.label.as_str()), body);
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()
}

fn assert_no_app_secret(response: &TestResponse) {
    assert!(!response.body.contains(APP_SECRET), "{}", response.body);
}

/// The embedded app of a credential body: the app's own fields, its secret masked.
fn assert_embeds(credential: &Value, app: &Value) {
    assert_eq!(credential["oauth_app_id"], app["id"]);
    let embedded = &credential["oauth_app"];
    for field in [
        "id",
        "name",
        "client_id",
        "metadata",
        "provider",
        "created_at",
        "updated_at",
    ] {
        assert_eq!(embedded[field], app[field], "{field}");
    }
    assert_eq!(embedded["client_secret"], "••••");
}

fn create_linked(app: &TestApp, oauth_app: &Value) -> Value {
    let created = app.owner.post_json(
        &app.integrations(),
        &json!({"provider": "google", "kind": "google_oauth", "name": "Drive",
                "oauth_app_id": oauth_app["id"], "extra_data": {"refresh_token": "rt-1"}}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_no_app_secret(&created);
    created.json()
}

backend_tests! {
    fn a_credential_linked_on_create_embeds_its_app_everywhere(db: &TestDb) {
        let app = TestApp::spawn(db);
        let drive = create_app(&app, &google_app_body("drive"));
        let created = create_linked(&app, &drive);
        // The app supplies the client id and secret: the credential needs neither of its own.
        assert_eq!(created["status"], "credentials_saved");
        assert_embeds(&created, &drive);
        let id = created["id"].as_str().unwrap();

        let got = app.member.get(&app.credential(id));
        assert_no_app_secret(&got);
        assert_embeds(&got.json(), &drive);
        let list = app.member.get(&app.integrations());
        assert_no_app_secret(&list);
        let items = list.json()["items"].as_array().unwrap().clone();
        assert_embeds(&items[0], &drive);
        let with_permissions = app.member.get(&format!("{}?expand[]=permissions", app.credential(id)));
        assert_embeds(&with_permissions.json(), &drive);

        // An unlinked credential answers nulls.
        let plain = app.create_postgres("Warehouse", "pw-1");
        assert_eq!((plain["oauth_app_id"].clone(), plain["oauth_app"].clone()), (Value::Null, Value::Null));

        // A replayed create answers the same embedded app.
        let body = json!({"provider": "google", "kind": "oauth2", "name": "Drive 2",
                          "oauth_app_id": drive["id"]});
        let key = [("idempotency-key", "link-create-1")];
        let first = app.owner.send_json("POST", &app.integrations(), &key, &body);
        assert_eq!(first.status, 201, "{}", first.body);
        let replay = app.owner.send_json("POST", &app.integrations(), &key, &body);
        assert_eq!(replay.status, 201);
        assert_eq!(replay.body, first.body);
        assert_embeds(&replay.json(), &drive);
        assert_no_app_secret(&replay);
    }

    fn patch_links_unlinks_and_a_dry_run_shows_the_would_be_app(db: &TestDb) {
        let app = TestApp::spawn(db);
        let drive = create_app(&app, &google_app_body("drive"));
        let created = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "google", "kind": "google_oauth", "name": "Drive",
                    "extra_data": {"client_id": "own-client"}}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let created = created.json();
        assert_eq!(created["status"], "pending");
        let url = app.credential(created["id"].as_str().unwrap());

        let dry = app.owner.patch_json(&format!("{url}?dry_run=true"), &json!({"oauth_app_id": drive["id"]}));
        assert_eq!(dry.status, 200, "{}", dry.body);
        assert_embeds(&dry.json(), &drive);
        assert_eq!(app.owner.get(&url).json()["oauth_app"], Value::Null);

        let linked = app.owner.patch_json(&url, &json!({"oauth_app_id": drive["id"]}));
        assert_eq!(linked.status, 200, "{}", linked.body);
        assert_no_app_secret(&linked);
        let linked = linked.json();
        assert_embeds(&linked, &drive);
        assert_eq!((linked["version"].clone(), linked["status"].clone()), (json!(2), json!("credentials_saved")));
        let events = app.events(created["id"].as_str().unwrap());
        assert!(events.last().unwrap()["changed_fields"].as_array().unwrap().contains(&json!("oauth_app_id")));

        // Another PATCH keeps the link and answers the app; a replayed PATCH answers it too.
        let key = [("idempotency-key", "link-patch-1")];
        let renamed = app.owner.send_json("PATCH", &url, &key, &json!({"name": "Drive (EU)"}));
        assert_eq!(renamed.status, 200, "{}", renamed.body);
        assert_embeds(&renamed.json(), &drive);
        let replay = app.owner.send_json("PATCH", &url, &key, &json!({"name": "Drive (EU)"}));
        assert_eq!(replay.body, renamed.body);

        let unlinked = app.owner.patch_json(&url, &json!({"oauth_app_id": null}));
        assert_eq!(unlinked.status, 200, "{}", unlinked.body);
        let unlinked = unlinked.json();
        assert_eq!((unlinked["oauth_app_id"].clone(), unlinked["oauth_app"].clone()), (Value::Null, Value::Null));
        // Without the app's client secret, and none of its own, it is pending again.
        assert_eq!(unlinked["status"], "pending");
    }

    fn refused_links_write_nothing_and_another_teams_app_looks_like_none(db: &TestDb) {
        let app = TestApp::spawn(db);
        let drive = create_app(&app, &google_app_body("drive"));
        let graph = create_app(&app, &json!({"name": "graph", "provider": "microsoft",
            "client_id": "g", "client_secret": APP_SECRET}));
        let theirs = app.outsider.post_json(&apps_url(app.other_team.label.as_str()), &google_app_body("theirs"));
        assert_eq!(theirs.status, 201, "{}", theirs.body);
        let theirs = theirs.json();
        let credential = create_linked(&app, &drive);
        let id = credential["id"].as_str().unwrap();
        let url = app.credential(id);
        let events_before = app.events(id).len();
        let warehouse = app.create_postgres("Warehouse", "pw-1");
        let warehouse_url = app.credential(warehouse["id"].as_str().unwrap());

        let unknown = app.owner.patch_json(&url, &json!({"oauth_app_id": uuid::Uuid::now_v7().to_string()}));
        let foreign = app.owner.patch_json(&url, &json!({"oauth_app_id": theirs["id"]}));
        let mut unknown_problem = unknown.problem(422);
        let mut foreign_problem = foreign.problem(422);
        unknown_problem.as_object_mut().unwrap().remove("request_id");
        foreign_problem.as_object_mut().unwrap().remove("request_id");
        assert_eq!(foreign_problem, unknown_problem);
        assert_eq!(unknown.error_fields(), ["oauth_app_id"]);
        assert!(!foreign.body.contains(theirs["id"].as_str().unwrap()));
        assert!(!foreign.body.contains("theirs"));

        let mismatch = app.owner.patch_json(&url, &json!({"oauth_app_id": graph["id"]}));
        assert_eq!(mismatch.error_fields_with(422), ["oauth_app_id"]);
        let not_oauth = app.owner.patch_json(&warehouse_url, &json!({"oauth_app_id": drive["id"]}));
        assert_eq!(not_oauth.error_fields_with(422), ["oauth_app_id"]);
        let bad_create = app.owner.post_json(&app.integrations(), &json!({"provider": "google",
            "kind": "google_oauth", "name": "x", "oauth_app_id": theirs["id"]}));
        assert_eq!(bad_create.error_fields_with(422), ["oauth_app_id"]);

        let after = app.owner.get(&url).json();
        assert_eq!(after["version"], credential["version"]);
        assert_eq!(after["oauth_app_id"], drive["id"]);
        assert_eq!(app.events(id).len(), events_before);
        assert_eq!(app.owner.get(&warehouse_url).json()["version"], warehouse["version"]);
        let listed = app.owner.get(&app.integrations()).json();
        assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    }

    fn an_app_in_use_is_not_deleted_until_unlinked(db: &TestDb) {
        let app = TestApp::spawn(db);
        let drive = create_app(&app, &google_app_body("drive"));
        let first = create_linked(&app, &drive);
        let second = create_linked(&app, &drive);
        let app_url = format!("{}/{}", apps_url(app.team.label.as_str()), drive["id"].as_str().unwrap());

        let refused = app.owner.delete(&app_url);
        let problem = refused.problem(409);
        assert_eq!(problem["type"], "https://credvault.dev/problems/oauth-app-in-use");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains("two credentials"), "{detail}");
        for credential in [&first, &second] {
            assert!(!refused.body.contains(credential["id"].as_str().unwrap()));
        }
        assert_eq!(app.owner.get(&app_url).status, 200);

        let unlinked = app.owner.patch_json(&app.credential(first["id"].as_str().unwrap()), &json!({"oauth_app_id": null, "extra_data": {"client_id": "own"}}));
        assert_eq!(unlinked.status, 200, "{}", unlinked.body);
        let still = app.owner.delete(&app_url).problem(409);
        assert!(still["detail"].as_str().unwrap().contains("one credential of this team is"), "{still}");
        assert_eq!(app.owner.delete(&app.credential(second["id"].as_str().unwrap())).status, 204);
        assert_eq!(app.owner.delete(&app_url).status, 204);
        assert_eq!(app.owner.get(&app_url).status, 404);
    }
}
