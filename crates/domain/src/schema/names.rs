//! Key names compared the way a reader sees them, for the secret-name guard.
//!
//! A key of `extra_data` is stored in plain text unless the schema declares it secret, so a key
//! that merely *looks* like a secret field must be refused. "Looks like" is decided on the
//! [`fold`]ed form of the name, which maps every spelling a person would read as the same word
//! to one string:
//!
//! - NFKC: compatibility forms become their plain letters (fullwidth `ｐａｓｓｗｏｒｄ`, ligatures);
//! - lower case, so `PASSPHRASE`, `Passphrase` and `connectionString` fold like the declared name;
//! - the UTS #39 confusable skeleton (the tables rustc uses for its confusable-identifier lints):
//!   the Cyrillic `р` in `рassword` becomes a Latin `p`, and default-ignorable characters such
//!   as U+200B ZERO WIDTH SPACE or U+200D ZERO WIDTH JOINER disappear;
//! - only letters and digits are kept, so `_`, `-`, `.` and spaces separate nothing.
//!
//! ```
//! use credvault_domain::schema::names::fold;
//!
//! assert_eq!(fold("connection_string"), fold("Connection-String"));
//! assert_eq!(fold("passphrase"), fold("\u{440}assphrase")); // Cyrillic er
//! assert_eq!(fold("api_key"), fold("api\u{200d}_KEY"));
//! assert_eq!(fold("password"), fold("\u{ff50}assword")); // fullwidth p
//! assert_ne!(fold("host"), fold("port"));
//! ```

use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;
use unicode_security::{RestrictionLevel, RestrictionLevelDetection, skeleton};

/// The comparison form of a key name: NFKC, lower case, confusable skeleton, letters and digits.
///
/// Two names with the same fold are the same name to a reader; the fold itself is never stored
/// or shown.
pub fn fold(name: &str) -> String {
    if name.is_ascii() {
        // The common case, one table look-up per byte; `ascii_folds_agree_with_the_general_fold`
        // checks that it gives what the general path does.
        let folds = ascii_folds();
        return name
            .bytes()
            .map(|byte| folds[usize::from(byte)].as_str())
            .collect();
    }
    general_fold(name)
}

fn general_fold(name: &str) -> String {
    let compatible: String = name.nfkc().flat_map(char::to_lowercase).collect();
    // The skeleton's prototypes are sometimes upper case (`0` becomes `O`): lower them again.
    skeleton(&compatible)
        .flat_map(char::to_lowercase)
        .filter(|ch| ch.is_alphanumeric())
        .collect()
}

/// The fold of each ASCII character on its own, computed once.
fn ascii_folds() -> &'static [String; 128] {
    static FOLDS: LazyLock<[String; 128]> = LazyLock::new(|| {
        std::array::from_fn(|byte| {
            let ch = u8::try_from(byte).map(char::from).unwrap_or_default();
            general_fold(ch.encode_utf8(&mut [0u8; 4]))
        })
    });
    &FOLDS
}

/// Whether a key name holds a character that a reader cannot see: a control character, or a
/// default-ignorable one (zero-width spaces and joiners, bidirectional marks, soft hyphens, …).
///
/// ```
/// use credvault_domain::schema::names::has_hidden_characters;
///
/// assert!(has_hidden_characters("pass\u{200b}word"));
/// assert!(has_hidden_characters("host\u{0}"));
/// assert!(!has_hidden_characters("caf\u{e9}_ort"));
/// ```
pub fn has_hidden_characters(name: &str) -> bool {
    if name.is_ascii() {
        // No ASCII character is default-ignorable.
        return name.bytes().any(|byte| byte.is_ascii_control());
    }
    name.chars().any(|ch| {
        let mut buffer = [0u8; 4];
        // The skeleton drops exactly the default-ignorable code points.
        ch.is_control() || skeleton(ch.encode_utf8(&mut buffer)).next().is_none()
    })
}

/// Whether a key name can deceive a reader: it holds a hidden character (see
/// [`has_hidden_characters`]), or its letters, after NFKC, are not "highly restrictive" in the
/// sense of UTS #39: a single script, or Latin with Han, Hiragana and Katakana, Bopomofo or
/// Hangul. So `privaτe_key` (Latin with a Greek tau) and `раssword` (Cyrillic `р` and `а` among
/// Latin letters) are deceptive, while `κλειδί` (Greek only), `db_設定` or `ｎｏｔｅ` are not.
///
/// The confusable skeleton of [`fold`] maps many look-alikes but not all of them (UTS #39 takes
/// the Greek `τ` for a small capital T, not for `t`), so a name mixing scripts that have letters
/// confusable with Latin ones is refused outright rather than trusted to fold.
///
/// ```
/// use credvault_domain::schema::names::is_deceptive;
///
/// assert!(is_deceptive("priva\u{3c4}e_key"));
/// assert!(is_deceptive("\u{440}\u{430}ssword"));
/// assert!(is_deceptive("pass\u{200b}word"));
/// assert!(!is_deceptive("host_2"));
/// assert!(!is_deceptive("\u{3ba}\u{3bb}\u{3b5}\u{3b9}\u{3b4}\u{3af}")); // Greek only
/// assert!(!is_deceptive("db_\u{8a2d}\u{5b9a}")); // Latin with Han
/// ```
pub fn is_deceptive(name: &str) -> bool {
    if has_hidden_characters(name) {
        return true;
    }
    if name.is_ascii() {
        return false;
    }
    let letters: String = name.nfkc().filter(|ch| ch.is_alphanumeric()).collect();
    letters.as_str().detect_restriction_level() > RestrictionLevel::HighlyRestrictive
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_separator_variants_fold_alike() {
        for variant in [
            "Passphrase",
            "PASSPHRASE",
            "pass_phrase",
            "pass-phrase",
            "passPhrase",
            "pass.phrase",
            "pass phrase",
        ] {
            assert_eq!(fold(variant), fold("passphrase"), "{variant}");
        }
        assert_eq!(fold("connectionString"), fold("connection_string"));
    }

    #[test]
    fn look_alike_letters_fold_like_latin_ones() {
        // Cyrillic a, e, o, p and s; Greek omicron; fullwidth forms; mathematical bold.
        for variant in [
            "\u{440}\u{430}\u{455}\u{455}w\u{43e}rd",
            "passw\u{3bf}rd",
            "\u{ff30}\u{ff21}\u{ff33}\u{ff33}\u{ff37}\u{ff2f}\u{ff32}\u{ff24}",
            "\u{1d429}assword",
        ] {
            assert_eq!(fold(variant), fold("password"), "{variant:?}");
        }
    }

    #[test]
    fn invisible_characters_disappear_from_the_fold() {
        for variant in [
            "pass\u{200b}word",
            "pass\u{200c}word",
            "pass\u{200d}word",
            "pass\u{2060}word",
            "pass\u{feff}word",
            "pass\u{ad}word",
            "\u{202e}password",
        ] {
            assert_eq!(fold(variant), fold("password"), "{variant:?}");
            assert!(has_hidden_characters(variant), "{variant:?}");
        }
    }

    #[test]
    fn mixing_latin_with_look_alike_scripts_is_deceptive() {
        for deceptive in [
            "p\u{430}ssword",    // Cyrillic a
            "priva\u{3c4}e_key", // Greek tau
            "t\u{585}ken",       // Armenian oh
            "no\u{200b}te",      // zero-width space
        ] {
            assert!(is_deceptive(deceptive), "{deceptive:?}");
        }
        for fine in [
            "application_name",
            "\u{ff4e}\u{ff4f}\u{ff54}\u{ff45}", // fullwidth "note"
            "\u{43a}\u{43b}\u{44e}\u{447}",     // Cyrillic only
            "db_\u{8a2d}\u{5b9a}_\u{30ad}\u{30fc}", // Latin, Han, Katakana
            "caf\u{e9}-ort",
            "",
        ] {
            assert!(!is_deceptive(fine), "{fine:?}");
        }
    }

    #[test]
    fn ascii_folds_agree_with_the_general_fold() {
        let printable: Vec<char> = (0u8..128).map(char::from).collect();
        for first in &printable {
            for second in &printable {
                let name: String = [*first, *second].iter().collect();
                assert_eq!(fold(&name), general_fold(&name), "{name:?}");
            }
        }
        for name in [
            "password",
            "Connection_String",
            "rn_m_vv_w_1l_0O",
            "API-KEY",
        ] {
            assert_eq!(fold(name), general_fold(name), "{name}");
        }
    }

    #[test]
    fn different_words_keep_different_folds() {
        assert_ne!(fold("username"), fold("hostname"));
        assert_ne!(fold("database"), fold("data"));
        assert!(!has_hidden_characters("Ελληνικά-κλειδί"));
    }
}
