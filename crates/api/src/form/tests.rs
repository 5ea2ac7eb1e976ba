//! Form decoding, with the examples of the WHATWG URL standard and RFC 6749.

use zeroize::Zeroizing;

use crate::form::{FormError, decode_component, parse_pairs};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, Zeroizing<String>)> {
    list.iter()
        .map(|(name, value)| ((*name).to_owned(), Zeroizing::new((*value).to_owned())))
        .collect()
}

#[test]
fn plus_is_a_space_and_percent_escapes_are_bytes() {
    assert_eq!(decode_component("a+b%20c").as_deref(), Ok("a b c"));
    assert_eq!(decode_component("%2B%26%3D%25").as_deref(), Ok("+&=%"));
    assert_eq!(decode_component("caf%C3%A9").as_deref(), Ok("café"));
    assert_eq!(decode_component("").as_deref(), Ok(""));
}

#[test]
fn rfc_6749_client_credentials_body_decodes() {
    assert_eq!(
        parse_pairs("grant_type=client_credentials&scope=read+write"),
        Ok(pairs(&[
            ("grant_type", "client_credentials"),
            ("scope", "read write"),
        ]))
    );
}

#[test]
fn empty_segments_are_skipped_and_a_bare_name_has_an_empty_value() {
    assert_eq!(
        parse_pairs("a=1&&flag&expand%5B%5D=permissions&"),
        Ok(pairs(&[
            ("a", "1"),
            ("flag", ""),
            ("expand[]", "permissions")
        ]))
    );
    assert_eq!(parse_pairs(""), Ok(Vec::new()));
}

#[test]
fn a_broken_percent_escape_is_an_error() {
    for broken in ["%", "%4", "%zz", "a%2", "%%41"] {
        assert_eq!(
            decode_component(broken),
            Err(FormError::BadPercentEncoding),
            "{broken}"
        );
    }
}

#[test]
fn bytes_that_are_not_utf8_are_an_error() {
    assert_eq!(decode_component("%FF%FE"), Err(FormError::NotUtf8));
    assert_eq!(parse_pairs("a=%C3"), Err(FormError::NotUtf8));
}
