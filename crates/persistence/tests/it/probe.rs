//! `probe::postgres` against a real server that checks passwords (a throwaway SCRAM cluster), a
//! closed port and a port that accepts connections but never answers.

use std::net::TcpListener;
use std::time::Duration;

use credvault_domain::secret::SecretValue;
use credvault_persistence::probe::{self, Conninfo, FailureKind, ProbeFailure};
use credvault_persistence::testing::cluster::{ScramCluster, free_port, scram_cluster};

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
