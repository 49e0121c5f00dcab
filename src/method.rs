//! The test-method catalogue (ISO/IEC 17025 7.2). A method is its code; what it measures and
//! how — unit, decimals, specification, LOD/LOQ, default uncertainty, decision rule — is a
//! version. Editing a method adds a version and never touches an old one (the table refuses
//! it), so a result keeps the version it was obtained with. A method is retired, never
//! deleted.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Handler};
use crate::db::schema::{method_versions, methods};
use crate::db::{lower, now, text_enum, write_tx, DbConn};
use crate::error::AppError;
use crate::i18n::{self, Lang};
use crate::ids::{MethodId, MethodVersionId, UserId};
use crate::validation::{optional_number, optional_text, required_text, FieldErrors};

text_enum!(
    /// What a result of the method is: a number with a unit, one of a list of findings, or text.
    ResultKind {
        Numeric => "numeric",
        Qualitative => "qualitative",
        Text => "text",
    }
);

text_enum!(
    /// How a default uncertainty is given: in the unit, or as a percentage of the value.
    UncertaintyMode {
        Absolute => "absolute",
        Relative => "relative",
    }
);

text_enum!(
    /// How conformity is decided (ILAC-G8): the value against the limit, or with a guard band
    /// inside the limits where the result is inconclusive.
    DecisionRule {
        SimpleAcceptance => "simple_acceptance",
        GuardBand => "guard_band",
    }
);

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = methods, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Method {
    pub id: MethodId,
    pub code: String,
    pub current_version: i32,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
    pub retired_by: Option<UserId>,
    pub retirement_reason: Option<String>,
}

impl Method {
    pub fn is_retired(&self) -> bool {
        self.retired_at.is_some()
    }
}

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = method_versions, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct MethodVersion {
    pub id: MethodVersionId,
    pub method_id: MethodId,
    pub version_no: i32,
    pub name: String,
    pub analyte: Option<String>,
    pub technique: Option<String>,
    pub reference: Option<String>,
    pub result_kind: ResultKind,
    pub unit: Option<String>,
    pub decimals: i32,
    pub spec_min: Option<f64>,
    pub spec_min_inclusive: bool,
    pub spec_max: Option<f64>,
    pub spec_max_inclusive: bool,
    pub expected_value: Option<String>,
    pub qualitative_options: Option<String>,
    pub lod: Option<f64>,
    pub loq: Option<f64>,
    pub uncertainty_value: Option<f64>,
    pub uncertainty_mode: Option<UncertaintyMode>,
    pub coverage_factor: Option<f64>,
    pub confidence_percent: Option<f64>,
    pub decision_rule: Option<DecisionRule>,
    pub guard_band: Option<f64>,
    pub accredited: bool,
    pub change_reason: Option<String>,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
}

impl MethodVersion {
    /// The findings an analyst may choose (qualitative methods).
    pub fn options(&self) -> Vec<&str> {
        self.qualitative_options
            .as_deref()
            .map(|o| o.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
            .unwrap_or_default()
    }

    fn number(&self, lang: Lang, value: f64) -> String {
        i18n::format_number(lang, value, self.decimals.clamp(0, 6) as usize)
    }

    /// The specification as a reader expects it, e.g. `≥ 98,0 %`, `0,50 – 1,20 g/L`, or the
    /// expected finding; empty when the method has none.
    pub fn spec_display(&self, lang: Lang) -> String {
        let unit = self.unit.as_deref().unwrap_or("");
        let text = match (self.spec_min, self.spec_max) {
            (Some(min), Some(max)) => format!(
                "{}{} – {}{} {unit}",
                if self.spec_min_inclusive { "" } else { "> " },
                self.number(lang, min),
                if self.spec_max_inclusive { "" } else { "< " },
                self.number(lang, max)
            ),
            (Some(min), None) => format!(
                "{} {} {unit}",
                if self.spec_min_inclusive { "≥" } else { ">" },
                self.number(lang, min)
            ),
            (None, Some(max)) => format!(
                "{} {} {unit}",
                if self.spec_max_inclusive { "≤" } else { "<" },
                self.number(lang, max)
            ),
            (None, None) => self.expected_value.clone().unwrap_or_default(),
        };
        text.trim().to_string()
    }

    /// LOD and LOQ, e.g. `LOD 0,01 · LOQ 0,03 mg/kg`; empty when neither is set.
    pub fn limits_display(&self, lang: Lang) -> String {
        let mut parts = Vec::new();
        if let Some(lod) = self.lod {
            parts.push(format!("LOD {}", self.number(lang, lod)));
        }
        if let Some(loq) = self.loq {
            parts.push(format!("LOQ {}", self.number(lang, loq)));
        }
        if parts.is_empty() {
            return String::new();
        }
        format!(
            "{} {}",
            parts.join(" · "),
            self.unit.as_deref().unwrap_or("")
        )
        .trim()
        .to_string()
    }

    /// The default expanded uncertainty, e.g. `± 0,2 % (k = 2, 95 %)`; empty when none.
    pub fn uncertainty_display(&self, lang: Lang) -> String {
        let (Some(u), Some(mode), Some(k)) = (
            self.uncertainty_value,
            self.uncertainty_mode,
            self.coverage_factor,
        ) else {
            return String::new();
        };
        let value = match mode {
            UncertaintyMode::Absolute => format!(
                "± {} {}",
                i18n::format_quantity(lang, u),
                self.unit.as_deref().unwrap_or("")
            ),
            UncertaintyMode::Relative => format!("± {} %", i18n::format_quantity(lang, u)),
        };
        let confidence = self
            .confidence_percent
            .map(|c| format!(", {} %", i18n::format_quantity(lang, c)))
            .unwrap_or_default();
        format!(
            "{} (k = {}{confidence})",
            value.trim(),
            i18n::format_quantity(lang, k)
        )
    }

    /// What the audit log keeps of a version: everything that defines it.
    fn snapshot(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[derive(Insertable)]
#[diesel(table_name = methods)]
struct NewMethod<'a> {
    id: &'a MethodId,
    code: &'a str,
    current_version: i32,
    created_by: &'a UserId,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A version's content, checked; `version_no`, ids and times are added when it is stored.
#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = method_versions)]
struct VersionContent {
    name: String,
    analyte: Option<String>,
    technique: Option<String>,
    reference: Option<String>,
    result_kind: ResultKind,
    unit: Option<String>,
    decimals: i32,
    spec_min: Option<f64>,
    spec_min_inclusive: bool,
    spec_max: Option<f64>,
    spec_max_inclusive: bool,
    expected_value: Option<String>,
    qualitative_options: Option<String>,
    lod: Option<f64>,
    loq: Option<f64>,
    uncertainty_value: Option<f64>,
    uncertainty_mode: Option<UncertaintyMode>,
    coverage_factor: Option<f64>,
    confidence_percent: Option<f64>,
    decision_rule: Option<DecisionRule>,
    guard_band: Option<f64>,
    accredited: bool,
}

#[derive(Insertable)]
#[diesel(table_name = method_versions)]
struct NewVersion<'a> {
    id: MethodVersionId,
    method_id: &'a MethodId,
    version_no: i32,
    #[diesel(embed)]
    content: VersionContent,
    change_reason: Option<&'a str>,
    created_by: &'a UserId,
    created_at: NaiveDateTime,
}

/// What an admin types to define a method or a new version of it (every field as text, so a
/// form comes back exactly as typed).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct MethodInput {
    pub code: String,
    pub name: String,
    pub analyte: String,
    pub technique: String,
    pub reference: String,
    pub result_kind: String,
    pub unit: String,
    pub decimals: String,
    pub spec_min: String,
    /// Checkbox: present when the lower limit itself conforms.
    pub spec_min_inclusive: Option<String>,
    pub spec_max: String,
    pub spec_max_inclusive: Option<String>,
    pub expected_value: String,
    /// One finding per line.
    pub qualitative_options: String,
    pub lod: String,
    pub loq: String,
    pub uncertainty_value: String,
    pub uncertainty_mode: String,
    pub coverage_factor: String,
    pub confidence_percent: String,
    pub decision_rule: String,
    pub guard_band: String,
    pub accredited: Option<String>,
    /// Why a new version is made (not asked when the method is created).
    pub change_reason: String,
}

impl MethodInput {
    /// A blank form: both limits inclusive, two decimals, numeric.
    pub fn blank() -> MethodInput {
        MethodInput {
            result_kind: ResultKind::Numeric.as_str().into(),
            decimals: "2".into(),
            spec_min_inclusive: Some("on".into()),
            spec_max_inclusive: Some("on".into()),
            ..Default::default()
        }
    }

    /// The form filled with a method's current version, for making the next one.
    pub fn from_version(method: &Method, v: &MethodVersion) -> MethodInput {
        let num = |x: Option<f64>| x.map(|x| x.to_string()).unwrap_or_default();
        let text = |x: &Option<String>| x.clone().unwrap_or_default();
        let tick = |b: bool| b.then(|| "on".to_string());
        MethodInput {
            code: method.code.clone(),
            name: v.name.clone(),
            analyte: text(&v.analyte),
            technique: text(&v.technique),
            reference: text(&v.reference),
            result_kind: v.result_kind.as_str().into(),
            unit: text(&v.unit),
            decimals: v.decimals.to_string(),
            spec_min: num(v.spec_min),
            spec_min_inclusive: tick(v.spec_min_inclusive),
            spec_max: num(v.spec_max),
            spec_max_inclusive: tick(v.spec_max_inclusive),
            expected_value: text(&v.expected_value),
            qualitative_options: text(&v.qualitative_options),
            lod: num(v.lod),
            loq: num(v.loq),
            uncertainty_value: num(v.uncertainty_value),
            uncertainty_mode: v
                .uncertainty_mode
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            coverage_factor: num(v.coverage_factor),
            confidence_percent: num(v.confidence_percent),
            decision_rule: v
                .decision_rule
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
            guard_band: num(v.guard_band),
            accredited: tick(v.accredited),
            change_reason: String::new(),
        }
    }
}

pub fn normalize_code(text: &str) -> String {
    text.trim().to_uppercase()
}

fn check_code(code: &str, errors: &mut FieldErrors) {
    let ok_chars = code
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if code.is_empty() {
        errors.add("code", "validation.required");
    } else if code.len() > 30 || !ok_chars {
        errors.add("code", "methods.code_format");
    }
}

/// Fields that only a numeric method can have, in the order of the form.
const NUMERIC_ONLY: [&str; 8] = [
    "spec_min",
    "spec_max",
    "lod",
    "loq",
    "uncertainty_value",
    "coverage_factor",
    "confidence_percent",
    "guard_band",
];

/// Checks the version part of the form; every problem goes beside its field.
fn check_content(input: &MethodInput, errors: &mut FieldErrors) -> Option<VersionContent> {
    let name = required_text(errors, "name", &input.name, 200);
    let analyte = optional_text(errors, "analyte", &input.analyte, 200);
    let technique = optional_text(errors, "technique", &input.technique, 200);
    let reference = optional_text(errors, "reference", &input.reference, 200);
    let kind = ResultKind::parse(&input.result_kind);
    if kind.is_none() {
        errors.add("result_kind", "validation.choose_one");
    }
    let unit = optional_text(errors, "unit", &input.unit, 30);
    let decimals = match input.decimals.trim().parse::<i32>() {
        Ok(d) if (0..=6).contains(&d) => Some(d),
        _ => {
            errors.add("decimals", "methods.decimals_range");
            None
        }
    };
    let numeric = kind == Some(ResultKind::Numeric);
    if kind.is_some() && !numeric {
        let typed = [
            &input.spec_min,
            &input.spec_max,
            &input.lod,
            &input.loq,
            &input.uncertainty_value,
            &input.coverage_factor,
            &input.confidence_percent,
            &input.guard_band,
        ];
        for (field, value) in NUMERIC_ONLY.iter().zip(typed) {
            if !value.trim().is_empty() {
                errors.add(field, "methods.numeric_only");
            }
        }
        if !input.uncertainty_mode.trim().is_empty() {
            errors.add("uncertainty_mode", "methods.numeric_only");
        }
    }
    let spec_min = optional_number(errors, "spec_min", &input.spec_min);
    let spec_max = optional_number(errors, "spec_max", &input.spec_max);
    let min_inclusive = input.spec_min_inclusive.is_some();
    let max_inclusive = input.spec_max_inclusive.is_some();
    if let (Some(min), Some(max)) = (spec_min, spec_max) {
        if min > max || (min == max && !(min_inclusive && max_inclusive)) {
            errors.add("spec_max", "methods.spec_order");
        }
    }
    let lod = optional_number(errors, "lod", &input.lod);
    let loq = optional_number(errors, "loq", &input.loq);
    for (field, value) in [("lod", lod), ("loq", loq)] {
        if value.is_some_and(|v| v < 0.0) {
            errors.add(field, "methods.not_negative");
        }
    }
    if let (Some(lod), Some(loq)) = (lod, loq) {
        if lod > loq {
            errors.add("loq", "methods.lod_above_loq");
        }
    }
    let uncertainty = check_uncertainty(input, errors);

    // Findings: a list for qualitative methods, and the one that conforms.
    let options: Vec<String> = input
        .qualitative_options
        .lines()
        .map(|l| crate::validation::clean(l).trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let expected = optional_text(errors, "expected_value", &input.expected_value, 100);
    let qualitative = kind == Some(ResultKind::Qualitative);
    if qualitative {
        let mut sorted: Vec<String> = options.iter().map(|o| o.to_lowercase()).collect();
        sorted.sort();
        sorted.dedup();
        if options.len() < 2 {
            errors.add("qualitative_options", "methods.options_required");
        } else if sorted.len() != options.len() || options.iter().any(|o| o.chars().count() > 100) {
            errors.add("qualitative_options", "methods.options_format");
        }
        if let Some(e) = &expected {
            if !options.iter().any(|o| o == e) {
                errors.add("expected_value", "methods.expected_not_option");
            }
        }
    } else if kind.is_some() {
        if !options.is_empty() {
            errors.add("qualitative_options", "methods.qualitative_only");
        }
        if expected.is_some() {
            errors.add("expected_value", "methods.qualitative_only");
        }
    }

    // A decision rule exactly when there is a specification to decide against.
    let has_spec = spec_min.is_some() || spec_max.is_some() || expected.is_some();
    let rule = match input.decision_rule.trim() {
        "" => None,
        r => {
            let parsed = DecisionRule::parse(r);
            if parsed.is_none() {
                errors.add("decision_rule", "validation.choose_one");
            }
            parsed
        }
    };
    if has_spec && rule.is_none() && input.decision_rule.trim().is_empty() {
        errors.add("decision_rule", "methods.rule_required");
    }
    if !has_spec && rule.is_some() {
        errors.add("decision_rule", "methods.rule_without_spec");
    }
    let guard_band = optional_number(errors, "guard_band", &input.guard_band);
    match (rule, guard_band) {
        (Some(DecisionRule::GuardBand), None) if input.guard_band.trim().is_empty() => {
            errors.add("guard_band", "methods.guard_band_required")
        }
        (Some(DecisionRule::GuardBand), Some(w)) if w <= 0.0 => {
            errors.add("guard_band", "validation.positive_number")
        }
        (Some(DecisionRule::GuardBand), Some(w)) => {
            if let (Some(min), Some(max)) = (spec_min, spec_max) {
                if 2.0 * w >= max - min {
                    errors.add("guard_band", "methods.guard_band_too_wide");
                }
            }
        }
        (_, Some(_)) => errors.add("guard_band", "methods.guard_band_without_rule"),
        _ => {}
    }
    if rule == Some(DecisionRule::GuardBand) && !numeric && kind.is_some() {
        errors.add("decision_rule", "methods.guard_band_numeric");
    }

    let (uncertainty_value, uncertainty_mode, coverage_factor, confidence_percent) = uncertainty;
    Some(VersionContent {
        name,
        analyte,
        technique,
        reference,
        result_kind: kind?,
        unit,
        decimals: decimals?,
        spec_min,
        spec_min_inclusive: min_inclusive,
        spec_max,
        spec_max_inclusive: max_inclusive,
        expected_value: expected,
        qualitative_options: qualitative.then(|| options.join("\n")),
        lod,
        loq,
        uncertainty_value,
        uncertainty_mode,
        coverage_factor,
        confidence_percent,
        decision_rule: rule,
        guard_band,
        accredited: input.accredited.is_some(),
    })
}

type Uncertainty = (
    Option<f64>,
    Option<UncertaintyMode>,
    Option<f64>,
    Option<f64>,
);

/// The default uncertainty: all four parts, or none.
fn check_uncertainty(input: &MethodInput, errors: &mut FieldErrors) -> Uncertainty {
    let typed = [
        &input.uncertainty_value,
        &input.uncertainty_mode,
        &input.coverage_factor,
        &input.confidence_percent,
    ];
    if typed.iter().all(|v| v.trim().is_empty()) {
        return (None, None, None, None);
    }
    let mut positive = |field: &str, text: &str| -> Option<f64> {
        if text.trim().is_empty() {
            errors.add(field, "methods.uncertainty_incomplete");
            return None;
        }
        let value = optional_number(errors, field, text)?;
        if value <= 0.0 {
            errors.add(field, "validation.positive_number");
            return None;
        }
        Some(value)
    };
    let value = positive("uncertainty_value", &input.uncertainty_value);
    let k = positive("coverage_factor", &input.coverage_factor);
    let confidence = positive("confidence_percent", &input.confidence_percent);
    if confidence.is_some_and(|c| c >= 100.0) {
        errors.add("confidence_percent", "methods.confidence_range");
    }
    let mode = UncertaintyMode::parse(&input.uncertainty_mode);
    if mode.is_none() {
        errors.add("uncertainty_mode", "validation.choose_one");
    }
    (value, mode, k, confidence)
}

pub fn find(conn: &mut DbConn, id: &MethodId) -> QueryResult<Method> {
    methods::table
        .find(id)
        .select(Method::as_select())
        .first(conn)
}

pub fn find_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<Method>> {
    methods::table
        .filter(methods::code.eq(normalize_code(code)))
        .select(Method::as_select())
        .first(conn)
        .optional()
}

/// The method and its current version.
pub fn find_current(conn: &mut DbConn, id: &MethodId) -> QueryResult<(Method, MethodVersion)> {
    methods::table
        .inner_join(
            method_versions::table.on(method_versions::method_id
                .eq(methods::id)
                .and(method_versions::version_no.eq(methods::current_version))),
        )
        .filter(methods::id.eq(id))
        .select((Method::as_select(), MethodVersion::as_select()))
        .first(conn)
}

pub fn find_version(conn: &mut DbConn, id: &MethodVersionId) -> QueryResult<MethodVersion> {
    method_versions::table
        .find(id)
        .select(MethodVersion::as_select())
        .first(conn)
}

/// Every version of a method, newest first.
pub fn versions(conn: &mut DbConn, id: &MethodId) -> QueryResult<Vec<MethodVersion>> {
    method_versions::table
        .filter(method_versions::method_id.eq(id))
        .order(method_versions::version_no.desc())
        .select(MethodVersion::as_select())
        .load(conn)
}

/// A method with its current version.
pub type MethodRow = (Method, MethodVersion);

/// Filters of the catalogue list.
#[derive(Debug, Default, Clone)]
pub struct MethodFilter {
    /// Part of the code, name, analyte or technique.
    pub text: Option<String>,
    pub include_retired: bool,
}

/// The catalogue, by code, one page after `after` (a code), and the code the next page starts
/// after, if there is one.
pub fn list(
    conn: &mut DbConn,
    filter: &MethodFilter,
    after: Option<&str>,
    page_size: i64,
) -> QueryResult<(Vec<MethodRow>, Option<String>)> {
    let mut query = methods::table
        .inner_join(
            method_versions::table.on(method_versions::method_id
                .eq(methods::id)
                .and(method_versions::version_no.eq(methods::current_version))),
        )
        .select((Method::as_select(), MethodVersion::as_select()))
        .order(methods::code.asc())
        .limit(page_size + 1)
        .into_boxed();
    if !filter.include_retired {
        query = query.filter(methods::retired_at.is_null());
    }
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
        query = query.filter(
            lower(methods::code)
                .like(pattern.clone())
                .or(lower(method_versions::name).like(pattern.clone()))
                .or(lower(method_versions::analyte.assume_not_null()).like(pattern.clone()))
                .or(lower(method_versions::technique.assume_not_null()).like(pattern)),
        );
    }
    if let Some(code) = after {
        query = query.filter(methods::code.gt(code.to_string()));
    }
    let mut rows = query.load(conn)?;
    let next = if rows.len() as i64 > page_size {
        rows.truncate(page_size as usize);
        rows.last().map(|(m, _)| m.code.clone())
    } else {
        None
    };
    Ok((rows, next))
}

/// Methods in use (not retired) with their current name, by code: for choice lists and the
/// authorization matrix.
pub fn in_use(conn: &mut DbConn) -> QueryResult<Vec<(Method, MethodVersion)>> {
    methods::table
        .inner_join(
            method_versions::table.on(method_versions::method_id
                .eq(methods::id)
                .and(method_versions::version_no.eq(methods::current_version))),
        )
        .filter(methods::retired_at.is_null())
        .order(methods::code.asc())
        .select((Method::as_select(), MethodVersion::as_select()))
        .load(conn)
}

fn insert_version(
    conn: &mut DbConn,
    who: &Handler,
    method_id: &MethodId,
    version_no: i32,
    content: &VersionContent,
    change_reason: Option<&str>,
) -> Result<MethodVersion, AppError> {
    let id = MethodVersionId::new_v7();
    diesel::insert_into(method_versions::table)
        .values(NewVersion {
            id: id.clone(),
            method_id,
            version_no,
            content: content.clone(),
            change_reason,
            created_by: &who.user_id,
            created_at: now(),
        })
        .execute(conn)?;
    Ok(find_version(conn, &id)?)
}

/// Adds a method with its first version.
pub fn create(
    conn: &mut DbConn,
    who: &Handler,
    input: &MethodInput,
) -> Result<(Method, MethodVersion), AppError> {
    let code = normalize_code(&input.code);
    let mut errors = FieldErrors::default();
    check_code(&code, &mut errors);
    let content = check_content(input, &mut errors);
    errors.into_result()?;
    let content =
        content.ok_or_else(|| AppError::invalid("result_kind", "validation.choose_one"))?;
    write_tx(conn, |conn| {
        if find_by_code(conn, &code)?.is_some() {
            return Err(AppError::invalid("code", "methods.code_taken"));
        }
        let id = MethodId::new_v7();
        let t = now();
        diesel::insert_into(methods::table)
            .values(NewMethod {
                id: &id,
                code: &code,
                current_version: 1,
                created_by: &who.user_id,
                created_at: t,
                updated_at: t,
            })
            .execute(conn)
            .map_err(|e| AppError::from(e).unique_as("code", "methods.code_taken"))?;
        let version = insert_version(conn, who, &id, 1, &content, None)?;
        audit::record(
            conn,
            &who.actor,
            "create",
            "method",
            Some(id.as_str()),
            None::<&()>,
            Some(&serde_json::json!({ "code": code, "version": version.snapshot() })),
        )?;
        Ok((find(conn, &id)?, version))
    })
}

/// Makes the next version of a method from the form; the old versions stay as they are.
pub fn new_version(
    conn: &mut DbConn,
    who: &Handler,
    id: &MethodId,
    input: &MethodInput,
) -> Result<MethodVersion, AppError> {
    let mut errors = FieldErrors::default();
    let content = check_content(input, &mut errors);
    let reason = required_text(&mut errors, "change_reason", &input.change_reason, 500);
    errors.into_result()?;
    let content =
        content.ok_or_else(|| AppError::invalid("result_kind", "validation.choose_one"))?;
    write_tx(conn, |conn| {
        let (method, current) = find_current(conn, id)?;
        if method.is_retired() {
            return Err(AppError::Forbidden("methods.retired_no_edit"));
        }
        if content == content_of(&current) {
            return Err(AppError::invalid(
                "change_reason",
                "methods.nothing_changed",
            ));
        }
        let next = method.current_version + 1;
        let version = insert_version(conn, who, id, next, &content, Some(&reason))?;
        // Two admins saving at once: the second finds the version number taken and is told to
        // look again rather than silently overwriting.
        let moved = diesel::update(
            methods::table
                .find(id)
                .filter(methods::current_version.eq(method.current_version)),
        )
        .set((
            methods::current_version.eq(next),
            methods::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if moved != 1 {
            return Err(AppError::invalid(
                "change_reason",
                "methods.changed_meanwhile",
            ));
        }
        audit::record(
            conn,
            &who.actor,
            "new_version",
            "method",
            Some(id.as_str()),
            Some(&current.snapshot()),
            Some(&version.snapshot()),
        )?;
        Ok(version)
    })
    .map_err(|e: AppError| e.unique_as("change_reason", "methods.changed_meanwhile"))
}

fn content_of(v: &MethodVersion) -> VersionContent {
    VersionContent {
        name: v.name.clone(),
        analyte: v.analyte.clone(),
        technique: v.technique.clone(),
        reference: v.reference.clone(),
        result_kind: v.result_kind,
        unit: v.unit.clone(),
        decimals: v.decimals,
        spec_min: v.spec_min,
        spec_min_inclusive: v.spec_min_inclusive,
        spec_max: v.spec_max,
        spec_max_inclusive: v.spec_max_inclusive,
        expected_value: v.expected_value.clone(),
        qualitative_options: v.qualitative_options.clone(),
        lod: v.lod,
        loq: v.loq,
        uncertainty_value: v.uncertainty_value,
        uncertainty_mode: v.uncertainty_mode,
        coverage_factor: v.coverage_factor,
        confidence_percent: v.confidence_percent,
        decision_rule: v.decision_rule,
        guard_band: v.guard_band,
        accredited: v.accredited,
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct RetireInput {
    #[serde(default)]
    pub retirement_reason: String,
}

/// Takes a method out of the catalogue for new work; its versions and results stay.
pub fn retire(
    conn: &mut DbConn,
    who: &Handler,
    id: &MethodId,
    input: &RetireInput,
) -> Result<Method, AppError> {
    let mut errors = FieldErrors::default();
    let reason = required_text(
        &mut errors,
        "retirement_reason",
        &input.retirement_reason,
        500,
    );
    errors.into_result()?;
    write_tx(conn, |conn| {
        let before = find(conn, id)?;
        if before.is_retired() {
            return Err(AppError::invalid(
                "retirement_reason",
                "methods.already_retired",
            ));
        }
        let t = now();
        diesel::update(methods::table.find(id))
            .set((
                methods::retired_at.eq(t),
                methods::retired_by.eq(&who.user_id),
                methods::retirement_reason.eq(&reason),
                methods::updated_at.eq(t),
            ))
            .execute(conn)?;
        let after = find(conn, id)?;
        audit::record(
            conn,
            &who.actor,
            "retire",
            "method",
            Some(id.as_str()),
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(min: &str, max: &str) -> MethodInput {
        MethodInput {
            name: "Sacarosa".into(),
            spec_min: min.into(),
            spec_max: max.into(),
            decision_rule: "simple_acceptance".into(),
            ..MethodInput::blank()
        }
    }

    fn problems(input: &MethodInput) -> FieldErrors {
        let mut errors = FieldErrors::default();
        check_content(input, &mut errors);
        errors
    }

    #[test]
    fn limits_in_order_and_rule_only_with_a_specification() {
        assert!(problems(&numeric("1", "2")).is_empty());
        assert_eq!(
            problems(&numeric("2", "1")).get("spec_max"),
            Some("methods.spec_order")
        );
        // Equal limits conform only as a point both ends include.
        assert!(problems(&numeric("2", "2")).is_empty());
        let open = MethodInput {
            spec_max_inclusive: None,
            ..numeric("2", "2")
        };
        assert_eq!(problems(&open).get("spec_max"), Some("methods.spec_order"));
        let no_spec = numeric("", "");
        assert_eq!(
            problems(&no_spec).get("decision_rule"),
            Some("methods.rule_without_spec")
        );
        let no_rule = MethodInput {
            decision_rule: String::new(),
            ..numeric("1", "")
        };
        assert_eq!(
            problems(&no_rule).get("decision_rule"),
            Some("methods.rule_required")
        );
    }

    #[test]
    fn guard_band_and_uncertainty_are_whole() {
        let band = MethodInput {
            decision_rule: "guard_band".into(),
            ..numeric("1", "2")
        };
        assert_eq!(
            problems(&band).get("guard_band"),
            Some("methods.guard_band_required")
        );
        let wide = MethodInput {
            guard_band: "0,5".into(),
            ..band.clone()
        };
        assert_eq!(
            problems(&wide).get("guard_band"),
            Some("methods.guard_band_too_wide")
        );
        assert!(problems(&MethodInput {
            guard_band: "0,1".into(),
            ..band
        })
        .is_empty());
        let half = MethodInput {
            uncertainty_value: "0,2".into(),
            ..numeric("1", "2")
        };
        let errors = problems(&half);
        assert_eq!(
            errors.get("coverage_factor"),
            Some("methods.uncertainty_incomplete")
        );
        assert_eq!(
            errors.get("uncertainty_mode"),
            Some("validation.choose_one")
        );
    }

    #[test]
    fn decimals_kind_and_findings() {
        let many = MethodInput {
            decimals: "9".into(),
            ..numeric("", "")
        };
        assert_eq!(
            problems(&many).get("decimals"),
            Some("methods.decimals_range")
        );
        let unknown = MethodInput {
            result_kind: "colour".into(),
            ..MethodInput::blank()
        };
        assert_eq!(
            problems(&unknown).get("result_kind"),
            Some("validation.choose_one")
        );
        let qualitative = MethodInput {
            name: "FTIR".into(),
            result_kind: "qualitative".into(),
            qualitative_options: "Detectado\nNo detectado".into(),
            expected_value: "Quizás".into(),
            decision_rule: "simple_acceptance".into(),
            ..MethodInput::blank()
        };
        assert_eq!(
            problems(&qualitative).get("expected_value"),
            Some("methods.expected_not_option")
        );
        let fine = MethodInput {
            expected_value: "No detectado".into(),
            ..qualitative.clone()
        };
        assert!(problems(&fine).is_empty());
        let with_number = MethodInput {
            lod: "0,1".into(),
            ..fine
        };
        assert_eq!(
            problems(&with_number).get("lod"),
            Some("methods.numeric_only")
        );
    }
}
