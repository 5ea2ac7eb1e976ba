//! No database password in `--help`, in the start-up JSON or in the log, wherever the URL holds it.

use credvault_persistence::testing::TestDb;

use crate::harness::{ServerProcess, new_key};
use crate::{credvault, json_output};

/// Secrets that a database URL can carry, each a marker that must never be printed.
const SECRETS: [&str; 4] = [
    "pw-in-userinfo",
    "pw-in-query",
    "pw-of-the-client-key",
    "path-of-the-password-file",
];

fn url_with_passwords(base: &str) -> String {
    let (scheme, rest) = base.split_once("://").unwrap();
    let rest = match rest.split_once('@') {
        Some((user, host)) => format!("{}:{}@{host}", user.split(':').next().unwrap(), SECRETS[0]),
        None => rest.to_owned(),
    };
    format!(
        "{scheme}://{rest}?password={}&sslpassword={}&passfile=/tmp/{}",
        SECRETS[1], SECRETS[2], SECRETS[3]
    )
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
    }
}

#[test]
fn help_never_shows_a_database_password_or_master_key() {
    let key = new_key("k1");
    let url = url_with_passwords("postgres://app@db.internal:5432/vault");
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["admin", "create-token", "--help"],
        vec!["keys", "rotate", "--help"],
    ] {
        let output = credvault(&url)
            .env("CREDVAULT_MASTER_KEYS", &key)
            .args(&args)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(help.contains("CREDVAULT_DATABASE_URL"), "{args:?}: {help}");
        assert_no_secret(&format!("{args:?}"), &help);
        assert!(
            !help.contains(key.split(':').nth(1).unwrap()),
            "{args:?} shows the key"
        );
    }
}

#[test]
fn postgres_start_up_output_and_log_never_show_a_url_password() {
    let Some(db) = TestDb::postgres() else { return };
    // The test server trusts local connections, so the passwords are accepted and unused.
    let url = url_with_passwords(db.url());
    let migrated = json_output(credvault(&url).arg("migrate"));
    assert_no_secret("migrate", &migrated.to_string());
    assert!(
        migrated["database"]
            .as_str()
            .unwrap()
            .contains("password=••••")
    );

    let mut command = credvault(&url);
    command.env("CREDVAULT_MASTER_KEYS", new_key("k1"));
    let server = ServerProcess::start(command);
    let started = server.started.to_string();
    assert_no_secret("the start-up JSON", &started);
    assert!(started.contains("sslpassword=••••"), "{started}");
    let log = server.stop();
    assert!(log.contains("credvault listening on"), "{log}");
    assert_no_secret("the log", &log);
}
