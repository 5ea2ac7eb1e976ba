//! The list envelope shared by every list endpoint.

use credvault_domain::validate::ValidationErrors;
use credvault_persistence::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::dto::credential::CredentialResponse;
use crate::dto::event::EventResponse;

/// A page of credentials.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = CredentialPage)]
pub struct CredentialPage {
    /// The credentials, oldest first.
    pub items: Vec<CredentialResponse>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(example = "0192f3a41b2c7d3e8f40123456789abc")]
    pub next_cursor: Option<String>,
}

/// A page of audit events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = EventPage)]
pub struct EventPage {
    /// The events, oldest first.
    pub items: Vec<EventResponse>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(example = json!(null))]
    pub next_cursor: Option<String>,
}

/// Paging parameters of every list endpoint.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many items to return, 1 to 100 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100, example = 50)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page; opaque.
    #[param(example = "0192f3a41b2c7d3e8f40123456789abc")]
    pub cursor: Option<String>,
}

/// Encodes the id a page ended on as an opaque cursor.
pub fn encode_cursor(after: Uuid) -> String {
    after.simple().to_string()
}

/// Decodes a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Option<Uuid> {
    (cursor.len() == 32)
        .then(|| Uuid::try_parse(cursor).ok())
        .flatten()
}

/// The default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
pub const MAX_LIMIT: u32 = 100;

/// Turns the `limit` and `cursor` query parameters into a page request, recording bad values.
pub fn page_request(
    limit: Option<&str>,
    cursor: Option<&str>,
    errors: &mut ValidationErrors,
) -> PageRequest {
    let limit = match limit.map(str::parse::<u32>) {
        None => DEFAULT_LIMIT,
        Some(Ok(limit @ 1..=MAX_LIMIT)) => limit,
        Some(_) => {
            errors.push("limit", format!("must be an integer from 1 to {MAX_LIMIT}"));
            DEFAULT_LIMIT
        }
    };
    let after = match cursor.filter(|cursor| !cursor.is_empty()) {
        None => None,
        Some(cursor) => match decode_cursor(cursor) {
            Some(after) => Some(after),
            None => {
                errors.push("cursor", "is not a cursor returned by this endpoint");
                None
            }
        },
    };
    PageRequest { after, limit }
}
