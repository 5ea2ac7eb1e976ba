//! Secrets out of messages: the one scrubber of every test's message, whichever library wrote
//! it (libpq, libssh2, the test itself).

use credvault_domain::secret::{MASK, SecretValue};

/// The longest message kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// A short message: whitespace collapsed, truncated, and never holding a secret value.
///
/// Each secret found in the text is replaced by the mask: first in the raw text, then, after
/// the whitespace is collapsed, in its collapsed form too, so a secret that holds a tab, a
/// double space or line breaks (a PEM key) is removed however it was echoed. A secret shorter
/// than four characters cannot be masked without mangling the text, so a message that contains
/// one is replaced by `fallback`, as is an empty message.
///
/// ```
/// use credvault_domain::secret::SecretValue;
/// use credvault_probe::scrub::scrub;
///
/// let password = SecretValue::from("hunter22");
/// assert_eq!(scrub("bad  'hunter22'\n", &[&password], "failed"), "bad '••••'");
/// assert_eq!(scrub("", &[], "failed"), "failed");
/// ```
pub fn scrub(message: &str, secrets: &[&SecretValue], fallback: &str) -> String {
    let Some(raw) = mask_each(message.to_owned(), secrets.iter().map(|s| s.expose())) else {
        return fallback.to_owned();
    };
    let collapsed = collapse(&raw);
    let collapsed_secrets: Vec<String> = secrets.iter().map(|s| collapse(s.expose())).collect();
    let Some(mut text) = mask_each(collapsed, collapsed_secrets.iter().map(String::as_str)) else {
        return fallback.to_owned();
    };
    if text.is_empty() {
        return fallback.to_owned();
    }
    if text.chars().count() > MAX_MESSAGE_CHARS {
        text = text.chars().take(MAX_MESSAGE_CHARS - 1).collect::<String>() + "…";
    }
    text
}

/// The text with every run of whitespace made one space, trimmed.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text with each value replaced by the mask; `None` when a value too short to mask occurs.
fn mask_each<'a>(mut text: String, values: impl Iterator<Item = &'a str>) -> Option<String> {
    for value in values {
        if value.is_empty() || !text.contains(value) {
            continue;
        }
        if value.chars().count() < 4 {
            return None;
        }
        text = text.replace(value, MASK);
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_collapsed_and_scrubbed() {
        let secret = SecretValue::from("s3cr3t-pw");
        let message = scrub(
            "failed:\n\tpassword 's3cr3t-pw'   rejected",
            &[&secret],
            "fallback",
        );
        assert_eq!(message, "failed: password '••••' rejected");
    }

    #[test]
    fn a_short_secret_in_a_message_replaces_the_whole_message() {
        let secret = SecretValue::from("ab");
        let message = scrub("role ab failed", &[&secret], "the server refused the login");
        assert_eq!(message, "the server refused the login");
        assert_eq!(scrub("nothing here", &[&secret], "x"), "nothing here");
    }

    #[test]
    fn long_messages_are_truncated() {
        let message = scrub(&"x".repeat(1000), &[], "fallback");
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
        assert!(message.ends_with('…'));
    }

    #[test]
    fn secrets_with_whitespace_are_scrubbed_raw_and_collapsed() {
        let pem = SecretValue::from(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nBG5vbmUAAAAE\n-----END OPENSSH PRIVATE KEY-----\n",
        );
        let tabbed = SecretValue::from("pass\tword  with spaces");
        let secrets = [&pem, &tabbed];
        for message in [
            // Echoed as given.
            format!("bad key {}; then", pem.expose()),
            format!("password '{}' refused", tabbed.expose()),
            // Echoed with the whitespace already collapsed (as a one-line log would).
            "bad key -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXktdjEAAAAA BG5vbmUAAAAE -----END OPENSSH PRIVATE KEY-----; then".to_owned(),
            "password 'pass word with spaces' refused".to_owned(),
            // Collapsed differently: line breaks as tabs, doubled spaces.
            "key -----BEGIN OPENSSH PRIVATE KEY-----\tb3BlbnNzaC1rZXktdjEAAAAA  BG5vbmUAAAAE\t-----END OPENSSH PRIVATE KEY----- x".to_owned(),
        ] {
            let scrubbed = scrub(&message, &secrets, "failed");
            for part in ["b3BlbnNzaC1rZXktdjEAAAAA", "BG5vbmUAAAAE", "with spaces"] {
                assert!(!scrubbed.contains(part), "{message:?} -> {scrubbed:?}");
            }
            assert!(scrubbed.contains(MASK), "{scrubbed:?}");
        }
    }
}
