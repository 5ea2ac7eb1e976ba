//! The PostgreSQL connection test as the API runs it (fields or connection string → checked
//! conninfo → libpq), against a throwaway cluster that checks passwords.

use std::net::TcpListener;

use credvault_api::Settings;
use credvault_api::probe::policy::ProbePolicy;
use credvault_api::probe::{self, TestCode, TestOutcome};
use credvault_persistence::testing::cluster::{ScramCluster, free_port, scram_cluster};
use serde_json::{Value, json};

use crate::helpers::loopback_probe_settings;

use crate::probe_sftp::{SHORT_TIMEOUT, TIMEOUT, target};

/// The process's SCRAM cluster, or `None` after saying why the test skips.
pub(crate) fn cluster() -> Option<&'static ScramCluster> {
    match scram_cluster() {
        Ok(cluster) => Some(cluster),
        Err(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}

fn test(extra_data: Value) -> TestOutcome {
    let body = json!({"provider": "postgresql", "kind": "user_password", "name": "t", "extra_data": extra_data});
    probe::run(
        target(body),
        ProbePolicy::from_settings(&loopback_probe_settings()),
        TIMEOUT,
    )
}

fn fields(cluster: &ScramCluster, password: &str) -> Value {
    json!({
        "host": "127.0.0.1", "port": cluster.port, "database": cluster.database,
        "username": cluster.user, "password": password, "ssl_mode": "prefer"
    })
}

#[test]
fn fields_with_the_right_password_connect() {
    let Some(cluster) = cluster() else { return };
    let outcome = test(fields(cluster, &cluster.password));
    assert_eq!(outcome.code, TestCode::Ok, "{outcome:?}");
    assert!(outcome.message.contains("SELECT 1"), "{outcome:?}");
}

#[test]
fn a_wrong_password_is_auth_failed_and_never_echoed() {
    let Some(cluster) = cluster() else { return };
    let wrong = "Wrong-Pg-Password-31337";
    let outcome = test(fields(cluster, wrong));
    assert_eq!(outcome.code, TestCode::AuthFailed, "{outcome:?}");
    assert!(!outcome.message.contains(wrong), "{outcome:?}");
}

#[test]
fn an_internal_postgresql_credential_is_tested_the_same_way() {
    let Some(cluster) = cluster() else { return };
    let body = json!({"provider": "internal_postgresql", "kind": "user_password", "name": "t",
                      "extra_data": fields(cluster, &cluster.password)});
    let outcome = probe::run(
        target(body),
        ProbePolicy::from_settings(&loopback_probe_settings()),
        TIMEOUT,
    );
    assert_eq!(outcome.code, TestCode::Ok, "{outcome:?}");
}

#[test]
fn a_uri_connection_string_wins_over_the_fields() {
    let Some(cluster) = cluster() else { return };
    // The fields point nowhere; the connection string is what counts.
    let outcome = test(json!({
        "host": "127.0.0.1", "port": free_port(), "username": "nobody", "password": "unused-pw",
        "connection_string": format!(
            "postgresql://{}:{}@localhost:{}/{}?sslmode=prefer&application_name=x",
            cluster.user, cluster.password, cluster.port, cluster.database
        )
    }));
    assert_eq!(outcome.code, TestCode::Ok, "{outcome:?}");
}

#[test]
fn a_keyword_value_connection_string_with_a_wrong_password_is_scrubbed() {
    let Some(cluster) = cluster() else { return };
    let wrong = "it's-wrong \\ really";
    let connection_string = format!(
        "host=127.0.0.1 port={} dbname={} user={} password='{}'",
        cluster.port,
        cluster.database,
        cluster.user,
        wrong.replace('\\', "\\\\").replace('\'', "\\'")
    );
    let outcome = test(json!({ "connection_string": connection_string }));
    assert_eq!(outcome.code, TestCode::AuthFailed, "{outcome:?}");
    assert!(!outcome.message.contains("wrong"), "{outcome:?}");
    assert!(!outcome.message.contains("host="), "{outcome:?}");
}

#[test]
fn a_missing_database_is_database_not_found() {
    let Some(cluster) = cluster() else { return };
    let mut extra_data = fields(cluster, &cluster.password);
    extra_data["database"] = json!("no_such_database");
    let outcome = test(extra_data);
    assert_eq!(outcome.code, TestCode::DatabaseNotFound, "{outcome:?}");
}

#[test]
fn required_tls_on_a_server_without_tls_is_tls_required() {
    let Some(cluster) = cluster() else { return };
    let mut extra_data = fields(cluster, &cluster.password);
    extra_data["ssl_mode"] = json!("require");
    let outcome = test(extra_data);
    assert_eq!(outcome.code, TestCode::TlsRequired, "{outcome:?}");
}

#[test]
fn a_closed_port_is_unreachable() {
    let outcome = test(json!({
        "host": "127.0.0.1", "port": free_port(), "username": "u", "password": "closed-pw"
    }));
    assert_eq!(outcome.code, TestCode::Unreachable, "{outcome:?}");
}

#[test]
fn a_port_that_never_answers_is_a_timeout() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let body = json!({"provider": "postgresql", "kind": "user_password", "name": "t",
                      "extra_data": {"host": "127.0.0.1", "port": port, "username": "u",
                                     "password": "silent-pw"}});
    let outcome = probe::run(
        target(body),
        ProbePolicy::from_settings(&loopback_probe_settings()),
        SHORT_TIMEOUT,
    );
    assert_eq!(outcome.code, TestCode::Timeout, "{outcome:?}");
    drop(silent);
}

#[test]
fn a_socket_directory_in_the_connection_string_is_refused_by_policy() {
    let outcome = test(json!({
        "connection_string": "host=/var/run/postgresql dbname=postgres user=postgres"
    }));
    assert_eq!(outcome.code, TestCode::RefusedByPolicy, "{outcome:?}");
}

#[test]
fn the_servers_own_address_is_refused_by_policy() {
    let Some(cluster) = cluster() else { return };
    let policy = ProbePolicy::from_settings(&Settings {
        listen_addresses: vec![format!("0.0.0.0:{}", cluster.port).parse().unwrap()],
        ..loopback_probe_settings()
    });
    let body = json!({"provider": "postgresql", "kind": "user_password", "name": "t",
                      "extra_data": fields(cluster, &cluster.password)});
    let outcome = probe::run(target(body), policy, TIMEOUT);
    assert_eq!(outcome.code, TestCode::RefusedByPolicy, "{outcome:?}");
}
