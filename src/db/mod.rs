//! The database: one connection type over SQLite and PostgreSQL, its pool, migrations and
//! the write transaction every state change goes through.

pub mod schema;
mod text_enum;

pub(crate) use text_enum::text_enum;

diesel::define_sql_function! {
    /// SQL `lower()`, for searches that ignore case on both backends (PostgreSQL's LIKE does not).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<ConnManager>;
pub type PooledConn = r2d2::PooledConnection<ConnManager>;

/// How long a request waits for the database before it gives up with 503: for a pooled
/// connection, for its turn to write, and on a lock held elsewhere (SQLite's busy timeout,
/// PostgreSQL's `lock_timeout`). Long enough for any write of this application to finish.
pub const WAIT: Duration = Duration::from_secs(3);

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Which backend a `DATABASE_URL` names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbUrl {
    pub fn parse(url: &str) -> Result<DbUrl, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DbUrl::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                format!(
                    "DATABASE_URL {url:?} is neither sqlite://PATH nor postgres://USER@HOST/DATABASE"
                )
            })?;
        if path.is_empty() || path.contains(":memory:") {
            return Err("DATABASE_URL needs a file for SQLite, e.g. sqlite://lims.db".into());
        }
        Ok(DbUrl::Sqlite(PathBuf::from(path)))
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, DbUrl::Sqlite(_))
    }
}

/// Opens connections of the backend the URL names. The derived `MultiConnection::establish`
/// would try every backend and hide the real error; this reports it at once.
#[derive(Clone, Debug)]
pub struct ConnManager {
    url: DbUrl,
}

impl ConnManager {
    pub fn new(url: DbUrl) -> Self {
        ConnManager { url }
    }

    pub fn connect(&self) -> Result<DbConn, ConnectionError> {
        match &self.url {
            DbUrl::Postgres(url) => {
                let mut conn = PgConnection::establish(url)?;
                conn.batch_execute(&format!("SET lock_timeout = {}", WAIT.as_millis()))
                    .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Postgres(conn))
            }
            DbUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                // busy_timeout first, so the WAL switch itself waits for other writers.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {};
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = FULL;
                     PRAGMA foreign_keys = ON;",
                    WAIT.as_millis()
                ))
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

impl r2d2::ManageConnection for ConnManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        ConnManager::connect(self).map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbSetupError {
    #[error("{0}")]
    Url(String),
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("database migration failed: {0}")]
    Migrate(String),
}

/// Makes sure the database exists: creates the SQLite file's folder, or the PostgreSQL
/// database when the server is reachable but the database is not there yet.
pub fn ensure_database(url: &DbUrl) -> Result<(), DbSetupError> {
    match url {
        DbUrl::Sqlite(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    DbSetupError::Connect(format!("cannot create folder {}: {e}", dir.display()))
                })?;
            }
            Ok(())
        }
        DbUrl::Postgres(raw) => match PgConnection::establish(raw) {
            Ok(_) => Ok(()),
            Err(e) if e.to_string().contains("does not exist") => create_pg_database(raw),
            Err(e) => Err(DbSetupError::Connect(e.to_string())),
        },
    }
}

fn create_pg_database(raw: &str) -> Result<(), DbSetupError> {
    let mut admin_url = url::Url::parse(raw).map_err(|e| DbSetupError::Url(e.to_string()))?;
    let name = admin_url.path().trim_start_matches('/').to_string();
    // The name goes into DDL, which takes no bind parameters: accept plain identifiers only.
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(DbSetupError::Connect(format!(
            "database {name:?} does not exist; create it with: createdb {name}"
        )));
    }
    admin_url.set_path("/postgres");
    let how = format!("create it with: createdb {name} (or CREATE DATABASE {name};)");
    let mut admin = PgConnection::establish(admin_url.as_str()).map_err(|e| {
        DbSetupError::Connect(format!(
            "database {name} does not exist and the server refused to create it ({e}); {how}"
        ))
    })?;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .map_err(|e| {
            DbSetupError::Connect(format!(
                "database {name} does not exist and could not be created ({e}); {how}"
            ))
        })?;
    tracing::info!(database = %name, "created PostgreSQL database");
    Ok(())
}

/// Builds the pool. `max_size` small for SQLite (one writer at a time anyway).
pub fn build_pool(url: &DbUrl) -> Result<Pool, DbSetupError> {
    ensure_database(url)?;
    let manager = ConnManager::new(url.clone());
    // Try once directly so the user sees the real reason, not a pool timeout.
    manager
        .connect()
        .map_err(|e| DbSetupError::Connect(e.to_string()))?;
    let size = if url.is_sqlite() { 8 } else { 16 };
    r2d2::Pool::builder()
        .max_size(size)
        // Open connections as requests need them rather than all of them up front.
        .min_idle(Some(1))
        .connection_timeout(WAIT)
        // No `SELECT 1` per check-out: `has_broken` still drops a connection that failed.
        .test_on_check_out(false)
        .build(manager)
        .map_err(|e| DbSetupError::Connect(e.to_string()))
}

/// Applies pending migrations; returns their names. On PostgreSQL an advisory lock keeps
/// several instances starting at once from migrating concurrently.
pub fn migrate(conn: &mut DbConn) -> Result<Vec<String>, DbSetupError> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| DbSetupError::Migrate(e.to_string());
    let names = |applied: Vec<diesel::migration::MigrationVersion<'_>>| {
        applied.iter().map(|v| v.to_string()).collect::<Vec<_>>()
    };
    match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(names)
            .map_err(err),
        DbConn::Postgres(c) => {
            // Another instance may be migrating: wait for it, however long it takes.
            c.batch_execute("SET lock_timeout = 0; SELECT pg_advisory_lock(4243477)")
                .map_err(|e| DbSetupError::Migrate(e.to_string()))?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(names)
                .map_err(err);
            let _ = c.batch_execute(&format!(
                "SELECT pg_advisory_unlock(4243477); SET lock_timeout = {}",
                WAIT.as_millis()
            ));
            result
        }
    }
}

/// Reverts every applied migration, newest first (each `down.sql`); returns their names. For
/// checking that every migration can be undone, not for a database that holds evidence.
pub fn revert_all(conn: &mut DbConn) -> Result<Vec<String>, DbSetupError> {
    let err = |e: Box<dyn std::error::Error + Send + Sync>| DbSetupError::Migrate(e.to_string());
    let names = |reverted: Vec<diesel::migration::MigrationVersion<'_>>| {
        reverted.iter().map(|v| v.to_string()).collect::<Vec<_>>()
    };
    match conn {
        DbConn::Sqlite(c) => c
            .revert_all_migrations(SQLITE_MIGRATIONS)
            .map(names)
            .map_err(err),
        DbConn::Postgres(c) => c
            .revert_all_migrations(POSTGRES_MIGRATIONS)
            .map(names)
            .map_err(err),
    }
}

/// Runs `f` in a write transaction: `BEGIN IMMEDIATE` on SQLite, once this process's earlier
/// writers are done (`wait_for_write_turn`), so the write lock is taken up front and never lost
/// mid-way; a plain transaction on PostgreSQL. Nested calls become savepoints. Waiting longer than `WAIT`
/// gives up with an error that `is_busy` recognizes.
pub fn write_tx<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    let depth = match conn {
        DbConn::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
        }
        DbConn::Postgres(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?
        }
    };
    if depth.is_some() {
        return conn.transaction(f);
    }
    // Held until the transaction ends, when it is dropped at the end of this function.
    let _turn = match conn {
        DbConn::Sqlite(c) => Some(wait_for_write_turn(c)?),
        DbConn::Postgres(_) => None,
    };
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Postgres(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            <DbConn as Connection>::TransactionManager::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

const TURN_TIMEOUT: &str = "timed out waiting for the turn to write";

type WriteTurn = parking_lot::ArcMutexGuard<parking_lot::RawMutex, ()>;

/// SQLite lets one connection write at a time. A writer that finds the database locked waits in
/// SQLite's busy handler, which sleeps in growing steps (up to 100 ms) and is not woken when the
/// lock frees, so under contention writers kept missing their turn (see bench/RESULTS.md). This
/// process's write transactions therefore queue on one lock per database file and are handed
/// the turn as soon as the previous writer ends; the busy handler only ever waits for other
/// processes (the command line).
fn wait_for_write_turn(conn: &mut SqliteConnection) -> Result<WriteTurn, DieselError> {
    static TURNS: OnceLock<Mutex<HashMap<String, Arc<parking_lot::Mutex<()>>>>> = OnceLock::new();
    let file: String = diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>(
        "(SELECT file FROM pragma_database_list WHERE name = 'main')",
    ))
    .get_result(conn)?;
    let turn = TURNS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .entry(file)
        .or_default()
        .clone();
    parking_lot::Mutex::try_lock_arc_for(&turn, WAIT).ok_or_else(|| {
        DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(TURN_TIMEOUT.to_string()),
        )
    })
}

/// Whether a database error means "busy, try again shortly" (503) rather than a fault: the
/// wait for a lock held by another writer reached `WAIT`.
pub fn is_busy(e: &DieselError) -> bool {
    match e {
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            // Ours, SQLite's SQLITE_BUSY, PostgreSQL's lock_timeout (SQLSTATE 55P03).
            message == TURN_TIMEOUT
                || message.starts_with("database is locked")
                || message.contains("due to lock timeout")
        }
        _ => false,
    }
}

/// The current time in UTC, truncated to microseconds so both backends store the same value.
pub fn now() -> chrono::NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::microseconds(1)).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &mut DbConn) -> i64 {
        diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
            "(SELECT count(*) FROM t)",
        ))
        .get_result(conn)
        .unwrap()
    }

    #[test]
    fn sqlite_writers_take_turns_and_give_up_busy_after_the_wait() {
        let dir = tempfile::tempdir().unwrap();
        let manager = ConnManager::new(DbUrl::Sqlite(dir.path().join("turns.db")));
        let mut conn = manager.connect().unwrap();
        conn.batch_execute("CREATE TABLE t (n INTEGER)").unwrap();
        let writers: Vec<_> = (0..8)
            .map(|_| {
                let m = manager.clone();
                std::thread::spawn(move || {
                    let mut c = m.connect().unwrap();
                    for _ in 0..25 {
                        write_tx(&mut c, |c| c.batch_execute("INSERT INTO t VALUES (1)")).unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(count(&mut conn), 200);

        // A failed transaction gives its turn back.
        let failed: Result<(), DieselError> = write_tx(&mut conn, |c| {
            c.batch_execute("INSERT INTO t VALUES (1)")?;
            Err(DieselError::RollbackTransaction)
        });
        assert!(failed.is_err());
        assert_eq!(count(&mut conn), 200);

        // A writer holding its turn longer than WAIT: the next one gives up waiting for the
        // turn (not in SQLite's busy handler), with an error that means "busy".
        let (started, holding) = std::sync::mpsc::channel();
        let m = manager.clone();
        let holder = std::thread::spawn(move || {
            write_tx(&mut m.connect().unwrap(), |_| {
                started.send(()).unwrap();
                std::thread::sleep(WAIT + Duration::from_secs(1));
                Ok::<_, DieselError>(())
            })
            .unwrap();
        });
        holding.recv().unwrap();
        let start = std::time::Instant::now();
        let err = write_tx(&mut conn, |c| c.batch_execute("INSERT INTO t VALUES (1)")).unwrap_err();
        assert!(start.elapsed() >= WAIT);
        assert!(is_busy(&err));
        assert!(matches!(&err, DieselError::DatabaseError(_, i) if i.message() == TURN_TIMEOUT));
        holder.join().unwrap();
        write_tx(&mut conn, |c| c.batch_execute("INSERT INTO t VALUES (1)")).unwrap();
        assert_eq!(count(&mut conn), 201);
    }
}
