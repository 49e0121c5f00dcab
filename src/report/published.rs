//! Issued report versions as the outside world may read them (the JSON API, customs systems):
//! only `issued` versions, never drafts or versions awaiting a signature, each with the
//! number of the version that superseded it, if any.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::attachment::Attachment;
use crate::db::schema::{attachments, report_signatures, report_versions, reports, seizures};
use crate::db::DbConn;
use crate::ids::ReportVersionId;
use crate::report::VersionStatus;
use crate::seizure::normalize_reference;

/// Which case's reports: by the seizure's reference or by its declaration (DAM) number.
#[derive(Debug, Clone)]
pub enum Case {
    Seizure(String),
    Declaration(String),
}

/// Newest issue first; the next page starts strictly after `(issued_at, id)`.
pub type Cursor = crate::keyset::Cursor<ReportVersionId>;

/// One issued version in a list.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: ReportVersionId,
    pub number: String,
    pub version_no: i32,
    pub issued_at: NaiveDateTime,
    pub content_sha256: String,
    pub has_pdf: bool,
    pub superseded_by: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = report_versions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
struct Row {
    id: ReportVersionId,
    report_number: Option<String>,
    version_no: i32,
    issued_at: Option<NaiveDateTime>,
    content_sha256: Option<String>,
    pdf_sha256: Option<String>,
}

impl Row {
    /// An issued row carries its number, time and hash (a database check says so); a row that
    /// somehow lacks one is left out rather than shown half.
    fn published(self) -> Option<Published> {
        Some(Published {
            number: self.report_number?,
            issued_at: self.issued_at?,
            content_sha256: self.content_sha256?,
            has_pdf: self.pdf_sha256.is_some(),
            version_no: self.version_no,
            id: self.id,
            superseded_by: None,
        })
    }
}

/// One page of the issued versions of a case's reports, and the cursor of the next page.
pub fn list(
    conn: &mut DbConn,
    case: &Case,
    after: Option<&Cursor>,
    page_size: i64,
) -> QueryResult<(Vec<Published>, Option<Cursor>)> {
    let mut query = report_versions::table
        .inner_join(reports::table.inner_join(seizures::table))
        .filter(report_versions::status.eq(VersionStatus::Issued))
        .order((
            report_versions::issued_at.desc(),
            report_versions::id.desc(),
        ))
        .limit(page_size + 1)
        .select(Row::as_select())
        .into_boxed();
    query = match case {
        Case::Seizure(r) => query.filter(seizures::reference.eq(normalize_reference(r))),
        Case::Declaration(d) => {
            query.filter(seizures::declaration_number.eq(normalize_reference(d)))
        }
    };
    if let Some(c) = after {
        query = query.filter(crate::keyset::before(
            report_versions::issued_at.assume_not_null(),
            report_versions::id,
            c,
        ));
    }
    let mut rows: Vec<Published> = query
        .load::<Row>(conn)?
        .into_iter()
        .filter_map(Row::published)
        .collect();
    let next = crate::keyset::split_page(&mut rows, page_size, |p| Cursor {
        at: p.issued_at,
        id: p.id.clone(),
    });
    let ids: Vec<ReportVersionId> = rows.iter().map(|p| p.id.clone()).collect();
    let mut newer = superseding(conn, &ids)?;
    for p in &mut rows {
        p.superseded_by = newer.remove(&p.id);
    }
    Ok((rows, next))
}

/// The numbers of the issued versions that supersede each of `ids`.
fn superseding(
    conn: &mut DbConn,
    ids: &[ReportVersionId],
) -> QueryResult<std::collections::HashMap<ReportVersionId, String>> {
    let pairs: Vec<(Option<ReportVersionId>, Option<String>)> = report_versions::table
        .filter(report_versions::supersedes_id.eq_any(ids))
        .filter(report_versions::status.eq(VersionStatus::Issued))
        .select((
            report_versions::supersedes_id,
            report_versions::report_number,
        ))
        .load(conn)?;
    Ok(pairs
        .into_iter()
        .filter_map(|(old, number)| Some((old?, number?)))
        .collect())
}

/// A signature as printed on the report.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = report_signatures, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Signature {
    pub signer_name: String,
    pub signer_role: String,
    pub meaning_code: String,
    pub meaning_text: String,
    pub signed_at: NaiveDateTime,
    pub signature_hash: String,
}

/// An issued version in full: its frozen content (the canonical JSON), signatures and
/// successor.
#[derive(Debug, Clone)]
pub struct Issued {
    pub summary: Published,
    pub content: String,
    pub signatures: Vec<Signature>,
}

fn issued_row(conn: &mut DbConn, number: &str) -> QueryResult<Option<(Row, String)>> {
    report_versions::table
        .filter(report_versions::report_number.eq(number))
        .filter(report_versions::status.eq(VersionStatus::Issued))
        .select((Row::as_select(), report_versions::content))
        .first(conn)
        .optional()
}

/// The issued version numbered `number`; `None` for an unknown number or one not issued.
pub fn find(conn: &mut DbConn, number: &str) -> QueryResult<Option<Issued>> {
    let Some((row, content)) = issued_row(conn, number)? else {
        return Ok(None);
    };
    let Some(mut summary) = row.published() else {
        return Ok(None);
    };
    summary.superseded_by =
        superseding(conn, std::slice::from_ref(&summary.id))?.remove(&summary.id);
    let signatures = report_signatures::table
        .filter(report_signatures::report_version_id.eq(&summary.id))
        .order((
            report_signatures::signed_at.asc(),
            report_signatures::id.asc(),
        ))
        .select(Signature::as_select())
        .load(conn)?;
    Ok(Some(Issued {
        summary,
        content,
        signatures,
    }))
}

/// The stored PDF of the issued version numbered `number`: the version's attachment whose
/// SHA-256 is the one recorded at issue (a reprint is byte-identical).
pub fn pdf(conn: &mut DbConn, number: &str) -> QueryResult<Option<Attachment>> {
    let Some((row, _)) = issued_row(conn, number)? else {
        return Ok(None);
    };
    let Some(sha) = row.pdf_sha256 else {
        return Ok(None);
    };
    attachments::table
        .filter(attachments::report_version_id.eq(&row.id))
        .filter(attachments::sha256.eq(sha))
        .select(Attachment::as_select())
        .first(conn)
        .optional()
}
