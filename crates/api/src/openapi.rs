//! The OpenAPI document: [`ApiDoc`] holds what no handler says (info, security scheme, tags);
//! the paths and schemas are collected from the handlers by `utoipa-actix-web` when the routes
//! are registered (see [`crate::openapi_document`]).
//!
//! Three things complete what the handlers' `#[utoipa::path]` attributes say:
//!
//! - [`responses`]: the error responses that several operations share, declared once and listed
//!   by name in the handlers' attributes;
//! - [`document_middleware`]: what the middleware answers on every operation (request ids,
//!   floods), added in one walk over the finished document;
//! - `SecurityAddon`: the security schemes.

pub mod responses;

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    Content, ContentBuilder, KnownFormat, ObjectBuilder, Ref, RefOr, Required, ResponseBuilder,
    SchemaFormat, Type,
};
use utoipa::{Modify, OpenApi};

use crate::dto::problem::Problem;
use crate::error::PROBLEM_JSON;
use crate::throttle;

/// The static part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "credvault",
        description = "A multi-tenant vault for integration credentials. Every error is \
            `application/problem+json` (RFC 9457). Every request may carry `X-Client-Request-ID` \
            (a UUID); every response carries `X-Request-ID`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(Problem)),
    modifiers(&SecurityAddon),
    tags(
        (name = "credentials", description = "Integration credentials of a team; secrets are write-only"),
        (name = "service-accounts", description = "Service accounts of a team and the client credentials they sign in with"),
        (name = "oauth-apps", description = "OAuth apps of a team: the OAuth 2.0 clients of its OAuth credentials; client secrets are write-only"),
        (name = "tokens", description = "User tokens of a team: issued, listed and revoked by owners; each shown once"),
        (name = "auth", description = "OAuth 2.0 token endpoint: client credentials for a bearer token"),
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

/// Adds the bearer token scheme and the HTTP Basic client authentication of the token endpoint.
struct SecurityAddon;

impl Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some(
            "An API token issued by a team owner or the admin CLI: `Authorization: Bearer <token>`"
                .to_owned(),
        );
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        let mut client_basic = Http::new(HttpAuthScheme::Basic);
        client_basic.description = Some(
            "A service account credential at `POST /api/v1/auth/token`: HTTP Basic with \
             `client_id:client_secret`, each form-url-encoded first (RFC 6749 §2.3.1)"
                .to_owned(),
        );
        components.add_security_scheme("client_basic", SecurityScheme::Http(client_basic));
    }
}

/// Documents what the middleware answers on every operation, after the handlers' own responses:
/// the flood responses of [`crate::throttle`], then the request id headers of
/// [`crate::request_id`] (last, so that every response carries `X-Request-ID`).
pub fn document_middleware(document: &mut utoipa::openapi::OpenApi) {
    add_throttle_responses(document);
    add_request_id_headers(document);
}

/// Calls `visit` with the path, the method (lower case, as the document spells it) and the
/// operation itself, for every operation in `document`.
fn for_each_operation(
    document: &mut utoipa::openapi::OpenApi,
    mut visit: impl FnMut(&str, &str, &mut Operation),
) {
    for (path, path_item) in document.paths.paths.iter_mut() {
        let operations = [
            ("get", &mut path_item.get),
            ("put", &mut path_item.put),
            ("post", &mut path_item.post),
            ("delete", &mut path_item.delete),
            ("options", &mut path_item.options),
            ("head", &mut path_item.head),
            ("patch", &mut path_item.patch),
            ("trace", &mut path_item.trace),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                visit(path, method, operation);
            }
        }
    }
}

/// The `application/problem+json` content of every error response.
fn problem_content() -> Content {
    ContentBuilder::new()
        .schema(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
        .build()
}

fn uuid_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
}

/// Documents the overload `503` on every operation, and the `429` and (with a body) the `408`
/// on every operation the rate limit applies to.
fn add_throttle_responses(document: &mut utoipa::openapi::OpenApi) {
    let overloaded = ResponseBuilder::new()
        .description("The server is overloaded or the database is unavailable")
        .content(PROBLEM_JSON, problem_content())
        .build();
    let retry_after = HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        )
        .description(Some("Seconds until a request is allowed again"))
        .build();
    let too_many = ResponseBuilder::new()
        .description(
            "Too many requests from this principal (or, without a token, this address), \
             per second or in flight at once",
        )
        .content(PROBLEM_JSON, problem_content())
        .header("Retry-After", retry_after)
        .build();
    let body_timeout = ResponseBuilder::new()
        .description("The body did not arrive in time; the connection is closed")
        .content(PROBLEM_JSON, problem_content())
        .build();
    for_each_operation(document, |path, _method, operation| {
        let has_body = operation.request_body.is_some();
        let responses = &mut operation.responses.responses;
        // A handler's own `503` (the database) says more than the general one.
        responses
            .entry("503".to_owned())
            .or_insert_with(|| RefOr::T(overloaded.clone()));
        if throttle::is_exempt(path) {
            return;
        }
        responses.insert("429".to_owned(), RefOr::T(too_many.clone()));
        if has_body {
            responses.insert("408".to_owned(), RefOr::T(body_timeout.clone()));
        }
    });
}

/// Documents the request id headers of [`crate::request_id`] on every operation: the optional
/// `X-Client-Request-ID` parameter, the `400` problem a malformed one gets, and the
/// `X-Request-ID` header of every response.
fn add_request_id_headers(document: &mut utoipa::openapi::OpenApi) {
    let parameter = ParameterBuilder::new()
        .name("X-Client-Request-ID")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "A UUID naming this request; echoed as `X-Request-ID`, logged and stored on audit \
             events. Anything but a UUID is a `400`.",
        ))
        .schema(Some(uuid_schema()))
        .build();
    let header = HeaderBuilder::new()
        .schema(uuid_schema())
        .description(Some(
            "The request's id: the client's `X-Client-Request-ID` or one made by the server",
        ))
        .build();
    let bad_request = ResponseBuilder::new()
        .description("Bad request, for example an `X-Client-Request-ID` that is not a UUID")
        .content(PROBLEM_JSON, problem_content())
        .build();
    for_each_operation(document, |_path, _method, operation| {
        operation
            .parameters
            .get_or_insert_with(Vec::new)
            .push(parameter.clone());
        // A malformed request id is a problem+json 400 on every operation, also on those whose
        // own 400 has another shape (the token endpoint's OAuth errors).
        match operation.responses.responses.get_mut("400") {
            None => {
                operation
                    .responses
                    .responses
                    .insert("400".to_owned(), RefOr::T(bad_request.clone()));
            }
            Some(RefOr::T(response)) => {
                response
                    .content
                    .entry(PROBLEM_JSON.to_owned())
                    .or_insert_with(problem_content);
            }
            Some(RefOr::Ref(_)) => {}
        }
        for response in operation.responses.responses.values_mut() {
            if let RefOr::T(response) = response {
                response
                    .headers
                    .insert("X-Request-ID".to_owned(), header.clone());
            }
        }
    });
}
