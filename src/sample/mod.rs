//! Samples: lab codes, registration with a seizure, sub-samples, lists and lookups.

pub mod movement;
pub mod receipt;

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::counter;
use crate::custody::{self, EventKind, NewEvent};
use crate::db::schema::{samples, seizures};
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{SampleId, SeizureId, StorageLocationId, UserId};
use crate::seizure::Seizure;
use crate::validation::{
    check_identifier, optional_text, parse_date, parse_decimal, required_text, FieldErrors,
};

macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text.trim() { $($text => Some($name::$variant),)* _ => None }
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// Where a sample is in its life. Terminal: returned, disposed.
    SampleStatus {
        Registered => "registered",
        Received => "received",
        Rejected => "rejected",
        InTesting => "in_testing",
        Reported => "reported",
        External => "external",
        Retained => "retained",
        Returned => "returned",
        Disposed => "disposed",
    }
);

impl SampleStatus {
    /// Work on these is over, so they are never overdue.
    pub const CLOSED: [SampleStatus; 5] = [
        SampleStatus::Reported,
        SampleStatus::Returned,
        SampleStatus::Disposed,
        SampleStatus::Rejected,
        SampleStatus::Retained,
    ];

    /// Physically in the lab's hands, so custody events can be recorded on it.
    pub fn in_lab(self) -> bool {
        matches!(
            self,
            SampleStatus::Received | SampleStatus::InTesting | SampleStatus::Reported
        )
    }

    pub fn is_final(self) -> bool {
        matches!(self, SampleStatus::Returned | SampleStatus::Disposed)
    }
}

text_enum!(
    SampleKind {
        Sample => "sample",
        Aliquot => "aliquot",
        CounterSample => "counter_sample",
        RetainedSample => "retained_sample",
        RefereeSample => "referee_sample",
    }
);

text_enum!(
    Priority {
        Routine => "routine",
        Urgent => "urgent",
    }
);

/// Units a quantity may be given in.
pub const UNITS: &[&str] = &["g", "kg", "mg", "mL", "L", "units"];

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = samples)]
pub struct Sample {
    pub id: SampleId,
    pub seizure_id: SeizureId,
    pub parent_id: Option<SampleId>,
    pub lab_code: String,
    pub kind: String,
    pub description: String,
    pub matrix: Option<String>,
    pub quantity: Option<f64>,
    pub quantity_unit: Option<String>,
    pub package_count: Option<i32>,
    pub seal_number: Option<String>,
    pub priority: String,
    pub requested_tests: Option<String>,
    pub due_date: Option<String>,
    pub status: String,
    pub storage_location_id: Option<StorageLocationId>,
    pub received_at: Option<NaiveDateTime>,
    pub reported_at: Option<NaiveDateTime>,
    pub registered_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub retained_until: Option<String>,
}

impl Sample {
    /// Unknown text (only by editing the database) reads as registered, the least capable.
    pub fn status(&self) -> SampleStatus {
        SampleStatus::parse(&self.status).unwrap_or(SampleStatus::Registered)
    }

    pub fn is_overdue(&self, today: chrono::NaiveDate) -> bool {
        let open = !SampleStatus::CLOSED.contains(&self.status());
        open && self
            .due_date
            .as_deref()
            .and_then(parse_date)
            .is_some_and(|d| d < today)
    }
}

/// One sample row as typed in a form (the seizure form has several).
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct SampleInput {
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub matrix: String,
    #[serde(default)]
    pub quantity: String,
    #[serde(default)]
    pub quantity_unit: String,
    #[serde(default)]
    pub package_count: String,
    #[serde(default)]
    pub seal_number: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub requested_tests: String,
    #[serde(default)]
    pub due_date: String,
}

impl SampleInput {
    pub fn is_blank(&self) -> bool {
        [
            &self.description,
            &self.matrix,
            &self.quantity,
            &self.package_count,
            &self.seal_number,
            &self.requested_tests,
            &self.due_date,
        ]
        .iter()
        .all(|v| v.trim().is_empty())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ValidSample {
    pub description: String,
    pub matrix: Option<String>,
    pub quantity: Option<f64>,
    pub quantity_unit: Option<String>,
    pub package_count: Option<i32>,
    pub seal_number: Option<String>,
    pub priority: Priority,
    pub requested_tests: Option<String>,
    pub due_date: Option<String>,
}

/// Seal numbers are compared as printed on the seal, without case or spacing differences.
pub fn normalize_seal(text: &str) -> Option<String> {
    let s: String = crate::validation::clean(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("");
    (!s.is_empty()).then(|| s.to_uppercase())
}

/// Validates one sample row; field names are `prefix + field` (e.g. `s0_description`).
pub fn validate(
    input: &SampleInput,
    prefix: &str,
    seal_required: bool,
    errors: &mut FieldErrors,
) -> ValidSample {
    let f = |name: &str| format!("{prefix}{name}");
    let description = required_text(errors, &f("description"), &input.description, 500);
    let matrix = optional_text(errors, &f("matrix"), &input.matrix, 120);
    let quantity = if input.quantity.trim().is_empty() {
        None
    } else {
        match parse_decimal(&input.quantity) {
            Some(q) if q > 0.0 => Some(q),
            _ => {
                errors.add(&f("quantity"), "validation.positive_number");
                None
            }
        }
    };
    let quantity_unit = match input.quantity_unit.trim() {
        "" if quantity.is_some() => {
            errors.add(&f("quantity_unit"), "validation.choose_one");
            None
        }
        "" => None,
        u if UNITS.contains(&u) => Some(u.to_string()),
        _ => {
            errors.add(&f("quantity_unit"), "validation.choose_one");
            None
        }
    };
    let package_count = if input.package_count.trim().is_empty() {
        None
    } else {
        match input.package_count.trim().parse::<i32>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                errors.add(&f("package_count"), "validation.whole_number");
                None
            }
        }
    };
    check_identifier(errors, &f("seal_number"), &input.seal_number);
    let seal_number = normalize_seal(&input.seal_number);
    if seal_required && seal_number.is_none() {
        errors.add(&f("seal_number"), "validation.seal_required");
    }
    if seal_number.as_ref().is_some_and(|s| s.len() > 60) {
        errors.add(&f("seal_number"), "validation.too_long");
    }
    let priority = Priority::parse(&input.priority).unwrap_or_else(|| {
        errors.add(&f("priority"), "validation.choose_one");
        Priority::Routine
    });
    let requested_tests =
        optional_text(errors, &f("requested_tests"), &input.requested_tests, 1000);
    let due_date = if input.due_date.trim().is_empty() {
        None
    } else {
        match parse_date(&input.due_date) {
            Some(d) => Some(d.format("%Y-%m-%d").to_string()),
            None => {
                errors.add(&f("due_date"), "validation.date_format");
                None
            }
        }
    };
    ValidSample {
        description,
        matrix,
        quantity,
        quantity_unit,
        package_count,
        seal_number,
        priority,
        requested_tests,
        due_date,
    }
}

/// The next lab code of `year`: `LAB-YYYY-NNNNNN`, from a database sequence that never
/// repeats.
pub fn allocate_lab_code(conn: &mut DbConn, year: i32) -> QueryResult<String> {
    let n = counter::next(conn, &format!("lab_code:{year}"))?;
    Ok(format!("LAB-{year}-{n:06}"))
}

pub fn lab_year(tz: chrono_tz::Tz) -> i32 {
    chrono::Utc::now().with_timezone(&tz).year()
}

/// Who registers or handles: the signed-in user as actor and as the person of record.
pub struct Handler<'a> {
    pub actor: &'a Actor,
    pub user_id: &'a UserId,
}

#[derive(Serialize)]
struct SampleSnapshot<'a> {
    lab_code: &'a str,
    seizure_id: &'a str,
    parent_id: Option<&'a str>,
    kind: &'a str,
    status: &'a str,
    description: &'a str,
    seal_number: Option<&'a str>,
    storage_location_id: Option<&'a str>,
    retained_until: Option<&'a str>,
}

impl Sample {
    fn snapshot(&self) -> SampleSnapshot<'_> {
        SampleSnapshot {
            lab_code: &self.lab_code,
            seizure_id: self.seizure_id.as_str(),
            parent_id: self.parent_id.as_ref().map(|p| p.as_str()),
            kind: &self.kind,
            status: &self.status,
            description: &self.description,
            seal_number: self.seal_number.as_deref(),
            storage_location_id: self.storage_location_id.as_ref().map(|l| l.as_str()),
            retained_until: self.retained_until.as_deref(),
        }
    }
}

/// Inserts a registered sample of a seizure with its first custody events (collected, and
/// sealed when it carries a seal). Runs inside the caller's write transaction.
pub fn insert_registered(
    conn: &mut DbConn,
    who: &Handler,
    seizure: &Seizure,
    lab_code: String,
    valid: &ValidSample,
) -> QueryResult<Sample> {
    let t = now();
    let id = SampleId::new_v7();
    diesel::insert_into(samples::table)
        .values((
            samples::id.eq(&id),
            samples::seizure_id.eq(&seizure.id),
            samples::lab_code.eq(&lab_code),
            samples::kind.eq(SampleKind::Sample.as_str()),
            samples::description.eq(&valid.description),
            samples::matrix.eq(&valid.matrix),
            samples::quantity.eq(valid.quantity),
            samples::quantity_unit.eq(&valid.quantity_unit),
            samples::package_count.eq(valid.package_count),
            samples::seal_number.eq(&valid.seal_number),
            samples::priority.eq(valid.priority.as_str()),
            samples::requested_tests.eq(&valid.requested_tests),
            samples::due_date.eq(&valid.due_date),
            samples::status.eq(SampleStatus::Registered.as_str()),
            samples::registered_by.eq(who.user_id),
            samples::created_at.eq(t),
            samples::updated_at.eq(t),
        ))
        .execute(conn)?;
    let sample = find(conn, &id)?;
    audit::record(
        conn,
        who.actor,
        "create",
        "sample",
        Some(id.as_str()),
        None::<&()>,
        Some(&sample.snapshot()),
    )?;
    custody::append(
        conn,
        who.actor,
        who.user_id,
        &id,
        NewEvent {
            occurred_at: Some(seizure.seized_at),
            to_party: Some(seizure.seizing_officer.clone()),
            place: Some(seizure.place.clone()),
            quantity: valid.quantity,
            quantity_unit: valid.quantity_unit.clone(),
            ..NewEvent::of(EventKind::Collected)
        },
    )?;
    if let Some(seal) = &valid.seal_number {
        custody::append(
            conn,
            who.actor,
            who.user_id,
            &id,
            NewEvent {
                occurred_at: Some(seizure.seized_at),
                place: Some(seizure.place.clone()),
                seal_number: Some(seal.clone()),
                seal_intact: Some(true),
                to_party: Some(seizure.seizing_officer.clone()),
                ..NewEvent::of(EventKind::Sealed)
            },
        )?;
    }
    Ok(sample)
}

/// Adds samples to an existing seizure (the seizure form adds them at registration).
pub fn add_to_seizure(
    conn: &mut DbConn,
    who: &Handler,
    seizure_id: &SeizureId,
    inputs: &[SampleInput],
    seal_required: bool,
    tz: chrono_tz::Tz,
) -> Result<Vec<Sample>, AppError> {
    let mut errors = FieldErrors::default();
    let rows: Vec<(usize, &SampleInput)> = inputs
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_blank())
        .collect();
    if rows.is_empty() {
        errors.add("samples", "validation.one_sample");
    }
    let valid: Vec<ValidSample> = rows
        .iter()
        .map(|(i, s)| validate(s, &format!("s{i}_"), seal_required, &mut errors))
        .collect();
    errors.into_result()?;
    write_tx(conn, |conn| {
        let seizure = crate::seizure::find(conn, seizure_id)?;
        let year = lab_year(tz);
        let mut out = Vec::new();
        for v in &valid {
            let code = allocate_lab_code(conn, year)?;
            out.push(insert_registered(conn, who, &seizure, code, v)?);
        }
        Ok(out)
    })
}

pub fn find(conn: &mut DbConn, id: &SampleId) -> QueryResult<Sample> {
    samples::table
        .find(id)
        .select(Sample::as_select())
        .first(conn)
}

pub fn find_by_code(conn: &mut DbConn, lab_code: &str) -> QueryResult<Option<Sample>> {
    samples::table
        .filter(samples::lab_code.eq(lab_code.trim().to_uppercase()))
        .select(Sample::as_select())
        .first(conn)
        .optional()
}

pub fn of_seizure(conn: &mut DbConn, seizure_id: &SeizureId) -> QueryResult<Vec<Sample>> {
    samples::table
        .filter(samples::seizure_id.eq(seizure_id))
        .order(samples::lab_code.asc())
        .select(Sample::as_select())
        .load(conn)
}

/// Sub-samples (and theirs), depth first, each with its depth below `root`.
pub fn descendants(conn: &mut DbConn, root: &Sample) -> QueryResult<Vec<(usize, Sample)>> {
    // Sub-samples share the seizure, so one query brings all candidates.
    Ok(tree(&of_seizure(conn, &root.seizure_id)?, root))
}

/// The descendants of `root` among the samples of its seizure, depth first.
pub fn tree(all: &[Sample], root: &Sample) -> Vec<(usize, Sample)> {
    let mut out = Vec::new();
    fn walk(all: &[Sample], parent: &SampleId, depth: usize, out: &mut Vec<(usize, Sample)>) {
        for s in all.iter().filter(|s| s.parent_id.as_ref() == Some(parent)) {
            out.push((depth, s.clone()));
            walk(all, &s.id, depth + 1, out);
        }
    }
    walk(all, &root.id, 1, &mut out);
    out
}

#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct SubsampleInput {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub quantity: String,
    #[serde(default)]
    pub quantity_unit: String,
    #[serde(default)]
    pub seal_number: String,
    #[serde(default)]
    pub reason: String,
}

/// Splits a sample: the child gets the parent's code with a letter (`-A`, `-B`, ...), its
/// own chain starting with `sub_sampled`, and the parent's chain records the split too.
pub fn create_subsample(
    conn: &mut DbConn,
    who: &Handler,
    parent_id: &SampleId,
    input: &SubsampleInput,
) -> Result<Sample, AppError> {
    let mut errors = FieldErrors::default();
    let kind = match SampleKind::parse(&input.kind) {
        Some(k) if k != SampleKind::Sample => Some(k),
        _ => {
            errors.add("kind", "validation.choose_one");
            None
        }
    };
    let row = SampleInput {
        description: input.description.clone(),
        quantity: input.quantity.clone(),
        quantity_unit: input.quantity_unit.clone(),
        seal_number: input.seal_number.clone(),
        priority: "routine".into(),
        ..Default::default()
    };
    let valid = validate(&row, "", false, &mut errors);
    let reason = optional_text(&mut errors, "reason", &input.reason, 1000);
    errors.into_result()?;
    let kind = kind.unwrap_or(SampleKind::Aliquot);
    write_tx(conn, |conn| {
        let parent = find(conn, parent_id)?;
        if !parent.status().in_lab() {
            return Err(AppError::invalid("kind", "validation.sample_not_in_lab"));
        }
        let n = counter::next(conn, &format!("sub:{}", parent.id))?;
        let code = format!("{}-{}", parent.lab_code, counter::letters(n));
        let t = now();
        let id = SampleId::new_v7();
        diesel::insert_into(samples::table)
            .values((
                samples::id.eq(&id),
                samples::seizure_id.eq(&parent.seizure_id),
                samples::parent_id.eq(&parent.id),
                samples::lab_code.eq(&code),
                samples::kind.eq(kind.as_str()),
                samples::description.eq(&valid.description),
                samples::matrix.eq(&parent.matrix),
                samples::quantity.eq(valid.quantity),
                samples::quantity_unit.eq(&valid.quantity_unit),
                samples::seal_number.eq(&valid.seal_number),
                samples::priority.eq(&parent.priority),
                samples::requested_tests.eq(&parent.requested_tests),
                samples::due_date.eq(&parent.due_date),
                samples::status.eq(SampleStatus::Received.as_str()),
                samples::storage_location_id.eq(&parent.storage_location_id),
                samples::received_at.eq(t),
                samples::registered_by.eq(who.user_id),
                samples::created_at.eq(t),
                samples::updated_at.eq(t),
            ))
            .execute(conn)?;
        let child = find(conn, &id)?;
        audit::record(
            conn,
            who.actor,
            "create_subsample",
            "sample",
            Some(id.as_str()),
            None::<&()>,
            Some(&child.snapshot()),
        )?;
        let split = |related: &SampleId| NewEvent {
            related_sample_id: Some(related.clone()),
            quantity: valid.quantity,
            quantity_unit: valid.quantity_unit.clone(),
            reason: reason.clone(),
            to_user_id: Some(who.user_id.clone()),
            ..NewEvent::of(EventKind::SubSampled)
        };
        custody::append(conn, who.actor, who.user_id, &parent.id, split(&child.id))?;
        custody::append(
            conn,
            who.actor,
            who.user_id,
            &child.id,
            NewEvent {
                seal_number: valid.seal_number.clone(),
                seal_intact: valid.seal_number.as_ref().map(|_| true),
                ..split(&parent.id)
            },
        )?;
        Ok(child)
    })
}

/// Inside a write transaction: locks the sample's row (PostgreSQL) and reads it afresh, so
/// checks and updates see what concurrent requests committed, never a copy read before.
pub(crate) fn lock_for_update(conn: &mut DbConn, id: &SampleId) -> QueryResult<Sample> {
    diesel::update(samples::table.find(id))
        .set(samples::updated_at.eq(now()))
        .execute(conn)?;
    find(conn, id)
}

/// The latest custody event's time: a new event may not be dated before it.
pub(crate) fn last_event_at(
    conn: &mut DbConn,
    id: &SampleId,
) -> QueryResult<Option<NaiveDateTime>> {
    use crate::db::schema::custody_events;
    custody_events::table
        .filter(custody_events::sample_id.eq(id))
        .select(diesel::dsl::max(custody_events::occurred_at))
        .first(conn)
}

/// Changes the sample row after a custody event; audited with before and after.
pub(crate) fn update_state(
    conn: &mut DbConn,
    actor: &Actor,
    before: &Sample,
    change: StateChange,
) -> QueryResult<Sample> {
    let t = now();
    diesel::update(samples::table.find(&before.id))
        .set((
            samples::status.eq(change.status.unwrap_or(before.status()).as_str()),
            samples::storage_location_id.eq(change
                .storage_location_id
                .unwrap_or_else(|| before.storage_location_id.clone())),
            samples::seal_number.eq(change
                .seal_number
                .unwrap_or_else(|| before.seal_number.clone())),
            samples::received_at.eq(change.received_at.or(before.received_at)),
            samples::retained_until.eq(change
                .retained_until
                .unwrap_or_else(|| before.retained_until.clone())),
            samples::updated_at.eq(t),
        ))
        .execute(conn)?;
    let after = find(conn, &before.id)?;
    audit::record(
        conn,
        actor,
        "update",
        "sample",
        Some(before.id.as_str()),
        Some(&before.snapshot()),
        Some(&after.snapshot()),
    )?;
    Ok(after)
}

/// Fields a custody event changes on the sample; `None` keeps the current value.
#[derive(Default)]
pub(crate) struct StateChange {
    pub status: Option<SampleStatus>,
    pub storage_location_id: Option<Option<StorageLocationId>>,
    pub seal_number: Option<Option<String>>,
    pub received_at: Option<NaiveDateTime>,
    pub retained_until: Option<Option<String>>,
}

/// Filters of the sample list.
#[derive(Debug, Default, Clone)]
pub struct SampleFilter {
    pub status: Option<SampleStatus>,
    pub customs_office: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    pub priority: Option<Priority>,
    /// Open samples whose due date is before this day.
    pub overdue_before: Option<String>,
}

/// A list row: the sample with its seizure's reference and office.
#[derive(Debug, Clone)]
pub struct SampleRow {
    pub sample: Sample,
    pub seizure_reference: String,
    pub customs_office: String,
}

/// Keyset position in the sample list (newest first, by registration).
pub type Cursor = crate::keyset::Cursor<SampleId>;

pub fn list(
    conn: &mut DbConn,
    filter: &SampleFilter,
    after: Option<&Cursor>,
    page_size: i64,
) -> QueryResult<(Vec<SampleRow>, Option<Cursor>)> {
    let mut q = samples::table
        .inner_join(seizures::table)
        .select((
            Sample::as_select(),
            seizures::reference,
            seizures::customs_office,
        ))
        .order((samples::created_at.desc(), samples::id.desc()))
        .limit(page_size + 1)
        .into_boxed();
    if let Some(s) = filter.status {
        q = q.filter(samples::status.eq(s.as_str()));
    }
    if let Some(office) = &filter.customs_office {
        q = q.filter(seizures::customs_office.eq(office.clone()));
    }
    if let Some(from) = filter.from {
        q = q.filter(samples::created_at.ge(from));
    }
    if let Some(until) = filter.until {
        q = q.filter(samples::created_at.lt(until));
    }
    if let Some(p) = filter.priority {
        q = q.filter(samples::priority.eq(p.as_str()));
    }
    if let Some(day) = &filter.overdue_before {
        // NOT IN keeps SQLite on the (created_at, id) index, so a page stops after its rows
        // instead of sorting every open sample.
        let closed = SampleStatus::CLOSED.map(SampleStatus::as_str);
        q = q
            .filter(samples::due_date.lt(day.clone()))
            .filter(samples::status.ne_all(closed));
    }
    if let Some(c) = after {
        q = q.filter(crate::keyset::before(samples::created_at, samples::id, c));
    }
    let rows: Vec<(Sample, String, String)> = q.load(conn)?;
    let mut rows: Vec<SampleRow> = rows
        .into_iter()
        .map(|(sample, seizure_reference, customs_office)| SampleRow {
            sample,
            seizure_reference,
            customs_office,
        })
        .collect();
    let next = crate::keyset::split_page(&mut rows, page_size, |r: &SampleRow| Cursor {
        at: r.sample.created_at,
        id: r.sample.id.clone(),
    });
    Ok((rows, next))
}
