//! WAL checkpoints of an SQLite database, off the write path.
//!
//! In WAL mode every commit appends to the `-wal` file, and SQLite copies the file back into the
//! database (a checkpoint, with an fsync) from whichever commit takes the WAL past
//! `wal_autocheckpoint` pages. That commit, and every writer queued behind it, then waits for
//! the copy. A store on an SQLite file runs checkpoints from a thread of its own every
//! [`INTERVAL`] instead, on a connection of its own, in `PASSIVE` mode (it never waits for
//! readers or the writer, and they do not wait for it). The writer's automatic checkpoint stays
//! as a backstop, at a threshold ([`BACKSTOP_PAGES`]) that the thread keeps the WAL below.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::sqlite::SqliteConnection;

/// How often the thread checkpoints.
pub(crate) const INTERVAL: Duration = Duration::from_millis(100);

/// The writer's own automatic checkpoint threshold, in pages (4 KiB each): 40 MiB of WAL.
pub(crate) const BACKSTOP_PAGES: u32 = 10_000;

/// The checkpoint thread of a store; stops (after one last checkpoint) when dropped.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database file at `path`, with `busy_timeout` for its locks.
    pub(crate) fn start(path: &str, busy_timeout: Duration) -> std::io::Result<Checkpointer> {
        let (stop, stopped) = mpsc::channel::<()>();
        let path = path.to_owned();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || {
                let mut conn = match SqliteConnection::establish(&path) {
                    Ok(conn) => conn,
                    Err(error) => {
                        log::warn!("the WAL checkpoint thread could not connect: {error}");
                        return;
                    }
                };
                let setup = format!("PRAGMA busy_timeout = {};", busy_timeout.as_millis());
                if let Err(error) = conn.batch_execute(&setup) {
                    log::warn!("the WAL checkpoint thread could not be set up: {error}");
                    return;
                }
                loop {
                    let last = match stopped.recv_timeout(INTERVAL) {
                        Err(RecvTimeoutError::Timeout) => false,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => true,
                    };
                    if let Err(error) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);") {
                        log::warn!("WAL checkpoint failed: {error}");
                    }
                    if last {
                        return;
                    }
                }
            })?;
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel wakes the thread at once.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            log::warn!("the WAL checkpoint thread panicked");
        }
    }
}
