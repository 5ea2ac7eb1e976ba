//! Fixtures: a team with an owner and a member, a key ring, a stored PostgreSQL credential.

use credvault_crypto::{KeyId, KeyRing};
use credvault_domain::audit::Actor;
use credvault_domain::credential::Credential;
use credvault_domain::ids::{RequestId, TeamId};
use credvault_domain::patch::NewCredential;
use credvault_domain::principal::{PrincipalKind, Role};
use credvault_persistence::testing::TestDb;
use credvault_usecases::credentials::{self, Caller};
use serde_json::json;

/// A team, with callers of each role.
pub(crate) struct Team {
    pub(crate) id: TeamId,
    pub(crate) owner: Caller,
    pub(crate) member: Caller,
}

pub(crate) fn team(db: &TestDb) -> Team {
    let team = db.store().create_team(&"acme".parse().unwrap()).unwrap();
    let caller = |role, hash| Caller {
        actor: Actor {
            id: db.store().create_user(team.id, role, hash).unwrap(),
            kind: PrincipalKind::User,
        },
        request_id: RequestId::new(),
    };
    Team {
        id: team.id,
        owner: caller(Role::Owner, "owner-hash"),
        member: caller(Role::Member, "member-hash"),
    }
}

/// A key ring whose active key is `active`; each key's bytes follow from its id, so one id is
/// one key in every ring.
pub(crate) fn key_ring(active: &str, keys: &[&str]) -> KeyRing {
    let keys = keys
        .iter()
        .map(|id| {
            (
                id.parse::<KeyId>().unwrap(),
                [id.as_bytes()[id.len() - 1]; 32],
            )
        })
        .collect();
    KeyRing::new(active.parse().unwrap(), keys).unwrap()
}

/// A PostgreSQL credential with a stored password, created by the team's owner.
pub(crate) fn warehouse(db: &TestDb, team: &Team, key_ring: &KeyRing) -> Credential {
    let input = NewCredential::from_json(json!({
        "provider": "postgresql", "kind": "user_password", "name": "Warehouse",
        "extra_data": {
            "host": "db.internal", "port": 5432, "database": "dw", "username": "etl",
            "password": "first"
        }
    }))
    .unwrap();
    credentials::create(db.store(), key_ring, team.id, team.owner, &input)
        .unwrap()
        .credential
}
