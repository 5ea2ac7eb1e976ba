//! Test databases for this crate's tests and for the crates above it (feature `testing`, which
//! only `[dev-dependencies]` enable).
//!
//! [`TestDb::sqlite`] is a migrated database in a temporary directory; [`TestDb::postgres`] is a
//! fresh database `cv_test_<random>` on the server named by `CREDVAULT_TEST_POSTGRES_URL`,
//! dropped again when the `TestDb` is. Write a test once for both with [`crate::backend_tests`].
//!
//! Setting up a test database either works or panics with a message saying why: a test cannot go
//! on without one.

use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Binary, Text};

use credvault_domain::audit::AuditEvent;

use crate::conn::DbConn;
use crate::{Store, StoreOptions};

/// The variable naming the PostgreSQL server for tests, e.g. `postgres://postgres@127.0.0.1:5432/test`.
pub const POSTGRES_URL_VAR: &str = "CREDVAULT_TEST_POSTGRES_URL";
/// When this variable is `1`, a missing [`POSTGRES_URL_VAR`] fails the PostgreSQL tests instead
/// of skipping them, so that CI cannot pass by skipping.
pub const REQUIRE_POSTGRES_VAR: &str = "CREDVAULT_REQUIRE_POSTGRES";

/// A migrated, empty database that exists as long as this value.
pub struct TestDb {
    store: Store,
    url: String,
    place: Place,
}

enum Place {
    Sqlite {
        // Held for its `Drop`, which removes the directory.
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        server_url: String,
        database: String,
    },
}

/// Pool settings for tests: generous timeouts, so that a busy machine queues rather than fails.
///
/// SQLite runs with `synchronous=NORMAL` here: a test never loses power, and syncing every commit
/// (the store's default, about 5 ms a commit on the development machine) only slows the suite.
/// The default itself is checked in `conn::tests`, and the server's CLI tests run the binary with it.
fn test_options() -> StoreOptions {
    StoreOptions {
        pool_size: 8,
        connection_timeout: Duration::from_secs(30),
        sqlite_synchronous: crate::SqliteSynchronous::Normal,
    }
}

impl TestDb {
    /// A new SQLite database file (WAL) in a temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir()
            .unwrap_or_else(|error| panic!("cannot create a temporary directory: {error}"));
        let path = dir.path().join("credvault.db");
        let url = format!("sqlite://{}", path.display());
        let store = open_migrated(&url);
        TestDb {
            store,
            url,
            place: Place::Sqlite { _dir: dir, path },
        }
    }

    /// A new database on the PostgreSQL server named by `CREDVAULT_TEST_POSTGRES_URL`, or `None`
    /// when the variable is unset. Panics when it is unset but `CREDVAULT_REQUIRE_POSTGRES=1`.
    pub fn postgres() -> Option<TestDb> {
        Self::postgres_database(true)
    }

    /// Like [`TestDb::postgres`], but without the migrations: an empty database, as a first
    /// start of the server finds it. The store is opened but has not touched the database.
    pub fn postgres_unmigrated() -> Option<TestDb> {
        Self::postgres_database(false)
    }

    fn postgres_database(migrated: bool) -> Option<TestDb> {
        let Ok(server_url) = std::env::var(POSTGRES_URL_VAR) else {
            if std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|value| value == "1") {
                panic!(
                    "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is unset: \
                     set it to a PostgreSQL server URL, e.g. postgres://postgres@127.0.0.1:5432/test"
                );
            }
            return None;
        };
        let database = format!("cv_test_{}", uuid::Uuid::new_v4().simple());
        admin_connection(&server_url)
            .batch_execute(&format!("CREATE DATABASE \"{database}\""))
            .unwrap_or_else(|error| panic!("cannot create the test database {database}: {error}"));
        let url = with_database(&server_url, &database);
        let store = if migrated {
            open_migrated(&url)
        } else {
            Store::open(&url, &test_options())
                .unwrap_or_else(|error| panic!("cannot open the test database: {error}"))
        };
        Some(TestDb {
            store,
            url,
            place: Place::Postgres {
                server_url,
                database,
            },
        })
    }

    /// The store on this database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The database URL, for a server process started by the test.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every byte the database holds in its tables, for "no plaintext in the database" checks.
    ///
    /// SQLite: the database file and its WAL after a checkpoint (so deleted rows count only if
    /// SQLite kept their bytes). PostgreSQL: each live row's columns as text, and the binary
    /// columns' raw bytes as well.
    pub fn raw_contents(&self) -> Vec<u8> {
        match &self.place {
            Place::Sqlite { path, .. } => {
                self.with_conn(|conn| conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)"));
                let mut contents = read_file(path);
                let mut wal = path.clone().into_os_string();
                wal.push("-wal");
                contents.extend(read_file(&PathBuf::from(wal)));
                contents
            }
            Place::Postgres { .. } => self.with_conn(postgres_contents),
        }
    }

    /// Whether [`TestDb::raw_contents`] holds `needle` anywhere.
    pub fn contains_bytes(&self, needle: &[u8]) -> bool {
        !needle.is_empty()
            && self
                .raw_contents()
                .windows(needle.len())
                .any(|window| window == needle)
    }

    /// Appends `event` to its credential's trail as it is, with its own id and `at`. The store
    /// stamps every event it writes; this is for tests that need a chosen id, e.g. one that
    /// sorts before the ids already written.
    pub fn append_event(&self, event: &AuditEvent) {
        let mut conn = self
            .store
            .pool
            .get()
            .unwrap_or_else(|error| panic!("no connection to the test database: {error}"));
        crate::repo::events::insert(&mut conn, event)
            .unwrap_or_else(|error| panic!("appending {event:?} failed: {error}"));
    }

    /// How many rows a table holds (a table name of this crate's schema).
    pub fn count_rows(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        self.with_conn(|conn| {
            diesel::sql_query(format!("SELECT COUNT(*) AS count FROM {table}"))
                .get_result::<Count>(conn)
        })
        .count
    }

    /// Runs one SQL statement as it is and returns the number of rows it touched: for tests that
    /// need a row no store method writes, e.g. one from before a column was always set.
    pub fn execute_sql(&self, sql: &str) -> usize {
        self.with_conn(|conn| diesel::sql_query(sql).execute(conn))
    }

    /// Starts a transaction on a connection of its own, runs `sql` (statements separated by `;`)
    /// in it and leaves it open until [`OpenTransaction::commit`]: for tests of what waits on the
    /// locks it holds.
    pub fn open_transaction(&self, sql: &str) -> OpenTransaction {
        let mut conn = self
            .store
            .pool
            .get()
            .unwrap_or_else(|error| panic!("no connection to the test database: {error}"));
        conn.batch_execute(&format!("BEGIN; {sql}"))
            .unwrap_or_else(|error| panic!("test transaction failed: {error}"));
        OpenTransaction { conn }
    }

    fn with_conn<T>(&self, query: impl FnOnce(&mut DbConn) -> QueryResult<T>) -> T {
        let mut conn = self
            .store
            .pool
            .get()
            .unwrap_or_else(|error| panic!("no connection to the test database: {error}"));
        query(&mut conn).unwrap_or_else(|error| panic!("test database query failed: {error}"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Place::Postgres {
            server_url,
            database,
        } = &self.place
        {
            // FORCE ends the store's own connections (and those of any server the test spawned).
            let dropped = PgConnection::establish(server_url)
                .map_err(|error| error.to_string())
                .and_then(|mut conn| {
                    conn.batch_execute(&format!(
                        "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
                    ))
                    .map_err(|error| error.to_string())
                });
            if let Err(error) = dropped {
                log::warn!("cannot drop the test database {database}: {error}");
            }
        }
    }
}

fn open_migrated(url: &str) -> Store {
    let store = Store::open(url, &test_options())
        .unwrap_or_else(|error| panic!("cannot open the test database: {error}"));
    store
        .migrate()
        .unwrap_or_else(|error| panic!("cannot migrate the test database: {error}"));
    store
}

fn admin_connection(server_url: &str) -> PgConnection {
    PgConnection::establish(server_url).unwrap_or_else(|error| {
        panic!("cannot connect to the PostgreSQL server in {POSTGRES_URL_VAR}: {error}")
    })
}

/// The server URL with its database name replaced: `postgres://u@h:5432/x?o=1` → `…/name?o=1`.
fn with_database(server_url: &str, database: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server_url, None),
    };
    let authority_start = base.find("://").map_or(0, |index| index + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |index| authority_start + index);
    let mut url = format!("{}/{database}", &base[..authority_start.max(authority_end)]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

fn read_file(path: &std::path::Path) -> Vec<u8> {
    match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => panic!("cannot read {}: {error}", path.display()),
    }
}

#[derive(QueryableByName)]
struct TextValue {
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(QueryableByName)]
struct BinaryValue {
    #[diesel(sql_type = Binary)]
    value: Vec<u8>,
}

/// Every row of every table in the public schema as text, then the raw bytes of binary columns.
fn postgres_contents(conn: &mut DbConn) -> QueryResult<Vec<u8>> {
    let tables: Vec<TextValue> = diesel::sql_query(
        "SELECT table_name::text AS value FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
    )
    .load(conn)?;
    let mut contents = Vec::new();
    for table in tables {
        let columns: Vec<(String, String)> = diesel::sql_query(format!(
            "SELECT column_name::text || ' ' || data_type::text AS value \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = '{}' ORDER BY ordinal_position",
            table.value
        ))
        .load::<TextValue>(conn)?
        .into_iter()
        .filter_map(|column| {
            column
                .value
                .split_once(' ')
                .map(|(name, data_type)| (name.to_owned(), data_type.to_owned()))
        })
        .collect();
        let as_text = columns
            .iter()
            .map(|(name, _)| format!("\"{name}\"::text"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows: Vec<TextValue> = diesel::sql_query(format!(
            "SELECT concat_ws(E'\\n', {as_text}) AS value FROM \"{}\"",
            table.value
        ))
        .load(conn)?;
        for row in rows {
            contents.extend(row.value.into_bytes());
            contents.push(b'\n');
        }
        for (name, _) in columns.iter().filter(|(_, data_type)| data_type == "bytea") {
            let values: Vec<BinaryValue> = diesel::sql_query(format!(
                "SELECT \"{name}\" AS value FROM \"{}\" WHERE \"{name}\" IS NOT NULL",
                table.value
            ))
            .load(conn)?;
            for value in values {
                contents.extend(value.value);
                contents.push(b'\n');
            }
        }
    }
    Ok(contents)
}

/// A transaction that [`TestDb::open_transaction`] left open.
pub struct OpenTransaction {
    conn: crate::conn::PooledConn,
}

impl OpenTransaction {
    /// Commits it, releasing its locks.
    pub fn commit(mut self) {
        self.conn
            .batch_execute("COMMIT")
            .unwrap_or_else(|error| panic!("test transaction failed to commit: {error}"));
    }
}

/// Writes each test once and runs it on both backends.
///
/// ```no_run
/// use credvault_persistence::testing::TestDb;
///
/// credvault_persistence::backend_tests! {
///     fn creates_a_team(db: &TestDb) {
///         db.store().create_team(&"acme".parse().unwrap()).unwrap();
///     }
/// }
/// ```
///
/// expands to the function itself plus `mod sqlite { #[test] fn creates_a_team() }` and
/// `mod postgres { #[test] fn creates_a_team() }`. The PostgreSQL case returns early (skips) when
/// [`TestDb::postgres`] gives `None`. One invocation per module, since it defines both modules;
/// test names contain `sqlite::`/`postgres::`, so `cargo test postgres::` runs one backend.
#[macro_export]
macro_rules! backend_tests {
    ($($(#[$meta:meta])* fn $name:ident($db:ident: $db_type:ty) $body:block)*) => {
        $(
            $(#[$meta])*
            fn $name($db: $db_type) $body
        )*

        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let db = $crate::testing::TestDb::sqlite();
                    super::$name(&db);
                }
            )*
        }

        mod postgres {
            $(
                #[test]
                fn $name() {
                    let Some(db) = $crate::testing::TestDb::postgres() else {
                        return;
                    };
                    super::$name(&db);
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn with_database_replaces_only_the_database_name() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "cv_test_1"),
            "postgres://postgres@127.0.0.1:5432/cv_test_1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
