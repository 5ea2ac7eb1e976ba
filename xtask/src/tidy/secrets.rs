//! No `#[derive(Debug)]` on a type that holds a secret (the house style's rule).
//!
//! A struct or enum whose definition names `SecretValue` or `SecretMap` (as a field, inside an
//! `Option`, a `Vec` or a map alike) implements `Debug` by hand, printing a mask where the secret
//! is. `SecretValue`'s own `Debug` masks already; writing the impl out keeps the masking visible
//! where the type is defined, and survives a field type being changed to a plain `String`.
//!
//! The check reads the definitions' tokens, so it sees the secret types by name only: a type
//! that holds a secret through another type of its own is the other type's to mask.

use crate::tidy::rust::{Kind, Token, matching};
use crate::tidy::sources::Source;

/// The types that hold plaintext secrets.
const SECRET_TYPES: &[&str] = &["SecretValue", "SecretMap"];

/// Types that derive `Debug` over a secret today, and why that is tolerated for now:
/// (file or folder, type names, why). An entry whose types are gone is reported.
const KNOWN: &[(&str, &[&str], &str)] = &[(
    "crates/domain/src/patch/",
    &["SecretOp", "PatchOutcome", "CreatedCredential"],
    "the PATCH engine's results; the secret types' own Debug masks them, and a hand-written \
     Debug is due with the engine's split into parse, apply and create",
)];

/// Every type with a derived `Debug` that names a secret type, as `path:line: message` problems.
pub(crate) fn check(sources: &[Source], problems: &mut Vec<String>) {
    let mut known_seen = vec![false; KNOWN.len()];
    for source in sources {
        for (line, name, secret) in derived_debug_with_secret(&source.tokens) {
            let known = KNOWN.iter().position(|(path, names, _)| {
                source.path.starts_with(path) && names.contains(&name.as_str())
            });
            match known {
                Some(index) => known_seen[index] = true,
                None => problems.push(format!(
                    "{}:{line}: {name} derives Debug but holds a {secret}; implement Debug by hand, masking it",
                    source.path
                )),
            }
        }
    }
    for ((path, names, _), seen) in KNOWN.iter().zip(known_seen) {
        if !seen {
            problems.push(format!(
                "{path}: none of {names:?} derives Debug over a secret any more; remove it from tidy's list"
            ));
        }
    }
}

/// `(line, type name, secret type)` of each struct or enum that derives `Debug` and names one
/// of [`SECRET_TYPES`] in its definition.
fn derived_debug_with_secret(tokens: &[Token]) -> Vec<(usize, String, &'static str)> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < tokens.len() {
        let derives_debug = tokens[at].is_punct('#')
            && tokens.get(at + 1).is_some_and(|token| token.is_punct('['))
            && tokens
                .get(at + 2)
                .is_some_and(|token| token.is_ident("derive"));
        if !derives_debug {
            at += 1;
            continue;
        }
        let close = matching(tokens, at + 1);
        let attribute = &tokens[at + 2..close.min(tokens.len())];
        at = close + 1;
        if !attribute.iter().any(|token| token.is_ident("Debug")) {
            continue;
        }
        // Further attributes, then visibility, then `struct NAME` or `enum NAME`.
        let mut item = at;
        while tokens.get(item).is_some_and(|token| token.is_punct('#')) {
            item = matching(tokens, item + 1) + 1;
        }
        if tokens.get(item).is_some_and(|token| token.is_ident("pub")) {
            item += 1;
            if tokens.get(item).is_some_and(|token| token.is_punct('(')) {
                item = matching(tokens, item) + 1;
            }
        }
        let keyword = tokens.get(item);
        if !keyword.is_some_and(|token| token.is_ident("struct") || token.is_ident("enum")) {
            continue;
        }
        let Some(Token {
            kind: Kind::Ident(name),
            line,
        }) = tokens.get(item + 1)
        else {
            continue;
        };
        // The body: the first `{ … }` or `( … )` after the name (generics hold neither), up to
        // the `;` of a unit struct.
        let mut body = item + 2;
        while tokens.get(body).is_some_and(|token| {
            !token.is_punct('{') && !token.is_punct('(') && !token.is_punct(';')
        }) {
            body += 1;
        }
        if tokens.get(body).is_none_or(|token| token.is_punct(';')) {
            continue;
        }
        let end = matching(tokens, body);
        let secret = tokens[body..end.min(tokens.len())]
            .iter()
            .find_map(|token| SECRET_TYPES.iter().find(|secret| token.is_ident(secret)));
        if let Some(secret) = secret {
            found.push((*line, name.clone(), *secret));
        }
        at = end;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::derived_debug_with_secret;
    use crate::tidy::rust::tokens;

    #[test]
    fn derived_debug_on_a_type_holding_a_secret_is_found() {
        let text = r#"
            #[derive(Clone, Debug)]
            #[serde(rename_all = "snake_case")]
            pub(crate) struct Token { pub id: Id, pub secret: Option<SecretValue> }

            #[derive(Debug)]
            enum Message { Plain(String), Sealed(Vec<SecretMap>) }

            #[derive(Clone, Debug)]
            struct Wrapped(SecretValue);

            #[derive(Clone)]
            struct HandWritten { secret: SecretValue }

            #[derive(Debug)]
            struct Plain<T: Clone> { name: String, value: T }

            #[derive(Debug)]
            struct Unit;
        "#;
        let found: Vec<(String, &str)> = derived_debug_with_secret(&tokens(text))
            .into_iter()
            .map(|(_, name, secret)| (name, secret))
            .collect();
        assert_eq!(
            found,
            [
                ("Token".to_owned(), "SecretValue"),
                ("Message".to_owned(), "SecretMap"),
                ("Wrapped".to_owned(), "SecretValue"),
            ]
        );
    }
}
