//! Cross-site request forgery: every state-changing form carries the session's token.
//!
//! `SameSite=Strict` already keeps other sites' pages from sending the session cookie, but it
//! depends on the browser; the token does not. It is random per session, stored with the
//! session, put in a hidden [`FIELD`] of every form that writes, and compared in constant time.

use crate::console::error::ConsoleError;
use crate::console::form::FormFields;
use crate::console::session::SignedIn;
use credvault_domain::secret::SecretValue;

/// The hidden field's name.
pub const FIELD: &str = "csrf_token";

/// `Ok` when the form carries the session's token; [`ConsoleError::CsrfRejected`] (`403`)
/// otherwise, before anything is written.
pub fn check(signed_in: &SignedIn, form: &FormFields) -> Result<(), ConsoleError> {
    let Some(sent) = form.get(FIELD) else {
        log::warn!(
            "refused a console form of principal {} without its CSRF token",
            signed_in.principal.id
        );
        return Err(ConsoleError::CsrfRejected);
    };
    if SecretValue::from(sent).constant_time_eq(&signed_in.csrf) {
        Ok(())
    } else {
        log::warn!(
            "refused a console form of principal {} with a wrong CSRF token",
            signed_in.principal.id
        );
        Err(ConsoleError::CsrfRejected)
    }
}
