//! The `Origin` / `Sec-Fetch-Site` check of console form posts.

use actix_web::test::TestRequest;

use super::check_origin;

fn post(headers: &[(&'static str, &'static str)]) -> actix_web::HttpRequest {
    let mut request = TestRequest::post().insert_header(("host", "vault.example:8080"));
    for header in headers {
        request = request.insert_header(*header);
    }
    request.to_http_request()
}

#[test]
fn same_origin_null_and_absent_origins_pass() {
    assert!(check_origin(&post(&[])).is_ok());
    assert!(check_origin(&post(&[("origin", "null")])).is_ok());
    assert!(check_origin(&post(&[("origin", "http://vault.example:8080")])).is_ok());
    assert!(check_origin(&post(&[("origin", "https://VAULT.example:8080")])).is_ok());
    assert!(check_origin(&post(&[("sec-fetch-site", "same-origin")])).is_ok());
    assert!(check_origin(&post(&[("sec-fetch-site", "none")])).is_ok());
}

#[test]
fn another_site_is_refused() {
    assert!(check_origin(&post(&[("origin", "https://evil.example")])).is_err());
    assert!(check_origin(&post(&[("origin", "http://vault.example:9090")])).is_err());
    assert!(check_origin(&post(&[("origin", "file://x")])).is_err());
    assert!(check_origin(&post(&[("sec-fetch-site", "cross-site")])).is_err());
    assert!(check_origin(&post(&[("sec-fetch-site", "same-site")])).is_err());
}
