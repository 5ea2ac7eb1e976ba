//! Who may test a stored credential with changes: the rule that keeps a stored secret from being
//! sent anywhere but where the stored credential points.
//!
//! `POST …/integrations/{id}/test` may carry a PATCH body that is applied in memory before the
//! test. A member may test (SPEC §1) but never write, and must never learn a secret (SPEC §2); a
//! body that changes where or as whom the test connects while a stored secret is used would let
//! a member send that secret to a server of its choosing. [`redirecting_fields`] names the
//! changes that do so; the caller requires the role of a writer (`owner`) when it names any.
//!
//! The rule is an allow-list: a change matters unless it is known to be descriptive. The
//! descriptive changes are the credential's `name`, `description`, `account_name`, `metadata`,
//! `status` and `health_check_interval_seconds` (and `health`, which a PATCH never sets), and `extra_data` fields that the schema
//! declares with `connection: false`. Every other change counts: declared connection fields
//! (`host`, `port`, `username`, `database`, `ssl_mode`, …), every secret field set or cleared
//! (`connection_string` included), and every undeclared `extra_data` key, since a test may read
//! one (the SFTP host-key pin `host_key_sha256` is such a key).
//!
//! A body that replaces *every* stored secret sends none of them anywhere: it is a candidate
//! test under another name, which members may run, so nothing is named then.
//!
//! ```
//! use std::collections::BTreeMap;
//! use credvault_domain::connection_test::redirecting_fields;
//! use credvault_domain::audit::SecretEffect;
//!
//! let stored_secrets = ["password".to_owned()].into_iter().collect();
//! let effects = BTreeMap::new();
//! // A new host while the stored password is kept: the password would go to that host.
//! let changed = ["extra_data.host".to_owned(), "status".to_owned()];
//! let redirecting = redirecting_fields(None, &stored_secrets, &changed, &effects);
//! assert_eq!(redirecting, ["extra_data.host"]);
//! // A new name only: the test connects where the stored credential points.
//! assert!(redirecting_fields(None, &stored_secrets, &["name".to_owned()], &effects).is_empty());
//! // The body brings its own password: no stored secret is used.
//! let effects = BTreeMap::from([("password".to_owned(), SecretEffect::Set)]);
//! let changed = ["extra_data.host".to_owned(), "secrets.password".to_owned()];
//! assert!(redirecting_fields(None, &stored_secrets, &changed, &effects).is_empty());
//! ```

use std::collections::{BTreeMap, BTreeSet};

use crate::audit::SecretEffect;
use crate::schema::Schema;

/// The fields of a credential itself (outside `extra_data` and the secrets) whose change never
/// affects where or how a test connects.
pub const DESCRIPTIVE_FIELDS: [&str; 7] = [
    "name",
    "description",
    "account_name",
    "metadata",
    "status",
    "health",
    crate::health_check::HEALTH_CHECK_INTERVAL_SECONDS,
];

/// The changes of a test's PATCH body that would make the test use a stored secret somewhere
/// other than where the stored credential points; empty when the body may be tested by anyone
/// who may test.
///
/// `schema` is the credential's schema (`None` treats every `extra_data` field as mattering),
/// `stored_secrets` the names of its stored secret fields, `changed_fields` and
/// `secret_effects` what applying the body changes, as `patch::PatchOutcome` reports them
/// (`extra_data.host`, `secrets.password`, `status`, …). A stored secret is used by the test
/// unless the body sets or clears it; a new value equal to the stored one counts as kept.
pub fn redirecting_fields(
    schema: Option<&Schema>,
    stored_secrets: &BTreeSet<String>,
    changed_fields: &[String],
    secret_effects: &BTreeMap<String, SecretEffect>,
) -> Vec<String> {
    let keeps_a_stored_secret = stored_secrets.iter().any(|name| {
        !matches!(
            secret_effects.get(name),
            Some(SecretEffect::Set | SecretEffect::Cleared)
        )
    });
    if !keeps_a_stored_secret {
        return Vec::new();
    }
    changed_fields
        .iter()
        .filter(|field| matters(schema, field))
        .cloned()
        .collect()
}

/// Whether a change of this field (as named in `changed_fields`) can change where or how a test
/// connects.
fn matters(schema: Option<&Schema>, field: &str) -> bool {
    if DESCRIPTIVE_FIELDS.contains(&field) {
        return false;
    }
    if let Some(key) = field.strip_prefix("extra_data.") {
        let declared = schema.and_then(|schema| schema.field(key));
        return declared.is_none_or(|spec| spec.connection || spec.secret);
    }
    true
}

#[cfg(test)]
mod tests;
