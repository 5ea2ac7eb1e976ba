//! `GET /api/v1/oauth/callback`: where the provider sends the browser back after an OAuth
//! connect's authorization request.
//!
//! It carries no bearer token (it is the browser's redirect): the pending connect is found by
//! its single-use `state` alone, and everything after that is scoped by the team the state was
//! bound to. An unknown, used or expired state is one `400` (`oauth-state-invalid`). A connect
//! started from the console answers a small page that sends the browser on to the credential's
//! console page, with the outcome as a one-time message; one started through the API answers
//! JSON (`200` with the status, or `400` `oauth-connect-failed` saying why in words).

use actix_web::{HttpResponse, get, web};
use credvault_domain::secret::SecretValue;
use credvault_persistence::ConnectReturn;
use credvault_usecases::credentials::{self, CallbackInput};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::dto::oauth_connect::ConnectResultResponse;
use crate::dto::problem::Problem;
use crate::error::ApiError;
use crate::openapi::responses::ServerErrors;
use crate::request_id::CurrentRequestId;
use crate::state::AppState;

/// What the provider's redirect carries (RFC 6749 §4.1.2 and §4.1.2.1); other parameters are
/// ignored.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The state of the connect's authorization request.
    pub state: Option<String>,
    /// The authorization code, on success.
    pub code: Option<String>,
    /// The provider's error code (`access_denied`, …), on failure.
    pub error: Option<String>,
    /// The provider's description of the error.
    pub error_description: Option<String>,
}

/// Complete an OAuth connect (the provider's redirect).
///
/// Not called by clients: the provider redirects the browser here with `code` and `state` (or
/// `error`, `error_description` and `state`). The state must be one a start issued, unused and
/// at most 10 minutes old; the code is then exchanged at the app's token URL with the PKCE
/// verifier, under the outbound policy, and the credential's `access_token`, `refresh_token` and
/// `expires_at` are stored (a new version and an `updated` event by whoever started), with status
/// `connected`, or `needs_page_selection` for a SharePoint credential without `site_url`.
#[utoipa::path(
    tag = "credentials",
    params(CallbackQuery),
    responses(
        (status = 200, description = "Connected (a connect started through the API); a connect started from the console answers an HTML page that sends the browser on to the credential's page", body = ConnectResultResponse, content(
            (ConnectResultResponse = "application/json"),
            (String = "text/html"),
        )),
        (status = 400, description = "The state is unknown, used or expired (`oauth-state-invalid`), or the connect failed (`oauth-connect-failed`: the provider's error or a refused code exchange, in words); nothing was stored", body = Problem, content_type = "application/problem+json"),
        ServerErrors,
    ),
    security(())
)]
#[get("/oauth/callback")]
pub(crate) async fn oauth_callback(
    CurrentRequestId(request_id): CurrentRequestId,
    state: web::Data<AppState>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, ApiError> {
    let CallbackQuery {
        state: connect_state,
        code,
        error,
        error_description,
    } = query.into_inner();
    let Some(connect_state) = connect_state.filter(|state| !state.is_empty()) else {
        return Err(ApiError::ConnectStateUnknown);
    };
    let input = match (error, code) {
        (Some(code), _) => CallbackInput::Error {
            code,
            description: error_description,
        },
        (None, Some(code)) if !code.is_empty() => CallbackInput::Code(SecretValue::new(code)),
        (None, _) => CallbackInput::Error {
            code: "invalid_request".to_owned(),
            description: Some("the redirect carried neither a code nor an error".to_owned()),
        },
    };
    let store = state.store.clone();
    let key_ring = state.key_ring.clone();
    let endpoint = state
        .refresher
        .as_ref()
        .map(|refresher| refresher.endpoint.clone())
        .ok_or_else(|| ApiError::internal("no token endpoint is configured"))?;
    let completed = web::block(move || {
        credentials::complete(
            &store,
            &key_ring,
            endpoint.as_ref(),
            &connect_state,
            input,
            request_id,
        )
    })
    .await??;
    if completed.return_to == ConnectReturn::Console {
        return Ok(crate::console::connect::landing(&completed));
    }
    match completed.outcome {
        Ok(status) => Ok(HttpResponse::Ok().json(ConnectResultResponse {
            team_id: *completed.team_id.as_uuid(),
            credential_id: *completed.credential_id.as_uuid(),
            status: status.into(),
        })),
        Err(reason) => Err(ApiError::ConnectFailed(reason)),
    }
}
