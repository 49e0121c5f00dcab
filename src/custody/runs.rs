//! Verifications started from the supervisors' page. A whole verification reads every event
//! (about a minute at 200,000 samples), longer than a page may take, so it runs in the
//! background and writes its progress and result into `custody_verifications`: every instance
//! shows the same run, and a run whose instance stopped shows as interrupted.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::key::Keyring;
use super::verify::{self, BrokenAnchor, ChainBreak, Progress};
use crate::audit::{self, Actor};
use crate::db::schema::{custody_verifications, samples};
use crate::db::{now, write_tx, DbConn};
use crate::ids::{CustodyVerificationId, UserId};

/// How many breaks a run keeps to show; `lims verify-custody` lists them all.
pub const SHOWN_BREAKS: usize = 500;
/// A run that has not written progress for this long lost its instance.
const STALE_AFTER: chrono::TimeDelta = chrono::TimeDelta::minutes(2);
/// How often a run writes its progress.
const PROGRESS_EVERY: chrono::TimeDelta = chrono::TimeDelta::seconds(2);

#[derive(Queryable, Selectable, Insertable, Debug, Clone, Serialize)]
#[diesel(table_name = custody_verifications)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Run {
    pub id: CustodyVerificationId,
    pub started_by: UserId,
    pub started_at: NaiveDateTime,
    pub heartbeat_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub samples_total: i64,
    pub samples_checked: i64,
    pub events_checked: i64,
    pub broken: i64,
    pub breaks_json: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Interrupted,
    Failed,
    Finished,
}

impl Run {
    pub fn state(&self, at: NaiveDateTime) -> RunState {
        match (&self.finished_at, &self.error) {
            (Some(_), Some(_)) => RunState::Failed,
            (Some(_), None) => RunState::Finished,
            (None, _) if at - self.heartbeat_at > STALE_AFTER => RunState::Interrupted,
            (None, _) => RunState::Running,
        }
    }

    /// The breaks kept (at most `SHOWN_BREAKS`; `broken` counts them all).
    pub fn breaks(&self) -> Vec<ChainBreak> {
        self.breaks_json
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default()
    }
}

/// The latest run, if any.
pub fn latest(conn: &mut DbConn) -> QueryResult<Option<Run>> {
    custody_verifications::table
        .order((
            custody_verifications::started_at.desc(),
            custody_verifications::id.desc(),
        ))
        .select(Run::as_select())
        .first(conn)
        .optional()
}

/// Records a new run, unless one is still running (then that one is returned, not started
/// twice). The second value says whether this call started it.
pub fn start(conn: &mut DbConn, actor: &Actor, user: &UserId) -> QueryResult<(Run, bool)> {
    write_tx(conn, |conn| {
        let t = now();
        if let Some(run) = latest(conn)?.filter(|r| r.state(t) == RunState::Running) {
            return Ok((run, false));
        }
        let total: i64 = samples::table.count().get_result(conn)?;
        let run = Run {
            id: CustodyVerificationId::new_v7(),
            started_by: user.clone(),
            started_at: t,
            heartbeat_at: t,
            finished_at: None,
            samples_total: total,
            samples_checked: 0,
            events_checked: 0,
            broken: 0,
            breaks_json: None,
            error: None,
        };
        diesel::insert_into(custody_verifications::table)
            .values(&run)
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            "custody_verify",
            "custody_verification",
            Some(run.id.as_str()),
            None::<&()>,
            Some(&run),
        )?;
        Ok((run, true))
    })
}

/// Runs the verification of `run` to its end, writing progress on the way and the result (or
/// the error) at the end.
pub fn execute(conn: &mut DbConn, keys: &Keyring, run: &Run, actor: &Actor) -> QueryResult<()> {
    let mut last_beat = run.started_at;
    let result = verify::verify_all(conn, keys, |conn, p: Progress| {
        let t = now();
        if t - last_beat < PROGRESS_EVERY {
            return Ok(());
        }
        last_beat = t;
        diesel::update(custody_verifications::table.find(&run.id))
            .set((
                custody_verifications::heartbeat_at.eq(t),
                custody_verifications::samples_checked.eq(p.samples as i64),
                custody_verifications::events_checked.eq(p.events as i64),
            ))
            .execute(conn)
            .map(|_| ())
    });
    write_tx(conn, |conn| {
        let t = now();
        let finished = match &result {
            Ok(report) => {
                // A broken report anchor is a break of that sample's chain.
                let all: Vec<ChainBreak> = report
                    .breaks
                    .iter()
                    .cloned()
                    .chain(report.anchors.iter().map(BrokenAnchor::as_break))
                    .collect();
                let shown = &all[..all.len().min(SHOWN_BREAKS)];
                Run {
                    heartbeat_at: t,
                    finished_at: Some(t),
                    samples_checked: report.samples as i64,
                    events_checked: report.events as i64,
                    broken: all.len() as i64,
                    breaks_json: serde_json::to_string(shown).ok(),
                    ..run.clone()
                }
            }
            Err(e) => Run {
                heartbeat_at: t,
                finished_at: Some(t),
                error: Some(e.to_string()),
                ..run.clone()
            },
        };
        diesel::update(custody_verifications::table.find(&run.id))
            .set((
                custody_verifications::heartbeat_at.eq(t),
                custody_verifications::finished_at.eq(finished.finished_at),
                custody_verifications::samples_checked.eq(finished.samples_checked),
                custody_verifications::events_checked.eq(finished.events_checked),
                custody_verifications::broken.eq(finished.broken),
                custody_verifications::breaks_json.eq(&finished.breaks_json),
                custody_verifications::error.eq(&finished.error),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            "custody_verify_finished",
            "custody_verification",
            Some(run.id.as_str()),
            Some(run),
            Some(&finished),
        )
    })?;
    result.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_without_progress_for_two_minutes_reads_as_interrupted() {
        let t = now();
        let run = Run {
            id: CustodyVerificationId::new_v7(),
            started_by: UserId("u".into()),
            started_at: t,
            heartbeat_at: t,
            finished_at: None,
            samples_total: 10,
            samples_checked: 0,
            events_checked: 0,
            broken: 0,
            breaks_json: None,
            error: None,
        };
        assert_eq!(
            run.state(t + chrono::TimeDelta::seconds(30)),
            RunState::Running
        );
        assert_eq!(
            run.state(t + chrono::TimeDelta::minutes(3)),
            RunState::Interrupted
        );
        let failed = Run {
            finished_at: Some(t),
            error: Some("disk full".into()),
            ..run.clone()
        };
        assert_eq!(failed.state(t), RunState::Failed);
        let done = Run {
            finished_at: Some(t),
            ..run
        };
        assert_eq!(
            done.state(t + chrono::TimeDelta::hours(1)),
            RunState::Finished
        );
        assert!(done.breaks().is_empty());
    }
}
