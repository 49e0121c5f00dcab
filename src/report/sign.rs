//! Signing is issuing (21 CFR 11.50, 11.200): the supervisor proves again who they are with
//! their password (counted like a sign-in) and says what the signature means. The first
//! signature freezes the version: number, custody anchors, canonical content and its hash.
//! The last required signature issues it: the PDF is rendered once, stored, and its SHA-256
//! kept, so a reprint is the same bytes; the samples become `reported`.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::attachment::{self, Owner};
use crate::audit::{self, Handler};
use crate::blob::{self, BlobStore};
use crate::counter;
use crate::custody::key::Keyring;
use crate::db::schema::{report_anchors, report_signatures};
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{ReportSignatureId, ReportVersionId};
use crate::lab_settings;
use crate::sample::state::{self as sample_state, Change, Transition};
use crate::sample::SampleStatus;
use crate::user::presence::{self, Checked};
use crate::user::{self, throttle};

use super::build::{self, Frame};
use super::content::ReportContent;
use super::pdf::{self, Document, Logo};
use super::signature::Signed;
use super::state::{self, Event, Stamp};
use super::{find_version, meaning_text, signatures_of, SignatureMeaning, Version, VersionStatus};

/// Where an issued report's PDF goes, and what the signature hash is keyed with.
pub struct Issuing<'a> {
    pub keys: &'a Keyring,
    pub files: &'a blob::Blocking,
    /// `LIMS_PUBLIC_URL`, for the verification link printed on the report.
    pub public_url: &'a str,
    pub tz: chrono_tz::Tz,
}

/// The sign form.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SignInput {
    pub password: String,
    pub meaning: String,
}

/// The first step: records the attempt as failed before the password is checked (so that
/// simultaneous guesses all count), or says why nothing is to be checked.
pub fn begin(
    conn: &mut DbConn,
    who: &Handler,
    input: &SignInput,
) -> Result<presence::Pending, AppError> {
    if input.password.is_empty() {
        return Err(AppError::invalid("password", "validation.required"));
    }
    match presence::begin_self(conn, who, &input.password)? {
        Some(pending) => Ok(pending),
        None => Err(AppError::invalid("password", "reports.refused.locked")),
    }
}

#[derive(Insertable)]
#[diesel(table_name = report_signatures)]
struct NewSignature<'a> {
    id: &'a ReportSignatureId,
    report_version_id: &'a ReportVersionId,
    signer_id: &'a crate::ids::UserId,
    signer_name: &'a str,
    signer_username: &'a str,
    signer_role: &'a str,
    meaning_code: SignatureMeaning,
    meaning_text: &'a str,
    auth_method: &'a str,
    signed_at: chrono::NaiveDateTime,
    content_sha256: &'a str,
    key_id: &'a str,
    signature_hash: &'a str,
}

/// Signs version `id` as the checked user, with `meaning`. A wrong password is refused (and
/// left counted); a signer may sign a version once; two signatures mean different things.
pub fn sign(
    conn: &mut DbConn,
    who: &Handler,
    issuing: &Issuing,
    id: &ReportVersionId,
    meaning: &str,
    checked: &Checked,
) -> Result<Version, AppError> {
    let meaning = SignatureMeaning::parse(meaning)
        .ok_or_else(|| AppError::invalid("meaning", "validation.choose_one"))?;
    if !presence::finish(conn, who, checked, "report_sign_password_failed")? {
        let locked = throttle::locked_until(conn, &checked.username)?.is_some();
        return Err(AppError::invalid(
            "password",
            if locked {
                "reports.refused.locked"
            } else {
                "reports.refused.password_wrong"
            },
        ));
    }
    write_tx(conn, |conn| {
        let before = find_version(conn, id)?;
        state::next(before.status, Event::Issue)?;
        let earlier = signatures_of(conn, id)?;
        if earlier.iter().any(|s| s.signer_id == who.user_id) {
            return Err(AppError::invalid("password", "reports.refused.same_signer"));
        }
        if earlier.iter().any(|s| s.meaning_code == meaning) {
            return Err(AppError::invalid("meaning", "reports.refused.same_meaning"));
        }
        let settings = lab_settings::find(conn, &before.lab_settings_id)?;
        let needed = if settings.require_second_signature {
            2
        } else {
            1
        };
        let scope = build::scope_of_items(conn, &before)?;
        let (content, version) = if before.status == VersionStatus::Draft {
            let content = freeze(conn, issuing.tz, &settings, &before, &scope)?;
            (content, None)
        } else {
            (before.parsed()?, Some(before.clone()))
        };
        let sha = content.sha256();
        let number = content.report_number.clone();
        let signer = user::find(conn, &who.user_id)?;
        let signature_id = ReportSignatureId::new_v7();
        let at = now();
        let text = meaning_text(&before.locale, meaning);
        let role = signer.role.as_str();
        let signed = Signed {
            signature_id: signature_id.as_str(),
            report_version_id: id.as_str(),
            report_number: &number,
            signer_id: signer.id.as_str(),
            signer_name: &signer.full_name,
            signer_username: &signer.username,
            signer_role: role,
            meaning_code: meaning.as_str(),
            meaning_text: &text,
            auth_method: "password",
            signed_at: at,
            content_sha256: &sha,
        };
        let key = issuing.keys.active();
        let hash = signed.hash(key);
        diesel::insert_into(report_signatures::table)
            .values(NewSignature {
                id: &signature_id,
                report_version_id: id,
                signer_id: &signer.id,
                signer_name: &signer.full_name,
                signer_username: &signer.username,
                signer_role: role,
                meaning_code: meaning,
                meaning_text: &text,
                auth_method: "password",
                signed_at: at,
                content_sha256: &sha,
                key_id: key.id(),
                signature_hash: &hash,
            })
            .execute(conn)
            .map_err(|e| AppError::from(e).unique_as("password", "reports.refused.same_signer"))?;
        let signatures = signatures_of(conn, id)?;
        audit::record(
            conn,
            &who.actor,
            "sign",
            "report_signature",
            Some(signature_id.as_str()),
            None::<&()>,
            signatures.iter().find(|s| s.id == signature_id),
        )?;
        let json = content.canonical_json();
        let frozen = version
            .is_none()
            .then_some((number.as_str(), json.as_str(), sha.as_str()));
        if signatures.len() < needed {
            return state::apply(
                conn,
                &who.actor,
                &before,
                Event::Freeze,
                Stamp {
                    frozen,
                    ..Default::default()
                },
            );
        }
        let pdf_sha = store_pdf(conn, who, issuing, &settings, &content, &signatures, id)?;
        let issued = state::apply(
            conn,
            &who.actor,
            &before,
            Event::Issue,
            Stamp {
                frozen,
                issued: Some((&who.user_id, &pdf_sha)),
                ..Default::default()
            },
        )?;
        for s in &scope.samples {
            let sample = sample_state::lock_for_update(conn, &s.id)?;
            // An amendment finds its samples reported already; they stay so.
            if sample.status == SampleStatus::AwaitingReport {
                sample_state::apply(
                    conn,
                    &who.actor,
                    &sample,
                    Change {
                        transition: Some(Transition::Report),
                        at: Some(at),
                        ..Default::default()
                    },
                )?;
            }
        }
        Ok(issued)
    })
}

/// The content signed: the number allocated now (never reused), today's date, and each
/// sample's custody head, also kept as the version's anchors.
fn freeze(
    conn: &mut DbConn,
    tz: chrono_tz::Tz,
    settings: &lab_settings::LabSettings,
    v: &Version,
    scope: &build::Scope,
) -> Result<ReportContent, AppError> {
    let mut scope_now = build::Scope {
        seizure: scope.seizure.clone(),
        samples: Vec::with_capacity(scope.samples.len()),
        analyses: scope.analyses.clone(),
    };
    for s in &scope.samples {
        let sample = sample_state::lock_for_update(conn, &s.id)?;
        if !matches!(
            sample.status,
            SampleStatus::AwaitingReport | SampleStatus::Reported
        ) {
            return Err(AppError::invalid(
                "password",
                "reports.refused.sample_status",
            ));
        }
        diesel::insert_into(report_anchors::table)
            .values((
                report_anchors::report_version_id.eq(&v.id),
                report_anchors::sample_id.eq(&sample.id),
                report_anchors::custody_seq.eq(sample.custody_head_seq.unwrap_or(0)),
                report_anchors::custody_hash
                    .eq(sample.custody_head_hash.clone().unwrap_or_default()),
            ))
            .execute(conn)?;
        scope_now.samples.push(sample);
    }
    let today = now();
    let year = build::day(tz, &today)[..4].to_string();
    let n = counter::next(conn, &format!("report:{year}"))?;
    let amendment = super::draft::amendment_of(conn, v)?;
    build::content(
        conn,
        tz,
        settings,
        v,
        &scope_now,
        Frame {
            report_number: format!("RPT-{year}-{n:06}"),
            issue_date: build::day(tz, &today),
            amendment,
        },
    )
}

/// Renders the issued PDF, puts it in the file store (before the transaction commits, so a
/// recorded PDF is always there) and records it as the version's attachment; its SHA-256.
fn store_pdf(
    conn: &mut DbConn,
    who: &Handler,
    issuing: &Issuing,
    settings: &lab_settings::LabSettings,
    content: &ReportContent,
    signatures: &[super::SignatureRow],
    id: &ReportVersionId,
) -> Result<String, AppError> {
    let logo_bytes = match &settings.logo_storage_key {
        Some(key) => Some(issuing.files.get(key).map_err(AppError::internal)?),
        None => None,
    };
    let lines: Vec<_> = signatures.iter().map(|s| s.line(issuing.tz)).collect();
    let url = super::verify_url(
        issuing.public_url,
        &content.report_number,
        &content.sha256(),
    );
    let bytes = pdf::render(&Document {
        content,
        signatures: &lines,
        verify_url: &url,
        logo: match (&logo_bytes, &settings.logo_content_type) {
            (Some(bytes), Some(t)) => Some(Logo {
                bytes,
                content_type: t,
            }),
            _ => None,
        },
    })
    .map_err(AppError::internal)?;
    let sha = hex::encode(Sha256::digest(&bytes));
    let size = bytes.len();
    issuing
        .files
        .put(&BlobStore::key_for(&sha), bytes)
        .map_err(AppError::internal)?;
    attachment::record_generated(
        conn,
        who,
        &Owner::ReportVersion(id.clone()),
        &format!("{}.pdf", content.report_number),
        "application/pdf",
        &sha,
        size,
    )?;
    Ok(sha)
}
