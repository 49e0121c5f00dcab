//! Reading an issued report by its number: the frozen content, the signatures as printed,
//! the later version that supersedes it, and the PDF stored at issue. Drafts and versions
//! waiting for a signature are never found here.

use chrono_tz::Tz;
use diesel::prelude::*;

use super::content::{ReportContent, SignatureLine};
use super::VersionStatus;
use crate::attachment::{Attachment, OwnerKind};
use crate::db::schema::{attachments, report_versions};
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
    let signatures = super::signatures_of(conn, &version_id)?
        .iter()
        .map(|s| s.line(tz))
        .collect();
    let superseded_by = super::superseded_by(conn, &version_id)?.and_then(|v| v.report_number);
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
        superseded_by,
        pdf,
    }))
}
