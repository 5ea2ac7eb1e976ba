//! `expand[]=permissions`: the caller's permissions on service account and credential responses.

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::service_accounts::{
    SignedIn, account_path, accounts_path, create_account, create_client_credential,
    credential_path, credentials_path, text, with_token,
};

fn owner_permissions() -> Value {
    json!({
        "grants": {"create": true, "delete": true, "read": true},
        "integrations": {"create": true, "delete": true, "read": true, "test": true, "update": true},
        "service_accounts": {"create": true, "delete": true, "read": true, "update": true},
        "teams": {"read": true},
        "tokens": {"create": true, "delete": true, "read": true}
    })
}

fn member_permissions() -> Value {
    json!({
        "grants": {"create": false, "delete": false, "read": false},
        "integrations": {"create": false, "delete": false, "read": true, "test": true, "update": false},
        "service_accounts": {"create": false, "delete": false, "read": true, "update": false},
        "teams": {"read": true},
        "tokens": {"create": false, "delete": false, "read": false}
    })
}

backend_tests! {
    fn expand_permissions_shows_the_callers_own_permissions(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let credential_id = text(&create_client_credential(&app, &account_id, "ci"), "id");
        let credential = credential_path(&app, &account_id, &credential_id);

        // Without expand there is no `permissions` at all.
        assert!(app.owner.get(&credential).json().get("permissions").is_none());
        assert!(app.owner.get(&account_path(&app, &account_id)).json().get("permissions").is_none());

        for suffix in ["?expand[]=permissions", "?expand%5B%5D=permissions", "?expand=permissions"] {
            let as_owner = app.owner.get(&format!("{credential}{suffix}"));
            assert_eq!(as_owner.status, 200, "{suffix}: {}", as_owner.body);
            assert_eq!(as_owner.json()["permissions"], owner_permissions(), "{suffix}");
            let as_member = app.member.get(&format!("{credential}{suffix}"));
            assert_eq!(as_member.json()["permissions"], member_permissions(), "{suffix}");
        }

        // PATCH of a credential (seed 003) and of an account.
        let patched = app.owner.patch_json(
            &format!("{credential}?expand[]=permissions"),
            &json!({"description": "with permissions"}),
        );
        assert_eq!(patched.status, 200, "{}", patched.body);
        assert_eq!(patched.json()["description"], "with permissions");
        assert_eq!(patched.json()["permissions"], owner_permissions());
        let patched_account = app.owner.patch_json(
            &format!("{}?expand[]=permissions", account_path(&app, &account_id)),
            &json!({"name": "robot-2"}),
        );
        assert_eq!(patched_account.json()["permissions"], owner_permissions());

        // Lists: on every item; paging parameters still work beside it.
        let listed = app
            .member
            .get(&format!("{}?limit=10&expand[]=permissions", credentials_path(&app, &account_id)))
            .json();
        assert_eq!(listed["items"][0]["permissions"], member_permissions());
        let accounts = app
            .member
            .get(&format!("{}?expand[]=permissions", accounts_path(&app)))
            .json();
        assert_eq!(accounts["items"][0]["permissions"], member_permissions());
        assert_eq!(
            app.member
                .get(&format!("{}?expand=permissions", account_path(&app, &account_id)))
                .json()["permissions"],
            member_permissions()
        );

        // On creation too.
        let created = app.owner.post_json(
            &format!("{}?expand[]=permissions", credentials_path(&app, &account_id)),
            &json!({"name": "second"}),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.json()["permissions"], owner_permissions());
        assert!(created.json()["client_secret"].is_string());

        // A service account's token sees its own role's permissions.
        let robot = SignedIn::new(&app, "member");
        let seen_by_robot = with_token(
            &app,
            &robot.token,
            "GET",
            &format!("{credential}?expand[]=permissions"),
            None,
        );
        assert_eq!(seen_by_robot.json()["permissions"], member_permissions());
        let owner_robot = SignedIn::new(&app, "owner");
        let seen_by_owner_robot = with_token(
            &app,
            &owner_robot.token,
            "GET",
            &format!("{credential}?expand[]=permissions"),
            None,
        );
        assert_eq!(seen_by_owner_robot.json()["permissions"], owner_permissions());
    }

    fn an_unknown_expand_value_is_a_bad_request(db: &TestDb) {
        let app = TestApp::spawn(db);
        let account_id = text(&create_account(&app, "robot", "member"), "id");
        let credential_id = text(&create_client_credential(&app, &account_id, "ci"), "id");
        let credential = credential_path(&app, &account_id, &credential_id);

        let refused = [
            app.owner.get(&format!("{credential}?expand[]=secrets")),
            app.owner.get(&format!("{credential}?expand[]=permissions&expand[]=client_secret")),
            app.member.get(&format!("{}?expand[]=everything", credentials_path(&app, &account_id))),
            app.member.get(&format!("{}?expand[]=x", accounts_path(&app))),
            app.owner.get(&format!("{}?expand[]=x", account_path(&app, &account_id))),
            app.owner.patch_json(&format!("{credential}?expand[]=x"), &json!({"name": "changed"})),
            app.owner.post_json(&format!("{}?expand[]=x", accounts_path(&app)), &json!({"name": "new"})),
        ];
        for response in &refused {
            assert_eq!(response.error_fields_with(400), ["expand[]"], "{}", response.body);
        }
        let plain = app.owner.get(&format!("{credential}?expand=secrets"));
        assert_eq!(plain.error_fields_with(400), ["expand"]);

        // The refused PATCH and POST wrote nothing.
        assert_eq!(app.owner.get(&credential).json()["name"], "ci");
        assert_eq!(app.owner.get(&accounts_path(&app)).json()["items"].as_array().unwrap().len(), 1);
        // Outsiders learn nothing from a bad expand either.
        let outsider = app.outsider.get(&format!("{credential}?expand[]=permissions"));
        outsider.problem(404);
    }
}
