//! The SFTP connection test against a real OpenSSH server: password and key logins, wrong
//! credentials, a closed port, a port that never answers, and pinned host keys.

use std::net::TcpListener;
use std::time::Duration;

use credvault_domain::ids::{CredentialId, PrincipalId, TeamId};
use credvault_domain::patch::{NewCredential, new_credential};
use credvault_probe::testing::free_port;
use credvault_probe::testing::sshd::{Sshd, USER};
use credvault_probe::{ProbePolicy, TestCode, TestOutcome};
use serde_json::{Value, json};

use crate::support::{SHORT_TIMEOUT, TIMEOUT, loopback_policy, sshd, target};

pub(crate) fn test(extra_data: Value) -> TestOutcome {
    test_with(extra_data, loopback_policy(), TIMEOUT)
}

pub(crate) fn test_with(extra_data: Value, policy: ProbePolicy, timeout: Duration) -> TestOutcome {
    let kind = if extra_data.get("private_key").is_some() {
        "key_file"
    } else {
        "user_password"
    };
    let body = json!({"provider": "sftp", "kind": kind, "name": "t", "extra_data": extra_data});
    credvault_probe::run(target(body), policy, timeout)
}

pub(crate) fn password_login(sshd: &Sshd, password: &str) -> Value {
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
    let Some(sshd) = sshd() else { return };
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
    let Some(sshd) = sshd() else { return };
    let outcome = test(key_login(&sshd, &sshd.private_key, None));
    assert_eq!(outcome.code, TestCode::Ok, "{outcome:?}");
}

#[test]
fn a_protected_key_logs_in_with_its_passphrase() {
    let Some(sshd) = sshd() else { return };
    let outcome = test(key_login(
        &sshd,
        &sshd.protected_key,
        Some(&sshd.passphrase),
    ));
    assert_eq!(outcome.code, TestCode::Ok, "{outcome:?}");
}

#[test]
fn a_wrong_passphrase_is_auth_failed() {
    let Some(sshd) = sshd() else { return };
    let wrong = "not-the-passphrase-123";
    let outcome = test(key_login(&sshd, &sshd.protected_key, Some(wrong)));
    assert_eq!(outcome.code, TestCode::AuthFailed, "{outcome:?}");
    assert!(!outcome.message.contains(wrong));
}

#[test]
fn a_wrong_password_is_auth_failed_and_never_echoed() {
    let Some(sshd) = sshd() else { return };
    let wrong = "Wrong-Password-0815";
    let outcome = test(password_login(&sshd, wrong));
    assert_eq!(outcome.code, TestCode::AuthFailed, "{outcome:?}");
    assert!(!outcome.ok());
    assert!(!outcome.message.contains(wrong), "{outcome:?}");
    assert!(outcome.message.contains(&sshd.fingerprint), "{outcome:?}");
}

#[test]
fn an_unauthorized_key_is_auth_failed() {
    let Some(sshd) = sshd() else { return };
    let outcome = test(key_login(&sshd, &sshd.stranger_key, None));
    assert_eq!(outcome.code, TestCode::AuthFailed, "{outcome:?}");
    assert!(!outcome.message.contains("PRIVATE KEY"), "{outcome:?}");
}

#[test]
fn the_pinned_host_key_is_accepted() {
    let Some(sshd) = sshd() else { return };
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
    let Some(sshd) = sshd() else { return };
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
        loopback_policy(),
        SHORT_TIMEOUT,
    );
    assert_eq!(outcome.code, TestCode::Timeout, "{outcome:?}");
    drop(silent);
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
    let errors = credvault_probe::target_for(&created.credential, &created.secrets).unwrap_err();
    assert_eq!(errors.errors()[0].field, "extra_data.host_key_sha256");
}
