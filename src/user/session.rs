//! Signed-in sessions, kept in the database so that every instance agrees which are open.
//! The encrypted cookie carries only a random token; its SHA-256 is the lookup key here, so
//! a copy of the table signs nobody in. A session ends by logout, password change or reset,
//! deactivation, an administrator, or the idle timeout counted from the last activity
//! recorded here (a replayed old cookie cannot refresh itself).

use std::time::Duration;

use base64::Engine;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::db::schema::{sessions, users};
use crate::db::{now, text_enum, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{SessionId, UserId};
use crate::user::User;

/// Last activity is written at most this often, so a busy user costs one write a minute
/// rather than one per request; the idle timeout is therefore exact to the minute.
pub const TOUCH_EVERY: TimeDelta = TimeDelta::seconds(60);

/// Longest user agent kept; browsers send a few hundred characters at most.
const USER_AGENT_MAX: usize = 300;

text_enum!(
    /// Why a session ended, stored in `sessions.ended_reason`.
    EndReason {
        Logout => "logout",
        Idle => "idle",
        PasswordChanged => "password_changed",
        PasswordReset => "password_reset",
        Deactivated => "deactivated",
        EndedByAdmin => "ended_by_admin",
    }
);

/// An open session as the administrator's page shows it.
#[derive(Queryable, Selectable, Debug, Clone, Serialize)]
#[diesel(table_name = sessions)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct SessionRow {
    pub id: SessionId,
    pub user_id: UserId,
    pub created_at: NaiveDateTime,
    pub last_seen_at: NaiveDateTime,
    pub idle_expires_at: NaiveDateTime,
    pub user_agent: Option<String>,
    pub remote_addr: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = sessions)]
struct NewSession<'a> {
    id: SessionId,
    token_hash: String,
    user_id: &'a UserId,
    created_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
    idle_expires_at: NaiveDateTime,
    user_agent: Option<&'a str>,
    remote_addr: Option<&'a str>,
}

/// The columns that end a session.
#[derive(AsChangeset)]
#[diesel(table_name = sessions, treat_none_as_null = true)]
struct Ending<'a> {
    ended_at: NaiveDateTime,
    ended_reason: EndReason,
    ended_by: Option<&'a UserId>,
}

impl<'a> Ending<'a> {
    fn new(reason: EndReason, by: Option<&'a UserId>) -> Self {
        Ending {
            ended_at: now(),
            ended_reason: reason,
            ended_by: by,
        }
    }
}

/// Where a session is used from, recorded when it starts.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
}

/// A new session: its id and the secret token the cookie carries.
pub struct Started {
    pub id: SessionId,
    pub token: String,
}

fn idle_delta(idle: Duration) -> TimeDelta {
    // Capped so that an absurd setting cannot overflow the timestamp arithmetic.
    TimeDelta::from_std(idle)
        .unwrap_or(TimeDelta::MAX)
        .min(TimeDelta::days(366))
}

/// What is stored of a bearer secret (a session or API token): its SHA-256, so a copy of the
/// database cannot be used to sign in. The secrets are 256 random bits, so no salt or stretch.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Opens a session for `user` (call inside the sign-in's write transaction).
pub fn start(
    conn: &mut DbConn,
    user: &User,
    client: &ClientInfo,
    idle: Duration,
) -> QueryResult<Started> {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let id = SessionId::new_v7();
    let t = now();
    let user_agent: Option<String> = client.user_agent.as_deref().map(|ua| {
        crate::validation::clean(ua)
            .chars()
            .take(USER_AGENT_MAX)
            .collect()
    });
    diesel::insert_into(sessions::table)
        .values(NewSession {
            id: id.clone(),
            token_hash: token_hash(&token),
            user_id: &user.id,
            created_at: t,
            last_seen_at: t,
            idle_expires_at: t + idle_delta(idle),
            user_agent: user_agent.as_deref(),
            remote_addr: client.remote_addr.as_deref(),
        })
        .execute(conn)?;
    Ok(Started { id, token })
}

/// What the cookie's token leads to.
pub enum Lookup {
    /// Open: the session and its user, read in one query.
    Active(SessionRow, Box<User>),
    /// Ended now by the idle timeout.
    Expired,
    /// Unknown, already ended, or its account deactivated.
    Ended,
}

/// Checks the token of a request and records its activity (at most once per `TOUCH_EVERY`).
pub fn check(conn: &mut DbConn, token: &str, idle: Duration) -> QueryResult<Lookup> {
    let found: Option<(SessionRow, User)> = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash(token)))
        .filter(sessions::ended_at.is_null())
        .select((SessionRow::as_select(), User::as_select()))
        .first(conn)
        .optional()?;
    let Some((session, user)) = found else {
        return Ok(Lookup::Ended);
    };
    let t = now();
    if !user.active {
        end(conn, &session.id, EndReason::Deactivated, None)?;
        return Ok(Lookup::Ended);
    }
    if session.idle_expires_at <= t {
        end(conn, &session.id, EndReason::Idle, None)?;
        return Ok(Lookup::Expired);
    }
    if t - session.last_seen_at >= TOUCH_EVERY {
        write_tx(conn, |conn| {
            diesel::update(sessions::table.find(&session.id))
                .filter(sessions::ended_at.is_null())
                .set((
                    sessions::last_seen_at.eq(t),
                    sessions::idle_expires_at.eq(t + idle_delta(idle)),
                ))
                .execute(conn)
        })?;
    }
    Ok(Lookup::Active(session, Box::new(user)))
}

/// Ends one session if it is still open; whether it was.
pub fn end(
    conn: &mut DbConn,
    id: &SessionId,
    reason: EndReason,
    by: Option<&UserId>,
) -> QueryResult<bool> {
    write_tx(conn, |conn| {
        diesel::update(sessions::table.find(id))
            .filter(sessions::ended_at.is_null())
            .set(Ending::new(reason, by))
            .execute(conn)
            .map(|n| n > 0)
    })
}

/// Ends every open session of a user; how many.
pub fn end_all(
    conn: &mut DbConn,
    user_id: &UserId,
    reason: EndReason,
    by: Option<&UserId>,
) -> QueryResult<usize> {
    write_tx(conn, |conn| {
        diesel::update(sessions::table)
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::ended_at.is_null())
            .set(Ending::new(reason, by))
            .execute(conn)
    })
}

/// At most this many open sessions are listed for one account.
pub const LIST_LIMIT: i64 = 50;

/// A user's open sessions, most recently active first.
pub fn list_open(conn: &mut DbConn, user_id: &UserId) -> QueryResult<Vec<SessionRow>> {
    sessions::table
        .filter(sessions::user_id.eq(user_id))
        .filter(sessions::ended_at.is_null())
        .filter(sessions::idle_expires_at.gt(now()))
        .order((sessions::last_seen_at.desc(), sessions::id.desc()))
        .limit(LIST_LIMIT)
        .select(SessionRow::as_select())
        .load(conn)
}

/// An administrator ends one of `user_id`'s sessions; audited. Not found when the session is
/// not that user's or has already ended.
pub fn end_by_admin(
    conn: &mut DbConn,
    actor: &Actor,
    user_id: &UserId,
    id: &SessionId,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let session: SessionRow = sessions::table
            .find(id)
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::ended_at.is_null())
            .select(SessionRow::as_select())
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        end(conn, id, EndReason::EndedByAdmin, actor.user_id.as_ref())?;
        audit::record(
            conn,
            actor,
            "end_session",
            "session",
            Some(id.as_str()),
            Some(&session),
            Some(&serde_json::json!({ "ended_reason": EndReason::EndedByAdmin })),
        )?;
        Ok(())
    })
}
