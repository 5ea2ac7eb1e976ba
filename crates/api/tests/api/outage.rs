//! A database that goes away answers `503` problems, never a `500` or a hang.
//!
//! PostgreSQL only: the test puts a TCP relay between the store and the server, serves a request
//! through it, then closes the relay. (An SQLite file cannot be unplugged from a live connection.)
//! The module is named `postgres` so that CI's PostgreSQL run (`-- postgres::`) includes it.

mod postgres {
    use std::io;
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;
    use std::time::Duration;

    use credvault_api::Settings;
    use credvault_persistence::testing::TestDb;
    use credvault_persistence::{Store, StoreOptions};

    use crate::helpers::TestApp;

    /// Forwards TCP connections to `upstream` until [`Relay::close`].
    struct Relay {
        port: u16,
        closed: Arc<AtomicBool>,
        streams: Arc<Mutex<Vec<TcpStream>>>,
        acceptor: Option<JoinHandle<()>>,
    }

    impl Relay {
        fn start(upstream: String) -> Relay {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.set_nonblocking(true).unwrap();
            let port = listener.local_addr().unwrap().port();
            let closed = Arc::new(AtomicBool::new(false));
            let streams: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
            let (accept_closed, accept_streams) = (closed.clone(), streams.clone());
            let acceptor = std::thread::spawn(move || {
                // The listener is dropped when this loop ends, so new connections are refused.
                while !accept_closed.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            client.set_nonblocking(false).unwrap();
                            let server = TcpStream::connect(&upstream).unwrap();
                            let mut registry = accept_streams.lock().unwrap();
                            registry.push(client.try_clone().unwrap());
                            registry.push(server.try_clone().unwrap());
                            pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                            pipe(server, client);
                        }
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                        Err(error) => panic!("relay accept failed: {error}"),
                    }
                }
            });
            Relay {
                port,
                closed,
                streams,
                acceptor: Some(acceptor),
            }
        }

        fn close(&mut self) {
            self.closed.store(true, Ordering::SeqCst);
            if let Some(acceptor) = self.acceptor.take() {
                acceptor.join().unwrap();
            }
            for stream in self.streams.lock().unwrap().drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    fn pipe(mut from: TcpStream, mut to: TcpStream) {
        std::thread::spawn(move || {
            let _ = io::copy(&mut from, &mut to);
            let _ = to.shutdown(Shutdown::Write);
        });
    }

    /// `postgres://user@host:port/db?x` → (`host:port`, the URL with `127.0.0.1:relay_port`).
    fn split_url(url: &str, relay_port: u16) -> (String, String) {
        let (scheme, rest) = url.split_once("://").unwrap();
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, host_port) = match authority.rsplit_once('@') {
            Some((user, host_port)) => (format!("{user}@"), host_port),
            None => (String::new(), authority),
        };
        let upstream = if host_port.contains(':') {
            host_port.to_owned()
        } else {
            format!("{host_port}:5432")
        };
        (
            upstream,
            format!("{scheme}://{user}127.0.0.1:{relay_port}/{path}"),
        )
    }

    #[test]
    fn a_database_outage_is_503() {
        let Some(db) = TestDb::postgres() else {
            return;
        };
        let (upstream, _) = split_url(db.url(), 0);
        let mut relay = Relay::start(upstream);
        let (_, relayed_url) = split_url(db.url(), relay.port);
        let options = StoreOptions {
            pool_size: 2,
            connection_timeout: Duration::from_millis(500),
            ..StoreOptions::default()
        };
        let store = Store::open(&relayed_url, &options).unwrap();
        // No cached readiness answer, so that the first `/readyz` after the cut asks the database.
        let settings = Settings {
            readiness_ttl: Duration::ZERO,
            ..Settings::default()
        };
        let app = TestApp::spawn_with_settings(store, settings);
        let created = app.create_postgres("before the outage", "pw-outage");
        let id = created["id"].as_str().unwrap();
        assert_eq!(app.anonymous.get("/readyz").status, 200);
        // A service account that may use the credential, with its token and role cached by a
        // first use.
        let robot = crate::service_accounts::SignedIn::new(&app, "member");
        let granted = app.owner.post_json(
            &format!("{}/grants", app.credential(id)),
            &serde_json::json!({"service_account_id": robot.account_id()}),
        );
        assert_eq!(granted.status, 201, "{}", granted.body);
        let workload = crate::helpers::Client::new(app.owner.base_url(), Some(robot.token.clone()));
        let use_path = format!("{}/use", app.credential(id));
        assert_eq!(workload.send("POST", &use_path, &[], None).status, 200);

        relay.close();

        let problem = app.anonymous.get("/readyz").problem(503);
        assert_eq!(
            problem["type"],
            "https://credvault.dev/problems/unavailable"
        );
        // The owner's token is still in the in-memory cache, so the request reaches the store.
        let problem = app.owner.get(&app.credential(id)).problem(503);
        assert!(!problem["detail"].as_str().unwrap().contains("127.0.0.1"));
        app.owner
            .patch_json(&app.credential(id), &serde_json::json!({"name": "during"}))
            .problem(503);
        // A use that cannot be recorded releases nothing.
        let refused = workload.send("POST", &use_path, &[], None);
        refused.problem(503);
        assert!(!refused.body.contains("pw-outage"));
    }
}
