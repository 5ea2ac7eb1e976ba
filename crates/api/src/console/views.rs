//! The pages' templates (`crates/api/templates/console/`, compiled in by `askama`) and the
//! values they show.
//!
//! Askama escapes every value for HTML. No view holds a secret value: a secret field is shown
//! by whether it is stored ([`FieldRow::set`], [`FormField::stored`]), never by its value.

pub mod connection_tests;
pub mod grants;
pub mod oauth_apps;
pub mod service_accounts;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use chrono::{DateTime, Utc};

use crate::console::session::SignedIn;

/// What the layout shows of the session: the team, the role and the sign-out form's token.
pub struct Chrome {
    /// Whether anyone is signed in (the sign-in and error pages may have no session).
    pub signed_in: bool,
    /// The team's label.
    pub team_label: String,
    /// `owner` or `member`.
    pub role: &'static str,
    /// Whether the role may create, edit and delete (the buttons are shown only then; the
    /// handlers check again).
    pub is_owner: bool,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
}

impl Chrome {
    /// No session.
    pub fn anonymous() -> Self {
        Self {
            signed_in: false,
            team_label: String::new(),
            role: "",
            is_owner: false,
            csrf: String::new(),
        }
    }

    /// The session of `signed_in`.
    pub fn signed_in(signed_in: &SignedIn) -> Self {
        Self {
            signed_in: true,
            team_label: signed_in.team.label.as_str().to_owned(),
            role: signed_in.role.as_str(),
            is_owner: signed_in.role == credvault_domain::principal::Role::Owner,
            csrf: signed_in.csrf.expose().to_owned(),
        }
    }
}

/// A time as pages show it: `2026-12-03 10:00:00 UTC`.
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Renders a page with `status`; a template that fails to render is a logged `500`.
pub fn render(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(html) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(html),
        Err(error) => {
            log::error!("a console page did not render: {error}");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("internal error")
        }
    }
}

/// An error page.
#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage {
    /// The layout.
    pub chrome: Chrome,
    /// The heading.
    pub title: &'static str,
    /// What happened, for people.
    pub message: &'static str,
}

/// The sign-in form.
#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub struct SignInPage {
    /// The layout.
    pub chrome: Chrome,
    /// A token was sent and refused.
    pub refused: bool,
}

/// One choice of a `<select>`.
pub struct SelectOption {
    /// The value (also shown).
    pub value: String,
    /// Whether it is the current one.
    pub selected: bool,
}

impl SelectOption {
    /// Options for `values`, with `current` selected.
    pub fn list<'a>(values: impl IntoIterator<Item = &'a str>, current: &str) -> Vec<Self> {
        values
            .into_iter()
            .map(|value| Self {
                value: value.to_owned(),
                selected: value == current,
            })
            .collect()
    }
}

/// The team's credentials.
#[derive(Template)]
#[template(path = "console/credentials_list.html")]
pub struct ListPage {
    /// The layout.
    pub chrome: Chrome,
    /// The credentials of this page.
    pub rows: Vec<ListRow>,
    /// The provider filter's choices.
    pub providers: Vec<SelectOption>,
    /// The status filter's choices.
    pub statuses: Vec<SelectOption>,
    /// A filter value was not known (and was ignored).
    pub filter_error: bool,
    /// The next page's URL.
    pub next: Option<String>,
}

/// One credential in the list.
pub struct ListRow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Provider.
    pub provider: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Status.
    pub status: &'static str,
    /// Health (`unknown`, `healthy`, `error`).
    pub health: &'static str,
    /// The last test's notes.
    pub notes: Vec<String>,
    /// Last change.
    pub updated_at: String,
}

/// One credential.
#[derive(Template)]
#[template(path = "console/credential_show.html")]
pub struct ShowPage {
    /// The layout.
    pub chrome: Chrome,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Provider.
    pub provider: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Status.
    pub status: &'static str,
    /// Account name.
    pub account_name: String,
    /// Description.
    pub description: Option<String>,
    /// Version.
    pub version: i64,
    /// Creation time.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// The schema's fields (and any undeclared non-secret ones).
    pub fields: Vec<FieldRow>,
    /// `metadata`, pretty-printed, or empty.
    pub metadata: String,
    /// Health.
    pub health: &'static str,
    /// When the last test ran.
    pub checked_at: Option<String>,
    /// The last test's notes.
    pub notes: Vec<String>,
    /// The audit trail.
    pub events: Vec<EventRow>,
    /// It can be tested by connecting (PostgreSQL, SFTP): the page offers "Test connection".
    pub testable: bool,
    /// Whether to offer "Connect": an OAuth credential linked to an app, for an owner.
    pub connectable: bool,
    /// The name of the OAuth app it is linked to, if any.
    pub oauth_app: Option<String>,
    /// The outcome of a connect that just came back, shown once.
    pub flash: Option<crate::console::connect::Flash>,
}

/// Where the OAuth callback sends the browser back to the console.
#[derive(Template)]
#[template(path = "console/connect_landing.html")]
pub struct ConnectLandingPage {
    /// The credential's console page.
    pub url: String,
    /// Whether the connect succeeded.
    pub connected: bool,
    /// The outcome in words.
    pub text: String,
}

/// One field of a credential as shown.
pub struct FieldRow {
    /// The field name.
    pub name: String,
    /// For people.
    pub label: String,
    /// A secret field: shown as the mask when set, never by value.
    pub secret: bool,
    /// For a secret field, whether it is stored.
    pub set: bool,
    /// For a plain field, its value as text (empty when absent).
    pub value: String,
}

/// One audit event.
pub struct EventRow {
    /// When.
    pub at: String,
    /// What.
    pub action: &'static str,
    /// Who (principal id).
    pub actor: String,
    /// The changed field names.
    pub changed: String,
    /// What happened to each named secret (`set`, `kept`, `cleared`, `released`).
    pub secrets: String,
}

/// The provider and kind choice before a create form.
#[derive(Template)]
#[template(path = "console/credential_choose.html")]
pub struct ChoosePage {
    /// The layout.
    pub chrome: Chrome,
    /// Every provider/kind pair of the registry.
    pub choices: Vec<KindChoice>,
}

/// One provider/kind pair.
pub struct KindChoice {
    /// Provider.
    pub provider: &'static str,
    /// Kind.
    pub kind: &'static str,
}

/// The create or edit form.
#[derive(Template)]
#[template(path = "console/credential_form.html")]
pub struct FormPage {
    /// The layout.
    pub chrome: Chrome,
    /// The heading.
    pub title: String,
    /// Where the form posts.
    pub action: String,
    /// Where Cancel goes.
    pub cancel_url: String,
    /// Provider.
    pub provider: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// The version the edit form was opened at (its `If-Match`); `None` for a create.
    pub version: Option<i64>,
    /// Typed or stored name.
    pub name: String,
    /// Typed or stored account name.
    pub account_name: String,
    /// Typed or stored description.
    pub description: String,
    /// The schema's fields.
    pub fields: Vec<FormField>,
    /// Every error of the last attempt.
    pub errors: Vec<ErrorRow>,
    /// The last attempt typed secrets, which are not shown again.
    pub secrets_dropped: bool,
    /// The credential changed since the form was opened.
    pub conflict: bool,
    /// The edit page of the current version.
    pub reload_url: String,
    /// An edit of a credential that can be tested by connecting: the form offers "Test these
    /// values".
    pub testable: bool,
    /// The outcome of testing the form's values.
    pub test_result: Option<connection_tests::TestResult>,
    /// Testing the form's values was refused: it would send a stored secret to changed
    /// connection fields, which needs the owner role.
    pub test_refused: bool,
}

/// One error of a form.
pub struct ErrorRow {
    /// The field path as the API names it (`extra_data.host`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// One schema field in a form.
pub struct FormField {
    /// The field name.
    pub name: &'static str,
    /// For people.
    pub label: String,
    /// The input's `name`.
    pub input_name: String,
    /// The input's `id`.
    pub input_id: String,
    /// `text` or `number`.
    pub input_type: &'static str,
    /// Marked required.
    pub required: bool,
    /// A password input whose value is always empty.
    pub secret: bool,
    /// A multi-line secret (a PEM key): an always empty `<textarea>`, since a password input
    /// cannot hold line breaks.
    pub multiline: bool,
    /// For a secret, whether one is stored.
    pub stored: bool,
    /// For an optional stored secret, whether the form offers to clear it.
    pub clearable: bool,
    /// A JSON object, edited as text and posted whole.
    pub textarea: bool,
    /// An enumeration's choices (empty for a free-text field).
    pub options: Vec<SelectOption>,
    /// The typed or stored value of a plain field; always empty for a secret.
    pub value: String,
    /// This field's error.
    pub error: Option<String>,
}

/// Deleting a credential, to confirm.
#[derive(Template)]
#[template(path = "console/credential_delete.html")]
pub struct DeletePage {
    /// The layout.
    pub chrome: Chrome,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}
