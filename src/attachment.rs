//! Attachments: raw data (chromatograms, spectra, photos), calibration certificates, training
//! evidence, external reports. Each has one owner record. An upload is streamed to a
//! temporary file while its SHA-256 is computed and its size checked, then put in the file
//! store under its hash (`blob`), and only then is the row written, with its audit entry, in
//! one transaction: an upload refused or cut off half-way leaves no row, no temporary file
//! and no object. Rows are append-only; a mistaken upload is withdrawn with a reason and its
//! file is kept.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::access::Permission;
use crate::audit::{self, Handler};
use crate::blob::BlobStore;
use crate::db::schema::{
    analyses, attachment_withdrawals, attachments, calibration_records, instruments,
    report_versions, samples, training_records, users,
};
use crate::db::{now, text_enum, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{
    AnalysisId, AttachmentId, AttachmentWithdrawalId, CalibrationId, InstrumentId, ReportVersionId,
    SampleId, TrainingRecordId, UserId,
};
use crate::validation::{optional_text, required_text, FieldErrors};

text_enum!(
    OwnerKind {
        Sample => "sample",
        Analysis => "analysis",
        Calibration => "calibration",
        Training => "training",
        ExternalReport => "external_report",
        ReportVersion => "report_version",
    }
);

/// The record an attachment belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    Sample(SampleId),
    /// Raw data of a test.
    Analysis(AnalysisId),
    Calibration(CalibrationId),
    Training(TrainingRecordId),
    /// A partner laboratory's report, on the analysis that holds its results.
    ExternalReport(AnalysisId),
    ReportVersion(ReportVersionId),
}

/// Where the owner record itself is shown.
pub enum Parent {
    Sample(SampleId),
    Instrument(InstrumentId),
    Person(UserId),
    None,
}

impl Owner {
    /// The owner named by a kind code and an id (as in an address), if both are valid.
    pub fn parse(kind: &str, id: &str) -> Option<Owner> {
        Some(match OwnerKind::parse(kind)? {
            OwnerKind::Sample => Owner::Sample(SampleId::parse(id)?),
            OwnerKind::Analysis => Owner::Analysis(AnalysisId::parse(id)?),
            OwnerKind::Calibration => Owner::Calibration(CalibrationId::parse(id)?),
            OwnerKind::Training => Owner::Training(TrainingRecordId::parse(id)?),
            OwnerKind::ExternalReport => Owner::ExternalReport(AnalysisId::parse(id)?),
            OwnerKind::ReportVersion => Owner::ReportVersion(ReportVersionId::parse(id)?),
        })
    }

    pub fn kind(&self) -> OwnerKind {
        match self {
            Owner::Sample(_) => OwnerKind::Sample,
            Owner::Analysis(_) => OwnerKind::Analysis,
            Owner::Calibration(_) => OwnerKind::Calibration,
            Owner::Training(_) => OwnerKind::Training,
            Owner::ExternalReport(_) => OwnerKind::ExternalReport,
            Owner::ReportVersion(_) => OwnerKind::ReportVersion,
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Owner::Sample(id) => id.as_str(),
            Owner::Analysis(id) | Owner::ExternalReport(id) => id.as_str(),
            Owner::Calibration(id) => id.as_str(),
            Owner::Training(id) => id.as_str(),
            Owner::ReportVersion(id) => id.as_str(),
        }
    }

    /// Who may list and download: laboratory staff for samples, tests and reports (customs
    /// officers never see raw data, SPEC), lab-record readers for certificates, supervisors
    /// for personnel files.
    pub fn view_permission(&self) -> Permission {
        match self {
            Owner::Sample(_)
            | Owner::Analysis(_)
            | Owner::ExternalReport(_)
            | Owner::ReportVersion(_) => Permission::ViewLabResults,
            Owner::Calibration(_) => Permission::ViewLabRecords,
            Owner::Training(_) => Permission::Supervise,
        }
    }

    /// Who may attach and withdraw: those who do the work on samples and tests attach its
    /// raw data; supervisors keep calibration, personnel and report records (SPEC roles).
    pub fn upload_permission(&self) -> Permission {
        match self {
            Owner::Sample(_) | Owner::Analysis(_) => Permission::HandleSamples,
            Owner::Calibration(_)
            | Owner::Training(_)
            | Owner::ExternalReport(_)
            | Owner::ReportVersion(_) => Permission::Supervise,
        }
    }

    /// A short description of the owner record and where it is shown (404 if it does not
    /// exist).
    pub fn describe(&self, conn: &mut DbConn) -> QueryResult<(String, Parent)> {
        Ok(match self {
            Owner::Sample(id) => {
                let code: String = samples::table
                    .find(id)
                    .select(samples::lab_code)
                    .first(conn)?;
                (code, Parent::Sample(id.clone()))
            }
            Owner::Analysis(id) | Owner::ExternalReport(id) => {
                let (sample, code): (SampleId, String) = analyses::table
                    .inner_join(samples::table)
                    .filter(analyses::id.eq(id))
                    .select((samples::id, samples::lab_code))
                    .first(conn)?;
                (code, Parent::Sample(sample))
            }
            Owner::Calibration(id) => {
                let (instrument, tag, on, certificate): (
                    InstrumentId,
                    String,
                    String,
                    Option<String>,
                ) = calibration_records::table
                    .inner_join(instruments::table)
                    .filter(calibration_records::id.eq(id))
                    .select((
                        instruments::id,
                        instruments::asset_tag,
                        calibration_records::performed_on,
                        calibration_records::certificate_number,
                    ))
                    .first(conn)?;
                let mut text = format!("{tag} · {on}");
                if let Some(c) = certificate {
                    text.push_str(&format!(" · {c}"));
                }
                (text, Parent::Instrument(instrument))
            }
            Owner::Training(id) => {
                let (person, name, course): (UserId, String, String) = training_records::table
                    .inner_join(users::table.on(users::id.eq(training_records::user_id)))
                    .filter(training_records::id.eq(id))
                    .select((users::id, users::full_name, training_records::course))
                    .first(conn)?;
                (format!("{name} · {course}"), Parent::Person(person))
            }
            Owner::ReportVersion(id) => {
                let n: i32 = report_versions::table
                    .find(id)
                    .select(report_versions::version_no)
                    .first(conn)?;
                (format!("v{n}"), Parent::None)
            }
        })
    }
}

#[derive(Queryable, Selectable, Debug, Clone, Serialize)]
#[diesel(table_name = attachments, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Attachment {
    pub id: AttachmentId,
    pub owner_kind: OwnerKind,
    pub sample_id: Option<SampleId>,
    pub analysis_id: Option<AnalysisId>,
    pub calibration_record_id: Option<CalibrationId>,
    pub training_record_id: Option<TrainingRecordId>,
    pub report_version_id: Option<ReportVersionId>,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    pub description: Option<String>,
    pub uploaded_by: UserId,
    pub uploaded_at: NaiveDateTime,
}

impl Attachment {
    pub fn owner(&self) -> Option<Owner> {
        Some(match self.owner_kind {
            OwnerKind::Sample => Owner::Sample(self.sample_id.clone()?),
            OwnerKind::Analysis => Owner::Analysis(self.analysis_id.clone()?),
            OwnerKind::Calibration => Owner::Calibration(self.calibration_record_id.clone()?),
            OwnerKind::Training => Owner::Training(self.training_record_id.clone()?),
            OwnerKind::ExternalReport => Owner::ExternalReport(self.analysis_id.clone()?),
            OwnerKind::ReportVersion => Owner::ReportVersion(self.report_version_id.clone()?),
        })
    }
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone, Serialize)]
#[diesel(table_name = attachment_withdrawals, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Withdrawal {
    pub id: AttachmentWithdrawalId,
    pub attachment_id: AttachmentId,
    pub reason: String,
    pub withdrawn_by: UserId,
    pub withdrawn_at: NaiveDateTime,
}

/// An attachment as listed: who uploaded it and, if withdrawn, when, by whom and why.
#[derive(Debug, Clone)]
pub struct Listed {
    pub attachment: Attachment,
    pub uploaded_by: String,
    pub withdrawal: Option<(Withdrawal, String)>,
}

impl Listed {
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawal.is_some()
    }
}

/// The attachments of one owner, oldest first (a record holds a handful).
pub fn of_owner(conn: &mut DbConn, owner: &Owner) -> QueryResult<Vec<Listed>> {
    let query = attachments::table
        .filter(attachments::owner_kind.eq(owner.kind()))
        .into_boxed();
    let query = match owner {
        Owner::Sample(id) => query.filter(attachments::sample_id.eq(id)),
        Owner::Analysis(id) | Owner::ExternalReport(id) => {
            query.filter(attachments::analysis_id.eq(id))
        }
        Owner::Calibration(id) => query.filter(attachments::calibration_record_id.eq(id)),
        Owner::Training(id) => query.filter(attachments::training_record_id.eq(id)),
        Owner::ReportVersion(id) => query.filter(attachments::report_version_id.eq(id)),
    };
    let rows: Vec<Attachment> = query
        .order((attachments::uploaded_at.asc(), attachments::id.asc()))
        .select(Attachment::as_select())
        .load(conn)?;
    listed(conn, rows)
}

/// One attachment with its withdrawal, if any.
pub fn find(conn: &mut DbConn, id: &AttachmentId) -> QueryResult<Listed> {
    let row: Attachment = attachments::table
        .find(id)
        .select(Attachment::as_select())
        .first(conn)?;
    Ok(listed(conn, vec![row])?.remove(0))
}

fn listed(conn: &mut DbConn, rows: Vec<Attachment>) -> QueryResult<Vec<Listed>> {
    let ids: Vec<&AttachmentId> = rows.iter().map(|r| &r.id).collect();
    let withdrawals: Vec<Withdrawal> = attachment_withdrawals::table
        .filter(attachment_withdrawals::attachment_id.eq_any(ids))
        .select(Withdrawal::as_select())
        .load(conn)?;
    let mut people: Vec<&UserId> = rows.iter().map(|r| &r.uploaded_by).collect();
    people.extend(withdrawals.iter().map(|w| &w.withdrawn_by));
    let names: std::collections::HashMap<UserId, String> = users::table
        .filter(users::id.eq_any(people))
        .select((users::id, users::full_name))
        .load(conn)?
        .into_iter()
        .collect();
    let name = |id: &UserId| names.get(id).cloned().unwrap_or_default();
    Ok(rows
        .into_iter()
        .map(|attachment| {
            let withdrawal = withdrawals
                .iter()
                .find(|w| w.attachment_id == attachment.id)
                .map(|w| (w.clone(), name(&w.withdrawn_by)));
            Listed {
                uploaded_by: name(&attachment.uploaded_by),
                withdrawal,
                attachment,
            }
        })
        .collect())
}

/// An upload on local disk, hashed and within the size limit, waiting to be stored. The
/// temporary file is removed when this is dropped, whatever happens next.
pub struct Staged {
    file: tempfile::NamedTempFile,
    pub sha256: String,
    pub size: u64,
}

impl Staged {
    pub fn key(&self) -> String {
        BlobStore::key_for(&self.sha256)
    }
}

/// Why an upload was not staged.
#[derive(Debug)]
pub enum StageError<E> {
    /// More than the limit (in bytes) was sent; the reading stopped there.
    TooLarge,
    Empty,
    /// The request body failed (the client went away, a malformed part).
    Body(E),
    Io(std::io::Error),
}

/// Reads `body` into a new temporary file in `tmp_dir`, hashing as it goes, and stops at the
/// first byte beyond `max_bytes`. On any error the temporary file is already gone.
pub async fn stage<S, B, E>(
    tmp_dir: &Path,
    max_bytes: u64,
    mut body: S,
) -> Result<Staged, StageError<E>>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    std::fs::create_dir_all(tmp_dir).map_err(StageError::Io)?;
    let mut file = tempfile::Builder::new()
        .prefix("upload-")
        .tempfile_in(tmp_dir)
        .map_err(StageError::Io)?;
    let mut hash = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(StageError::Body)?;
        let bytes = chunk.as_ref();
        size += bytes.len() as u64;
        if size > max_bytes {
            return Err(StageError::TooLarge);
        }
        hash.update(bytes);
        file.write_all(bytes).map_err(StageError::Io)?;
    }
    if size == 0 {
        return Err(StageError::Empty);
    }
    file.flush().map_err(StageError::Io)?;
    Ok(Staged {
        file,
        sha256: hex::encode(hash.finalize()),
        size,
    })
}

/// Puts a staged upload in the store under its hash (once per content).
pub async fn store(blobs: &BlobStore, staged: &Staged) -> Result<(), AppError> {
    blobs
        .put_file(&staged.key(), staged.file.path())
        .await
        .map_err(AppError::internal)
}

/// What the uploader said about the file.
pub struct Upload {
    pub file_name: String,
    pub content_type: String,
    pub description: String,
}

#[derive(Insertable)]
#[diesel(table_name = attachments)]
struct NewAttachment<'a> {
    id: &'a AttachmentId,
    owner_kind: OwnerKind,
    sample_id: Option<&'a SampleId>,
    analysis_id: Option<&'a AnalysisId>,
    calibration_record_id: Option<&'a CalibrationId>,
    training_record_id: Option<&'a TrainingRecordId>,
    report_version_id: Option<&'a ReportVersionId>,
    file_name: &'a str,
    content_type: &'a str,
    size_bytes: i64,
    sha256: &'a str,
    storage_key: &'a str,
    description: Option<&'a str>,
    uploaded_by: &'a UserId,
    uploaded_at: NaiveDateTime,
}

/// The file name kept: the last path segment the browser sent, without control characters,
/// at most 255 characters (keeping the extension).
fn file_name(given: &str) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.chars().count() <= 255 {
        return clean.to_string();
    }
    let ext: String = match clean.rsplit_once('.') {
        Some((_, e)) if e.chars().count() <= 16 => format!(".{e}"),
        _ => String::new(),
    };
    let keep = 255 - ext.chars().count();
    clean.chars().take(keep).collect::<String>() + &ext
}

/// A media type as `type/subtype` in plain characters, else the generic binary type.
fn content_type(given: &str) -> String {
    let essence = given.split(';').next().unwrap_or_default().trim();
    let plain = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match essence.split_once('/') {
        Some((t, s)) if plain(t) && plain(s) => essence.to_ascii_lowercase(),
        _ => "application/octet-stream".to_string(),
    }
}

/// Writes the row of a stored upload and its audit entry, in one transaction.
pub fn record(
    conn: &mut DbConn,
    who: &Handler,
    owner: &Owner,
    staged: &Staged,
    upload: &Upload,
) -> Result<Attachment, AppError> {
    let mut errors = FieldErrors::default();
    let name = file_name(&upload.file_name);
    if name.is_empty() {
        errors.add("file", "attachments.no_name");
    }
    let description = optional_text(&mut errors, "description", &upload.description, 500);
    errors.into_result()?;
    let id = AttachmentId::new_v7();
    let key = staged.key();
    let content_type = content_type(&upload.content_type);
    let size = i64::try_from(staged.size).map_err(AppError::internal)?;
    write_tx(conn, |conn| {
        owner.describe(conn)?;
        insert(
            conn,
            who,
            NewAttachment {
                id: &id,
                owner_kind: owner.kind(),
                sample_id: match owner {
                    Owner::Sample(s) => Some(s),
                    _ => None,
                },
                analysis_id: match owner {
                    Owner::Analysis(a) | Owner::ExternalReport(a) => Some(a),
                    _ => None,
                },
                calibration_record_id: match owner {
                    Owner::Calibration(c) => Some(c),
                    _ => None,
                },
                training_record_id: match owner {
                    Owner::Training(t) => Some(t),
                    _ => None,
                },
                report_version_id: match owner {
                    Owner::ReportVersion(r) => Some(r),
                    _ => None,
                },
                file_name: &name,
                content_type: &content_type,
                size_bytes: size,
                sha256: &staged.sha256,
                storage_key: &key,
                description: description.as_deref(),
                uploaded_by: &who.user_id,
                uploaded_at: now(),
            },
        )
    })
}

/// Writes an attachment row and its audit entry; the row as stored.
fn insert(conn: &mut DbConn, who: &Handler, row: NewAttachment) -> Result<Attachment, AppError> {
    let id = row.id.clone();
    diesel::insert_into(attachments::table)
        .values(row)
        .execute(conn)?;
    let row: Attachment = attachments::table
        .find(&id)
        .select(Attachment::as_select())
        .first(conn)?;
    audited(conn, who, "upload", &id, &row)?;
    Ok(row)
}

/// The row of a file the application made and stored itself (an issued report's PDF), with
/// its audit entry, in the caller's transaction.
pub fn record_generated(
    conn: &mut DbConn,
    who: &Handler,
    owner: &Owner,
    name: &str,
    content_type: &str,
    sha256: &str,
    size: usize,
) -> Result<Attachment, AppError> {
    let id = AttachmentId::new_v7();
    let key = BlobStore::key_for(sha256);
    insert(
        conn,
        who,
        NewAttachment {
            id: &id,
            owner_kind: owner.kind(),
            sample_id: None,
            analysis_id: None,
            calibration_record_id: None,
            training_record_id: None,
            report_version_id: match owner {
                Owner::ReportVersion(r) => Some(r),
                _ => None,
            },
            file_name: name,
            content_type,
            size_bytes: i64::try_from(size).map_err(AppError::internal)?,
            sha256,
            storage_key: &key,
            description: None,
            uploaded_by: &who.user_id,
            uploaded_at: now(),
        },
    )
}

/// The audit entry of an attachment's new row (upload or withdrawal: nothing is changed).
fn audited<T: Serialize>(
    conn: &mut DbConn,
    who: &Handler,
    action: &str,
    id: &AttachmentId,
    row: &T,
) -> QueryResult<()> {
    audit::record(
        conn,
        &who.actor,
        action,
        "attachment",
        Some(id.as_str()),
        None::<&()>,
        Some(row),
    )
}

/// Withdraws a mistaken upload, once, with a reason; the file stays in the store.
pub fn withdraw(
    conn: &mut DbConn,
    who: &Handler,
    id: &AttachmentId,
    reason: &str,
) -> Result<Withdrawal, AppError> {
    let mut errors = FieldErrors::default();
    let reason = required_text(&mut errors, "reason", reason, 2000);
    errors.into_result()?;
    write_tx(conn, |conn| {
        if find(conn, id)?.is_withdrawn() {
            return Err(AppError::invalid("reason", "attachments.already_withdrawn"));
        }
        let row = Withdrawal {
            id: AttachmentWithdrawalId::new_v7(),
            attachment_id: id.clone(),
            reason,
            withdrawn_by: who.user_id.clone(),
            withdrawn_at: now(),
        };
        diesel::insert_into(attachment_withdrawals::table)
            .values(&row)
            .execute(conn)
            .map_err(|e| AppError::from(e).unique_as("reason", "attachments.already_withdrawn"))?;
        audited(conn, who, "withdraw", id, &row)?;
        Ok(row)
    })
}

/// The bytes of an attachment after checking them against the SHA-256 recorded at upload.
/// Bytes that differ are never handed out: the error says so and is logged.
pub async fn read_checked(blobs: &BlobStore, attachment: &Attachment) -> Result<Vec<u8>, AppError> {
    let bytes = blobs
        .get(&attachment.storage_key)
        .await
        .map_err(AppError::internal)?;
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != attachment.sha256 {
        return Err(AppError::Tampered(format!(
            "attachment {} ({}): stored bytes hash to {actual}, recorded {}",
            attachment.id, attachment.storage_key, attachment.sha256
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types_are_kept_plain() {
        assert_eq!(file_name("C:\\data\\run 1.cdf"), "run 1.cdf");
        assert_eq!(file_name("a\u{0}b.txt"), "ab.txt");
        let long = format!("{}.pdf", "x".repeat(300));
        let kept = file_name(&long);
        assert_eq!(kept.chars().count(), 255);
        assert!(kept.ends_with(".pdf"));
        assert_eq!(content_type("Image/PNG"), "image/png");
        assert_eq!(content_type("text/html; charset=utf-8"), "text/html");
        assert_eq!(content_type("nonsense"), "application/octet-stream");
        assert_eq!(content_type("a/b\r\nX: y"), "application/octet-stream");
    }

    #[test]
    fn owners_round_trip_through_kind_and_id() {
        let id = uuid::Uuid::now_v7().to_string();
        for kind in OwnerKind::ALL {
            let owner = Owner::parse(kind.as_str(), &id).expect("owner");
            assert_eq!(owner.kind(), *kind);
            assert_eq!(owner.id(), id);
        }
        assert!(Owner::parse("sample", "not-a-uuid").is_none());
        assert!(Owner::parse("seizure", &id).is_none());
    }
}
