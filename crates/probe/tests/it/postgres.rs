//! The PostgreSQL connection test of a credential (fields or connection string → checked
//! conninfo → libpq), against the throwaway cluster that checks passwords.

use std::net::TcpListener;

use credvault_probe::testing::cluster::ScramCluster;
use credvault_probe::testing::free_port;
use credvault_probe::{TestCode, TestOutcome};
use serde_json::{Value, json};

use crate::support::{SHORT_TIMEOUT, TIMEOUT, cluster, loopback_policy, target};

pub(crate) fn test(extra_data: Value) -> TestOutcome {
    let body = json!({"provider": "postgresql", "kind": "user_password", "name": "t", "extra_data": extra_data});
    credvault_probe::run(target(body), loopback_policy(), TIMEOUT)
}

pub(crate) fn fields(cluster: &ScramCluster, password: &str) -> Value {
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
    let outcome = credvault_probe::run(target(body), loopback_policy(), TIMEOUT);
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
    let outcome = credvault_probe::run(target(body), loopback_policy(), SHORT_TIMEOUT);
    assert_eq!(outcome.code, TestCode::Timeout, "{outcome:?}");
    drop(silent);
}
