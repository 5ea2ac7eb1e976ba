//! Create, get, list (pagination, filters), delete and the audit trail.

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::TestApp;

backend_tests! {
    fn create_answers_201_with_location_etag_and_masked_secrets(db: &TestDb) {
        let app = TestApp::spawn(db);
        let response = app.owner.post_json(
            &app.integrations(),
            &json!({
                "provider": "postgresql", "kind": "user_password", "name": "  Warehouse  ",
                "extra_data": {"host": "db.internal", "port": 5432, "username": "etl",
                               "password": "pw-create-1"}
            }),
        );
        assert_eq!(response.status, 201, "{}", response.body);
        let body = response.json();
        let id = body["id"].as_str().unwrap();
        assert_eq!(
            response.header("location").unwrap(),
            format!("/api/v1/teams/{}/integrations/{id}", app.team.id)
        );
        assert_eq!(response.header("etag"), Some("\"1\""));
        assert_eq!(body["name"], "Warehouse");
        assert_eq!(body["version"], 1);
        assert_eq!(body["status"], "credentials_saved");
        assert_eq!(body["team_id"], app.team.id.to_string());
        assert_eq!(body["secrets"], json!({"password": "••••"}));
        assert!(body["extra_data"].get("password").is_none());
        assert_eq!(body["health"], json!({"status": "unknown", "notes": [], "checked_at": null}));
        assert_eq!(app.stored_secret(id, "password").as_deref(), Some("pw-create-1"));

        // The Location answers with the same resource.
        let fetched = app.owner.get(response.header("location").unwrap());
        assert_eq!(fetched.status, 200);
        assert_eq!(fetched.json(), body);
        assert_eq!(fetched.header("etag"), Some("\"1\""));
    }

    fn create_without_a_required_secret_is_pending(db: &TestDb) {
        let app = TestApp::spawn(db);
        let response = app.owner.post_json(
            &app.integrations(),
            &json!({
                "provider": "sftp", "kind": "user_password", "name": "Partner drop",
                "extra_data": {"host": "sftp.example.com", "username": "etl"}
            }),
        );
        assert_eq!(response.status, 201, "{}", response.body);
        assert_eq!(response.json()["status"], "pending");
        assert_eq!(response.json()["secrets"], json!({}));
    }

    fn create_with_an_unknown_provider_or_kind_is_422(db: &TestDb) {
        let app = TestApp::spawn(db);
        let response = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "ftp", "kind": "user_password", "name": "x", "extra_data": {}}),
        );
        assert_eq!(response.error_fields(), ["provider"]);
        let response = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "postgresql", "kind": "key_file", "name": "x", "extra_data": {}}),
        );
        assert_eq!(response.error_fields(), ["kind"]);
        let response = app.owner.post_json(&app.integrations(), &json!({"extra_data": {}}));
        let fields = response.error_fields();
        for field in ["provider", "kind", "name"] {
            assert!(fields.contains(&field.to_owned()), "{fields:?}");
        }
    }

    fn list_pages_through_every_credential_in_order(db: &TestDb) {
        let app = TestApp::spawn(db);
        let mut created = Vec::new();
        for index in 0..5 {
            created.push(app.create_postgres(&format!("db {index}"), "pw-list")["id"].clone());
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(cursor) => format!("{}?limit=2&cursor={cursor}", app.integrations()),
                None => format!("{}?limit=2", app.integrations()),
            };
            let response = app.member.get(&path);
            assert_eq!(response.status, 200, "{}", response.body);
            let page = response.json();
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 2);
            seen.extend(items.iter().map(|item| item["id"].clone()));
            pages += 1;
            match &page["next_cursor"] {
                Value::Null => break,
                Value::String(next) => cursor = Some(next.clone()),
                other => panic!("next_cursor is {other}"),
            }
            assert!(pages < 10, "pagination does not end");
        }
        assert_eq!(seen, created);
        assert!(pages >= 3);

        let everything = app.owner.get(&app.integrations()).json();
        assert_eq!(everything["items"].as_array().unwrap().len(), 5);
        assert_eq!(everything["next_cursor"], Value::Null);
    }

    fn list_filters_by_provider_and_status(db: &TestDb) {
        let app = TestApp::spawn(db);
        app.create_postgres("warehouse", "pw-filter");
        let sftp = app.owner.post_json(
            &app.integrations(),
            &json!({"provider": "sftp", "kind": "user_password", "name": "drop",
                    "extra_data": {"host": "sftp.example.com", "username": "etl"}}),
        );
        assert_eq!(sftp.status, 201);

        let by_provider = app.owner.get(&format!("{}?provider=sftp", app.integrations())).json();
        let items = by_provider["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["provider"], "sftp");

        let by_status = app.owner.get(&format!("{}?status=pending", app.integrations())).json();
        let items = by_status["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["id"], sftp.json()["id"]);

        let none = app
            .owner
            .get(&format!("{}?provider=postgresql&status=pending", app.integrations()))
            .json();
        assert_eq!(none["items"], json!([]));
    }

    fn list_rejects_bad_parameters_with_400(db: &TestDb) {
        let app = TestApp::spawn(db);
        for (query, field) in [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=ten", "limit"),
            ("cursor=not-a-cursor", "cursor"),
            ("provider=ftp", "provider"),
            ("status=happy", "status"),
        ] {
            let response = app.owner.get(&format!("{}?{query}", app.integrations()));
            assert_eq!(response.error_fields_with(400), [field], "{query}");
        }
        let response = app.owner.get(&format!("{}?limit=0&status=happy", app.integrations()));
        assert_eq!(response.error_fields_with(400), ["limit", "status"]);
        let response = app.owner.get(&format!("{}?limit=100", app.integrations()));
        assert_eq!(response.status, 200);
    }

    fn delete_answers_204_and_keeps_the_audit_trail(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("doomed", "pw-delete");
        let id = created["id"].as_str().unwrap();
        let response = app.owner.delete(&app.credential(id));
        assert_eq!(response.status, 204);
        assert_eq!(response.body, "");
        app.owner.get(&app.credential(id)).problem(404);
        assert!(app.stored(id).is_none());
        app.owner.delete(&app.credential(id)).problem(404);

        let events = app.events(id);
        let actions: Vec<&str> = events.iter().map(|event| event["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["created", "deleted"]);
        let listed = app.owner.get(&app.integrations()).json();
        assert_eq!(listed["items"], json!([]));
    }

    fn a_delete_racing_patches_is_the_last_event_in_order_and_in_time(db: &TestDb) {
        let app = TestApp::spawn(db);
        const PATCHERS: usize = 4;
        const PATCHES_EACH: usize = 6;
        for round in 0..3 {
            let created = app.create_postgres(&format!("raced {round}"), "pw-race");
            let id = created["id"].as_str().unwrap().to_owned();
            let start = std::sync::Barrier::new(PATCHERS + 1);
            let (patched, deleted) = std::thread::scope(|scope| {
                let patchers: Vec<_> = (0..PATCHERS)
                    .map(|patcher| {
                        let (app, id, start) = (&app, &id, &start);
                        scope.spawn(move || {
                            start.wait();
                            (0..PATCHES_EACH)
                                .map(|index| {
                                    let name = format!("r{round} p{patcher} #{index}");
                                    app.owner.patch_json(&app.credential(id), &json!({"name": name}))
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                start.wait();
                // Let some PATCHes in first, then delete while the rest are in flight.
                while app.events(&id).len() < 3
                    && !patchers.iter().all(|patcher| patcher.is_finished())
                {
                    std::thread::yield_now();
                }
                let deleted = app.owner.delete(&app.credential(&id));
                let patched: Vec<_> =
                    patchers.into_iter().flat_map(|patcher| patcher.join().unwrap()).collect();
                (patched, deleted)
            });
            assert_eq!(deleted.status, 204, "{}", deleted.body);
            let succeeded = patched.iter().filter(|response| response.status == 200).count();
            for response in &patched {
                assert!([200, 404].contains(&response.status), "{}", response.body);
            }

            let events = app.events(&id);
            let actions: Vec<&str> =
                events.iter().map(|event| event["action"].as_str().unwrap()).collect();
            assert_eq!(actions.first(), Some(&"created"), "{actions:?}");
            assert_eq!(actions.last(), Some(&"deleted"), "round {round}: {actions:?}");
            assert_eq!(actions.iter().filter(|action| **action == "deleted").count(), 1);
            // Exactly the PATCHes that answered 200 left an event; a 404 wrote nothing.
            assert_eq!(events.len(), succeeded + 2, "{actions:?}");
            let times: Vec<chrono::DateTime<chrono::Utc>> = events
                .iter()
                .map(|event| event["at"].as_str().unwrap().parse().unwrap())
                .collect();
            assert!(
                times.windows(2).all(|pair| pair[0] <= pair[1]),
                "round {round}: times go backwards: {times:?} ({actions:?})"
            );
        }
    }

    fn events_record_who_changed_which_fields(db: &TestDb) {
        let app = TestApp::spawn(db);
        let created = app.create_postgres("audited", "pw-events-1");
        let id = created["id"].as_str().unwrap();
        let request_id = "0192f3a4-1b2c-7d3e-8f40-00000000abcd";
        let response = app.owner.send_json(
            "PATCH",
            &app.credential(id),
            &[("x-client-request-id", request_id)],
            &json!({"extra_data": {"host": "db2.internal", "password": "pw-events-2"}}),
        );
        assert_eq!(response.status, 200, "{}", response.body);
        assert_eq!(response.header("x-request-id"), Some(request_id));

        let events = app.member.get(&format!("{}/events", app.credential(id)));
        assert_eq!(events.status, 200);
        let page = events.json();
        assert_eq!(page["next_cursor"], Value::Null);
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["action"], "created");
        assert_eq!(items[0]["secrets"], json!({"password": "set"}));
        let update = &items[1];
        assert_eq!(update["action"], "updated");
        assert_eq!(update["credential_id"], id);
        assert_eq!(update["request_id"], request_id);
        assert_eq!(update["actor"]["type"], "user");
        assert_eq!(update["actor"]["id"], created["created_by"]);
        assert_eq!(update["secrets"], json!({"password": "set"}));
        let changed: Vec<&str> = update["changed_fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|field| field.as_str().unwrap())
            .collect();
        assert!(changed.contains(&"extra_data.host"), "{changed:?}");
        assert!(changed.contains(&"secrets.password"), "{changed:?}");

        // Events page like every list.
        let first = app.owner.get(&format!("{}/events?limit=1", app.credential(id))).json();
        assert_eq!(first["items"].as_array().unwrap().len(), 1);
        let cursor = first["next_cursor"].as_str().unwrap();
        let second = app
            .owner
            .get(&format!("{}/events?limit=1&cursor={cursor}", app.credential(id)))
            .json();
        assert_eq!(second["items"][0]["action"], "updated");
    }

    fn events_of_an_unknown_credential_are_404(db: &TestDb) {
        let app = TestApp::spawn(db);
        let path = format!("{}/events", app.credential(&uuid::Uuid::now_v7().to_string()));
        app.owner.get(&path).problem(404);
    }

    fn events_with_a_cursor_are_404_for_a_credential_the_team_never_had(db: &TestDb) {
        let app = TestApp::spawn(db);
        // A real cursor, taken from another credential's trail, and a well-formed made-up one.
        let ours = app.create_postgres("ours", "pw-cursor-1");
        let our_id = ours["id"].as_str().unwrap();
        app.owner.patch_json(&app.credential(our_id), &json!({"name": "renamed"}));
        let first = app.owner.get(&format!("{}/events?limit=1", app.credential(our_id))).json();
        let real_cursor = first["next_cursor"].as_str().unwrap().to_owned();
        let made_up_cursor = uuid::Uuid::now_v7().simple().to_string();
        let theirs = app.outsider.post_json(
            &format!("/api/v1/teams/{}/integrations", app.other_team.label),
            &json!({"provider": "stripe", "kind": "api_key", "name": "their billing",
                    "extra_data": {"api_key": "sk-cursor-other"}}),
        );
        let their_id = theirs.json()["id"].as_str().unwrap().to_owned();
        let missing_id = uuid::Uuid::now_v7().to_string();

        // The same request id on every request, so the 404 bodies can be compared byte for byte.
        let request_id = [("x-client-request-id", "0192f3a4-1b2c-7d3e-8f40-00000000c0de")];
        let get = |path: &str| app.owner.send("GET", path, &request_id, None);
        let reference = get(&format!("{}/events", app.credential(&missing_id)));
        reference.problem(404);
        for id in [&missing_id, &their_id] {
            for cursor in [&real_cursor, &made_up_cursor] {
                let path = format!("{}/events?cursor={cursor}", app.credential(id));
                let response = get(&path);
                assert_eq!(response.status, 404, "{path}: {}", response.body);
                assert_eq!(response.body, reference.body, "{path}");
                assert_eq!(response.header("content-type"), reference.header("content-type"));
            }
        }

        // A credential of the team, deleted or not, pages as before: past its end is an empty
        // page, not a 404, with or without a cursor.
        let doomed = app.create_postgres("doomed", "pw-cursor-2");
        let doomed_id = doomed["id"].as_str().unwrap();
        assert_eq!(app.owner.delete(&app.credential(doomed_id)).status, 204);
        for id in [our_id, doomed_id] {
            let all = app.owner.get(&format!("{}/events", app.credential(id)));
            assert_eq!(all.status, 200, "{}", all.body);
            assert_eq!(all.json()["items"].as_array().unwrap().len(), 2);
            let first = app.owner.get(&format!("{}/events?limit=1", app.credential(id))).json();
            let cursor = first["next_cursor"].as_str().unwrap();
            let second = app
                .owner
                .get(&format!("{}/events?limit=1&cursor={cursor}", app.credential(id)))
                .json();
            assert_eq!(second["items"].as_array().unwrap().len(), 1);
            let last_cursor = second["items"][0]["id"].as_str().unwrap().replace('-', "");
            let past_the_end = app
                .owner
                .get(&format!("{}/events?cursor={last_cursor}", app.credential(id)));
            assert_eq!(past_the_end.status, 200, "{}", past_the_end.body);
            assert_eq!(past_the_end.json(), json!({"items": [], "next_cursor": null}));
        }
    }
}
