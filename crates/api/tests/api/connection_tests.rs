//! `POST …/integrations/{id}/test` and `POST …/integrations/test` through HTTP, against the SCRAM
//! cluster and an OpenSSH server: what is recorded, who may test, what is never written, and
//! what cannot be tested.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use credvault_persistence::backend_tests;
use credvault_persistence::testing::TestDb;
use credvault_probe::testing::cluster::{ScramCluster, scram_cluster};
use credvault_probe::testing::free_port;
use credvault_probe::testing::sshd::{Sshd, USER};
use serde_json::{Value, json};

use crate::helpers::{Client, TestApp, TestResponse};

/// The process's SCRAM cluster, or `None` after saying why the test skips.
fn cluster() -> Option<&'static ScramCluster> {
    match scram_cluster() {
        Ok(cluster) => Some(cluster),
        Err(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}

/// A new SSH server, or `None` after saying why the test skips.
fn sshd() -> Option<Sshd> {
    match Sshd::start() {
        Ok(sshd) => Some(sshd),
        Err(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}

fn postgres_body(port: u16, user: &str, database: &str, password: &str) -> Value {
    json!({
        "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
        "extra_data": {"host": "127.0.0.1", "port": port, "database": database,
                       "username": user, "password": password}
    })
}

fn create(app: &TestApp, body: &Value) -> String {
    let response = app.owner.post_json(&app.integrations(), body);
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()["id"].as_str().unwrap().to_owned()
}

fn test_path(app: &TestApp, id: &str) -> String {
    format!("{}/test", app.credential(id))
}

/// A TCP listener on loopback that counts the connections it accepts and closes each at once.
pub(crate) struct Trap {
    pub(crate) port: u16,
    connections: Arc<AtomicUsize>,
}

impl Trap {
    pub(crate) fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&connections);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Trap { port, connections }
    }

    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Asserts a `200` connection test answer and returns it.
fn result(response: &TestResponse) -> Value {
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    let members: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(members, ["code", "latency_ms", "message", "ok"], "{body}");
    assert!(body["latency_ms"].is_u64(), "{body}");
    body
}

backend_tests! {
    fn a_member_tests_a_stored_postgres_credential_and_the_outcome_is_recorded(db: &TestDb) {
        let Some(cluster) = cluster() else { return };
        let app = TestApp::spawn_for_probes(db);
        let id = create(&app, &postgres_body(cluster.port, &cluster.user, &cluster.database,
                                             &cluster.password));

        let body = result(&app.member.send("POST", &test_path(&app, &id), &[], None));
        assert_eq!(body["ok"], true, "{body}");
        assert_eq!(body["code"], "ok");

        let credential = app.owner.get(&app.credential(&id)).json();
        assert_eq!(credential["status"], "connected");
        assert_eq!(credential["health"]["status"], "healthy");
        assert_eq!(credential["health"]["notes"], json!([body["message"]]));
        assert!(credential["health"]["checked_at"].is_string(), "{credential}");
        // Server-owned state: no new version, and the owner stays the last to modify it.
        assert_eq!(credential["version"], 1);
        assert_eq!(credential["modified_by"], credential["created_by"]);
        let events = app.events(&id);
        let last = events.last().unwrap();
        assert_eq!(last["action"], "tested");
        assert_eq!(last["changed_fields"], json!(["status", "health"]));
        assert_ne!(last["actor"]["id"], credential["created_by"], "the member tested it");
        // The secret is untouched.
        assert_eq!(app.stored_secret(&id, "password").as_deref(), Some(cluster.password.as_str()));
    }

    fn a_failed_test_records_the_error_and_never_shows_the_password(db: &TestDb) {
        let Some(cluster) = cluster() else { return };
        let app = TestApp::spawn_for_probes(db);
        let wrong = "Http-Wrong-Password-2468";
        let id = create(&app, &postgres_body(cluster.port, &cluster.user, &cluster.database, wrong));

        let response = app.owner.send("POST", &test_path(&app, &id), &[], None);
        assert!(!response.body.contains(wrong));
        let body = result(&response);
        assert_eq!(body["ok"], false);
        assert_eq!(body["code"], "auth_failed");

        let credential = app.owner.get(&app.credential(&id));
        assert!(!credential.body.contains(wrong));
        let credential = credential.json();
        assert_eq!(credential["status"], "error");
        assert_eq!(credential["health"]["status"], "error");
        assert_eq!(credential["health"]["notes"], json!([body["message"]]));
        assert!(!app.events(&id).iter().any(|event| event.to_string().contains(wrong)));
    }

    fn a_stored_sftp_credential_is_tested_by_a_member(db: &TestDb) {
        let Some(sshd) = sshd() else { return };
        let app = TestApp::spawn_for_probes(db);
        let id = create(&app, &json!({
            "provider": "sftp", "kind": "key_file", "name": "Partner drop",
            "extra_data": {"host": "127.0.0.1", "port": sshd.port, "username": USER,
                           "private_key": sshd.private_key, "host_key_sha256": sshd.fingerprint}
        }));
        let body = result(&app.member.send("POST", &test_path(&app, &id), &[], None));
        assert_eq!(body["code"], "ok", "{body}");
        assert!(body["message"].as_str().unwrap().contains("matches the pinned"), "{body}");
        assert!(!body.to_string().contains("PRIVATE KEY"));
        let credential = app.owner.get(&app.credential(&id)).json();
        assert_eq!(credential["status"], "connected");
        assert_eq!(credential["extra_data"]["host_key_sha256"], json!(sshd.fingerprint));
    }

    fn outsiders_get_404_and_anonymous_callers_401(db: &TestDb) {
        let app = TestApp::spawn_for_probes(db);
        let id = create(&app, &postgres_body(1, "u", "d", "outsider-pw"));
        let response = app.outsider.send("POST", &test_path(&app, &id), &[], None);
        let not_found = response.problem(404);
        // The same answer as for a credential that does not exist.
        let missing = app.outsider.send(
            "POST",
            &test_path(&app, "0192f3a4-1b2c-7d3e-8f40-123456789abc"),
            &[],
            None,
        );
        assert_eq!(missing.problem(404)["detail"], not_found["detail"]);
        let candidate = app.outsider.post_json(
            &format!("{}/test", app.integrations()),
            &postgres_body(1, "u", "d", "outsider-pw"),
        );
        candidate.problem(404);
        app.anonymous.send("POST", &test_path(&app, &id), &[], None).problem(401);
        assert_eq!(app.owner.get(&app.credential(&id)).json()["version"], 1);
    }

    fn a_candidate_test_writes_nothing(db: &TestDb) {
        let Some(cluster) = cluster() else { return };
        let app = TestApp::spawn_for_probes(db);
        let body = result(&app.member.post_json(
            &format!("{}/test", app.integrations()),
            &postgres_body(cluster.port, &cluster.user, &cluster.database, &cluster.password),
        ));
        assert_eq!(body["code"], "ok", "{body}");
        let list = app.owner.get(&app.integrations()).json();
        assert_eq!(list["items"], json!([]));
        assert!(!db.contains_bytes(cluster.password.as_bytes()));

        let body = result(&app.owner.post_json(
            &format!("{}/test", app.integrations()),
            &postgres_body(cluster.port, &cluster.user, &cluster.database, "candidate-wrong-pw"),
        ));
        assert_eq!(body["code"], "auth_failed", "{body}");
        assert_eq!(app.owner.get(&app.integrations()).json()["items"], json!([]));
    }

    fn an_invalid_candidate_is_422_with_every_field(db: &TestDb) {
        let app = TestApp::spawn_for_probes(db);
        let response = app.member.post_json(
            &format!("{}/test", app.integrations()),
            &json!({"provider": "postgresql", "kind": "user_password",
                    "extra_data": {"port": 70000, "host": "db.internal"}}),
        );
        assert_eq!(response.error_fields(), ["name"]);
        let response = app.member.post_json(
            &format!("{}/test", app.integrations()),
            &json!({"provider": "postgresql", "kind": "user_password", "name": "x",
                    "extra_data": {"port": 70000, "host": "db.internal", "username": "etl",
                                   "ssl_mode": "sometimes"}}),
        );
        let fields = response.error_fields();
        assert!(fields.contains(&"extra_data.port".to_owned()), "{fields:?}");
        assert!(fields.contains(&"extra_data.ssl_mode".to_owned()), "{fields:?}");
    }

    fn credentials_that_cannot_be_tested_offline_are_422(db: &TestDb) {
        let app = TestApp::spawn_for_probes(db);
        let id = create(&app, &json!({
            "provider": "stripe", "kind": "api_key", "name": "Payments",
            "extra_data": {"api_key": "sk_test_untestable"}
        }));
        let response = app.member.send("POST", &test_path(&app, &id), &[], None);
        assert_eq!(response.error_fields(), ["provider"]);
        let problem = response.problem(422);
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("stripe/api_key") && message.contains("sftp"), "{message}");
        assert_eq!(app.owner.get(&app.credential(&id)).json()["version"], 1);

        let response = app.member.post_json(
            &format!("{}/test", app.integrations()),
            &json!({"provider": "aws_ses", "kind": "api_key", "name": "Mail",
                    "extra_data": {"access_key_id": "AKIA", "region": "eu-west-1",
                                   "secret_access_key": "untestable-secret"}}),
        );
        assert_eq!(response.error_fields(), ["provider"]);
    }

    fn a_pending_credential_without_its_password_is_422(db: &TestDb) {
        let app = TestApp::spawn_for_probes(db);
        let id = create(&app, &json!({
            "provider": "sftp", "kind": "user_password", "name": "Half done",
            "extra_data": {"host": "127.0.0.1", "username": USER}
        }));
        let response = app.member.send("POST", &test_path(&app, &id), &[], None);
        assert_eq!(response.error_fields(), ["extra_data.password"]);
    }

    fn the_servers_own_address_is_refused_by_policy(db: &TestDb) {
        let app = TestApp::spawn_for_probes(db);
        let id = create(&app, &json!({
            "provider": "sftp", "kind": "user_password", "name": "Loop",
            "extra_data": {"host": "127.0.0.1", "port": app.address.port(), "username": "u",
                           "password": "loop-pw"}
        }));
        let body = result(&app.member.send("POST", &test_path(&app, &id), &[], None));
        assert_eq!(body["ok"], false);
        assert_eq!(body["code"], "refused_by_policy", "{body}");
        let credential = app.owner.get(&app.credential(&id)).json();
        assert_eq!(credential["status"], "error");
        assert_eq!(credential["health"]["notes"], json!([body["message"]]));

        // Also through a name that resolves to it (among other addresses).
        let mut candidate = postgres_body(app.address.port(), "u", "d", "loop-pw");
        candidate["extra_data"]["host"] = json!("localhost");
        let body = result(&app.member.post_json(&format!("{}/test", app.integrations()), &candidate));
        assert_eq!(body["code"], "refused_by_policy", "{body}");
    }

    fn a_member_may_not_point_a_stored_secret_elsewhere_and_nothing_is_sent(db: &TestDb) {
        let app = TestApp::spawn_for_probes(db);
        let trap = Trap::start();
        let stored_password = "Very-Secret-Pw-42";
        let id = create(&app, &json!({
            "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
            "extra_data": {"host": "db.internal.example", "port": 5432, "database": "dw",
                           "username": "etl", "password": stored_password}
        }));
        for body in [
            json!({"extra_data": {"host": "127.0.0.1", "port": trap.port, "ssl_mode": "disable"}}),
            json!({"extra_data": {"host": "127.0.0.1"}}),
            json!({"extra_data": {"port": trap.port}}),
            json!({"extra_data": {"username": "postgres"}}),
            json!({"extra_data": {"ssl_mode": "disable"}}),
            json!({"extra_data": {"require_auth": "any"}}),
            json!({"extra_data": {"connection_string":
                format!("host=127.0.0.1 port={} user=etl sslmode=disable", trap.port)}}),
        ] {
            let response = app.member.send_json("POST", &test_path(&app, &id), &[], &body);
            let problem = response.problem(403);
            assert!(!response.body.contains(stored_password), "{problem}");
        }
        assert_eq!(trap.connections(), 0, "nothing may reach the member's server");
        assert_eq!(app.events(&id).len(), 1, "only the creation");

        // SFTP: removing the host-key pin is a redirect too.
        let sftp = create(&app, &json!({
            "provider": "sftp", "kind": "user_password", "name": "Drop",
            "extra_data": {"host": "127.0.0.1", "port": trap.port, "username": "drop",
                           "password": stored_password,
                           "host_key_sha256": "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"}
        }));
        app.member
            .send_json("POST", &test_path(&app, &sftp), &[],
                       &json!({"extra_data": {"host_key_sha256": null}}))
            .problem(403);
        assert_eq!(trap.connections(), 0);

        // Outsiders still get the 404 of a missing credential, byte for byte.
        let request_id = [("x-client-request-id", "0192f3a4-1b2c-7d3e-8f40-0000000000f1")];
        let body = json!({"extra_data": {"host": "127.0.0.1", "port": trap.port}});
        let outsider = app.outsider.send_json("POST", &test_path(&app, &id), &request_id, &body);
        let missing = app.outsider.send_json(
            "POST",
            &test_path(&app, "0192f3a4-1b2c-7d3e-8f40-123456789abc"),
            &request_id,
            &body,
        );
        outsider.problem(404);
        assert_eq!(outsider.body, missing.body);
        assert_eq!(trap.connections(), 0);
    }

    fn an_owner_tests_a_changed_credential_in_memory_and_the_test_is_audited(db: &TestDb) {
        let app = TestApp::spawn_for_probes(db);
        let trap = Trap::start();
        let id = create(&app, &postgres_body(5432, "etl", "dw", "Owner-Stored-Pw-1"));
        let body = json!({"extra_data": {"port": trap.port, "ssl_mode": "disable"}});
        let response = app.owner.send_json("POST", &test_path(&app, &id), &[], &body);
        let answer = result(&response);
        assert_eq!(answer["ok"], false, "{answer}");
        assert_eq!(trap.connections(), 1, "the owner's test connected there");

        let credential = app.owner.get(&app.credential(&id)).json();
        assert_eq!(credential["version"], 1);
        assert_eq!(credential["extra_data"]["port"], 5432);
        assert_eq!(credential["health"]["status"], "unknown", "nothing recorded on it");
        let events = app.events(&id);
        assert_eq!(events.len(), 2, "{events:?}");
        let tested = &events[1];
        assert_eq!(tested["action"], "tested");
        assert_eq!(tested["request_id"], json!(response.header("x-request-id").unwrap()));
        assert_eq!(tested["actor"]["id"], credential["created_by"]);
        let fields = tested["changed_fields"].as_array().unwrap();
        assert_eq!(fields[0], "body", "{tested}");
        assert!(fields.contains(&json!("body.extra_data.port")), "{tested}");
        assert!(fields.contains(&json!("body.extra_data.ssl_mode")), "{tested}");
        assert!(!tested.to_string().contains(&trap.port.to_string()), "names, never values");
    }

    fn a_member_may_test_a_body_that_brings_its_own_secrets_and_it_is_audited(db: &TestDb) {
        let Some(cluster) = cluster() else { return };
        let app = TestApp::spawn_for_probes(db);
        let id = create(&app, &postgres_body(cluster.port, &cluster.user, &cluster.database,
                                             "stored-wrong-pw"));
        let response = app.member.send_json(
            "POST",
            &test_path(&app, &id),
            &[],
            &json!({"extra_data": {"password": cluster.password}}),
        );
        let body = result(&response);
        assert_eq!(body["code"], "ok", "{body}");

        let credential = app.owner.get(&app.credential(&id)).json();
        assert_eq!(credential["version"], 1);
        assert_eq!(credential["status"], "credentials_saved");
        assert_eq!(credential["health"]["status"], "unknown");
        assert_eq!(app.stored_secret(&id, "password").as_deref(), Some("stored-wrong-pw"));
        let events = app.events(&id);
        assert_eq!(events.len(), 2, "the creation and the test");
        assert_eq!(events[1]["action"], "tested");
        assert_eq!(events[1]["changed_fields"], json!(["body", "body.secrets.password"]));
        assert_eq!(events[1]["secrets"], json!({"password": "set"}));
        assert!(!events[1].to_string().contains(&cluster.password));

        // The stored value, tested as it is, still fails.
        let body = result(&app.member.send("POST", &test_path(&app, &id), &[], None));
        assert_eq!(body["code"], "auth_failed", "{body}");

        // A body that changes only descriptive fields is tested by a member too.
        let response = app.member.send_json(
            "POST",
            &test_path(&app, &id),
            &[],
            &json!({"name": "Renamed for the test"}),
        );
        assert_eq!(result(&response)["code"], "auth_failed");

        // An invalid patch is a 422, as for PATCH itself.
        let response = app.member.send_json(
            "POST",
            &test_path(&app, &id),
            &[],
            &json!({"extra_data": {"port": 0}}),
        );
        assert_eq!(response.error_fields(), ["extra_data.port"]);
    }

    fn a_null_body_tests_the_stored_credential_and_other_media_types_are_415(db: &TestDb) {
        let app = TestApp::spawn_for_probes(db);
        let id = create(&app, &postgres_body(free_port(), "u", "d", "null-body-pw"));
        let body = result(&app.member.send_json("POST", &test_path(&app, &id), &[], &Value::Null));
        assert_eq!(body["code"], "unreachable", "{body}");
        let credential = app.owner.get(&app.credential(&id)).json();
        assert_eq!(credential["health"]["status"], "error", "recorded");
        assert_eq!(credential["version"], 1);
        app.member
            .send("POST", &test_path(&app, &id), &[("content-type", "text/plain")], Some(b"x"))
            .problem(415);
        app.member.send("POST", &test_path(&app, &id), &[], Some(b"{}")).problem(415);
    }

    fn a_revoked_credential_keeps_its_status(db: &TestDb) {
        let Some(cluster) = cluster() else { return };
        let app = TestApp::spawn_for_probes(db);
        let mut body = postgres_body(cluster.port, &cluster.user, &cluster.database,
                                     &cluster.password);
        body["status"] = json!("revoked");
        let id = create(&app, &body);
        let body = result(&app.member.send("POST", &test_path(&app, &id), &[], None));
        assert_eq!(body["code"], "ok", "{body}");
        let credential = app.owner.get(&app.credential(&id)).json();
        assert_eq!(credential["status"], "revoked");
        assert_eq!(credential["health"]["status"], "healthy");
        assert_eq!(app.events(&id).last().unwrap()["changed_fields"], json!(["health"]));
    }

    fn the_default_policy_refuses_every_special_range_and_connects_to_none(db: &TestDb) {
        // The default policy, without the per-principal limit of tests (this test sends many).
        let settings = credvault_api::Settings {
            probe_rate_limit: None,
            ..credvault_api::Settings::default()
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        let trap = Trap::start();
        let candidate = |host: &str, port: u16| {
            let mut body = postgres_body(port, "etl", "dw", "policy-pw-1");
            body["extra_data"]["host"] = json!(host);
            result(&app.member.post_json(&format!("{}/test", app.integrations()), &body))
        };
        for host in [
            "127.0.0.1",
            "localhost",
            "::1",
            "::ffff:127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::1",
        ] {
            let body = candidate(host, trap.port);
            assert_eq!(body["code"], "refused_by_policy", "{host}: {body}");
        }
        for host in [
            "169.254.169.254",
            "fd00:ec2::254",
            "64:ff9b::a9fe:a9fe",
            "fe80::1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "fd12:3456::1",
            "100.64.0.1",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
            "0.0.0.0",
            "::",
        ] {
            let body = candidate(host, 5432);
            assert_eq!(body["code"], "refused_by_policy", "{host}: {body}");
        }
        // The same for a stored credential, and for SFTP.
        let id = create(&app, &json!({
            "provider": "sftp", "kind": "user_password", "name": "Loop",
            "extra_data": {"host": "127.0.0.1", "port": trap.port, "username": "u",
                           "password": "policy-pw-2"}
        }));
        let body = result(&app.member.send("POST", &test_path(&app, &id), &[], None));
        assert_eq!(body["code"], "refused_by_policy", "{body}");
        assert_eq!(trap.connections(), 0, "no connection was made");
    }

    fn an_operator_opens_loopback_but_never_the_database_of_the_server(db: &TestDb) {
        let trap = Trap::start();
        let database = format!("127.0.0.1:{}", trap.port).parse().unwrap();
        let loopback = crate::helpers::loopback_probe_settings();
        let settings = credvault_api::Settings {
            probe: credvault_probe::ProbeSettings {
                database_addresses: vec![database],
                ..loopback.probe.clone()
            },
            ..loopback
        };
        let app = TestApp::spawn_with_settings(db.store().clone(), settings);
        let body = result(&app.member.post_json(
            &format!("{}/test", app.integrations()),
            &postgres_body(trap.port, "etl", "dw", "database-pw-1"),
        ));
        assert_eq!(body["code"], "refused_by_policy", "{body}");
        assert!(body["message"].as_str().unwrap().contains("database"), "{body}");
        assert_eq!(trap.connections(), 0);
        // Another port on loopback is open to tests now.
        let other = Trap::start();
        let body = result(&app.member.post_json(
            &format!("{}/test", app.integrations()),
            &postgres_body(other.port, "etl", "dw", "database-pw-1"),
        ));
        assert_ne!(body["code"], "refused_by_policy", "{body}");
        assert_eq!(other.connections(), 1);
    }
}

/// A PostgreSQL server that lets every login in (`AuthenticationOk`, `ReadyForQuery`) and then
/// never answers a query; it reports `query` when a query arrives and `eof` when the client
/// closes the connection.
struct StallingPostgres {
    port: u16,
    events: std::sync::mpsc::Receiver<&'static str>,
}

impl StallingPostgres {
    fn start() -> StallingPostgres {
        use std::io::{Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (sender, events) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let sender = sender.clone();
                std::thread::spawn(move || {
                    let mut head = [0u8; 8];
                    if stream.read_exact(&mut head).is_err() {
                        return;
                    }
                    let mut length = u32::from_be_bytes(head[..4].try_into().unwrap()) as usize;
                    if head[4..] == 80_877_103u32.to_be_bytes() {
                        // SSLRequest: no TLS here; then the startup message follows.
                        stream.write_all(b"N").unwrap();
                        let mut length_bytes = [0u8; 4];
                        stream.read_exact(&mut length_bytes).unwrap();
                        length = u32::from_be_bytes(length_bytes) as usize - 4;
                    } else {
                        length -= 8;
                    }
                    let mut startup = vec![0u8; length];
                    stream.read_exact(&mut startup).unwrap();
                    stream.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 0]).unwrap();
                    stream.write_all(&[b'Z', 0, 0, 0, 5, b'I']).unwrap();
                    let mut buffer = [0u8; 512];
                    let mut reported = false;
                    loop {
                        match stream.read(&mut buffer) {
                            Ok(0) | Err(_) => {
                                let _ = sender.send("eof");
                                return;
                            }
                            Ok(_) if !reported => {
                                reported = true;
                                let _ = sender.send("query");
                            }
                            Ok(_) => {}
                        }
                    }
                });
            }
        });
        StallingPostgres { port, events }
    }

    /// The next event, waiting at most a generous while (a liveness bound, not a speed check).
    fn next(&self) -> &'static str {
        self.events
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or("nothing")
    }
}

fn stalling_body(port: u16) -> Value {
    let mut body = postgres_body(port, "etl", "dw", "stalled-pw-1");
    body["extra_data"]["ssl_mode"] = json!("disable");
    // The fake server authenticates nobody; a libpq with require_auth would refuse it.
    body["extra_data"]["require_auth"] = json!("any");
    body
}

/// Deadlines and limits, in a module of their own (the macro makes `sqlite`/`postgres` modules).
mod limits {
    use super::*;

    backend_tests! {
        fn a_stalled_server_is_left_at_the_deadline_and_the_limits_answer_429_and_503(db: &TestDb) {
            let loopback = crate::helpers::loopback_probe_settings();
            let settings = credvault_api::Settings {
                probe: credvault_probe::ProbeSettings {
                    timeout: Duration::from_secs(2),
                    max_concurrent: 2,
                    max_per_team: 1,
                    ..loopback.probe.clone()
                },
                probe_rate_limit: None,
                ..loopback
            };
            let app = TestApp::spawn_with_settings(db.store().clone(), settings);
            let stalling = StallingPostgres::start();
            let candidate = format!("{}/test", app.integrations());
            let outsider_candidate = format!("/api/v1/teams/{}/integrations/test", app.other_team.label);

            let member = Client::new(app.member.base_url(), app.member.token().map(str::to_owned));
            let path = candidate.clone();
            let body = stalling_body(stalling.port);
            let stalled = std::thread::spawn(move || member.post_json(&path, &body));
            assert_eq!(stalling.next(), "query", "the test logged in and sent SELECT 1");

            // Meanwhile the server serves other requests and other tenants.
            let list = app.outsider.get(&format!("/api/v1/teams/{}/integrations", app.other_team.label));
            assert_eq!(list.status, 200, "{}", list.body);
            // The team's one slot is taken: 429 with Retry-After.
            let busy_team = app.owner.post_json(&candidate, &stalling_body(stalling.port));
            busy_team.problem(429);
            assert!(busy_team.header("retry-after").is_some());
            // Another team still gets a slot; with both slots taken the server answers 503.
            let outsider = Client::new(app.outsider.base_url(), app.outsider.token().map(str::to_owned));
            let path = outsider_candidate.clone();
            let body = stalling_body(stalling.port);
            let second = std::thread::spawn(move || outsider.post_json(&path, &body));
            assert_eq!(stalling.next(), "query");
            let busy_server = app.outsider.post_json(&outsider_candidate, &stalling_body(free_port()));
            busy_server.problem(503);
            assert!(busy_server.header("retry-after").is_some());

            // At the deadline each test gives up and closes its connection.
            for handle in [stalled, second] {
                let body = result(&handle.join().unwrap());
                assert_eq!(body["code"], "timeout", "{body}");
                assert!(body["message"].as_str().unwrap().contains("SELECT 1"), "{body}");
            }
            assert_eq!(stalling.next(), "eof");
            assert_eq!(stalling.next(), "eof");
            assert_eq!(app.state.probes.running(), 0, "no test thread is left");
            // The slots are free again.
            let body = result(&app.owner.post_json(&candidate, &postgres_body(free_port(), "u", "d", "pw-12")));
            assert_eq!(body["code"], "unreachable", "{body}");
        }
    }
}

/// Recording an outcome is server-owned state: no new version, no new `ETag`.
mod recording {
    use super::*;

    backend_tests! {
        fn a_test_keeps_the_etag_and_an_owners_if_match_still_succeeds(db: &TestDb) {
            let app = TestApp::spawn_for_probes(db);
            let id = create(&app, &postgres_body(free_port(), "etl", "dw", "etag-pw-1"));
            let before = app.owner.get(&app.credential(&id));
            let etag = before.header("etag").unwrap().to_owned();

            for _ in 0..3 {
                let body = result(&app.member.send("POST", &test_path(&app, &id), &[], None));
                assert_eq!(body["code"], "unreachable", "{body}");
            }
            let after = app.owner.get(&app.credential(&id));
            assert_eq!(after.header("etag"), Some(etag.as_str()));
            let credential = after.json();
            assert_eq!(credential["version"], 1);
            assert_eq!(credential["updated_at"], before.json()["updated_at"]);
            assert_eq!(credential["status"], "error");
            assert_eq!(credential["health"]["status"], "error");
            let events = app.events(&id);
            assert_eq!(events.len(), 4, "the creation and three tests");
            assert!(events[1..].iter().all(|event| event["action"] == "tested"));

            let response = app.owner.send_json(
                "PATCH",
                &app.credential(&id),
                &[("if-match", etag.as_str())],
                &json!({"name": "Renamed after the tests"}),
            );
            assert_eq!(response.status, 200, "{}", response.body);
            assert_eq!(response.json()["version"], 2);
        }
    }
}
