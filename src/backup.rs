//! `lims backup FILE`: a consistent copy of a live SQLite database.

use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::db::DbConn;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; choose a new file name (a backup never overwrites)")]
    Exists(String),
    #[error(
        "this is a PostgreSQL database: back it up with pg_dump, e.g. \
         pg_dump --format=custom --file=lims.dump \"$DATABASE_URL\""
    )]
    Postgres,
    #[error("backup failed: {0}")]
    Db(#[from] diesel::result::Error),
}

/// Writes the copy with `VACUUM INTO`, which reads one snapshot of the database while other
/// connections keep writing (WAL), and produces a compact, self-contained file.
pub fn backup(conn: &mut DbConn, target: &Path) -> Result<(), BackupError> {
    if target.exists() {
        return Err(BackupError::Exists(target.display().to_string()));
    }
    match conn {
        DbConn::Postgres(_) => Err(BackupError::Postgres),
        DbConn::Sqlite(c) => {
            diesel::sql_query("VACUUM INTO ?")
                .bind::<Text, _>(target.to_string_lossy().to_string())
                .execute(c)?;
            Ok(())
        }
    }
}
