//! OAuth apps (SPEC §11) through HTTP: create, list, get, PATCH and delete; the client secret
//! masked in every response and sealed at rest; blank keeps it and a new value replaces it;
//! refused bodies write nothing; members read, owners write; another team's app is a 404
//! identical to a missing one.

use credvault_domain::ids::OAuthAppId;
use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use credvault_usecases::oauth_apps;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse, log_lines};

const FIRST_SECRET: &str = "cs-Zk42-first-client-secret";
const SECOND_SECRET: &str = "cs-Zk42-second-client-secret";
const REFUSED_SECRET: &str = "cs-Zk42-refused-in-422";

fn apps_url(app: &TestApp) -> String {
    format!("/api/v1/teams/{}/oauth-apps", app.team.label)
}

fn app_url(app: &TestApp, id: &str) -> String {
    format!("{}/{id}", apps_url(app))
}

fn graph_body() -> Value {
    json!({
        "name": "Contoso Graph",
        "provider": "microsoft",
        "client_id": "6731de76-14a6-49ae-97bc-6eba6914391e",
        "client_secret": FIRST_SECRET,
        "scopes": ["offline_access", "User.Read"],
        "metadata": {"owner": "it-ops", "env": "prod"},
    })
}

fn create_graph(app: &TestApp) -> Value {
    let created = app.owner.post_json(&apps_url(app), &graph_body());
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()
}

/// The opened client secret of an app of `team`, read through the store.
fn stored_secret(app: &TestApp, id: &str) -> String {
    let id: OAuthAppId = id.parse().unwrap();
    let stored = app
        .state
        .store
        .find_oauth_app(app.team.id, id)
        .unwrap()
        .unwrap();
    oauth_apps::client_secret(&app.state.key_ring, &stored)
        .unwrap()
        .expose()
        .to_owned()
}

fn not_found_body(response: &TestResponse) -> Value {
    let mut problem = response.problem(404);
    problem.as_object_mut().unwrap().remove("request_id");
    problem
}

backend_tests! {
    fn an_app_is_created_listed_read_patched_and_deleted(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.owner.post_json(&apps_url(&app), &graph_body());
        assert_eq!(created.status, 201, "{}", created.body);
        let body = created.json();
        let id = body["id"].as_str().unwrap().to_owned();
        let location = format!("/api/v1/teams/{}/oauth-apps/{id}", app.team.id);
        assert_eq!(created.header("location"), Some(location.as_str()));
        assert_eq!(created.header("etag"), Some("\"1\""));
        assert_eq!(body["name"], "Contoso Graph");
        assert_eq!(body["provider"], "microsoft");
        assert_eq!(body["team_id"], app.team.id.to_string());
        assert_eq!(body["client_secret"], "••••");
        assert_eq!(
            body["token_url"],
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        assert_eq!(
            body["authorize_url"],
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
        );
        assert_eq!(body["scopes"], json!(["offline_access", "User.Read"]));
        assert_eq!(body["version"], 1);

        let got = app.member.get(&app_url(&app, &id));
        assert_eq!(got.status, 200, "{}", got.body);
        assert_eq!(got.json(), body);
        assert_eq!(got.header("etag"), Some("\"1\""));
        let listed = app.member.get(&apps_url(&app)).json();
        assert_eq!(listed["items"], json!([body.clone()]));
        assert_eq!(listed["next_cursor"], Value::Null);

        let patched = app.owner.patch_json(
            &app_url(&app, &id),
            &json!({"name": "Contoso Graph (prod)", "metadata": {"env": null, "tier": 1},
                    "token_url": "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"}),
        );
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert_eq!(patched.header("etag"), Some("\"2\""));
        let patched = patched.json();
        assert_eq!(patched["name"], "Contoso Graph (prod)");
        assert_eq!(patched["metadata"], json!({"owner": "it-ops", "tier": 1}));
        assert_eq!(
            patched["token_url"],
            "https://login.microsoftonline.com/contoso/oauth2/v2.0/token"
        );
        assert_eq!(patched["client_id"], body["client_id"]);
        assert_eq!(patched["version"], 2);
        assert_eq!(app.owner.get(&app_url(&app, &id)).json(), patched);

        let deleted = app.owner.delete(&app_url(&app, &id));
        assert_eq!(deleted.status, 204, "{}", deleted.body);
        app.owner.get(&app_url(&app, &id)).problem(404);
        app.owner.delete(&app_url(&app, &id)).problem(404);
        assert_eq!(app.owner.get(&apps_url(&app)).json()["items"], json!([]));

        // Each write is logged with who did it, and without the secret.
        let lines = log_lines();
        let owner = app.owner_id().to_string();
        for verb in ["created", "updated", "deleted"] {
            assert!(
                lines.iter().any(|line| line.contains(&format!("oauth app {id}"))
                    && line.contains(verb) && line.contains(&owner)),
                "no `{verb}` line naming the owner"
            );
        }
        assert!(!lines.iter().any(|line| line.contains(FIRST_SECRET)));
    }

    fn google_apps_default_to_googles_endpoints_and_urls_can_be_overridden(db: &TestDb) {
        let app = TestApp::spawn(db);
        let google = app.owner.post_json(&apps_url(&app), &json!({
            "name": "Drive", "provider": "google", "client_id": "drive.apps.googleusercontent.com",
            "client_secret": FIRST_SECRET,
        }));
        assert_eq!(google.status, 201, "{}", google.body);
        let google = google.json();
        assert_eq!(google["token_url"], "https://oauth2.googleapis.com/token");
        assert_eq!(google["authorize_url"], "https://accounts.google.com/o/oauth2/v2/auth");
        assert_eq!(google["scopes"], json!([]));
        assert_eq!(google["metadata"], json!({}));
        let id = google["id"].as_str().unwrap();
        let moved = app.owner.patch_json(&app_url(&app, id), &json!({
            "authorize_url": "https://accounts.example.test/auth"
        }));
        assert_eq!(moved.json()["authorize_url"], "https://accounts.example.test/auth");
        let reset = app.owner.patch_json(&app_url(&app, id), &json!({"authorize_url": null}));
        assert_eq!(reset.json()["authorize_url"], "https://accounts.google.com/o/oauth2/v2/auth");
    }

    fn apps_list_in_pages(db: &TestDb) {
        let app = TestApp::spawn(db);
        let ids: Vec<String> = (0..3)
            .map(|index| {
                let mut body = graph_body();
                body["name"] = json!(format!("app {index}"));
                let created = app.owner.post_json(&apps_url(&app), &body);
                assert_eq!(created.status, 201, "{}", created.body);
                created.json()["id"].as_str().unwrap().to_owned()
            })
            .collect();
        let first = app.member.get(&format!("{}?limit=2", apps_url(&app))).json();
        let first_ids: Vec<&str> = first["items"].as_array().unwrap().iter()
            .map(|item| item["id"].as_str().unwrap()).collect();
        assert_eq!(first_ids, [ids[0].as_str(), ids[1].as_str()]);
        let cursor = first["next_cursor"].as_str().unwrap();
        let second = app.member.get(&format!("{}?limit=2&cursor={cursor}", apps_url(&app))).json();
        let second_ids: Vec<&str> = second["items"].as_array().unwrap().iter()
            .map(|item| item["id"].as_str().unwrap()).collect();
        assert_eq!(second_ids, [ids[2].as_str()]);
        assert_eq!(second["next_cursor"], Value::Null);
        app.member.get(&format!("{}?limit=0", apps_url(&app))).problem(400);
    }

    fn blank_null_or_the_mask_keep_the_client_secret_and_a_new_one_replaces_it(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = create_graph(&app)["id"].as_str().unwrap().to_owned();
        assert_eq!(stored_secret(&app, &id), FIRST_SECRET);
        for keep in [json!(""), json!(null), json!("••••")] {
            let kept = app.owner.patch_json(&app_url(&app, &id), &json!({"client_secret": keep}));
            assert_eq!(kept.status, 200, "{}", kept.body);
            assert_eq!(kept.json()["client_secret"], "••••");
            // Nothing changed: nothing written.
            assert_eq!(kept.json()["version"], 1);
            assert_eq!(stored_secret(&app, &id), FIRST_SECRET);
        }
        let replaced = app.owner.patch_json(
            &app_url(&app, &id), &json!({"client_secret": SECOND_SECRET}),
        );
        assert_eq!(replaced.status, 200, "{}", replaced.body);
        assert_eq!(replaced.json()["client_secret"], "••••");
        assert_eq!(replaced.json()["version"], 2);
        assert_eq!(stored_secret(&app, &id), SECOND_SECRET);
    }

    fn the_client_secret_is_never_in_a_response_or_the_database_in_plaintext(db: &TestDb) {
        let app = TestApp::spawn(db);
        let mut responses = Vec::new();
        let created = app.owner.post_json(&apps_url(&app), &graph_body());
        let id = created.json()["id"].as_str().unwrap().to_owned();
        responses.push(created);
        responses.push(app.owner.get(&app_url(&app, &id)));
        responses.push(app.member.get(&apps_url(&app)));
        responses.push(app.owner.patch_json(
            &app_url(&app, &id), &json!({"client_secret": SECOND_SECRET}),
        ));
        responses.push(app.owner.patch_json(
            &app_url(&app, &id),
            &json!({"client_secret": REFUSED_SECRET, "token_url": "http://plain.example.test"}),
        ));
        responses.push(app.owner.get(&app_url(&app, &id)));
        for response in &responses {
            for secret in [FIRST_SECRET, SECOND_SECRET, REFUSED_SECRET] {
                assert!(!response.body.contains(secret), "{secret} in {}", response.body);
                for (name, value) in &response.headers {
                    assert!(!value.contains(secret), "{secret} in header {name}");
                }
            }
        }
        assert_eq!(stored_secret(&app, &id), SECOND_SECRET);
        let contents = db.raw_contents();
        assert!(!contents.is_empty());
        for secret in [FIRST_SECRET, SECOND_SECRET, REFUSED_SECRET] {
            assert!(
                !contents.windows(secret.len()).any(|window| window == secret.as_bytes()),
                "{secret} found in the database"
            );
        }
        let lines = log_lines();
        for secret in [FIRST_SECRET, SECOND_SECRET, REFUSED_SECRET] {
            assert!(!lines.iter().any(|line| line.contains(secret)), "{secret} in a log line");
        }
    }

    fn invalid_bodies_are_422_by_field_and_write_nothing(db: &TestDb) {
        let app = TestApp::spawn(db);
        let refused = app.owner.post_json(&apps_url(&app), &json!({
            "name": " ", "provider": "stripe", "client_id": "", "client_secret": REFUSED_SECRET,
            "token_url": "http://login.example.test/token", "scopes": [""], "kind": "oauth2",
        }));
        assert_eq!(
            refused.error_fields(),
            ["kind", "name", "provider", "client_id", "token_url", "scopes[0]"]
        );
        assert!(!refused.body.contains(REFUSED_SECRET));
        let missing_secret = app.owner.post_json(&apps_url(&app), &json!({
            "name": "x", "provider": "google", "client_id": "c",
        }));
        assert_eq!(missing_secret.error_fields(), ["client_secret"]);
        assert_eq!(app.owner.get(&apps_url(&app)).json()["items"], json!([]));

        let created = create_graph(&app);
        let id = created["id"].as_str().unwrap();
        let bad_patch = app.owner.patch_json(&app_url(&app, id), &json!({
            "provider": "google", "client_secret": SECOND_SECRET, "name": "renamed",
        }));
        assert_eq!(bad_patch.error_fields(), ["provider"]);
        let too_big = app.owner.patch_json(&app_url(&app, id), &json!({
            "metadata": {"big": "x".repeat(17 * 1024)}, "client_secret": SECOND_SECRET,
        }));
        assert_eq!(too_big.status, 422, "{}", too_big.body);
        assert_eq!(app.owner.get(&app_url(&app, id)).json(), created);
        assert_eq!(stored_secret(&app, id), FIRST_SECRET);
    }

    fn if_match_makes_a_patch_conditional(db: &TestDb) {
        let app = TestApp::spawn(db);
        let id = create_graph(&app)["id"].as_str().unwrap().to_owned();
        let body = serde_json::to_vec(&json!({"name": "stale write"})).unwrap();
        let stale = app.owner.send(
            "PATCH", &app_url(&app, &id),
            &[("content-type", "application/json"), ("if-match", "\"7\"")], Some(&body),
        );
        let problem = stale.problem(412);
        assert_eq!(problem["current_version"], 1);
        let current = app.owner.send(
            "PATCH", &app_url(&app, &id),
            &[("content-type", "application/json"), ("if-match", "\"1\"")], Some(&body),
        );
        assert_eq!(current.status, 200, "{}", current.body);
        assert_eq!(current.json()["name"], "stale write");
        let malformed = app.owner.send(
            "PATCH", &app_url(&app, &id),
            &[("content-type", "application/json"), ("if-match", "1")], Some(&body),
        );
        malformed.problem(400);
    }

    fn members_read_apps_but_do_not_write_them(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = create_graph(&app);
        let id = created["id"].as_str().unwrap();
        assert_eq!(app.member.get(&app_url(&app, id)).json(), created);
        let forbidden = [
            app.member.post_json(&apps_url(&app), &graph_body()),
            app.member.patch_json(&app_url(&app, id), &json!({"client_secret": SECOND_SECRET})),
            app.member.delete(&app_url(&app, id)),
        ];
        for response in &forbidden {
            response.problem(403);
        }
        assert_eq!(app.owner.get(&apps_url(&app)).json()["items"], json!([created]));
        assert_eq!(stored_secret(&app, id), FIRST_SECRET);
        app.anonymous.get(&apps_url(&app)).problem(401);
    }

    fn another_teams_app_is_indistinguishable_from_a_missing_one(db: &TestDb) {
        let app = TestApp::spawn(db);
        let ours = create_graph(&app);
        let our_id = ours["id"].as_str().unwrap().to_owned();
        let their_apps = format!("/api/v1/teams/{}/oauth-apps", app.other_team.label);
        let theirs = app.outsider.post_json(&their_apps, &graph_body());
        assert_eq!(theirs.status, 201, "{}", theirs.body);
        let theirs = theirs.json();
        let their_id = theirs["id"].as_str().unwrap().to_owned();
        let missing = uuid::Uuid::now_v7().to_string();

        let reference = not_found_body(&app.owner.get(&app_url(&app, &missing)));
        let probes = [
            app.owner.get(&app_url(&app, &their_id)),
            app.owner.get(&format!("{their_apps}/{their_id}")),
            app.owner.get(&app_url(&app, "not-a-uuid")),
            app.owner.patch_json(&app_url(&app, &their_id), &json!({"name": "mine"})),
            app.owner.patch_json(&format!("{their_apps}/{their_id}"), &json!({"name": "mine"})),
            app.owner.delete(&app_url(&app, &their_id)),
            app.owner.delete(&format!("{their_apps}/{their_id}")),
            app.outsider.get(&app_url(&app, &our_id)),
            app.outsider.patch_json(&app_url(&app, &our_id), &json!({"name": "x"})),
            app.outsider.delete(&app_url(&app, &our_id)),
        ];
        for (index, probe) in probes.iter().enumerate() {
            assert_eq!(not_found_body(probe), reference, "probe {index}");
        }
        // The team collection answers like a missing team.
        let missing_team = not_found_body(&app.owner.get("/api/v1/teams/no-such-team/oauth-apps"));
        assert_eq!(not_found_body(&app.outsider.get(&apps_url(&app))), missing_team);
        assert_eq!(not_found_body(&app.owner.get(&their_apps)), missing_team);

        assert_eq!(app.owner.get(&app_url(&app, &our_id)).json(), ours);
        assert_eq!(app.outsider.get(&format!("{their_apps}/{their_id}")).json(), theirs);
    }
}
