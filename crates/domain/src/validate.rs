//! Validation errors: every failing field at once, each with a path and a message.

use std::fmt;

use serde::Serialize;

/// One failing field.
///
/// `field` is a path such as `name`, `extra_data.port` or `clear_secrets.password`; `message`
/// says what is wrong without repeating the value (it may be a secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The path of the failing field.
    pub field: String,
    /// What is wrong, lowercase, without the value.
    pub message: String,
}

impl FieldError {
    /// A new field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Every validation failure of one input; never empty when returned as an error.
#[derive(Clone, Debug, Default, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a failing field.
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The failing fields.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// `Ok(value)` when nothing failed, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("validation failed")?;
        for (index, error) in self.0.iter().enumerate() {
            let separator = if index == 0 { ": " } else { "; " };
            write!(f, "{separator}{} {}", error.field, error.message)?;
        }
        Ok(())
    }
}

/// Checks one line of free text (a name, an account name): no control character at all.
///
/// NUL especially: PostgreSQL cannot store it in a text column, and other control characters
/// only hide or rewrite what a reader sees. The error is a message without the value.
///
/// ```
/// use credvault_domain::validate::check_single_line;
///
/// assert!(check_single_line("etl@warehouse").is_ok());
/// assert!(check_single_line("etl\u{0}").is_err());
/// assert!(check_single_line("two\nlines").is_err());
/// ```
pub fn check_single_line(text: &str) -> Result<(), String> {
    if text.chars().any(char::is_control) {
        Err("must not contain control characters".to_owned())
    } else {
        Ok(())
    }
}

/// Checks free text that may span lines (a description): tab, line feed and carriage return are
/// allowed, every other control character (NUL, escape, backspace, …) is not.
///
/// ```
/// use credvault_domain::validate::check_multi_line;
///
/// assert!(check_multi_line("first line\n\tsecond line\r\n").is_ok());
/// assert!(check_multi_line("nul \u{0} inside").is_err());
/// assert!(check_multi_line("escape \u{1b}[2J").is_err());
/// ```
pub fn check_multi_line(text: &str) -> Result<(), String> {
    if text
        .chars()
        .any(|ch| ch.is_control() && !matches!(ch, '\t' | '\n' | '\r'))
    {
        Err(
            "must not contain control characters other than tab, line feed and carriage return"
                .to_owned(),
        )
    } else {
        Ok(())
    }
}

/// How deep a JSON value nests (a scalar is 0, `{}` or `[]` is 1).
pub fn json_depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        serde_json::Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The length in bytes of a JSON value's compact encoding.
pub fn json_size(value: &impl Serialize) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a `Value` into an in-memory sink cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}
