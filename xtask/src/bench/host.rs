//! What a load run needs from the machine: programs (`wrk`, installed when missing), commands
//! whose output it reads, and a process's CPU time and peak memory from `/proc`.

use std::fs;
use std::process::{Command, Stdio};

use crate::display;
use anyhow::{Context, Result, bail};

/// Installs `wrk` from Debian when it is not on the `PATH`.
pub(crate) fn ensure_wrk() -> Result<()> {
    if has_program("wrk") {
        return Ok(());
    }
    eprintln!("bench: wrk is missing; installing Debian's package");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "wrk"])
            .status()
            .is_ok_and(|status| status.success())
    };
    if !install() {
        let _ = Command::new("apt-get").arg("update").status();
        install();
    }
    if !has_program("wrk") {
        bail!("wrk is required: apt-get install wrk");
    }
    Ok(())
}

/// Whether `name` is a program on the `PATH`.
pub(crate) fn has_program(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Runs a command and returns its stdout; fails with its stderr when it fails.
pub(crate) fn capture(command: &mut Command) -> Result<String> {
    eprintln!("$ {}", display(command));
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("starting {}", display(command)))?;
    if !output.status.success() {
        bail!(
            "{} failed with {}:\n{}",
            display(command),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// utime + stime of a process, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime and stime are fields 14 and 15.
    let field = |index: usize| -> Result<u64> {
        fields
            .get(index)
            .and_then(|text| text.parse().ok())
            .context("unexpected /proc/<pid>/stat format")
    };
    Ok(field(11)? + field(12)?)
}

/// The peak RSS of a process (`VmHWM`), in KiB.
pub(crate) fn peak_rss_kib(pid: u32) -> Result<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .context("no VmHWM in /proc/<pid>/status")
}

/// Resets the peak RSS so that `VmHWM` is the cell's own (Linux 4.0+).
pub(crate) fn reset_peak_rss(pid: u32) {
    let _ = fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// Clock ticks per second, the unit of `/proc/<pid>/stat` CPU times.
pub(crate) fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// The one-minute load average.
pub(crate) fn loadavg() -> f64 {
    fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}
