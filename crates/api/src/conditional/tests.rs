//! `If-Match` parsing and the strong comparison.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use crate::conditional::{EntityTag, IfMatch};

fn tag(weak: bool, opaque: &str) -> EntityTag {
    EntityTag {
        weak,
        opaque: opaque.to_owned(),
    }
}

#[test]
fn a_list_matches_when_any_strong_member_matches() {
    let condition = IfMatch::parse(r#""10", "3""#).unwrap();
    assert_eq!(
        condition,
        IfMatch::Tags(vec![tag(false, "10"), tag(false, "3")])
    );
    assert!(condition.matches(3));
    assert!(condition.matches(10));
    assert!(!condition.matches(4));
}

#[test]
fn a_weak_tag_never_matches() {
    let condition = IfMatch::parse(r#"W/"3""#).unwrap();
    assert_eq!(condition, IfMatch::Tags(vec![tag(true, "3")]));
    assert!(!condition.matches(3));
    assert!(IfMatch::parse(r#"W/"3", "3""#).unwrap().matches(3));
}

#[test]
fn the_comparison_is_character_by_character() {
    assert!(!IfMatch::parse(r#""03""#).unwrap().matches(3));
    assert!(!IfMatch::parse(r#""+3""#).unwrap().matches(3));
}

#[test]
fn a_star_matches_any_version() {
    assert_eq!(IfMatch::parse(" * ").unwrap(), IfMatch::Any);
    assert!(IfMatch::Any.matches(1));
}

#[test]
fn empty_list_elements_are_ignored() {
    let condition = IfMatch::parse(r#" , "1" ,, "2","#).unwrap();
    assert_eq!(
        condition,
        IfMatch::Tags(vec![tag(false, "1"), tag(false, "2")])
    );
}

#[test]
fn malformed_values_are_refused() {
    for text in [
        "",
        ",",
        "3",
        "two",
        r#""3"#,
        r#""3" "4""#,
        r#"w/"3""#,
        r#"W/ "3""#,
        r#""a b""#,
        r#"*, "3""#,
        r#""3"x"#,
    ] {
        assert!(IfMatch::parse(text).is_err(), "{text:?} was accepted");
    }
}

#[test]
fn strong_versions_leave_out_weak_and_non_version_tags() {
    let condition = IfMatch::parse(r#"W/"1", "2", "x", "03", "0", "-4""#).unwrap();
    assert_eq!(condition.strong_versions(), vec![2]);
}
