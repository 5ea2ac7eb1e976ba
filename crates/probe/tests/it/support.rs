//! What the tests share: their time limits, the target of a create body, a policy that opens
//! loopback, and the fixtures' servers (or a reason to skip).

use std::time::Duration;

use credvault_domain::ids::{CredentialId, PrincipalId, TeamId};
use credvault_domain::patch::{NewCredential, new_credential};
use credvault_probe::testing::cluster::{ScramCluster, scram_cluster};
use credvault_probe::testing::sshd::Sshd;
use credvault_probe::{ProbePolicy, ProbeSettings, Target};
use serde_json::Value;

/// The bound of tests that should answer: generous, so a busy machine does not make them fail.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);
/// The bound of the never-answering cases, which wait for it.
pub(crate) const SHORT_TIMEOUT: Duration = Duration::from_secs(2);

/// The test target of a create body, as the candidate endpoint builds it.
pub(crate) fn target(body: Value) -> Target {
    let input = NewCredential::from_json(body).unwrap();
    let created = new_credential(
        &input,
        CredentialId::new(),
        TeamId::new(),
        PrincipalId::new(),
        chrono::Utc::now(),
    )
    .unwrap();
    credvault_probe::target_for(&created.credential, &created.secrets).unwrap()
}

/// Settings whose connection tests may reach loopback (`127.0.0.0/8`, `::1`), and nothing else.
pub(crate) fn loopback_settings() -> ProbeSettings {
    ProbeSettings {
        allow: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        ..ProbeSettings::default()
    }
}

/// The policy of [`loopback_settings`], for a server listening nowhere.
pub(crate) fn loopback_policy() -> ProbePolicy {
    ProbePolicy::new(&loopback_settings(), &[])
}

/// The process's SCRAM cluster, or `None` after saying why the test skips.
pub(crate) fn cluster() -> Option<&'static ScramCluster> {
    match scram_cluster() {
        Ok(cluster) => Some(cluster),
        Err(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}

/// A new SSH server, or `None` after saying why the test skips.
pub(crate) fn sshd() -> Option<Sshd> {
    match Sshd::start() {
        Ok(sshd) => Some(sshd),
        Err(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}
