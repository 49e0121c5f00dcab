//! Public verification of an issued report: anyone holding a report (its number and content
//! hash, or the PDF itself) asks whether this laboratory issued it. The answer says when and
//! by which laboratory, and whether a later version superseded it — nothing of the content.
//!
//! A version is only ever vouched for after its evidence is re-checked: the stored content
//! must still hash to the recorded hash, and every signature row must verify under the
//! custody key. Anything else is answered as a mismatch (the reason goes to the log, not to
//! the public). Every check is kept in `report_verifications`, which also paces each client
//! address (`LIMIT_PER_MINUTE`), counted in the database so that every instance holds the
//! same limit.

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;

use super::VersionStatus;
use crate::db::schema::{report_verifications, report_versions};
use crate::db::{now, text_enum, write_tx, DbConn};
use crate::ids::{ReportVerificationId, ReportVersionId};

/// Checks one client address may make per minute.
pub const LIMIT_PER_MINUTE: i64 = 30;

text_enum!(
    /// What a check found.
    Outcome {
        /// Issued by this laboratory, with this content, and still in force.
        Issued => "issued",
        /// Issued with this content, since replaced by an amendment.
        Superseded => "superseded",
        /// The number was issued, but not with this content (or its evidence fails).
        Mismatch => "mismatch",
        /// No report with this number (or no issued PDF with these bytes).
        Unknown => "unknown",
        /// The number was given to a version that was never issued.
        NotIssued => "not_issued",
    }
);

text_enum!(
    /// Where the question came from.
    Via {
        Page => "page",
        Upload => "upload",
        Api => "api",
    }
);

/// What was asked.
#[derive(Clone, Debug)]
pub enum Question {
    /// A report number and the content hash printed with it (`h` of the verification URL).
    Number { number: String, hash: String },
    /// The SHA-256 of a PDF file, compared with the stored issued PDFs.
    Pdf { sha256: String },
}

/// The answer given to the public.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    /// The number asked about, or the one the uploaded PDF belongs to.
    pub report_number: Option<String>,
    /// Set for `Issued` and `Superseded` only.
    pub issued: Option<IssuedFacts>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedFacts {
    /// UTC.
    pub issued_at: NaiveDateTime,
    pub laboratory: String,
    /// The number of the issued amendment that replaced this version.
    pub superseded_by: Option<String>,
}

/// A check answered, or refused because the address asked too often.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checked {
    Answered(Verdict),
    /// Seconds until the address may ask again.
    Limited {
        retry_after: i64,
    },
}

/// `RPT-YYYY-NNNNNN`, upper-cased and trimmed, or `None`.
pub fn parse_number(text: &str) -> Option<String> {
    let number = text.trim().to_ascii_uppercase();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let mut parts = number.split('-');
    let ok = parts.next() == Some("RPT")
        && parts.next().is_some_and(|y| digits(y, 4))
        && parts.next().is_some_and(|n| digits(n, 6))
        && parts.next().is_none();
    ok.then_some(number)
}

/// A SHA-256 as 64 hex digits, lower-cased and trimmed, or `None`.
pub fn parse_sha256(text: &str) -> Option<String> {
    let hash = text.trim().to_ascii_lowercase();
    (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hash)
}

/// Answers `question` for `remote_addr` and records the check, in one transaction; past the
/// address's limit nothing is looked up or recorded. The question's values must come from
/// `parse_number` / `parse_sha256`.
pub fn check(
    conn: &mut DbConn,
    question: &Question,
    via: Via,
    remote_addr: Option<&str>,
) -> QueryResult<Checked> {
    let checked = write_tx(conn, |conn| -> QueryResult<Checked> {
        if let Some(retry_after) = limited(conn, remote_addr)? {
            return Ok(Checked::Limited { retry_after });
        }
        let verdict = answer(conn, question)?;
        let (number, hash_given) = match question {
            Question::Number { number, hash } => (number.as_str(), hash.as_str()),
            Question::Pdf { sha256 } => (
                verdict.report_number.as_deref().unwrap_or_default(),
                sha256.as_str(),
            ),
        };
        diesel::insert_into(report_verifications::table)
            .values((
                report_verifications::id.eq(ReportVerificationId::new_v7()),
                report_verifications::checked_at.eq(now()),
                report_verifications::remote_addr.eq(remote_addr),
                report_verifications::report_number.eq(number),
                report_verifications::hash_given.eq(hash_given),
                report_verifications::outcome.eq(verdict.outcome),
                report_verifications::via.eq(via),
            ))
            .execute(conn)?;
        Ok(Checked::Answered(verdict))
    })?;
    match &checked {
        Checked::Answered(v) => tracing::info!(
            number = v.report_number.as_deref().unwrap_or("-"),
            outcome = %v.outcome,
            %via,
            client = remote_addr.unwrap_or("-"),
            "report verification"
        ),
        Checked::Limited { retry_after } => tracing::warn!(
            client = remote_addr.unwrap_or("-"),
            retry_after,
            "report verification refused: rate limit"
        ),
    }
    Ok(checked)
}

/// When the address has made `LIMIT_PER_MINUTE` checks within the last minute: the seconds
/// until the oldest of them leaves the window.
fn limited(conn: &mut DbConn, remote_addr: Option<&str>) -> QueryResult<Option<i64>> {
    let t = now();
    let mut query = report_verifications::table
        .filter(report_verifications::checked_at.gt(t - TimeDelta::minutes(1)))
        .select(report_verifications::checked_at)
        .order(report_verifications::checked_at.desc())
        .limit(LIMIT_PER_MINUTE)
        .into_boxed();
    query = match remote_addr {
        Some(addr) => query.filter(report_verifications::remote_addr.eq(addr)),
        None => query.filter(report_verifications::remote_addr.is_null()),
    };
    let recent: Vec<NaiveDateTime> = query.load(conn)?;
    if (recent.len() as i64) < LIMIT_PER_MINUTE {
        return Ok(None);
    }
    let oldest = recent.last().copied().unwrap_or(t);
    let wait = (oldest + TimeDelta::minutes(1) - t).num_seconds() + 1;
    Ok(Some(wait.max(1)))
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = report_versions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct Version {
    id: ReportVersionId,
    status: VersionStatus,
    content: String,
    report_number: Option<String>,
    content_sha256: Option<String>,
    issued_at: Option<NaiveDateTime>,
}

fn answer(conn: &mut DbConn, question: &Question) -> QueryResult<Verdict> {
    let found = match question {
        Question::Number { number, .. } => report_versions::table
            .filter(report_versions::report_number.eq(number))
            .select(Version::as_select())
            .first(conn)
            .optional()?,
        // Only issued versions carry a stored PDF.
        Question::Pdf { sha256 } => report_versions::table
            .filter(report_versions::pdf_sha256.eq(sha256))
            .select(Version::as_select())
            .first(conn)
            .optional()?,
    };
    let Some(version) = found else {
        let number = match question {
            Question::Number { number, .. } => Some(number.clone()),
            Question::Pdf { .. } => None,
        };
        return Ok(verdict(Outcome::Unknown, number, None));
    };
    let number = version.report_number.clone();
    let (Some(issued_at), Some(recorded)) = (version.issued_at, &version.content_sha256) else {
        return Ok(verdict(Outcome::NotIssued, number, None));
    };
    if version.status != VersionStatus::Issued {
        return Ok(verdict(Outcome::NotIssued, number, None));
    }
    if let Question::Number { hash, .. } = question {
        if hash != recorded {
            return Ok(verdict(Outcome::Mismatch, number, None));
        }
    }
    let reason = if !super::signatures_hold(conn, &version.id)? {
        Some("the content or a signature row does not verify")
    } else if !super::anchors_hold(conn, &version.id)? {
        Some("a custody chain the report anchored no longer holds")
    } else {
        None
    };
    if let Some(reason) = reason {
        tracing::error!(
            number = number.as_deref().unwrap_or("-"),
            version = %version.id,
            reason,
            "issued report evidence does not hold; answered as mismatch"
        );
        return Ok(verdict(Outcome::Mismatch, number, None));
    }
    let superseded_by: Option<Option<String>> = report_versions::table
        .filter(report_versions::supersedes_id.eq(&version.id))
        .filter(report_versions::status.eq(VersionStatus::Issued))
        .select(report_versions::report_number)
        .first(conn)
        .optional()?;
    let superseded_by = superseded_by.flatten();
    let laboratory = serde_json::from_str::<serde_json::Value>(&version.content)
        .ok()
        .and_then(|c| c.pointer("/laboratory/name")?.as_str().map(str::to_string))
        .unwrap_or_default();
    let outcome = if superseded_by.is_some() {
        Outcome::Superseded
    } else {
        Outcome::Issued
    };
    Ok(verdict(
        outcome,
        number,
        Some(IssuedFacts {
            issued_at,
            laboratory,
            superseded_by,
        }),
    ))
}

fn verdict(
    outcome: Outcome,
    report_number: Option<String>,
    issued: Option<IssuedFacts>,
) -> Verdict {
    Verdict {
        outcome,
        report_number,
        issued,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_hashes_are_read_in_one_form() {
        let table: &[(&str, Option<&str>)] = &[
            ("RPT-2026-000045", Some("RPT-2026-000045")),
            (" rpt-2026-000045 ", Some("RPT-2026-000045")),
            ("RPT-2026-45", None),
            ("RPT-26-000045", None),
            ("RPT-2026-000045-1", None),
            ("LAB-2026-000045", None),
            ("RPT-2026-00004５", None),
            ("", None),
        ];
        for (text, want) in table {
            assert_eq!(parse_number(text).as_deref(), *want, "{text:?}");
        }
        let hash = "AB".repeat(32);
        assert_eq!(parse_sha256(&hash), Some("ab".repeat(32)));
        assert_eq!(parse_sha256(&"ab".repeat(31)), None);
        assert_eq!(parse_sha256(&format!("{}zz", "ab".repeat(31))), None);
    }
}
