//! `health_check_interval_seconds` through HTTP: accepted on create and PATCH for the kinds a
//! connection test reaches, shown in every credential response, descriptive (status and health
//! stay), and a `422` on the field that writes nothing for another kind or a value out of range.

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::TestApp;

const FIELD: &str = "health_check_interval_seconds";

backend_tests! {
    fn an_interval_is_set_shown_everywhere_and_turned_off(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.owner.post_json(&app.integrations(), &json!({
            "provider": "sftp", "kind": "user_password", "name": "Drop",
            "extra_data": {"host": "sftp.internal", "username": "etl", "password": "pw-1"},
            FIELD: 3600
        }));
        assert_eq!(created.status, 201, "{}", created.body);
        let created = created.json();
        assert_eq!(created[FIELD], 3600);
        let id = created["id"].as_str().unwrap();
        assert_eq!(app.member.get(&app.credential(id)).json()[FIELD], 3600);
        let list = app.member.get(&app.integrations()).json();
        assert_eq!(list["items"][0][FIELD], 3600);
        // A credential without one answers null.
        let plain = app.create_postgres("Warehouse", "pw-2");
        assert_eq!(plain[FIELD], Value::Null);

        let changed = app.owner.patch_json(&app.credential(id), &json!({FIELD: 60}));
        assert_eq!(changed.status, 200, "{}", changed.body);
        let changed = changed.json();
        assert_eq!(changed[FIELD], 60);
        assert_eq!(changed["status"], created["status"]);
        assert_eq!(changed["health"], created["health"]);
        let events = app.events(id);
        assert_eq!(events.last().unwrap()["changed_fields"], json!([FIELD]));
        let off = app.owner.patch_json(&app.credential(id), &json!({FIELD: null})).json();
        assert_eq!(off[FIELD], Value::Null);
        assert_eq!(off["version"], 3);
    }

    fn a_bad_interval_is_a_422_on_the_field_and_writes_nothing(db: &TestDb) {
        let app = TestApp::spawn(db);
        let stored = app.create_postgres("Warehouse", "pw-1");
        let id = stored["id"].as_str().unwrap();
        for value in [json!(59), json!(604_801), json!(-60), json!(90.5), json!("3600")] {
            let refused = app.owner.patch_json(&app.credential(id), &json!({FIELD: value, "name": "Renamed"}));
            assert_eq!(refused.status, 422, "{value}: {}", refused.body);
            assert_eq!(refused.json()["errors"][0]["field"], FIELD, "{}", refused.body);
        }
        let now = app.owner.get(&app.credential(id)).json();
        assert_eq!((now["version"].clone(), now["name"].clone()), (stored["version"].clone(), stored["name"].clone()));
        assert_eq!(app.events(id).len(), 1, "only the created event");

        let refused = app.owner.post_json(&app.integrations(), &json!({
            "provider": "stripe", "kind": "api_key", "name": "Payments",
            "extra_data": {"api_key": "sk_test_1"}, FIELD: 3600
        }));
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert_eq!(refused.json()["errors"][0]["field"], FIELD);
        let list = app.owner.get(&app.integrations()).json();
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing was created");
    }
}
