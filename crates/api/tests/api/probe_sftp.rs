//! The SFTP connection test against a real OpenSSH server: password and key logins, wrong
//! credentials, a closed port, a port that never answers, and pinned host keys.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use credvault_api::Settings;
use credvault_api::probe::policy::ProbePolicy;
use credvault_api::probe::{self, Target, TestCode, TestOutcome};
use credvault_domain::ids::{CredentialId, PrincipalId, TeamId};
use credvault_domain::patch::{NewCredential, new_credential};
use credvault_persistence::testing::cluster::free_port;
use serde_json::{Value, json};

use crate::helpers::loopback_probe_settings;

use crate::sshd::{Sshd, USER};

/// The bound of tests that should answer: generous, so a busy machine does not make them fail.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);
/// The bound of the never-answering cases, which wait for it.
pub(crate) const SHORT_TIMEOUT: Duration = Duration::from_secs(2);

/// The test target of a create body, as the candidate endpoint builds it.
pub(crate) fn target(body: Value) -> Target {
    let input = NewCredential::from_json(body).unwrap();
    let created = new_credential(
        &input,
        CredentialId::new(),
        TeamId::new(),
        PrincipalId::new(),
        chrono::Utc::now(),
    )
    .unwrap();
    probe::target_for(&created.credential, &created.secrets).unwrap()
}

fn test(extra_data: Value) -> TestOutcome {
    test_with(
        extra_data,
        ProbePolicy::from_settings(&loopback_probe_settings()),
        TIMEOUT,
    )
}

fn test_with(extra_data: Value, policy: ProbePolicy, timeout: Duration) -> TestOutcome {
    let kind = if extra_data.get("private_key").is_some() {
        "key_file"
    } else {
        "user_password"
    };
    let body = json!({"provider": "sftp", "kind": kind, "name": "t", "extra_data": extra_data});
    probe::run(target(body), policy, timeout)
}

fn password_login(sshd: &Sshd, password: &str) -> Value {
    json!({"host": "127.0.0.1", "port": sshd.port, "username": USER, "password": password})
}

fn key_login(sshd: &Sshd, key: &str, passphrase: Option<&str>) -> Value {
    let mut extra_data = json!({
        "host": "127.0.0.1", "port": sshd.port, "username": USER, "private_key": key
    });
    if let Some(passphrase) = passphrase {
        extra_data["passphrase"] = json!(passphrase);
    }
    extra_data
}

#[test]
fn the_right_password_logs_in_and_lists_the_home_directory() {
    let Some(sshd) = Sshd::start() else { return };
    let outcome = test(password_login(&sshd, &sshd.password));
    assert_eq!(outcome.code, TestCode::Ok, "{outcome:?}");
    assert!(outcome.ok());
    assert!(
        outcome.message.contains("listed the home directory"),
        "{outcome:?}"
    );
    assert!(outcome.message.contains(&sshd.fingerprint), "{outcome:?}");
    assert!(outcome.message.contains("not pinned"), "{outcome:?}");
    assert!(!outcome.message.contains(&sshd.password));
}

#[test]
fn an_authorized_key_logs_in() {
    let Some(sshd) = Sshd::start() else { return };
    let outcome = test(key_login(&sshd, &sshd.private_key, None));
    assert_eq!(outcome.code, TestCode::Ok, "{outcome:?}");
}

#[test]
fn a_protected_key_logs_in_with_its_passphrase() {
    let Some(sshd) = Sshd::start() else { return };
    let outcome = test(key_login(
        &sshd,
        &sshd.protected_key,
        Some(&sshd.passphrase),
    ));
    assert_eq!(outcome.code, TestCode::Ok, "{outcome:?}");
}

#[test]
fn a_wrong_passphrase_is_auth_failed() {
    let Some(sshd) = Sshd::start() else { return };
    let wrong = "not-the-passphrase-123";
    let outcome = test(key_login(&sshd, &sshd.protected_key, Some(wrong)));
    assert_eq!(outcome.code, TestCode::AuthFailed, "{outcome:?}");
    assert!(!outcome.message.contains(wrong));
}

#[test]
fn a_wrong_password_is_auth_failed_and_never_echoed() {
    let Some(sshd) = Sshd::start() else { return };
    let wrong = "Wrong-Password-0815";
    let outcome = test(password_login(&sshd, wrong));
    assert_eq!(outcome.code, TestCode::AuthFailed, "{outcome:?}");
    assert!(!outcome.ok());
    assert!(!outcome.message.contains(wrong), "{outcome:?}");
    assert!(outcome.message.contains(&sshd.fingerprint), "{outcome:?}");
}

#[test]
fn an_unauthorized_key_is_auth_failed() {
    let Some(sshd) = Sshd::start() else { return };
    let outcome = test(key_login(&sshd, &sshd.stranger_key, None));
    assert_eq!(outcome.code, TestCode::AuthFailed, "{outcome:?}");
    assert!(!outcome.message.contains("PRIVATE KEY"), "{outcome:?}");
}

#[test]
fn the_pinned_host_key_is_accepted() {
    let Some(sshd) = Sshd::start() else { return };
    let mut extra_data = password_login(&sshd, &sshd.password);
    extra_data["host_key_sha256"] = json!(sshd.fingerprint);
    let outcome = test(extra_data);
    assert_eq!(outcome.code, TestCode::Ok, "{outcome:?}");
    assert!(
        outcome.message.contains("matches the pinned"),
        "{outcome:?}"
    );
}

#[test]
fn another_host_key_is_a_mismatch_and_no_password_is_sent() {
    let Some(sshd) = Sshd::start() else { return };
    let mut extra_data = password_login(&sshd, &sshd.password);
    let pinned = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    extra_data["host_key_sha256"] = json!(pinned);
    let outcome = test(extra_data);
    assert_eq!(outcome.code, TestCode::HostKeyMismatch, "{outcome:?}");
    assert!(outcome.message.contains(&sshd.fingerprint), "{outcome:?}");
    assert!(outcome.message.contains(pinned), "{outcome:?}");
    let log = sshd.log();
    assert!(!log.contains("Accepted password"), "{log}");
    assert!(!log.contains("Failed password"), "{log}");
}

#[test]
fn a_closed_port_is_unreachable() {
    let outcome = test(json!({
        "host": "127.0.0.1", "port": free_port(), "username": USER, "password": "closed-port-pw"
    }));
    assert_eq!(outcome.code, TestCode::Unreachable, "{outcome:?}");
}

#[test]
fn a_port_that_never_answers_is_a_timeout() {
    // Connections complete in the kernel's backlog; nobody ever sends an SSH banner.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let outcome = test_with(
        json!({"host": "127.0.0.1", "port": port, "username": USER, "password": "silent-pw"}),
        ProbePolicy::from_settings(&loopback_probe_settings()),
        SHORT_TIMEOUT,
    );
    assert_eq!(outcome.code, TestCode::Timeout, "{outcome:?}");
    drop(silent);
}

#[test]
fn the_servers_own_address_is_refused_by_policy() {
    let Some(sshd) = Sshd::start() else { return };
    let own: SocketAddr = format!("127.0.0.1:{}", sshd.port).parse().unwrap();
    let policy = ProbePolicy::from_settings(&Settings {
        listen_addresses: vec![own],
        ..loopback_probe_settings()
    });
    let outcome = test_with(password_login(&sshd, &sshd.password), policy, TIMEOUT);
    assert_eq!(outcome.code, TestCode::RefusedByPolicy, "{outcome:?}");
    assert!(
        outcome.message.contains("this credvault server"),
        "{outcome:?}"
    );
}

#[test]
fn a_denied_network_is_refused_by_policy() {
    let policy = ProbePolicy::from_settings(&Settings {
        probe_deny: vec!["127.0.0.0/8".parse().unwrap()],
        ..loopback_probe_settings()
    });
    let outcome = test_with(
        json!({"host": "localhost", "port": 22, "username": USER, "password": "denied-pw"}),
        policy,
        TIMEOUT,
    );
    assert_eq!(outcome.code, TestCode::RefusedByPolicy, "{outcome:?}");
}

#[test]
fn a_malformed_pinned_key_is_a_field_error() {
    let body = json!({"provider": "sftp", "kind": "user_password", "name": "t", "extra_data": {
        "host": "127.0.0.1", "username": USER, "password": "x-pass", "host_key_sha256": "MD5:aa"
    }});
    let input = NewCredential::from_json(body).unwrap();
    let created = new_credential(
        &input,
        CredentialId::new(),
        TeamId::new(),
        PrincipalId::new(),
        chrono::Utc::now(),
    )
    .unwrap();
    let errors = probe::target_for(&created.credential, &created.secrets).unwrap_err();
    assert_eq!(errors.errors()[0].field, "extra_data.host_key_sha256");
}
