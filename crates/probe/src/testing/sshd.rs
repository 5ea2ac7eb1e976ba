//! An OpenSSH server for the SFTP connection tests, one per test, on a free loopback port.
//!
//! Each [`Sshd`] has its own directory with a fresh host key, an `sshd_config`
//! (`ListenAddress 127.0.0.1`, `Subsystem sftp internal-sftp`, password and public key
//! authentication without PAM) and an `authorized_keys` file holding a key generated for the
//! test. It logs in as the throwaway system user `cvprobe`, created when missing (the tests run
//! as root) with a password chosen per test process. `Drop` stops the server; a small shell loop
//! also stops it if the test process dies first.
//!
//! Without `/usr/sbin/sshd` (package `openssh-server`) or root, [`Sshd::start`] returns why and
//! the test skips, unless the test servers are required ([`servers_required`]): then it panics.

#![expect(
    clippy::unwrap_used,
    reason = "a test fixture: a step that fails is a test that fails"
)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::testing::{free_port, is_root, servers_required};

/// The system user the tests log in as.
pub const USER: &str = "cvprobe";

/// A running SSH server and the credentials that open it.
pub struct Sshd {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The user's password.
    pub password: String,
    /// An authorized private key (OpenSSH PEM), without passphrase.
    pub private_key: String,
    /// An authorized private key protected by [`Sshd::passphrase`].
    pub protected_key: String,
    /// The passphrase of [`Sshd::protected_key`].
    pub passphrase: String,
    /// A private key that is not authorized.
    pub stranger_key: String,
    /// The server's host key fingerprint, `SHA256:…`.
    pub fingerprint: String,
    child: Child,
    // Exits by itself within a second of sshd; never waited for.
    _watchdog: Child,
    dir: tempfile::TempDir,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sshd_binary() -> Option<PathBuf> {
    ["/usr/sbin/sshd", "/usr/local/sbin/sshd"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

fn run(command: &mut Command, what: &str) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {what}: {error}"));
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Creates the user when missing and gives it this process's password (once per process).
fn user_password() -> &'static str {
    static PASSWORD: OnceLock<String> = OnceLock::new();
    PASSWORD.get_or_init(|| {
        let exists = Command::new("id")
            .arg(USER)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !exists {
            run(
                Command::new("useradd").args(["--create-home", "--shell", "/bin/sh", USER]),
                "useradd",
            );
        }
        let password = format!("Pw-{}", uuid::Uuid::new_v4().simple());
        let mut chpasswd = Command::new("chpasswd")
            .stdin(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run chpasswd: {error}"));
        {
            use std::io::Write;
            let mut stdin = chpasswd.stdin.take().unwrap();
            writeln!(stdin, "{USER}:{password}").unwrap();
        }
        assert!(chpasswd.wait().unwrap().success(), "chpasswd failed");
        password
    })
}

fn keygen(path: &Path, passphrase: &str) -> String {
    run(
        Command::new("ssh-keygen")
            // Few KDF rounds: a protected key takes a moment, not a second, to open.
            .args([
                "-q",
                "-t",
                "ed25519",
                "-a",
                "2",
                "-C",
                "credvault-test",
                "-N",
                passphrase,
            ])
            .arg("-f")
            .arg(path),
        "ssh-keygen",
    );
    std::fs::read_to_string(path).unwrap()
}

impl Sshd {
    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Starts a server, or says why this machine cannot run one (the caller skips). Panics
    /// when starting fails, or when no server can run and [`servers_required`].
    pub fn start() -> Result<Sshd, String> {
        let reason = match (sshd_binary(), is_root()) {
            (Some(binary), true) => return Ok(Self::start_with(&binary)),
            (None, _) => "no sshd (install openssh-server)",
            (Some(_), false) => "the SSH tests create a system user and need root",
        };
        assert!(
            !servers_required(),
            "{reason}, but the connection-test servers are required here"
        );
        Err(reason.to_owned())
    }

    fn start_with(binary: &Path) -> Sshd {
        let password = user_password().to_owned();
        let dir = tempfile::Builder::new()
            .prefix("credvault-sshd-")
            .tempdir()
            .unwrap();
        let path = dir.path();
        // sshd reads authorized_keys as the user: the directory must be open to it.
        set_mode(path, 0o755);
        let host_key = path.join("host_key");
        keygen(&host_key, "");
        let fingerprint = run(
            Command::new("ssh-keygen")
                .arg("-lf")
                .arg(path.join("host_key.pub")),
            "ssh-keygen -l",
        )
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_owned();
        let private_key = keygen(&path.join("client_key"), "");
        let passphrase = format!("kp-{}", uuid::Uuid::new_v4().simple());
        let protected_key = keygen(&path.join("protected_key"), &passphrase);
        let stranger_key = keygen(&path.join("stranger_key"), "");
        let authorized: String = ["client_key.pub", "protected_key.pub"]
            .iter()
            .map(|name| std::fs::read_to_string(path.join(name)).unwrap())
            .collect();
        let authorized_keys = path.join("authorized_keys");
        std::fs::write(&authorized_keys, authorized).unwrap();
        set_mode(&authorized_keys, 0o644);

        // The privilege separation directory that Debian's package creates at boot.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = free_port();
        let config = path.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\n\
                 ListenAddress 127.0.0.1\n\
                 HostKey {host_key}\n\
                 PidFile {dir}/sshd.pid\n\
                 AuthorizedKeysFile {authorized_keys}\n\
                 StrictModes no\n\
                 UsePAM no\n\
                 PasswordAuthentication yes\n\
                 KbdInteractiveAuthentication no\n\
                 PubkeyAuthentication yes\n\
                 PermitRootLogin no\n\
                 AllowUsers {USER}\n\
                 MaxAuthTries 3\n\
                 Subsystem sftp internal-sftp\n\
                 LogLevel VERBOSE\n",
                host_key = host_key.display(),
                dir = path.display(),
                authorized_keys = authorized_keys.display(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(path.join("sshd.log")).unwrap();
        let mut child = Command::new(binary)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start sshd: {error}"));
        // Stops sshd if this process dies without dropping the Sshd.
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while [ -d /proc/{parent} ] && [ -d /proc/{sshd} ]; do sleep 1; done; \
                 [ -d /proc/{sshd} ] && kill {sshd}",
                parent = std::process::id(),
                sshd = child.id()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = child.try_wait().unwrap().is_some();
            if exited || started.elapsed() > Duration::from_secs(20) {
                let log = std::fs::read_to_string(path.join("sshd.log")).unwrap_or_default();
                panic!("sshd did not start; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Sshd {
            port,
            password,
            private_key,
            protected_key,
            passphrase,
            stranger_key,
            fingerprint,
            child,
            _watchdog: watchdog,
            dir,
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
