//! Reading an issued report by its number: the frozen content, the signatures as printed,
//! the later version that supersedes it, and the PDF stored at issue. Drafts and versions
//! waiting for a signature are never found here.

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;

use super::content::{ReportContent, SignatureLine};
use super::VersionStatus;
use crate::attachment::{Attachment, OwnerKind};
use crate::db::schema::{attachments, report_signatures, report_versions};
use crate::db::DbConn;
use crate::error::AppError;
use crate::ids::ReportVersionId;

pub struct Issued {
    pub version_id: ReportVersionId,
    pub content: ReportContent,
    pub content_sha256: String,
    pub signatures: Vec<SignatureLine>,
    /// The number of the issued amendment that replaces this version, if any.
    pub superseded_by: Option<String>,
    /// The PDF stored at issue (the version's attachment with `pdf_sha256`).
    pub pdf: Attachment,
}

/// A signing time as printed: `YYYY-MM-DD HH:MM ±HH:MM` in the laboratory's time zone.
pub fn signed_at_text(utc: &NaiveDateTime, tz: Tz) -> String {
    utc.and_utc()
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M %:z")
        .to_string()
}

/// The issued version numbered `number`, or `None` (unknown, or not issued).
pub fn find(conn: &mut DbConn, number: &str, tz: Tz) -> Result<Option<Issued>, AppError> {
    let row: Option<(ReportVersionId, String, Option<String>, Option<String>)> =
        report_versions::table
            .filter(report_versions::report_number.eq(number))
            .filter(report_versions::status.eq(VersionStatus::Issued))
            .select((
                report_versions::id,
                report_versions::content,
                report_versions::content_sha256,
                report_versions::pdf_sha256,
            ))
            .first(conn)
            .optional()?;
    let Some((version_id, content, Some(content_sha256), Some(pdf_sha256))) = row else {
        return Ok(None);
    };
    let content: ReportContent = serde_json::from_str(&content)
        .map_err(|e| AppError::internal(format!("report {number}: stored content: {e}")))?;
    let signatures = report_signatures::table
        .filter(report_signatures::report_version_id.eq(&version_id))
        .order((
            report_signatures::signed_at.asc(),
            report_signatures::id.asc(),
        ))
        .select((
            report_signatures::signer_name,
            report_signatures::signer_username,
            report_signatures::signer_role,
            report_signatures::meaning_code,
            report_signatures::meaning_text,
            report_signatures::signed_at,
        ))
        .load::<(String, String, String, String, String, NaiveDateTime)>(conn)?
        .into_iter()
        .map(
            |(name, username, role, meaning_code, meaning_text, at)| SignatureLine {
                name,
                username,
                role,
                meaning_code,
                meaning_text,
                signed_at: signed_at_text(&at, tz),
            },
        )
        .collect();
    let superseded_by: Option<Option<String>> = report_versions::table
        .filter(report_versions::supersedes_id.eq(&version_id))
        .filter(report_versions::status.eq(VersionStatus::Issued))
        .select(report_versions::report_number)
        .first(conn)
        .optional()?;
    let pdf = attachments::table
        .filter(attachments::owner_kind.eq(OwnerKind::ReportVersion))
        .filter(attachments::report_version_id.eq(&version_id))
        .filter(attachments::sha256.eq(&pdf_sha256))
        .select(Attachment::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::internal(format!("report {number}: the stored PDF is missing")))?;
    Ok(Some(Issued {
        version_id,
        content,
        content_sha256,
        signatures,
        superseded_by: superseded_by.flatten(),
        pdf,
    }))
}
