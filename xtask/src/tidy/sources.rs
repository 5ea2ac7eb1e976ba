//! The non-test Rust sources of the workspace's crates, tokenized once for the source checks.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::tidy::rust::{self, Token};
use crate::tidy::rust_files;

/// One file of a crate's `src/` that a non-test build compiles, as tokens without test items.
pub(crate) struct Source {
    /// The path relative to the workspace root, with `/` separators.
    pub(crate) path: String,
    /// Its tokens, test items left out.
    pub(crate) tokens: Vec<Token>,
}

/// The files under each of `src_dirs`, minus test code: files named `tests.rs`, files under a
/// `tests/` folder, and the files of modules declared `#[cfg(test)] mod NAME;` (or
/// `#[cfg(any(test, …))]` or `#[cfg(feature = "testing")]`, the fixture modules).
pub(crate) fn non_test_sources(root: &Path, src_dirs: &[PathBuf]) -> Result<Vec<Source>> {
    let mut parsed = Vec::new();
    let mut test_paths: BTreeSet<PathBuf> = BTreeSet::new();
    for dir in src_dirs {
        for file in rust_files(dir)? {
            let text =
                fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let (tokens, test_modules) = rust::non_test(&rust::tokens(&text));
            let module_dir = module_dir(&file);
            for name in test_modules {
                test_paths.insert(module_dir.join(format!("{name}.rs")));
                test_paths.insert(module_dir.join(name));
            }
            parsed.push((file, tokens));
        }
    }
    let mut sources = Vec::new();
    for (file, tokens) in parsed {
        let relative = file.strip_prefix(root).unwrap_or(&file);
        let in_tests_folder = relative
            .parent()
            .is_some_and(|parent| parent.components().any(|part| part.as_os_str() == "tests"));
        let test_file = file.file_name().is_some_and(|name| name == "tests.rs")
            || in_tests_folder
            || test_paths.iter().any(|path| file.starts_with(path));
        if !test_file {
            sources.push(Source {
                path: relative.to_string_lossy().replace('\\', "/"),
                tokens,
            });
        }
    }
    Ok(sources)
}

/// The folder that holds the files of the modules a file declares: its own folder for
/// `lib.rs`, `main.rs` and `mod.rs`, else the folder named after it.
fn module_dir(file: &Path) -> PathBuf {
    let parent = file.parent().unwrap_or(Path::new("")).to_path_buf();
    match file.file_stem().and_then(|stem| stem.to_str()) {
        Some("lib" | "main" | "mod") | None => parent,
        Some(stem) => parent.join(stem),
    }
}
