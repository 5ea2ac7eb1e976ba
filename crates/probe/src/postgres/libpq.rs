//! The few calls of libpq's C API (through `pq-sys`) that diesel does not offer: the version of
//! the linked library, and a connection and query driven without blocking, so that a connection
//! test can give up at its deadline and close the socket.
//!
//! Every `unsafe` block below calls a libpq function on a pointer that [`PgConn`] owns (non-null,
//! from `PQconnectStart`, freed once by `PQfinish` on drop) or on a result that is cleared in the
//! same scope; strings passed in are NUL-terminated `CStr`s that outlive the call, and strings
//! returned by libpq are copied before the next call can invalidate them.

#![expect(
    unsafe_code,
    reason = "libpq's non-blocking API is only reachable through its C API"
)]

use std::ffi::{CStr, c_int};
use std::ptr::NonNull;
use std::time::Instant;

use pq_sys::{ConnStatusType, ExecStatusType, PostgresPollingStatusType};

/// The version of the libpq linked into this process, as `PQlibVersion` reports it
/// (`150014` for 15.14, `180001` for 18.1).
pub fn version() -> i32 {
    // SAFETY: `PQlibVersion` takes no argument and only returns a constant.
    unsafe { pq_sys::PQlibVersion() }
}

/// Why [`connect_and_query`] failed.
#[derive(Debug)]
pub(crate) enum Error {
    /// The deadline passed; the connection was closed.
    Deadline {
        /// What was going on: `connecting`, `running SELECT 1`.
        step: &'static str,
    },
    /// libpq failed while connecting; its message.
    Connect(String),
    /// Connected, but the query failed; its message.
    Query(String),
}

/// A libpq connection, closed (`PQfinish`, which also closes its socket) on drop.
struct PgConn(NonNull<pq_sys::PGconn>);

impl Drop for PgConn {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `PQconnectStart` and is finished exactly once, here.
        unsafe { pq_sys::PQfinish(self.0.as_ptr()) }
    }
}

impl PgConn {
    fn error_message(&self) -> String {
        // SAFETY: the connection is live; the returned string belongs to it and is copied at once.
        let message = unsafe { pq_sys::PQerrorMessage(self.0.as_ptr()) };
        copy(message)
    }

    fn socket(&self) -> c_int {
        // SAFETY: the connection is live.
        unsafe { pq_sys::PQsocket(self.0.as_ptr()) }
    }
}

fn copy(text: *const std::ffi::c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: libpq returns NUL-terminated strings that live until the next call on the object.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

/// What to wait for on the socket.
#[derive(Clone, Copy)]
enum Wait {
    Read,
    Write,
}

/// Waits until the socket is ready or the deadline passes (`false`).
fn wait(socket: c_int, what: Wait, deadline: Instant) -> bool {
    loop {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else {
            return false;
        };
        let millis = c_int::try_from(left.as_millis())
            .unwrap_or(c_int::MAX)
            .max(1);
        let events = match what {
            Wait::Read => libc::POLLIN,
            Wait::Write => libc::POLLOUT,
        };
        let mut fd = libc::pollfd {
            fd: socket,
            events,
            revents: 0,
        };
        // SAFETY: one valid `pollfd` on the stack, for the duration of the call.
        let ready = unsafe { libc::poll(&mut fd, 1, millis) };
        match ready {
            // Ready, or an error or hang-up that libpq will report on its next call.
            1.. => return true,
            0 => return false,
            _ => {
                if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                    return true;
                }
            }
        }
    }
}

/// Connects with the keyword/value `conninfo`, authenticates and runs `SELECT 1`, never past
/// `deadline`: every wait on the socket is a `poll` bounded by what is left, and at the deadline
/// the connection is closed, so neither this thread nor the socket outlives it.
pub(crate) fn connect_and_query(conninfo: &CStr, deadline: Instant) -> Result<(), Error> {
    // SAFETY: `conninfo` is NUL-terminated and outlives the call; libpq copies what it needs.
    let raw = unsafe { pq_sys::PQconnectStart(conninfo.as_ptr()) };
    let conn = PgConn(NonNull::new(raw).ok_or_else(|| Error::Connect("out of memory".to_owned()))?);
    // SAFETY: the connection is live.
    if unsafe { pq_sys::PQstatus(conn.0.as_ptr()) } == ConnStatusType::CONNECTION_BAD {
        return Err(Error::Connect(conn.error_message()));
    }
    // As libpq's documentation says: behave as if `PQconnectPoll` had asked to write.
    let mut wait_for = Wait::Write;
    loop {
        // The socket can change while libpq tries the next address.
        if !wait(conn.socket(), wait_for, deadline) {
            return Err(Error::Deadline { step: "connecting" });
        }
        // SAFETY: the connection is live.
        match unsafe { pq_sys::PQconnectPoll(conn.0.as_ptr()) } {
            PostgresPollingStatusType::PGRES_POLLING_OK => break,
            PostgresPollingStatusType::PGRES_POLLING_FAILED => {
                return Err(Error::Connect(conn.error_message()));
            }
            PostgresPollingStatusType::PGRES_POLLING_READING => wait_for = Wait::Read,
            PostgresPollingStatusType::PGRES_POLLING_WRITING
            | PostgresPollingStatusType::PGRES_POLLING_ACTIVE => wait_for = Wait::Write,
        }
    }

    let query = c"SELECT 1";
    // SAFETY: the connection is live; `query` is a NUL-terminated static string.
    let sent = unsafe {
        pq_sys::PQsetnonblocking(conn.0.as_ptr(), 1) == 0
            && pq_sys::PQsendQuery(conn.0.as_ptr(), query.as_ptr()) == 1
    };
    if !sent {
        return Err(Error::Query(conn.error_message()));
    }
    let step = "running SELECT 1";
    loop {
        // SAFETY: the connection is live.
        match unsafe { pq_sys::PQflush(conn.0.as_ptr()) } {
            0 => break,
            1 => {
                if !wait(conn.socket(), Wait::Write, deadline) {
                    return Err(Error::Deadline { step });
                }
            }
            _ => return Err(Error::Query(conn.error_message())),
        }
    }
    let mut failure = None;
    loop {
        // SAFETY: the connection is live.
        while unsafe { pq_sys::PQisBusy(conn.0.as_ptr()) } == 1 {
            if !wait(conn.socket(), Wait::Read, deadline) {
                return Err(Error::Deadline { step });
            }
            // SAFETY: the connection is live.
            if unsafe { pq_sys::PQconsumeInput(conn.0.as_ptr()) } == 0 {
                return Err(Error::Query(conn.error_message()));
            }
        }
        // SAFETY: the connection is live and not busy, so this does not block.
        let result = unsafe { pq_sys::PQgetResult(conn.0.as_ptr()) };
        if result.is_null() {
            break;
        }
        // SAFETY: `result` is a live result of this connection, cleared right after.
        unsafe {
            let status = pq_sys::PQresultStatus(result);
            if status != ExecStatusType::PGRES_TUPLES_OK && failure.is_none() {
                failure = Some(copy(pq_sys::PQresultErrorMessage(result)));
            }
            pq_sys::PQclear(result);
        }
    }
    match failure {
        None => Ok(()),
        Some(message) => Err(Error::Query(message)),
    }
}
