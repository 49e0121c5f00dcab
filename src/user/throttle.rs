//! Login throttling, kept in the database so every app instance enforces the same limit:
//! after MAX_FAILURES wrong passwords for one account within WINDOW, further attempts are
//! refused until WINDOW has passed since the last of them.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use crate::db::schema::login_attempts;
use crate::db::{now, DbConn};
use crate::ids::LoginAttemptId;

pub const MAX_FAILURES: i64 = 5;
pub const WINDOW_MINUTES: i64 = 15;

/// When the account is locked, the moment it opens again.
pub fn locked_until(conn: &mut DbConn, username: &str) -> QueryResult<Option<NaiveDateTime>> {
    let t = now();
    let window_start = t - TimeDelta::minutes(WINDOW_MINUTES);
    // Failures before the last successful login no longer count.
    let last_success: Option<NaiveDateTime> = login_attempts::table
        .filter(login_attempts::username.eq(username))
        .filter(login_attempts::succeeded.eq(true))
        .filter(login_attempts::attempted_at.ge(window_start))
        .select(diesel::dsl::max(login_attempts::attempted_at))
        .first(conn)?;
    let since = last_success.map_or(window_start, |s| s.max(window_start));
    let recent: Vec<NaiveDateTime> = login_attempts::table
        .filter(login_attempts::username.eq(username))
        .filter(login_attempts::attempted_at.gt(since))
        .filter(login_attempts::succeeded.eq(false))
        .select(login_attempts::attempted_at)
        .order(login_attempts::attempted_at.desc())
        .limit(MAX_FAILURES)
        .load(conn)?;
    if (recent.len() as i64) < MAX_FAILURES {
        return Ok(None);
    }
    Ok(recent
        .first()
        .map(|last| *last + TimeDelta::minutes(WINDOW_MINUTES)))
}

/// Records an attempt. Sign-in records it as failed *before* checking the password (and
/// marks it succeeded after), so simultaneous guesses all count.
pub fn record(
    conn: &mut DbConn,
    username: &str,
    succeeded: bool,
    remote_addr: Option<&str>,
) -> QueryResult<LoginAttemptId> {
    let id = LoginAttemptId::new_v7();
    diesel::insert_into(login_attempts::table)
        .values((
            login_attempts::id.eq(&id),
            login_attempts::username.eq(username),
            login_attempts::attempted_at.eq(now()),
            login_attempts::succeeded.eq(succeeded),
            login_attempts::remote_addr.eq(remote_addr),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn mark_succeeded(conn: &mut DbConn, id: &LoginAttemptId) -> QueryResult<()> {
    diesel::update(login_attempts::table.find(id))
        .set(login_attempts::succeeded.eq(true))
        .execute(conn)
        .map(|_| ())
}

/// Serializes attempts on one account within the transaction (PostgreSQL; SQLite's
/// BEGIN IMMEDIATE already does).
pub fn lock_account(conn: &mut DbConn, username: &str) -> QueryResult<()> {
    if let DbConn::Postgres(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(username)
            .execute(c)?;
    }
    Ok(())
}
