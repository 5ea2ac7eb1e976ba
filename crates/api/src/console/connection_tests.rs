//! Connection tests from the console: "Test connection" on a stored PostgreSQL or SFTP
//! credential's page, and "Test these values" on its edit form, which tests the form's values
//! before they are saved.
//!
//! Both run exactly what `POST …/integrations/{id}/test` runs: `credentials::prepare_test` (with
//! the form's PATCH as the body, for the values), the probe executor within the connection-test
//! rate limit and outbound policy, and `credentials::record_test`, which appends the `tested`
//! event and, for the stored values, records the outcome as the credential's health. The API's
//! test-with-body rule holds as well: a member whose values would send a stored secret to
//! changed connection fields is refused (the form says so in words), and nothing runs.
//!
//! The outcome (`ok`, `code`, the probe's scrubbed message) is shown; a form tested comes back
//! with what was typed into its non-secret inputs and nothing typed into a secret one.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use credvault_domain::authz::{Action, Denied};
use credvault_domain::ids::{CredentialId, RequestId};
use credvault_domain::patch::CredentialPatch;
use credvault_domain::validate::{FieldError, ValidationErrors};
use credvault_probe::{self as probe, TestOutcome};
use credvault_usecases::Error as UseCaseError;
use credvault_usecases::credentials::{self, Caller, PreparedTest, Subject};

use crate::console::credentials::{
    Target, Typed, extra_data_from_form, find, form_page, patch_from_form, schema_of,
};
use crate::console::error::ConsoleError;
use crate::console::form::read_checked_form;
use crate::console::service_accounts::error_rows;
use crate::console::session::SignedIn;
use crate::console::views::connection_tests::{ConnectionTestPage, TestResult};
use crate::console::views::{self, FormPage};
use crate::handlers::credentials::test::{log_outcome, run};
use crate::request_id::CurrentRequestId;
use crate::state::AppState;

/// `POST /console/credentials/{id}/test`: test the stored credential and show the outcome.
pub async fn test_stored(
    req: HttpRequest,
    signed_in: SignedIn,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    read_checked_form(&req, payload, &signed_in).await?;
    signed_in.authorize(Action::TestIntegration)?;
    let credential = find(&state, &signed_in, &path).await?;
    let page = |result: Option<TestResult>, errors: &ValidationErrors| ConnectionTestPage {
        chrome: signed_in.chrome(),
        id: credential.id.to_string(),
        name: credential.name.clone(),
        result,
        errors: error_rows(errors.errors()),
    };
    match test(&state, &signed_in, request_id, credential.id, None).await? {
        Tested::Ran(outcome) => Ok(views::render(
            StatusCode::OK,
            &page(Some(TestResult::from(&outcome)), &ValidationErrors::new()),
        )),
        Tested::Untestable(errors) => Ok(views::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(None, &errors),
        )),
        Tested::Refused => Err(ConsoleError::Api(crate::error::ApiError::Forbidden)),
    }
}

/// `POST /console/credentials/{id}/edit/test`: test the edit form's values without saving
/// them, and show the form again with the outcome.
pub async fn test_values(
    req: HttpRequest,
    signed_in: SignedIn,
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    let mut form = read_checked_form(&req, payload, &signed_in).await?;
    // Like the API's test with a body: a member may test, within the rule `prepare_test` keeps.
    signed_in.authorize(Action::TestIntegration)?;
    let credential = find(&state, &signed_in, &path).await?;
    let schema = schema_of(&credential)?;
    let opened_at = form
        .get("version")
        .and_then(|version| version.parse().ok())
        .unwrap_or(credential.version);
    let typed = Typed::from_form(&form, schema);
    let fields = extra_data_from_form(&mut form, schema, Some(&credential));
    drop(form);
    let target = Target::Edit(&credential, opened_at);
    let page = |errors: &[FieldError]| -> FormPage {
        form_page(
            &signed_in,
            schema,
            &target,
            &typed,
            errors,
            fields.typed_secret,
            false,
        )
    };
    if !fields.errors.is_empty() {
        return Ok(views::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&fields.errors),
        ));
    }
    let patch = match patch_from_form(
        &typed,
        fields.extra_data.clone(),
        fields.clear_secrets.clone(),
    ) {
        Ok(patch) => patch,
        Err(errors) => {
            return Ok(views::render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(errors.errors()),
            ));
        }
    };
    match test(&state, &signed_in, request_id, credential.id, Some(patch)).await? {
        Tested::Ran(outcome) => {
            let mut shown = page(&[]);
            shown.test_result = Some(TestResult::from(&outcome));
            Ok(views::render(StatusCode::OK, &shown))
        }
        Tested::Untestable(errors) => Ok(views::render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(errors.errors()),
        )),
        Tested::Refused => {
            let mut shown = page(&[]);
            shown.test_refused = true;
            Ok(views::render(StatusCode::FORBIDDEN, &shown))
        }
    }
}

/// What became of a test.
enum Tested {
    /// It ran; this is what it found (recorded).
    Ran(TestOutcome),
    /// The values cannot be tested, or the PATCH is invalid: nothing ran.
    Untestable(ValidationErrors),
    /// The values would send a stored secret elsewhere and the role may not: nothing ran.
    Refused,
}

/// The API's test of credential `id`, with `body` applied in memory when given.
async fn test(
    state: &AppState,
    signed_in: &SignedIn,
    request_id: RequestId,
    id: CredentialId,
    body: Option<CredentialPatch>,
) -> Result<Tested, ConsoleError> {
    let store = state.store.clone();
    let key_ring = state.key_ring.clone();
    let caller = Caller::new(&signed_in.principal, request_id);
    let (team_id, role) = (signed_in.team.id, signed_in.role);
    let prepared = web::block(move || {
        credentials::prepare_test(&store, &key_ring, team_id, id, role, caller, body.as_ref())
    })
    .await?;
    let PreparedTest { subject, pending } = match prepared {
        Ok(prepared) => prepared,
        Err(UseCaseError::Invalid(errors)) => return Ok(Tested::Untestable(errors)),
        Err(UseCaseError::Denied(Denied::Forbidden)) => return Ok(Tested::Refused),
        Err(error) => return Err(error.into()),
    };
    let Subject {
        credential: tested,
        secrets,
    } = subject;
    let target = match probe::target_for(&tested, &secrets) {
        Ok(target) => target,
        Err(errors) => return Ok(Tested::Untestable(errors)),
    };
    drop(secrets);
    let outcome = run(state, team_id, &signed_in.principal, target).await?;
    let what = if pending.tests_changes() {
        "patched"
    } else {
        "stored"
    };
    let store = state.store.clone();
    let (ok, message) = (outcome.ok(), outcome.message.clone());
    web::block(move || credentials::record_test(&store, pending, ok, message)).await??;
    log_outcome(&tested, &outcome, what);
    Ok(Tested::Ran(outcome))
}
