//! A report's content read from the database: what it covers (`scope`) and the canonical
//! `ReportContent` (`content`), the same function for the draft's preview and for the frozen,
//! signed content.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::analysis::result::{self, Qualifier};
use crate::analysis::{self, Analysis, AnalysisStatus};
use crate::custody::{self, EventKind};
use crate::db::schema::{analyses, method_versions, methods};
use crate::db::DbConn;
use crate::error::AppError;
use crate::i18n::{self, Lang};
use crate::ids::{AnalysisId, SampleId, SeizureId};
use crate::instrument;
use crate::lab_settings::LabSettings;
use crate::method::MethodVersion;
use crate::sample::receipt::ReceiptException;
use crate::sample::{self, Sample};
use crate::seizure::{self, Seizure};
use crate::tariff;

use super::content::{
    Amendment, Conformity, ExternalSource, Findings, InstrumentLine, Item, Laboratory, MethodLine,
    ReportContent, Request, ResultLine, TariffDifference, TariffFinding, FORMAT_VERSION,
};
use super::Version;

/// `YYYY-MM-DD HH:MM ±HH:MM` in the laboratory's time zone.
pub fn stamp(tz: chrono_tz::Tz, utc: &NaiveDateTime) -> String {
    utc.and_utc()
        .with_timezone(&tz)
        .format("%Y-%m-%d %H:%M %:z")
        .to_string()
}

/// `YYYY-MM-DD` in the laboratory's time zone.
pub fn day(tz: chrono_tz::Tz, utc: &NaiveDateTime) -> String {
    utc.and_utc()
        .with_timezone(&tz)
        .format("%Y-%m-%d")
        .to_string()
}

/// What a report covers: the seizure, its samples with approved results, and those results.
pub struct Scope {
    pub seizure: Seizure,
    /// In lab-code order.
    pub samples: Vec<Sample>,
    /// Approved tests, by sample then method code.
    pub analyses: Vec<Analysis>,
}

/// The samples and approved tests of a report on `sample` (or on every sample of the
/// seizure), refused beside `field` while any test that counts (neither cancelled nor
/// rejected, a retest having replaced it) is not approved, or when nothing is approved.
pub fn scope(
    conn: &mut DbConn,
    seizure_id: &SeizureId,
    sample_id: Option<&SampleId>,
    field: &str,
) -> Result<Scope, AppError> {
    let seizure = seizure::find(conn, seizure_id)?;
    let candidates = match sample_id {
        Some(id) => vec![sample::find(conn, id)?],
        None => sample::of_seizure(conn, seizure_id)?,
    };
    let ids: Vec<&SampleId> = candidates.iter().map(|s| &s.id).collect();
    let tests: Vec<(Analysis, String)> = analyses::table
        .inner_join(methods::table)
        .filter(analyses::sample_id.eq_any(&ids))
        .filter(analyses::status.ne_all([AnalysisStatus::Cancelled, AnalysisStatus::Rejected]))
        .order((analyses::sample_id, methods::code, analyses::created_at))
        .select((Analysis::as_select(), methods::code))
        .load(conn)?;
    if tests
        .iter()
        .any(|(a, _)| a.status != AnalysisStatus::Approved)
    {
        return Err(AppError::invalid(field, "reports.refused.unapproved"));
    }
    let analyses: Vec<Analysis> = tests.into_iter().map(|(a, _)| a).collect();
    let mut samples: Vec<Sample> = candidates
        .into_iter()
        .filter(|s| analyses.iter().any(|a| a.sample_id == s.id))
        .collect();
    if samples.is_empty() {
        return Err(AppError::invalid(field, "reports.refused.no_results"));
    }
    samples.sort_by(|a, b| a.lab_code.cmp(&b.lab_code));
    Ok(Scope {
        seizure,
        samples,
        analyses,
    })
}

/// The samples and tests a version reports, read back from its report items.
pub fn scope_of_items(conn: &mut DbConn, version: &Version) -> Result<Scope, AppError> {
    use crate::db::schema::report_items;
    let ids: Vec<AnalysisId> = report_items::table
        .filter(report_items::report_version_id.eq(&version.id))
        .order(report_items::position)
        .select(report_items::analysis_id)
        .load(conn)?;
    let report = super::find_report(conn, &version.report_id)?;
    let mut analyses = Vec::with_capacity(ids.len());
    for id in &ids {
        analyses.push(analysis::find(conn, id)?);
    }
    let mut samples: Vec<Sample> = Vec::new();
    for a in &analyses {
        if !samples.iter().any(|s| s.id == a.sample_id) {
            samples.push(sample::find(conn, &a.sample_id)?);
        }
    }
    samples.sort_by(|a, b| a.lab_code.cmp(&b.lab_code));
    Ok(Scope {
        seizure: seizure::find(conn, &report.seizure_id)?,
        samples,
        analyses,
    })
}

/// What frames the content: the number and date (empty while a draft) and the amendment.
pub struct Frame {
    pub report_number: String,
    pub issue_date: String,
    pub amendment: Option<Amendment>,
}

/// The content of `version` over `scope`, under `settings`.
pub fn content(
    conn: &mut DbConn,
    tz: chrono_tz::Tz,
    settings: &LabSettings,
    version: &Version,
    scope: &Scope,
    frame: Frame,
) -> Result<ReportContent, AppError> {
    let lang = Lang::parse(&version.locale).unwrap_or(Lang::Es);
    let s = &scope.seizure;
    let request = Request {
        customs_office: s.customs_office.clone(),
        seizure_reference: s.reference.clone(),
        declaration_number: s.declaration_number.clone(),
        seized_at: stamp(tz, &s.seized_at),
        place: s.place.clone(),
        seizing_officer: s.seizing_officer.clone(),
        goods_description: s.goods_description.clone(),
        importer: s.importer.clone(),
        origin_country: s.origin_country.clone(),
        risk_channel: s.risk_channel.as_str().to_string(),
    };
    let mut items = Vec::new();
    for sample in &scope.samples {
        items.push(item(conn, tz, lang, s, sample)?);
    }
    let mut results = Vec::new();
    let mut methods_used: BTreeMap<(String, i32), MethodLine> = BTreeMap::new();
    let mut instruments_used: BTreeMap<String, InstrumentLine> = BTreeMap::new();
    let mut dates: Vec<String> = Vec::new();
    let analysts = analysis::names(
        conn,
        &scope
            .analyses
            .iter()
            .filter_map(|a| a.analyst_id.as_ref())
            .collect::<Vec<_>>(),
    )?;
    for a in &scope.analyses {
        let (code, mv): (String, MethodVersion) = method_versions::table
            .inner_join(methods::table)
            .filter(method_versions::id.eq(&a.method_version_id))
            .select((methods::code, MethodVersion::as_select()))
            .first(conn)?;
        let entry = result::entries(conn, &a.id)?
            .pop()
            .ok_or(AppError::invalid("scope", "reports.refused.no_results"))?;
        let mut tags = Vec::new();
        for (used, tag) in result::instruments_used(conn, &a.id)? {
            if !tags.contains(&tag) {
                tags.push(tag.clone());
            }
            if !instruments_used.contains_key(&tag) {
                let i = instrument::find(conn, &used.instrument_id)?;
                instruments_used.insert(
                    tag.clone(),
                    InstrumentLine {
                        asset_tag: tag,
                        name: i.name,
                        model: i.model,
                        serial_number: i.serial_number,
                        calibration_due: used.calibration_due_on,
                    },
                );
            }
        }
        methods_used
            .entry((code.clone(), mv.version_no))
            .or_insert_with(|| MethodLine {
                code: code.clone(),
                name: mv.name.clone(),
                version: mv.version_no,
                technique: mv.technique.clone(),
                accredited: mv.accredited,
            });
        let tested = a.submitted_at.unwrap_or(entry.entered_at);
        let tested_on = day(tz, &tested);
        dates.push(tested_on.clone());
        let decimals = mv.decimals.clamp(0, 6) as usize;
        let num = |v: f64| i18n::format_number(lang, v, decimals);
        let lab_code = scope
            .samples
            .iter()
            .find(|x| x.id == a.sample_id)
            .map(|x| x.lab_code.clone())
            .unwrap_or_default();
        results.push(ResultLine {
            lab_code,
            method_code: code,
            analyte: mv.analyte.clone().unwrap_or_else(|| mv.name.clone()),
            value: value(&entry, lang, decimals),
            unit: entry.unit.clone(),
            uncertainty: entry.uncertainty.map(num),
            coverage_k: entry
                .coverage_factor
                .map(|k| i18n::format_quantity(lang, k)),
            lod: entry.lod.map(num),
            loq: entry.loq.map(num),
            specification: specification(&entry, &num),
            conformity: match entry.conformity {
                Some(result::Conformity::Pass) => Some(Conformity::Conforms),
                Some(result::Conformity::Fail) => Some(Conformity::DoesNotConform),
                _ => None,
            },
            tested_on: Some(tested_on),
            analyst: a
                .analyst_id
                .as_ref()
                .and_then(|id| analysts.get(id).cloned()),
            instruments: tags,
            external: a.is_external.then(|| ExternalSource {
                laboratory: a.external_lab.clone().unwrap_or_default(),
                accreditation: a.external_accreditation.clone(),
                report_reference: a.external_report_ref.clone().unwrap_or_default(),
            }),
        });
    }
    dates.sort();
    let declared = s.declared_hs_code.as_deref().map(tariff::normalize_code);
    let found = version.found_hs_code.clone();
    let describe = |conn: &mut DbConn, code: &Option<String>| -> Result<Option<String>, AppError> {
        Ok(match code {
            Some(c) => tariff::find(conn, c)?.map(|l| {
                tariff::description_in(lang, l.description.clone(), l.description_es.clone())
            }),
            None => None,
        })
    };
    let tariff_finding = TariffFinding {
        declared_description: describe(conn, &declared)?,
        found_description: describe(conn, &found)?,
        difference: match (&declared, &found) {
            (Some(d), Some(f)) => Some(TariffDifference::between(d, f)),
            _ => None,
        },
        declared: declared.as_deref().map(tariff::display_code),
        found: found.as_deref().map(tariff::display_code),
    };
    Ok(ReportContent {
        format_version: FORMAT_VERSION,
        locale: version.locale.clone(),
        report_number: frame.report_number,
        version_no: version.version_no,
        amendment: frame.amendment,
        issue_date: frame.issue_date,
        laboratory: Laboratory {
            name: settings.name.clone(),
            address: settings.address.clone(),
            accreditation_number: settings.accreditation_number.clone(),
            accreditation_body: settings.accreditation_body.clone(),
            logo_sha256: settings.logo_sha256.clone(),
        },
        request,
        items,
        results,
        methods: methods_used.into_values().collect(),
        instruments: instruments_used.into_values().collect(),
        testing_from: dates.first().cloned(),
        testing_to: dates.last().cloned(),
        deviations: version.deviations.clone(),
        decision_rule: version.decision_rule.clone(),
        conclusion: version.conclusion.clone(),
        opinion: version.opinion.clone(),
        tariff: tariff_finding,
        findings: Findings {
            controlled: version.controlled_found,
            prohibited: version.prohibited_found,
            counterfeit: version.counterfeit_found,
            note: version.finding_note.clone(),
        },
    })
}

/// One sample as an item of the report, with its custody head as it is now.
fn item(
    conn: &mut DbConn,
    tz: chrono_tz::Tz,
    lang: Lang,
    seizure: &Seizure,
    s: &Sample,
) -> Result<Item, AppError> {
    let events = custody::for_sample(conn, &s.id)?;
    let receipt = events
        .iter()
        .find(|e| e.kind == EventKind::ReceivedAtLab.as_str());
    let exceptions = s
        .receipt_exceptions
        .as_ref()
        .map(|e| e.items())
        .unwrap_or_default();
    let seal_intact = if exceptions.iter().any(|e| {
        matches!(
            e,
            ReceiptException::SealBroken | ReceiptException::SealDiffers
        )
    }) {
        Some(false)
    } else {
        receipt.and_then(|e| e.seal_intact)
    };
    let mut condition: Vec<String> = exceptions
        .iter()
        .map(|e| i18n::t(lang, &format!("receipt_exception.{}", e.as_str())))
        .collect();
    if let Some(c) = receipt.and_then(|e| e.sample_condition.clone()) {
        condition.push(c);
    }
    let sampling = i18n::tf(
        lang,
        "reports.sampling",
        &[
            ("at", &stamp(tz, &seizure.seized_at)),
            ("place", &seizure.place),
            ("by", &seizure.seizing_officer),
        ],
    );
    Ok(Item {
        lab_code: s.lab_code.clone(),
        description: s.description.clone(),
        matrix: s.matrix.clone(),
        quantity: s.quantity.map(|q| {
            format!(
                "{} {}",
                i18n::format_quantity(lang, q),
                s.quantity_unit.as_deref().unwrap_or("")
            )
            .trim()
            .to_string()
        }),
        packages: s.package_count,
        seal_number: s.seal_number.clone(),
        seal_intact_at_receipt: seal_intact,
        condition_on_receipt: (!condition.is_empty()).then(|| condition.join("; ")),
        sampling,
        received_at: s.received_at.as_ref().map(|r| stamp(tz, r)),
        custody_seq: s.custody_head_seq.unwrap_or(0),
        custody_hash: s.custody_head_hash.clone().unwrap_or_default(),
    })
}

/// The value as printed: a number with the method's decimals, a qualifier, or a finding.
fn value(e: &result::ResultEntry, lang: Lang, decimals: usize) -> String {
    let num = |v: f64| i18n::format_number(lang, v, decimals);
    match (e.qualifier, e.numeric_value) {
        (_, None) if e.finding.is_some() => e.finding.clone().unwrap_or_default(),
        (Qualifier::BelowLod, _) => "< LOD".to_string(),
        (Qualifier::BelowLoq, _) => "< LOQ".to_string(),
        (Qualifier::NotDetected, _) => "ND".to_string(),
        (Qualifier::Lt, Some(v)) => format!("< {}", num(v)),
        (Qualifier::Gt, Some(v)) => format!("> {}", num(v)),
        (_, Some(v)) => num(v),
        (_, None) => e.raw_value.clone().unwrap_or_default(),
    }
}

/// The specification limits as printed, e.g. `≥ 98,0` or `10,0 – 12,0`.
fn specification(e: &result::ResultEntry, num: &dyn Fn(f64) -> String) -> Option<String> {
    let low = |v: f64| {
        format!(
            "{} {}",
            if e.spec_min_inclusive { "≥" } else { ">" },
            num(v)
        )
    };
    let high = |v: f64| {
        format!(
            "{} {}",
            if e.spec_max_inclusive { "≤" } else { "<" },
            num(v)
        )
    };
    match (e.spec_min, e.spec_max) {
        (Some(a), Some(b)) => Some(format!("{}; {}", low(a), high(b))),
        (Some(a), None) => Some(low(a)),
        (None, Some(b)) => Some(high(b)),
        (None, None) => e.expected_value.clone(),
    }
}
