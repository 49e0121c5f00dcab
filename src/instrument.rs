//! Instruments (ISO/IEC 17025 6.4–6.5): the inventory, calibration and maintenance records,
//! and whether an instrument may be used on a given day. Calibration and maintenance records
//! are append-only; a correction is a new record that supersedes the wrong one, with a reason.
//! The instrument row keeps the due date of the calibration in force, written in the same
//! transaction as each calibration record, so the due list is an index read.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Handler};
use crate::correction;
use crate::db::schema::{calibration_records, instruments, maintenance_records};
use crate::db::{lower, now, text_enum, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{CalibrationId, InstrumentId, MaintenanceId, UserId};
use crate::validation::{optional_text, required_date, required_text, FieldErrors};

/// How far ahead the due list looks.
pub const DUE_SOON_DAYS: i64 = 30;

text_enum!(
    InstrumentStatus {
        InService => "in_service",
        OutOfService => "out_of_service",
        Retired => "retired",
    }
);

text_enum!(
    /// The outcome a calibration certificate states.
    CalibrationResult {
        Pass => "pass",
        Adjusted => "adjusted",
        Fail => "fail",
    }
);

text_enum!(
    MaintenanceKind {
        Preventive => "preventive",
        Corrective => "corrective",
        Verification => "verification",
    }
);

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = instruments, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Instrument {
    pub id: InstrumentId,
    pub asset_tag: String,
    pub name: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    pub location: Option<String>,
    pub calibration_required: bool,
    pub calibration_interval_months: Option<i32>,
    pub calibration_due_on: Option<String>,
    pub status: InstrumentStatus,
    pub status_reason: Option<String>,
    pub status_changed_at: Option<NaiveDateTime>,
    pub status_changed_by: Option<UserId>,
    pub created_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Where an instrument stands with its calibration on a given day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueState {
    /// Needs no calibration (e.g. a stirrer).
    NotRequired,
    /// Calibrated, due more than `DUE_SOON_DAYS` ahead.
    Valid,
    /// Calibrated, due within `DUE_SOON_DAYS`.
    DueSoon,
    /// Past its due date (or its last calibration failed).
    Overdue,
    /// Needs calibration and has none on record.
    Missing,
}

impl DueState {
    pub fn as_str(self) -> &'static str {
        match self {
            DueState::NotRequired => "not_required",
            DueState::Valid => "valid",
            DueState::DueSoon => "due_soon",
            DueState::Overdue => "overdue",
            DueState::Missing => "missing",
        }
    }

    /// Whether a result may be recorded against the instrument on that day (as far as its
    /// calibration goes).
    pub fn usable(self) -> bool {
        matches!(
            self,
            DueState::NotRequired | DueState::Valid | DueState::DueSoon
        )
    }
}

impl Instrument {
    pub fn due_date(&self) -> Option<NaiveDate> {
        self.calibration_due_on
            .as_deref()
            .and_then(crate::validation::parse_date)
    }

    /// The calibration state on `today`; due on the day itself still counts as in calibration.
    pub fn due_state(&self, today: NaiveDate) -> DueState {
        if !self.calibration_required {
            return DueState::NotRequired;
        }
        match self.due_date() {
            None => DueState::Missing,
            Some(due) if due < today => DueState::Overdue,
            Some(due) if due <= today + chrono::TimeDelta::days(DUE_SOON_DAYS) => DueState::DueSoon,
            Some(_) => DueState::Valid,
        }
    }

    pub fn in_service(&self) -> bool {
        self.status == InstrumentStatus::InService
    }

    /// Retired for good: no more records or status changes.
    pub fn is_retired(&self) -> bool {
        self.status == InstrumentStatus::Retired
    }
}

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = calibration_records, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct CalibrationRecord {
    pub id: CalibrationId,
    pub instrument_id: InstrumentId,
    pub performed_on: String,
    pub performed_by: String,
    pub certificate_number: Option<String>,
    pub result: CalibrationResult,
    pub next_due_on: String,
    pub notes: Option<String>,
    pub supersedes_id: Option<CalibrationId>,
    pub correction_reason: Option<String>,
    pub recorded_by: UserId,
    pub recorded_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = maintenance_records, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct MaintenanceRecord {
    pub id: MaintenanceId,
    pub instrument_id: InstrumentId,
    pub performed_on: String,
    pub performed_by: String,
    pub kind: MaintenanceKind,
    pub description: String,
    pub supersedes_id: Option<MaintenanceId>,
    pub correction_reason: Option<String>,
    pub recorded_by: UserId,
    pub recorded_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = instruments)]
struct NewInstrument<'a> {
    id: &'a InstrumentId,
    asset_tag: &'a str,
    #[diesel(embed)]
    details: Details,
    status: InstrumentStatus,
    created_by: &'a UserId,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// What an admin may set and change about an instrument.
#[derive(Insertable, AsChangeset, Debug, Clone, Serialize)]
#[diesel(table_name = instruments, treat_none_as_null = true)]
struct Details {
    name: String,
    manufacturer: Option<String>,
    model: Option<String>,
    serial_number: Option<String>,
    location: Option<String>,
    calibration_required: bool,
    calibration_interval_months: Option<i32>,
}

#[derive(Insertable)]
#[diesel(table_name = calibration_records)]
struct NewCalibration<'a> {
    id: &'a CalibrationId,
    instrument_id: &'a InstrumentId,
    performed_on: String,
    performed_by: &'a str,
    certificate_number: Option<&'a str>,
    result: CalibrationResult,
    next_due_on: String,
    notes: Option<&'a str>,
    supersedes_id: Option<&'a CalibrationId>,
    correction_reason: Option<&'a str>,
    recorded_by: &'a UserId,
    recorded_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = maintenance_records)]
struct NewMaintenance<'a> {
    id: &'a MaintenanceId,
    instrument_id: &'a InstrumentId,
    performed_on: String,
    performed_by: &'a str,
    kind: MaintenanceKind,
    description: &'a str,
    supersedes_id: Option<&'a MaintenanceId>,
    correction_reason: Option<&'a str>,
    recorded_by: &'a UserId,
    recorded_at: NaiveDateTime,
}

/// The inventory form.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct InstrumentInput {
    pub asset_tag: String,
    pub name: String,
    pub manufacturer: String,
    pub model: String,
    pub serial_number: String,
    pub location: String,
    /// Checkbox: present when the instrument needs calibration.
    pub calibration_required: Option<String>,
    pub calibration_interval_months: String,
}

impl InstrumentInput {
    pub fn from_instrument(i: &Instrument) -> InstrumentInput {
        let text = |x: &Option<String>| x.clone().unwrap_or_default();
        InstrumentInput {
            asset_tag: i.asset_tag.clone(),
            name: i.name.clone(),
            manufacturer: text(&i.manufacturer),
            model: text(&i.model),
            serial_number: text(&i.serial_number),
            location: text(&i.location),
            calibration_required: i.calibration_required.then(|| "on".into()),
            calibration_interval_months: i
                .calibration_interval_months
                .map(|m| m.to_string())
                .unwrap_or_default(),
        }
    }
}

pub fn normalize_tag(text: &str) -> String {
    text.trim().to_uppercase()
}

fn check_details(input: &InstrumentInput, errors: &mut FieldErrors) -> Details {
    let interval = match input.calibration_interval_months.trim() {
        "" => None,
        text => match text.parse::<i32>() {
            Ok(m) if (1..=120).contains(&m) => Some(m),
            _ => {
                errors.add("calibration_interval_months", "instruments.interval_range");
                None
            }
        },
    };
    Details {
        name: required_text(errors, "name", &input.name, 200),
        manufacturer: optional_text(errors, "manufacturer", &input.manufacturer, 120),
        model: optional_text(errors, "model", &input.model, 120),
        serial_number: optional_text(errors, "serial_number", &input.serial_number, 120),
        location: optional_text(errors, "location", &input.location, 200),
        calibration_required: input.calibration_required.is_some(),
        calibration_interval_months: interval,
    }
}

pub fn find(conn: &mut DbConn, id: &InstrumentId) -> QueryResult<Instrument> {
    instruments::table
        .find(id)
        .select(Instrument::as_select())
        .first(conn)
}

pub fn find_by_tag(conn: &mut DbConn, tag: &str) -> QueryResult<Option<Instrument>> {
    instruments::table
        .filter(instruments::asset_tag.eq(normalize_tag(tag)))
        .select(Instrument::as_select())
        .first(conn)
        .optional()
}

pub fn create(
    conn: &mut DbConn,
    who: &Handler,
    input: &InstrumentInput,
) -> Result<Instrument, AppError> {
    let tag = normalize_tag(&input.asset_tag);
    let mut errors = FieldErrors::default();
    if tag.is_empty() {
        errors.add("asset_tag", "validation.required");
    } else if tag.chars().count() > 40 {
        errors.add("asset_tag", "validation.too_long");
    }
    let details = check_details(input, &mut errors);
    errors.into_result()?;
    write_tx(conn, |conn| {
        if find_by_tag(conn, &tag)?.is_some() {
            return Err(AppError::invalid("asset_tag", "instruments.tag_taken"));
        }
        let id = InstrumentId::new_v7();
        let t = now();
        diesel::insert_into(instruments::table)
            .values(NewInstrument {
                id: &id,
                asset_tag: &tag,
                details: details.clone(),
                status: InstrumentStatus::InService,
                created_by: &who.user_id,
                created_at: t,
                updated_at: t,
            })
            .execute(conn)
            .map_err(|e| AppError::from(e).unique_as("asset_tag", "instruments.tag_taken"))?;
        let created = find(conn, &id)?;
        audit::record(
            conn,
            &who.actor,
            "create",
            "instrument",
            Some(id.as_str()),
            None::<&()>,
            Some(&created),
        )?;
        Ok(created)
    })
}

/// Changes what the inventory says about an instrument; its asset tag stays, as labels and
/// records cite it.
pub fn update(
    conn: &mut DbConn,
    who: &Handler,
    id: &InstrumentId,
    input: &InstrumentInput,
) -> Result<Instrument, AppError> {
    let mut errors = FieldErrors::default();
    let details = check_details(input, &mut errors);
    errors.into_result()?;
    write_tx(conn, |conn| {
        let before = find(conn, id)?;
        diesel::update(instruments::table.find(id))
            .set((&details, instruments::updated_at.eq(now())))
            .execute(conn)?;
        let after = find(conn, id)?;
        audit::record(
            conn,
            &who.actor,
            "update",
            "instrument",
            Some(id.as_str()),
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct StatusInput {
    pub status: String,
    pub status_reason: String,
}

/// Puts an instrument out of service or retires it (with a reason), or back into service.
/// Retirement is final.
pub fn set_status(
    conn: &mut DbConn,
    who: &Handler,
    id: &InstrumentId,
    input: &StatusInput,
) -> Result<Instrument, AppError> {
    let mut errors = FieldErrors::default();
    let status = InstrumentStatus::parse(&input.status);
    if status.is_none() {
        errors.add("status", "validation.choose_one");
    }
    let reason = optional_text(&mut errors, "status_reason", &input.status_reason, 500);
    if status.is_some_and(|s| s != InstrumentStatus::InService) && reason.is_none() {
        errors.add("status_reason", "instruments.reason_required");
    }
    errors.into_result()?;
    let status = status.ok_or_else(|| AppError::invalid("status", "validation.choose_one"))?;
    write_tx(conn, |conn| {
        let before = find(conn, id)?;
        if before.status == InstrumentStatus::Retired {
            return Err(AppError::invalid("status", "instruments.retired_final"));
        }
        if before.status == status {
            return Err(AppError::invalid("status", "instruments.status_unchanged"));
        }
        let t = now();
        diesel::update(instruments::table.find(id))
            .set((
                instruments::status.eq(status),
                instruments::status_reason.eq(&reason),
                instruments::status_changed_at.eq(t),
                instruments::status_changed_by.eq(&who.user_id),
                instruments::updated_at.eq(t),
            ))
            .execute(conn)?;
        let after = find(conn, id)?;
        audit::record(
            conn,
            &who.actor,
            "set_status",
            "instrument",
            Some(id.as_str()),
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Filters of the inventory list.
#[derive(Debug, Default, Clone)]
pub struct InstrumentFilter {
    /// Part of the asset tag, name, model or serial number.
    pub text: Option<String>,
    pub status: Option<InstrumentStatus>,
}

/// The inventory by asset tag, one page after `after` (a tag), and the tag the next page
/// starts after, if there is one.
pub fn list(
    conn: &mut DbConn,
    filter: &InstrumentFilter,
    after: Option<&str>,
    page_size: i64,
) -> QueryResult<(Vec<Instrument>, Option<String>)> {
    let mut query = instruments::table
        .select(Instrument::as_select())
        .order(instruments::asset_tag.asc())
        .limit(page_size + 1)
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(instruments::status.eq(status));
    }
    if let Some(text) = &filter.text {
        let pattern = format!("%{}%", text.to_lowercase().replace(['%', '_'], ""));
        query = query.filter(
            lower(instruments::asset_tag)
                .like(pattern.clone())
                .or(lower(instruments::name).like(pattern.clone()))
                .or(lower(instruments::model.assume_not_null()).like(pattern.clone()))
                .or(lower(instruments::serial_number.assume_not_null()).like(pattern)),
        );
    }
    if let Some(tag) = after {
        query = query.filter(instruments::asset_tag.gt(tag.to_string()));
    }
    let mut rows = query.load(conn)?;
    let next = if rows.len() as i64 > page_size {
        rows.truncate(page_size as usize);
        rows.last().map(|i| i.asset_tag.clone())
    } else {
        None
    };
    Ok((rows, next))
}

fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Where the due list's next page starts: the last row's due date (empty for none on record)
/// and asset tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCursor {
    pub due: String,
    pub tag: String,
}

impl DueCursor {
    pub fn encode(&self) -> String {
        format!("{}|{}", self.due, self.tag)
    }

    pub fn decode(text: &str) -> Option<DueCursor> {
        let (due, tag) = text.split_once('|')?;
        Some(DueCursor {
            due: due.to_string(),
            tag: tag.to_string(),
        })
    }
}

/// The last due date the due list shows: `DUE_SOON_DAYS` ahead. No due date on record reads
/// as the empty text, which sorts first.
fn horizon(today: NaiveDate) -> String {
    iso(today + chrono::TimeDelta::days(DUE_SOON_DAYS))
}

diesel::define_sql_function! {
    /// SQL `coalesce()` of a nullable text and a default.
    fn coalesce(x: diesel::sql_types::Nullable<diesel::sql_types::Text>, y: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Instruments in service that need calibration and have none on record, are overdue, or are
/// due within `DUE_SOON_DAYS`: most urgent first (none on record, then by due date).
pub fn due_list(
    conn: &mut DbConn,
    today: NaiveDate,
    after: Option<&DueCursor>,
    page_size: i64,
) -> QueryResult<(Vec<Instrument>, Option<DueCursor>)> {
    let key = coalesce(instruments::calibration_due_on, "");
    let mut query = instruments::table
        .filter(instruments::status.eq(InstrumentStatus::InService))
        .filter(instruments::calibration_required.eq(true))
        .filter(key.le(horizon(today)))
        .select(Instrument::as_select())
        .order((key.asc(), instruments::asset_tag.asc()))
        .limit(page_size + 1)
        .into_boxed();
    if let Some(c) = after {
        query = query.filter(
            coalesce(instruments::calibration_due_on, "")
                .gt(c.due.clone())
                .or(coalesce(instruments::calibration_due_on, "")
                    .eq(c.due.clone())
                    .and(instruments::asset_tag.gt(c.tag.clone()))),
        );
    }
    let mut rows = query.load(conn)?;
    let next = if rows.len() as i64 > page_size {
        rows.truncate(page_size as usize);
        rows.last().map(|i| DueCursor {
            due: i.calibration_due_on.clone().unwrap_or_default(),
            tag: i.asset_tag.clone(),
        })
    } else {
        None
    };
    Ok((rows, next))
}

/// How many instruments the due list holds (the supervisor's start page shows it).
pub fn due_count(conn: &mut DbConn, today: NaiveDate) -> QueryResult<i64> {
    instruments::table
        .filter(instruments::status.eq(InstrumentStatus::InService))
        .filter(instruments::calibration_required.eq(true))
        .filter(coalesce(instruments::calibration_due_on, "").le(horizon(today)))
        .count()
        .get_result(conn)
}

/// Every calibration record of an instrument, newest first (corrected ones included).
pub fn calibrations(conn: &mut DbConn, id: &InstrumentId) -> QueryResult<Vec<CalibrationRecord>> {
    calibration_records::table
        .filter(calibration_records::instrument_id.eq(id))
        .order((
            calibration_records::performed_on.desc(),
            calibration_records::recorded_at.desc(),
        ))
        .select(CalibrationRecord::as_select())
        .load(conn)
}

/// Every maintenance record of an instrument, newest first (corrected ones included).
pub fn maintenance(conn: &mut DbConn, id: &InstrumentId) -> QueryResult<Vec<MaintenanceRecord>> {
    maintenance_records::table
        .filter(maintenance_records::instrument_id.eq(id))
        .order((
            maintenance_records::performed_on.desc(),
            maintenance_records::recorded_at.desc(),
        ))
        .select(MaintenanceRecord::as_select())
        .load(conn)
}

/// The calibration in force on `on`: the latest uncorrected record performed on or before
/// that day. Whether it allows use is its result and due date.
pub fn calibration_in_force(
    conn: &mut DbConn,
    id: &InstrumentId,
    on: NaiveDate,
) -> QueryResult<Option<CalibrationRecord>> {
    let records = calibrations(conn, id)?;
    let corrected = correction::superseded(records.iter().map(|r| &r.supersedes_id));
    let day = iso(on);
    Ok(records
        .into_iter()
        .find(|r| !corrected.contains(&r.id) && r.performed_on <= day))
}

/// The instrument's due date from its records: the next due date of the newest uncorrected
/// calibration, or its date when it failed (the instrument is then overdue at once).
fn due_from_records(records: &[CalibrationRecord]) -> Option<String> {
    let corrected = correction::superseded(records.iter().map(|r| &r.supersedes_id));
    records
        .iter()
        .find(|r| !corrected.contains(&r.id))
        .map(|r| match r.result {
            CalibrationResult::Fail => r.performed_on.clone(),
            _ => r.next_due_on.clone(),
        })
}

/// A calibration record as typed.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct CalibrationInput {
    pub performed_on: String,
    pub performed_by: String,
    pub certificate_number: String,
    pub result: String,
    pub next_due_on: String,
    pub notes: String,
    /// Asked only when the record corrects an earlier one.
    pub correction_reason: String,
}

impl CalibrationInput {
    pub fn from_record(r: &CalibrationRecord) -> CalibrationInput {
        CalibrationInput {
            performed_on: r.performed_on.clone(),
            performed_by: r.performed_by.clone(),
            certificate_number: r.certificate_number.clone().unwrap_or_default(),
            result: r.result.as_str().into(),
            next_due_on: r.next_due_on.clone(),
            notes: r.notes.clone().unwrap_or_default(),
            correction_reason: String::new(),
        }
    }
}

/// A day of work done: not after today.
fn check_done_on(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    today: NaiveDate,
) -> Option<NaiveDate> {
    let date = required_date(errors, field, value)?;
    if date > today {
        errors.add(field, "validation.not_in_future");
        return None;
    }
    Some(date)
}

/// The reason of a correction, or `None` for a first record.
fn check_correction<I>(
    errors: &mut FieldErrors,
    corrects: Option<&I>,
    reason: &str,
) -> Option<String> {
    corrects.map(|_| required_text(errors, "correction_reason", reason, 500))
}

/// Records a calibration of an instrument, or the correction of an earlier record
/// (`corrects`), and moves the instrument's due date to the calibration now in force.
pub fn record_calibration(
    conn: &mut DbConn,
    who: &Handler,
    instrument_id: &InstrumentId,
    corrects: Option<&CalibrationId>,
    input: &CalibrationInput,
    today: NaiveDate,
) -> Result<CalibrationRecord, AppError> {
    let mut errors = FieldErrors::default();
    let performed_on = check_done_on(&mut errors, "performed_on", &input.performed_on, today);
    let performed_by = required_text(&mut errors, "performed_by", &input.performed_by, 200);
    let certificate = optional_text(
        &mut errors,
        "certificate_number",
        &input.certificate_number,
        100,
    );
    let result = CalibrationResult::parse(&input.result);
    if result.is_none() {
        errors.add("result", "validation.choose_one");
    }
    let next_due = required_date(&mut errors, "next_due_on", &input.next_due_on);
    if let (Some(done), Some(due)) = (performed_on, next_due) {
        if due <= done {
            errors.add("next_due_on", "instruments.due_after_calibration");
        }
    }
    let notes = optional_text(&mut errors, "notes", &input.notes, 1000);
    let reason = check_correction(&mut errors, corrects, &input.correction_reason);
    errors.into_result()?;
    let (Some(performed_on), Some(result), Some(next_due)) = (performed_on, result, next_due)
    else {
        return Err(AppError::invalid("performed_on", "validation.required"));
    };
    write_tx(conn, |conn| {
        let instrument = find(conn, instrument_id)?;
        if instrument.status == InstrumentStatus::Retired {
            return Err(AppError::Forbidden("instruments.retired_no_records"));
        }
        let before = calibrations(conn, instrument_id)?;
        if let Some(old) = corrects {
            correction::check_correctable(before.iter().map(|r| (&r.id, &r.supersedes_id)), old)?;
        }
        let id = CalibrationId::new_v7();
        diesel::insert_into(calibration_records::table)
            .values(NewCalibration {
                id: &id,
                instrument_id,
                performed_on: iso(performed_on),
                performed_by: &performed_by,
                certificate_number: certificate.as_deref(),
                result,
                next_due_on: iso(next_due),
                notes: notes.as_deref(),
                supersedes_id: corrects,
                correction_reason: reason.as_deref(),
                recorded_by: &who.user_id,
                recorded_at: now(),
            })
            .execute(conn)
            .map_err(correction::insert_error)?;
        let records = calibrations(conn, instrument_id)?;
        let due = due_from_records(&records);
        diesel::update(instruments::table.find(instrument_id))
            .set((
                instruments::calibration_due_on.eq(&due),
                instruments::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let record = records
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(AppError::NotFound)?;
        correction::audit_new(
            conn,
            &who.actor,
            corrects.is_some(),
            "calibration_record",
            id.as_str(),
            &serde_json::json!({
                "record": &record,
                "instrument": instrument.asset_tag,
                "due_before": instrument.calibration_due_on,
                "due_after": due,
            }),
        )?;
        Ok(record)
    })
}

/// A maintenance record as typed.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct MaintenanceInput {
    pub performed_on: String,
    pub performed_by: String,
    pub maintenance_kind: String,
    pub description: String,
    pub correction_reason: String,
}

impl MaintenanceInput {
    pub fn from_record(r: &MaintenanceRecord) -> MaintenanceInput {
        MaintenanceInput {
            performed_on: r.performed_on.clone(),
            performed_by: r.performed_by.clone(),
            maintenance_kind: r.kind.as_str().into(),
            description: r.description.clone(),
            correction_reason: String::new(),
        }
    }
}

/// Records maintenance of an instrument, or the correction of an earlier record.
pub fn record_maintenance(
    conn: &mut DbConn,
    who: &Handler,
    instrument_id: &InstrumentId,
    corrects: Option<&MaintenanceId>,
    input: &MaintenanceInput,
    today: NaiveDate,
) -> Result<MaintenanceRecord, AppError> {
    let mut errors = FieldErrors::default();
    let performed_on = check_done_on(&mut errors, "performed_on", &input.performed_on, today);
    let performed_by = required_text(&mut errors, "performed_by", &input.performed_by, 200);
    let kind = MaintenanceKind::parse(&input.maintenance_kind);
    if kind.is_none() {
        errors.add("maintenance_kind", "validation.choose_one");
    }
    let description = required_text(&mut errors, "description", &input.description, 2000);
    let reason = check_correction(&mut errors, corrects, &input.correction_reason);
    errors.into_result()?;
    let (Some(performed_on), Some(kind)) = (performed_on, kind) else {
        return Err(AppError::invalid("performed_on", "validation.required"));
    };
    write_tx(conn, |conn| {
        let instrument = find(conn, instrument_id)?;
        if instrument.status == InstrumentStatus::Retired {
            return Err(AppError::Forbidden("instruments.retired_no_records"));
        }
        if let Some(old) = corrects {
            let before = maintenance(conn, instrument_id)?;
            correction::check_correctable(before.iter().map(|r| (&r.id, &r.supersedes_id)), old)?;
        }
        let id = MaintenanceId::new_v7();
        diesel::insert_into(maintenance_records::table)
            .values(NewMaintenance {
                id: &id,
                instrument_id,
                performed_on: iso(performed_on),
                performed_by: &performed_by,
                kind,
                description: &description,
                supersedes_id: corrects,
                correction_reason: reason.as_deref(),
                recorded_by: &who.user_id,
                recorded_at: now(),
            })
            .execute(conn)
            .map_err(correction::insert_error)?;
        let record = maintenance_records::table
            .find(&id)
            .select(MaintenanceRecord::as_select())
            .first(conn)?;
        correction::audit_new(
            conn,
            &who.actor,
            corrects.is_some(),
            "maintenance_record",
            id.as_str(),
            &serde_json::json!({ "record": &record, "instrument": instrument.asset_tag }),
        )?;
        Ok(record)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instrument(required: bool, due: Option<&str>) -> Instrument {
        let t = chrono::DateTime::from_timestamp(0, 0).unwrap().naive_utc();
        Instrument {
            id: InstrumentId::new_v7(),
            asset_tag: "EQ-1".into(),
            name: "Balanza".into(),
            manufacturer: None,
            model: None,
            serial_number: None,
            location: None,
            calibration_required: required,
            calibration_interval_months: None,
            calibration_due_on: due.map(str::to_string),
            status: InstrumentStatus::InService,
            status_reason: None,
            status_changed_at: None,
            status_changed_by: None,
            created_by: UserId::new_v7(),
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn due_states_around_today() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(
            instrument(false, None).due_state(today),
            DueState::NotRequired
        );
        assert_eq!(instrument(true, None).due_state(today), DueState::Missing);
        assert_eq!(
            instrument(true, Some("2026-02-28")).due_state(today),
            DueState::Overdue
        );
        // Due today is still in calibration today.
        assert_eq!(
            instrument(true, Some("2026-03-01")).due_state(today),
            DueState::DueSoon
        );
        assert_eq!(
            instrument(true, Some("2026-03-31")).due_state(today),
            DueState::DueSoon
        );
        assert_eq!(
            instrument(true, Some("2026-04-01")).due_state(today),
            DueState::Valid
        );
        assert!(!DueState::Overdue.usable() && !DueState::Missing.usable());
    }
}
