//! The token DTOs never print a secret.

use crate::dto::token::TokenRequest;

#[test]
fn debug_of_a_token_request_masks_the_client_secret() {
    let request = TokenRequest {
        grant_type: "client_credentials".to_owned(),
        scope: None,
        client_id: Some("cvc_visible".to_owned()),
        client_secret: Some("cvs_Debug-Secret-0001".to_owned()),
    };
    let printed = format!("{request:?}");
    assert!(!printed.contains("cvs_Debug-Secret-0001"), "{printed}");
    assert!(printed.contains("cvc_visible"), "{printed}");
}
