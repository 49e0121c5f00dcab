//! Signing in: password check, throttling and the audit of both.

use std::time::Duration;

use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::db::{write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{LoginAttemptId, SessionId};
use crate::user::session::{self, ClientInfo, EndReason, Started};
use crate::user::{self, password, throttle, User};

pub enum LoginOutcome {
    /// Signed in: the account and its new session.
    Success(Box<User>, Started),
    /// Unknown user, wrong password or deactivated account: the same answer for all three.
    Invalid,
    /// Too many failures; seconds until the next attempt is accepted.
    Locked { seconds: i64 },
}

/// A sign-in whose attempt is recorded and whose password is still to be checked.
pub struct PendingLogin {
    username: String,
    attempt: LoginAttemptId,
    user: Option<User>,
    remote_addr: Option<String>,
}

impl PendingLogin {
    /// The argon2 check. CPU-heavy: run it off the connection pool.
    pub fn check(self, password_given: &str) -> CheckedLogin {
        // An unknown account is checked against a dummy hash, so the answer takes as long.
        let hash = self
            .user
            .as_ref()
            .map_or(password::dummy_hash(), |u| u.password_hash.as_str());
        let password_ok = password::verify(password_given, hash);
        CheckedLogin {
            pending: self,
            password_ok,
        }
    }
}

/// A sign-in whose password has been checked, ready for `finish_login`.
pub struct CheckedLogin {
    pending: PendingLogin,
    password_ok: bool,
}

pub enum LoginStart {
    Locked { seconds: i64 },
    Check(Box<PendingLogin>),
}

/// The first step of signing in: under the account's lock, refuse a locked account or record
/// the attempt as failed *before* the password is checked, so that simultaneous guesses all
/// count. The connection is free again while `PendingLogin::check` runs.
pub fn begin_login(
    conn: &mut DbConn,
    username: &str,
    remote_addr: Option<String>,
) -> Result<LoginStart, AppError> {
    let username = username.trim().to_lowercase();
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
            return Ok(LoginStart::Locked {
                seconds: seconds_until(until),
            })
        }
    };
    let user = user::find_by_username(conn, &username)?;
    Ok(LoginStart::Check(Box::new(PendingLogin {
        username,
        attempt,
        user,
        remote_addr,
    })))
}

/// The last step: marks the attempt, audits it and, on success, opens the session. The
/// account is read again so that one deactivated or given a new password meanwhile is refused.
pub fn finish_login(
    conn: &mut DbConn,
    checked: CheckedLogin,
    client: &ClientInfo,
    idle: Duration,
) -> Result<LoginOutcome, AppError> {
    let CheckedLogin {
        pending,
        password_ok,
    } = checked;
    let PendingLogin {
        username,
        attempt,
        user: checked_user,
        remote_addr,
    } = pending;
    write_tx(conn, |conn| {
        let current = match &checked_user {
            Some(u) if password_ok => user::find_by_username(conn, &u.username)?
                .filter(|now| now.active && now.password_hash == u.password_hash),
            _ => None,
        };
        if let Some(u) = current {
            throttle::mark_succeeded(conn, &attempt)?;
            let started = session::start(conn, &u, client, idle)?;
            audit::record(
                conn,
                &u.actor(remote_addr.clone()),
                "login",
                "session",
                Some(u.id.as_str()),
                None::<&()>,
                Some(&serde_json::json!({ "session_id": started.id })),
            )?;
            return Ok(LoginOutcome::Success(Box::new(u), started));
        }
        let locked = throttle::locked_until(conn, &username)?;
        let action = if locked.is_some() {
            "login_locked"
        } else {
            "login_failed"
        };
        let anonymous = Actor {
            user_id: None,
            username: username.clone(),
            remote_addr: remote_addr.clone(),
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
                seconds: seconds_until(until),
            },
            None => LoginOutcome::Invalid,
        })
    })
}

fn seconds_until(until: chrono::NaiveDateTime) -> i64 {
    (until - crate::db::now()).num_seconds().max(1)
}

/// Whole minutes of a lockout, rounded up, for the message.
pub fn minutes(seconds: i64) -> i64 {
    (seconds + 59) / 60
}

/// Ends the session `session_id` of `user`.
pub fn logout(
    conn: &mut DbConn,
    user: &User,
    session_id: &SessionId,
    remote_addr: Option<String>,
) -> QueryResult<()> {
    write_tx(conn, |conn| {
        session::end(conn, session_id, EndReason::Logout, Some(&user.id))?;
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
