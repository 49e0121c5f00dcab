//! Four-eyes review (ISO/IEC 17025 7.8.1): a supervisor who neither performed nor submitted a
//! result approves it, or rejects it with a reason, which assigns a linked retest while the
//! rejected result stays in the history. When every test of a sample is approved, the sample
//! is ready for its report.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Deserialize;

use crate::audit::Handler;
use crate::db::schema::analyses;
use crate::db::{write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{AnalysisId, UserId};
use crate::sample::state::{self as sample_state, Change, Transition};
use crate::sample::SampleStatus;
use crate::validation::{optional_date, required_text, FieldErrors};

use super::state::Event;
use super::{
    apply, authorization_for, insert, iso, lock, rows, Analysis, AnalysisRow, AnalysisStatus,
};

/// Where the next page of the review queue starts: the last row's submission time and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCursor {
    pub at: NaiveDateTime,
    pub id: AnalysisId,
}

impl QueueCursor {
    pub fn encode(&self) -> String {
        crate::keyset::Cursor {
            at: self.at,
            id: self.id.clone(),
        }
        .encode()
    }

    pub fn decode(text: &str) -> Option<QueueCursor> {
        let c = crate::keyset::Cursor::<AnalysisId>::decode(text)?;
        Some(QueueCursor { at: c.at, id: c.id })
    }
}

/// Results waiting for review, the longest waiting first, one page after `after`.
pub fn queue(
    conn: &mut DbConn,
    after: Option<&QueueCursor>,
    page_size: i64,
) -> QueryResult<(Vec<AnalysisRow>, Option<QueueCursor>)> {
    let mut query = analyses::table
        .filter(analyses::status.eq(AnalysisStatus::Submitted))
        .select(Analysis::as_select())
        .order((analyses::submitted_at.asc(), analyses::id.asc()))
        .limit(page_size + 1)
        .into_boxed();
    if let Some(c) = after {
        query = query.filter(
            analyses::submitted_at.gt(c.at).or(analyses::submitted_at
                .eq(c.at)
                .and(analyses::id.gt(c.id.clone()))),
        );
    }
    let mut list = query.load(conn)?;
    let next = if list.len() as i64 > page_size {
        list.truncate(page_size as usize);
        list.last().and_then(|a| {
            Some(QueueCursor {
                at: a.submitted_at?,
                id: a.id.clone(),
            })
        })
    } else {
        None
    };
    Ok((rows(conn, list)?, next))
}

/// Whether `who` may review `a`: never their own work.
pub fn may_review(a: &Analysis, who: &UserId) -> bool {
    a.analyst_id.as_ref() != Some(who) && a.submitted_by.as_ref() != Some(who)
}

fn check_reviewer(a: &Analysis, who: &Handler) -> Result<(), AppError> {
    if may_review(a, &who.user_id) {
        Ok(())
    } else {
        Err(AppError::Forbidden("analyses.refused.own_result"))
    }
}

/// Approves a submitted result; the last approval of a sample's tests makes it ready for the
/// report.
pub fn approve(conn: &mut DbConn, who: &Handler, id: &AnalysisId) -> Result<Analysis, AppError> {
    write_tx(conn, |conn| {
        let before = lock(conn, id)?;
        check_reviewer(&before, who)?;
        let after = apply(conn, who, &before, Event::Approve, None)?;
        tests_approved(conn, who, &after)?;
        Ok(after)
    })
}

/// Moves the sample to awaiting its report when every test on it that counts (neither
/// rejected, as a retest replaced it, nor cancelled) is approved.
fn tests_approved(conn: &mut DbConn, who: &Handler, a: &Analysis) -> Result<(), AppError> {
    let pending: i64 = analyses::table
        .filter(analyses::sample_id.eq(&a.sample_id))
        .filter(analyses::status.ne_all([
            AnalysisStatus::Approved,
            AnalysisStatus::Rejected,
            AnalysisStatus::Cancelled,
        ]))
        .count()
        .get_result(conn)?;
    if pending > 0 {
        return Ok(());
    }
    let sample = sample_state::lock_for_update(conn, &a.sample_id)?;
    if sample.status == SampleStatus::InTesting {
        sample_state::apply(
            conn,
            &who.actor,
            &sample,
            Change {
                transition: Some(Transition::TestsApproved),
                ..Default::default()
            },
        )?;
    }
    Ok(())
}

/// The rejection form: why, and who does the retest by when (the same analyst by default).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct RejectInput {
    pub rejection_reason: String,
    pub analyst_id: String,
    pub due_on: String,
}

/// Rejects a submitted result with a reason and assigns its retest, linked to it, under the
/// method version in force now. Returns the retest.
pub fn reject(
    conn: &mut DbConn,
    who: &Handler,
    id: &AnalysisId,
    input: &RejectInput,
    today: NaiveDate,
) -> Result<Analysis, AppError> {
    let mut errors = FieldErrors::default();
    let reason = required_text(
        &mut errors,
        "rejection_reason",
        &input.rejection_reason,
        1000,
    );
    let due = optional_date(&mut errors, "due_on", &input.due_on);
    if due.is_some_and(|d| d < today) {
        errors.add("due_on", "analyses.due_in_past");
    }
    errors.into_result()?;
    write_tx(conn, |conn| {
        let before = lock(conn, id)?;
        check_reviewer(&before, who)?;
        let analyst = match input.analyst_id.trim() {
            "" => before.analyst_id.clone(),
            typed => UserId::parse(typed),
        }
        .ok_or_else(|| AppError::invalid("analyst_id", "analyses.choose_analyst"))?;
        let auth = authorization_for(conn, &analyst, &before.method_id, today, "analyst_id")?;
        let rejected = apply(conn, who, &before, Event::Reject, Some(&reason))?;
        let due = due.map(iso).or_else(|| rejected.due_on.clone());
        insert(
            conn,
            who,
            &rejected.sample_id,
            &rejected.method_id,
            &analyst,
            &auth,
            due.as_deref(),
            Some(&rejected.id),
        )
    })
}
