//! The error responses that more than one operation declares, each status and wording once.
//!
//! A handler lists them by name beside its own responses, in status order:
//! `responses((status = 200, …), Unauthenticated, CredentialNotFound, ServerErrors)`.
//! A wording that only one operation uses stays in that handler's attribute, so the document reads
//! as before; two sets must not name the same status, because the later one would replace the
//! earlier one without a word.
//!
//! Every response here is an `application/problem+json` [`Problem`] (see [`crate::error`]). The
//! types are never built: `#[derive(IntoResponses)]` only reads their attributes. What the
//! middleware answers on every operation (`400` for a malformed request id, `408`, `429`, the
//! overload `503`) is added to the document afterwards by [`crate::openapi::document_middleware`].

use utoipa::IntoResponses;

use crate::dto::problem::Problem;
use crate::error::PROBLEM_JSON;

/// `500` and `503`: every operation under `/api/v1`.
#[derive(IntoResponses)]
pub enum ServerErrors {
    /// Anything the server did not expect; the cause is logged, never sent.
    #[response(status = 500, description = "Internal error", content_type = PROBLEM_JSON)]
    Internal(Problem),
    /// The database did not answer.
    #[response(status = 503, description = "Database unavailable", content_type = PROBLEM_JSON)]
    Unavailable(Problem),
}

/// `401`: every operation behind a bearer token.
#[derive(IntoResponses)]
#[response(status = 401, description = "No valid bearer token", content_type = PROBLEM_JSON)]
pub struct Unauthenticated(pub Problem);

/// `403`: operations that only a team's owners may call.
#[derive(IntoResponses)]
#[response(status = 403, description = "The caller is a member, not an owner", content_type = PROBLEM_JSON)]
pub struct OwnerOnly(pub Problem);

/// `404` of an operation on a team's collection (`…/teams/{team}/…`).
#[derive(IntoResponses)]
#[response(status = 404, description = "No such team, or the caller is not in it", content_type = PROBLEM_JSON)]
pub struct TeamNotFound(pub Problem);

/// `404` of an operation on one credential.
#[derive(IntoResponses)]
#[response(status = 404, description = "No such team or credential, or the caller is not in the team", content_type = PROBLEM_JSON)]
pub struct CredentialNotFound(pub Problem);

/// `404` of an operation on one service account or its collection of credentials.
#[derive(IntoResponses)]
#[response(status = 404, description = "No such team or service account, or the caller is not in the team", content_type = PROBLEM_JSON)]
pub struct ServiceAccountNotFound(pub Problem);

/// `404` of an operation on one credential of a service account.
#[derive(IntoResponses)]
#[response(status = 404, description = "No such team, service account or credential, or the caller is not in the team", content_type = PROBLEM_JSON)]
pub struct ServiceAccountCredentialNotFound(pub Problem);

/// `404` of an operation on one OAuth app.
#[derive(IntoResponses)]
#[response(status = 404, description = "No such team or OAuth app, or the caller is not in the team", content_type = PROBLEM_JSON)]
pub struct OAuthAppNotFound(pub Problem);

/// `404` of an operation on one user token.
#[derive(IntoResponses)]
#[response(status = 404, description = "No such team or token, or the caller is not in the team", content_type = PROBLEM_JSON)]
pub struct UserTokenNotFound(pub Problem);

/// `400` of a list operation: its query parameters (`limit`, `cursor`, filters).
#[derive(IntoResponses)]
#[response(status = 400, description = "A bad query parameter, listed in `errors`", content_type = PROBLEM_JSON)]
pub struct BadQuery(pub Problem);

/// `400` of a read that takes `expand` and nothing else that can be malformed.
#[derive(IntoResponses)]
#[response(status = 400, description = "A bad `expand` value", content_type = PROBLEM_JSON)]
pub struct BadExpand(pub Problem);

/// `400` of an operation with a JSON body.
#[derive(IntoResponses)]
#[response(status = 400, description = "Malformed JSON or header", content_type = PROBLEM_JSON)]
pub struct MalformedRequest(pub Problem);

/// `400` of an operation with a JSON body that also takes `expand`.
#[derive(IntoResponses)]
#[response(status = 400, description = "Malformed JSON, header or `expand` value", content_type = PROBLEM_JSON)]
pub struct MalformedRequestOrExpand(pub Problem);

/// `409` of an operation that takes `Idempotency-Key` (see [`crate::idempotency`]).
#[derive(IntoResponses)]
#[response(
    status = 409,
    description = "A request with this Idempotency-Key is still in progress; retry after `Retry-After` seconds to get its response",
    content_type = PROBLEM_JSON,
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying (1)")),
)]
pub struct IdempotencyKeyInProgress(pub Problem);

/// `413`: every operation with a body.
#[derive(IntoResponses)]
#[response(status = 413, description = "Body over 64 KiB", content_type = PROBLEM_JSON)]
pub struct BodyTooLarge(pub Problem);

/// `415`: operations whose body must be JSON.
#[derive(IntoResponses)]
#[response(status = 415, description = "Body is not JSON", content_type = PROBLEM_JSON)]
pub struct NotJson(pub Problem);

/// `422` of an operation whose body is checked field by field.
#[derive(IntoResponses)]
#[response(status = 422, description = "Invalid or unknown fields, listed in `errors`", content_type = PROBLEM_JSON)]
pub struct InvalidFields(pub Problem);

/// `422` of a credential write that takes `Idempotency-Key`.
#[derive(IntoResponses)]
#[response(status = 422, description = "Invalid fields, listed in `errors`; or an Idempotency-Key reused with another body", content_type = PROBLEM_JSON)]
pub struct InvalidFieldsOrReusedKey(pub Problem);
