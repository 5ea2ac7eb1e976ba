//! The SFTP connection test, with libssh2 (the `ssh2` crate): TCP connect to a checked address,
//! SSH handshake, host key check, login with the password or the private key, open the SFTP
//! subsystem and list the home directory.
//!
//! Host keys: the schema declares no host key field, so the test reads the undeclared,
//! non-secret `extra_data.host_key_sha256` ([`fields::HOST_KEY_SHA256`]) when present, in OpenSSH's fingerprint form
//! (`SHA256:` + unpadded base64 of the SHA-256 of the key, as `ssh-keygen -lf` prints it). A
//! server whose key does not match is `host_key_mismatch`, found before any password or key
//! signature is sent. Without a pinned key the test trusts the key it sees and names its
//! fingerprint in the message, so that it can be pinned.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use credvault_domain::schema::{Kind, fields};
use credvault_domain::secret::SecretValue;
use credvault_domain::validate::ValidationErrors;
use ssh2::{ErrorCode, HashType, KeyboardInteractivePrompt, Prompt, Session};

use crate::policy::ProbePolicy;
use crate::{Failure, Fields, ShutDownAt, TestCode, remaining};

/// The undeclared `extra_data` key that pins the server's host key.
const HOST_KEY_FIELD: &str = fields::HOST_KEY_SHA256;

/// The default SSH port.
const DEFAULT_PORT: u16 = 22;

// libssh2's error codes (libssh2.h) that decide the test's code.
const LIBSSH2_ERROR_TIMEOUT: i32 = -9;
const LIBSSH2_ERROR_PASSWORD_EXPIRED: i32 = -15;
const LIBSSH2_ERROR_FILE: i32 = -16;
const LIBSSH2_ERROR_METHOD_NONE: i32 = -17;
const LIBSSH2_ERROR_AUTHENTICATION_FAILED: i32 = -18;
const LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED: i32 = -19;
const LIBSSH2_ERROR_SOCKET_TIMEOUT: i32 = -30;

/// How the test logs in. `Debug` names the method, never a secret.
#[derive(Clone)]
enum Auth {
    Password(SecretValue),
    Key {
        private_key: SecretValue,
        passphrase: Option<SecretValue>,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::Password(_) => "Password(••••)",
            Auth::Key { .. } => "Key(••••)",
        })
    }
}

/// What an SFTP test connects to and with.
#[derive(Clone, Debug)]
pub struct SftpTarget {
    host: String,
    port: u16,
    username: String,
    auth: Auth,
    /// The pinned fingerprint: the 32 bytes of the SHA-256.
    pinned: Option<Vec<u8>>,
}

impl SftpTarget {
    /// Reads a `user_password` or `key_file` SFTP credential.
    pub(crate) fn from_fields(
        kind: Kind,
        mut reader: Fields<'_>,
    ) -> Result<Self, ValidationErrors> {
        let host = reader.required_text(fields::HOST);
        let port = reader.port(DEFAULT_PORT);
        let username = reader.required_text(fields::USERNAME);
        let auth = if kind == Kind::KeyFile {
            Auth::Key {
                private_key: reader.required_secret(fields::PRIVATE_KEY),
                passphrase: reader.secret(fields::PASSPHRASE),
            }
        } else {
            Auth::Password(reader.required_secret(fields::PASSWORD))
        };
        let pinned = match reader.extra_data.get(HOST_KEY_FIELD) {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => {
                let parsed = value.as_str().and_then(parse_fingerprint);
                if parsed.is_none() {
                    reader.invalid(
                        HOST_KEY_FIELD,
                        "must be an OpenSSH SHA256 host key fingerprint such as \
                         SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8 (ssh-keygen -lf)",
                    );
                }
                parsed
            }
        };
        reader.finish(Self {
            host,
            port,
            username,
            auth,
            pinned,
        })
    }

    /// The secrets of the test.
    pub(crate) fn secrets(&self) -> Vec<SecretValue> {
        match &self.auth {
            Auth::Password(password) => vec![password.clone()],
            Auth::Key {
                private_key,
                passphrase,
            } => std::iter::once(private_key.clone())
                .chain(passphrase.clone())
                .collect(),
        }
    }
}

/// `SHA256:<base64>` (padding optional, prefix optional) as the 32 hash bytes.
pub fn parse_fingerprint(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    let encoded = text
        .strip_prefix("SHA256:")
        .or_else(|| text.strip_prefix("sha256:"))
        .unwrap_or(text)
        .trim_end_matches('=');
    STANDARD_NO_PAD
        .decode(encoded)
        .ok()
        .or_else(|| STANDARD.decode(encoded).ok())
        .filter(|bytes| bytes.len() == 32)
}

/// The OpenSSH form of a SHA-256 fingerprint: `SHA256:<unpadded base64>`.
pub fn format_fingerprint(hash: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(hash))
}

/// Runs the test; the success message names the server, the user, the listing and the host key.
pub(crate) fn test(
    target: &SftpTarget,
    policy: &ProbePolicy,
    deadline: Instant,
) -> Result<String, Failure> {
    test_until(target, policy, deadline).map_err(|failure| {
        // A step that failed because the socket was shut down at the deadline ran out of time.
        if failure.code != TestCode::Timeout && Instant::now() >= deadline {
            Failure::new(
                TestCode::Timeout,
                format!("no answer in time ({})", failure.message),
            )
        } else {
            failure
        }
    })
}

fn test_until(
    target: &SftpTarget,
    policy: &ProbePolicy,
    deadline: Instant,
) -> Result<String, Failure> {
    let addresses = policy.resolve(&target.host, target.port)?;
    let (stream, address) = connect(&addresses, deadline)?;
    // libssh2's timeout bounds each call, not the whole test: the socket is shut down at the
    // deadline, whatever libssh2 is waiting for then.
    let _deadline = ShutDownAt::arm(&stream, deadline);
    let place = format!("{}@{}:{}", target.username, target.host, target.port);

    let mut session = Session::new()
        .map_err(|error| Failure::new(TestCode::Error, format!("SSH session: {error}")))?;
    session.set_tcp_stream(stream);
    set_timeout(&session, deadline, "starting the SSH handshake")?;
    session
        .handshake()
        .map_err(|error| ssh_failure(&error, "performing the SSH handshake"))?;

    let fingerprint = session
        .host_key_hash(HashType::Sha256)
        .map(<[u8]>::to_vec)
        .ok_or_else(|| Failure::new(TestCode::Error, "the server sent no host key"))?;
    let shown = format_fingerprint(&fingerprint);
    let key_note = match &target.pinned {
        Some(pinned) if *pinned != fingerprint => {
            return Err(Failure::new(
                TestCode::HostKeyMismatch,
                format!(
                    "the host key of {address} is {shown}, not the pinned {}; nothing was sent \
                     to log in",
                    format_fingerprint(pinned)
                ),
            ));
        }
        Some(_) => format!("host key {shown} matches the pinned one"),
        None => format!(
            "host key {shown} (not pinned: set extra_data.{HOST_KEY_FIELD} to this value to \
             pin it)"
        ),
    };

    set_timeout(&session, deadline, "logging in")?;
    login(&session, target).map_err(|failure| Failure {
        message: format!("{}; {key_note}", failure.message),
        ..failure
    })?;
    if !session.authenticated() {
        return Err(Failure::new(
            TestCode::AuthFailed,
            format!("the server did not accept the login of {place}; {key_note}"),
        ));
    }

    set_timeout(&session, deadline, "opening the SFTP subsystem")?;
    let sftp = session
        .sftp()
        .map_err(|error| with_note(ssh_failure(&error, "opening the SFTP subsystem"), &key_note))?;
    set_timeout(&session, deadline, "listing the home directory")?;
    let entries = sftp
        .readdir(Path::new("."))
        .map_err(|error| with_note(ssh_failure(&error, "listing the home directory"), &key_note))?;
    drop(sftp);
    // A polite goodbye; the test has its answer whatever the server says to it.
    let _ = session.disconnect(None, "connection test done", None);
    Ok(format!(
        "logged in to SFTP at {place} ({address}) and listed the home directory ({} entries); \
         {key_note}",
        entries.len()
    ))
}

fn with_note(failure: Failure, note: &str) -> Failure {
    Failure {
        message: format!("{}; {note}", failure.message),
        ..failure
    }
}

/// Connects to the first checked address that answers.
fn connect(
    addresses: &[SocketAddr],
    deadline: Instant,
) -> Result<(TcpStream, SocketAddr), Failure> {
    let mut last = None;
    for address in addresses {
        let timeout = remaining(deadline, &format!("connecting to {address}"))?;
        match TcpStream::connect_timeout(address, timeout) {
            Ok(stream) => return Ok((stream, *address)),
            Err(error) => last = Some((address, error)),
        }
    }
    let Some((address, error)) = last else {
        return Err(Failure::new(TestCode::Error, "no address to connect to"));
    };
    let code = match error.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => TestCode::Timeout,
        std::io::ErrorKind::ConnectionRefused
        | std::io::ErrorKind::HostUnreachable
        | std::io::ErrorKind::NetworkUnreachable
        | std::io::ErrorKind::AddrNotAvailable => TestCode::Unreachable,
        _ => TestCode::Error,
    };
    Err(Failure::new(
        code,
        format!("could not connect to {address}: {error}"),
    ))
}

/// Gives libssh2's next blocking calls what is left of the time limit.
fn set_timeout(session: &Session, deadline: Instant, step: &str) -> Result<(), Failure> {
    let left = remaining(deadline, step)?;
    let millis = u32::try_from(left.as_millis()).unwrap_or(u32::MAX).max(1);
    session.set_timeout(millis);
    Ok(())
}

/// Logs in with the password (or keyboard-interactive when the server offers only that) or
/// with the private key.
fn login(session: &Session, target: &SftpTarget) -> Result<(), Failure> {
    let user = target.username.as_str();
    match &target.auth {
        Auth::Password(password) => {
            let methods = session.auth_methods(user).unwrap_or("password");
            if session.authenticated() {
                return Ok(());
            }
            let offers = |name: &str| methods.split(',').any(|method| method == name);
            if !offers("password") && offers("keyboard-interactive") {
                let mut prompter = PasswordPrompter {
                    password,
                    refused: false,
                };
                let result = session.userauth_keyboard_interactive(user, &mut prompter);
                if prompter.refused {
                    return Err(Failure::new(
                        TestCode::AuthFailed,
                        "the server's keyboard-interactive challenge was not a single password                          prompt (a one-time code, a new password or several prompts); the test                          answers only a password prompt and sent nothing",
                    ));
                }
                result.map_err(|error| ssh_failure(&error, "logging in"))
            } else {
                session
                    .userauth_password(user, password.expose())
                    .map_err(|error| ssh_failure(&error, "logging in"))
            }
        }
        Auth::Key {
            private_key,
            passphrase,
        } => session
            .userauth_pubkey_memory(
                user,
                None,
                private_key.expose(),
                passphrase.as_ref().map(SecretValue::expose),
            )
            .map_err(|error| ssh_failure(&error, "logging in with the private key")),
    }
}

/// Answers a keyboard-interactive challenge with the password only when it is a single prompt
/// that asks for the password ([`is_password_prompt`]); any other challenge (a one-time code, a
/// new password, several prompts) gets empty answers, so the login fails without the password
/// having been sent.
struct PasswordPrompter<'a> {
    password: &'a SecretValue,
    refused: bool,
}

impl KeyboardInteractivePrompt for PasswordPrompter<'_> {
    fn prompt<'b>(
        &mut self,
        _username: &str,
        _instructions: &str,
        prompts: &[Prompt<'b>],
    ) -> Vec<String> {
        match prompts {
            // A challenge without prompts (an informational round) needs no answer.
            [] => Vec::new(),
            [prompt] if is_password_prompt(&prompt.text, prompt.echo) => {
                vec![self.password.expose().to_owned()]
            }
            _ => {
                self.refused = true;
                prompts.iter().map(|_| String::new()).collect()
            }
        }
    }
}

/// Words of a prompt that ask for something other than the current password.
const NOT_THE_PASSWORD: [&str; 14] = [
    "new", "again", "retype", "re-enter", "confirm", "repeat", "verif", "otp", "one-time",
    "one time", "code", "token", "passcode", "pin",
];

/// Whether a keyboard-interactive prompt asks for the account's current password: its input is
/// not echoed, and its text names a password ("Password:", "user@host's password:") and nothing
/// else (a one-time code, a token, a new or repeated password).
pub fn is_password_prompt(text: &str, echo: bool) -> bool {
    let text = text.trim().to_lowercase();
    let words: Vec<&str> = text
        .split(|ch: char| !ch.is_alphanumeric() && ch != '-')
        .filter(|word| !word.is_empty())
        .collect();
    !echo
        && text.contains("password")
        && !NOT_THE_PASSWORD.iter().any(|part| {
            if part.contains(' ') || part.contains('-') {
                text.contains(part)
            } else {
                words.iter().any(|word| word.starts_with(part))
            }
        })
}

/// The test's failure for a libssh2 error during `step`.
fn ssh_failure(error: &ssh2::Error, step: &str) -> Failure {
    let session_code = match error.code() {
        ErrorCode::Session(code) => Some(code),
        ErrorCode::SFTP(_) => None,
    };
    let (code, message) = match session_code {
        Some(LIBSSH2_ERROR_TIMEOUT | LIBSSH2_ERROR_SOCKET_TIMEOUT) => {
            (TestCode::Timeout, format!("no answer in time while {step}"))
        }
        Some(
            LIBSSH2_ERROR_AUTHENTICATION_FAILED
            | LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED
            | LIBSSH2_ERROR_METHOD_NONE
            | LIBSSH2_ERROR_PASSWORD_EXPIRED,
        ) => (
            TestCode::AuthFailed,
            format!("the server refused the login ({})", error.message()),
        ),
        Some(LIBSSH2_ERROR_FILE) => (
            TestCode::AuthFailed,
            format!(
                "the private key could not be used: wrong passphrase or unsupported key format \
                 ({})",
                error.message()
            ),
        ),
        _ => (
            TestCode::Error,
            format!("{step} failed: {}", error.message()),
        ),
    };
    Failure::new(code, message)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn fingerprints_round_trip_in_openssh_form() {
        let hash = [7u8; 32];
        let text = format_fingerprint(&hash);
        assert!(text.starts_with("SHA256:"));
        assert!(!text.ends_with('='));
        assert_eq!(parse_fingerprint(&text).unwrap(), hash);
        let padded = format!("{}=", text.trim_start_matches("SHA256:"));
        assert_eq!(parse_fingerprint(&padded).unwrap(), hash);
        assert!(parse_fingerprint("SHA256:tooshort").is_none());
        assert!(parse_fingerprint("MD5:aa:bb").is_none());
    }

    #[test]
    fn only_a_single_password_prompt_is_answered_with_the_password() {
        for text in [
            "Password:",
            "Password: ",
            "etl@sftp.example's password:",
            "Password for etl@EXAMPLE.COM:",
            "(etl@sftp.example) Password:",
        ] {
            assert!(is_password_prompt(text, false), "{text}");
            assert!(!is_password_prompt(text, true), "echoed: {text}");
        }
        for text in [
            "Verification code:",
            "One-time password (OATH) for `etl':",
            "OTP:",
            "Enter PASSCODE:",
            "New password:",
            "Retype new password:",
            "Confirm password:",
            "Password again:",
            "Enter your token:",
            "PIN:",
            "Username:",
            "Duo two-factor login; enter a code:",
        ] {
            assert!(!is_password_prompt(text, false), "{text}");
        }
    }

    #[test]
    fn the_prompter_refuses_challenges_that_are_not_one_password_prompt() {
        let password = SecretValue::from("prompt-pw-123");
        let prompt = |text: &'static str, echo: bool| Prompt {
            text: text.into(),
            echo,
        };
        let mut prompter = PasswordPrompter {
            password: &password,
            refused: false,
        };
        let answers = prompter.prompt("etl", "", &[prompt("Password:", false)]);
        assert_eq!(answers, ["prompt-pw-123"]);
        assert!(!prompter.refused);
        assert!(prompter.prompt("etl", "", &[]).is_empty());
        assert!(!prompter.refused);

        for challenge in [
            vec![prompt("Verification code:", false)],
            vec![prompt("New password:", false)],
            vec![
                prompt("Password:", false),
                prompt("Verification code:", false),
            ],
            vec![prompt("Password:", true)],
        ] {
            let mut prompter = PasswordPrompter {
                password: &password,
                refused: false,
            };
            let answers = prompter.prompt("etl", "", &challenge);
            assert_eq!(answers.len(), challenge.len());
            assert!(answers.iter().all(String::is_empty), "{answers:?}");
            assert!(prompter.refused);
        }
    }

    #[test]
    fn timeouts_map_to_timeout() {
        let error = ssh2::Error::new(ErrorCode::Session(LIBSSH2_ERROR_TIMEOUT), "timed out");
        assert_eq!(ssh_failure(&error, "x").code, TestCode::Timeout);
        let error = ssh2::Error::new(
            ErrorCode::Session(LIBSSH2_ERROR_AUTHENTICATION_FAILED),
            "Authentication failed",
        );
        assert_eq!(ssh_failure(&error, "x").code, TestCode::AuthFailed);
    }

    #[test]
    fn an_unused_duration_is_never_zero() {
        let deadline = Instant::now() + Duration::from_secs(5);
        let left = remaining(deadline, "x").unwrap();
        assert!(left > Duration::ZERO);
        assert_eq!(
            remaining(Instant::now(), "waiting").unwrap_err().code,
            TestCode::Timeout
        );
    }
}
