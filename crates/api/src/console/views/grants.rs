//! The view of a credential's grants of use.

use askama::Template;

use crate::console::views::{Chrome, ErrorRow};

/// Who may use a credential, and the forms to grant and revoke (owners only).
#[derive(Template)]
#[template(path = "console/credential_grants.html")]
pub struct GrantsPage {
    /// The layout.
    pub chrome: Chrome,
    /// The credential's id.
    pub id: String,
    /// The credential's name.
    pub name: String,
    /// The grants, oldest first.
    pub rows: Vec<GrantRow>,
    /// The team's service accounts that do not hold a grant yet, for the grant form.
    pub choices: Vec<AccountChoice>,
    /// Every error of the last grant attempt.
    pub errors: Vec<ErrorRow>,
}

/// One grant of use.
pub struct GrantRow {
    /// The grant's id.
    pub id: String,
    /// The service account's id.
    pub account_id: String,
    /// The service account's name (empty if it is not on the first page of accounts).
    pub account_name: String,
    /// When it was granted.
    pub created_at: String,
    /// Who granted it (principal id).
    pub created_by: String,
}

/// A service account that may be granted use.
pub struct AccountChoice {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: &'static str,
}
