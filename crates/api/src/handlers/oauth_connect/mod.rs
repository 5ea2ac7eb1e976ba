//! OAuth connect (SPEC §11): `POST …/integrations/{id}/oauth/connect` starts the
//! authorization-code flow with PKCE and answers the provider's authorize URL; `GET
//! /api/v1/oauth/callback` is where the provider sends the browser back, found by its `state`
//! alone (it carries no bearer token), and stores the tokens. The rules are
//! `credvault_usecases::credentials::connect`'s.

pub mod callback;
pub mod start;
