//! OAuth apps: a team's OAuth 2.0 clients, with their sealed client secret.

use credvault_domain::ids::{OAuthAppId, TeamId};
use credvault_domain::oauth_app::{NewOAuthApp, OAuthApp};
use credvault_domain::team::Team;
use credvault_domain::time::now;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{PageRequest, StoreError};
use serde_json::json;

use crate::support::{ciphertext, first_page, team_with_owner};

fn new_app(team: &Team, name: &str) -> OAuthApp {
    NewOAuthApp::from_json(json!({
        "name": name,
        "provider": "google",
        "client_id": format!("{name}-client"),
        "client_secret": "unused here: the store takes ciphertext",
        "scopes": ["openid", "email"],
        "metadata": {"env": "prod"},
    }))
    .unwrap()
    .into_app(team.id, now())
    .0
}

credvault_persistence::backend_tests! {
    fn an_app_reads_back_as_stored_with_its_ciphertext(db: &TestDb) {
        let (team, _) = team_with_owner(db, "acme");
        let app = new_app(&team, "Drive");
        let created = db.store().create_oauth_app(&app, &ciphertext("first")).unwrap();
        assert_eq!(created.app.version, 1);
        let found = db.store().find_oauth_app(team.id, app.id).unwrap().unwrap();
        assert_eq!(found.app, created.app);
        assert_eq!(found.app.scopes, ["openid", "email"]);
        assert_eq!(found.app.metadata["env"], "prod");
        assert_eq!(found.ciphertext, ciphertext("first"));
    }

    fn another_teams_app_is_not_found_listed_updated_or_deleted(db: &TestDb) {
        let (acme, _) = team_with_owner(db, "acme");
        let (globex, _) = team_with_owner(db, "globex");
        let app = new_app(&acme, "Drive");
        db.store().create_oauth_app(&app, &ciphertext("first")).unwrap();

        assert!(db.store().find_oauth_app(globex.id, app.id).unwrap().is_none());
        assert!(db.store().list_oauth_apps(globex.id, first_page(10)).unwrap().items.is_empty());
        let moved = OAuthApp { team_id: globex.id, name: "taken".to_owned(), ..app.clone() };
        assert!(matches!(
            db.store().update_oauth_app(&moved, Some(&ciphertext("second"))),
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            db.store().delete_oauth_app(globex.id, app.id),
            Err(StoreError::NotFound)
        ));
        let stored = db.store().find_oauth_app(acme.id, app.id).unwrap().unwrap();
        assert_eq!(stored.app.name, "Drive");
        assert_eq!(stored.ciphertext, ciphertext("first"));
        assert!(matches!(
            db.store().delete_oauth_app(acme.id, OAuthAppId::new()),
            Err(StoreError::NotFound)
        ));
        assert!(db.store().find_oauth_app(TeamId::new(), app.id).unwrap().is_none());
    }

    fn apps_list_in_pages_oldest_first(db: &TestDb) {
        let (team, _) = team_with_owner(db, "acme");
        let ids: Vec<OAuthAppId> = (0..3)
            .map(|index| {
                let app = new_app(&team, &format!("app-{index}"));
                db.store().create_oauth_app(&app, &ciphertext("s")).unwrap();
                app.id
            })
            .collect();
        let first = db.store().list_oauth_apps(team.id, first_page(2)).unwrap();
        let first_ids: Vec<_> = first.items.iter().map(|stored| stored.app.id).collect();
        assert_eq!(first_ids, ids[..2]);
        let after = first.next_after.unwrap();
        assert_eq!(after, *ids[1].as_uuid());
        let second = db
            .store()
            .list_oauth_apps(team.id, PageRequest { after: Some(after), limit: 2 })
            .unwrap();
        let second_ids: Vec<_> = second.items.iter().map(|stored| stored.app.id).collect();
        assert_eq!(second_ids, ids[2..]);
        assert!(second.next_after.is_none());
    }

    fn an_update_moves_the_version_and_a_stale_one_writes_nothing(db: &TestDb) {
        let (team, _) = team_with_owner(db, "acme");
        let app = new_app(&team, "Drive");
        let created = db.store().create_oauth_app(&app, &ciphertext("first")).unwrap();

        let renamed = OAuthApp { name: "Drive (prod)".to_owned(), ..created.app.clone() };
        let updated = db.store().update_oauth_app(&renamed, Some(&ciphertext("second"))).unwrap();
        assert_eq!(updated.app.version, 2);
        assert!(updated.app.updated_at >= created.app.updated_at);
        assert_eq!(updated.app.created_at, created.app.created_at);
        let found = db.store().find_oauth_app(team.id, app.id).unwrap().unwrap();
        assert_eq!(found.app, updated.app);
        assert_eq!(found.ciphertext, ciphertext("second"));

        // A write based on version 1 comes too late.
        let stale = OAuthApp { name: "stale".to_owned(), ..created.app };
        assert!(matches!(
            db.store().update_oauth_app(&stale, Some(&ciphertext("third"))),
            Err(StoreError::VersionMismatch { current: 2 })
        ));
        let found = db.store().find_oauth_app(team.id, app.id).unwrap().unwrap();
        assert_eq!(found.app.name, "Drive (prod)");
        assert_eq!(found.ciphertext, ciphertext("second"));
    }

    fn a_deleted_app_is_gone(db: &TestDb) {
        let (team, _) = team_with_owner(db, "acme");
        let kept = new_app(&team, "kept");
        let gone = new_app(&team, "gone");
        db.store().create_oauth_app(&kept, &ciphertext("k")).unwrap();
        db.store().create_oauth_app(&gone, &ciphertext("g")).unwrap();
        db.store().delete_oauth_app(team.id, gone.id).unwrap();
        assert!(db.store().find_oauth_app(team.id, gone.id).unwrap().is_none());
        let left: Vec<_> = db
            .store()
            .list_oauth_apps(team.id, first_page(10))
            .unwrap()
            .items
            .into_iter()
            .map(|stored| stored.app.id)
            .collect();
        assert_eq!(left, [kept.id]);
    }
}
