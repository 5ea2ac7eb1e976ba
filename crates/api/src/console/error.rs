//! [`ConsoleError`]: why a console request failed, answered as an HTML page.
//!
//! The API's errors keep their status and their meaning: another team's credential and a
//! missing one give the same not-found page (`ApiError::NotFound`, from the same `tenancy` and
//! store paths), and a member asking for an owner's page gets the forbidden page. Causes of
//! server errors are logged and never shown.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};

use crate::console::views::{self, ErrorPage};
use crate::error::ApiError;

/// Why a console request failed.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: `303` to the sign-in page.
    #[error("not signed in")]
    SignedOut,
    /// `403`: a state-changing form came without the session's CSRF token, or with another.
    #[error("the form's CSRF token is missing or wrong")]
    CsrfRejected,
    /// `403`: a POST whose `Origin` is another site's.
    #[error("a cross-site form post")]
    CrossOrigin,
    /// Whatever the API would answer, with its status, as a page.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<credvault_usecases::Error> for ConsoleError {
    fn from(error: credvault_usecases::Error) -> Self {
        Self::Api(error.into())
    }
}

impl From<credvault_persistence::StoreError> for ConsoleError {
    fn from(error: credvault_persistence::StoreError) -> Self {
        Self::Api(error.into())
    }
}

impl From<credvault_domain::authz::Denied> for ConsoleError {
    fn from(denied: credvault_domain::authz::Denied) -> Self {
        Self::Api(denied.into())
    }
}

impl From<actix_web::error::BlockingError> for ConsoleError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        Self::Api(error.into())
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignedOut => StatusCode::SEE_OTHER,
            Self::CsrfRejected | Self::CrossOrigin => StatusCode::FORBIDDEN,
            Self::Api(error) => error.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        if let Self::SignedOut = self {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/console/sign-in"))
                .finish();
        }
        if status.is_server_error() {
            log::error!("console request failed: {self}");
        }
        let (title, message) = match self {
            Self::SignedOut => ("Signed out", "Sign in again."),
            Self::CsrfRejected => (
                "Form refused",
                "This form is not from your current session. Reload the page and try again.",
            ),
            Self::CrossOrigin => ("Form refused", "This form was posted from another site."),
            Self::Api(ApiError::NotFound) => (
                "Not found",
                "There is no such page or credential in your team.",
            ),
            Self::Api(ApiError::Forbidden) => (
                "Not allowed",
                "Your role in this team does not allow this; ask an owner.",
            ),
            Self::Api(ApiError::TooManyRequests { .. } | ApiError::TooManyInFlight) => (
                "Slow down",
                "Too many requests; wait a moment and try again.",
            ),
            Self::Api(ApiError::BadRequest(_) | ApiError::UnsupportedMediaType) => {
                ("Bad request", "The form could not be read.")
            }
            Self::Api(ApiError::PayloadTooLarge { .. }) => ("Too large", "The form is too large."),
            Self::Api(ApiError::Unavailable(_) | ApiError::Overloaded) => (
                "Unavailable",
                "The service is unavailable for a moment; try again.",
            ),
            Self::Api(_) => ("Error", "Something went wrong; it has been logged."),
        };
        let mut response = views::render(
            status,
            &ErrorPage {
                chrome: views::Chrome::anonymous(),
                title,
                message,
            },
        );
        if let Self::Api(ApiError::TooManyRequests {
            retry_after_seconds,
        }) = self
            && let Ok(value) = header::HeaderValue::from_str(&retry_after_seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Any path under `/console` that is not a page: the not-found page.
pub async fn not_found() -> Result<HttpResponse, ConsoleError> {
    Err(ConsoleError::Api(ApiError::NotFound))
}
