//! Drafting a report (a supervisor, once every test that counts is approved), editing what
//! the supervisor writes on it, discarding it, and amending an issued version (ISO/IEC 17025
//! 7.8.8) with a new version of the same report.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Handler};
use crate::db::schema::{report_items, report_versions, reports};
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{ReportId, ReportVersionId, SampleId, SeizureId};
use crate::lab_settings::{self, LabSettings};
use crate::tariff::{self, TariffCheck};
use crate::validation::{optional_text, required_text, FieldErrors};

use super::build::{self, Frame, Scope};
use super::content::{Amendment, TariffDifference};
use super::state::{self, Event, Stamp};
use super::{find_version, Version, VersionStatus};

/// What a report covers.
#[derive(Clone, Debug)]
pub enum Target {
    Sample(SampleId),
    Seizure(SeizureId),
}

#[derive(Insertable)]
#[diesel(table_name = reports)]
struct NewReport<'a> {
    id: &'a ReportId,
    seizure_id: &'a SeizureId,
    sample_id: Option<&'a SampleId>,
    created_by: &'a crate::ids::UserId,
    created_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = report_versions)]
struct NewVersion<'a> {
    id: &'a ReportVersionId,
    report_id: &'a ReportId,
    version_no: i32,
    format_version: i32,
    locale: &'a str,
    status: VersionStatus,
    lab_settings_id: &'a crate::ids::LabSettingsId,
    content: &'a str,
    conclusion: Option<&'a str>,
    opinion: Option<&'a str>,
    deviations: Option<&'a str>,
    decision_rule: Option<&'a str>,
    found_hs_code: Option<&'a str>,
    declared_hs_code: Option<&'a str>,
    tariff_difference: Option<&'a str>,
    controlled_found: bool,
    prohibited_found: bool,
    counterfeit_found: bool,
    finding_note: Option<&'a str>,
    amendment_reason: Option<&'a str>,
    supersedes_id: Option<&'a ReportVersionId>,
    drafted_by: &'a crate::ids::UserId,
    drafted_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = report_items)]
struct NewItem<'a> {
    report_version_id: &'a ReportVersionId,
    analysis_id: &'a crate::ids::AnalysisId,
    sample_id: &'a SampleId,
    position: i32,
}

/// The settings in force, or the message that an administrator must fill them in first.
fn settings_or_refuse(conn: &mut DbConn, field: &str) -> Result<LabSettings, AppError> {
    lab_settings::current(conn)?
        .ok_or_else(|| AppError::invalid(field, "reports.refused.no_settings"))
}

/// A draft of the content of `v` (no number nor date yet).
fn preview(
    conn: &mut DbConn,
    tz: chrono_tz::Tz,
    settings: &LabSettings,
    v: &Version,
    scope: &Scope,
) -> Result<String, AppError> {
    let amendment = amendment_of(conn, v)?;
    Ok(build::content(
        conn,
        tz,
        settings,
        v,
        scope,
        Frame {
            report_number: String::new(),
            issue_date: String::new(),
            amendment,
        },
    )?
    .canonical_json())
}

/// "Amendment n to report RPT-…" of version n + 1, with its reason.
pub(super) fn amendment_of(conn: &mut DbConn, v: &Version) -> Result<Option<Amendment>, AppError> {
    let Some(old) = &v.supersedes_id else {
        return Ok(None);
    };
    let old = find_version(conn, old)?;
    Ok(Some(Amendment {
        number: v.version_no - 1,
        supersedes: old.report_number.unwrap_or_default(),
        reason: v.amendment_reason.clone().unwrap_or_default(),
    }))
}

/// Writes a new version (draft) with the tests of `scope` as its items, and its audit entry.
#[allow(clippy::too_many_arguments)]
fn insert_version(
    conn: &mut DbConn,
    who: &Handler,
    tz: chrono_tz::Tz,
    settings: &LabSettings,
    report_id: &ReportId,
    version_no: i32,
    from: Option<&Version>,
    reason: Option<&str>,
    scope: &Scope,
) -> Result<Version, AppError> {
    let id = ReportVersionId::new_v7();
    let at = now();
    let declared = scope
        .seizure
        .declared_hs_code
        .as_deref()
        .map(tariff::normalize_code);
    let found = from.and_then(|f| f.found_hs_code.clone());
    let difference = match (&declared, &found) {
        (Some(d), Some(f)) => Some(TariffDifference::between(d, f).as_str()),
        _ => None,
    };
    diesel::insert_into(report_versions::table)
        .values(NewVersion {
            id: &id,
            report_id,
            version_no,
            format_version: super::content::FORMAT_VERSION,
            locale: &settings.report_locale,
            status: VersionStatus::Draft,
            lab_settings_id: &settings.id,
            content: "{}",
            conclusion: from.and_then(|f| f.conclusion.as_deref()),
            opinion: from.and_then(|f| f.opinion.as_deref()),
            deviations: from.and_then(|f| f.deviations.as_deref()),
            decision_rule: from.and_then(|f| f.decision_rule.as_deref()),
            found_hs_code: found.as_deref(),
            declared_hs_code: declared.as_deref(),
            tariff_difference: difference,
            controlled_found: from.is_some_and(|f| f.controlled_found),
            prohibited_found: from.is_some_and(|f| f.prohibited_found),
            counterfeit_found: from.is_some_and(|f| f.counterfeit_found),
            finding_note: from.and_then(|f| f.finding_note.as_deref()),
            amendment_reason: reason,
            supersedes_id: from.map(|f| &f.id),
            drafted_by: &who.user_id,
            drafted_at: at,
            updated_at: at,
        })
        .execute(conn)
        .map_err(|e| AppError::from(e).unique_as("reason", "reports.refused.open_or_amended"))?;
    for (i, a) in scope.analyses.iter().enumerate() {
        diesel::insert_into(report_items::table)
            .values(NewItem {
                report_version_id: &id,
                analysis_id: &a.id,
                sample_id: &a.sample_id,
                position: i as i32 + 1,
            })
            .execute(conn)?;
    }
    let draft = find_version(conn, &id)?;
    let content = preview(conn, tz, settings, &draft, scope)?;
    set_content(conn, &id, &content)?;
    let after = find_version(conn, &id)?;
    audit::record(
        conn,
        &who.actor,
        "create",
        "report_version",
        Some(id.as_str()),
        None::<&()>,
        Some(&after),
    )?;
    Ok(after)
}

/// Replaces a draft's content preview (frozen content is the state owner's to write).
fn set_content(conn: &mut DbConn, id: &ReportVersionId, content: &str) -> QueryResult<usize> {
    diesel::update(
        report_versions::table
            .filter(report_versions::id.eq(id))
            .filter(report_versions::status.eq(VersionStatus::Draft)),
    )
    .set((
        report_versions::content.eq(content),
        report_versions::updated_at.eq(now()),
    ))
    .execute(conn)
}

/// Drafts the first version of a new report on `target`. Refused (beside `report`) without
/// laboratory settings, while a test is not approved, and when the target already has a
/// report (it is amended instead).
pub fn create(
    conn: &mut DbConn,
    who: &Handler,
    tz: chrono_tz::Tz,
    target: &Target,
) -> Result<Version, AppError> {
    write_tx(conn, |conn| {
        let (seizure_id, sample_id) = match target {
            Target::Sample(id) => (crate::sample::find(conn, id)?.seizure_id, Some(id)),
            Target::Seizure(id) => (id.clone(), None),
        };
        let scope = build::scope(conn, &seizure_id, sample_id, "report")?;
        let settings = settings_or_refuse(conn, "report")?;
        let mut same = reports::table
            .filter(reports::seizure_id.eq(&seizure_id))
            .filter(diesel::dsl::exists(
                report_versions::table
                    .filter(report_versions::report_id.eq(reports::id))
                    .filter(report_versions::status.ne(VersionStatus::Discarded)),
            ))
            .into_boxed();
        same = match sample_id {
            Some(id) => same.filter(reports::sample_id.eq(id.as_str())),
            None => same.filter(reports::sample_id.is_null()),
        };
        let existing: i64 = same.count().get_result(conn)?;
        if existing > 0 {
            return Err(AppError::invalid("report", "reports.refused.exists"));
        }
        let id = ReportId::new_v7();
        diesel::insert_into(reports::table)
            .values(NewReport {
                id: &id,
                seizure_id: &seizure_id,
                sample_id,
                created_by: &who.user_id,
                created_at: now(),
            })
            .execute(conn)?;
        insert_version(conn, who, tz, &settings, &id, 1, None, None, &scope)
    })
}

/// What the supervisor writes on a draft.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DraftInput {
    pub conclusion: String,
    pub opinion: String,
    pub deviations: String,
    pub decision_rule: String,
    pub found_hs_code: String,
    pub controlled_found: Option<String>,
    pub prohibited_found: Option<String>,
    pub counterfeit_found: Option<String>,
    pub finding_note: String,
}

impl DraftInput {
    pub fn of(v: &Version) -> DraftInput {
        DraftInput {
            conclusion: v.conclusion.clone().unwrap_or_default(),
            opinion: v.opinion.clone().unwrap_or_default(),
            deviations: v.deviations.clone().unwrap_or_default(),
            decision_rule: v.decision_rule.clone().unwrap_or_default(),
            found_hs_code: v
                .found_hs_code
                .as_deref()
                .map(tariff::display_code)
                .unwrap_or_default(),
            controlled_found: v.controlled_found.then(|| "on".into()),
            prohibited_found: v.prohibited_found.then(|| "on".into()),
            counterfeit_found: v.counterfeit_found.then(|| "on".into()),
            finding_note: v.finding_note.clone().unwrap_or_default(),
        }
    }
}

/// Refused unless `v` is a draft.
fn require_draft(v: &Version) -> Result<(), AppError> {
    if v.status == VersionStatus::Draft {
        Ok(())
    } else {
        Err(AppError::invalid("status", "reports.refused.not_draft"))
    }
}

/// Saves what the supervisor wrote on a draft; the found tariff code must be a line of the
/// imported nomenclature.
pub fn edit(
    conn: &mut DbConn,
    who: &Handler,
    tz: chrono_tz::Tz,
    id: &ReportVersionId,
    input: &DraftInput,
) -> Result<Version, AppError> {
    let mut errors = FieldErrors::default();
    let conclusion = optional_text(&mut errors, "conclusion", &input.conclusion, 4000);
    let opinion = optional_text(&mut errors, "opinion", &input.opinion, 4000);
    let deviations = optional_text(&mut errors, "deviations", &input.deviations, 4000);
    let rule = optional_text(&mut errors, "decision_rule", &input.decision_rule, 2000);
    let note = optional_text(&mut errors, "finding_note", &input.finding_note, 2000);
    let found = match tariff::check_code(conn, &input.found_hs_code)? {
        TariffCheck::Empty => None,
        TariffCheck::Known { .. } => Some(tariff::normalize_code(&input.found_hs_code)),
        other => {
            errors.add("found_hs_code", other.message_key());
            None
        }
    };
    errors.into_result()?;
    write_tx(conn, |conn| {
        let before = find_version(conn, id)?;
        require_draft(&before)?;
        let difference = match (&before.declared_hs_code, &found) {
            (Some(d), Some(f)) => Some(TariffDifference::between(d, f).as_str()),
            _ => None,
        };
        diesel::update(report_versions::table.find(id))
            .set((
                report_versions::conclusion.eq(&conclusion),
                report_versions::opinion.eq(&opinion),
                report_versions::deviations.eq(&deviations),
                report_versions::decision_rule.eq(&rule),
                report_versions::found_hs_code.eq(&found),
                report_versions::tariff_difference.eq(difference),
                report_versions::controlled_found.eq(input.controlled_found.is_some()),
                report_versions::prohibited_found.eq(input.prohibited_found.is_some()),
                report_versions::counterfeit_found.eq(input.counterfeit_found.is_some()),
                report_versions::finding_note.eq(&note),
            ))
            .execute(conn)?;
        let edited = find_version(conn, id)?;
        let settings = lab_settings::find(conn, &edited.lab_settings_id)?;
        let scope = build::scope_of_items(conn, &edited)?;
        let content = preview(conn, tz, &settings, &edited, &scope)?;
        set_content(conn, id, &content)?;
        let after = find_version(conn, id)?;
        audit::record(
            conn,
            &who.actor,
            "update",
            "report_version",
            Some(id.as_str()),
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Discards a draft (or a version waiting for its second signature), with a reason.
pub fn discard(
    conn: &mut DbConn,
    who: &Handler,
    id: &ReportVersionId,
    reason: &str,
) -> Result<Version, AppError> {
    let mut errors = FieldErrors::default();
    let reason = required_text(&mut errors, "reason", reason, 1000);
    errors.into_result()?;
    write_tx(conn, |conn| {
        let before = find_version(conn, id)?;
        state::apply(
            conn,
            &who.actor,
            &before,
            Event::Discard,
            Stamp {
                discarded_reason: Some(&reason),
                ..Default::default()
            },
        )
    })
}

/// Drafts version n + 1 of an issued version's report, with the reason for the amendment.
/// Only the latest issued version may be amended (no branching), and only while the report
/// has no open version.
pub fn amend(
    conn: &mut DbConn,
    who: &Handler,
    tz: chrono_tz::Tz,
    id: &ReportVersionId,
    reason: &str,
) -> Result<Version, AppError> {
    let mut errors = FieldErrors::default();
    let reason = required_text(&mut errors, "reason", reason, 1000);
    errors.into_result()?;
    write_tx(conn, |conn| {
        let old = find_version(conn, id)?;
        if old.status != VersionStatus::Issued {
            return Err(AppError::invalid("reason", "reports.refused.not_issued"));
        }
        let versions = super::versions_of(conn, &old.report_id)?;
        if versions.iter().any(|v| {
            v.supersedes_id.as_ref() == Some(&old.id) && v.status != VersionStatus::Discarded
        }) {
            return Err(AppError::invalid(
                "reason",
                "reports.refused.already_amended",
            ));
        }
        if versions.iter().any(|v| {
            matches!(
                v.status,
                VersionStatus::Draft | VersionStatus::PendingSignature
            )
        }) {
            return Err(AppError::invalid("reason", "reports.refused.open_draft"));
        }
        let settings = settings_or_refuse(conn, "reason")?;
        let report = super::find_report(conn, &old.report_id)?;
        let scope = build::scope(
            conn,
            &report.seizure_id,
            report.sample_id.as_ref(),
            "reason",
        )?;
        let next_no = versions.iter().map(|v| v.version_no).max().unwrap_or(0) + 1;
        insert_version(
            conn,
            who,
            tz,
            &settings,
            &report.id,
            next_no,
            Some(&old),
            Some(&reason),
            &scope,
        )
    })
}
