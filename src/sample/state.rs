//! The one owner of a sample's status. Every change of `samples.status` — receipt, rejection,
//! tests starting and being approved, the report, external laboratories, the final
//! disposition — goes through `apply`, and which change may follow which status is the table
//! in `next_status`. Other columns a custody event moves (storage place, seal, retention date,
//! what was wrong at receipt) are written here too, so the audit entry shows the whole row
//! before and after.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::db::schema::{analyses, custody_events, samples};
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::ids::{SampleId, StorageLocationId};
use crate::sample::receipt::ReceiptExceptions;
use crate::sample::{find, Sample, SampleStatus};

/// A change of status, named after what happened to the sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Accepted at the laboratory's counter.
    Receive,
    /// Refused at the counter (broken seal, wrong item, ...).
    Reject,
    /// The first test on it started.
    StartTesting,
    /// Every test on it is approved: ready for the report.
    TestsApproved,
    /// A new test or a retest after all were approved (or after the report, for an amendment).
    ReopenTesting,
    /// Its report was issued.
    Report,
    /// Sent to a partner laboratory.
    SendExternal,
    /// Back from the partner laboratory; resumes where it left off.
    ReturnFromExternal {
        resume: SampleStatus,
    },
    ReturnToOwner,
    Destroy,
    /// Kept after the work (retained until a date).
    Retain,
}

/// The status a transition leads to from `from`, or `None` where it may not happen.
pub fn next_status(from: SampleStatus, t: Transition) -> Option<SampleStatus> {
    use SampleStatus as S;
    use Transition as T;
    let to = match (from, t) {
        (S::Registered, T::Receive) => S::Received,
        (S::Registered, T::Reject) => S::Rejected,
        (S::Received, T::StartTesting) => S::InTesting,
        (S::InTesting, T::TestsApproved) => S::AwaitingReport,
        (S::AwaitingReport | S::Reported, T::ReopenTesting) => S::InTesting,
        (S::AwaitingReport, T::Report) => S::Reported,
        (S::Received | S::InTesting, T::SendExternal) => S::External,
        (S::External, T::ReturnFromExternal { resume }) => match resume {
            S::Received | S::InTesting => resume,
            _ => return None,
        },
        (f, T::ReturnToOwner) if f.in_lab() || matches!(f, S::Rejected | S::Retained) => {
            S::Returned
        }
        (f, T::Destroy) if f.in_lab() || matches!(f, S::Rejected | S::Retained) => S::Disposed,
        (f, T::Retain) if f.in_lab() => S::Retained,
        _ => return None,
    };
    Some(to)
}

/// What one event changes on the sample row; `None` keeps the current value.
#[derive(Default, Debug, Clone)]
pub struct Change {
    pub transition: Option<Transition>,
    pub storage_location_id: Option<Option<StorageLocationId>>,
    pub seal_number: Option<Option<String>>,
    pub retained_until: Option<Option<String>>,
    /// What was wrong at receipt (set by the receipt).
    pub receipt_exceptions: Option<Option<ReceiptExceptions>>,
    /// When it happened (the receipt or report time for those transitions).
    pub at: Option<NaiveDateTime>,
}

/// Writes a change to a sample locked by `lock_for_update` in the caller's write transaction,
/// with its audit entry (the whole row before and after).
pub fn apply(
    conn: &mut DbConn,
    actor: &Actor,
    before: &Sample,
    change: Change,
) -> Result<Sample, AppError> {
    let status = match change.transition {
        Some(t) => next_status(before.status, t)
            .ok_or_else(|| AppError::invalid("status", "validation.status_not_allowed"))?,
        None => before.status,
    };
    let at = change.at.unwrap_or_else(now);
    let received_at = match change.transition {
        Some(Transition::Receive) => Some(at),
        _ => before.received_at,
    };
    let reported_at = match change.transition {
        Some(Transition::Report) => Some(at),
        _ => before.reported_at,
    };
    diesel::update(samples::table.find(&before.id))
        .set((
            samples::status.eq(status),
            samples::storage_location_id.eq(change
                .storage_location_id
                .unwrap_or_else(|| before.storage_location_id.clone())),
            samples::seal_number.eq(change
                .seal_number
                .unwrap_or_else(|| before.seal_number.clone())),
            samples::received_at.eq(received_at),
            samples::reported_at.eq(reported_at),
            samples::retained_until.eq(change
                .retained_until
                .unwrap_or_else(|| before.retained_until.clone())),
            samples::receipt_exceptions.eq(change
                .receipt_exceptions
                .unwrap_or_else(|| before.receipt_exceptions.clone())),
            samples::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let after = find(conn, &before.id)?;
    audit::record(
        conn,
        actor,
        "update",
        "sample",
        Some(before.id.as_str()),
        Some(before),
        Some(&after),
    )?;
    Ok(after)
}

/// Inside a write transaction: locks the sample's row (PostgreSQL) and reads it afresh, so
/// checks and updates see what concurrent requests committed, never a copy read before.
pub fn lock_for_update(conn: &mut DbConn, id: &SampleId) -> QueryResult<Sample> {
    diesel::update(samples::table.find(id))
        .set(samples::updated_at.eq(now()))
        .execute(conn)?;
    find(conn, id)
}

/// The latest custody event's time: a new event may not be dated before it.
pub fn last_event_at(conn: &mut DbConn, id: &SampleId) -> QueryResult<Option<NaiveDateTime>> {
    custody_events::table
        .filter(custody_events::sample_id.eq(id))
        .select(diesel::dsl::max(custody_events::occurred_at))
        .first(conn)
}

/// When a new event happened, from the time typed in its form and the chain's latest event.
/// Forms give minutes, so a time in the latest event's own minute counts as just after it (the
/// time now when that is still in the minute); an earlier minute is refused beside `field`.
pub fn time_after_last(
    conn: &mut DbConn,
    id: &SampleId,
    typed: NaiveDateTime,
    field: &str,
) -> Result<NaiveDateTime, AppError> {
    place_after(typed, last_event_at(conn, id)?, now())
        .ok_or_else(|| AppError::invalid(field, "validation.before_previous_event"))
}

fn place_after(
    typed: NaiveDateTime,
    last: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    use chrono::{DurationRound, TimeDelta};
    let Some(last) = last.filter(|last| typed < *last) else {
        return Some(typed);
    };
    let minute = TimeDelta::minutes(1);
    let same_minute = typed.duration_trunc(minute).ok()? == last.duration_trunc(minute).ok()?;
    // Typed now: now; an earlier minute: the last event's time (an event may share the
    // previous one's time, never precede it).
    same_minute.then(|| {
        if now < typed + minute {
            now.max(last)
        } else {
            last
        }
    })
}

/// Where a sample back from a partner laboratory resumes: testing if tests were assigned to
/// it, otherwise simply received.
pub fn resume_after_external(conn: &mut DbConn, id: &SampleId) -> QueryResult<SampleStatus> {
    let tests: i64 = analyses::table
        .filter(analyses::sample_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(if tests > 0 {
        SampleStatus::InTesting
    } else {
        SampleStatus::Received
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use SampleStatus as S;
    use Transition as T;

    /// Every status × every transition, against the table a custody officer would draw.
    #[test]
    fn transition_table() {
        let transitions = [
            T::Receive,
            T::Reject,
            T::StartTesting,
            T::TestsApproved,
            T::ReopenTesting,
            T::Report,
            T::SendExternal,
            T::ReturnFromExternal {
                resume: S::Received,
            },
            T::ReturnFromExternal {
                resume: S::InTesting,
            },
            T::ReturnToOwner,
            T::Destroy,
            T::Retain,
        ];
        // (from, transition index, expected); every pair not listed must be refused.
        let allowed: &[(S, usize, S)] = &[
            (S::Registered, 0, S::Received),
            (S::Registered, 1, S::Rejected),
            (S::Received, 2, S::InTesting),
            (S::InTesting, 3, S::AwaitingReport),
            (S::AwaitingReport, 4, S::InTesting),
            (S::Reported, 4, S::InTesting),
            (S::AwaitingReport, 5, S::Reported),
            (S::Received, 6, S::External),
            (S::InTesting, 6, S::External),
            (S::External, 7, S::Received),
            (S::External, 8, S::InTesting),
            (S::Received, 9, S::Returned),
            (S::InTesting, 9, S::Returned),
            (S::AwaitingReport, 9, S::Returned),
            (S::Reported, 9, S::Returned),
            (S::Rejected, 9, S::Returned),
            (S::Retained, 9, S::Returned),
            (S::Received, 10, S::Disposed),
            (S::InTesting, 10, S::Disposed),
            (S::AwaitingReport, 10, S::Disposed),
            (S::Reported, 10, S::Disposed),
            (S::Rejected, 10, S::Disposed),
            (S::Retained, 10, S::Disposed),
            (S::Received, 11, S::Retained),
            (S::InTesting, 11, S::Retained),
            (S::AwaitingReport, 11, S::Retained),
            (S::Reported, 11, S::Retained),
        ];
        for &from in S::ALL {
            for (i, &t) in transitions.iter().enumerate() {
                let expected = allowed
                    .iter()
                    .find(|(f, ti, _)| *f == from && *ti == i)
                    .map(|(_, _, to)| *to);
                assert_eq!(next_status(from, t), expected, "{from:?} + {t:?}");
            }
        }
    }

    #[test]
    fn nothing_follows_the_final_disposition() {
        for &t in &[
            T::Receive,
            T::ReturnToOwner,
            T::Destroy,
            T::Retain,
            T::Report,
        ] {
            assert_eq!(next_status(S::Returned, t), None);
            assert_eq!(next_status(S::Disposed, t), None);
        }
    }

    #[test]
    fn a_time_typed_to_the_minute_falls_after_the_last_event_of_that_minute() {
        let t = |h: u32, m: u32, s: u32| {
            chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
                .unwrap()
                .and_hms_opt(h, m, s)
                .unwrap()
        };
        let now = t(10, 31, 20);
        // Nothing before it, or typed after the last: as typed.
        assert_eq!(place_after(t(10, 0, 0), None, now), Some(t(10, 0, 0)));
        assert_eq!(
            place_after(t(10, 31, 0), Some(t(10, 30, 5)), now),
            Some(t(10, 31, 0))
        );
        // The last event's minute, typed now: now.
        assert_eq!(
            place_after(t(10, 31, 0), Some(t(10, 31, 10)), now),
            Some(now)
        );
        // An earlier minute shared with the last event: right after it, never before.
        let last = t(10, 20, 30);
        assert_eq!(place_after(t(10, 20, 0), Some(last), now), Some(last));
        // An earlier minute than the last event's: refused.
        assert_eq!(place_after(t(10, 19, 0), Some(last), now), None);
    }

    #[test]
    fn a_return_from_abroad_cannot_jump_ahead() {
        let t = T::ReturnFromExternal {
            resume: S::Reported,
        };
        assert_eq!(next_status(S::External, t), None);
    }
}
