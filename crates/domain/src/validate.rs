//! Validation errors (every failing field at once, each with a path and a message) and the
//! generic rules of free text: names, descriptions, account names.
//!
//! The length and character rules of the free-text fields that the inputs share (credentials,
//! service accounts, client credentials, user tokens) are declared once, with the `validator`
//! crate's derive, on [`TextRules`]; [`check_name`], [`check_description`] and
//! [`check_account_name`] ask it about one field. The input types do not derive `Validate`
//! themselves: their bodies are parsed by hand from a `serde_json::Value` so that a key that is
//! absent stays apart from `null` ([`Patch`](crate::patch::Patch)) and every failure lands in one
//! [`ValidationErrors`] in the order of the body's fields, which a derive on the finished type
//! cannot give (a field that failed to parse has no value to validate). The rules `validator`
//! cannot express stay hand-written: the schema-driven `extra_data` rules and the secret-name
//! guard (`patch`, `schema`).

use std::fmt;

use serde::Serialize;
use validator::Validate;

/// The longest name (of a credential, a service account, a client credential or a token), in
/// characters, after trimming.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// The longest `account_name` of a credential, in characters.
pub const MAX_ACCOUNT_NAME_CHARS: usize = 200;

// The limits as `validator` counts lengths.
const NAME_LIMIT: u64 = MAX_NAME_CHARS as u64;
const DESCRIPTION_LIMIT: u64 = MAX_DESCRIPTION_CHARS as u64;
const ACCOUNT_NAME_LIMIT: u64 = MAX_ACCOUNT_NAME_CHARS as u64;

/// The message of a single-line field that holds a control character.
const CONTROL_CHARACTERS: &str = "must not contain control characters";

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
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Exactly one failing field, for a rule that fails on its own.
    ///
    /// ```
    /// use credvault_domain::validate::ValidationErrors;
    ///
    /// let errors = ValidationErrors::single("body", "must be a JSON object");
    /// assert_eq!(errors.to_string(), "validation failed: body must be a JSON object");
    /// ```
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, message)])
    }

    /// Appends every failing field of `other`, after the ones already recorded.
    pub fn extend(&mut self, other: Self) {
        self.0.extend(other.0);
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
        Err(CONTROL_CHARACTERS.to_owned())
    } else {
        Ok(())
    }
}

/// Trims a name and checks it: 1 to [`MAX_NAME_CHARS`] characters on a single line. The error is
/// the message.
///
/// ```
/// use credvault_domain::validate::check_name;
///
/// assert_eq!(check_name("  Warehouse ").as_deref(), Ok("Warehouse"));
/// assert_eq!(check_name(" ").unwrap_err(), "must not be empty");
/// assert_eq!(check_name(&"é".repeat(201)).unwrap_err(), "must be at most 200 characters");
/// assert_eq!(check_name("etl\u{0}").unwrap_err(), "must not contain control characters");
/// // The first failing rule is the message.
/// let long_with_nul = format!("{}\u{0}", "x".repeat(200));
/// assert_eq!(check_name(&long_with_nul).unwrap_err(), "must be at most 200 characters");
/// ```
pub fn check_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    TextRules {
        name: Some(trimmed),
        ..TextRules::default()
    }
    .check("name")
    .map(|()| trimmed.to_owned())
}

/// Checks a description: at most [`MAX_DESCRIPTION_CHARS`] characters, and no control character
/// other than tab, line feed and carriage return. The error is the message.
///
/// ```
/// use credvault_domain::validate::check_description;
///
/// assert!(check_description("first line\nsecond line").is_ok());
/// assert_eq!(check_description(&"é".repeat(501)).unwrap_err(), "must be at most 500 characters");
/// ```
pub fn check_description(text: &str) -> Result<(), String> {
    TextRules {
        description: Some(text),
        ..TextRules::default()
    }
    .check("description")
}

/// Checks a credential's account name: at most [`MAX_ACCOUNT_NAME_CHARS`] characters on a single
/// line. The error is the message.
///
/// ```
/// use credvault_domain::validate::check_account_name;
///
/// assert!(check_account_name("etl@warehouse").is_ok());
/// assert!(check_account_name("etl\nroot").is_err());
/// ```
pub fn check_account_name(text: &str) -> Result<(), String> {
    TextRules {
        account_name: Some(text),
        ..TextRules::default()
    }
    .check("account_name")
}

/// The free-text fields the inputs share, and their rules; a field left `None` is not checked.
///
/// Each field's first failing rule, in the order written, is its message, so a name that is too
/// long is reported as such even when it also holds a control character.
#[derive(Default, Validate)]
pub struct TextRules<'a> {
    /// A trimmed name.
    #[validate(length(min = 1, max = NAME_LIMIT), non_control_character)]
    pub name: Option<&'a str>,
    /// A description.
    #[validate(length(max = DESCRIPTION_LIMIT), custom(function = multi_line_rule))]
    pub description: Option<&'a str>,
    /// A credential's account name.
    #[validate(length(max = ACCOUNT_NAME_LIMIT), non_control_character)]
    pub account_name: Option<&'a str>,
}

impl TextRules<'_> {
    /// The message of `field`'s first failing rule, if any.
    fn check(&self, field: &str) -> Result<(), String> {
        let Err(errors) = self.validate() else {
            return Ok(());
        };
        match errors
            .field_errors()
            .get(field)
            .and_then(|list| list.first())
        {
            Some(error) => Err(rule_message(error)),
            None => Ok(()),
        }
    }
}

/// [`check_multi_line`] as a `validator` custom rule.
fn multi_line_rule(text: &str) -> Result<(), validator::ValidationError> {
    check_multi_line(text).map_err(|message| {
        validator::ValidationError::new("multi_line").with_message(message.into())
    })
}

/// The message of one failed `validator` rule, in the words the API has always used.
fn rule_message(error: &validator::ValidationError) -> String {
    if let Some(message) = &error.message {
        return message.to_string();
    }
    let param = |name: &str| error.params.get(name).and_then(serde_json::Value::as_u64);
    match error.code.as_ref() {
        "length" => {
            let length = error
                .params
                .get("value")
                .and_then(serde_json::Value::as_str)
                .map(|text| text.chars().count() as u64);
            match (param("min"), param("max"), length) {
                (Some(1), _, Some(0)) => "must not be empty".to_owned(),
                (Some(min), _, Some(length)) if length < min => {
                    format!("must be at least {min} characters")
                }
                (_, Some(max), _) => format!("must be at most {max} characters"),
                _ => "has a length out of bounds".to_owned(),
            }
        }
        "non_control_character" => CONTROL_CHARACTERS.to_owned(),
        code => format!("breaks the rule `{code}`"),
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
