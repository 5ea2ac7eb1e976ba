//! Service accounts: create, list, get, PATCH and delete; validation; roles; tenancy.

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::service_accounts::{
    SignedIn, account_path, accounts_path, create_account, create_client_credential,
    credential_path, credentials_path, description_of, exchange_basic, not_found_body, text,
    with_token,
};

fn keys(body: &Value) -> Vec<String> {
    body.as_object().unwrap().keys().cloned().collect()
}

backend_tests! {
    fn an_owner_creates_reads_lists_patches_and_deletes_a_service_account(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.owner.post_json(
            &accounts_path(&app),
            &json!({"name": "  deployer  ", "description": "ships releases", "role": "owner"}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let account = created.json();
        let id = text(&account, "id");
        assert_eq!(
            created.header("location"),
            Some(format!("/api/v1/teams/{}/service-accounts/{id}", app.team.id).as_str())
        );
        assert_eq!(account["name"], "deployer");
        assert_eq!(account["description"], "ships releases");
        assert_eq!(account["role"], "owner");
        assert_eq!(account["team_id"], app.team.id.to_string());
        assert!(account["principal_id"].is_string());
        assert!(account.get("permissions").is_none());

        // The role defaults to member.
        let robot = app.owner.post_json(&accounts_path(&app), &json!({"name": "robot"}));
        assert_eq!(robot.status, 201, "{}", robot.body);
        let robot = robot.json();
        assert_eq!(robot["role"], "member");
        assert_eq!(robot["description"], Value::Null);

        assert_eq!(app.owner.get(&account_path(&app, &id)).json(), account);
        // Addressed by team id instead of label.
        let by_team_id = app
            .owner
            .get(&format!("/api/v1/teams/{}/service-accounts/{id}", app.team.id));
        assert_eq!(by_team_id.json(), account);

        let listed = app.owner.get(&accounts_path(&app));
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert_eq!(keys(&listed.json()), ["items", "next_cursor"]);
        assert_eq!(listed.json()["items"], json!([account, robot]));
        assert_eq!(listed.json()["next_cursor"], Value::Null);

        // Paging follows next_cursor.
        let first = app.owner.get(&format!("{}?limit=1", accounts_path(&app))).json();
        assert_eq!(first["items"], json!([account]));
        let cursor = text(&first, "next_cursor");
        let second = app
            .owner
            .get(&format!("{}?limit=1&cursor={cursor}", accounts_path(&app)))
            .json();
        assert_eq!(second["items"], json!([robot]));
        assert_eq!(second["next_cursor"], Value::Null);
        app.owner
            .get(&format!("{}?limit=0&cursor=bogus", accounts_path(&app)))
            .problem(400);

        // PATCH: a new name keeps the description; null clears it; {} changes nothing.
        let renamed = app
            .owner
            .patch_json(&account_path(&app, &id), &json!({"name": "shipper"}));
        assert_eq!(renamed.status, 200, "{}", renamed.body);
        let renamed = renamed.json();
        assert_eq!(renamed["name"], "shipper");
        assert_eq!(renamed["description"], "ships releases");
        assert_eq!(renamed["role"], "owner");
        assert_eq!(renamed["created_at"], account["created_at"]);
        let cleared = app
            .owner
            .patch_json(&account_path(&app, &id), &json!({"description": null}))
            .json();
        assert_eq!(cleared["description"], Value::Null);
        assert_eq!(cleared["name"], "shipper");
        let unchanged = app.owner.patch_json(&account_path(&app, &id), &json!({}));
        assert_eq!(unchanged.status, 200, "{}", unchanged.body);
        assert_eq!(unchanged.json(), cleared);
        assert_eq!(app.owner.get(&account_path(&app, &id)).json(), cleared);

        let deleted = app.owner.delete(&account_path(&app, &id));
        assert_eq!(deleted.status, 204, "{}", deleted.body);
        app.owner.get(&account_path(&app, &id)).problem(404);
        app.owner.delete(&account_path(&app, &id)).problem(404);
        assert_eq!(app.owner.get(&accounts_path(&app)).json()["items"], json!([robot]));
    }

    fn service_account_bodies_are_validated(db: &TestDb) {
        let app = TestApp::spawn(db);
        let all_wrong = app.owner.post_json(
            &accounts_path(&app),
            &json!({"description": description_of(501), "role": "admin", "scopes": ["all"]}),
        );
        assert_eq!(all_wrong.error_fields(), ["scopes", "name", "description", "role"]);
        let blank = app.owner.post_json(&accounts_path(&app), &json!({"name": "   "}));
        assert_eq!(blank.error_fields(), ["name"]);
        let long_name = app
            .owner
            .post_json(&accounts_path(&app), &json!({"name": "n".repeat(201)}));
        assert_eq!(long_name.error_fields(), ["name"]);
        let just_fits = app.owner.post_json(
            &accounts_path(&app),
            &json!({"name": "n".repeat(200), "description": description_of(500)}),
        );
        assert_eq!(just_fits.status, 201, "{}", just_fits.body);

        let account = create_account(&app, "robot", "member");
        let path = account_path(&app, &text(&account, "id"));
        // The role is fixed at creation: not a PATCH field.
        let role = app.owner.patch_json(&path, &json!({"role": "owner"}));
        assert_eq!(role.error_fields(), ["role"]);
        let null_name = app.owner.patch_json(&path, &json!({"name": null}));
        assert_eq!(null_name.error_fields(), ["name"]);
        let long = app.owner.patch_json(&path, &json!({"description": description_of(501)}));
        assert_eq!(long.error_fields(), ["description"]);
        app.owner
            .send("PATCH", &path, &[("content-type", "application/json")], Some(b"{\"name\":"))
            .problem(400);
        app.owner
            .send("PATCH", &path, &[("content-type", "text/plain")], Some(b"{}"))
            .problem(415);
        // Nothing was written by the refused requests.
        assert_eq!(app.owner.get(&path).json(), account);
    }

    fn a_member_reads_service_accounts_but_cannot_manage_them(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account = create_account(&app, "robot", "member");
        let account_id = text(&account, "id");
        let credential = create_client_credential(&app, &account_id, "main");
        let credential_id = text(&credential, "id");
        let credential_url = credential_path(&app, &account_id, &credential_id);

        assert_eq!(app.member.get(&account_path(&app, &account_id)).json(), account);
        assert_eq!(app.member.get(&accounts_path(&app)).status, 200);
        assert_eq!(app.member.get(&credentials_path(&app, &account_id)).status, 200);
        let seen = app.member.get(&credential_url);
        assert_eq!(seen.status, 200, "{}", seen.body);

        let forbidden = [
            app.member.post_json(&accounts_path(&app), &json!({"name": "mine"})),
            app.member.patch_json(&account_path(&app, &account_id), &json!({"name": "mine"})),
            app.member.delete(&account_path(&app, &account_id)),
            app.member.post_json(&credentials_path(&app, &account_id), &json!({"name": "mine"})),
            app.member.patch_json(&credential_url, &json!({"name": "mine"})),
            app.member.delete(&credential_url),
        ];
        for response in &forbidden {
            response.problem(403);
        }
        assert_eq!(app.owner.get(&account_path(&app, &account_id)).json(), account);
        assert_eq!(app.owner.get(&credential_url).json(), seen.json());
        assert_eq!(
            app.owner.get(&credentials_path(&app, &account_id)).json()["items"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    fn another_teams_service_account_is_indistinguishable_from_a_missing_one(db: &TestDb) {
        let app = TestApp::spawn(db);
        let their_accounts = format!("/api/v1/teams/{}/service-accounts", app.other_team.label);
        let theirs = app.outsider.post_json(&their_accounts, &json!({"name": "their robot"}));
        assert_eq!(theirs.status, 201, "{}", theirs.body);
        let their_id = text(&theirs.json(), "id");
        let their_credential = app.outsider.post_json(
            &format!("{their_accounts}/{their_id}/credentials"),
            &json!({"name": "theirs"}),
        );
        assert_eq!(their_credential.status, 201, "{}", their_credential.body);
        let their_credential_id = text(&their_credential.json(), "id");
        let ours = create_account(&app, "our robot", "member");
        let our_id = text(&ours, "id");
        let our_credential = create_client_credential(&app, &our_id, "ours");
        let our_credential_id = text(&our_credential, "id");
        let missing = uuid::Uuid::now_v7().to_string();

        let reference = not_found_body(&app.owner.get(&account_path(&app, &missing)));
        let their_account_in_our_team = account_path(&app, &their_id);
        let their_credential_in_our_team =
            credential_path(&app, &their_id, &their_credential_id);
        let their_credential_under_our_account =
            credential_path(&app, &our_id, &their_credential_id);
        let their_credential_in_their_team =
            format!("{their_accounts}/{their_id}/credentials/{their_credential_id}");
        let probes = [
            app.owner.get(&their_account_in_our_team),
            app.owner.get(&format!("{their_accounts}/{their_id}")),
            app.owner.get(&format!("/api/v1/teams/{}/service-accounts/{their_id}", app.other_team.id)),
            app.owner.get(&format!("/api/v1/teams/no-such-team/service-accounts/{their_id}")),
            app.owner.get(&account_path(&app, "not-a-uuid")),
            app.owner.get(&their_accounts),
            app.owner.patch_json(&their_account_in_our_team, &json!({"name": "mine now"})),
            app.owner.delete(&their_account_in_our_team),
            app.owner.get(&credentials_path(&app, &their_id)),
            app.owner.post_json(&credentials_path(&app, &their_id), &json!({"name": "mine"})),
            app.owner.get(&their_credential_in_our_team),
            app.owner.get(&their_credential_under_our_account),
            app.owner.get(&their_credential_in_their_team),
            app.owner.get(&credential_path(&app, &our_id, &missing)),
            app.owner.get(&credential_path(&app, &our_id, "not-a-uuid")),
            app.owner.patch_json(&their_credential_in_our_team, &json!({"name": "mine"})),
            app.owner.patch_json(&their_credential_under_our_account, &json!({"name": "mine"})),
            app.owner.delete(&their_credential_in_our_team),
            app.owner.delete(&their_credential_under_our_account),
            app.outsider.get(&account_path(&app, &our_id)),
            app.outsider.get(&accounts_path(&app)),
            app.outsider.get(&credential_path(&app, &our_id, &our_credential_id)),
            app.outsider.patch_json(&account_path(&app, &our_id), &json!({"name": "x"})),
            app.outsider.delete(&credential_path(&app, &our_id, &our_credential_id)),
        ];
        let reference_length = app.owner.get(&account_path(&app, &missing)).body.len();
        for (index, probe) in probes.iter().enumerate() {
            assert_eq!(not_found_body(probe), reference, "probe {index}");
            assert_eq!(probe.body.len(), reference_length, "probe {index}");
        }

        // Nothing changed on either side.
        assert_eq!(app.owner.get(&account_path(&app, &our_id)).json(), ours);
        assert_eq!(app.outsider.get(&format!("{their_accounts}/{their_id}")).json(), theirs.json());
        let still_theirs = app.outsider.get(&their_credential_in_their_team);
        assert_eq!(still_theirs.status, 200, "{}", still_theirs.body);
        assert_eq!(still_theirs.json()["name"], "theirs");
    }

    fn deleting_a_service_account_revokes_its_tokens_and_credentials(db: &TestDb) {
        let app = TestApp::spawn(db);
        let signed_in = SignedIn::new(&app, "member");
        let account_id = signed_in.account_id();
        // Use the token first, so that the server has it in its token cache.
        for _ in 0..2 {
            assert_eq!(with_token(&app, &signed_in.token, "GET", &app.integrations(), None).status, 200);
        }

        let deleted = app.owner.delete(&account_path(&app, &account_id));
        assert_eq!(deleted.status, 204, "{}", deleted.body);

        let rejected = with_token(&app, &signed_in.token, "GET", &app.integrations(), None);
        rejected.problem(401);
        assert_eq!(
            rejected.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        let exchange = exchange_basic(
            &app,
            &text(&signed_in.credential, "client_id"),
            &text(&signed_in.credential, "client_secret"),
        );
        assert_eq!(exchange.status, 401, "{}", exchange.body);
        assert_eq!(exchange.json()["error"], "invalid_client");
        app.owner
            .get(&credential_path(&app, &account_id, &signed_in.credential_id()))
            .problem(404);
        app.owner.get(&credentials_path(&app, &account_id)).problem(404);
    }
}
