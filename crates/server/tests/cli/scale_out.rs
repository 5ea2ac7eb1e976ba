//! Several instances started at once on one empty PostgreSQL database: all of them start, the
//! migrations run once, and exactly one creates the demo team and prints its owner token.

use std::sync::Barrier;

use credvault_domain::team::TeamRef;
use credvault_persistence::testing::TestDb;
use credvault_persistence::{PageRequest, Store, StoreOptions};

use crate::credvault;
use crate::harness::{ServerProcess, new_key};

/// How many instances start at once.
const INSTANCES: usize = 4;

#[test]
fn postgres_concurrent_first_starts_create_one_demo_team() {
    let Some(db) = TestDb::postgres_unmigrated() else {
        return;
    };
    let key = new_key("k1");
    let barrier = Barrier::new(INSTANCES);
    let servers: Vec<ServerProcess> = std::thread::scope(|scope| {
        let starting: Vec<_> = (0..INSTANCES)
            .map(|_| {
                scope.spawn(|| {
                    let mut command = credvault(db.url());
                    command.env("CREDVAULT_MASTER_KEYS", &key);
                    barrier.wait();
                    ServerProcess::start(command)
                })
            })
            .collect();
        starting
            .into_iter()
            .map(|handle| handle.join().expect("every instance starts"))
            .collect()
    });
    let demos: Vec<_> = servers
        .iter()
        .filter(|server| server.started.get("demo").is_some())
        .collect();
    assert_eq!(demos.len(), 1, "exactly one instance prints a demo token");
    let token = demos[0].demo_token();

    let store = Store::open(db.url(), &StoreOptions::default()).unwrap();
    assert_eq!(store.count_teams().unwrap(), 1);
    let demo = store
        .find_team(&TeamRef::Label("demo".parse().unwrap()))
        .unwrap()
        .unwrap();
    let tokens = store
        .list_user_tokens(
            demo.id,
            PageRequest {
                after: None,
                limit: 10,
            },
        )
        .unwrap();
    assert_eq!(tokens.items.len(), 1, "one owner token: {:?}", tokens.items);
    // Every instance serves the one token.
    for server in &servers {
        let status = ureq::get(format!(
            "{}/api/v1/teams/demo/integrations",
            server.base_url
        ))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap()
        .status();
        assert_eq!(status, 200);
    }
    for server in servers {
        let log = server.stop();
        assert!(!log.contains("ERROR"), "{log}");
    }
}
