//! Signing in: password check, throttling and the audit of both.

use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::db::{write_tx, DbConn};
use crate::error::AppError;
use crate::user::{self, password, throttle, User};

pub enum LoginOutcome {
    Success(Box<User>),
    /// Unknown user, wrong password or deactivated account: the same answer for all three.
    Invalid,
    /// Too many failures; minutes until the next attempt is accepted.
    Locked {
        minutes: i64,
    },
}

pub fn login(
    conn: &mut DbConn,
    username: &str,
    password_given: &str,
    remote_addr: Option<String>,
) -> Result<LoginOutcome, AppError> {
    let username = username.trim().to_lowercase();
    // Count and reserve in one locked step, so simultaneous guesses cannot all pass the check.
    let reserved = write_tx(conn, |conn| {
        throttle::lock_account(conn, &username)?;
        if let Some(until) = throttle::locked_until(conn, &username)? {
            return Ok::<_, AppError>(Err(until));
        }
        Ok(Ok(throttle::record(
            conn,
            &username,
            false,
            remote_addr.as_deref(),
        )?))
    })?;
    let attempt = match reserved {
        Ok(attempt) => attempt,
        Err(until) => {
            return Ok(LoginOutcome::Locked {
                minutes: minutes_until(until),
            })
        }
    };
    let found = user::find_by_username(conn, &username)?;
    let hash = found
        .as_ref()
        .map_or(password::dummy_hash(), |u| u.password_hash.as_str());
    let password_ok = password::verify(password_given, hash);
    write_tx(conn, |conn| {
        let anonymous = Actor {
            user_id: None,
            username: username.clone(),
            remote_addr: remote_addr.clone(),
        };
        match found {
            Some(u) if password_ok && u.active => {
                throttle::mark_succeeded(conn, &attempt)?;
                audit::record(
                    conn,
                    &u.actor(remote_addr.clone()),
                    "login",
                    "session",
                    Some(u.id.as_str()),
                    None::<&()>,
                    None::<&()>,
                )?;
                Ok(LoginOutcome::Success(Box::new(u)))
            }
            _ => {
                let locked = throttle::locked_until(conn, &username)?;
                let action = if locked.is_some() {
                    "login_locked"
                } else {
                    "login_failed"
                };
                audit::record(
                    conn,
                    &anonymous,
                    action,
                    "session",
                    None,
                    None::<&()>,
                    None::<&()>,
                )?;
                Ok(match locked {
                    Some(until) => LoginOutcome::Locked {
                        minutes: minutes_until(until),
                    },
                    None => LoginOutcome::Invalid,
                })
            }
        }
    })
}

fn minutes_until(until: chrono::NaiveDateTime) -> i64 {
    let secs = (until - crate::db::now()).num_seconds().max(0);
    (secs + 59) / 60
}

pub fn logout(conn: &mut DbConn, user: &User, remote_addr: Option<String>) -> QueryResult<()> {
    write_tx(conn, |conn| {
        audit::record(
            conn,
            &user.actor(remote_addr),
            "logout",
            "session",
            Some(user.id.as_str()),
            None::<&()>,
            None::<&()>,
        )
    })
}
