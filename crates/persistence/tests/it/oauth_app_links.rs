//! Credentials linked to an OAuth app: the link reads back with the app, an update links and
//! unlinks, and an app that credentials are linked to is not deleted.

use credvault_domain::audit::AuditAction;
use credvault_domain::credential::Credential;
use credvault_domain::ids::{OAuthAppId, PrincipalId};
use credvault_domain::oauth_app::{NewOAuthApp, OAuthApp};
use credvault_domain::schema::{Kind, Provider};
use credvault_domain::team::Team;
use credvault_domain::time::now;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{OAuthAppDeletion, SecretsUpdate, StoreError, UpdateError, constraint};
use serde_json::json;

use crate::support::{ciphertext, first_page, note, postgres_credential, team_with_owner, update};

fn stored_app(db: &TestDb, team: &Team, name: &str) -> OAuthApp {
    let app = NewOAuthApp::from_json(json!({
        "name": name, "provider": "google", "client_id": format!("{name}-client"),
        "client_secret": "unused here: the store takes ciphertext",
    }))
    .unwrap()
    .into_app(team.id, now())
    .0;
    db.store()
        .create_oauth_app(&app, &ciphertext(name))
        .unwrap()
        .app
}

/// A Google OAuth credential of `team`, linked to `app` (or not), stored.
fn linked_credential(
    db: &TestDb,
    team: &Team,
    actor: PrincipalId,
    app: Option<&OAuthApp>,
) -> Credential {
    let credential = Credential {
        provider: Provider::Google,
        kind: Kind::GoogleOauth,
        extra_data: serde_json::Map::new(),
        oauth_app_id: app.map(|app| app.id),
        ..postgres_credential(team, actor, "Drive")
    };
    db.store()
        .insert_credential(
            &credential,
            Some(&ciphertext("drive")),
            note(AuditAction::Created, actor),
        )
        .unwrap();
    credential
}

/// Sets the credential's link, as a PATCH would.
fn relink(
    db: &TestDb,
    credential: &Credential,
    actor: PrincipalId,
    link: Option<OAuthAppId>,
) -> Result<credvault_persistence::StoredCredential, UpdateError<()>> {
    db.store()
        .update_credential(credential.team_id, credential.id, None, |stored| {
            let next = Credential {
                oauth_app_id: link,
                ..stored.credential.clone()
            };
            Ok(update(next, SecretsUpdate::Keep, actor))
        })
}

credvault_persistence::backend_tests! {
    fn a_linked_credential_reads_back_with_its_app(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let app = stored_app(db, &team, "Drive");
        let credential = linked_credential(db, &team, owner, Some(&app));
        let found = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(found.credential.oauth_app_id, Some(app.id));
        assert_eq!(found.oauth_app, Some(app.clone()));
        let (for_use, _) = db
            .store()
            .find_credential_for_use(team.id, credential.id, None)
            .unwrap()
            .unwrap();
        assert_eq!(for_use.oauth_app, Some(app.clone()));
        let unlinked = linked_credential(db, &team, owner, None);
        let found = db.store().find_credential(team.id, unlinked.id).unwrap().unwrap();
        assert_eq!((found.credential.oauth_app_id, found.oauth_app), (None, None));
        // A page of credentials and the apps it links to, in one query.
        let page = db.store().list_credentials(team.id, &Default::default(), first_page(10)).unwrap();
        let links: Vec<_> = page.items.iter().filter_map(|c| c.oauth_app_id).collect();
        assert_eq!(links, [app.id]);
        assert_eq!(db.store().oauth_apps_among(team.id, &links).unwrap(), std::slice::from_ref(&app));
        let (globex, _) = team_with_owner(db, "globex");
        assert!(db.store().oauth_apps_among(globex.id, &links).unwrap().is_empty());
    }

    fn an_update_links_and_unlinks_and_returns_the_app_linked_now(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let first = stored_app(db, &team, "first");
        let second = stored_app(db, &team, "second");
        let credential = linked_credential(db, &team, owner, None);

        let linked = relink(db, &credential, owner, Some(first.id)).unwrap();
        assert_eq!(linked.credential.oauth_app_id, Some(first.id));
        assert_eq!(linked.oauth_app, Some(first.clone()));
        assert_eq!(linked.credential.version, 2);
        let moved = relink(db, &credential, owner, Some(second.id)).unwrap();
        assert_eq!(moved.oauth_app, Some(second.clone()));
        let found = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!(found.oauth_app, Some(second));
        let unlinked = relink(db, &credential, owner, None).unwrap();
        assert_eq!((unlinked.credential.oauth_app_id, unlinked.oauth_app), (None, None));
        let found = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!((found.credential.oauth_app_id, found.credential.version), (None, 4));
    }

    fn a_link_to_an_app_that_does_not_exist_is_refused_by_the_key(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let credential = linked_credential(db, &team, owner, None);
        let refused = relink(db, &credential, owner, Some(OAuthAppId::new()));
        assert!(
            matches!(&refused, Err(UpdateError::Store(StoreError::Conflict { constraint: name })) if name == constraint::FOREIGN_KEY),
            "{:?}", refused.err()
        );
        let found = db.store().find_credential(team.id, credential.id).unwrap().unwrap();
        assert_eq!((found.credential.oauth_app_id, found.credential.version), (None, 1));
    }

    fn an_app_in_use_is_not_deleted_until_its_credentials_let_go(db: &TestDb) {
        let (team, owner) = team_with_owner(db, "acme");
        let app = stored_app(db, &team, "Drive");
        let first = linked_credential(db, &team, owner, Some(&app));
        let second = linked_credential(db, &team, owner, Some(&app));

        assert_eq!(
            db.store().delete_oauth_app(team.id, app.id).unwrap(),
            OAuthAppDeletion::InUse { credentials: 2 }
        );
        assert!(db.store().find_oauth_app(team.id, app.id).unwrap().is_some());
        relink(db, &first, owner, None).unwrap();
        assert_eq!(
            db.store().delete_oauth_app(team.id, app.id).unwrap(),
            OAuthAppDeletion::InUse { credentials: 1 }
        );
        // Deleting the credential lets go of the app too; the app is not cascaded away with it.
        db.store()
            .delete_credential(team.id, second.id, note(AuditAction::Deleted, owner))
            .unwrap();
        assert!(db.store().find_oauth_app(team.id, app.id).unwrap().is_some());
        assert_eq!(
            db.store().delete_oauth_app(team.id, app.id).unwrap(),
            OAuthAppDeletion::Deleted
        );
        assert!(db.store().find_oauth_app(team.id, app.id).unwrap().is_none());
        let kept = db.store().find_credential(team.id, first.id).unwrap().unwrap();
        assert_eq!(kept.credential.oauth_app_id, None);
    }
}
