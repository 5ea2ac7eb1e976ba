//! Wire types: what the API reads and writes, with their OpenAPI schemas.
//!
//! Domain types stay free of HTTP and OpenAPI concerns; the enums that appear on the wire get a
//! mirror here with exhaustive `From` impls both ways, so a new domain variant fails to compile
//! until its wire form is decided.

pub mod connection_test;
pub mod credential;
pub mod enums;
pub mod event;
pub mod grant;
pub mod oauth_app;
pub mod oauth_connect;
pub mod page;
pub mod problem;
pub mod release;
pub mod service_account;
pub mod token;
pub mod user_token;
