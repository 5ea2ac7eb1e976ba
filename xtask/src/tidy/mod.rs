//! `cargo xtask tidy`: rules that keep the architecture honest, checked mechanically.
//!
//! - Dependency direction ([`FORBIDDEN`]): `domain` names no web, database or cipher crate;
//!   `probe` (connection testing) no storage, HTTP-server or cipher crate (ring only as rustls's
//!   provider, [`NOT_FOLLOWED`]); `persistence` no cipher crate
//!   (it stores ciphertext bytes only); `usecases` no HTTP crate; `api` never depends on diesel or
//!   an SSH client; inner crates never depend on outer ones.
//! - Every `.rs` file starts with a `//!` module doc.
//! - `migrations/sqlite` and `migrations/postgres` hold the same migration names.
//! - Library crates ([`LIBRARIES`]) do not print (`println!`, `eprintln!`, `dbg!`): they log or
//!   return values.
//! - Every field name lives in `domain::schema`: no other crate's code writes one as a string
//!   literal ([`fields`]).
//! - No type that holds a `SecretValue` or `SecretMap` derives `Debug` ([`secrets`]).
//!
//! Rules name crates by package name, so a rule about a crate that does not exist (yet) is a
//! no-op rather than an error. The two source checks skip the files listed in [`PENDING`],
//! whose code is moving to another crate, and each has a short, reasoned allow-list; an entry
//! that no longer matches anything is itself a problem, so none of these lists outlives its
//! reason.
//!
//! # As a test
//!
//! The rules also run as the test `tidy::tests::tidy`, the rust-analyzer way, so a broken rule
//! fails a test run and not only `cargo xtask tidy`:
//!
//! - `cargo xtask ci` runs `cargo test --workspace`, which includes xtask's tests (it also runs
//!   tidy first, on its own, to fail before the long steps; the rules take about a second).
//! - Plain `cargo test` at the root tests the default members, `crates/*`: xtask stays out of
//!   `default-members` because `cargo run` must find exactly one binary, the server. So the
//!   server crate has a small test, `crates/server/tests/tidy.rs`, that runs
//!   `cargo run -p xtask -- tidy`: the README's `cargo test` catches a broken rule too. (Cargo
//!   releases its build lock before it runs tests, so the nested cargo only builds xtask, which
//!   takes seconds; a test that ran the rules in-process would need xtask as a library of a
//!   workspace crate, which xtask never is.)

mod fields;
mod rust;
mod secrets;
mod sources;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cargo;

/// Crates that a workspace crate must never depend on, by package name.
///
/// For the crates in [`TRANSITIVE`] the rule holds through other crates too (they must stay
/// light for other teams and for every caller); `persistence`, `usecases` and `api` may reach
/// diesel or actix only through the crate that owns it, so their rule is about direct edges.
/// `api` may depend on `usecases` (its handlers call the use cases); the inner crates may not.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "credvault-domain",
        &[
            "actix-web",
            "diesel",
            "ring",
            "utoipa",
            "credvault-crypto",
            "credvault-probe",
            "credvault-persistence",
            "credvault-usecases",
            "credvault-api",
            "credvault",
        ],
    ),
    (
        "credvault-crypto",
        &[
            "actix-web",
            "diesel",
            "utoipa",
            "credvault-probe",
            "credvault-persistence",
            "credvault-usecases",
            "credvault-api",
            "credvault",
        ],
    ),
    (
        "credvault-probe",
        &[
            "actix-web",
            "utoipa",
            "diesel",
            "ring",
            "credvault-crypto",
            "credvault-persistence",
            "credvault-api",
            "credvault-usecases",
            "credvault",
        ],
    ),
    (
        "credvault-persistence",
        &[
            "actix-web",
            "utoipa",
            "ring",
            "credvault-crypto",
            "credvault-probe",
            "credvault-usecases",
            "credvault-api",
            "credvault",
        ],
    ),
    // The use cases know no HTTP, and leave the (asynchronous) probes to their callers.
    (
        "credvault-usecases",
        &[
            "actix-web",
            "utoipa",
            "credvault-probe",
            "credvault-api",
            "credvault",
        ],
    ),
    // Connection tests are the probe crate's: the HTTP crate links no SSH client of its own.
    ("credvault-api", &["diesel", "ssh2", "credvault"]),
];

/// The crates whose rule in [`FORBIDDEN`] holds through every path, not only direct edges.
const TRANSITIVE: &[&str] = &["credvault-domain", "credvault-crypto", "credvault-probe"];

/// Crates whose own dependencies a [`TRANSITIVE`] rule does not follow: (crate whose rule it
/// is, crate not followed, why).
const NOT_FOLLOWED: &[(&str, &str, &str)] = &[(
    "credvault-probe",
    "rustls",
    "the TLS of the OAuth token client (ureq) runs on rustls with ring as its crypto \
     provider; probe itself seals and opens nothing, and depends on ring through no other path",
)];

/// Sources the source checks ([`fields`], [`secrets`]) skip while their code is moving house:
/// (file or folder, why). An entry that no longer exists is reported, so it is removed when the
/// move lands.
const PENDING: &[(&str, &str)] = &[];

/// Library crates, by package name: their `src/` must not print.
const LIBRARIES: &[&str] = &[
    "credvault-domain",
    "credvault-crypto",
    "credvault-probe",
    "credvault-persistence",
    "credvault-usecases",
    "credvault-api",
];

pub(crate) fn run(root: &Path) -> Result<()> {
    let workspace = Workspace::load()?;
    let crate_sources: Vec<PathBuf> = workspace
        .members
        .values()
        .filter(|dir| dir.starts_with(root.join("crates")))
        .map(|dir| dir.join("src"))
        .collect();
    let mut problems = Vec::new();
    let mut sources = sources::non_test_sources(root, &crate_sources)?;
    sources.retain(|source| {
        !PENDING
            .iter()
            .any(|(path, _)| source.path.starts_with(path))
    });
    for (path, _) in PENDING {
        if !root.join(path).exists() && !root.join(format!("{path}.rs")).exists() {
            problems.push(format!(
                "{path} is gone: remove it from tidy's PENDING list"
            ));
        }
    }

    check_dependencies(&workspace, &mut problems);
    check_module_docs(root, &mut problems)?;
    check_migrations(root, &mut problems)?;
    check_no_prints(root, &workspace, &mut problems)?;
    fields::check(root, &sources, &mut problems)?;
    secrets::check(&sources, &mut problems);
    if problems.is_empty() {
        eprintln!("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("tidy found {} problem(s)", problems.len())
}

/// What `cargo metadata` says about the workspace.
struct Workspace {
    /// Each member's package name and directory.
    members: BTreeMap<String, PathBuf>,
    /// Normal (non-dev, non-build) dependency edges of the resolved graph, by package name.
    edges: BTreeMap<String, BTreeSet<String>>,
}

impl Workspace {
    fn load() -> Result<Workspace> {
        let output = cargo()
            .args(["metadata", "--format-version", "1", "--locked"])
            .output()
            .context("running cargo metadata")?;
        if !output.status.success() {
            bail!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let metadata: Value =
            serde_json::from_slice(&output.stdout).context("parsing cargo metadata")?;
        let packages = metadata["packages"].as_array().into_iter().flatten();
        let names: BTreeMap<&str, &str> = packages
            .clone()
            .filter_map(|package| Some((package["id"].as_str()?, package["name"].as_str()?)))
            .collect();
        let member_ids: BTreeSet<&str> = metadata["workspace_members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let members = packages
            .filter(|package| {
                package["id"]
                    .as_str()
                    .is_some_and(|id| member_ids.contains(id))
            })
            .filter_map(|package| {
                let manifest = Path::new(package["manifest_path"].as_str()?);
                Some((
                    package["name"].as_str()?.to_owned(),
                    manifest.parent()?.to_path_buf(),
                ))
            })
            .collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for node in metadata["resolve"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(from) = node["id"].as_str().and_then(|id| names.get(id)) else {
                continue;
            };
            for dep in node["deps"].as_array().into_iter().flatten() {
                let normal = dep["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|kind| kind["kind"].is_null());
                if let (true, Some(to)) = (normal, dep["pkg"].as_str().and_then(|id| names.get(id)))
                {
                    edges
                        .entry((*from).to_owned())
                        .or_default()
                        .insert((*to).to_owned());
                }
            }
        }
        Ok(Workspace { members, edges })
    }
}

fn check_dependencies(workspace: &Workspace, problems: &mut Vec<String>) {
    for (crate_name, forbidden) in FORBIDDEN {
        let reachable = if TRANSITIVE.contains(crate_name) {
            let not_followed: Vec<&str> = NOT_FOLLOWED
                .iter()
                .filter(|(owner, _, _)| owner == crate_name)
                .map(|(_, dependency, _)| *dependency)
                .collect();
            reachable(&workspace.edges, crate_name, &not_followed)
        } else {
            workspace
                .edges
                .get(*crate_name)
                .cloned()
                .unwrap_or_default()
        };
        for name in *forbidden {
            if reachable.contains(*name) {
                problems.push(format!("{crate_name} must not depend on {name}"));
            }
        }
    }
}

/// Every crate that `start` depends on, directly or through others; the dependencies of the
/// crates in `not_followed` are not followed (those crates themselves are in the set).
fn reachable(
    edges: &BTreeMap<String, BTreeSet<String>>,
    start: &str,
    not_followed: &[&str],
) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(name) = stack.pop() {
        for next in edges.get(name).into_iter().flatten() {
            if seen.insert(next.clone()) && !not_followed.contains(&next.as_str()) {
                stack.push(next);
            }
        }
    }
    seen
}

fn check_module_docs(root: &Path, problems: &mut Vec<String>) -> Result<()> {
    for dir in ["crates", "xtask", "fuzz"] {
        for file in rust_files(&root.join(dir))? {
            let text =
                fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let first = text
                .lines()
                .find(|line| !line.trim().is_empty())
                .unwrap_or_default();
            let documented = first.starts_with("//!") || first.starts_with("#![doc = include_str!");
            if !documented {
                problems.push(format!(
                    "{} does not start with a `//!` module doc",
                    relative(root, &file)
                ));
            }
        }
    }
    Ok(())
}

fn check_migrations(root: &Path, problems: &mut Vec<String>) -> Result<()> {
    let names = |backend: &str| -> Result<BTreeSet<String>> {
        let dir = root.join("migrations").join(backend);
        let mut names = BTreeSet::new();
        if dir.is_dir() {
            for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
                let entry = entry?;
                if entry.path().is_dir() {
                    names.insert(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        Ok(names)
    };
    let sqlite = names("sqlite")?;
    let postgres = names("postgres")?;
    for missing in sqlite.symmetric_difference(&postgres) {
        problems.push(format!("migration {missing} exists for one backend only"));
    }
    for name in sqlite.intersection(&postgres) {
        for backend in ["sqlite", "postgres"] {
            for file in ["up.sql", "down.sql"] {
                if !root
                    .join("migrations")
                    .join(backend)
                    .join(name)
                    .join(file)
                    .is_file()
                {
                    problems.push(format!("migrations/{backend}/{name}/{file} is missing"));
                }
            }
        }
    }
    Ok(())
}

fn check_no_prints(root: &Path, workspace: &Workspace, problems: &mut Vec<String>) -> Result<()> {
    for library in LIBRARIES {
        let Some(dir) = workspace.members.get(*library) else {
            continue;
        };
        for file in rust_files(&dir.join("src"))? {
            let text = fs::read_to_string(&file)?;
            for (index, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if ["println!(", "eprintln!(", "dbg!("]
                    .iter()
                    .any(|name| code.contains(name))
                {
                    problems.push(format!(
                        "{}:{}: libraries log instead of printing",
                        relative(root, &file),
                        index + 1
                    ));
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if !dir.is_dir() {
        return Ok(files);
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    /// The whole of `cargo xtask tidy`, so that `cargo test` catches a broken rule.
    #[test]
    fn tidy() -> anyhow::Result<()> {
        super::run(&crate::project_root())
    }

    #[test]
    fn the_field_names_are_read_from_the_registry() -> anyhow::Result<()> {
        let root = crate::project_root();
        let names = super::fields::declared_names(&root)?;
        for name in [
            "host",
            "port",
            "password",
            "private_key",
            "api_key",
            "client_secret",
        ] {
            assert!(names.contains(name), "{name} in {names:?}");
        }
        assert!(!names.contains("disable"), "an ssl_mode value is no field");
        assert!(Path::new(&root).join(super::fields::SCHEMA_DIR).is_dir());
        Ok(())
    }
}
