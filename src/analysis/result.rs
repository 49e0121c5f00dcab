//! Result entry (ISO/IEC 17025 7.5, 7.6, 7.8.6): one form per sample covers the analyst's open
//! tests on it. Each save appends a result entry (a change after the first needs a reason and
//! supersedes the previous entry), the original observations, and the instruments used with
//! the calibration in force at that moment. Conformity follows from the method version's
//! decision rule (`conformity`, a pure function).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Handler};
use crate::db::schema::{analysis_instruments, analysis_observations, analysis_results};
use crate::db::{now, text_enum, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{
    AnalysisId, CalibrationId, InstrumentId, InstrumentUseId, ObservationId, ResultEntryId,
    SampleId, UserId,
};
use crate::instrument::{self, CalibrationResult, DueState, Instrument, InstrumentStatus};
use crate::method::{self, DecisionRule, MethodVersion, ResultKind, UncertaintyMode};
use crate::sample::state::{self as sample_state, Change, Transition};
use crate::sample::SampleStatus;
use crate::validation::{optional_text, parse_decimal, FieldErrors};

use super::state::Event;
use super::{apply, iso, lock, Analysis};

text_enum!(
    /// How the value reads: equal to, below or above it, or below the method's limits.
    Qualifier {
        Eq => "eq",
        Lt => "lt",
        Gt => "gt",
        BelowLod => "below_lod",
        BelowLoq => "below_loq",
        NotDetected => "not_detected",
    }
);

text_enum!(
    Conformity {
        Pass => "pass",
        Fail => "fail",
        Inconclusive => "inconclusive",
    }
);

text_enum!(
    ObservationKind {
        Weighing => "weighing",
        Volume => "volume",
        Replicate => "replicate",
        DilutionFactor => "dilution_factor",
        Reading => "reading",
        Other => "other",
    }
);

text_enum!(
    /// The calibration state of an instrument when it was used (only usable states are kept).
    UseCalibration {
        Valid => "valid",
        NotRequired => "not_required",
    }
);

/// The limits a value is judged against; an end is inclusive when the limit itself conforms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec {
    pub min: Option<f64>,
    pub min_inclusive: bool,
    pub max: Option<f64>,
    pub max_inclusive: bool,
}

/// What a reading says about the true value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    Exact(f64),
    /// Below a bound (`<`, `<LOD`, `<LOQ`, not detected).
    AtMost(f64),
    AtLeast(f64),
}

/// The conformity of a reading with a specification (ILAC-G8). Simple acceptance judges the
/// value itself; a guard band of width `band` judges the value ± band: conforming only when
/// all of it is within the limits, not conforming when all of it is outside, otherwise
/// inconclusive. A bound (`<`, `>`) stands for everything on its side. `None` without limits.
pub fn conformity(
    spec: &Spec,
    rule: DecisionRule,
    band: f64,
    reading: Reading,
) -> Option<Conformity> {
    if spec.min.is_none() && spec.max.is_none() {
        return None;
    }
    let w = match rule {
        DecisionRule::SimpleAcceptance => 0.0,
        DecisionRule::GuardBand => band.abs(),
    };
    let (lo, hi) = match reading {
        Reading::Exact(v) => (v - w, v + w),
        Reading::AtMost(b) => (f64::NEG_INFINITY, b + w),
        Reading::AtLeast(b) => (b - w, f64::INFINITY),
    };
    let above_min = |x: f64| {
        spec.min
            .is_none_or(|m| x > m || (x == m && spec.min_inclusive))
    };
    let below_max = |x: f64| {
        spec.max
            .is_none_or(|m| x < m || (x == m && spec.max_inclusive))
    };
    Some(if above_min(lo) && below_max(hi) {
        Conformity::Pass
    } else if !above_min(hi) || !below_max(lo) {
        Conformity::Fail
    } else {
        Conformity::Inconclusive
    })
}

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = analysis_results, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ResultEntry {
    pub id: ResultEntryId,
    pub analysis_id: AnalysisId,
    pub seq: i32,
    pub supersedes_id: Option<ResultEntryId>,
    pub raw_value: Option<String>,
    pub numeric_value: Option<f64>,
    pub qualifier: Qualifier,
    pub finding: Option<String>,
    pub unit: Option<String>,
    pub lod: Option<f64>,
    pub loq: Option<f64>,
    pub uncertainty: Option<f64>,
    pub coverage_factor: Option<f64>,
    pub spec_min: Option<f64>,
    pub spec_min_inclusive: bool,
    pub spec_max: Option<f64>,
    pub spec_max_inclusive: bool,
    pub expected_value: Option<String>,
    pub decision_rule: Option<DecisionRule>,
    pub guard_band: Option<f64>,
    pub conformity: Option<Conformity>,
    pub deviations: Option<String>,
    pub remarks: Option<String>,
    pub change_reason: Option<String>,
    pub entered_by: UserId,
    pub entered_at: NaiveDateTime,
}

impl ResultEntry {
    /// The result as a reader expects it, e.g. `12,50 ± 0,20 % (k = 2)` or `<LOD (0,01 mg/kg)`.
    pub fn display(&self, lang: crate::i18n::Lang, decimals: i32) -> String {
        use crate::i18n::{format_number, format_quantity};
        let unit = self.unit.as_deref().unwrap_or("");
        let num = |v: f64| format_number(lang, v, decimals.clamp(0, 6) as usize);
        let text = match (self.qualifier, self.numeric_value) {
            (_, None) if self.finding.is_some() => self.finding.clone().unwrap_or_default(),
            (Qualifier::BelowLod, _) => format!("<LOD ({} {unit})", num(self.lod.unwrap_or(0.0))),
            (Qualifier::BelowLoq, _) => format!("<LOQ ({} {unit})", num(self.loq.unwrap_or(0.0))),
            (Qualifier::NotDetected, _) => "ND".to_string(),
            (q, Some(v)) => {
                let sign = match q {
                    Qualifier::Lt => "< ",
                    Qualifier::Gt => "> ",
                    _ => "",
                };
                let u = match (self.uncertainty, self.coverage_factor) {
                    (Some(u), Some(k)) => {
                        format!(" ± {} (k = {})", num(u), format_quantity(lang, k))
                    }
                    _ => String::new(),
                };
                format!("{sign}{} {unit}{u}", num(v))
            }
            (_, None) => self.raw_value.clone().unwrap_or_default(),
        };
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = analysis_observations, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Observation {
    pub id: ObservationId,
    pub analysis_id: AnalysisId,
    pub seq: i32,
    pub kind: ObservationKind,
    pub label: String,
    pub raw_value: String,
    pub value: f64,
    pub unit: Option<String>,
    pub instrument_id: Option<InstrumentId>,
    pub observed_at: NaiveDateTime,
    pub supersedes_id: Option<ObservationId>,
    pub change_reason: Option<String>,
    pub entered_by: UserId,
    pub entered_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = analysis_instruments, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct InstrumentUse {
    pub id: InstrumentUseId,
    pub analysis_id: AnalysisId,
    pub result_id: Option<ResultEntryId>,
    pub instrument_id: InstrumentId,
    pub used_on: String,
    pub instrument_status: InstrumentStatus,
    pub calibration_record_id: Option<CalibrationId>,
    pub calibration_due_on: Option<String>,
    pub calibration_status: UseCalibration,
    pub recorded_by: UserId,
    pub recorded_at: NaiveDateTime,
}

/// Every result entry of an analysis, oldest first (the last one is current).
pub fn entries(conn: &mut DbConn, id: &AnalysisId) -> QueryResult<Vec<ResultEntry>> {
    analysis_results::table
        .filter(analysis_results::analysis_id.eq(id))
        .order(analysis_results::seq.asc())
        .select(ResultEntry::as_select())
        .load(conn)
}

pub fn observations(conn: &mut DbConn, id: &AnalysisId) -> QueryResult<Vec<Observation>> {
    analysis_observations::table
        .filter(analysis_observations::analysis_id.eq(id))
        .order(analysis_observations::seq.asc())
        .select(Observation::as_select())
        .load(conn)
}

/// The instruments used, with their asset tag, oldest first.
pub fn instruments_used(
    conn: &mut DbConn,
    id: &AnalysisId,
) -> QueryResult<Vec<(InstrumentUse, String)>> {
    use crate::db::schema::instruments;
    analysis_instruments::table
        .inner_join(instruments::table.on(instruments::id.eq(analysis_instruments::instrument_id)))
        .filter(analysis_instruments::analysis_id.eq(id))
        .order(analysis_instruments::recorded_at.asc())
        .select((InstrumentUse::as_select(), instruments::asset_tag))
        .load(conn)
}

/// Why an instrument may not be used today, with what the analyst needs to see: its tag, the
/// reason it is out of service, or its calibration due date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub key: &'static str,
    pub tag: String,
    pub detail: String,
}

/// An instrument that may be used, with what its use records: the calibration state and the
/// calibration record in force.
pub struct AtUse {
    pub instrument: Instrument,
    pub calibration: UseCalibration,
    pub record: Option<CalibrationId>,
}

/// The instrument's state as recorded with a result, or why it may not be used on `today`.
pub fn instrument_at_use(
    conn: &mut DbConn,
    id: &InstrumentId,
    today: NaiveDate,
) -> Result<Result<AtUse, Refusal>, AppError> {
    let Some(inst) = instrument::find(conn, id).optional()? else {
        return Err(AppError::NotFound);
    };
    let refuse = |key, detail: String| Refusal {
        key,
        tag: inst.asset_tag.clone(),
        detail,
    };
    if !inst.in_service() {
        let reason = inst.status_reason.clone().unwrap_or_default();
        return Ok(Err(refuse("analyses.instrument_out_of_service", reason)));
    }
    let due = inst.calibration_due_on.clone().unwrap_or_default();
    match inst.due_state(today) {
        DueState::NotRequired => {
            return Ok(Ok(AtUse {
                instrument: inst,
                calibration: UseCalibration::NotRequired,
                record: None,
            }))
        }
        DueState::Missing => return Ok(Err(refuse("analyses.instrument_no_calibration", due))),
        DueState::Overdue => return Ok(Err(refuse("analyses.instrument_overdue", due))),
        DueState::Valid | DueState::DueSoon => {}
    }
    match instrument::calibration_in_force(conn, id, today)? {
        Some(c) if c.result != CalibrationResult::Fail => Ok(Ok(AtUse {
            instrument: inst,
            calibration: UseCalibration::Valid,
            record: Some(c.id),
        })),
        Some(_) => Ok(Err(refuse("analyses.instrument_failed", due))),
        None => Ok(Err(refuse("analyses.instrument_no_calibration", due))),
    }
}

/// Instruments an analyst may choose today: in service and in calibration, by tag.
pub fn usable_instruments(conn: &mut DbConn, today: NaiveDate) -> QueryResult<Vec<Instrument>> {
    use crate::db::schema::instruments;
    let list: Vec<Instrument> = instruments::table
        .filter(instruments::status.eq(InstrumentStatus::InService))
        .order(instruments::asset_tag.asc())
        .select(Instrument::as_select())
        .load(conn)?;
    Ok(list
        .into_iter()
        .filter(|i| i.due_state(today).usable())
        .collect())
}

/// One observation row of the form.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ObservationInput {
    pub kind: String,
    pub label: String,
    pub value: String,
    pub unit: String,
}

impl ObservationInput {
    fn blank(&self) -> bool {
        self.label.trim().is_empty() && self.value.trim().is_empty()
    }
}

/// How many observation rows the form offers per test.
pub const OBSERVATION_ROWS: usize = 3;

/// One test's part of the sample's result form (fields `a{i}_…`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct ResultInput {
    pub analysis_id: String,
    pub qualifier: String,
    pub value: String,
    pub finding: String,
    pub uncertainty: String,
    pub coverage_factor: String,
    pub instrument_id: String,
    pub deviations: String,
    pub remarks: String,
    pub change_reason: String,
    #[serde(skip)]
    pub observations: Vec<ObservationInput>,
}

impl ResultInput {
    /// The form of a test, filled from its current entry and last instrument.
    pub fn from_entry(
        a: &Analysis,
        current: Option<&ResultEntry>,
        instrument: Option<&InstrumentId>,
        lang: crate::i18n::Lang,
    ) -> ResultInput {
        let number = |v: Option<f64>| {
            v.map(|v| crate::i18n::format_quantity(lang, v))
                .unwrap_or_default()
        };
        let mut input = ResultInput {
            analysis_id: a.id.0.clone(),
            instrument_id: instrument.map(|i| i.0.clone()).unwrap_or_default(),
            observations: vec![ObservationInput::default(); OBSERVATION_ROWS],
            ..Default::default()
        };
        if let Some(e) = current {
            input.qualifier = e.qualifier.as_str().into();
            input.value = number(e.numeric_value)
                .to_string()
                .chars()
                .collect::<String>();
            if matches!(
                e.qualifier,
                Qualifier::BelowLod | Qualifier::BelowLoq | Qualifier::NotDetected
            ) {
                input.value.clear();
            }
            input.finding = e.finding.clone().unwrap_or_default();
            input.uncertainty = number(e.uncertainty);
            input.coverage_factor = number(e.coverage_factor);
            input.deviations = e.deviations.clone().unwrap_or_default();
            input.remarks = e.remarks.clone().unwrap_or_default();
        }
        input
    }

    fn blank(&self) -> bool {
        self.value.trim().is_empty()
            && self.finding.trim().is_empty()
            && matches!(self.qualifier.trim(), "" | "eq" | "lt" | "gt")
            && self.observations.iter().all(ObservationInput::blank)
    }
}

/// Draft keeps the entry with the analyst; submit hands it in for review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Draft,
    Submit,
}

/// What a result entry says, compared with the current one to tell whether anything changed.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Content {
    raw_value: Option<String>,
    numeric_value: Option<f64>,
    qualifier: Qualifier,
    finding: Option<String>,
    uncertainty: Option<f64>,
    coverage_factor: Option<f64>,
    conformity: Option<Conformity>,
    deviations: Option<String>,
    remarks: Option<String>,
}

impl Content {
    fn of(e: &ResultEntry) -> Content {
        Content {
            raw_value: e.raw_value.clone(),
            numeric_value: e.numeric_value,
            qualifier: e.qualifier,
            finding: e.finding.clone(),
            uncertainty: e.uncertainty,
            coverage_factor: e.coverage_factor,
            conformity: e.conformity,
            deviations: e.deviations.clone(),
            remarks: e.remarks.clone(),
        }
    }
}

/// Reads one test's part of the form against its method version; problems go beside the
/// fields `a{i}_…`.
pub(super) fn check_content(
    errors: &mut FieldErrors,
    i: usize,
    v: &MethodVersion,
    input: &ResultInput,
) -> Option<Content> {
    let f = |name: &str| format!("a{i}_{name}");
    let mut ok = true;
    let mut content = Content {
        raw_value: None,
        numeric_value: None,
        qualifier: Qualifier::Eq,
        finding: None,
        uncertainty: None,
        coverage_factor: None,
        conformity: None,
        deviations: optional_text(errors, &f("deviations"), &input.deviations, 2000),
        remarks: optional_text(errors, &f("remarks"), &input.remarks, 2000),
    };
    match v.result_kind {
        ResultKind::Numeric => {
            let q = match input.qualifier.trim() {
                "" => Some(Qualifier::Eq),
                q => Qualifier::parse(q),
            };
            let Some(q) = q else {
                errors.add(&f("qualifier"), "validation.choose_one");
                return None;
            };
            content.qualifier = q;
            let typed = input.value.trim();
            let reading = match q {
                Qualifier::Eq | Qualifier::Lt | Qualifier::Gt => {
                    let Some(x) = parse_decimal(typed) else {
                        let key = if typed.is_empty() {
                            "validation.required"
                        } else {
                            "validation.number"
                        };
                        errors.add(&f("value"), key);
                        return None;
                    };
                    content.numeric_value = Some(x);
                    content.raw_value = Some(typed.to_string());
                    match q {
                        Qualifier::Lt => Reading::AtMost(x),
                        Qualifier::Gt => Reading::AtLeast(x),
                        _ => Reading::Exact(x),
                    }
                }
                Qualifier::BelowLod => {
                    let Some(lod) = v.lod else {
                        errors.add(&f("qualifier"), "analyses.no_lod");
                        return None;
                    };
                    content.raw_value = Some("<LOD".into());
                    Reading::AtMost(lod)
                }
                Qualifier::BelowLoq => {
                    let Some(loq) = v.loq else {
                        errors.add(&f("qualifier"), "analyses.no_loq");
                        return None;
                    };
                    content.raw_value = Some("<LOQ".into());
                    Reading::AtMost(loq)
                }
                Qualifier::NotDetected => {
                    content.raw_value = Some("ND".into());
                    Reading::AtMost(v.lod.unwrap_or(0.0))
                }
            };
            let (u, k) = uncertainty(errors, i, v, input, content.numeric_value);
            content.uncertainty = u;
            content.coverage_factor = k;
            if let Some(rule) = v.decision_rule {
                let spec = Spec {
                    min: v.spec_min,
                    min_inclusive: v.spec_min_inclusive,
                    max: v.spec_max,
                    max_inclusive: v.spec_max_inclusive,
                };
                content.conformity = conformity(&spec, rule, v.guard_band.unwrap_or(0.0), reading);
            }
        }
        ResultKind::Qualitative => {
            let finding = input.finding.trim();
            if !v.options().contains(&finding) {
                errors.add(&f("finding"), "validation.choose_one");
                ok = false;
            }
            content.finding = Some(finding.to_string());
            content.conformity = v.expected_value.as_ref().map(|e| {
                if e == finding {
                    Conformity::Pass
                } else {
                    Conformity::Fail
                }
            });
        }
        ResultKind::Text => {
            content.finding = optional_text(errors, &f("finding"), &input.finding, 2000);
            if content.finding.is_none() {
                errors.add(&f("finding"), "validation.required");
                ok = false;
            }
        }
    }
    ok.then_some(content)
}

/// The expanded uncertainty and its k: as typed, or the method's default for the value.
fn uncertainty(
    errors: &mut FieldErrors,
    i: usize,
    v: &MethodVersion,
    input: &ResultInput,
    value: Option<f64>,
) -> (Option<f64>, Option<f64>) {
    let field = format!("a{i}_uncertainty");
    let k_field = format!("a{i}_coverage_factor");
    let positive = |errors: &mut FieldErrors, field: &str, text: &str| {
        if text.trim().is_empty() {
            return None;
        }
        match parse_decimal(text) {
            Some(x) if x > 0.0 => Some(x),
            _ => {
                errors.add(field, "validation.positive_number");
                None
            }
        }
    };
    let u = positive(errors, &field, &input.uncertainty);
    let k = positive(errors, &k_field, &input.coverage_factor);
    match (u, k) {
        (Some(u), Some(k)) => (Some(u), Some(k)),
        (Some(u), None) => match v.coverage_factor {
            Some(k) => (Some(u), Some(k)),
            None => {
                errors.add(&k_field, "analyses.k_required");
                (None, None)
            }
        },
        (None, Some(_)) => {
            errors.add(&field, "analyses.u_required");
            (None, None)
        }
        (None, None) => match (
            v.uncertainty_value,
            v.uncertainty_mode,
            v.coverage_factor,
            value,
        ) {
            (Some(u), Some(UncertaintyMode::Absolute), Some(k), Some(_)) => (Some(u), Some(k)),
            (Some(u), Some(UncertaintyMode::Relative), Some(k), Some(x)) if x != 0.0 => {
                (Some(x.abs() * u / 100.0), Some(k))
            }
            _ => (None, None),
        },
    }
}

#[derive(Insertable)]
#[diesel(table_name = analysis_results)]
struct NewEntry<'a> {
    id: &'a ResultEntryId,
    analysis_id: &'a AnalysisId,
    seq: i32,
    supersedes_id: Option<&'a ResultEntryId>,
    raw_value: Option<&'a str>,
    numeric_value: Option<f64>,
    qualifier: Qualifier,
    finding: Option<&'a str>,
    unit: Option<&'a str>,
    lod: Option<f64>,
    loq: Option<f64>,
    uncertainty: Option<f64>,
    coverage_factor: Option<f64>,
    spec_min: Option<f64>,
    spec_min_inclusive: bool,
    spec_max: Option<f64>,
    spec_max_inclusive: bool,
    expected_value: Option<&'a str>,
    decision_rule: Option<DecisionRule>,
    guard_band: Option<f64>,
    conformity: Option<Conformity>,
    deviations: Option<&'a str>,
    remarks: Option<&'a str>,
    change_reason: Option<&'a str>,
    entered_by: &'a UserId,
    entered_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = analysis_observations)]
struct NewObservation<'a> {
    id: &'a ObservationId,
    analysis_id: &'a AnalysisId,
    seq: i32,
    kind: ObservationKind,
    label: &'a str,
    raw_value: &'a str,
    value: f64,
    unit: Option<&'a str>,
    instrument_id: Option<&'a InstrumentId>,
    observed_at: NaiveDateTime,
    entered_by: &'a UserId,
    entered_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = analysis_instruments)]
struct NewUse<'a> {
    id: &'a InstrumentUseId,
    analysis_id: &'a AnalysisId,
    result_id: Option<&'a ResultEntryId>,
    instrument_id: &'a InstrumentId,
    used_on: String,
    instrument_status: InstrumentStatus,
    calibration_record_id: Option<&'a CalibrationId>,
    calibration_due_on: Option<&'a str>,
    calibration_status: UseCalibration,
    recorded_by: &'a UserId,
    recorded_at: NaiveDateTime,
}

/// One test of the form, checked and ready to write.
struct Plan {
    analysis: Analysis,
    version: MethodVersion,
    content: Option<Content>,
    current: Option<ResultEntry>,
    reason: Option<String>,
    instrument: Option<AtUse>,
    observations: Vec<(ObservationKind, String, String, f64, Option<String>)>,
}

/// The problems of a form sent back: field errors and, for refused instruments, what to show
/// beside them.
pub struct Refused {
    pub errors: FieldErrors,
    pub instruments: Vec<(String, Refusal)>,
}

/// Saves the analyst's results for a sample (`inputs`, one per open test of theirs on it) as
/// a draft or hands them in. Nothing is written unless every part is right. A test left blank
/// is skipped; the first entry starts the test (and the sample's testing).
pub fn save(
    conn: &mut DbConn,
    who: &Handler,
    sample_id: &SampleId,
    inputs: &[ResultInput],
    action: Action,
    today: NaiveDate,
) -> Result<Result<usize, Refused>, AppError> {
    write_tx(conn, |conn| {
        let mut errors = FieldErrors::default();
        let mut refusals = Vec::new();
        let mut plans = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            let f = |name: &str| format!("a{i}_{name}");
            let id = AnalysisId::parse(&input.analysis_id).ok_or(AppError::NotFound)?;
            let analysis = lock(conn, &id)?;
            if &analysis.sample_id != sample_id {
                return Err(AppError::NotFound);
            }
            if analysis.analyst_id.as_ref() != Some(&who.user_id) {
                return Err(AppError::Forbidden("analyses.refused.not_yours"));
            }
            let current = entries(conn, &id)?.pop();
            if input.blank() && current.is_none() {
                continue;
            }
            super::state::next(analysis.status, Event::Record)?;
            let version = method::find_version(conn, &analysis.method_version_id)?;
            let content = check_content(&mut errors, i, &version, input);
            let changed = match (&content, &current) {
                (Some(c), Some(e)) => *c != Content::of(e),
                _ => true,
            };
            let reason = optional_text(&mut errors, &f("change_reason"), &input.change_reason, 500);
            if changed && current.is_some() && reason.is_none() {
                errors.add(&f("change_reason"), "analyses.change_reason_required");
            }
            let instrument = match InstrumentId::parse(&input.instrument_id) {
                None if input.instrument_id.trim().is_empty() => None,
                None => {
                    errors.add(&f("instrument_id"), "validation.choose_one");
                    None
                }
                Some(iid) => match instrument_at_use(conn, &iid, today)? {
                    Ok(use_) => Some(use_),
                    Err(refusal) => {
                        errors.add(&f("instrument_id"), refusal.key);
                        refusals.push((f("instrument_id"), refusal));
                        None
                    }
                },
            };
            let mut observations = Vec::new();
            for (j, o) in input.observations.iter().enumerate() {
                if o.blank() {
                    continue;
                }
                let of = |name: &str| format!("a{i}_o{j}_{name}");
                let kind = ObservationKind::parse(&o.kind).unwrap_or(ObservationKind::Reading);
                let label =
                    crate::validation::required_text(&mut errors, &of("label"), &o.label, 200);
                let Some(value) = parse_decimal(&o.value) else {
                    errors.add(&of("value"), "validation.number");
                    continue;
                };
                if kind == ObservationKind::DilutionFactor && value <= 0.0 {
                    errors.add(&of("value"), "validation.positive_number");
                }
                let unit = optional_text(&mut errors, &of("unit"), &o.unit, 30);
                observations.push((kind, label, o.value.trim().to_string(), value, unit));
            }
            plans.push(Plan {
                analysis,
                version,
                content: changed.then_some(content).flatten(),
                current,
                reason,
                instrument,
                observations,
            });
        }
        if plans.is_empty() && errors.is_empty() {
            errors.add("results", "analyses.nothing_entered");
        }
        if !errors.is_empty() {
            return Ok(Err(Refused {
                errors,
                instruments: refusals,
            }));
        }
        let count = plans.len();
        for plan in plans {
            write(conn, who, plan, action, today)?;
        }
        Ok(Ok(count))
    })
}

/// Records a partner laboratory's result on its (new) external analysis and hands it in for
/// review, through the same writing as an analyst's result: no instruments or observations of
/// ours, as the laboratory's report holds them.
pub(super) fn record_external(
    conn: &mut DbConn,
    who: &Handler,
    analysis: Analysis,
    version: MethodVersion,
    content: Content,
    today: NaiveDate,
) -> Result<(), AppError> {
    let plan = Plan {
        analysis,
        version,
        content: Some(content),
        current: None,
        reason: None,
        instrument: None,
        observations: Vec::new(),
    };
    write(conn, who, plan, Action::Submit, today)
}

fn write(
    conn: &mut DbConn,
    who: &Handler,
    plan: Plan,
    action: Action,
    today: NaiveDate,
) -> Result<(), AppError> {
    let Plan {
        analysis,
        version: v,
        content,
        current,
        reason,
        instrument,
        observations,
    } = plan;
    let t = now();
    let entry_id = match (content, &current) {
        (Some(c), _) => {
            let id = ResultEntryId::new_v7();
            diesel::insert_into(analysis_results::table)
                .values(NewEntry {
                    id: &id,
                    analysis_id: &analysis.id,
                    seq: current.as_ref().map_or(1, |e| e.seq + 1),
                    supersedes_id: current.as_ref().map(|e| &e.id),
                    raw_value: c.raw_value.as_deref(),
                    numeric_value: c.numeric_value,
                    qualifier: c.qualifier,
                    finding: c.finding.as_deref(),
                    unit: v.unit.as_deref(),
                    lod: v.lod,
                    loq: v.loq,
                    uncertainty: c.uncertainty,
                    coverage_factor: c.coverage_factor,
                    spec_min: v.spec_min,
                    spec_min_inclusive: v.spec_min_inclusive,
                    spec_max: v.spec_max,
                    spec_max_inclusive: v.spec_max_inclusive,
                    expected_value: v.expected_value.as_deref(),
                    decision_rule: v.decision_rule,
                    guard_band: v.guard_band,
                    conformity: c.conformity,
                    deviations: c.deviations.as_deref(),
                    remarks: c.remarks.as_deref(),
                    change_reason: current.as_ref().and(reason.as_deref()),
                    entered_by: &who.user_id,
                    entered_at: t,
                })
                .execute(conn)?;
            let entry: ResultEntry = analysis_results::table
                .find(&id)
                .select(ResultEntry::as_select())
                .first(conn)?;
            audit::record(
                conn,
                &who.actor,
                "create",
                "analysis_result",
                Some(id.as_str()),
                current.as_ref(),
                Some(&entry),
            )?;
            Some(id)
        }
        (None, Some(e)) => Some(e.id.clone()),
        (None, None) => None,
    };
    if let Some(AtUse {
        instrument: inst,
        calibration,
        record,
    }) = instrument
    {
        let last = instruments_used(conn, &analysis.id)?.pop();
        if last.is_none_or(|(u, _)| u.instrument_id != inst.id) {
            let id = InstrumentUseId::new_v7();
            let due = record.as_ref().and(inst.calibration_due_on.as_deref());
            diesel::insert_into(analysis_instruments::table)
                .values(NewUse {
                    id: &id,
                    analysis_id: &analysis.id,
                    result_id: entry_id.as_ref(),
                    instrument_id: &inst.id,
                    used_on: iso(today),
                    instrument_status: inst.status,
                    calibration_record_id: record.as_ref(),
                    calibration_due_on: due,
                    calibration_status: calibration,
                    recorded_by: &who.user_id,
                    recorded_at: t,
                })
                .execute(conn)?;
            audit::record(
                conn,
                &who.actor,
                "create",
                "analysis_instrument",
                Some(id.as_str()),
                None::<&()>,
                Some(&serde_json::json!({
                    "analysis_id": analysis.id, "instrument": inst.asset_tag,
                    "calibration_record_id": record, "calibration_due_on": due,
                })),
            )?;
        }
    }
    let mut seq = observations_count(conn, &analysis.id)?;
    for (kind, label, raw, value, unit) in observations {
        seq += 1;
        let id = ObservationId::new_v7();
        let row = NewObservation {
            id: &id,
            analysis_id: &analysis.id,
            seq,
            kind,
            label: &label,
            raw_value: &raw,
            value,
            unit: unit.as_deref(),
            instrument_id: None,
            observed_at: t,
            entered_by: &who.user_id,
            entered_at: t,
        };
        diesel::insert_into(analysis_observations::table)
            .values(&row)
            .execute(conn)?;
        audit::record(
            conn,
            &who.actor,
            "create",
            "analysis_observation",
            Some(id.as_str()),
            None::<&()>,
            Some(&serde_json::json!({
                "analysis_id": analysis.id, "seq": seq, "kind": kind,
                "label": label, "raw_value": raw, "unit": unit,
            })),
        )?;
    }
    if analysis.status == super::AnalysisStatus::Assigned {
        start_sample(conn, who, &analysis)?;
    }
    let after = apply(conn, who, &analysis, Event::Record, None)?;
    if action == Action::Submit {
        apply(conn, who, &after, Event::Submit, None)?;
    }
    Ok(())
}

fn observations_count(conn: &mut DbConn, id: &AnalysisId) -> QueryResult<i32> {
    let n: i64 = analysis_observations::table
        .filter(analysis_observations::analysis_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(n as i32)
}

/// The first test started on a sample moves it into testing (or back into it, for a test added
/// after the others were approved), through the sample's status owner.
fn start_sample(conn: &mut DbConn, who: &Handler, a: &Analysis) -> Result<(), AppError> {
    let sample = sample_state::lock_for_update(conn, &a.sample_id)?;
    let transition = match sample.status {
        SampleStatus::Received => Transition::StartTesting,
        SampleStatus::AwaitingReport | SampleStatus::Reported => Transition::ReopenTesting,
        SampleStatus::InTesting => return Ok(()),
        _ => return Err(AppError::Forbidden("analyses.refused.sample_not_in_lab")),
    };
    sample_state::apply(
        conn,
        &who.actor,
        &sample,
        Change {
            transition: Some(transition),
            ..Default::default()
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Conformity::{Fail, Inconclusive, Pass};
    use DecisionRule::{GuardBand, SimpleAcceptance};
    use Reading::{AtLeast, AtMost, Exact};

    fn spec(min: Option<f64>, max: Option<f64>) -> Spec {
        Spec {
            min,
            min_inclusive: true,
            max,
            max_inclusive: true,
        }
    }

    /// Limits 10–20 (both ends inclusive unless noted), guard band 1.
    #[test]
    fn decision_rules_table() {
        let both = spec(Some(10.0), Some(20.0));
        let open_max = Spec {
            max_inclusive: false,
            ..both
        };
        let max_only = spec(None, Some(20.0));
        let min_only = spec(Some(10.0), None);
        let cases: &[(&Spec, DecisionRule, Reading, Option<Conformity>)] = &[
            // Simple acceptance: the value against the limits.
            (&both, SimpleAcceptance, Exact(15.0), Some(Pass)),
            (&both, SimpleAcceptance, Exact(20.0), Some(Pass)),
            (&open_max, SimpleAcceptance, Exact(20.0), Some(Fail)),
            (&both, SimpleAcceptance, Exact(20.01), Some(Fail)),
            (&both, SimpleAcceptance, Exact(9.9), Some(Fail)),
            (&max_only, SimpleAcceptance, AtMost(0.5), Some(Pass)),
            (&min_only, SimpleAcceptance, AtMost(0.5), Some(Fail)),
            (
                &min_only,
                SimpleAcceptance,
                AtMost(12.0),
                Some(Inconclusive),
            ),
            (&max_only, SimpleAcceptance, AtLeast(25.0), Some(Fail)),
            // Guard band: pass only if value + w is within, fail if value - w is outside.
            (&both, GuardBand, Exact(15.0), Some(Pass)),
            (&both, GuardBand, Exact(19.0), Some(Pass)),
            (&both, GuardBand, Exact(19.5), Some(Inconclusive)),
            (&both, GuardBand, Exact(20.5), Some(Inconclusive)),
            (&both, GuardBand, Exact(21.0), Some(Inconclusive)),
            (&both, GuardBand, Exact(21.01), Some(Fail)),
            (&both, GuardBand, Exact(10.5), Some(Inconclusive)),
            (&both, GuardBand, Exact(8.5), Some(Fail)),
            (&open_max, GuardBand, Exact(19.0), Some(Inconclusive)),
            (&max_only, GuardBand, AtMost(18.0), Some(Pass)),
            (&max_only, GuardBand, AtMost(19.5), Some(Inconclusive)),
            // No limits: no conformity.
            (&spec(None, None), SimpleAcceptance, Exact(1.0), None),
        ];
        for (spec, rule, reading, expected) in cases {
            assert_eq!(
                conformity(spec, *rule, 1.0, *reading),
                *expected,
                "{spec:?} {rule:?} {reading:?}"
            );
        }
    }
}
