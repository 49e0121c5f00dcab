//! Samples: lab codes, registration with a seizure, sub-samples, lists and lookups.

pub mod holding;
pub mod movement;
pub mod receipt;
pub mod state;

use chrono::{Datelike, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Handler};
use crate::counter;
use crate::custody::{self, EventKind, NewEvent};
use crate::db::schema::{samples, seizures};
use crate::db::{now, text_enum, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{SampleId, SeizureId, StorageLocationId, UserId};
use crate::validation::{
    check_identifier, optional_text, parse_date, parse_decimal, required_text, FieldErrors,
};

text_enum!(
    /// Where a sample is in its life (changed only by `state::apply`). Terminal: returned,
    /// disposed.
    SampleStatus {
        Registered => "registered",
        Received => "received",
        Rejected => "rejected",
        InTesting => "in_testing",
        AwaitingReport => "awaiting_report",
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
            SampleStatus::Received
                | SampleStatus::InTesting
                | SampleStatus::AwaitingReport
                | SampleStatus::Reported
        )
    }

    /// Registered in the field, not yet received at the lab's counter.
    pub fn awaits_receipt(self) -> bool {
        self == SampleStatus::Registered
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

impl Priority {
    pub fn is_urgent(self) -> bool {
        self == Priority::Urgent
    }
}

impl SampleKind {
    /// Split off another sample in the lab (aliquot, counter-sample, ...).
    pub fn is_subsample(self) -> bool {
        self != SampleKind::Sample
    }
}

/// Units a quantity may be given in.
pub const UNITS: &[&str] = &["g", "kg", "mg", "mL", "L", "units"];

/// A sample row; serialized whole into the audit log's before/after.
#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = samples, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Sample {
    pub id: SampleId,
    pub seizure_id: SeizureId,
    pub parent_id: Option<SampleId>,
    pub lab_code: String,
    pub kind: SampleKind,
    pub description: String,
    pub matrix: Option<String>,
    pub quantity: Option<f64>,
    pub quantity_unit: Option<String>,
    pub package_count: Option<i32>,
    pub seal_number: Option<String>,
    pub priority: Priority,
    pub requested_tests: Option<String>,
    pub due_date: Option<String>,
    pub status: SampleStatus,
    pub storage_location_id: Option<StorageLocationId>,
    pub received_at: Option<NaiveDateTime>,
    pub reported_at: Option<NaiveDateTime>,
    pub registered_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub retained_until: Option<String>,
    /// The custody chain's head (last seq and hash); only `custody::append` writes them.
    pub custody_head_seq: Option<i64>,
    pub custody_head_hash: Option<String>,
    /// What was wrong at receipt, if anything (set once, by the receipt).
    pub receipt_exceptions: Option<receipt::ReceiptExceptions>,
}

/// A new sample row. Its status is where a life starts (registered in the field, or received
/// for a split made in the lab); every later change goes through `state::apply`.
#[derive(Insertable)]
#[diesel(table_name = samples)]
struct NewSample<'a> {
    id: &'a SampleId,
    seizure_id: &'a SeizureId,
    parent_id: Option<&'a SampleId>,
    lab_code: &'a str,
    kind: SampleKind,
    description: &'a str,
    matrix: Option<&'a str>,
    quantity: Option<f64>,
    quantity_unit: Option<&'a str>,
    package_count: Option<i32>,
    seal_number: Option<&'a str>,
    priority: Priority,
    requested_tests: Option<&'a str>,
    due_date: Option<&'a str>,
    status: SampleStatus,
    storage_location_id: Option<&'a StorageLocationId>,
    received_at: Option<NaiveDateTime>,
    registered_by: &'a UserId,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl Sample {
    pub fn is_overdue(&self, today: chrono::NaiveDate) -> bool {
        let open = !SampleStatus::CLOSED.contains(&self.status);
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

/// The sample rows of a form (`s0_…`, `s1_…`); blank rows are skipped, and at least one is
/// needed.
pub fn validate_rows(
    inputs: &[SampleInput],
    seal_required: bool,
    errors: &mut FieldErrors,
) -> Vec<ValidSample> {
    let rows: Vec<(usize, &SampleInput)> = inputs
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.is_blank())
        .collect();
    if rows.is_empty() {
        errors.add("samples", "validation.one_sample");
    }
    rows.iter()
        .map(|(i, s)| validate(s, &format!("s{i}_"), seal_required, errors))
        .collect()
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

/// Where and by whom a seizure's samples were collected: the start of their chains.
pub struct Collection<'a> {
    pub seizure_id: &'a SeizureId,
    pub seized_at: NaiveDateTime,
    pub place: &'a str,
    pub officer: &'a str,
}

/// Inserts a registered sample of a seizure with its first custody events (collected, and
/// sealed when it carries a seal). Runs inside the caller's write transaction.
pub fn insert_registered(
    conn: &mut DbConn,
    who: &Handler,
    origin: &Collection,
    lab_code: &str,
    valid: &ValidSample,
) -> QueryResult<Sample> {
    let t = now();
    let id = SampleId::new_v7();
    diesel::insert_into(samples::table)
        .values(NewSample {
            id: &id,
            seizure_id: origin.seizure_id,
            parent_id: None,
            lab_code,
            kind: SampleKind::Sample,
            description: &valid.description,
            matrix: valid.matrix.as_deref(),
            quantity: valid.quantity,
            quantity_unit: valid.quantity_unit.as_deref(),
            package_count: valid.package_count,
            seal_number: valid.seal_number.as_deref(),
            priority: valid.priority,
            requested_tests: valid.requested_tests.as_deref(),
            due_date: valid.due_date.as_deref(),
            status: SampleStatus::Registered,
            storage_location_id: None,
            received_at: None,
            registered_by: &who.user_id,
            created_at: t,
            updated_at: t,
        })
        .execute(conn)?;
    let sample = find(conn, &id)?;
    audit::record(
        conn,
        &who.actor,
        "create",
        "sample",
        Some(id.as_str()),
        None::<&()>,
        Some(&sample),
    )?;
    custody::append(
        conn,
        &who.actor,
        &who.user_id,
        &id,
        NewEvent {
            occurred_at: Some(origin.seized_at),
            to_party: Some(origin.officer.to_string()),
            place: Some(origin.place.to_string()),
            quantity: valid.quantity,
            quantity_unit: valid.quantity_unit.clone(),
            ..NewEvent::of(EventKind::Collected)
        },
    )?;
    if let Some(seal) = &valid.seal_number {
        custody::append(
            conn,
            &who.actor,
            &who.user_id,
            &id,
            NewEvent {
                occurred_at: Some(origin.seized_at),
                place: Some(origin.place.to_string()),
                seal_number: Some(seal.clone()),
                seal_intact: Some(true),
                to_party: Some(origin.officer.to_string()),
                ..NewEvent::of(EventKind::Sealed)
            },
        )?;
    }
    Ok(sample)
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
    /// A supervisor splitting a sample someone else holds says why.
    #[serde(default)]
    pub override_reason: String,
    /// `yes` once the confirmation page (codes and events are permanent) was seen.
    #[serde(default)]
    pub confirm: String,
}

/// A split that passed its checks: what the confirmation page shows and the split writes.
#[derive(Debug, Clone)]
pub struct SplitPlan {
    pub kind: SampleKind,
    pub valid: ValidSample,
    pub amount: holding::Quantity,
    pub reason: Option<String>,
    pub override_reason: Option<String>,
    /// What the parent has left before and after the split, when known.
    pub left_before: Option<holding::Quantity>,
    pub left_after: Option<holding::Quantity>,
    previous_holder: Option<UserId>,
}

/// Checks a split of `parent`: a sub-sample kind, a description, a quantity with its unit
/// that the parent still has, and the holder rule.
pub fn plan_subsample(
    conn: &mut DbConn,
    who: &Handler,
    parent: &Sample,
    input: &SubsampleInput,
) -> Result<SplitPlan, AppError> {
    let mut errors = FieldErrors::default();
    if !parent.status.in_lab() {
        return Err(AppError::invalid("kind", "validation.sample_not_in_lab"));
    }
    let kind = match SampleKind::parse(&input.kind) {
        Some(k) if k != SampleKind::Sample => Some(k),
        _ => {
            errors.add("kind", "validation.choose_one");
            None
        }
    };
    let override_reason =
        optional_text(&mut errors, "override_reason", &input.override_reason, 1000);
    let held = movement::holding(conn, &parent.id)?;
    let previous_holder = movement::check_holder(conn, who, &held, &override_reason, &mut errors)?;
    let row = SampleInput {
        description: input.description.clone(),
        seal_number: input.seal_number.clone(),
        priority: "routine".into(),
        ..Default::default()
    };
    let mut valid = validate(&row, "", false, &mut errors);
    let amount = movement::typed_quantity(&mut errors, &input.quantity, &input.quantity_unit, true);
    if let Some(a) = &amount {
        movement::check_amount(&held, a, &mut errors);
    }
    let reason = optional_text(&mut errors, "reason", &input.reason, 1000);
    errors.into_result()?;
    let (Some(kind), Some(amount)) = (kind, amount) else {
        return Err(AppError::invalid(
            "quantity",
            "validation.quantity_required",
        ));
    };
    valid.quantity = Some(amount.value);
    valid.quantity_unit = Some(amount.unit.clone());
    let left_after = held.balance.as_ref().and_then(|b| b.minus(&amount));
    Ok(SplitPlan {
        kind,
        valid,
        amount,
        reason,
        override_reason: previous_holder.as_ref().and(override_reason),
        left_before: held.balance,
        left_after,
        previous_holder,
    })
}

/// Splits a sample: the child gets the parent's code with a letter (`-A`, `-B`, ...), its
/// own chain starting with `sub_sampled` (held by whoever split it, in hand), and the
/// parent's chain records the split, which takes the amount off its balance. Codes and events
/// are permanent, so the split needs `input.confirm` (the confirmation page seen).
pub fn create_subsample(
    conn: &mut DbConn,
    who: &Handler,
    parent_id: &SampleId,
    input: &SubsampleInput,
) -> Result<Sample, AppError> {
    let parent = find(conn, parent_id)?;
    let plan = plan_subsample(conn, who, &parent, input)?;
    if input.confirm != "yes" {
        return Err(AppError::invalid("confirm", "validation.confirm_first"));
    }
    write_tx(conn, |conn| {
        // Checked again under the row lock: the balance and the holder may have moved.
        let parent = state::lock_for_update(conn, parent_id)?;
        let again = plan_subsample(conn, who, &parent, input)?;
        if again.previous_holder != plan.previous_holder {
            return Err(AppError::invalid("holder", "validation.holder_changed"));
        }
        let SplitPlan {
            kind,
            valid,
            amount,
            reason,
            override_reason,
            ..
        } = again;
        let n = counter::next(conn, &format!("sub:{}", parent.id))?;
        let code = format!("{}-{}", parent.lab_code, counter::letters(n));
        let t = now();
        let id = SampleId::new_v7();
        diesel::insert_into(samples::table)
            .values(NewSample {
                id: &id,
                seizure_id: &parent.seizure_id,
                parent_id: Some(&parent.id),
                lab_code: &code,
                kind,
                description: &valid.description,
                matrix: parent.matrix.as_deref(),
                quantity: Some(amount.value),
                quantity_unit: Some(&amount.unit),
                package_count: None,
                seal_number: valid.seal_number.as_deref(),
                priority: parent.priority,
                requested_tests: parent.requested_tests.as_deref(),
                due_date: parent.due_date.as_deref(),
                status: SampleStatus::Received,
                storage_location_id: None,
                received_at: Some(t),
                registered_by: &who.user_id,
                created_at: t,
                updated_at: t,
            })
            .execute(conn)?;
        let child = find(conn, &id)?;
        audit::record(
            conn,
            &who.actor,
            "create_subsample",
            "sample",
            Some(id.as_str()),
            None::<&()>,
            Some(&child),
        )?;
        let split = |related: &SampleId| NewEvent {
            related_sample_id: Some(related.clone()),
            quantity: Some(amount.value),
            quantity_unit: Some(amount.unit.clone()),
            reason: reason.clone(),
            to_user_id: Some(who.user_id.clone()),
            ..NewEvent::of(EventKind::SubSampled)
        };
        custody::append(
            conn,
            &who.actor,
            &who.user_id,
            &parent.id,
            NewEvent {
                from_user_id: plan.previous_holder.clone(),
                override_reason: override_reason.clone(),
                ..split(&child.id)
            },
        )?;
        custody::append(
            conn,
            &who.actor,
            &who.user_id,
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
    /// Only samples received with an exception (broken or different seal, short, rejected).
    pub exceptions: bool,
    /// Only samples whose work is not over (not in `SampleStatus::CLOSED`).
    pub open: bool,
    /// Only samples this lab user holds now.
    pub holder: Option<UserId>,
    /// Only samples of seizures this user registered.
    pub seized_by: Option<UserId>,
    /// Lab codes, seals and seizure references starting with this text.
    pub text: Option<String>,
    pub sort: SampleSort,
}

/// Orders of the sample list.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum SampleSort {
    /// Newest registration first.
    #[default]
    Newest,
    /// Earliest due date first; samples without one last.
    Due,
    /// Urgent first, each priority by due date.
    Priority,
}

impl SampleSort {
    pub const ALL: [SampleSort; 3] = [SampleSort::Newest, SampleSort::Due, SampleSort::Priority];

    /// As the list's `sort` parameter says it (`""` for the default).
    pub fn as_str(self) -> &'static str {
        match self {
            SampleSort::Newest => "",
            SampleSort::Due => "due",
            SampleSort::Priority => "priority",
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            SampleSort::Newest => "filters.sort_newest",
            SampleSort::Due => "filters.sort_due",
            SampleSort::Priority => "filters.sort_priority",
        }
    }

    pub fn parse(text: &str) -> Option<SampleSort> {
        SampleSort::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The text key of an ascending sort, spelt exactly as the migration's index on it
    /// (`samples_due_sort_idx`, `samples_priority_sort_idx`) so both backends seek that index.
    fn key_sql(self) -> Option<&'static str> {
        match self {
            SampleSort::Newest => None,
            SampleSort::Due => Some("COALESCE(samples.due_date, '9999-12-31')"),
            SampleSort::Priority => Some(
                "(CASE WHEN samples.priority = 'urgent' THEN '0' ELSE '1' END \
                 || COALESCE(samples.due_date, '9999-12-31'))",
            ),
        }
    }

    /// A row's value of the sort key, as `key_sql` computes it.
    fn key_of(self, s: &Sample) -> String {
        let due = s.due_date.as_deref().unwrap_or("9999-12-31");
        match self {
            SampleSort::Newest | SampleSort::Due => due.to_string(),
            SampleSort::Priority => {
                format!("{}{due}", if s.priority.is_urgent() { '0' } else { '1' })
            }
        }
    }
}

/// A list row: the sample with its seizure's reference and office.
#[derive(Debug, Clone)]
pub struct SampleRow {
    pub sample: Sample,
    pub seizure_reference: String,
    pub customs_office: String,
}

/// Keyset position in the sample list: by registration time for the newest-first order, by
/// the sort key for the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    At(crate::keyset::Cursor<SampleId>),
    Key(crate::keyset::KeyCursor<SampleId>),
}

impl Cursor {
    pub fn encode(&self) -> String {
        match self {
            Cursor::At(c) => c.encode(),
            Cursor::Key(c) => c.encode(),
        }
    }

    /// The cursor of a page of the list in `sort` order; `None` for anything else.
    pub fn decode(text: &str, sort: SampleSort) -> Option<Cursor> {
        match sort {
            SampleSort::Newest => crate::keyset::Cursor::decode(text).map(Cursor::At),
            _ => crate::keyset::KeyCursor::decode(text).map(Cursor::Key),
        }
    }
}

type Db = <DbConn as diesel::Connection>::Backend;

/// The samples `filter` matches, before any order or page: the list and its counts share it, so
/// a count is always the list's total. Conditions on the seizure are sub-selects on its id, so
/// counting needs no join.
fn matching(filter: &SampleFilter) -> samples::BoxedQuery<'static, Db> {
    let mut q = samples::table.into_boxed();
    if let Some(s) = filter.status {
        q = q.filter(samples::status.eq(s));
    }
    if let Some(office) = &filter.customs_office {
        q = q.filter(
            samples::seizure_id.eq_any(
                seizures::table
                    .filter(seizures::customs_office.eq(office.clone()))
                    .select(seizures::id),
            ),
        );
    }
    if let Some(from) = filter.from {
        q = q.filter(samples::created_at.ge(from));
    }
    if let Some(until) = filter.until {
        q = q.filter(samples::created_at.lt(until));
    }
    if let Some(p) = filter.priority {
        q = q.filter(samples::priority.eq(p));
    }
    if let Some(day) = &filter.overdue_before {
        q = q.filter(samples::due_date.lt(day.clone()));
    }
    if filter.open || filter.overdue_before.is_some() {
        // NOT IN keeps SQLite on the (created_at, id) index, so a page stops after its rows
        // instead of sorting every open sample.
        q = q.filter(samples::status.ne_all(SampleStatus::CLOSED));
    }
    if filter.exceptions {
        // Exactly the partial index's condition, so both backends walk that index.
        q = q.filter(samples::receipt_exceptions.is_not_null());
    }
    if let Some(user) = &filter.holder {
        q = q.filter(samples::holder_id.eq(user.clone()));
    }
    if let Some(user) = &filter.seized_by {
        q = q.filter(
            samples::seizure_id.eq_any(
                seizures::table
                    .filter(seizures::registered_by.eq(user.clone()))
                    .select(seizures::id),
            ),
        );
    }
    if let Some(text) = &filter.text {
        let prefix = prefix_pattern(text);
        q = q.filter(
            samples::lab_code
                .like(prefix.clone())
                .escape('\\')
                .or(samples::seal_number.like(prefix.clone()).escape('\\'))
                .or(samples::seizure_id.eq_any(
                    seizures::table
                        .filter(seizures::reference.like(prefix).escape('\\'))
                        .select(seizures::id),
                )),
        );
    }
    q
}

/// `LIKE` pattern for text starting with `text`: codes, seals and references are kept in
/// capitals, and a prefix (not a substring) lets the prefix indexes answer it.
pub fn prefix_pattern(text: &str) -> String {
    let mut p: String = text
        .trim()
        .to_uppercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    p.push('%');
    p
}

/// How many samples `filter` matches (its sort aside).
pub fn count(conn: &mut DbConn, filter: &SampleFilter) -> QueryResult<i64> {
    matching(filter).count().get_result(conn)
}

/// How many samples `filter` matches in each status, its own status condition aside (the
/// list's status tabs).
pub fn count_by_status(
    conn: &mut DbConn,
    filter: &SampleFilter,
) -> QueryResult<Vec<(SampleStatus, i64)>> {
    // One indexed count per status: few statuses, and a boxed query cannot be grouped.
    SampleStatus::ALL
        .iter()
        .map(|s| {
            let one = SampleFilter {
                status: Some(*s),
                ..filter.clone()
            };
            Ok((*s, count(conn, &one)?))
        })
        .collect()
}

/// A page of the list and where the next starts. `after`: the cursor of this page (the first
/// page without one).
pub fn list(
    conn: &mut DbConn,
    filter: &SampleFilter,
    after: Option<&Cursor>,
    page_size: i64,
) -> QueryResult<(Vec<SampleRow>, Option<Cursor>)> {
    let mut rows: Vec<Sample> = page(filter, after, true)
        .select(Sample::as_select())
        .limit(page_size + 1)
        .load(conn)?;
    let sort = filter.sort;
    let next = crate::keyset::split_page(&mut rows, page_size, |s: &Sample| match sort {
        SampleSort::Newest => Cursor::At(crate::keyset::Cursor::<SampleId> {
            at: s.created_at,
            id: s.id.clone(),
        }),
        _ => Cursor::Key(crate::keyset::KeyCursor {
            key: sort.key_of(s),
            id: s.id.clone(),
        }),
    });
    let mut ids: Vec<&SeizureId> = rows.iter().map(|s| &s.seizure_id).collect();
    ids.sort();
    ids.dedup();
    let seizures: std::collections::HashMap<SeizureId, (String, String)> = seizures::table
        .filter(seizures::id.eq_any(ids))
        .select((seizures::id, seizures::reference, seizures::customs_office))
        .load::<(SeizureId, String, String)>(conn)?
        .into_iter()
        .map(|(id, r, o)| (id, (r, o)))
        .collect();
    let rows = rows
        .into_iter()
        .map(|sample| {
            let (seizure_reference, customs_office) = seizures
                .get(&sample.seizure_id)
                .cloned()
                .unwrap_or_default();
            SampleRow {
                sample,
                seizure_reference,
                customs_office,
            }
        })
        .collect();
    Ok((rows, next))
}

/// How many rows of the list there are from the page at `after` on (the whole list on the
/// first page): with `count`, where the page sits.
pub fn count_from(
    conn: &mut DbConn,
    filter: &SampleFilter,
    after: Option<&Cursor>,
) -> QueryResult<i64> {
    page(filter, after, false).count().get_result(conn)
}

/// The matching samples from `after` on; `ordered`: in the filter's order (a count must not
/// be, PostgreSQL refuses an ORDER BY on an aggregate).
fn page(
    filter: &SampleFilter,
    after: Option<&Cursor>,
    ordered: bool,
) -> samples::BoxedQuery<'static, Db> {
    let mut q = matching(filter);
    match filter.sort.key_sql() {
        None => {
            if ordered {
                q = q.order((samples::created_at.desc(), samples::id.desc()));
            }
            if let Some(Cursor::At(c)) = after {
                q = q.filter(crate::keyset::before(samples::created_at, samples::id, c));
            }
        }
        Some(key) => {
            let key = diesel::dsl::sql::<diesel::sql_types::Text>(key);
            if ordered {
                q = q.order((key.clone().asc(), samples::id.asc()));
            }
            if let Some(Cursor::Key(c)) = after {
                q = q.filter(crate::keyset::after(key, samples::id, c));
            }
        }
    }
    q
}
