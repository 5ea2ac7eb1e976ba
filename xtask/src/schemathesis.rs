//! `cargo xtask schemathesis [--backend sqlite|postgres|both] [--max-examples N] [--seed S]`:
//! Schemathesis against a live server, on each backend.
//!
//! Builds `credvault` and, for each backend (both unless `--backend` says otherwise), starts it on
//! a fresh database with a generated master key and a team of its own: an SQLite file, or a
//! PostgreSQL database that xtask creates on the server of `CREDVAULT_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) with `psql` and drops afterwards. It runs Schemathesis (from PyPI, installed into a virtualenv under the cargo
//! target directory when missing) against the server's own `/openapi.json` with the team's owner
//! token. Every check runs except `positive_data_acceptance`: it expects every schema-valid request
//! to succeed, and the API validates more than a JSON Schema can say (the fields a provider and
//! kind require, opaque pagination cursors, names that trim to nothing). The run fails on any 5xx,
//! any response that the document does not describe, and any invalid request that is accepted.
//! The connection-test operations (`…/test`) are left out: they would resolve and connect to
//! whatever hosts the generator invents, and the run must reach this machine only.
//!
//! The budget is bounded: a number of examples per operation, and a wall-clock limit for the
//! whole command after which the run is stopped and fails. The seed is fixed unless `--seed` says otherwise, so a failure in
//! CI reproduces locally with the same command.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{cargo, display, run as run_command};

/// The Schemathesis versions this was written against (the CLI changed in 4.0).
const SCHEMATHESIS: &str = "schemathesis>=4.32,<5";
/// The label of the team the run works in.
const TEAM: &str = "schemathesis";
/// Test cases per operation and phase.
const DEFAULT_MAX_EXAMPLES: u32 = 25;
/// The seed of CI's runs.
const DEFAULT_SEED: u64 = 20_261_123;
/// The runs (all backends together) are stopped, and fail, after this long.
const WALL_CLOCK_LIMIT: Duration = Duration::from_secs(15 * 60);
/// The PostgreSQL server used unless `CREDVAULT_TEST_POSTGRES_URL` names another.
pub(crate) const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The database a run's server uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    /// A fresh SQLite file in the run's directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server of [`Options::postgres_url`].
    Postgres,
}

/// How much to test.
pub(crate) struct Options {
    pub(crate) max_examples: u32,
    pub(crate) seed: u64,
    /// The backends to run against, in this order.
    pub(crate) backends: Vec<Backend>,
    /// A URL of the PostgreSQL server (any database on it) where the run's database is created.
    pub(crate) postgres_url: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            max_examples: DEFAULT_MAX_EXAMPLES,
            seed: DEFAULT_SEED,
            backends: vec![Backend::Sqlite, Backend::Postgres],
            postgres_url: std::env::var("CREDVAULT_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned()),
        }
    }
}

impl Options {
    /// `--backend sqlite|postgres|both`, `--max-examples N` and `--seed S`, in any order.
    pub(crate) fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .with_context(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--max-examples" => {
                    options.max_examples = value.parse().context("--max-examples")?
                }
                "--seed" => options.seed = value.parse().context("--seed")?,
                "--backend" => {
                    options.backends = match value.as_str() {
                        "sqlite" => vec![Backend::Sqlite],
                        "postgres" => vec![Backend::Postgres],
                        "both" => vec![Backend::Sqlite, Backend::Postgres],
                        _ => bail!("--backend takes sqlite, postgres or both"),
                    }
                }
                _ => bail!(
                    "unknown option {flag}; expected --backend B, --max-examples N or --seed S"
                ),
            }
        }
        Ok(options)
    }
}

pub(crate) fn run(root: &Path, options: &Options) -> Result<()> {
    let started = Instant::now();
    let deadline = started + WALL_CLOCK_LIMIT;
    run_command(cargo().args(["build", "-p", "credvault"]))?;
    let target = target_dir(root);
    let binary = target.join("debug").join("credvault");
    let schemathesis = ensure_schemathesis(&target)?;
    for backend in &options.backends {
        let backend_started = Instant::now();
        run_one(&target, &binary, &schemathesis, *backend, options, deadline)
            .with_context(|| format!("schemathesis on {backend:?}"))?;
        eprintln!(
            "schemathesis: ok on {backend:?} in {:.0} s",
            backend_started.elapsed().as_secs_f64()
        );
    }
    eprintln!(
        "schemathesis: ok in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One run: a fresh database of `backend`, a server on it, Schemathesis against the server.
fn run_one(
    target: &Path,
    binary: &Path,
    schemathesis: &Path,
    backend: Backend,
    options: &Options,
    deadline: Instant,
) -> Result<()> {
    let work = target.join(match backend {
        Backend::Sqlite => "schemathesis-run",
        Backend::Postgres => "schemathesis-run-postgres",
    });
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("clearing {}", work.display()))?;
    }
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    // Dropped last (declared first): the server is stopped before its database goes.
    let postgres = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(PgDatabase::create(&options.postgres_url)?),
    };
    let database_url = match &postgres {
        Some(database) => database.url.clone(),
        None => format!("sqlite://{}", work.join("credvault.db").display()),
    };

    let key = json_field(
        credvault(binary, &database_url, None).args(["keys", "generate", "--id", "st"]),
        "key",
    )?;
    let token = json_field(
        credvault(binary, &database_url, Some(&key)).args([
            "admin",
            "create-team",
            "--label",
            TEAM,
        ]),
        "owner_token",
    )?;
    let server = Server::start(binary, &work, &database_url, &key)?;

    let config = work.join("schemathesis.toml");
    fs::write(
        &config,
        format!(
            "# Written by `cargo xtask schemathesis`.\n[parameters]\n\"path.team\" = \"{TEAM}\"\n"
        ),
    )
    .context("writing schemathesis.toml")?;
    let mut command = Command::new(schemathesis);
    command
        .current_dir(&work)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(format!("{}/openapi.json", server.base_url))
        .arg("--header")
        .arg(format!("Authorization: Bearer {token}"))
        .args([
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
        ])
        // Connection tests would resolve and connect to whatever hosts the generator invents;
        // this run sends traffic to this machine only. They have their own tests.
        .args(["--exclude-path-regex", "/test$"])
        .args(["--max-examples", &options.max_examples.to_string()])
        .args(["--seed", &options.seed.to_string()])
        .args(["--request-timeout", "30", "--no-color"])
        .args(["--report", "junit", "--report-dir"])
        .arg(work.join("report"));
    // The token is in the arguments: echo the command without them.
    eprintln!(
        "$ {} run {}/openapi.json --header 'Authorization: Bearer …' --checks all … (seed {}, {backend:?})",
        schemathesis.display(),
        server.base_url,
        options.seed
    );
    let status = wait_bounded(
        command.spawn().context("starting schemathesis")?,
        deadline.saturating_duration_since(Instant::now()),
    )?;
    let log = server.stop(&work)?;
    if log.contains("panicked") {
        bail!(
            "the server panicked during the run; see {}",
            work.join("server.log").display()
        );
    }
    if !status {
        bail!(
            "schemathesis found failures (seed {}); the server log is {}",
            options.seed,
            work.join("server.log").display()
        );
    }
    drop(postgres);
    Ok(())
}

/// A throwaway PostgreSQL database, created with `psql` and dropped (forcefully) with the value.
struct PgDatabase {
    /// The URL `psql` connects to for `CREATE` and `DROP`.
    admin_url: String,
    name: String,
    /// The new database's URL.
    url: String,
}

impl PgDatabase {
    fn create(admin_url: &str) -> Result<PgDatabase> {
        let name = format!("credvault_schemathesis_{}", std::process::id());
        let (location, parameters) = match admin_url.split_once('?') {
            Some((location, parameters)) => (location, format!("?{parameters}")),
            None => (admin_url, String::new()),
        };
        let (server, _) = location
            .rsplit_once('/')
            .filter(|(server, _)| server.contains("://"))
            .context("the PostgreSQL URL must end in /DATABASE")?;
        let database = PgDatabase {
            admin_url: admin_url.to_owned(),
            url: format!("{server}/{name}{parameters}"),
            name,
        };
        database.psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            database.name
        ))?;
        database.psql(&format!("CREATE DATABASE {}", database.name))?;
        Ok(database)
    }

    fn psql(&self, sql: &str) -> Result<()> {
        run_command(
            Command::new("psql")
                .args(["-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
                .arg(&self.admin_url)
                .stdout(Stdio::null()),
        )
        .context("running psql (the PostgreSQL client) on CREDVAULT_TEST_POSTGRES_URL")
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(error) = self.psql(&sql) {
            eprintln!("schemathesis: could not drop {}: {error:#}", self.name);
        }
    }
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| {
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        })
        .unwrap_or_else(|| root.join("target"))
}

/// The `schemathesis` executable of the virtualenv, installed from PyPI if missing.
fn ensure_schemathesis(target: &Path) -> Result<PathBuf> {
    let venv = target.join("schemathesis-venv");
    let executable = venv.join("bin").join("schemathesis");
    if runs(&executable) {
        return Ok(executable);
    }
    // A virtualenv left by another machine or another Python (a cache restored elsewhere, an
    // interpreter upgraded under it) has a `schemathesis` script whose interpreter is gone:
    // start over rather than fail to spawn it.
    if venv.exists() {
        eprintln!(
            "schemathesis: {} does not run here; recreating it",
            venv.display()
        );
        fs::remove_dir_all(&venv).with_context(|| format!("clearing {}", venv.display()))?;
    }
    run_command(Command::new("python3").args(["-m", "venv"]).arg(&venv))
        .context("creating a virtualenv for schemathesis (needs python3 with venv)")?;
    run_command(Command::new(venv.join("bin").join("pip")).args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        SCHEMATHESIS,
    ]))
    .context("installing schemathesis from PyPI")?;
    if !runs(&executable) {
        bail!("{} was installed but does not run", executable.display());
    }
    Ok(executable)
}

/// Whether `executable --version` starts and succeeds.
fn runs(executable: &Path) -> bool {
    executable.is_file()
        && Command::new(executable)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
}

/// A `credvault` command on the run's database, with no other `CREDVAULT_*` setting inherited.
fn credvault(binary: &Path, database_url: &str, key: Option<&str>) -> Command {
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars() {
        if name.starts_with("CREDVAULT_") {
            command.env_remove(name);
        }
    }
    command
        .env("CREDVAULT_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn");
    if let Some(key) = key {
        command.env("CREDVAULT_MASTER_KEYS", key);
    }
    command
}

/// Runs a command that prints one JSON object and returns one string field of it.
fn json_field(command: &mut Command, field: &str) -> Result<String> {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", display(command)))?;
    if !output.status.success() {
        bail!("{} failed with {}", display(command), output.status);
    }
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{} printed no JSON", display(command)))?;
    value[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("{} printed no {field}", display(command)))
}

/// Waits for a child for at most `limit`, killing it then; returns whether it succeeded.
fn wait_bounded(mut child: Child, limit: Duration) -> Result<bool> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().context("waiting for schemathesis")? {
            return Ok(status.success());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("schemathesis did not finish within {} s", limit.as_secs());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The server under test.
struct Server {
    child: Child,
    base_url: String,
    // Kept open: a server whose stdout is closed would fail to print.
    _stdout: Option<BufReader<ChildStdout>>,
}

impl Server {
    fn start(binary: &Path, work: &Path, database_url: &str, key: &str) -> Result<Server> {
        let log = fs::File::create(work.join("server.log")).context("creating server.log")?;
        let mut child = credvault(binary, database_url, Some(key))
            .env("CREDVAULT_BIND", "127.0.0.1:0")
            // Schemathesis is a flood by design; the limits have their own tests.
            .env("CREDVAULT_RATE_LIMIT_PER_SECOND", "0")
            .env("CREDVAULT_TOKEN_REQUESTS_PER_MINUTE", "0")
            // Should a connection test run after all, it may reach this machine only.
            .env("CREDVAULT_PROBE_ALLOW", "127.0.0.0/8")
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .context("starting credvault serve")?;
        let mut line = String::new();
        let mut stdout = child.stdout.take().map(BufReader::new);
        if let Some(stdout) = &mut stdout {
            stdout
                .read_line(&mut line)
                .context("reading the server's start-up line")?;
        }
        let started: serde_json::Value = match serde_json::from_str(&line) {
            Ok(value) => value,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "the server did not start; see {}",
                    work.join("server.log").display()
                );
            }
        };
        let base_url = started["listening"]
            .as_str()
            .context("the start-up line names no address")?
            .to_owned();
        Ok(Server {
            child,
            base_url,
            _stdout: stdout,
        })
    }

    /// Stops the server (SIGKILL: its state is thrown away) and returns its log.
    fn stop(mut self, work: &Path) -> Result<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        fs::read_to_string(work.join("server.log")).context("reading server.log")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
