//! Requests that no route takes: `405` with `Allow` when the path exists with other methods,
//! `404` otherwise.
//!
//! The answer depends only on the shape of the path, never on whether a team or credential
//! exists, so it tells nobody more than the OpenAPI document does.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;

/// Every documented path pattern and the methods it answers, from the OpenAPI document.
#[derive(Clone, Debug, Default)]
pub struct KnownPaths(BTreeMap<String, String>);

impl KnownPaths {
    /// The paths and methods of `document` (patterns like `/api/v1/teams/{team}/integrations`,
    /// the same syntax as actix's).
    pub fn from_document(document: &utoipa::openapi::OpenApi) -> Self {
        let paths = document
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("OPTIONS", item.options.is_some()),
                    // Every GET resource answers HEAD (see `crate::request_id`).
                    ("HEAD", item.head.is_some() || item.get.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("TRACE", item.trace.is_some()),
                ];
                let allow: Vec<&str> = methods
                    .into_iter()
                    .filter_map(|(method, present)| present.then_some(method))
                    .collect();
                (path.clone(), allow.join(", "))
            })
            .collect();
        Self(paths)
    }
}

/// The default service.
pub(crate) async fn unmatched(
    req: HttpRequest,
    known: Option<web::Data<KnownPaths>>,
) -> Result<HttpResponse, ApiError> {
    // `match_pattern` matches the path against every registered resource, ignoring methods.
    let allow = req
        .match_pattern()
        .zip(known)
        .and_then(|(pattern, known)| known.0.get(&pattern).cloned());
    Err(match allow {
        Some(allow) => ApiError::MethodNotAllowed { allow },
        None => ApiError::NotFound,
    })
}
