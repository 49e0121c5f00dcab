//! Append-only records corrected by a later record that supersedes them, with a reason
//! (calibration, maintenance and training records): which records were corrected, whether one
//! may be corrected now, and the audit entry of a new record.

use std::collections::HashSet;
use std::hash::Hash;

use diesel::QueryResult;

use crate::audit::{self, Actor};
use crate::db::DbConn;
use crate::error::AppError;

/// The ids of records a later record corrected.
pub fn superseded<'a, I: 'a + Clone + Eq + Hash>(
    supersedes: impl Iterator<Item = &'a Option<I>>,
) -> HashSet<I> {
    supersedes.flatten().cloned().collect()
}

/// `old` must be one of `records` (id, supersedes) and not corrected yet: a correction of a
/// correction corrects the latest record.
pub fn check_correctable<'a, I: 'a + Eq>(
    records: impl Iterator<Item = (&'a I, &'a Option<I>)> + Clone,
    old: &I,
) -> Result<(), AppError> {
    if !records.clone().any(|(id, _)| id == old) {
        return Err(AppError::NotFound);
    }
    if records.flat_map(|(_, s)| s).any(|s| s == old) {
        return Err(already_corrected());
    }
    Ok(())
}

/// The message when a record was corrected already (also when two corrections race: the
/// unique index on `supersedes_id` refuses the second).
pub fn already_corrected() -> AppError {
    AppError::invalid("correction_reason", "instruments.already_corrected")
}

/// A failed insert of a record: a race on the same correction becomes the field message.
pub fn insert_error(e: diesel::result::Error) -> AppError {
    AppError::from(e).unique_as("correction_reason", "instruments.already_corrected")
}

/// The audit entry of a new record: `create`, or `correct` when it supersedes another.
pub fn audit_new<A: serde::Serialize>(
    conn: &mut DbConn,
    actor: &Actor,
    corrects: bool,
    entity: &str,
    id: &str,
    after: &A,
) -> QueryResult<()> {
    let action = if corrects { "correct" } else { "create" };
    audit::record(
        conn,
        actor,
        action,
        entity,
        Some(id),
        None::<&()>,
        Some(after),
    )
}
