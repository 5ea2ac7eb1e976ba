//! Durability: a server killed with SIGKILL under write load keeps every write it acknowledged.
//!
//! Clients PATCH their own credentials in a loop, remembering every acknowledged write and the one
//! write in flight. After the kill and a restart on the same database, each credential must be at
//! its last acknowledged version with exactly that write's secret and port, or one version
//! further with exactly the in-flight write (committed, but the answer was lost with the process).
//!
//! On SQLite this would hold even with `synchronous=NORMAL` in WAL mode: a commit is in the WAL
//! (in the operating system's page cache) before the answer is sent, and killing the process does
//! not drop the page cache. The default, `FULL`, also syncs the WAL before answering, against a
//! power loss or a kernel crash, which a test cannot cause; the PRAGMA itself is checked by the
//! store's unit tests.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use credvault_crypto::KeyRing;
use credvault_domain::ids::CredentialId;
use credvault_persistence::testing::TestDb;
use serde_json::json;

use crate::credvault;
use crate::harness::{ApiClient, ServerProcess, new_key, open_stored, wait_for};

const TIMEOUT: Duration = Duration::from_secs(30);

/// One PATCH: the secret and the port it sets.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Write {
    password: String,
    port: i64,
}

/// What a client knows about one credential.
#[derive(Clone, Debug)]
struct Known {
    id: CredentialId,
    /// The last acknowledged write and the version its answer named.
    acked: Option<(i64, Write)>,
    /// A write that was sent but never answered.
    in_flight: Option<Write>,
}

/// PATCHes its credentials round-robin until the server stops answering (or a bound); every
/// answer it gets must be a success.
fn write_until_the_server_dies(
    client: &ApiClient,
    mut known: Vec<Known>,
    writer: usize,
    acks: &AtomicU64,
    stop: &AtomicBool,
) -> Vec<Known> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut count = 0u64;
    while !stop.load(Ordering::SeqCst) && count < 50_000 && Instant::now() < deadline {
        let slot = usize::try_from(count).unwrap() % known.len();
        let entry = &mut known[slot];
        let write = Write {
            password: format!("w{writer}-n{count}"),
            port: 1 + i64::try_from(count % 65_000).unwrap(),
        };
        entry.in_flight = Some(write.clone());
        let body = json!({"extra_data": {"password": write.password, "port": write.port}});
        let Ok(reply) = client.patch(entry.id, body) else {
            // No answer: the server is gone, and this write may or may not have committed.
            return known;
        };
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let version = reply.body["version"].as_i64().unwrap();
        entry.acked = Some((version, write));
        entry.in_flight = None;
        acks.fetch_add(1, Ordering::SeqCst);
        count += 1;
    }
    known
}

fn acknowledged_writes_survive_sigkill(db: &TestDb) {
    let keys = new_key("k1");
    let command = || {
        let mut command: Command = credvault(db.url());
        command.env("CREDVAULT_MASTER_KEYS", &keys);
        command
    };
    let server = ServerProcess::start(command());
    let token = server.demo_token();
    let team_id = server.demo_team_id();
    let client = ApiClient::new(&server.base_url, "demo", &token, TIMEOUT);
    let known: Vec<Known> = (0..4)
        .map(|index| Known {
            id: client.create_postgres(&format!("Warehouse {index}"), "initial"),
            acked: None,
            in_flight: None,
        })
        .collect();

    let acks = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = known
        .chunks(2)
        .enumerate()
        .map(|(writer, owned)| {
            let (client, owned) = (client.clone(), owned.to_vec());
            let (acks, stop) = (acks.clone(), stop.clone());
            std::thread::spawn(move || {
                write_until_the_server_dies(&client, owned, writer, &acks, &stop)
            })
        })
        .collect();
    wait_for("writes to be acknowledged", Duration::from_secs(60), || {
        (acks.load(Ordering::SeqCst) >= 200).then_some(())
    });
    let log = server.kill();
    // Writers that are between two requests stop at the next one, which finds no server.
    let known: Vec<Known> = writers
        .into_iter()
        .flat_map(|writer| writer.join().unwrap())
        .collect();
    stop.store(true, Ordering::SeqCst);
    assert!(!log.contains("w0-n"), "no secret in the log");

    // A new process on the same database.
    let server = ServerProcess::start(command());
    let client = ApiClient::new(&server.base_url, "demo", &token, TIMEOUT);
    let key_ring = KeyRing::parse(&keys).unwrap();
    for entry in &known {
        let (acked_version, acked) = entry.acked.clone().expect("every credential was written");
        let stored = open_stored(db.store(), &key_ring, team_id, entry.id);
        let stored_write = Write {
            password: stored.password.clone().unwrap(),
            port: stored.port.unwrap(),
        };
        if stored.version == acked_version {
            assert_eq!(
                stored_write, acked,
                "credential {} at v{acked_version}",
                entry.id
            );
        } else {
            // Only the write in flight can have committed after the last acknowledged one.
            assert_eq!(
                stored.version,
                acked_version + 1,
                "credential {} lost an acknowledged write or gained an unknown one",
                entry.id
            );
            assert_eq!(
                Some(stored_write),
                entry.in_flight,
                "credential {}",
                entry.id
            );
        }
        // The restarted server serves the same state, and takes writes again.
        let reply = client.get(entry.id).unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.body["version"].as_i64(), Some(stored.version));
        assert_eq!(reply.body["extra_data"]["port"].as_i64(), stored.port);
        let reply = client
            .patch(entry.id, json!({"extra_data": {"port": 65535}}))
            .unwrap();
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert_eq!(reply.body["version"].as_i64(), Some(stored.version + 1));
    }
    server.stop();
}

credvault_persistence::backend_tests! {
    fn acknowledged_patches_survive_a_killed_server(db: &TestDb) {
        acknowledged_writes_survive_sigkill(db);
    }
}
