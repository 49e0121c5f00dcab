//! The one owner of a report version's status: `next` is the table, and `apply` is the only
//! writer of `report_versions.status`, together with what each change sets.

use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::db::schema::report_versions;
use crate::db::{now, DbConn};
use crate::error::AppError;
use crate::ids::UserId;

use super::{find_version, Version, VersionStatus};

/// What happens to a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The first signature, when another is still required: the content is frozen.
    Freeze,
    /// The last required signature: the version is issued with its PDF.
    Issue,
    Discard,
}

/// The status `event` leads to from `from`, or the reason it may not happen.
pub fn next(from: VersionStatus, event: Event) -> Result<VersionStatus, AppError> {
    use Event as E;
    use VersionStatus as S;
    match (from, event) {
        (S::Draft, E::Freeze) => Ok(S::PendingSignature),
        (S::Draft | S::PendingSignature, E::Issue) => Ok(S::Issued),
        (S::Draft | S::PendingSignature, E::Discard) => Ok(S::Discarded),
        (S::PendingSignature, E::Freeze) => Err(AppError::invalid(
            "password",
            "reports.refused.already_signed",
        )),
        (S::Issued | S::Discarded, _) => Err(AppError::invalid("status", "reports.refused.closed")),
    }
}

/// What a change writes besides the status.
#[derive(Default)]
pub struct Stamp<'a> {
    /// Freezing: the number, the canonical content and its hash.
    pub frozen: Option<(&'a str, &'a str, &'a str)>,
    /// Issuing: who, and the SHA-256 of the stored PDF.
    pub issued: Option<(&'a UserId, &'a str)>,
    pub discarded_reason: Option<&'a str>,
}

/// Writes `event` on a version read in the caller's write transaction, with its audit entry.
pub fn apply(
    conn: &mut DbConn,
    actor: &Actor,
    before: &Version,
    event: Event,
    stamp: Stamp,
) -> Result<Version, AppError> {
    let status = next(before.status, event)?;
    let at = now();
    let (number, content, sha) = match stamp.frozen {
        Some((n, c, h)) => (Some(n.to_string()), c.to_string(), Some(h.to_string())),
        None => (
            before.report_number.clone(),
            before.content.clone(),
            before.content_sha256.clone(),
        ),
    };
    let target = report_versions::table
        .filter(report_versions::id.eq(&before.id))
        .filter(report_versions::status.eq(before.status));
    let changed = diesel::update(target)
        .set((
            report_versions::status.eq(status),
            report_versions::report_number.eq(number),
            report_versions::content.eq(content),
            report_versions::content_sha256.eq(sha),
            report_versions::issued_at.eq(stamp.issued.map(|_| at)),
            report_versions::issued_by.eq(stamp.issued.map(|(who, _)| who)),
            report_versions::pdf_sha256.eq(stamp.issued.map(|(_, pdf)| pdf)),
            report_versions::discarded_reason.eq(stamp.discarded_reason),
            report_versions::updated_at.eq(at),
        ))
        .execute(conn)?;
    if changed == 0 {
        // Another request changed it first.
        return Err(AppError::invalid("status", "reports.refused.changed"));
    }
    let after = find_version(conn, &before.id)?;
    audit::record(
        conn,
        actor,
        match event {
            Event::Freeze => "sign",
            Event::Issue => "issue",
            Event::Discard => "discard",
        },
        "report_version",
        Some(before.id.as_str()),
        Some(before),
        Some(&after),
    )?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Event as E;
    use VersionStatus as S;

    #[test]
    fn status_table() {
        let allowed: &[(S, E, S)] = &[
            (S::Draft, E::Freeze, S::PendingSignature),
            (S::Draft, E::Issue, S::Issued),
            (S::PendingSignature, E::Issue, S::Issued),
            (S::Draft, E::Discard, S::Discarded),
            (S::PendingSignature, E::Discard, S::Discarded),
        ];
        for &from in S::ALL {
            for e in [E::Freeze, E::Issue, E::Discard] {
                let expected = allowed
                    .iter()
                    .find(|(f, ev, _)| *f == from && *ev == e)
                    .map(|(_, _, to)| *to);
                assert_eq!(next(from, e).ok(), expected, "{from:?} + {e:?}");
            }
        }
    }
}
