//! The OpenAPI document: [`ApiDoc`] holds what no handler says (info, security scheme, tags);
//! the paths and schemas are collected from the handlers by `utoipa-actix-web` when the routes
//! are registered (see [`crate::openapi_document`]).

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, KnownFormat, ObjectBuilder, Ref, RefOr, Required, ResponseBuilder,
    SchemaFormat, Type,
};
use utoipa::{Modify, OpenApi};

use crate::error::PROBLEM_JSON;

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
    modifiers(&SecurityAddon),
    tags(
        (name = "credentials", description = "Integration credentials of a team; secrets are write-only"),
        (name = "service-accounts", description = "Service accounts of a team and the client credentials they sign in with"),
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

fn uuid_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
}

/// Documents the request id headers of [`crate::request_id`] on every operation: the optional
/// `X-Client-Request-ID` parameter, the `400` problem a malformed one gets, and the
/// `X-Request-ID` header of every response.
pub fn add_request_id_headers(document: &mut utoipa::openapi::OpenApi) {
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
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
                .build(),
        )
        .build();
    for path_item in document.paths.paths.values_mut() {
        let operations = [
            &mut path_item.get,
            &mut path_item.put,
            &mut path_item.post,
            &mut path_item.delete,
            &mut path_item.options,
            &mut path_item.head,
            &mut path_item.patch,
            &mut path_item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation
                .parameters
                .get_or_insert_with(Vec::new)
                .push(parameter.clone());
            // A malformed request id is a problem+json 400 on every operation, also on those
            // whose own 400 has another shape (the token endpoint's OAuth errors).
            match operation.responses.responses.get_mut("400") {
                None => {
                    operation
                        .responses
                        .responses
                        .insert("400".to_owned(), RefOr::T(bad_request.clone()));
                }
                Some(RefOr::T(response)) => {
                    if let Some(problem) = bad_request.content.get(PROBLEM_JSON) {
                        response
                            .content
                            .entry(PROBLEM_JSON.to_owned())
                            .or_insert_with(|| problem.clone());
                    }
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
        }
    }
}
