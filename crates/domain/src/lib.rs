#![doc = include_str!("../README.md")]

pub mod ids;
pub mod secret;
pub mod team;
pub mod principal;
pub mod authz;
pub mod schema;
pub mod credential;
pub mod validate;
pub mod patch;
pub mod audit;
