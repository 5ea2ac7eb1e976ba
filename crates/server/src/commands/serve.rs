//! `credvault serve`: the HTTP server (wired to the API crate once it lands).
