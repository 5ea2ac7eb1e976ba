//! The bookkeeping of connection tests; the test itself (network, timeouts, its bounded
//! executor) is the caller's, between the two halves of a stored credential's test:
//!
//! 1. [`prepare_test`] reads the credential, opens its secrets and, with a body, applies it in
//!    memory through the PATCH's [`plan`] and authorises it: a body that would send
//!    a stored secret elsewhere (`domain::connection_test`) needs the role that may update the
//!    credential. It returns the [`Subject`] to test and a [`PendingRecord`].
//! 2. [`record_test`] writes the outcome: the `tested` event and, when the stored credential
//!    itself was tested, its `health` and `status` (`Credential::record_test`) without a new
//!    version. A body that changed something saves nothing on the credential; its event names
//!    the changed fields (`body.extra_data.host`), never a value.
//!
//! [`candidate`] builds the subject of a test of values that are not stored; nothing is recorded.

use std::collections::BTreeMap;
use std::fmt;

use credvault_crypto::KeyRing;
use credvault_domain::audit::{AuditAction, SecretEffect};
use credvault_domain::authz::{Action, authorize};
use credvault_domain::connection_test::redirecting_fields;
use credvault_domain::credential::Credential;
use credvault_domain::edit::AuditNote;
use credvault_domain::ids::{CredentialId, PrincipalId, TeamId};
use credvault_domain::patch::{CredentialPatch, NewCredential, PatchOutcome, new_credential};
use credvault_domain::principal::Role;
use credvault_domain::secret::SecretMap;
use credvault_domain::time;
use credvault_persistence::{Store, StoreError, StoredCredential};

use super::{Caller, plan};
use crate::error::Error;
use crate::secrets;

/// What a connection test connects with: a credential and its secrets in plaintext (wiped on
/// drop; drop them as soon as the test's target is built).
pub struct Subject {
    /// The credential to test (stored, patched in memory, or a candidate).
    pub credential: Credential,
    /// Its secrets.
    pub secrets: SecretMap,
}

impl fmt::Debug for Subject {
    /// The credential, and the names of the secrets with their values masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subject")
            .field("credential", &self.credential)
            .field("secrets", &self.secrets)
            .finish()
    }
}

/// A prepared test of a stored credential: what to test, and what to record afterwards.
#[derive(Debug)]
pub struct PreparedTest {
    /// What to test.
    pub subject: Subject,
    /// Pass to [`record_test`] with the outcome.
    pub pending: PendingRecord,
}

/// What [`record_test`] needs besides the outcome.
#[derive(Debug)]
pub struct PendingRecord {
    /// The credential as stored when it was read for the test.
    tested: Credential,
    body: Body,
    caller: Caller,
}

#[derive(Debug)]
enum Body {
    /// No body: the stored credential was tested.
    Absent,
    /// A body that changes nothing: the stored credential was tested.
    Unchanged,
    /// A body that changes something: the would-be credential was tested.
    Changed {
        changed_fields: Vec<String>,
        secret_effects: BTreeMap<String, SecretEffect>,
    },
}

impl PendingRecord {
    /// Whether the test is of the stored credential with a body's changes (nothing of its
    /// outcome is saved on the credential then).
    pub fn tests_changes(&self) -> bool {
        matches!(self.body, Body::Changed { .. })
    }
}

/// Reads credential `credential_id` of team `team_id` for a test by `caller`, whose role in the
/// team is `role`, with an optional PATCH `body` applied in memory.
///
/// [`Error::Store`] `NotFound` when there is no such credential; [`Error::Invalid`] when the
/// body is invalid; [`Error::Denied`] when it would send a stored secret elsewhere and `role` may
/// not update the credential.
pub fn prepare_test(
    store: &Store,
    key_ring: &KeyRing,
    team_id: TeamId,
    credential_id: CredentialId,
    role: Role,
    caller: Caller,
    body: Option<&CredentialPatch>,
) -> Result<PreparedTest, Error> {
    let stored = store
        .find_credential(team_id, credential_id)?
        .ok_or(StoreError::NotFound)?;
    let secrets = secrets::open(key_ring, &stored)?;
    let StoredCredential { credential, .. } = stored;
    let stored_subject = |credential: Credential, secrets, body| PreparedTest {
        subject: Subject {
            credential: credential.clone(),
            secrets,
        },
        pending: PendingRecord {
            tested: credential,
            body,
            caller,
        },
    };
    let Some(patch) = body else {
        return Ok(stored_subject(credential, secrets, Body::Absent));
    };
    let plan = plan(&credential, Some(&secrets), patch)?;
    if !plan.changes_anything() {
        return Ok(stored_subject(credential, secrets, Body::Unchanged));
    }
    // A body that would send a stored secret elsewhere needs the role that may change the
    // credential: members test, never write, and never learn a secret.
    let redirecting = redirecting_fields(
        credential.schema(),
        &credential.secret_fields,
        plan.changed_fields(),
        plan.secret_effects(),
    );
    if !redirecting.is_empty() {
        authorize(Some(role), Action::UpdateIntegration)?;
    }
    let PatchOutcome {
        credential: patched,
        secrets: patched_secrets,
        changed_fields,
        secret_effects,
    } = plan.into_outcome();
    Ok(PreparedTest {
        subject: Subject {
            credential: patched,
            secrets: patched_secrets.unwrap_or(secrets),
        },
        pending: PendingRecord {
            tested: credential,
            body: Body::Changed {
                changed_fields,
                secret_effects,
            },
            caller,
        },
    })
}

/// Records a test's outcome (`ok`, and its `message`, which never holds a secret): the `tested`
/// event, and for a test of the stored credential its `health` and `status`, written only if it
/// is still the version that was tested. A credential deleted meanwhile records nothing and is
/// no error: the answer is still the test's.
pub fn record_test(
    store: &Store,
    pending: PendingRecord,
    ok: bool,
    message: String,
) -> Result<(), Error> {
    let PendingRecord {
        tested,
        body,
        caller,
    } = pending;
    let at = time::now();
    let mut note = AuditNote::new(AuditAction::Tested, caller.actor, caller.request_id);
    let record = match body {
        Body::Absent => Some(tested.record_test(ok, message, at)),
        Body::Unchanged => {
            note.changed_fields.push("body".to_owned());
            Some(tested.record_test(ok, message, at))
        }
        Body::Changed {
            changed_fields,
            secret_effects,
        } => {
            note.changed_fields.push("body".to_owned());
            note.changed_fields
                .extend(changed_fields.iter().map(|field| format!("body.{field}")));
            note.secrets = secret_effects;
            None
        }
    };
    // One instant for the outcome's `health.checked_at` and the event's `at`.
    match store.record_test(tested.team_id, tested.id, record.as_ref(), at, note) {
        Ok(_) | Err(StoreError::NotFound) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// The subject of a test of candidate values for team `team_id`, validated as a create body
/// (by `principal`); nothing is stored.
pub fn candidate(
    team_id: TeamId,
    principal: PrincipalId,
    input: &NewCredential,
) -> Result<Subject, Error> {
    let created = new_credential(input, CredentialId::new(), team_id, principal, time::now())?;
    Ok(Subject {
        credential: created.credential,
        secrets: created.secrets,
    })
}
