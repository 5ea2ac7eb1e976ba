//! `credvault admin create-token | list-tokens | revoke-token`: user tokens from the command line,
//! on both backends.

use chrono::Utc;
use credvault_crypto::TokenHash;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{Store, StoreOptions};
use serde_json::Value;

use crate::{credvault, json_output};

/// Whether the store accepts `token` now.
fn authenticates(store: &Store, token: &str) -> bool {
    store
        .authenticate(&TokenHash::of(token).to_hex(), Utc::now())
        .unwrap()
        .is_some()
}

fn ids(listed: &Value) -> Vec<String> {
    listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

fn tokens_are_listed_and_revoked_by_id(url: &str) {
    let team = json_output(credvault(url).args(["admin", "create-team", "--label", "acme"]));
    let issued = json_output(credvault(url).args([
        "admin",
        "create-token",
        "--team",
        "acme",
        "--role",
        "member",
        "--name",
        "nightly job",
        "--expires-in",
        "3600",
    ]));
    let token = issued["token"].as_str().unwrap().to_owned();
    let token_id = issued["token_id"].as_str().unwrap().to_owned();
    assert_eq!(issued["principal_id"], issued["token_id"]);
    assert_eq!(issued["name"], "nightly job");
    assert!(issued["expires_at"].is_string(), "{issued}");

    let listed = json_output(credvault(url).args(["admin", "list-tokens", "--team", "acme"]));
    assert_eq!(
        ids(&listed),
        [team["token_id"].as_str().unwrap(), &token_id]
    );
    let text = listed.to_string();
    let hash = TokenHash::of(&token).to_hex();
    assert!(!text.contains(&token) && !text.contains(&hash), "{text}");
    assert!(!text.contains(team["owner_token"].as_str().unwrap()));

    let store = Store::open(url, &StoreOptions::default()).unwrap();
    assert!(authenticates(&store, &token));
    let revoked =
        json_output(credvault(url).args(["admin", "revoke-token", "--token-id", &token_id]));
    assert_eq!(revoked["revoked"], true);
    assert_eq!(revoked["token_id"], token_id.as_str());
    assert_eq!(revoked["team_id"], team["team_id"]);
    assert!(!authenticates(&store, &token));
    assert!(authenticates(&store, team["owner_token"].as_str().unwrap()));
    let listed = json_output(credvault(url).args(["admin", "list-tokens", "--team", "acme"]));
    assert_eq!(ids(&listed), [team["token_id"].as_str().unwrap()]);

    let again = credvault(url)
        .args(["admin", "revoke-token", "--token-id", &token_id])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(again.stdout.is_empty(), "no JSON on failure");
    assert!(String::from_utf8_lossy(&again.stderr).contains("no user token"));
    let malformed = credvault(url)
        .args(["admin", "revoke-token", "--token-id", "nope"])
        .output()
        .unwrap();
    assert!(!malformed.status.success());
    assert!(String::from_utf8_lossy(&malformed.stderr).contains("invalid token id"));
}

#[test]
fn sqlite_tokens_are_listed_and_revoked_by_id() {
    let dir = tempfile::tempdir().unwrap();
    tokens_are_listed_and_revoked_by_id(&format!(
        "sqlite://{}",
        dir.path().join("vault.db").display()
    ));
}

#[test]
fn postgres_tokens_are_listed_and_revoked_by_id() {
    let Some(db) = TestDb::postgres() else { return };
    tokens_are_listed_and_revoked_by_id(db.url());
}
