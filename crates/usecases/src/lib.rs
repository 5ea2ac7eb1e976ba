#![doc = include_str!("../README.md")]

pub mod credentials;
pub mod error;
pub mod grants;
pub mod oauth_apps;
pub mod rotation;
pub mod secrets;
pub mod upkeep;

pub use error::Error;
