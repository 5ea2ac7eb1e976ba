//! Request handlers, one per file: parse the request, call the domain and the store, map the result.

pub mod auth_token;
pub mod credentials;
pub mod grants;
pub mod health;
pub mod oauth_apps;
pub mod oauth_connect;
pub mod service_accounts;
pub mod tokens;
