//! The service account pages' views. None holds a secret except [`ClientSecretPage`], the one
//! answer to the POST that made the client credential.

use askama::Template;
use credvault_domain::secret::SecretValue;

use crate::console::views::{Chrome, ErrorRow};

/// The team's service accounts.
#[derive(Template)]
#[template(path = "console/service_accounts_list.html")]
pub struct ServiceAccountsPage {
    /// The layout.
    pub chrome: Chrome,
    /// The accounts of this page.
    pub rows: Vec<ServiceAccountRow>,
    /// The next page's URL.
    pub next: Option<String>,
}

/// One service account in the list.
pub struct ServiceAccountRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `owner` or `member`.
    pub role: &'static str,
    /// Its description (empty when none).
    pub description: String,
    /// Creation time.
    pub created_at: String,
}

/// The create or edit form of a service account.
#[derive(Template)]
#[template(path = "console/service_account_form.html")]
pub struct ServiceAccountFormPage {
    /// The layout.
    pub chrome: Chrome,
    /// The heading.
    pub title: String,
    /// Where the form posts.
    pub action: String,
    /// Where Cancel goes.
    pub cancel_url: String,
    /// Typed or stored name.
    pub name: String,
    /// Typed or stored description.
    pub description: String,
    /// The role choices, on a create form only (the role is fixed once created).
    pub roles: Vec<crate::console::views::SelectOption>,
    /// Every error of the last attempt.
    pub errors: Vec<ErrorRow>,
}

/// One service account, its client credentials and (for owners) its grants of use.
#[derive(Template)]
#[template(path = "console/service_account_show.html")]
pub struct ServiceAccountPage {
    /// The layout.
    pub chrome: Chrome,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// `owner` or `member`.
    pub role: &'static str,
    /// Its description.
    pub description: Option<String>,
    /// The principal it acts as.
    pub principal_id: String,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Its client credentials (without secret).
    pub credentials: Vec<ClientCredentialRow>,
    /// The credentials it may use; `None` when the viewer may not see grants.
    pub grants: Option<Vec<HeldGrantRow>>,
    /// The errors of a client credential form that failed.
    pub errors: Vec<ErrorRow>,
    /// What was typed into that form's name.
    pub new_name: String,
    /// What was typed into that form's description.
    pub new_description: String,
}

/// One client credential, without secret.
pub struct ClientCredentialRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its description (empty when none).
    pub description: String,
    /// The public client id.
    pub client_id: String,
    /// Creation time.
    pub created_at: String,
    /// When it was last exchanged for a token.
    pub last_used_at: Option<String>,
}

/// One grant of use a service account holds.
pub struct HeldGrantRow {
    /// The credential's id.
    pub credential_id: String,
    /// The credential's name.
    pub credential_name: String,
    /// When it was granted.
    pub created_at: String,
}

/// Deleting a service account, to confirm.
#[derive(Template)]
#[template(path = "console/service_account_delete.html")]
pub struct ServiceAccountDeletePage {
    /// The layout.
    pub chrome: Chrome,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

/// The answer to creating a client credential: the only page that ever shows its secret.
#[derive(Template)]
#[template(path = "console/client_secret.html")]
pub struct ClientSecretPage {
    /// The layout.
    pub chrome: Chrome,
    /// The service account's id.
    pub account_id: String,
    /// The service account's name.
    pub account_name: String,
    /// The credential's name.
    pub name: String,
    /// The public client id.
    pub client_id: String,
    /// The client secret, shown this once.
    pub client_secret: SecretValue,
}
