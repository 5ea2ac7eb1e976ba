//! The OAuth app pages' views. The client secret is never among their values: a page says only
//! that one is stored (the mask), and the form's secret input is always empty.

use askama::Template;

use crate::console::views::{Chrome, ErrorRow, SelectOption};

/// The team's OAuth apps.
#[derive(Template)]
#[template(path = "console/oauth_apps_list.html")]
pub struct OAuthAppsPage {
    /// The layout.
    pub chrome: Chrome,
    /// The apps of this page.
    pub rows: Vec<OAuthAppRow>,
    /// The next page's URL.
    pub next: Option<String>,
}

/// One app in the list.
pub struct OAuthAppRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its provider.
    pub provider: &'static str,
    /// The public client id.
    pub client_id: String,
    /// Last change.
    pub updated_at: String,
}

/// One app.
#[derive(Template)]
#[template(path = "console/oauth_app_show.html")]
pub struct OAuthAppPage {
    /// The layout.
    pub chrome: Chrome,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its provider.
    pub provider: &'static str,
    /// The public client id.
    pub client_id: String,
    /// The token endpoint.
    pub token_url: String,
    /// The authorization endpoint.
    pub authorize_url: String,
    /// The default scopes, space-separated.
    pub scopes: String,
    /// `metadata`, pretty-printed, or empty.
    pub metadata: String,
    /// Version.
    pub version: i64,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
}

/// The create or edit form of an app.
#[derive(Template)]
#[template(path = "console/oauth_app_form.html")]
pub struct OAuthAppFormPage {
    /// The layout.
    pub chrome: Chrome,
    /// The heading.
    pub title: String,
    /// Where the form posts.
    pub action: String,
    /// Where Cancel goes.
    pub cancel_url: String,
    /// The provider choices on a create form; empty on an edit (the provider is fixed).
    pub providers: Vec<SelectOption>,
    /// The provider, on an edit form.
    pub provider: &'static str,
    /// The version an edit form was opened at (its `If-Match`); `None` for a create.
    pub version: Option<i64>,
    /// Typed or stored values of the plain inputs.
    pub values: OAuthAppValues,
    /// Every error of the last attempt.
    pub errors: Vec<ErrorRow>,
    /// The last attempt typed a client secret, which is not shown again.
    pub secret_dropped: bool,
    /// The app changed since the form was opened.
    pub conflict: bool,
}

/// What an app form's plain inputs hold.
#[derive(Clone, Default)]
pub struct OAuthAppValues {
    /// Name.
    pub name: String,
    /// Public client id.
    pub client_id: String,
    /// Token URL (empty for the provider's).
    pub token_url: String,
    /// Authorize URL (empty for the provider's).
    pub authorize_url: String,
    /// Scopes, space-separated.
    pub scopes: String,
    /// Metadata as JSON text.
    pub metadata: String,
}

/// Deleting an app, to confirm; or the refusal while credentials are linked to it.
#[derive(Template)]
#[template(path = "console/oauth_app_delete.html")]
pub struct OAuthAppDeletePage {
    /// The layout.
    pub chrome: Chrome,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Why it was not deleted, in words (credentials are linked to it).
    pub in_use: Option<String>,
}
