//! "Every field name lives in `schema`": no credential field name as a string literal elsewhere.
//!
//! The field names are read from the registry's source, `crates/domain/src/schema/` (xtask
//! depends on no workspace crate, so it cannot ask the registry itself):
//!
//! - the name given to each field declaration, `FieldSpec::plain("host", …)` or
//!   `FieldSpec::secret(PASSWORD, …)`, a constant resolved through the registry's own
//!   `const NAME: &str = "…";` items;
//! - every public `&str` constant of the registry (`pub const HOST_KEY_SHA256: &str = "…"`), the
//!   way it exports names for code that reads a field by name.
//!
//! Then no non-test source of another crate's `src/` may hold one of those names as a string
//! literal (`"password"`): code that reads or writes a field by name takes the name from the
//! registry. Not code, and so not checked: comments and doc comments, attributes (the
//! `#[schema(example = json!({"host": …}))]` of the DTOs is OpenAPI documentation), and test code
//! (see [`crate::tidy::sources`]).
//!
//! A few literals are the same word as a field without naming a credential's field: the
//! server's own database URL has a `host` too, and the OAuth token request a `client_id`. They
//! are listed in [`ALLOWED`] with their reasons, keyed by file (or folder) and name, so that a
//! new use elsewhere, or of another name, is still caught.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Result, bail};

use crate::tidy::rust::{Kind, Token, matching};
use crate::tidy::sources::{Source, non_test_sources};

/// Where the registry lives, relative to the workspace root.
pub(crate) const SCHEMA_DIR: &str = "crates/domain/src/schema";

/// Literals that are the same word as a field but do not name a credential's field:
/// (files or folders, names, why).
///
/// Keep it short. An entry none of whose names is left in its files is reported, so the list
/// cannot rot; files that do not exist (yet: code is moving between crates) are no-ops.
const ALLOWED: &[(&[&str], &[&str], &str)] = &[
    (
        &["crates/server/src/config.rs"],
        &["host", "port", "password"],
        "libpq keywords of the server's own database URL (CREDVAULT_DATABASE_URL)",
    ),
    (
        &[
            "crates/probe/src/postgres/",
            "crates/probe/src/connection.rs",
            "crates/server/src/commands/exec.rs",
        ],
        &["host", "port", "password", "require_auth"],
        "libpq keywords of the conninfo the PostgreSQL test builds and of the parameters a use \
         hands out (and `credvault exec` turns into PG* variables), which the schema's fields \
         are translated to (the schema's `ssl_mode` is libpq's `sslmode`)",
    ),
    (
        &["crates/probe/src/sftp.rs"],
        &["password"],
        "the SSH authentication method (RFC 4252) and the word in its password prompt",
    ),
    (
        &["crates/server/src/commands/"],
        &["database"],
        "the key of the JSON line where `migrate` and `serve` name the server's own database",
    ),
    (
        &[
            "crates/server/src/commands/admin.rs",
            "crates/api/src/handlers/tokens/",
            "crates/domain/src/token.rs",
        ],
        &["expires_at"],
        "a user token's expiry, in its request body and in `admin list-tokens`",
    ),
    (
        &[
            "crates/api/src/handlers/auth_token.rs",
            "crates/api/src/dto/token.rs",
            "crates/server/src/commands/exec.rs",
        ],
        &["client_id", "client_secret", "access_token"],
        "the parameters of a service account's OAuth token request and its answer (RFC 6749 \
         §4.4, §5.1), which `credvault exec` sends and reads",
    ),
    (
        &[
            "crates/probe/src/oauth/",
            "crates/probe/src/testing/oauth_server.rs",
        ],
        &["client_id", "access_token", "refresh_token"],
        "the parameters of the OAuth refresh and authorization-code grants and of their answer \
         (RFC 6749 §4.1, §5.1, §6), which the token client sends and reads and the tests' token \
         server answers",
    ),
    (
        &["crates/domain/src/oauth_token.rs"],
        &[
            "token_url",
            "client_id",
            "client_secret",
            "access_token",
            "refresh_token",
            "scopes",
        ],
        "the labels of the masking `Debug` of the token requests and their answer, which name \
         the struct fields, not a credential's",
    ),
    (
        &["crates/domain/src/oauth_app.rs"],
        &["client_id", "client_secret", "token_url", "scopes"],
        "the fields of an OAuth app's own bodies (a team resource, not a credential's fields), \
         written once in `domain::oauth_app`",
    ),
];

/// The field names the registry declares or exports, read from its non-test source.
pub(crate) fn declared_names(root: &Path) -> Result<BTreeSet<String>> {
    let sources = non_test_sources(root, &[root.join(SCHEMA_DIR)])?;
    let mut constants: BTreeMap<String, String> = BTreeMap::new();
    let mut names = BTreeSet::new();
    for source in &sources {
        for (is_pub, name, value) in str_constants(&source.tokens) {
            if is_pub {
                names.insert(value.clone());
            }
            constants.insert(name, value);
        }
    }
    for source in &sources {
        for argument in field_declarations(&source.tokens) {
            match argument {
                Kind::Str(name) => {
                    names.insert(name.clone());
                }
                Kind::Ident(constant) => match constants.get(constant) {
                    Some(name) => {
                        names.insert(name.clone());
                    }
                    None => bail!(
                        "tidy: {}: the field name constant {constant} is not a `const {constant}: &str` of {SCHEMA_DIR}",
                        source.path
                    ),
                },
                _ => {}
            }
        }
    }
    if names.is_empty() {
        bail!(
            "tidy: found no field declaration in {SCHEMA_DIR}: the field-name check needs updating"
        );
    }
    Ok(names)
}

/// `(is pub, NAME, value)` of each `const NAME: &str = "value";` (or `&'static str`).
fn str_constants(tokens: &[Token]) -> Vec<(bool, String, String)> {
    let mut found = Vec::new();
    for (at, token) in tokens.iter().enumerate() {
        if !token.is_ident("const") {
            continue;
        }
        let rest = &tokens[at + 1..];
        let lifetime = usize::from(rest.get(3).is_some_and(|token| token.kind == Kind::Other));
        let shape = (
            rest.first().map(|token| &token.kind),
            rest.get(1).is_some_and(|token| token.is_punct(':')),
            rest.get(2).is_some_and(|token| token.is_punct('&')),
            rest.get(3 + lifetime)
                .is_some_and(|token| token.is_ident("str")),
            rest.get(4 + lifetime)
                .is_some_and(|token| token.is_punct('=')),
            rest.get(5 + lifetime).map(|token| &token.kind),
        );
        if let (Some(Kind::Ident(name)), true, true, true, true, Some(Kind::Str(value))) = shape {
            let is_pub = at > 0 && tokens[at - 1].is_ident("pub");
            found.push((is_pub, name.clone(), value.clone()));
        }
    }
    found
}

/// The first argument of each `FieldSpec::plain(…)` / `FieldSpec::secret(…)`: a literal, or the
/// last identifier of a path (`fields::HOST` → `HOST`).
fn field_declarations(tokens: &[Token]) -> Vec<&Kind> {
    let mut found = Vec::new();
    for (at, token) in tokens.iter().enumerate() {
        let declaration = token.is_ident("FieldSpec")
            && tokens.get(at + 1).is_some_and(|token| token.is_punct(':'))
            && tokens.get(at + 2).is_some_and(|token| token.is_punct(':'))
            && tokens
                .get(at + 3)
                .is_some_and(|token| token.is_ident("plain") || token.is_ident("secret"))
            && tokens.get(at + 4).is_some_and(|token| token.is_punct('('));
        if !declaration {
            continue;
        }
        let mut argument = None;
        for token in &tokens[at + 5..] {
            match &token.kind {
                Kind::Punct(',' | ')') => break,
                Kind::Punct(':') => {}
                kind => argument = Some(kind),
            }
        }
        found.extend(argument);
    }
    found
}

/// Every field-name literal outside the registry, as `path:line: message` problems.
pub(crate) fn check(root: &Path, sources: &[Source], problems: &mut Vec<String>) -> Result<()> {
    let names = declared_names(root)?;
    let mut allowed_used = BTreeSet::new();
    for source in sources {
        if source.path.starts_with(SCHEMA_DIR) {
            continue;
        }
        for token in code_strings(&source.tokens) {
            let Kind::Str(text) = &token.kind else {
                continue;
            };
            if !names.contains(text) {
                continue;
            }
            let allowed = ALLOWED.iter().position(|(paths, allowed, _)| {
                paths.iter().any(|path| source.path.starts_with(path))
                    && allowed.contains(&text.as_str())
            });
            match allowed {
                Some(index) => {
                    allowed_used.insert(index);
                }
                None => problems.push(format!(
                    "{}:{}: the field name \"{text}\" is written out; take it from credvault_domain::schema",
                    source.path, token.line
                )),
            }
        }
    }
    for (index, (paths, names, _)) in ALLOWED.iter().enumerate() {
        let present = paths.iter().any(|path| root.join(path).exists());
        if present && !allowed_used.contains(&index) {
            problems.push(format!(
                "{paths:?} write none of {names:?} any more; remove them from tidy's field-name allow-list"
            ));
        }
    }
    Ok(())
}

/// The string literals of code: those outside attributes (`#[…]`, `#![…]`).
fn code_strings(tokens: &[Token]) -> impl Iterator<Item = &Token> {
    let mut skip_to = 0;
    tokens.iter().enumerate().filter_map(move |(at, token)| {
        if at < skip_to {
            return None;
        }
        if token.is_punct('#') {
            let open =
                at + 1 + usize::from(tokens.get(at + 1).is_some_and(|next| next.is_punct('!')));
            if tokens.get(open).is_some_and(|next| next.is_punct('[')) {
                skip_to = matching(tokens, open) + 1;
                return None;
            }
        }
        matches!(token.kind, Kind::Str(_)).then_some(token)
    })
}
