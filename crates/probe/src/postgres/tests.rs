//! Quoting and classification of the PostgreSQL connection test, without a server.

use std::time::Duration;

use credvault_domain::secret::SecretValue;

use crate::TestCode;
use crate::postgres::classify::classify;
use crate::postgres::conninfo::{Conninfo, ConninfoError, connect_timeout_seconds};

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
            TestCode::AuthFailed,
        ),
        (
            "connection to server at \"127.0.0.1\", port 5433 failed: fe_sendauth: no password supplied",
            TestCode::AuthFailed,
        ),
        (
            "FATAL:  no pg_hba.conf entry for host \"10.0.0.1\", user \"u\", database \"d\", SSL encryption",
            TestCode::AuthFailed,
        ),
        (
            "FATAL:  no pg_hba.conf entry for host \"10.0.0.1\", user \"u\", database \"d\", no encryption",
            TestCode::TlsRequired,
        ),
        (
            "FATAL:  role \"ghost\" does not exist",
            TestCode::AuthFailed,
        ),
        (
            "FATAL:  database \"nope\" does not exist",
            TestCode::DatabaseNotFound,
        ),
        (
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?",
            TestCode::Unreachable,
        ),
        (
            "connection to server at \"10.1.1.1\", port 5432 failed: No route to host",
            TestCode::Unreachable,
        ),
        ("timeout expired", TestCode::Timeout),
        (
            "connection to server at \"127.0.0.1\", port 5433 failed: server does not support SSL, but SSL was required",
            TestCode::TlsRequired,
        ),
        (
            "connection to server at \"h\", port 5432 failed: SSL error: certificate verify failed",
            TestCode::TlsFailed,
        ),
        (
            "could not translate host name \"nowhere.invalid\" to address: Name or service not known",
            TestCode::DnsFailed,
        ),
        (
            "connection to server at \"ssl-db\", port 1 failed: Connection refused",
            TestCode::Unreachable,
        ),
        ("FATAL:  sorry, too many clients already", TestCode::Error),
    ];
    for (message, code) in cases {
        assert_eq!(classify(message), code, "{message}");
    }
}
