//! Just enough of a Rust lexer for tidy's source checks, without a parser dependency.
//!
//! [`tokens`] splits a file into identifiers, string literals and single punctuation characters,
//! with their line numbers; comments (doc comments included) and whitespace disappear, and
//! character literals, lifetimes and numbers are kept only so that a quote or a brace inside
//! them is not mistaken for one of the file's own. [`non_test`] then drops the items compiled
//! only for tests (`#[cfg(test)]`, `#[cfg(any(test, …))]`) and names the module files they
//! declare, so the checks read what a release build compiles.

/// What a token is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An identifier or keyword (`r#` stripped).
    Ident(String),
    /// A string literal's text between its quotes (`"…"` or raw `r#"…"#`), escapes as written.
    Str(String),
    /// A byte string, character, byte, lifetime or number: nothing the checks look into.
    Other,
    /// One punctuation character: `#`, `[`, `{`, `;`, …
    Punct(char),
}

/// A token and the line (from 1) it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) line: usize,
}

impl Token {
    /// Whether this is the identifier (or keyword) `name`.
    pub(crate) fn is_ident(&self, name: &str) -> bool {
        matches!(&self.kind, Kind::Ident(ident) if ident == name)
    }

    /// Whether this is the punctuation character `ch`.
    pub(crate) fn is_punct(&self, ch: char) -> bool {
        self.kind == Kind::Punct(ch)
    }
}

/// The tokens of a Rust source file.
pub(crate) fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut at = 0;
    while let Some(&ch) = chars.get(at) {
        let start_line = line;
        let next = chars.get(at + 1).copied();
        if ch == '\n' {
            line += 1;
            at += 1;
        } else if ch.is_whitespace() {
            at += 1;
        } else if ch == '/' && next == Some('/') {
            while chars.get(at).is_some_and(|&ch| ch != '\n') {
                at += 1;
            }
        } else if ch == '/' && next == Some('*') {
            at = skip_block_comment(&chars, at, &mut line);
        } else if ch == '"' {
            let (text, end) = quoted(&chars, at + 1, &mut line);
            out.push(token(Kind::Str(text), start_line));
            at = end;
        } else if let Some((kind, end)) = matches!(ch, 'b' | 'c' | 'r')
            .then(|| prefixed_string(&chars, at, &mut line))
            .flatten()
        {
            out.push(token(kind, start_line));
            at = end;
        } else if ch == '\'' {
            at = skip_char_or_lifetime(&chars, at);
            out.push(token(Kind::Other, start_line));
        } else if ch.is_ascii_digit() {
            while chars
                .get(at)
                .is_some_and(|&ch| ch.is_alphanumeric() || ch == '_')
            {
                at += 1;
            }
            out.push(token(Kind::Other, start_line));
        } else if ch.is_alphabetic() || ch == '_' {
            if ch == 'r' && next == Some('#') {
                at += 2;
            }
            let begin = at;
            while chars
                .get(at)
                .is_some_and(|&ch| ch.is_alphanumeric() || ch == '_')
            {
                at += 1;
            }
            let ident: String = chars[begin..at].iter().collect();
            out.push(token(Kind::Ident(ident), start_line));
        } else {
            out.push(token(Kind::Punct(ch), start_line));
            at += 1;
        }
    }
    out
}

fn token(kind: Kind, line: usize) -> Token {
    Token { kind, line }
}

fn skip_block_comment(chars: &[char], mut at: usize, line: &mut usize) -> usize {
    let mut depth = 0usize;
    while let Some(&ch) = chars.get(at) {
        let next = chars.get(at + 1).copied();
        if ch == '/' && next == Some('*') {
            depth += 1;
            at += 2;
        } else if ch == '*' && next == Some('/') {
            depth -= 1;
            at += 2;
            if depth == 0 {
                break;
            }
        } else {
            if ch == '\n' {
                *line += 1;
            }
            at += 1;
        }
    }
    at
}

/// The text of a `"…"` literal whose first character is at `at`, and the index after its close.
fn quoted(chars: &[char], mut at: usize, line: &mut usize) -> (String, usize) {
    let mut text = String::new();
    while let Some(&ch) = chars.get(at) {
        match ch {
            '"' => return (text, at + 1),
            '\\' => {
                text.push(ch);
                if let Some(&escaped) = chars.get(at + 1) {
                    text.push(escaped);
                    if escaped == '\n' {
                        *line += 1;
                    }
                }
                at += 2;
            }
            _ => {
                if ch == '\n' {
                    *line += 1;
                }
                text.push(ch);
                at += 1;
            }
        }
    }
    (text, at)
}

/// `r"…"`, `r#"…"#`, `b"…"`, `br"…"`, `c"…"` and `cr#"…"#` literals starting at `at`.
fn prefixed_string(chars: &[char], at: usize, line: &mut usize) -> Option<(Kind, usize)> {
    let text: String = chars[at..chars.len().min(at + 3)].iter().collect();
    let (prefix_len, raw, kept) = if text.starts_with("br") || text.starts_with("cr") {
        (2, true, false)
    } else if text.starts_with('r') {
        (1, true, true)
    } else if text.starts_with('b') || text.starts_with('c') {
        (1, false, false)
    } else {
        return None;
    };
    let mut at = at + prefix_len;
    if !raw {
        if chars.get(at) != Some(&'"') {
            return None;
        }
        let (_, end) = quoted(chars, at + 1, line);
        return Some((Kind::Other, end));
    }
    let mut hashes = 0;
    while chars.get(at) == Some(&'#') {
        hashes += 1;
        at += 1;
    }
    if chars.get(at) != Some(&'"') {
        return None;
    }
    at += 1;
    let begin = at;
    while at < chars.len() {
        if chars[at] == '"' && (1..=hashes).all(|offset| chars.get(at + offset) == Some(&'#')) {
            let body: String = chars[begin..at].iter().collect();
            let kind = if kept { Kind::Str(body) } else { Kind::Other };
            return Some((kind, at + 1 + hashes));
        }
        if chars[at] == '\n' {
            *line += 1;
        }
        at += 1;
    }
    Some((Kind::Other, at))
}

/// A character literal (`'a'`, `'\''`, `'\u{1F600}'`) or a lifetime (`'a`) starting at `at`.
fn skip_char_or_lifetime(chars: &[char], at: usize) -> usize {
    if chars.get(at + 1) == Some(&'\\') {
        let mut end = at + 3;
        while chars.get(end).is_some_and(|&ch| ch != '\'') {
            end += 1;
        }
        return end + 1;
    }
    if chars.get(at + 2) == Some(&'\'') {
        return at + 3;
    }
    // A lifetime or label: the quote and the identifier after it.
    let mut end = at + 1;
    while chars
        .get(end)
        .is_some_and(|&ch| ch.is_alphanumeric() || ch == '_')
    {
        end += 1;
    }
    end
}

/// The tokens a non-test build compiles, and the names of the modules declared test-only with
/// `#[cfg(test)] mod NAME;` (their files are test code too).
///
/// An item counts as test-only when one of its outer attributes is a `cfg` that names `test` or
/// the feature `testing`, and no `not`; a file whose inner attributes say so (`#![cfg(test)]`)
/// is test code as a whole.
pub(crate) fn non_test(tokens: &[Token]) -> (Vec<Token>, Vec<String>) {
    let mut kept = Vec::new();
    let mut test_modules = Vec::new();
    let mut at = 0;
    while at < tokens.len() {
        if !tokens[at].is_punct('#') {
            kept.push(tokens[at].clone());
            at += 1;
            continue;
        }
        let inner = tokens.get(at + 1).is_some_and(|token| token.is_punct('!'));
        let open = at + 1 + usize::from(inner);
        if !tokens.get(open).is_some_and(|token| token.is_punct('[')) {
            kept.push(tokens[at].clone());
            at += 1;
            continue;
        }
        let close = matching(tokens, open);
        let attribute = &tokens[open + 1..close.min(tokens.len())];
        if is_test_cfg(attribute) {
            if inner {
                return (Vec::new(), test_modules);
            }
            let end = item_end(tokens, close + 1);
            if let Some(name) = declared_module(&tokens[close + 1..end]) {
                test_modules.push(name);
            }
            at = end;
        } else {
            kept.extend_from_slice(&tokens[at..(close + 1).min(tokens.len())]);
            at = close + 1;
        }
    }
    (kept, test_modules)
}

/// `cfg(test)`, `cfg(any(test, …))` or `cfg(feature = "testing")` (the fixtures that test suites
/// of other crates enable as a dev-dependency feature), without a `not`.
fn is_test_cfg(attribute: &[Token]) -> bool {
    attribute.first().is_some_and(|token| token.is_ident("cfg"))
        && attribute
            .iter()
            .any(|token| token.is_ident("test") || token.kind == Kind::Str("testing".to_owned()))
        && !attribute.iter().any(|token| token.is_ident("not"))
}

/// The index of the bracket closing the one at `open` (`(`, `[` or `{`), or the end.
pub(crate) fn matching(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (index, token) in tokens.iter().enumerate().skip(open) {
        match token.kind {
            Kind::Punct('(' | '[' | '{') => depth += 1,
            Kind::Punct(')' | ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return index;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// The index after the item that starts at `at` (its further attributes included): after its
/// `;`, or after the `}` of its body, whichever comes first outside brackets.
fn item_end(tokens: &[Token], mut at: usize) -> usize {
    while at < tokens.len() {
        match tokens[at].kind {
            Kind::Punct(';') => return at + 1,
            Kind::Punct('{') => return matching(tokens, at) + 1,
            Kind::Punct('(' | '[') => at = matching(tokens, at) + 1,
            _ => at += 1,
        }
    }
    tokens.len()
}

/// `NAME` of an item `… mod NAME;` (a module in its own file).
fn declared_module(item: &[Token]) -> Option<String> {
    match item {
        [
            ..,
            module,
            Token {
                kind: Kind::Ident(name),
                ..
            },
            semicolon,
        ] if module.is_ident("mod") && semicolon.is_punct(';') => Some(name.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::{Kind, non_test, tokens};

    fn strings(text: &str) -> Vec<String> {
        tokens(text)
            .into_iter()
            .filter_map(|token| match token.kind {
                Kind::Str(text) => Some(text),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn string_literals_are_found_and_comments_are_not() {
        let text = r####"
            //! "doc"
            /// "doc" too
            /* "block" /* "nested" */ */
            let a = "one"; let b = r#"two "quoted""#; let c = b"bytes"; let d = '"';
            let e = "esc\"aped"; fn f<'a>(x: &'a str) -> char { 'x' }
            let g = r"raw";
        "####;
        assert_eq!(
            strings(text),
            ["one", "two \"quoted\"", "esc\\\"aped", "raw"]
        );
    }

    #[test]
    fn lines_count_from_one_across_multi_line_literals() {
        let found = tokens("a\n\"x\ny\"\nb");
        let lines: Vec<usize> = found.iter().map(|token| token.line).collect();
        assert_eq!(lines, [1, 2, 4]);
    }

    #[test]
    fn test_only_items_and_module_files_are_left_out() {
        let text = r#"
            fn kept() { "kept"; }
            #[cfg(test)]
            mod tests { fn t() { "inline test"; } }
            #[cfg(any(test, feature = "testing"))]
            pub mod testing;
            #[cfg(feature = "testing")]
            pub mod fixtures;
            #[cfg(not(test))]
            fn release_only() { "release"; }
            #[cfg(test)]
            #[derive(Debug)]
            struct Fixture(&'static str);
            #[derive(Debug)]
            struct After;
        "#;
        let (kept, modules) = non_test(&tokens(text));
        let kept_strings: Vec<&Kind> = kept
            .iter()
            .map(|token| &token.kind)
            .filter(|kind| matches!(kind, Kind::Str(_)))
            .collect();
        assert_eq!(
            kept_strings,
            [&Kind::Str("kept".into()), &Kind::Str("release".into())]
        );
        assert_eq!(modules, ["testing", "fixtures"]);
        assert!(kept.iter().any(|token| token.is_ident("After")));
        assert!(!kept.iter().any(|token| token.is_ident("Fixture")));
    }

    #[test]
    fn a_file_marked_test_only_keeps_nothing() {
        let (kept, _) = non_test(&tokens("#![cfg(test)]\nfn f() { \"x\"; }"));
        assert!(kept.is_empty());
    }
}
