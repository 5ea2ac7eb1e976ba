#![doc = include_str!("../README.md")]

pub mod credentials;
pub mod error;
pub mod grants;
pub mod rotation;
pub mod secrets;

pub use error::Error;
