//! Seizures (actas de incautación / comiso): registration with their samples, lists, lookups.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Handler};
use crate::db::schema::{customs_offices, report_versions, reports, samples, seizures};
use crate::db::{now, text_enum, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{SeizureId, UserId};
use crate::sample::{self, lab_year, Collection, Sample, SampleInput};
use crate::tariff::{self, TariffCheck};
use crate::validation::{
    check_identifier, optional_text, parse_local_datetime, required_text, FieldErrors,
};

text_enum!(
    /// The risk-management channel that selected the cargo.
    RiskChannel {
        Red => "red",
        Amber => "amber",
        Green => "green",
        Intelligence => "intelligence",
        Random => "random",
    }
);

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = seizures, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Seizure {
    pub id: SeizureId,
    pub reference: String,
    pub customs_office: String,
    pub declaration_number: Option<String>,
    pub seized_at: NaiveDateTime,
    pub place: String,
    pub seizing_officer: String,
    pub goods_description: String,
    pub declared_hs_code: Option<String>,
    pub origin_country: Option<String>,
    pub importer: Option<String>,
    pub risk_channel: RiskChannel,
    pub notes: Option<String>,
    pub registered_by: UserId,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The seizure form as typed.
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct SeizureInput {
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub customs_office: String,
    #[serde(default)]
    pub declaration_number: String,
    #[serde(default)]
    pub seized_at: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub seizing_officer: String,
    #[serde(default)]
    pub goods_description: String,
    #[serde(default)]
    pub declared_hs_code: String,
    #[serde(default)]
    pub origin_country: String,
    #[serde(default)]
    pub importer: String,
    #[serde(default)]
    pub risk_channel: String,
    #[serde(default)]
    pub notes: String,
}

/// References and declaration numbers are compared without case or surrounding spaces (and
/// without control characters, which a search may carry but a registered one never holds).
pub fn normalize_reference(text: &str) -> String {
    crate::validation::clean(text).trim().to_uppercase()
}

impl Seizure {
    /// Where its samples' chains start.
    pub fn collection(&self) -> Collection<'_> {
        Collection {
            seizure_id: &self.id,
            seized_at: self.seized_at,
            place: &self.place,
            officer: &self.seizing_officer,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = seizures)]
struct NewSeizure<'a> {
    id: &'a SeizureId,
    reference: &'a str,
    customs_office: &'a str,
    declaration_number: Option<&'a str>,
    seized_at: NaiveDateTime,
    place: &'a str,
    seizing_officer: &'a str,
    goods_description: &'a str,
    declared_hs_code: Option<&'a str>,
    origin_country: Option<&'a str>,
    importer: Option<&'a str>,
    risk_channel: RiskChannel,
    notes: Option<&'a str>,
    registered_by: &'a UserId,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

struct ValidSeizure {
    reference: String,
    customs_office: String,
    declaration_number: Option<String>,
    seized_at: NaiveDateTime,
    place: String,
    seizing_officer: String,
    goods_description: String,
    declared_hs_code: Option<String>,
    origin_country: Option<String>,
    importer: Option<String>,
    risk_channel: RiskChannel,
    notes: Option<String>,
}

fn validate(
    conn: &mut DbConn,
    input: &SeizureInput,
    tz: chrono_tz::Tz,
    errors: &mut FieldErrors,
) -> QueryResult<(ValidSeizure, TariffCheck)> {
    check_identifier(errors, "reference", &input.reference);
    check_identifier(errors, "declaration_number", &input.declaration_number);
    let reference = normalize_reference(&required_text(errors, "reference", &input.reference, 60));
    let customs_office = required_text(errors, "customs_office", &input.customs_office, 120);
    let declaration_number =
        optional_text(errors, "declaration_number", &input.declaration_number, 60)
            .map(|d| normalize_reference(&d));
    // The office's format rules (or the SUNAT defaults); only a value otherwise fine is
    // checked, so one field shows one problem.
    let rules = crate::office::rules_for(conn, &customs_office)?;
    if !reference.is_empty()
        && errors.get("reference").is_none()
        && !rules.reference.accepts(&reference)
    {
        errors.add("reference", "validation.office_format");
    }
    if let Some(d) = &declaration_number {
        if errors.get("declaration_number").is_none() && !rules.declaration.accepts(d) {
            errors.add("declaration_number", "validation.office_format");
        }
    }
    let seized_at = if input.seized_at.trim().is_empty() {
        errors.add("seized_at", "validation.required");
        now()
    } else {
        match parse_local_datetime(&input.seized_at, tz) {
            // A few minutes of clock difference between a field device and the server is normal.
            Some(t) if t <= now() + chrono::TimeDelta::minutes(10) => t,
            Some(_) => {
                errors.add("seized_at", "validation.not_in_future");
                now()
            }
            None => {
                errors.add("seized_at", "validation.datetime_format");
                now()
            }
        }
    };
    let place = required_text(errors, "place", &input.place, 200);
    let seizing_officer = required_text(errors, "seizing_officer", &input.seizing_officer, 120);
    let goods_description =
        required_text(errors, "goods_description", &input.goods_description, 2000);
    let check = tariff::check_code(conn, &input.declared_hs_code)?;
    let declared_hs_code = match &check {
        TariffCheck::Empty => None,
        TariffCheck::Malformed => {
            errors.add("declared_hs_code", "validation.hs_format");
            None
        }
        _ => Some(tariff::normalize_code(&input.declared_hs_code)),
    };
    let origin_country = match input.origin_country.trim() {
        "" => None,
        c if crate::country::is_valid(&c.to_uppercase()) => Some(c.to_uppercase()),
        _ => {
            errors.add("origin_country", "validation.choose_one");
            None
        }
    };
    let importer = optional_text(errors, "importer", &input.importer, 200);
    let risk_channel = RiskChannel::parse(&input.risk_channel).unwrap_or_else(|| {
        errors.add("risk_channel", "validation.choose_one");
        RiskChannel::Random
    });
    let notes = optional_text(errors, "notes", &input.notes, 4000);
    Ok((
        ValidSeizure {
            reference,
            customs_office,
            declaration_number,
            seized_at,
            place,
            seizing_officer,
            goods_description,
            declared_hs_code,
            origin_country,
            importer,
            risk_channel,
            notes,
        },
        check,
    ))
}

/// A registered seizure with its samples, and whether its declared tariff code was unknown.
pub struct Registered {
    pub seizure: Seizure,
    pub samples: Vec<Sample>,
    pub unknown_tariff_code: bool,
}

/// Registers a seizure with one or more samples in one transaction. Samples registered by an
/// enforcement officer in the field must carry their seal number.
pub fn register(
    conn: &mut DbConn,
    who: &Handler,
    input: &SeizureInput,
    sample_inputs: &[SampleInput],
    seal_required: bool,
    tz: chrono_tz::Tz,
) -> Result<Registered, AppError> {
    let mut errors = FieldErrors::default();
    let (valid, check) = validate(conn, input, tz, &mut errors)?;
    let samples_valid = sample::validate_rows(sample_inputs, seal_required, &mut errors);
    check_seals(sample_inputs, Vec::new(), &mut errors);
    if !valid.reference.is_empty() && find_by_reference(conn, &valid.reference)?.is_some() {
        errors.add("reference", "validation.reference_taken");
    }
    errors.into_result()?;
    write_tx(conn, |conn| {
        // Checked again inside the transaction: the unique index is the last word.
        if find_by_reference(conn, &valid.reference)?.is_some() {
            return Err(AppError::invalid("reference", "validation.reference_taken"));
        }
        let t = now();
        let id = SeizureId::new_v7();
        diesel::insert_into(seizures::table)
            .values(NewSeizure {
                id: &id,
                reference: &valid.reference,
                customs_office: &valid.customs_office,
                declaration_number: valid.declaration_number.as_deref(),
                seized_at: valid.seized_at,
                place: &valid.place,
                seizing_officer: &valid.seizing_officer,
                goods_description: &valid.goods_description,
                declared_hs_code: valid.declared_hs_code.as_deref(),
                origin_country: valid.origin_country.as_deref(),
                importer: valid.importer.as_deref(),
                risk_channel: valid.risk_channel,
                notes: valid.notes.as_deref(),
                registered_by: &who.user_id,
                created_at: t,
                updated_at: t,
            })
            .execute(conn)?;
        remember_office(conn, &valid.customs_office)?;
        let seizure = find(conn, &id)?;
        audit::record(
            conn,
            &who.actor,
            "create",
            "seizure",
            Some(id.as_str()),
            None::<&()>,
            Some(&seizure),
        )?;
        let year = lab_year(tz);
        let mut samples = Vec::new();
        for v in &samples_valid {
            let code = sample::allocate_lab_code(conn, year)?;
            samples.push(sample::insert_registered(
                conn,
                who,
                &seizure.collection(),
                &code,
                v,
            )?);
        }
        Ok(Registered {
            seizure,
            samples,
            unknown_tariff_code: matches!(check, TariffCheck::Unknown),
        })
    })
    .map_err(|e: AppError| e.unique_as("reference", "validation.reference_taken"))
}

/// Adds samples to an existing seizure (the seizure form adds them at registration).
pub fn add_samples(
    conn: &mut DbConn,
    who: &Handler,
    seizure_id: &SeizureId,
    inputs: &[SampleInput],
    seal_required: bool,
    tz: chrono_tz::Tz,
) -> Result<Vec<Sample>, AppError> {
    let mut errors = FieldErrors::default();
    let valid = sample::validate_rows(inputs, seal_required, &mut errors);
    let existing: Vec<Option<String>> = samples::table
        .filter(samples::seizure_id.eq(seizure_id))
        .select(samples::seal_number)
        .load(conn)?;
    check_seals(
        inputs,
        existing.into_iter().flatten().collect(),
        &mut errors,
    );
    errors.into_result()?;
    write_tx(conn, |conn| {
        let seizure = find(conn, seizure_id)?;
        let year = lab_year(tz);
        let mut out = Vec::new();
        for v in &valid {
            let code = sample::allocate_lab_code(conn, year)?;
            out.push(sample::insert_registered(
                conn,
                who,
                &seizure.collection(),
                &code,
                v,
            )?);
        }
        Ok(out)
    })
}

/// Refuses a seal number given twice in one seizure, among the rows typed or against the
/// seizure's samples already registered: a seal identifies one bag. The message goes beside
/// the later row's seal field.
fn check_seals(inputs: &[SampleInput], existing: Vec<String>, errors: &mut FieldErrors) {
    let mut seen: std::collections::HashSet<String> = existing.into_iter().collect();
    for (i, input) in inputs.iter().enumerate().filter(|(_, s)| !s.is_blank()) {
        let field = format!("s{i}_seal_number");
        if let Some(seal) = sample::normalize_seal(&input.seal_number) {
            if !seen.insert(seal) && errors.get(&field).is_none() {
                errors.add(&field, "validation.seal_repeated");
            }
        }
    }
}

/// Countries every border post sees most: Peru's own and its neighbour Bolivia.
pub const PINNED_COUNTRIES: [&str; 2] = ["PE", "BO"];

/// The countries to show first in the origin list: the pinned ones, then the origins of the
/// lab's latest seizures (the newest 50 rows, read through the seized_at index), at most
/// `limit` in all, most recent first.
pub fn frequent_origins(conn: &mut DbConn, limit: usize) -> QueryResult<Vec<String>> {
    let recent: Vec<Option<String>> = seizures::table
        .order((seizures::seized_at.desc(), seizures::id.desc()))
        .select(seizures::origin_country)
        .limit(50)
        .load(conn)?;
    let mut out: Vec<String> = PINNED_COUNTRIES.iter().map(|c| c.to_string()).collect();
    for code in recent.into_iter().flatten() {
        if out.len() >= limit {
            break;
        }
        if !out.contains(&code) {
            out.push(code);
        }
    }
    Ok(out)
}

pub fn find(conn: &mut DbConn, id: &SeizureId) -> QueryResult<Seizure> {
    seizures::table
        .find(id)
        .select(Seizure::as_select())
        .first(conn)
}

pub fn find_by_reference(conn: &mut DbConn, reference: &str) -> QueryResult<Option<Seizure>> {
    seizures::table
        .filter(seizures::reference.eq(normalize_reference(reference)))
        .select(Seizure::as_select())
        .first(conn)
        .optional()
}

pub fn by_declaration(conn: &mut DbConn, number: &str) -> QueryResult<Vec<Seizure>> {
    seizures::table
        .filter(seizures::declaration_number.eq(normalize_reference(number)))
        .order(seizures::seized_at.desc())
        .select(Seizure::as_select())
        .load(conn)
}

/// The customs offices in use, for filters and the form's suggestions.
pub fn offices(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    customs_offices::table
        .select(customs_offices::name)
        .order(customs_offices::name.asc())
        .load(conn)
}

/// Adds an office to the list of offices in use (nothing if it is there already).
fn remember_office(conn: &mut DbConn, name: &str) -> QueryResult<()> {
    #[derive(Insertable)]
    #[diesel(table_name = customs_offices)]
    struct Office<'a> {
        name: &'a str,
        created_at: NaiveDateTime,
    }
    let insert = diesel::insert_into(customs_offices::table)
        .values(Office {
            name,
            created_at: now(),
        })
        .on_conflict(customs_offices::name)
        .do_nothing();
    // Upserts are backend-specific in diesel's MultiConnection: run on the inner connection.
    match conn {
        DbConn::Sqlite(c) => insert.execute(c),
        DbConn::Postgres(c) => insert.execute(c),
    }
    .map(|_| ())
}

#[derive(Debug, Default, Clone)]
pub struct SeizureFilter {
    pub customs_office: Option<String>,
    pub risk_channel: Option<RiskChannel>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
    /// Only seizures this user registered.
    pub registered_by: Option<UserId>,
    /// References and declaration numbers starting with this text.
    pub text: Option<String>,
    /// References starting with this text.
    pub reference: Option<String>,
    /// Declaration numbers starting with this text.
    pub declaration: Option<String>,
    /// Seizures with a sample whose lab code starts with this text.
    pub lab_code: Option<String>,
    /// Seizures with a report version issued within [from, until).
    pub issued_from: Option<NaiveDateTime>,
    pub issued_until: Option<NaiveDateTime>,
}

/// Keyset position in the seizure list (latest seizure first).
pub type Cursor = crate::keyset::Cursor<SeizureId>;

type Db = <DbConn as diesel::Connection>::Backend;

/// The seizures `filter` matches from `after` on (unordered: a count must not be): the list
/// and its counts share it.
fn matching(filter: &SeizureFilter, after: Option<&Cursor>) -> seizures::BoxedQuery<'static, Db> {
    let mut q = seizures::table.into_boxed();
    if let Some(office) = &filter.customs_office {
        q = q.filter(seizures::customs_office.eq(office.clone()));
    }
    if let Some(ch) = filter.risk_channel {
        q = q.filter(seizures::risk_channel.eq(ch));
    }
    if let Some(from) = filter.from {
        q = q.filter(seizures::seized_at.ge(from));
    }
    if let Some(until) = filter.until {
        q = q.filter(seizures::seized_at.lt(until));
    }
    if let Some(user) = &filter.registered_by {
        q = q.filter(seizures::registered_by.eq(user.clone()));
    }
    if let Some(text) = &filter.text {
        let prefix = sample::prefix_pattern(text);
        q = q.filter(
            seizures::reference
                .like(prefix.clone())
                .escape('\\')
                .or(seizures::declaration_number.like(prefix).escape('\\')),
        );
    }
    if let Some(text) = &filter.reference {
        let prefix = sample::prefix_pattern(text);
        q = q.filter(seizures::reference.like(prefix).escape('\\'));
    }
    if let Some(text) = &filter.declaration {
        let prefix = sample::prefix_pattern(text);
        q = q.filter(seizures::declaration_number.like(prefix).escape('\\'));
    }
    if let Some(text) = &filter.lab_code {
        let prefix = sample::prefix_pattern(text);
        q = q.filter(
            seizures::id.eq_any(
                samples::table
                    .filter(samples::lab_code.like(prefix).escape('\\'))
                    .select(samples::seizure_id),
            ),
        );
    }
    if filter.issued_from.is_some() || filter.issued_until.is_some() {
        // An open end is a date no report precedes or follows (one query shape for both).
        let day = |y| chrono::NaiveDate::from_ymd_opt(y, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        let from = filter.issued_from.or_else(|| day(1900)).unwrap_or_default();
        let until = filter
            .issued_until
            .or_else(|| day(9999))
            .unwrap_or_default();
        let issued = report_versions::table
            .filter(report_versions::status.eq(crate::report::VersionStatus::Issued))
            .filter(report_versions::issued_at.ge(from))
            .filter(report_versions::issued_at.lt(until))
            .select(report_versions::report_id);
        q = q.filter(
            seizures::id.eq_any(
                reports::table
                    .filter(reports::id.eq_any(issued))
                    .select(reports::seizure_id),
            ),
        );
    }
    if let Some(c) = after {
        q = q.filter(crate::keyset::before(seizures::seized_at, seizures::id, c));
    }
    q
}

/// How many seizures `filter` matches from `after` on (all of them without a cursor).
pub fn count(
    conn: &mut DbConn,
    filter: &SeizureFilter,
    after: Option<&Cursor>,
) -> QueryResult<i64> {
    matching(filter, after).count().get_result(conn)
}

pub fn list(
    conn: &mut DbConn,
    filter: &SeizureFilter,
    after: Option<&Cursor>,
    page_size: i64,
) -> QueryResult<(Vec<Seizure>, Option<Cursor>)> {
    let mut rows = matching(filter, after)
        .order((seizures::seized_at.desc(), seizures::id.desc()))
        .select(Seizure::as_select())
        .limit(page_size + 1)
        .load(conn)?;
    let next = crate::keyset::split_page(&mut rows, page_size, |s: &Seizure| Cursor {
        at: s.seized_at,
        id: s.id.clone(),
    });
    Ok((rows, next))
}

/// One page of the list and what its pager says: where the next page starts, how many
/// seizures match in all and from this page on.
pub struct Page {
    pub rows: Vec<Seizure>,
    pub next: Option<Cursor>,
    pub total: i64,
    pub from_here: i64,
}

pub fn page(
    conn: &mut DbConn,
    filter: &SeizureFilter,
    after: Option<&Cursor>,
    page_size: i64,
) -> QueryResult<Page> {
    let (rows, next) = list(conn, filter, after, page_size)?;
    let total = count(conn, filter, None)?;
    let from_here = match after {
        Some(c) => count(conn, filter, Some(c))?,
        None => total,
    };
    Ok(Page {
        rows,
        next,
        total,
        from_here,
    })
}
