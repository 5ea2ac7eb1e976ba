//! A throwaway PostgreSQL cluster that checks passwords, for connection-test tests.
//!
//! The shared server on 5432 trusts every local login, so a wrong password cannot fail there.
//! [`scram_cluster`] runs `initdb` (as the `postgres` user when the tests run as root) into a
//! temporary directory with `scram-sha-256` authentication on 127.0.0.1, creates a login role
//! with a password and a database it owns (with `postgres --single`, so no client is needed),
//! and starts the server on a free port; it is ready when the role's own connection test passes.
//! One cluster serves the whole test process; a small shell loop beside it stops the server and
//! removes the directory once the test process is gone, so nothing is left running.
//!
//! The binaries are looked up in `CREDVAULT_TEST_PG_BINDIR`, then `/usr/lib/postgresql/*/bin`
//! (highest version first), then `PATH`. Without them [`scram_cluster`] returns why, and the
//! tests skip, unless [`servers_required`] says they must run: then it panics.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use credvault_domain::secret::SecretValue;

use crate::postgres::conninfo::Conninfo;
use crate::testing::{
    REQUIRE_POSTGRES_VAR, REQUIRE_PROBE_SERVERS_VAR, free_port, is_root, servers_required,
};

/// The variable that names the directory of `initdb`, `postgres` and friends.
pub const PG_BINDIR_VAR: &str = "CREDVAULT_TEST_PG_BINDIR";

/// A running cluster with SCRAM password authentication on 127.0.0.1.
#[derive(Debug)]
pub struct ScramCluster {
    /// Its TCP port on 127.0.0.1.
    pub port: u16,
    /// A login role (not a superuser).
    pub user: String,
    /// The role's password.
    pub password: String,
    /// A database owned by the role.
    pub database: String,
    /// The superuser's password (the superuser is `postgres`).
    pub superuser_password: String,
    /// The shell that runs the server and stops it when the test process is gone.
    _keeper: Child,
}

impl ScramCluster {
    /// `postgres://user:password@127.0.0.1:port/database` for the login role.
    pub fn url(&self) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{}",
            self.user, self.password, self.port, self.database
        )
    }
}

/// The process's cluster, started on first use; `Err` says why none can run (the caller skips).
/// Panics when starting fails, or when no cluster can run and [`servers_required`].
pub fn scram_cluster() -> Result<&'static ScramCluster, String> {
    static CLUSTER: OnceLock<Result<ScramCluster, String>> = OnceLock::new();
    let cluster = CLUSTER.get_or_init(|| {
        let bindir = find_bindir()?;
        Ok(start(&bindir))
    });
    match cluster {
        Ok(cluster) => Ok(cluster),
        Err(reason) if servers_required() => panic!(
            "{reason}; the connection-test servers are required here \
             ({REQUIRE_PROBE_SERVERS_VAR} or {REQUIRE_POSTGRES_VAR} is 1)"
        ),
        Err(reason) => Err(reason.clone()),
    }
}

fn find_bindir() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var(PG_BINDIR_VAR) {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let on_path = Command::new("initdb")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if on_path {
        return Ok(PathBuf::new());
    }
    Err(format!(
        "no PostgreSQL server binaries (initdb) found in /usr/lib/postgresql/*/bin or PATH; \
         install postgresql or set {PG_BINDIR_VAR}"
    ))
}

/// A command run as the `postgres` user when we are root (PostgreSQL refuses to run as root).
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {what}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn start(bindir: &Path) -> ScramCluster {
    let dir = tempfile::Builder::new()
        .prefix("credvault-probe-pg-")
        .tempdir()
        .unwrap_or_else(|error| panic!("cannot create a temporary directory: {error}"))
        .keep();
    let superuser_password = format!("su-{}", uuid::Uuid::new_v4().simple());
    let password_file = dir.join("superuser-password");
    std::fs::write(&password_file, &superuser_password)
        .unwrap_or_else(|error| panic!("cannot write {}: {error}", password_file.display()));
    if is_root() {
        run(
            Command::new("chown").args(["-R", "postgres:"]).arg(&dir),
            "chown of the cluster directory",
        );
    }
    let data = dir.join("data");
    run(
        as_server_user(&bindir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"])
            .args(["--auth-local=trust", "--auth-host=scram-sha-256"])
            .arg(format!("--pwfile={}", password_file.display())),
        "initdb",
    );

    let user = "probe_user".to_owned();
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let database = "probe_db".to_owned();
    // Before the server runs: the role and its database, in single-user mode (one statement a
    // line; an error ends it with a failure status).
    let mut single = as_server_user(&bindir.join("postgres"))
        .args(["--single", "-D"])
        .arg(&data)
        .args(["-c", "exit_on_error=true", "postgres"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run postgres --single: {error}"));
    if let Some(mut stdin) = single.stdin.take() {
        writeln!(
            stdin,
            "CREATE ROLE {user} LOGIN PASSWORD '{password}'\nCREATE DATABASE {database} OWNER {user}"
        )
        .unwrap_or_else(|error| panic!("cannot write to postgres --single: {error}"));
    }
    let output = single
        .wait_with_output()
        .unwrap_or_else(|error| panic!("cannot run postgres --single: {error}"));
    assert!(
        output.status.success(),
        "setting up the test cluster failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let port = free_port();
    // The server runs as long as this test process does: the loop checks for our pid, then
    // stops the server and removes its directory.
    let script = format!(
        "'{postgres}' -D '{data}' -p {port} -k '{dir}' -c listen_addresses=127.0.0.1 \
            -c fsync=off -c max_connections=50 -c shared_buffers=16MB >'{dir}/server.log' 2>&1 &
         server=$!
         while [ -d /proc/{parent} ] && kill -0 $server 2>/dev/null; do sleep 1; done
         kill -INT $server 2>/dev/null; wait $server; rm -rf '{dir}'",
        postgres = bindir.join("postgres").display(),
        data = data.display(),
        dir = dir.display(),
        parent = std::process::id(),
    );
    let keeper = as_server_user(Path::new("sh"))
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start the test cluster: {error}"));
    let cluster = ScramCluster {
        port,
        user,
        password,
        database,
        superuser_password,
        _keeper: keeper,
    };
    wait_until_ready(&cluster, &dir);
    cluster
}

/// Waits until the login role's own connection test passes: the server is up and the role and
/// database exist.
fn wait_until_ready(cluster: &ScramCluster, dir: &Path) {
    let mut conninfo = Conninfo::new();
    let port = cluster.port.to_string();
    for (keyword, value) in [
        ("host", "127.0.0.1"),
        ("port", port.as_str()),
        ("user", cluster.user.as_str()),
        ("dbname", cluster.database.as_str()),
    ] {
        conninfo
            .set(keyword, value)
            .unwrap_or_else(|error| panic!("cannot build the readiness check: {error}"));
    }
    conninfo
        .set_secret("password", SecretValue::from(cluster.password.as_str()))
        .unwrap_or_else(|error| panic!("cannot build the readiness check: {error}"));
    let started = Instant::now();
    loop {
        match crate::postgres::connect(&conninfo, Duration::from_secs(2)) {
            Ok(()) => return,
            Err(failure) if started.elapsed() > Duration::from_secs(60) => {
                let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
                panic!(
                    "the test cluster did not start within 60 s ({}); its log:\n{log}",
                    failure.message
                );
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}
