//! The one owner of an analysis's status: which event may follow which status is the table in
//! `next`, and every status written to `analyses.status` comes from it.

use crate::error::AppError;

use super::AnalysisStatus;

/// What happened to an analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A result entry was saved (the first one starts the test).
    Record,
    /// The analyst handed the result in for review.
    Submit,
    Approve,
    /// Rejected by the reviewer; a retest takes its place.
    Reject,
}

/// The status `event` leads to from `from`; refused (with the reason shown to the user)
/// where it may not happen: nothing changes once a result is handed in, except its review.
pub fn next(from: AnalysisStatus, event: Event) -> Result<AnalysisStatus, AppError> {
    use AnalysisStatus as S;
    use Event as E;
    match (from, event) {
        (S::Assigned | S::InProgress, E::Record) => Ok(S::InProgress),
        (S::InProgress, E::Submit) => Ok(S::Submitted),
        (S::Submitted, E::Approve) => Ok(S::Approved),
        (S::Submitted, E::Reject) => Ok(S::Rejected),
        (S::Approved, _) => Err(AppError::Forbidden("analyses.refused.approved")),
        (S::Submitted, E::Record | E::Submit) => {
            Err(AppError::Forbidden("analyses.refused.submitted"))
        }
        (S::Assigned, E::Submit) => Err(AppError::Forbidden("analyses.refused.no_result")),
        (S::Rejected | S::Cancelled, _) => Err(AppError::Forbidden("analyses.refused.closed")),
        (S::Assigned | S::InProgress, E::Approve | E::Reject) => {
            Err(AppError::Forbidden("analyses.refused.not_submitted"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AnalysisStatus as S;
    use Event as E;

    /// Every status × every event, against the table a quality manager would draw.
    #[test]
    fn status_table() {
        let allowed: &[(S, E, S)] = &[
            (S::Assigned, E::Record, S::InProgress),
            (S::InProgress, E::Record, S::InProgress),
            (S::InProgress, E::Submit, S::Submitted),
            (S::Submitted, E::Approve, S::Approved),
            (S::Submitted, E::Reject, S::Rejected),
        ];
        for &from in S::ALL {
            for e in [E::Record, E::Submit, E::Approve, E::Reject] {
                let expected = allowed
                    .iter()
                    .find(|(f, ev, _)| *f == from && *ev == e)
                    .map(|(_, _, to)| *to);
                assert_eq!(next(from, e).ok(), expected, "{from:?} + {e:?}");
            }
        }
    }

    #[test]
    fn an_approved_result_says_why_it_cannot_change() {
        match next(S::Approved, E::Record) {
            Err(AppError::Forbidden(key)) => assert_eq!(key, "analyses.refused.approved"),
            other => panic!("{other:?}"),
        }
    }
}
