//! Quoting, classification and scrubbing of the PostgreSQL connection test, without a server.

use std::time::Duration;

use credvault_domain::secret::SecretValue;

use super::*;

#[test]
fn values_are_quoted_and_escaped() {
    let mut conninfo = Conninfo::new();
    conninfo.set("host", "db.internal").unwrap();
    conninfo.set("dbname", "it's \\ odd").unwrap();
    conninfo
        .set_secret("password", SecretValue::from("p'w d"))
        .unwrap();
    let text = conninfo.render(Duration::from_millis(2500));
    assert_eq!(
        text.expose(),
        "host='db.internal' dbname='it\\'s \\\\ odd' password='p\\'w d' connect_timeout='3' \
         tcp_user_timeout='2500' passfile='/dev/null/credvault-probe-none' sslcert='/dev/null/credvault-probe-none' \
         sslkey='/dev/null/credvault-probe-none' gssencmode='disable'"
    );
}

#[test]
fn a_later_value_replaces_an_earlier_one() {
    let mut conninfo = Conninfo::new();
    conninfo.set("port", "1").unwrap();
    conninfo.set("port", "2").unwrap();
    assert_eq!(conninfo.get("port"), Some("2"));
    assert!(
        conninfo
            .render(Duration::from_secs(5))
            .expose()
            .starts_with("port='2' ")
    );
}

#[test]
fn reserved_and_malformed_keywords_are_refused() {
    let mut conninfo = Conninfo::new();
    assert_eq!(
        conninfo.set("passfile", "/root/.pgpass"),
        Err(ConninfoError::Reserved("passfile".to_owned()))
    );
    assert_eq!(
        conninfo.set("host x", "y"),
        Err(ConninfoError::Malformed("host x".to_owned()))
    );
    assert!(conninfo.set("", "y").is_err());
}

#[test]
fn debug_masks_secrets() {
    let mut conninfo = Conninfo::new();
    conninfo
        .set_secret("password", SecretValue::from("hunter2"))
        .unwrap();
    assert!(!format!("{conninfo:?}").contains("hunter2"));
}

#[test]
fn connect_timeout_is_whole_seconds_and_at_least_two() {
    assert_eq!(connect_timeout_seconds(Duration::from_millis(100)), 2);
    assert_eq!(connect_timeout_seconds(Duration::from_secs(2)), 2);
    assert_eq!(connect_timeout_seconds(Duration::from_millis(10_001)), 11);
}

#[test]
fn libpq_messages_are_classified() {
    let cases = [
        (
            "connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  password authentication failed for user \"probe\"",
            FailureKind::AuthFailed,
        ),
        (
            "connection to server at \"127.0.0.1\", port 5433 failed: fe_sendauth: no password supplied",
            FailureKind::AuthFailed,
        ),
        (
            "FATAL:  no pg_hba.conf entry for host \"10.0.0.1\", user \"u\", database \"d\", SSL encryption",
            FailureKind::AuthFailed,
        ),
        (
            "FATAL:  no pg_hba.conf entry for host \"10.0.0.1\", user \"u\", database \"d\", no encryption",
            FailureKind::TlsRequired,
        ),
        (
            "FATAL:  role \"ghost\" does not exist",
            FailureKind::AuthFailed,
        ),
        (
            "FATAL:  database \"nope\" does not exist",
            FailureKind::DatabaseNotFound,
        ),
        (
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
            FailureKind::Unreachable,
        ),
        (
            "connection to server at \"10.1.1.1\", port 5432 failed: No route to host",
            FailureKind::Unreachable,
        ),
        ("timeout expired", FailureKind::Timeout),
        (
            "connection to server at \"127.0.0.1\", port 5433 failed: server does not support SSL, but SSL was required",
            FailureKind::TlsRequired,
        ),
        (
            "connection to server at \"h\", port 5432 failed: SSL error: certificate verify failed",
            FailureKind::TlsFailed,
        ),
        (
            "could not translate host name \"nowhere.invalid\" to address: Name or service not known",
            FailureKind::DnsFailed,
        ),
        (
            "connection to server at \"ssl-db\", port 1 failed: Connection refused",
            FailureKind::Unreachable,
        ),
        (
            "FATAL:  sorry, too many clients already",
            FailureKind::Error,
        ),
    ];
    for (message, kind) in cases {
        assert_eq!(classify(message), kind, "{message}");
    }
}

#[test]
fn messages_are_collapsed_and_scrubbed() {
    let secret = SecretValue::from("s3cr3t-pw");
    let message = scrub(
        "failed:\n\tpassword 's3cr3t-pw'   rejected",
        &[&secret],
        "fallback",
    );
    assert_eq!(message, "failed: password '••••' rejected");
}

#[test]
fn a_short_secret_in_a_message_replaces_the_whole_message() {
    let secret = SecretValue::from("ab");
    let message = scrub("role ab failed", &[&secret], "the server refused the login");
    assert_eq!(message, "the server refused the login");
    assert_eq!(scrub("nothing here", &[&secret], "x"), "nothing here");
}

#[test]
fn long_messages_are_truncated() {
    let message = scrub(&"x".repeat(1000), &[], "fallback");
    assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
    assert!(message.ends_with('…'));
}

#[test]
fn secrets_with_whitespace_are_scrubbed_raw_and_collapsed() {
    let pem = SecretValue::from(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nBG5vbmUAAAAE\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    let tabbed = SecretValue::from("pass\tword  with spaces");
    let secrets = [&pem, &tabbed];
    for message in [
        // Echoed as given.
        format!("bad key {}; then", pem.expose()),
        format!("password '{}' refused", tabbed.expose()),
        // Echoed with the whitespace already collapsed (as a one-line log would).
        "bad key -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA BG5vbmUAAAAE -----END OPENSSH PRIVATE KEY-----; then".to_owned(),
        "password 'pass word with spaces' refused".to_owned(),
        // Collapsed differently: line breaks as tabs, doubled spaces.
        "key -----BEGIN OPENSSH PRIVATE KEY-----\tb3BlbnNzaC1rZXktdjEAAAAA  BG5vbmUAAAAE\t-----END OPENSSH PRIVATE KEY----- x".to_owned(),
    ] {
        let scrubbed = scrub(&message, &secrets, "failed");
        for part in ["b3BlbnNzaC1rZXktdjEAAAAA", "BG5vbmUAAAAE", "with spaces"] {
            assert!(!scrubbed.contains(part), "{message:?} -> {scrubbed:?}");
        }
        assert!(scrubbed.contains(MASK), "{scrubbed:?}");
    }
}
