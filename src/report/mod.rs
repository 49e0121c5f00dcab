//! Test reports (ISO/IEC 17025 7.8): drafted from approved results, frozen and signed
//! (21 CFR Part 11), issued as PDF/A, amended by new versions that supersede.

pub mod build;
pub mod check;
pub mod content;
pub mod draft;
pub mod issued;
pub mod pdf;
pub mod published;
pub mod sections;
pub mod sign;
pub mod signature;
pub mod state;
pub mod verification;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{report_signatures, report_versions, reports};
use crate::db::{text_enum, DbConn};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::ids::{
    LabSettingsId, ReportId, ReportSignatureId, ReportVersionId, SampleId, SeizureId, UserId,
};
use content::{ReportContent, SignatureLine};
use signature::Signed;

pub use check::{anchors_hold, signatures_hold};

text_enum!(
    /// Where a report version is (changed only through `state::next`).
    VersionStatus {
        Draft => "draft",
        /// Frozen and signed once; a second signature is required before issue.
        PendingSignature => "pending_signature",
        Issued => "issued",
        Discarded => "discarded",
    }
);

text_enum!(
    /// What a signature means (21 CFR 11.50(a)(3)); the text is in the report's language.
    SignatureMeaning {
        ReviewedApproved => "reviewed_approved",
        TechnicalReview => "technical_review",
        Authored => "authored",
    }
);

/// The public verification URL of a report: printed on it and encoded in its QR code.
pub fn verify_url(public_base: &str, report_number: &str, content_sha256: &str) -> String {
    format!(
        "{}/verify/{report_number}?h={content_sha256}",
        public_base.trim_end_matches('/')
    )
}

/// A report: one sample, or every sample of a seizure; its versions hold what it says.
#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = reports, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Report {
    pub id: ReportId,
    pub seizure_id: SeizureId,
    pub sample_id: Option<SampleId>,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = report_versions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Version {
    pub id: ReportVersionId,
    pub report_id: ReportId,
    pub version_no: i32,
    pub format_version: i32,
    pub locale: String,
    pub status: VersionStatus,
    pub lab_settings_id: LabSettingsId,
    /// The canonical content (left out of audit snapshots: the hash names it).
    #[serde(skip)]
    pub content: String,
    pub conclusion: Option<String>,
    pub opinion: Option<String>,
    pub deviations: Option<String>,
    pub decision_rule: Option<String>,
    pub found_hs_code: Option<String>,
    pub declared_hs_code: Option<String>,
    pub tariff_difference: Option<String>,
    pub controlled_found: bool,
    pub prohibited_found: bool,
    pub counterfeit_found: bool,
    pub finding_note: Option<String>,
    pub amendment_reason: Option<String>,
    pub supersedes_id: Option<ReportVersionId>,
    pub report_number: Option<String>,
    pub content_sha256: Option<String>,
    pub drafted_by: UserId,
    pub drafted_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub issued_at: Option<NaiveDateTime>,
    pub issued_by: Option<UserId>,
    pub pdf_sha256: Option<String>,
    pub discarded_reason: Option<String>,
}

impl Version {
    /// The content as stored (a preview while a draft, the signed content once frozen).
    pub fn parsed(&self) -> Result<ReportContent, AppError> {
        serde_json::from_str(&self.content).map_err(AppError::internal)
    }
}

/// A signature row as stored.
#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = report_signatures, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct SignatureRow {
    pub id: ReportSignatureId,
    pub report_version_id: ReportVersionId,
    pub signer_id: UserId,
    pub signer_name: String,
    pub signer_username: String,
    pub signer_role: String,
    pub meaning_code: SignatureMeaning,
    pub meaning_text: String,
    pub auth_method: String,
    pub signed_at: NaiveDateTime,
    pub content_sha256: String,
    pub key_id: String,
    pub signature_hash: String,
}

impl SignatureRow {
    /// The fields the signature hash binds.
    pub fn signed<'a>(&'a self, report_number: &'a str) -> Signed<'a> {
        Signed {
            signature_id: self.id.as_str(),
            report_version_id: self.report_version_id.as_str(),
            report_number,
            signer_id: self.signer_id.as_str(),
            signer_name: &self.signer_name,
            signer_username: &self.signer_username,
            signer_role: &self.signer_role,
            meaning_code: self.meaning_code.as_str(),
            meaning_text: &self.meaning_text,
            auth_method: &self.auth_method,
            signed_at: self.signed_at,
            content_sha256: &self.content_sha256,
        }
    }

    /// As printed in the signature block, in the laboratory's time zone.
    pub fn line(&self, tz: chrono_tz::Tz) -> SignatureLine {
        SignatureLine {
            name: self.signer_name.clone(),
            username: self.signer_username.clone(),
            role: self.signer_role.clone(),
            meaning_code: self.meaning_code.as_str().to_string(),
            meaning_text: self.meaning_text.clone(),
            signed_at: build::stamp(tz, &self.signed_at),
        }
    }
}

/// The text of a meaning in a report's language.
pub fn meaning_text(locale: &str, meaning: SignatureMeaning) -> String {
    crate::i18n::t(
        Lang::parse(locale).unwrap_or(Lang::Es),
        &format!("reports.meaning.{}", meaning.as_str()),
    )
}

pub fn find_report(conn: &mut DbConn, id: &ReportId) -> QueryResult<Report> {
    reports::table
        .find(id)
        .select(Report::as_select())
        .first(conn)
}

pub fn find_version(conn: &mut DbConn, id: &ReportVersionId) -> QueryResult<Version> {
    report_versions::table
        .find(id)
        .select(Version::as_select())
        .first(conn)
}

/// Every version of a report, oldest first.
pub fn versions_of(conn: &mut DbConn, id: &ReportId) -> QueryResult<Vec<Version>> {
    report_versions::table
        .filter(report_versions::report_id.eq(id))
        .order(report_versions::version_no.asc())
        .select(Version::as_select())
        .load(conn)
}

pub fn signatures_of(conn: &mut DbConn, id: &ReportVersionId) -> QueryResult<Vec<SignatureRow>> {
    report_signatures::table
        .filter(report_signatures::report_version_id.eq(id))
        .order((
            report_signatures::signed_at.asc(),
            report_signatures::id.asc(),
        ))
        .select(SignatureRow::as_select())
        .load(conn)
}

/// The issued version that names `id` as the one it supersedes, if any (superseded is
/// derived, never stored on the old version).
pub fn superseded_by(conn: &mut DbConn, id: &ReportVersionId) -> QueryResult<Option<Version>> {
    report_versions::table
        .filter(report_versions::supersedes_id.eq(id))
        .filter(report_versions::status.eq(VersionStatus::Issued))
        .select(Version::as_select())
        .first(conn)
        .optional()
}

/// A row of the supervisors' list: a version and what its report covers.
#[derive(Debug, Clone)]
pub struct ListRow {
    pub version: Version,
    pub seizure_reference: String,
    pub lab_code: Option<String>,
}

/// Keyset position in the supervisors' list.
pub type Cursor = crate::keyset::Cursor<ReportVersionId>;

/// The supervisors' list: versions, newest drafted first, one page and the next page's
/// cursor; `status` filters.
pub fn list(
    conn: &mut DbConn,
    status: Option<VersionStatus>,
    after: Option<&Cursor>,
    page_size: i64,
) -> QueryResult<(Vec<ListRow>, Option<Cursor>)> {
    use crate::db::schema::{samples, seizures};
    let mut q = report_versions::table
        .inner_join(reports::table)
        .inner_join(seizures::table.on(seizures::id.eq(reports::seizure_id)))
        .left_join(samples::table.on(samples::id.nullable().eq(reports::sample_id)))
        .order((
            report_versions::drafted_at.desc(),
            report_versions::id.desc(),
        ))
        .select((
            Version::as_select(),
            seizures::reference,
            samples::lab_code.nullable(),
        ))
        .limit(page_size + 1)
        .into_boxed();
    if let Some(s) = status {
        q = q.filter(report_versions::status.eq(s));
    }
    if let Some(c) = after {
        q = q.filter(crate::keyset::before(
            report_versions::drafted_at,
            report_versions::id,
            c,
        ));
    }
    let mut rows: Vec<ListRow> = q
        .load::<(Version, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(version, seizure_reference, lab_code)| ListRow {
            version,
            seizure_reference,
            lab_code,
        })
        .collect();
    let next = crate::keyset::split_page(&mut rows, page_size, |r: &ListRow| Cursor {
        at: r.version.drafted_at,
        id: r.version.id.clone(),
    });
    Ok((rows, next))
}
