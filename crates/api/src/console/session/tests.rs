//! Finding the session cookie among a request's cookies.

use actix_web::http::header::{COOKIE, HeaderMap, HeaderValue};

use super::session_cookie;

fn headers(values: &[&'static str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for value in values {
        headers.append(COOKIE, HeaderValue::from_static(value));
    }
    headers
}

#[test]
fn the_session_cookie_is_found_among_others_and_in_any_header() {
    assert_eq!(
        session_cookie(&headers(&["a=1; credvault_console=cvs_x; b=2"])),
        Some("cvs_x")
    );
    assert_eq!(
        session_cookie(&headers(&["a=1", "credvault_console=cvs_y"])),
        Some("cvs_y")
    );
}

#[test]
fn no_or_an_empty_or_a_lookalike_cookie_is_no_session() {
    assert_eq!(session_cookie(&headers(&[])), None);
    assert_eq!(session_cookie(&headers(&["credvault_console="])), None);
    assert_eq!(
        session_cookie(&headers(&["xcredvault_console=cvs_z"])),
        None
    );
}
