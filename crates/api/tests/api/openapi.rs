//! `docs/openapi.json` is generated: this test keeps it equal to `openapi_document()`.
//!
//! When the file is stale the test rewrites it. With `UPDATE_OPENAPI=1` (what
//! `cargo xtask openapi` sets) that is the point and the test passes; without it the test also
//! fails, so a stale file never passes CI unnoticed: commit the rewritten file.

use std::path::Path;

#[test]
fn openapi_json_is_fresh() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    let mut expected = credvault_api::openapi_document().to_pretty_json().unwrap();
    expected.push('\n');
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    if actual == expected {
        return;
    }
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, &expected).unwrap();
    let updating = std::env::var("UPDATE_OPENAPI").is_ok_and(|value| value == "1");
    assert!(
        updating,
        "docs/openapi.json was stale and has been rewritten; review and commit it \
         (or run `cargo xtask openapi`)"
    );
}

#[test]
fn every_operation_is_documented_with_its_errors() {
    let document = serde_json::to_value(credvault_api::openapi_document()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let mut operation_ids = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let id = operation["operationId"].as_str().unwrap();
            operation_ids.push(id.to_owned());
            let responses = operation["responses"].as_object().unwrap();
            if path == "/api/v1/auth/token" {
                // OAuth 2.0: client authentication instead of a bearer token, RFC 6749 errors.
                for status in ["200", "400", "401", "413", "500", "503"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
                assert_eq!(
                    operation["security"],
                    serde_json::json!([{}, {"client_basic": []}])
                );
                let content = operation["requestBody"]["content"].as_object().unwrap();
                assert!(content.contains_key("application/x-www-form-urlencoded"));
                continue;
            }
            if path == "/api/v1/oauth/callback" {
                // The provider's redirect of a browser: found by its state, no bearer token.
                for status in ["200", "400", "500", "503"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
                assert_eq!(operation["security"], serde_json::json!([{}]));
                continue;
            }
            if path.starts_with("/api/") {
                for status in ["401", "404", "500", "503"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path} lacks {status}"
                    );
                }
                assert_eq!(operation["security"][0]["bearer"], serde_json::json!([]));
            }
            if method == "patch" || method == "post" {
                assert!(responses.contains_key("403"), "{method} {path} lacks 403");
                // An operation that reads no body (a use) cannot answer the body's errors.
                if operation.get("requestBody").is_some() {
                    for status in ["400", "413", "415", "422"] {
                        assert!(
                            responses.contains_key(status),
                            "{method} {path} lacks {status}"
                        );
                    }
                }
            }
        }
    }
    operation_ids.sort();
    assert_eq!(
        operation_ids,
        [
            "create_credential",
            "create_grant",
            "create_oauth_app",
            "create_service_account",
            "create_service_account_credential",
            "create_user_token",
            "delete_credential",
            "delete_grant",
            "delete_oauth_app",
            "delete_service_account",
            "delete_service_account_credential",
            "delete_user_token",
            "get_credential",
            "get_oauth_app",
            "get_service_account",
            "get_service_account_credential",
            "get_user_token",
            "healthz",
            "issue_token",
            "list_credential_events",
            "list_credential_grants",
            "list_credentials",
            "list_oauth_apps",
            "list_service_account_credentials",
            "list_service_account_grants",
            "list_service_accounts",
            "list_user_tokens",
            "metrics",
            "oauth_callback",
            "readyz",
            "start_oauth_connect",
            "test_candidate_credential",
            "test_credential",
            "update_credential",
            "update_oauth_app",
            "update_service_account",
            "update_service_account_credential",
            "use_credential",
        ]
    );
    let patch = &document["paths"]["/api/v1/teams/{team}/integrations/{credential_id}"]["patch"];
    let content = patch["requestBody"]["content"].as_object().unwrap();
    assert!(content.contains_key("application/json"));
    assert!(content.contains_key("application/merge-patch+json"));
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[test]
fn every_schema_reference_resolves() {
    let document = serde_json::to_value(credvault_api::openapi_document()).unwrap();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let text = document.to_string();
    let prefix = "\"#/components/schemas/";
    for (start, _) in text.match_indices(prefix) {
        let rest = &text[start + prefix.len()..];
        let name = &rest[..rest.find('"').unwrap()];
        assert!(schemas.contains_key(name), "dangling reference to {name}");
    }
}

/// The request DTOs are documentation only: handlers parse bodies with the domain's parsers,
/// which refuse every key outside their `FIELDS`. So each JSON request body the document
/// describes must list exactly the fields its parser accepts, or the two have drifted.
#[test]
fn every_json_request_schema_lists_exactly_the_fields_its_parser_accepts() {
    use credvault_domain::patch::{CredentialPatch, NewCredential};
    use credvault_domain::service_account::input::{
        NamePatch, NewClientCredential, NewServiceAccount,
    };
    use credvault_domain::token::NewUserTokenInput;

    let parsers: [(&str, &[&str]); 10] = [
        ("CreateCredential", &NewCredential::FIELDS),
        ("PatchCredential", &CredentialPatch::FIELDS),
        ("CreateServiceAccount", &NewServiceAccount::FIELDS),
        ("PatchServiceAccount", &NamePatch::FIELDS),
        (
            "CreateServiceAccountCredential",
            &NewClientCredential::FIELDS,
        ),
        ("PatchServiceAccountCredential", &NamePatch::FIELDS),
        ("CreateUserToken", &NewUserTokenInput::FIELDS),
        ("CreateGrant", &credvault_domain::grant::NewGrant::FIELDS),
        (
            "CreateOAuthApp",
            &credvault_domain::oauth_app::NewOAuthApp::FIELDS,
        ),
        (
            "PatchOAuthApp",
            &credvault_domain::oauth_app::OAuthAppPatch::FIELDS,
        ),
    ];
    let document = serde_json::to_value(credvault_api::openapi_document()).unwrap();
    let schemas = document["components"]["schemas"].as_object().unwrap();
    let mut checked = std::collections::BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(content) = operation["requestBody"]["content"].as_object() else {
                continue;
            };
            for (media_type, body) in content {
                if !media_type.contains("json") {
                    continue;
                }
                // A `$ref`, or a `oneOf` of `null` and a `$ref` (an optional body).
                let schema = &body["schema"];
                let reference = schema["$ref"].as_str().or_else(|| {
                    schema["oneOf"]
                        .as_array()?
                        .iter()
                        .find_map(|choice| choice["$ref"].as_str())
                });
                let name = reference
                    .and_then(|reference| reference.strip_prefix("#/components/schemas/"))
                    .unwrap_or_else(|| panic!("{method} {path} {media_type}: no schema reference"));
                let (_, fields) = parsers
                    .iter()
                    .find(|(schema_name, _)| *schema_name == name)
                    .unwrap_or_else(|| {
                        panic!("{method} {path}: no parser is known for the request body {name}")
                    });
                let mut documented: Vec<&str> = schemas[name]["properties"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(String::as_str)
                    .collect();
                documented.sort_unstable();
                let mut parsed = fields.to_vec();
                parsed.sort_unstable();
                assert_eq!(
                    documented, parsed,
                    "{method} {path}: the schema {name} and its parser disagree"
                );
                checked.insert(name);
            }
        }
    }
    let known: std::collections::BTreeSet<&str> = parsers.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        checked, known,
        "a parser's schema is not used by any request body"
    );
}
