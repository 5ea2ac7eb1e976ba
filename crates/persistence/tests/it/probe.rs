//! `probe::postgres` against a real server that checks passwords (a throwaway SCRAM cluster), a
//! closed port and a port that accepts connections but never answers; and `Store::record_test`,
//! which records a test's outcome without a new version, on both backends.

use std::net::TcpListener;
use std::time::Duration;

use credvault_domain::audit::AuditAction;
use credvault_domain::credential::{CredentialStatus, Health, HealthStatus};
use credvault_domain::secret::SecretValue;
use credvault_persistence::probe::{self, Conninfo, FailureKind, ProbeFailure};
use credvault_persistence::testing::TestDb;
use credvault_persistence::testing::cluster::{ScramCluster, free_port, scram_cluster};
use credvault_persistence::{StoreError, TestRecord};

const TIMEOUT: Duration = Duration::from_secs(2);

fn cluster() -> Option<&'static ScramCluster> {
    match scram_cluster() {
        Ok(cluster) => Some(cluster),
        Err(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}

fn conninfo(port: u16, user: &str, password: &str, database: &str) -> Conninfo {
    let mut conninfo = Conninfo::new();
    conninfo.set("host", "127.0.0.1").unwrap();
    conninfo.set("port", &port.to_string()).unwrap();
    conninfo.set("user", user).unwrap();
    conninfo.set("dbname", database).unwrap();
    conninfo
        .set_secret("password", SecretValue::from(password))
        .unwrap();
    conninfo
}

fn failure(conninfo: &Conninfo) -> ProbeFailure {
    probe::postgres(conninfo, TIMEOUT).unwrap_err()
}

#[test]
fn the_right_password_connects() {
    let Some(cluster) = cluster() else { return };
    let conninfo = conninfo(
        cluster.port,
        &cluster.user,
        &cluster.password,
        &cluster.database,
    );
    probe::postgres(&conninfo, TIMEOUT).unwrap();
}

#[test]
fn a_host_name_with_a_checked_hostaddr_connects() {
    let Some(cluster) = cluster() else { return };
    let mut conninfo = conninfo(
        cluster.port,
        &cluster.user,
        &cluster.password,
        &cluster.database,
    );
    conninfo.set("host", "db.example.invalid").unwrap();
    conninfo.set("hostaddr", "127.0.0.1").unwrap();
    probe::postgres(&conninfo, TIMEOUT).unwrap();
}

#[test]
fn a_wrong_password_is_auth_failed_and_never_echoed() {
    let Some(cluster) = cluster() else { return };
    let wrong = "Wrong-Password-4711";
    let failure = failure(&conninfo(
        cluster.port,
        &cluster.user,
        wrong,
        &cluster.database,
    ));
    assert_eq!(failure.kind, FailureKind::AuthFailed, "{failure:?}");
    assert!(
        failure.message.contains("password authentication failed"),
        "{failure:?}"
    );
    assert!(!failure.message.contains(wrong), "{failure:?}");
}

#[test]
fn an_unknown_role_is_auth_failed() {
    let Some(cluster) = cluster() else { return };
    let failure = failure(&conninfo(
        cluster.port,
        "nobody_here",
        "x-pass",
        &cluster.database,
    ));
    assert_eq!(failure.kind, FailureKind::AuthFailed, "{failure:?}");
}

#[test]
fn a_missing_database_is_database_not_found() {
    let Some(cluster) = cluster() else { return };
    let failure = failure(&conninfo(
        cluster.port,
        &cluster.user,
        &cluster.password,
        "no_such_db",
    ));
    assert_eq!(failure.kind, FailureKind::DatabaseNotFound, "{failure:?}");
}

#[test]
fn required_tls_on_a_server_without_tls_is_tls_required() {
    let Some(cluster) = cluster() else { return };
    let mut conninfo = conninfo(
        cluster.port,
        &cluster.user,
        &cluster.password,
        &cluster.database,
    );
    conninfo.set("sslmode", "require").unwrap();
    let failure = failure(&conninfo);
    assert_eq!(failure.kind, FailureKind::TlsRequired, "{failure:?}");
}

#[test]
fn a_closed_port_is_unreachable() {
    let failure = failure(&conninfo(free_port(), "u", "closed-port-pw", "d"));
    assert_eq!(failure.kind, FailureKind::Unreachable, "{failure:?}");
}

#[test]
fn a_port_that_never_answers_is_a_timeout() {
    // The kernel accepts the connection into the backlog; nobody ever reads or answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let failure = failure(&conninfo(port, "u", "silent-port-pw", "d"));
    assert_eq!(failure.kind, FailureKind::Timeout, "{failure:?}");
    drop(silent);
}

/// A server that asks every client for its password in clear (as a rogue server would) and
/// tells whether one arrived: `password`, or `none` when the client hung up first.
fn cleartext_asking_server() -> (u16, std::thread::JoinHandle<&'static str>) {
    use std::io::{Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = [0u8; 8];
        stream.read_exact(&mut head).unwrap();
        let mut length = u32::from_be_bytes(head[..4].try_into().unwrap()) as usize - 8;
        if head[4..] == 80_877_103u32.to_be_bytes() {
            stream.write_all(b"N").unwrap();
            let mut length_bytes = [0u8; 4];
            stream.read_exact(&mut length_bytes).unwrap();
            length = u32::from_be_bytes(length_bytes) as usize - 4;
        }
        let mut startup = vec![0u8; length];
        stream.read_exact(&mut startup).unwrap();
        // AuthenticationCleartextPassword.
        stream.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).unwrap();
        let mut kind = [0u8; 1];
        match stream.read_exact(&mut kind) {
            Ok(()) if kind[0] == b'p' => "password",
            _ => "none",
        }
    });
    (port, handle)
}

#[test]
fn require_auth_refuses_a_server_that_asks_for_the_password_in_clear() {
    let version = probe::libpq_version();
    if !probe::supports_require_auth(version) {
        // What this libpq cannot do is said in docs/SECURITY.md; the API then sets nothing.
        eprintln!("skipped: libpq {version} has no require_auth (build with bundled-libpq)");
        return;
    }
    let (port, server) = cleartext_asking_server();
    let mut conninfo = conninfo(port, "etl", "Cleartext-Bait-Pw-1", "dw");
    conninfo.set("sslmode", "disable").unwrap();
    conninfo.set("require_auth", "scram-sha-256").unwrap();
    let failure = failure(&conninfo);
    assert_eq!(failure.kind, FailureKind::AuthFailed, "{failure:?}");
    assert!(!failure.message.contains("Cleartext-Bait-Pw-1"));
    assert_eq!(server.join().unwrap(), "none", "the password was sent");
}

#[test]
fn without_require_auth_libpq_answers_a_cleartext_request() {
    // The reason the API sets require_auth: without it the password goes out in clear.
    let (port, server) = cleartext_asking_server();
    let mut conninfo = conninfo(port, "etl", "Cleartext-Bait-Pw-2", "dw");
    conninfo.set("sslmode", "disable").unwrap();
    let _ = probe::postgres(&conninfo, TIMEOUT);
    assert_eq!(server.join().unwrap(), "password");
}

fn record(version: i64) -> TestRecord {
    TestRecord {
        version,
        status: CredentialStatus::Connected,
        health: Health {
            status: HealthStatus::Healthy,
            notes: vec!["connected to PostgreSQL".to_owned()],
            checked_at: Some(credvault_domain::time::now()),
        },
        recorded_fields: vec!["status".to_owned(), "health".to_owned()],
    }
}

fn tested_event(
    credential: &credvault_domain::credential::Credential,
    actor: credvault_domain::ids::PrincipalId,
) -> credvault_domain::audit::AuditEvent {
    let mut event = crate::support::event(credential, AuditAction::Tested, actor);
    event.changed_fields = Vec::new();
    event.secrets = Default::default();
    event
}

credvault_persistence::backend_tests! {
    fn a_test_outcome_is_recorded_without_a_new_version(db: &TestDb) {
        let (team, owner) = crate::support::team_with_owner(db, "acme");
        let credential = crate::support::insert_credential(db, &team, owner, "Warehouse");
        let before = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        let tester = credvault_domain::ids::PrincipalId::new();
        let record = record(before.credential.version);

        let recorded = db
            .store()
            .record_test(team.id, credential.id, Some(&record), &tested_event(&credential, tester))
            .unwrap();
        assert!(recorded);

        let after = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(after.credential.status, CredentialStatus::Connected);
        assert_eq!(after.credential.health, record.health);
        assert_eq!(after.credential.version, before.credential.version);
        assert_eq!(after.credential.updated_at, before.credential.updated_at);
        assert_eq!(after.credential.modified_by, before.credential.modified_by);
        assert_eq!(after.ciphertext, before.ciphertext);
        let events = crate::support::all_events(db, &credential);
        let last = events.last().unwrap();
        assert_eq!(last.action, AuditAction::Tested);
        assert_eq!(last.actor.id, tester);
        assert_eq!(last.changed_fields, ["status", "health"]);
    }

    fn a_stale_outcome_is_not_written_but_the_test_is_audited(db: &TestDb) {
        let (team, owner) = crate::support::team_with_owner(db, "acme");
        let credential = crate::support::insert_credential(db, &team, owner, "Warehouse");
        let before = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        let stale = record(credential.version - 1);
        let recorded = db
            .store()
            .record_test(team.id, credential.id, Some(&stale), &tested_event(&credential, owner))
            .unwrap();
        assert!(!recorded);
        let after = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(after.credential, before.credential);
        let events = crate::support::all_events(db, &credential);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].action, AuditAction::Tested);
        assert!(events[1].changed_fields.is_empty());

        // An event without a record (a test with a body) is appended as it is.
        let mut event = tested_event(&credential, owner);
        event.changed_fields = vec!["body".to_owned(), "body.extra_data.port".to_owned()];
        assert!(!db.store().record_test(team.id, credential.id, None, &event).unwrap());
        let events = crate::support::all_events(db, &credential);
        assert_eq!(events[2].changed_fields, ["body", "body.extra_data.port"]);
    }

    fn another_teams_credential_is_not_found_and_nothing_is_written(db: &TestDb) {
        let (team, owner) = crate::support::team_with_owner(db, "acme");
        let (other, _) = crate::support::team_with_owner(db, "globex");
        let credential = crate::support::insert_credential(db, &team, owner, "Warehouse");
        let before = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        let error = db
            .store()
            .record_test(
                other.id,
                credential.id,
                Some(&record(credential.version)),
                &tested_event(&credential, owner),
            )
            .unwrap_err();
        assert!(matches!(error, StoreError::NotFound), "{error:?}");
        let after = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(after.credential, before.credential);
        assert_eq!(crate::support::all_events(db, &credential).len(), 1);
        let missing = credvault_domain::ids::CredentialId::new();
        let error = db
            .store()
            .record_test(team.id, missing, None, &tested_event(&credential, owner))
            .unwrap_err();
        assert!(matches!(error, StoreError::NotFound), "{error:?}");
    }
}
