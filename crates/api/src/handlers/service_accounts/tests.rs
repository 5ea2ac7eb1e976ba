//! The `expand` query parameter.

use crate::error::ApiError;
use crate::handlers::service_accounts::Expand;

fn expand(query: &str) -> Result<bool, Vec<String>> {
    match Expand::from_query(query) {
        Ok(expand) => Ok(expand.permissions),
        Err(ApiError::InvalidQuery(errors)) => Err(errors
            .errors()
            .iter()
            .map(|error| error.field.clone())
            .collect()),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn every_spelling_of_expand_permissions_is_accepted() {
    for query in [
        "expand[]=permissions",
        "expand%5B%5D=permissions",
        "expand=permissions",
        "limit=5&expand[]=permissions&cursor=",
        "expand[]=permissions&expand[]=permissions",
    ] {
        assert_eq!(expand(query), Ok(true), "{query}");
    }
}

#[test]
fn no_expand_means_no_permissions() {
    for query in ["", "limit=5", "expand=", "expanded=permissions", "%zz=1"] {
        assert_eq!(expand(query), Ok(false), "{query}");
    }
}

#[test]
fn an_unknown_expand_value_names_the_parameter() {
    assert_eq!(
        expand("expand[]=permissions&expand[]=secrets"),
        Err(vec!["expand[]".to_owned()])
    );
    assert_eq!(expand("expand=%zz"), Err(vec!["expand".to_owned()]));
    assert_eq!(expand("expand=Permissions"), Err(vec!["expand".to_owned()]));
}
