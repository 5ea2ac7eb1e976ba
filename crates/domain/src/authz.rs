//! Authorization decisions.
//!
//! One source of truth for what a role may do: the handlers call [`authorize`] and the
//! `expand[]=permissions` view calls [`permissions`], so the two can never disagree.
//!
//! The rule that protects tenants: a caller without any role in a team gets
//! [`Denied::NotFound`], exactly as for a team or credential that does not exist, so nobody can
//! learn which ids exist in other teams. Only a member of the team who lacks the role gets
//! [`Denied::Forbidden`].

use std::collections::BTreeMap;

use crate::principal::{PrincipalKind, Role};

/// Something a principal can try to do inside a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read the team itself.
    ReadTeam,
    /// List or read integration credentials (secrets masked) and their audit events.
    ReadIntegration,
    /// Create an integration credential.
    CreateIntegration,
    /// PATCH an integration credential.
    UpdateIntegration,
    /// Delete an integration credential.
    DeleteIntegration,
    /// Test a stored or candidate credential.
    TestIntegration,
    /// List or read service accounts and their client credentials.
    ReadServiceAccount,
    /// Create a service account or one of its client credentials.
    CreateServiceAccount,
    /// PATCH a service account or one of its client credentials.
    UpdateServiceAccount,
    /// Delete a service account or one of its client credentials.
    DeleteServiceAccount,
    /// List or read the team's user tokens (their metadata; never a token).
    ReadUserToken,
    /// Issue a user token in the team.
    CreateUserToken,
    /// Revoke a user token of the team.
    RevokeUserToken,
    /// List the grants of *use* of the team's credentials.
    ReadGrant,
    /// Grant a service account *use* of a credential.
    CreateGrant,
    /// Revoke a grant of *use*.
    RevokeGrant,
    /// List or read the team's OAuth apps (client secrets masked).
    ReadOAuthApp,
    /// Create an OAuth app.
    CreateOAuthApp,
    /// PATCH an OAuth app.
    UpdateOAuthApp,
    /// Delete an OAuth app.
    DeleteOAuthApp,
}

impl Action {
    /// Every action, in the order [`permissions`] lists them.
    pub const ALL: [Action; 20] = [
        Self::ReadTeam,
        Self::ReadIntegration,
        Self::CreateIntegration,
        Self::UpdateIntegration,
        Self::DeleteIntegration,
        Self::TestIntegration,
        Self::ReadServiceAccount,
        Self::CreateServiceAccount,
        Self::UpdateServiceAccount,
        Self::DeleteServiceAccount,
        Self::ReadUserToken,
        Self::CreateUserToken,
        Self::RevokeUserToken,
        Self::ReadGrant,
        Self::CreateGrant,
        Self::RevokeGrant,
        Self::ReadOAuthApp,
        Self::CreateOAuthApp,
        Self::UpdateOAuthApp,
        Self::DeleteOAuthApp,
    ];

    /// The least role that may perform the action.
    pub const fn required_role(self) -> Role {
        match self {
            Self::ReadTeam
            | Self::ReadIntegration
            | Self::TestIntegration
            | Self::ReadServiceAccount
            | Self::ReadOAuthApp => Role::Member,
            Self::CreateIntegration
            | Self::UpdateIntegration
            | Self::DeleteIntegration
            | Self::CreateServiceAccount
            | Self::UpdateServiceAccount
            | Self::DeleteServiceAccount
            | Self::ReadUserToken
            | Self::CreateUserToken
            | Self::RevokeUserToken
            | Self::ReadGrant
            | Self::CreateGrant
            | Self::RevokeGrant
            | Self::CreateOAuthApp
            | Self::UpdateOAuthApp
            | Self::DeleteOAuthApp => Role::Owner,
        }
    }

    /// The resource type and permission name used by the permissions view.
    pub const fn permission_name(self) -> (&'static str, &'static str) {
        match self {
            Self::ReadTeam => ("teams", "read"),
            Self::ReadIntegration => ("integrations", "read"),
            Self::CreateIntegration => ("integrations", "create"),
            Self::UpdateIntegration => ("integrations", "update"),
            Self::DeleteIntegration => ("integrations", "delete"),
            Self::TestIntegration => ("integrations", "test"),
            Self::ReadServiceAccount => ("service_accounts", "read"),
            Self::CreateServiceAccount => ("service_accounts", "create"),
            Self::UpdateServiceAccount => ("service_accounts", "update"),
            Self::DeleteServiceAccount => ("service_accounts", "delete"),
            Self::ReadUserToken => ("tokens", "read"),
            Self::CreateUserToken => ("tokens", "create"),
            Self::RevokeUserToken => ("tokens", "delete"),
            Self::ReadGrant => ("grants", "read"),
            Self::CreateGrant => ("grants", "create"),
            Self::RevokeGrant => ("grants", "delete"),
            Self::ReadOAuthApp => ("oauth_apps", "read"),
            Self::CreateOAuthApp => ("oauth_apps", "create"),
            Self::UpdateOAuthApp => ("oauth_apps", "update"),
            Self::DeleteOAuthApp => ("oauth_apps", "delete"),
        }
    }
}

/// Why an action was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The caller has no role in the team: answer as if the resource did not exist.
    #[error("not found")]
    NotFound,
    /// The caller is in the team but its role is too low.
    #[error("the caller's role does not allow this action")]
    Forbidden,
    /// The caller is in the team but holds no grant of *use* of the credential (users never do).
    #[error("the caller holds no grant to use this credential")]
    NotGranted,
}

/// Decides whether a caller with `role` in a team (or `None`) may perform `action` there.
///
/// ```
/// use credvault_domain::authz::{Action, Denied, authorize};
/// use credvault_domain::principal::Role;
///
/// assert_eq!(authorize(Some(Role::Owner), Action::UpdateIntegration), Ok(()));
/// assert_eq!(authorize(Some(Role::Member), Action::UpdateIntegration), Err(Denied::Forbidden));
/// // Not in the team at all: indistinguishable from a missing resource.
/// assert_eq!(authorize(None, Action::ReadIntegration), Err(Denied::NotFound));
/// ```
pub fn authorize(role: Option<Role>, action: Action) -> Result<(), Denied> {
    match role {
        None => Err(Denied::NotFound),
        Some(role) if allows(role, action.required_role()) => Ok(()),
        Some(_) => Err(Denied::Forbidden),
    }
}

fn allows(held: Role, required: Role) -> bool {
    match required {
        Role::Member => true,
        Role::Owner => held == Role::Owner,
    }
}

/// Decides whether a caller may *use* a credential, that is, receive its plaintext secrets: a
/// service account in the team (`role` is `Some`) that holds a grant of use of it (`granted`).
///
/// A user never may, whatever its role: no person gets plaintext through the API. An outsider
/// gets [`Denied::NotFound`], as everywhere.
///
/// ```
/// use credvault_domain::authz::{Denied, authorize_use};
/// use credvault_domain::principal::{PrincipalKind, Role};
///
/// let service_account = PrincipalKind::ServiceAccount;
/// assert_eq!(authorize_use(Some(Role::Member), service_account, true), Ok(()));
/// assert_eq!(authorize_use(Some(Role::Owner), service_account, false), Err(Denied::NotGranted));
/// assert_eq!(authorize_use(Some(Role::Owner), PrincipalKind::User, true), Err(Denied::NotGranted));
/// assert_eq!(authorize_use(None, service_account, true), Err(Denied::NotFound));
/// ```
pub fn authorize_use(role: Option<Role>, kind: PrincipalKind, granted: bool) -> Result<(), Denied> {
    match (role, kind, granted) {
        (None, _, _) => Err(Denied::NotFound),
        (Some(_), PrincipalKind::ServiceAccount, true) => Ok(()),
        (Some(_), _, _) => Err(Denied::NotGranted),
    }
}

/// The permissions view of one credential: [`permissions`] plus `integrations.use`, whether the
/// caller may use this credential ([`authorize_use`]).
pub fn credential_permissions(
    role: Option<Role>,
    kind: PrincipalKind,
    granted: bool,
) -> BTreeMap<&'static str, BTreeMap<&'static str, bool>> {
    let mut view = permissions(role);
    view.entry("integrations")
        .or_default()
        .insert("use", authorize_use(role, kind, granted).is_ok());
    view
}

/// The permissions view: resource type → permission name → granted, for a caller with `role`.
///
/// ```
/// use credvault_domain::authz::permissions;
/// use credvault_domain::principal::Role;
///
/// let view = permissions(Some(Role::Member));
/// assert_eq!(view["integrations"]["read"], true);
/// assert_eq!(view["integrations"]["update"], false);
/// ```
pub fn permissions(role: Option<Role>) -> BTreeMap<&'static str, BTreeMap<&'static str, bool>> {
    let mut view: BTreeMap<&'static str, BTreeMap<&'static str, bool>> = BTreeMap::new();
    for action in Action::ALL {
        let (resource, permission) = action.permission_name();
        view.entry(resource)
            .or_default()
            .insert(permission, authorize(role, action).is_ok());
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_may_do_everything() {
        for action in Action::ALL {
            assert_eq!(authorize(Some(Role::Owner), action), Ok(()), "{action:?}");
        }
    }

    #[test]
    fn member_reads_and_tests_but_never_writes() {
        for action in Action::ALL {
            let expected = if action.required_role() == Role::Member {
                Ok(())
            } else {
                Err(Denied::Forbidden)
            };
            assert_eq!(
                authorize(Some(Role::Member), action),
                expected,
                "{action:?}"
            );
        }
        assert_eq!(
            authorize(Some(Role::Member), Action::TestIntegration),
            Ok(())
        );
    }

    #[test]
    fn outsider_gets_not_found_for_everything() {
        for action in Action::ALL {
            assert_eq!(authorize(None, action), Err(Denied::NotFound));
        }
    }

    #[test]
    fn only_a_granted_service_account_may_use() {
        use PrincipalKind::{ServiceAccount, User};
        for role in [Role::Member, Role::Owner] {
            assert_eq!(authorize_use(Some(role), ServiceAccount, true), Ok(()));
            assert_eq!(
                authorize_use(Some(role), ServiceAccount, false),
                Err(Denied::NotGranted)
            );
            for granted in [false, true] {
                assert_eq!(
                    authorize_use(Some(role), User, granted),
                    Err(Denied::NotGranted)
                );
            }
        }
        for kind in [User, ServiceAccount] {
            for granted in [false, true] {
                assert_eq!(authorize_use(None, kind, granted), Err(Denied::NotFound));
            }
        }
        assert!(
            credential_permissions(Some(Role::Member), ServiceAccount, true)["integrations"]["use"]
        );
        assert!(!credential_permissions(Some(Role::Owner), User, true)["integrations"]["use"]);
    }

    #[test]
    fn permissions_view_agrees_with_authorize() {
        for role in [None, Some(Role::Member), Some(Role::Owner)] {
            let view = permissions(role);
            for action in Action::ALL {
                let (resource, permission) = action.permission_name();
                assert_eq!(view[resource][permission], authorize(role, action).is_ok());
            }
        }
    }
}
