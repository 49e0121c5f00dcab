//! A second person at the desk who proves they are there with their own password: the
//! receiver of a hand-over, the witness of a destruction. argon2 is slow on purpose, so, as
//! when signing in, the check runs off the database connection in three steps: `begin` reads
//! the account and records the attempt as failed *before* the check (simultaneous guesses all
//! count towards the account's lock), `Pending::check` verifies the password (CPU only, no
//! connection held), and `finish` marks the attempt succeeded or leaves a trace of the failure.

use crate::audit::{self, Handler};
use crate::db::{write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{LoginAttemptId, UserId};
use crate::user::{self, password, throttle};

/// An attempt recorded, its password not yet checked.
pub struct Pending {
    checked: Checked,
    password: String,
}

/// An attempt whose password was checked against the hash read in `begin`.
#[derive(Debug, Clone)]
pub struct Checked {
    pub user_id: UserId,
    pub username: String,
    hash: String,
    attempt: LoginAttemptId,
    ok: bool,
}

/// Records an attempt for `username` with `password`, unless there is nothing to check: no
/// password typed, no such active account, the signed-in user themself, or an account locked
/// by failures. The caller's validation reports those beside the field.
pub fn begin(
    conn: &mut DbConn,
    who: &Handler,
    username: &str,
    password: &str,
) -> Result<Option<Pending>, AppError> {
    let username = username.trim().to_lowercase();
    if username.is_empty() || password.is_empty() {
        return Ok(None);
    }
    let Some(account) = user::find_by_username(conn, &username)? else {
        return Ok(None);
    };
    if account.id == who.user_id {
        return Ok(None);
    }
    attempt(conn, who, account, password)
}

/// The signed-in user proving again who they are (an electronic signature, 21 CFR 11.200):
/// the same attempt, counted towards the same lock as a sign-in.
pub fn begin_self(
    conn: &mut DbConn,
    who: &Handler,
    password: &str,
) -> Result<Option<Pending>, AppError> {
    if password.is_empty() {
        return Ok(None);
    }
    let account = user::find(conn, &who.user_id)?;
    attempt(conn, who, account, password)
}

fn attempt(
    conn: &mut DbConn,
    who: &Handler,
    account: user::User,
    password: &str,
) -> Result<Option<Pending>, AppError> {
    if !account.active {
        return Ok(None);
    }
    let username = account.username.clone();
    let attempt = write_tx(conn, |conn| {
        throttle::lock_account(conn, &username)?;
        if throttle::locked_until(conn, &username)?.is_some() {
            return Ok::<_, AppError>(None);
        }
        Ok(Some(throttle::record(
            conn,
            &username,
            false,
            who.actor.remote_addr.as_deref(),
        )?))
    })?;
    Ok(attempt.map(|attempt| Pending {
        checked: Checked {
            user_id: account.id,
            username,
            hash: account.password_hash,
            attempt,
            ok: false,
        },
        password: password.to_string(),
    }))
}

impl Pending {
    /// The argon2 check: run it off the connection pool.
    pub fn check(self) -> Checked {
        Checked {
            ok: password::verify(&self.password, &self.checked.hash),
            ..self.checked
        }
    }
}

/// Settles a checked attempt: true when the password was right and the account is still
/// active with that same password. A failure is audited as `failure_action` on the account.
pub fn finish(
    conn: &mut DbConn,
    who: &Handler,
    checked: &Checked,
    failure_action: &str,
) -> Result<bool, AppError> {
    write_tx(conn, |conn| {
        let current = user::find(conn, &checked.user_id)?;
        let good = checked.ok && current.active && current.password_hash == checked.hash;
        if good {
            throttle::mark_succeeded(conn, &checked.attempt)?;
        } else {
            audit::record(
                conn,
                &who.actor,
                failure_action,
                "user",
                Some(checked.user_id.as_str()),
                None::<&()>,
                None::<&()>,
            )?;
        }
        Ok(good)
    })
}
