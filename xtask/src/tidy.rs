//! `cargo xtask tidy`: rules that keep the architecture honest, checked mechanically.
//!
//! - Dependency direction: `domain` names no web, database or cipher crate; `api` never depends
//!   on diesel; inner crates never depend on outer ones.
//! - Every `.rs` file starts with a `//!` module doc.
//! - `migrations/sqlite` and `migrations/postgres` hold the same migration names.
//! - Library crates do not print (`println!`, `eprintln!`, `dbg!`): they log or return values.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cargo;

/// Crates that a workspace crate must never depend on. For `domain` and `crypto` the rule holds
/// through other crates too (they must stay light for other teams); `persistence` and `api` may
/// reach diesel or actix only through the crate that owns it, so their rule is about direct edges.
const FORBIDDEN: &[(&str, &[&str])] = &[
    (
        "credvault-domain",
        &[
            "actix-web",
            "diesel",
            "ring",
            "utoipa",
            "credvault-crypto",
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
            "credvault-persistence",
            "credvault-usecases",
            "credvault-api",
            "credvault",
        ],
    ),
    (
        "credvault-persistence",
        &[
            "actix-web",
            "utoipa",
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
    ("credvault-api", &["diesel", "credvault"]),
];

/// Library crates (their `src/` must not print).
const LIBRARIES: &[&str] = &[
    "crates/domain",
    "crates/crypto",
    "crates/persistence",
    "crates/usecases",
    "crates/api",
];

pub(crate) fn run(root: &Path) -> Result<()> {
    let mut problems = Vec::new();
    check_dependencies(&mut problems)?;
    check_module_docs(root, &mut problems)?;
    check_migrations(root, &mut problems)?;
    check_no_prints(root, &mut problems)?;
    if problems.is_empty() {
        eprintln!("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("tidy found {} problem(s)", problems.len())
}

fn check_dependencies(problems: &mut Vec<String>) -> Result<()> {
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
    let names: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|package| Some((package["id"].as_str()?, package["name"].as_str()?)))
        .collect();
    // Normal (non-dev, non-build) dependency edges of the resolved graph, by package name.
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
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
            if let (true, Some(to)) = (normal, dep["pkg"].as_str().and_then(|id| names.get(id))) {
                edges.entry(from).or_default().insert(to);
            }
        }
    }
    for (crate_name, forbidden) in FORBIDDEN {
        let reachable = if matches!(*crate_name, "credvault-domain" | "credvault-crypto") {
            reachable(&edges, crate_name)
        } else {
            edges.get(crate_name).cloned().unwrap_or_default()
        };
        for name in *forbidden {
            if reachable.contains(name) {
                problems.push(format!("{crate_name} must not depend on {name}"));
            }
        }
    }
    Ok(())
}

fn reachable<'a>(
    edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    start: &'a str,
) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(name) = stack.pop() {
        for next in edges.get(name).into_iter().flatten() {
            if seen.insert(*next) {
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

fn check_no_prints(root: &Path, problems: &mut Vec<String>) -> Result<()> {
    for library in LIBRARIES {
        for file in rust_files(&root.join(library).join("src"))? {
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

fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
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
