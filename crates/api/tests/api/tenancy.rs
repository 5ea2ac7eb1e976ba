//! Tenancy (SPEC §1): another team's data is indistinguishable from missing data; members read
//! but do not write; `{team}` is an id or a label.

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

/// A 404 problem body without its request id, which differs on every request.
fn not_found_body(response: &TestResponse) -> Value {
    let mut problem = response.problem(404);
    problem.as_object_mut().unwrap().remove("request_id");
    problem
}

backend_tests! {
    fn another_teams_credential_is_indistinguishable_from_a_missing_one(db: &TestDb) {
        let app = TestApp::spawn(db);
        let theirs = app.outsider.post_json(
            &format!("/api/v1/teams/{}/integrations", app.other_team.label),
            &json!({"provider": "stripe", "kind": "api_key", "name": "their billing",
                    "extra_data": {"api_key": "sk-other-team"}}),
        );
        assert_eq!(theirs.status, 201, "{}", theirs.body);
        let their_id = theirs.json()["id"].as_str().unwrap().to_owned();
        let missing_id = uuid::Uuid::now_v7().to_string();
        let ours = app.create_postgres("ours", "pw-tenancy");
        let our_id = ours["id"].as_str().unwrap().to_owned();
        let their_team = format!("/api/v1/teams/{}/integrations", app.other_team.label);
        let their_team_by_id = format!("/api/v1/teams/{}/integrations", app.other_team.id);

        let reference = not_found_body(&app.owner.get(&app.credential(&missing_id)));
        let probes = [
            app.owner.get(&app.credential(&their_id)),
            app.owner.get(&format!("{their_team}/{their_id}")),
            app.owner.get(&format!("{their_team_by_id}/{their_id}")),
            app.owner.get(&format!("/api/v1/teams/no-such-team/integrations/{their_id}")),
            app.owner.get(&format!("/api/v1/teams/{}/integrations/{their_id}", uuid::Uuid::now_v7())),
            app.owner.get(&app.credential("not-a-uuid")),
            app.owner.get(&format!("/api/v1/teams/Not_A_Label!/integrations/{their_id}")),
            app.owner.get(&their_team),
            app.owner.get(&format!("{}/events", app.credential(&their_id))),
            app.owner.get(&format!("{their_team}/{their_id}/events")),
            app.owner.patch_json(&app.credential(&their_id), &json!({"name": "mine now"})),
            app.owner.patch_json(&format!("{their_team}/{their_id}"), &json!({"name": "mine now"})),
            app.owner.delete(&app.credential(&their_id)),
            app.owner.delete(&format!("{their_team}/{their_id}")),
            app.owner.post_json(&their_team, &json!({"provider": "stripe"})),
            app.outsider.get(&app.credential(&our_id)),
            app.outsider.get(&app.integrations()),
            app.outsider.patch_json(&app.credential(&our_id), &json!({"name": "x"})),
        ];
        for (index, probe) in probes.iter().enumerate() {
            assert_eq!(not_found_body(probe), reference, "probe {index}");
            assert_eq!(probe.body.len(), app.owner.get(&app.credential(&missing_id)).body.len());
        }

        // Nothing changed on either side.
        assert_eq!(app.owner.get(&app.credential(&our_id)).json(), ours);
        let still_theirs = app.outsider.get(&format!("{their_team}/{their_id}"));
        assert_eq!(still_theirs.json(), theirs.json());
    }

    fn a_member_reads_but_cannot_write(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("shared", "pw-member");
        let id = created["id"].as_str().unwrap();
        assert_eq!(app.member.get(&app.credential(id)).json(), created);
        assert_eq!(app.member.get(&app.integrations()).status, 200);
        assert_eq!(app.member.get(&format!("{}/events", app.credential(id))).status, 200);

        let forbidden = [
            app.member.post_json(&app.integrations(), &json!({"provider": "stripe"})),
            app.member.patch_json(&app.credential(id), &json!({"name": "mine"})),
            app.member.delete(&app.credential(id)),
        ];
        for response in &forbidden {
            response.problem(403);
        }
        assert_eq!(app.owner.get(&app.credential(id)).json(), created);
    }

    fn the_team_is_addressed_by_label_or_id(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("either way", "pw-label");
        let id = created["id"].as_str().unwrap();
        let by_id = app
            .owner
            .get(&format!("/api/v1/teams/{}/integrations/{id}", app.team.id));
        assert_eq!(by_id.json(), created);
        let by_label = app
            .owner
            .get(&format!("/api/v1/teams/{}/integrations/{id}", app.team.label));
        assert_eq!(by_label.json(), created);
        let patched = app.owner.patch_json(
            &format!("/api/v1/teams/{}/integrations/{id}", app.team.id),
            &json!({"name": "by id"}),
        );
        assert_eq!(patched.json()["name"], "by id");
    }

    fn each_team_lists_only_its_own_credentials(db: &TestDb) {
        let app = TestApp::spawn(db);
        app.create_postgres("ours", "pw-list-own");
        let their_team = format!("/api/v1/teams/{}/integrations", app.other_team.label);
        let theirs = app.outsider.get(&their_team).json();
        assert_eq!(theirs["items"], json!([]));
        let ours = app.owner.get(&app.integrations()).json();
        assert_eq!(ours["items"].as_array().unwrap().len(), 1);
    }
}
