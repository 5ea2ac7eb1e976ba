//! Service accounts, their client credentials and the token endpoint (SPEC §6), through HTTP.
//!
//! Service account tokens are sent by the `anonymous` client with an explicit `Authorization`
//! header, so the shared helpers need no new kind of client.

mod accounts;
mod concurrency;
mod credentials;
mod lifecycle;
mod permissions;
mod token;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestResponse};

/// The token endpoint.
pub(crate) const TOKEN_PATH: &str = "/api/v1/auth/token";

/// `/api/v1/teams/acme/service-accounts`.
pub(crate) fn accounts_path(app: &TestApp) -> String {
    format!("/api/v1/teams/{}/service-accounts", app.team.label)
}

/// `/api/v1/teams/acme/service-accounts/{id}`.
pub(crate) fn account_path(app: &TestApp, account_id: &str) -> String {
    format!("{}/{account_id}", accounts_path(app))
}

/// `/api/v1/teams/acme/service-accounts/{id}/credentials`.
pub(crate) fn credentials_path(app: &TestApp, account_id: &str) -> String {
    format!("{}/credentials", account_path(app, account_id))
}

/// `/api/v1/teams/acme/service-accounts/{id}/credentials/{credential_id}`.
pub(crate) fn credential_path(app: &TestApp, account_id: &str, credential_id: &str) -> String {
    format!("{}/{credential_id}", credentials_path(app, account_id))
}

/// A string field of a JSON body.
pub(crate) fn text(body: &Value, field: &str) -> String {
    body[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is not a string: {body}"))
        .to_owned()
}

/// Creates a service account of `acme` as its owner and returns the body.
pub(crate) fn create_account(app: &TestApp, name: &str, role: &str) -> Value {
    let response = app.owner.post_json(
        &accounts_path(app),
        &json!({"name": name, "description": "made by a test", "role": role}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()
}

/// Creates a client credential of an `acme` account as its owner and returns the body, which
/// holds the only copy of `client_secret`.
pub(crate) fn create_client_credential(app: &TestApp, account_id: &str, name: &str) -> Value {
    let response = app.owner.post_json(
        &credentials_path(app, account_id),
        &json!({"name": name, "description": "for the test"}),
    );
    assert_eq!(response.status, 201, "{}", response.body);
    response.json()
}

/// An `Authorization: Basic` value: `client_id:client_secret`, base64.
pub(crate) fn basic(client_id: &str, client_secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{client_id}:{client_secret}"))
    )
}

/// Every byte as `%XX`: what a client that form-url-encodes everything would send.
pub(crate) fn percent_encode_all(text: &str) -> String {
    text.bytes().map(|byte| format!("%{byte:02X}")).collect()
}

/// `POST /api/v1/auth/token` with a form body and extra headers, without a bearer token. The
/// content type is a plain form unless `headers` name another.
pub(crate) fn token_request(app: &TestApp, form: &str, headers: &[(&str, &str)]) -> TestResponse {
    let mut all_headers = headers.to_vec();
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
    {
        all_headers.push(("content-type", "application/x-www-form-urlencoded"));
    }
    app.anonymous
        .send("POST", TOKEN_PATH, &all_headers, Some(form.as_bytes()))
}

/// The client credentials grant with HTTP Basic client authentication.
pub(crate) fn exchange_basic(app: &TestApp, client_id: &str, client_secret: &str) -> TestResponse {
    let authorization = basic(client_id, client_secret);
    token_request(
        app,
        "grant_type=client_credentials",
        &[("authorization", &authorization)],
    )
}

/// The client credentials grant with the client id and secret in the form body.
pub(crate) fn exchange_in_body(
    app: &TestApp,
    client_id: &str,
    client_secret: &str,
) -> TestResponse {
    token_request(
        app,
        &format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={client_secret}"
        ),
        &[],
    )
}

/// A successful exchange's access token.
pub(crate) fn access_token(app: &TestApp, client_id: &str, client_secret: &str) -> String {
    let response = exchange_basic(app, client_id, client_secret);
    assert_eq!(response.status, 200, "{}", response.body);
    text(&response.json(), "access_token")
}

/// A request carrying a service account's access token.
pub(crate) fn with_token(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> TestResponse {
    let authorization = format!("Bearer {token}");
    match body {
        None => app
            .anonymous
            .send(method, path, &[("authorization", &authorization)], None),
        Some(body) => {
            let bytes = serde_json::to_vec(body).unwrap();
            app.anonymous.send(
                method,
                path,
                &[
                    ("authorization", &authorization),
                    ("content-type", "application/json"),
                ],
                Some(&bytes),
            )
        }
    }
}

/// A service account of `acme` with one client credential, signed in.
pub(crate) struct SignedIn {
    /// The account's body.
    pub(crate) account: Value,
    /// The credential's create body (with `client_secret`).
    pub(crate) credential: Value,
    /// An access token issued through the credential.
    pub(crate) token: String,
}

impl SignedIn {
    /// Creates the account with `role` and a credential, and exchanges it for a token.
    pub(crate) fn new(app: &TestApp, role: &str) -> SignedIn {
        let account = create_account(app, &format!("{role}-robot"), role);
        let credential = create_client_credential(app, &text(&account, "id"), "main");
        let token = access_token(
            app,
            &text(&credential, "client_id"),
            &text(&credential, "client_secret"),
        );
        SignedIn {
            account,
            credential,
            token,
        }
    }

    /// The account's id.
    pub(crate) fn account_id(&self) -> String {
        text(&self.account, "id")
    }

    /// The credential's id.
    pub(crate) fn credential_id(&self) -> String {
        text(&self.credential, "id")
    }
}

/// A 404 problem body without its request id, which differs on every request.
pub(crate) fn not_found_body(response: &TestResponse) -> Value {
    let mut problem = response.problem(404);
    problem.as_object_mut().unwrap().remove("request_id");
    problem
}

/// A description of `chars` characters.
pub(crate) fn description_of(chars: usize) -> String {
    "d".repeat(chars)
}
