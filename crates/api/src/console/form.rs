//! Reading a console form: `application/x-www-form-urlencoded` bodies, decoded by
//! [`crate::form`] into values that are wiped when dropped, and the `Origin` check of a POST.

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use zeroize::{Zeroize, Zeroizing};

use crate::body::{MAX_BODY_BYTES, has_media_type};
use crate::console::error::ConsoleError;
use crate::console::session::SignedIn;
use crate::error::ApiError;

/// The decoded fields of a form, in order. Values may be secrets: each is wiped when dropped.
pub struct FormFields(Vec<(String, Zeroizing<String>)>);

impl FormFields {
    /// Decodes a form body or query string.
    pub fn parse(encoded: &str) -> Result<Self, ApiError> {
        crate::form::parse_pairs(encoded)
            .map(Self)
            .map_err(|error| ApiError::BadRequest(error.to_string()))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first value of `name`, moved out (so that a secret goes on without a copy).
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0
            .iter_mut()
            .find(|(field, _)| field == name)
            .map(|(_, value)| std::mem::take(&mut **value))
    }

    /// Whether a checkbox named `name` was checked.
    pub fn is_checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// Reads a form body of at most [`MAX_BODY_BYTES`]; the raw bytes are wiped once decoded.
pub async fn read_form(req: &HttpRequest, payload: web::Payload) -> Result<FormFields, ApiError> {
    if !has_media_type(req.headers(), &["application/x-www-form-urlencoded"]) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return Err(ApiError::BadRequest(
                "the form could not be read".to_owned(),
            ));
        }
        Err(_) => {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
    };
    let mut raw = Zeroizing::new(Vec::from(bytes));
    let text = std::str::from_utf8(&raw)
        .map_err(|_| ApiError::BadRequest("the form is not UTF-8".to_owned()))?;
    let fields = FormFields::parse(text);
    raw.zeroize();
    fields
}

/// Reads the form of a state-changing POST by `signed_in`: refused (`403`, nothing read
/// further) when a browser says it came from another site ([`check_origin`]) or when it lacks
/// the session's CSRF token ([`crate::console::csrf::check`]).
pub async fn read_checked_form(
    req: &HttpRequest,
    payload: web::Payload,
    signed_in: &SignedIn,
) -> Result<FormFields, ConsoleError> {
    check_origin(req)?;
    let form = read_form(req, payload).await?;
    crate::console::csrf::check(signed_in, &form)?;
    Ok(form)
}

/// Refuses a POST that a browser says came from another site: `Sec-Fetch-Site` other than
/// `same-origin` or `none`, or an `Origin` naming another host. Browsers send `Origin: null` on
/// the console's own forms (its pages are `Referrer-Policy: no-referrer`), and scripts send
/// neither header; those are left to the CSRF token.
pub fn check_origin(req: &HttpRequest) -> Result<(), ConsoleError> {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str(), Ok("same-origin" | "none"))
    {
        log::warn!("refused a console form posted from another site");
        return Err(ConsoleError::CrossOrigin);
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().map_err(|_| ConsoleError::CrossOrigin)?;
    if origin == "null" {
        return Ok(());
    }
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or(ConsoleError::CrossOrigin)?;
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| req.uri().authority().map(|authority| authority.as_str()))
        .ok_or(ConsoleError::CrossOrigin)?;
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        log::warn!("refused a console form posted from another origin");
        Err(ConsoleError::CrossOrigin)
    }
}

#[cfg(test)]
mod tests;
