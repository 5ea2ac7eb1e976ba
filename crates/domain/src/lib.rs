#![doc = include_str!("../README.md")]

pub mod audit;
pub mod authz;
pub mod connection_test;
pub mod credential;
pub mod edit;
pub mod grant;
pub mod health_check;
pub mod ids;
pub mod oauth_app;
pub mod oauth_connect;
pub mod oauth_token;
pub mod patch;
pub mod principal;
pub mod refresh;
pub mod release;
pub mod schema;
pub mod secret;
pub mod service_account;
pub mod status;
pub mod team;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod token;
pub mod validate;
