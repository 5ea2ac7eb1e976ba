//! `cargo xtask ci`: the whole CI gate. If it passes locally, CI is green.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::{cargo, display};

/// The PostgreSQL the tests use unless `CREDVAULT_TEST_POSTGRES_URL` says otherwise.
const DEFAULT_POSTGRES_URL: &str = crate::schemathesis::DEFAULT_POSTGRES_URL;

pub(crate) fn run(root: &Path) -> Result<()> {
    crate::run(cargo().args(["fmt", "--all", "--check"]))?;
    crate::tidy::run(root)?;
    crate::run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;

    // The README's test command: the whole suite, PostgreSQL cases skipped unless configured.
    let mut sqlite = cargo();
    sqlite
        .args(["test", "--workspace"])
        .env_remove("CREDVAULT_TEST_POSTGRES_URL")
        .env_remove("CREDVAULT_REQUIRE_POSTGRES")
        // The web console's browser tests must run here, not skip for want of chromedriver.
        .env("CREDVAULT_REQUIRE_BROWSER", "1");
    let sqlite_passed = run_counting(&mut sqlite)?;

    // The same tests against PostgreSQL. Only the `postgres::` cases: the rest just ran.
    let url = std::env::var("CREDVAULT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let mut postgres = cargo();
    postgres
        .args(["test", "--workspace", "--", "postgres::"])
        .env("CREDVAULT_TEST_POSTGRES_URL", &url)
        .env("CREDVAULT_REQUIRE_POSTGRES", "1")
        .env("CREDVAULT_REQUIRE_BROWSER", "1");
    let postgres_passed = run_counting(&mut postgres)?;
    if postgres_passed == 0 {
        bail!("the PostgreSQL suite ran no test: CI must not pass by skipping it");
    }
    eprintln!(
        "ci: {sqlite_passed} tests passed without PostgreSQL, {postgres_passed} PostgreSQL tests passed"
    );

    // The system libpq may predate `require_auth` (16), and then the test of the refusal of a
    // server asking for the password in clear skips. Run it once with libpq built from source,
    // where it must not skip.
    let mut require_auth = cargo();
    require_auth
        .args([
            "test",
            "-p",
            "credvault-probe",
            "--features",
            "bundled-libpq",
            "--test",
            "it",
            "require_auth",
        ])
        .env("CREDVAULT_REQUIRE_REQUIRE_AUTH", "1");
    if run_counting(&mut require_auth)? == 0 {
        bail!("the require_auth tests with the bundled libpq ran no test");
    }

    // The live server against its own OpenAPI document, on SQLite and then on a fresh database
    // of the same PostgreSQL server: no 5xx, nothing undocumented.
    crate::schemathesis::run(
        root,
        &crate::schemathesis::Options {
            postgres_url: url,
            ..crate::schemathesis::Options::default()
        },
    )?;

    // Hostile input: every fuzz target for a short, bounded time.
    let fuzz_seconds = std::env::var("CREDVAULT_CI_FUZZ_SECONDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(20);
    crate::fuzz::run(root, fuzz_seconds)?;
    eprintln!("ci: ok");
    Ok(())
}

/// Runs `cargo test`, streaming its output, and returns how many tests passed in all.
fn run_counting(command: &mut Command) -> Result<u64> {
    eprintln!("$ {}", display(command));
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", display(command)))?;
    let stdout = child.stdout.take().context("capturing test output")?;
    let mut passed = 0u64;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading test output")?;
        println!("{line}");
        if let Some(count) = passed_count(&line) {
            passed += count;
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    if !status.success() {
        bail!("{} failed with {status}", display(command));
    }
    Ok(passed)
}

/// `test result: ok. 12 passed; 0 failed; …` → 12.
fn passed_count(line: &str) -> Option<u64> {
    let rest = line.trim().strip_prefix("test result: ")?;
    let (_, counts) = rest.split_once(". ")?;
    counts.split(' ').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::passed_count;

    #[test]
    fn reads_the_passed_count_of_a_test_result_line() {
        assert_eq!(
            passed_count(
                "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 40 filtered out; finished in 0.10s"
            ),
            Some(12)
        );
        assert_eq!(passed_count("running 3 tests"), None);
    }
}
