//! The outbound policy as a test meets it: refused before anything is sent (`refused_by_policy`),
//! however the target was written, even when the server is there and would accept the login.

use std::net::SocketAddr;

use credvault_probe::testing::sshd::USER;
use credvault_probe::{ProbePolicy, ProbeSettings, TestCode};
use serde_json::json;

use crate::postgres::fields;
use crate::sftp::{password_login, test_with};
use crate::support::{TIMEOUT, cluster, loopback_settings, sshd, target};

#[test]
fn a_socket_directory_in_the_connection_string_is_refused_by_policy() {
    let outcome = crate::postgres::test(json!({
        "connection_string": "host=/var/run/postgresql dbname=postgres user=postgres"
    }));
    assert_eq!(outcome.code, TestCode::RefusedByPolicy, "{outcome:?}");
}

#[test]
fn the_servers_own_address_is_refused_for_postgresql() {
    let Some(cluster) = cluster() else { return };
    let own: SocketAddr = format!("0.0.0.0:{}", cluster.port).parse().unwrap();
    let policy = ProbePolicy::new(&loopback_settings(), &[own]);
    let body = json!({"provider": "postgresql", "kind": "user_password", "name": "t",
                      "extra_data": fields(cluster, &cluster.password)});
    let outcome = credvault_probe::run(target(body), policy, TIMEOUT);
    assert_eq!(outcome.code, TestCode::RefusedByPolicy, "{outcome:?}");
}

#[test]
fn the_servers_own_address_is_refused_for_sftp() {
    let Some(sshd) = sshd() else { return };
    let own: SocketAddr = format!("127.0.0.1:{}", sshd.port).parse().unwrap();
    let policy = ProbePolicy::new(&loopback_settings(), &[own]);
    let outcome = test_with(password_login(&sshd, &sshd.password), policy, TIMEOUT);
    assert_eq!(outcome.code, TestCode::RefusedByPolicy, "{outcome:?}");
    assert!(
        outcome.message.contains("this credvault server"),
        "{outcome:?}"
    );
}

#[test]
fn a_denied_network_is_refused_by_policy() {
    let settings = ProbeSettings {
        deny: vec!["127.0.0.0/8".parse().unwrap()],
        ..loopback_settings()
    };
    let policy = ProbePolicy::new(&settings, &[]);
    let outcome = test_with(
        json!({"host": "localhost", "port": 22, "username": USER, "password": "denied-pw"}),
        policy,
        TIMEOUT,
    );
    assert_eq!(outcome.code, TestCode::RefusedByPolicy, "{outcome:?}");
}
