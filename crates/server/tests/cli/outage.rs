//! Database outage: the real server on a PostgreSQL cluster that the test starts, stops and
//! starts again. While the database is down, requests get `503` problems within the pool wait and
//! `/readyz` fails; once it is back, the same server process serves again.
//!
//! The cluster is the test's own (`initdb` and `pg_ctl` in a temporary directory, on a free port,
//! run as the `postgres` OS user when the test runs as root); the shared server is never touched.
//! Like every PostgreSQL case it runs when PostgreSQL is configured (`CREDVAULT_TEST_POSTGRES_URL`
//! or `CREDVAULT_REQUIRE_POSTGRES=1`), and with `CREDVAULT_REQUIRE_POSTGRES=1` a missing `initdb`
//! fails it instead of skipping it.

mod postgres {
    use std::ffi::OsStr;
    use std::net::TcpListener;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};
    use std::time::Duration;

    use credvault_persistence::testing::{POSTGRES_URL_VAR, REQUIRE_POSTGRES_VAR};
    use serde_json::json;

    use crate::credvault;
    use crate::harness::{ApiClient, Reply, ServerProcess, new_key, wait_for};

    /// A throwaway PostgreSQL cluster in a temporary directory.
    struct Cluster {
        bin: PathBuf,
        data: PathBuf,
        port: u16,
        as_postgres_user: bool,
        running: bool,
        // Removed (with the cluster's files) when the cluster is dropped.
        _dir: tempfile::TempDir,
    }

    impl Cluster {
        /// `None` when PostgreSQL tests are not configured here, or `initdb` is missing and not
        /// required.
        fn create() -> Option<Cluster> {
            let required = std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|value| value == "1");
            if !required && std::env::var(POSTGRES_URL_VAR).is_err() {
                return None;
            }
            let Some(bin) = postgres_bin_dir() else {
                assert!(
                    !required,
                    "{REQUIRE_POSTGRES_VAR}=1 but there is no /usr/lib/postgresql/*/bin/initdb: \
                     install the PostgreSQL server package"
                );
                return None;
            };
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            std::fs::create_dir(&data).unwrap();
            let as_postgres_user = is_root();
            if as_postgres_user {
                // initdb refuses to run as root: the cluster belongs to the `postgres` user.
                set_mode(dir.path(), 0o755);
                run(Command::new("chown").arg("postgres:postgres").arg(&data));
            }
            let port = free_port();
            let cluster = Cluster {
                bin,
                data,
                port,
                as_postgres_user,
                running: false,
                _dir: dir,
            };
            cluster.pg(
                "initdb",
                [
                    OsStr::new("-D"),
                    cluster.data.as_os_str(),
                    OsStr::new("-U"),
                    OsStr::new("postgres"),
                    OsStr::new("-A"),
                    OsStr::new("trust"),
                    OsStr::new("--no-sync"),
                    OsStr::new("--locale=C"),
                    OsStr::new("-E"),
                    OsStr::new("UTF8"),
                ],
            );
            Some(cluster)
        }

        fn url(&self) -> String {
            format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
        }

        fn start(&mut self) {
            let options = format!(
                "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off",
                self.port,
                self.data.display()
            );
            let log = self.data.join("server.log");
            self.pg(
                "pg_ctl",
                [
                    OsStr::new("-D"),
                    self.data.as_os_str(),
                    OsStr::new("-l"),
                    log.as_os_str(),
                    OsStr::new("-o"),
                    OsStr::new(&options),
                    OsStr::new("-w"),
                    OsStr::new("-t"),
                    OsStr::new("60"),
                    OsStr::new("start"),
                ],
            );
            self.running = true;
        }

        /// A fast shutdown: open sessions are ended at once.
        fn stop(&mut self) {
            self.pg_ctl_stop("fast");
            self.running = false;
        }

        fn pg_ctl_stop(&self, mode: &str) -> Output {
            let mut command = self.command("pg_ctl");
            command
                .arg("-D")
                .arg(&self.data)
                .args(["-m", mode, "-w", "-t", "60", "stop"]);
            command.output().unwrap()
        }

        fn command(&self, program: &str) -> Command {
            let path = self.bin.join(program);
            if self.as_postgres_user {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(path);
                command
            } else {
                Command::new(path)
            }
        }

        fn pg<'a>(&self, program: &str, args: impl IntoIterator<Item = &'a OsStr>) {
            run(self.command(program).args(args));
        }
    }

    impl Drop for Cluster {
        fn drop(&mut self) {
            if self.running {
                let _ = self.pg_ctl_stop("immediate");
            }
        }
    }

    /// The `bin` directory of the newest PostgreSQL server installed the Debian way.
    fn postgres_bin_dir() -> Option<PathBuf> {
        let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse().ok()?;
                let bin = entry.path().join("bin");
                (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
                    .then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions.pop().map(|(_, bin)| bin)
    }

    fn is_root() -> bool {
        let output = Command::new("id").arg("-u").output().unwrap();
        String::from_utf8_lossy(&output.stdout).trim() == "0"
    }

    fn set_mode(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn run(command: &mut Command) {
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Asserts a `503` problem about the database.
    fn assert_unavailable(reply: &Reply) {
        assert_eq!(reply.status, 503, "{:?}", reply.body);
        assert_eq!(reply.content_type, "application/problem+json");
        assert_eq!(
            reply.body["type"], "https://credvault.dev/problems/unavailable",
            "{:?}",
            reply.body
        );
        assert!(reply.body["request_id"].is_string());
    }

    #[test]
    fn a_database_outage_answers_503_and_the_server_recovers_without_a_restart() {
        let Some(mut cluster) = Cluster::create() else {
            return;
        };
        cluster.start();
        let mut command = credvault(&cluster.url());
        command
            .env("CREDVAULT_MASTER_KEYS", new_key("k1"))
            .env("CREDVAULT_DB_TIMEOUT_MS", "1000")
            .env("CREDVAULT_POOL_SIZE", "2")
            .env("CREDVAULT_TOKEN_CACHE_SECONDS", "0");
        let server = ServerProcess::start(command);
        // Each request's wait for a connection is bounded by the pool (1 s); a request that still
        // has no answer after this long has hung, and the test fails.
        let client = ApiClient::new(
            &server.base_url,
            "demo",
            &server.demo_token(),
            Duration::from_secs(20),
        );
        let id = client.create_postgres("Warehouse", "outage-secret-1");
        assert_eq!(client.get_path("/readyz").unwrap().status, 200);

        cluster.stop();
        let first = wait_for("the outage to be noticed", Duration::from_secs(60), || {
            let reply = client.list().unwrap();
            (reply.status != 200).then_some(reply)
        });
        assert_unavailable(&first);
        assert_unavailable(&client.get(id).unwrap());
        assert_unavailable(
            &client
                .patch(id, json!({"extra_data": {"password": "outage-secret-2"}}))
                .unwrap(),
        );
        // `/readyz` reuses its answer for a second.
        let not_ready = wait_for("readiness to fail", Duration::from_secs(60), || {
            let reply = client.get_path("/readyz").unwrap();
            (reply.status != 200).then_some(reply)
        });
        assert_unavailable(&not_ready);
        assert_eq!(client.get_path("/healthz").unwrap().status, 200, "alive");

        cluster.start();
        wait_for("service to resume", Duration::from_secs(60), || {
            (client.list().unwrap().status == 200).then_some(())
        });
        wait_for("readiness to return", Duration::from_secs(60), || {
            (client.get_path("/readyz").unwrap().status == 200).then_some(())
        });
        let patched = client
            .patch(id, json!({"extra_data": {"password": "outage-secret-3"}}))
            .unwrap();
        assert_eq!(patched.status, 200, "{:?}", patched.body);
        assert_eq!(
            patched.body["version"], 2,
            "the write during the outage did not happen"
        );

        let log = server.stop();
        assert!(!log.contains("outage-secret"), "no secret in the log");
    }
}
