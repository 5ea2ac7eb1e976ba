//! The whole life of a service account in one story, as a client would live it.

use credvault_crypto::TokenHash;
use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::service_accounts::{
    accounts_path, credential_path, credentials_path, description_of, exchange_basic,
    exchange_in_body, not_found_body, text, token_request, with_token,
};

backend_tests! {
    fn a_service_account_lives_from_creation_to_revocation(db: &TestDb) {
        let app = TestApp::spawn(db);

        // An owner creates a member account and a credential; the secret is shown once.
        let account = app
            .owner
            .post_json(&accounts_path(&app), &json!({"name": "etl", "description": "nightly"}))
            .json();
        assert_eq!(account["role"], "member");
        let account_id = text(&account, "id");
        let created = app
            .owner
            .post_json(&credentials_path(&app, &account_id), &json!({"name": "ci", "description": "first"}));
        assert_eq!(created.status, 201, "{}", created.body);
        let created = created.json();
        let (client_id, secret) = (text(&created, "client_id"), text(&created, "client_secret"));
        let credential_id = text(&created, "id");
        let credential = credential_path(&app, &account_id, &credential_id);
        let fetched = app.owner.get(&credential);
        let listed = app.owner.get(&credentials_path(&app, &account_id));
        assert!(!fetched.body.contains(&secret) && !listed.body.contains(&secret));
        assert_eq!(fetched.json().get("client_secret"), None);
        assert!(!db.contains_bytes(secret.as_bytes()));
        assert!(db.contains_bytes(TokenHash::of(&secret).to_hex().as_bytes()));

        // Exchanged for tokens, with Basic and in the body; last_used_at is set.
        assert_eq!(fetched.json()["last_used_at"], Value::Null);
        let by_basic = exchange_basic(&app, &client_id, &secret);
        assert_eq!(by_basic.status, 200, "{}", by_basic.body);
        let token = text(&by_basic.json(), "access_token");
        let by_body = exchange_in_body(&app, &client_id, &secret);
        assert_eq!(by_body.status, 200, "{}", by_body.body);
        let body_token = text(&by_body.json(), "access_token");
        assert!(app.owner.get(&credential).json()["last_used_at"].is_string());

        // The token calls the integrations API with the account's role: member reads only.
        assert_eq!(with_token(&app, &token, "GET", &app.integrations(), None).status, 200);
        assert_eq!(with_token(&app, &body_token, "GET", &app.integrations(), None).status, 200);
        with_token(
            &app,
            &token,
            "POST",
            &app.integrations(),
            Some(&json!({"provider": "stripe", "kind": "api_key", "name": "x",
                         "extra_data": {"api_key": "sk"}})),
        )
        .problem(403);

        // PATCH name and description; null clears; omitted keeps.
        let renamed = app.owner.patch_json(&credential, &json!({"name": "ci-main", "description": "second"})).json();
        assert_eq!((renamed["name"].as_str(), renamed["description"].as_str()), (Some("ci-main"), Some("second")));
        let cleared = app.owner.patch_json(&credential, &json!({"description": null})).json();
        assert_eq!(cleared["description"], Value::Null);
        assert_eq!(cleared["name"], "ci-main");
        let kept = app.owner.patch_json(&credential, &json!({"name": "ci-final"})).json();
        assert_eq!(kept["description"], Value::Null);
        assert_eq!(kept["name"], "ci-final");

        // A member cannot create or PATCH; 501 characters of description are refused.
        app.member.post_json(&credentials_path(&app, &account_id), &json!({"name": "mine"})).problem(403);
        app.member.patch_json(&credential, &json!({"name": "mine"})).problem(403);
        let too_long = app.owner.patch_json(&credential, &json!({"description": description_of(501)}));
        assert_eq!(too_long.error_fields(), ["description"]);

        // Wrong secret: invalid_client; unsupported grant type: 400.
        let wrong = exchange_basic(&app, &client_id, "cvs_wrong");
        assert_eq!((wrong.status, wrong.json()["error"].clone()), (401, json!("invalid_client")));
        let grant = token_request(&app, "grant_type=password&username=a&password=b", &[]);
        assert_eq!((grant.status, grant.json()["error"].clone()), (400, json!("unsupported_grant_type")));

        // Permissions for owner and member; an unknown expand is a 400.
        let owner_view = app.owner.get(&format!("{credential}?expand[]=permissions")).json();
        assert_eq!(owner_view["permissions"]["service_accounts"]["update"], true);
        let member_view = app.member.get(&format!("{credential}?expand[]=permissions")).json();
        assert_eq!(member_view["permissions"]["service_accounts"]["update"], false);
        assert_eq!(member_view["permissions"]["service_accounts"]["read"], true);
        app.owner.get(&format!("{credential}?expand[]=nope")).problem(400);

        // Another team's account and credential are as missing as a missing one.
        let their_accounts = format!("/api/v1/teams/{}/service-accounts", app.other_team.label);
        let theirs = app.outsider.post_json(&their_accounts, &json!({"name": "theirs"})).json();
        let their_id = text(&theirs, "id");
        let their_credential = app
            .outsider
            .post_json(&format!("{their_accounts}/{their_id}/credentials"), &json!({"name": "theirs"}))
            .json();
        let missing = not_found_body(&app.owner.get(&credential_path(&app, &account_id, &uuid::Uuid::now_v7().to_string())));
        let their_credential_id = text(&their_credential, "id");
        assert_eq!(not_found_body(&app.owner.get(&credential_path(&app, &their_id, &their_credential_id))), missing);
        assert_eq!(not_found_body(&app.owner.get(&credential_path(&app, &account_id, &their_credential_id))), missing);
        assert_eq!(not_found_body(&app.owner.get(&format!("{their_accounts}/{their_id}"))), missing);

        // Deleting the credential rejects its tokens at once.
        assert_eq!(app.owner.delete(&credential).status, 204);
        with_token(&app, &token, "GET", &app.integrations(), None).problem(401);
        with_token(&app, &body_token, "GET", &app.integrations(), None).problem(401);
        assert_eq!(exchange_basic(&app, &client_id, &secret).status, 401);
        assert_eq!(not_found_body(&app.owner.get(&credential)), missing);
    }
}
