//! The OpenAPI document: [`ApiDoc`] holds what no handler says (info, security scheme, tags);
//! the paths and schemas are collected from the handlers by `utoipa-actix-web` when the routes
//! are registered (see [`crate::openapi_document`]).

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

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
        (name = "operations", description = "Health, readiness and metrics"),
    )
)]
pub struct ApiDoc;

/// Adds the bearer token scheme.
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
    }
}
