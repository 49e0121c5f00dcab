//! Receipt at the lab: the technician checks the seal, quantity and condition of a registered
//! sample, and accepts it (stored or not) or rejects it with a reason.

use diesel::prelude::*;
use serde::Serialize;

use crate::audit::Handler;
use crate::custody::{self, EventKind, NewEvent};
use crate::db::text_enum;
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{SampleId, StorageLocationId};
use crate::sample::state::{self, Change, Transition};
use crate::sample::{find, normalize_seal, Sample, SampleStatus, UNITS};
use crate::validation::{
    check_identifier, optional_text, parse_decimal, parse_local_datetime, required_text,
    FieldErrors,
};

text_enum!(
    /// Something wrong found when a sample was received (or the reason it was refused).
    ReceiptException {
        SealBroken => "seal_broken",
        SealDiffers => "seal_differs",
        QuantityInsufficient => "quantity_insufficient",
        Rejected => "rejected",
    }
);

/// The exceptions of one receipt, stored on the sample as their codes joined by commas in the
/// order of `ReceiptException::ALL`. Never empty: a clean receipt stores NULL, so the list's
/// exceptions filter is `IS NOT NULL` over a partial index.
#[derive(
    Clone, Debug, PartialEq, Eq, diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub struct ReceiptExceptions(String);

impl ReceiptExceptions {
    /// The set of what is in `found`, or `None` when nothing is.
    pub fn of(found: &[ReceiptException]) -> Option<ReceiptExceptions> {
        let codes: Vec<&str> = ReceiptException::ALL
            .iter()
            .filter(|e| found.contains(e))
            .map(|e| e.as_str())
            .collect();
        (!codes.is_empty()).then(|| ReceiptExceptions(codes.join(",")))
    }

    pub fn items(&self) -> Vec<ReceiptException> {
        self.0
            .split(',')
            .filter_map(ReceiptException::parse)
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for ReceiptExceptions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for ReceiptExceptions
where
    DB: diesel::backend::Backend,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
{
    fn to_sql<'b>(
        &'b self,
        out: &mut diesel::serialize::Output<'b, '_, DB>,
    ) -> diesel::serialize::Result {
        self.0.as_str().to_sql(out)
    }
}

impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for ReceiptExceptions
where
    DB: diesel::backend::Backend,
    String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
{
    fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
        let text = String::from_sql(bytes)?;
        let items: Option<Vec<ReceiptException>> =
            text.split(',').map(ReceiptException::parse).collect();
        items
            .and_then(|items| ReceiptExceptions::of(&items))
            .filter(|set| set.0 == text)
            .ok_or_else(|| format!("unknown receipt exceptions {text:?}").into())
    }
}

#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct ReceiptInput {
    /// The seal number as read on the seal now.
    #[serde(default)]
    pub seal_number: String,
    /// `yes` or `no`.
    #[serde(default)]
    pub seal_intact: String,
    #[serde(default)]
    pub quantity: String,
    #[serde(default)]
    pub quantity_unit: String,
    /// `yes` or `no`: enough for the requested tests.
    #[serde(default)]
    pub quantity_sufficient: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub storage_location_id: String,
    /// Who hands the sample over at the counter (e.g. the seizing officer).
    #[serde(default)]
    pub delivered_by: String,
    #[serde(default)]
    pub received_at: String,
    #[serde(default)]
    pub notes: String,
    /// `accept` or `reject`.
    #[serde(default)]
    pub decision: String,
}

pub(crate) fn yes_no(errors: &mut FieldErrors, field: &str, value: &str) -> Option<bool> {
    match value.trim() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => {
            errors.add(field, "validation.choose_yes_no");
            None
        }
    }
}

/// A usable storage location chosen in a form, or a message beside the field.
pub(crate) fn chosen_location(
    conn: &mut DbConn,
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    required: bool,
) -> QueryResult<Option<StorageLocationId>> {
    let v = value.trim();
    if v.is_empty() {
        if required {
            errors.add(field, "validation.choose_one");
        }
        return Ok(None);
    }
    // Usable means active and inside active locations (a closed room closes its fridges).
    let usable = crate::storage::active_options(conn)?
        .into_iter()
        .any(|(id, _)| id.as_str() == v);
    if usable {
        Ok(Some(StorageLocationId(v.to_string())))
    } else {
        errors.add(field, "validation.choose_one");
        Ok(None)
    }
}

/// The seal read at the counter, compared with the one recorded at the seizure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealCheck {
    Matches,
    Differs,
    /// Nothing was read (the field was left empty).
    NotRead,
    /// The seizure recorded no seal to compare with.
    NoneRecorded,
}

impl SealCheck {
    pub fn compare(sample: &Sample, observed: &str) -> SealCheck {
        match (&sample.seal_number, normalize_seal(observed)) {
            (Some(recorded), Some(seen)) if *recorded == seen => SealCheck::Matches,
            (Some(_), Some(_)) => SealCheck::Differs,
            (Some(_), None) => SealCheck::NotRead,
            (None, _) => SealCheck::NoneRecorded,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            SealCheck::Matches => "matches",
            SealCheck::Differs => "differs",
            SealCheck::NotRead => "not_read",
            SealCheck::NoneRecorded => "none_recorded",
        }
    }

    /// The i18n key of the result, as shown beside the seal read.
    pub fn message_key(self) -> &'static str {
        match self {
            SealCheck::Matches => "receipt.seal_matches",
            SealCheck::Differs => "receipt.seal_differs",
            SealCheck::NotRead => "receipt.seal_not_read",
            SealCheck::NoneRecorded => "receipt.seal_none_recorded",
        }
    }
}

/// Whether what was found at receipt differs from what was recorded at the seizure.
pub fn seal_differs(sample: &Sample, observed: &str) -> bool {
    SealCheck::compare(sample, observed) == SealCheck::Differs
}

/// How a sample that is no longer awaiting receipt came into the lab: received or rejected at
/// the counter (or split off in the lab), when, and by whom.
#[derive(Debug, Clone)]
pub struct PastReceipt {
    pub kind: EventKind,
    pub at: chrono::NaiveDateTime,
    pub by: String,
}

pub fn past_receipt(conn: &mut DbConn, sample_id: &SampleId) -> QueryResult<Option<PastReceipt>> {
    use crate::db::schema::{custody_events, users};
    let kinds = [
        EventKind::ReceivedAtLab,
        EventKind::RejectedAtReceipt,
        EventKind::SubSampled,
    ]
    .map(EventKind::as_str);
    let found: Option<(String, chrono::NaiveDateTime, String)> = custody_events::table
        .inner_join(users::table.on(users::id.eq(custody_events::recorded_by)))
        .filter(custody_events::sample_id.eq(sample_id))
        .filter(custody_events::kind.eq_any(kinds))
        .order(custody_events::seq.asc())
        .select((
            custody_events::kind,
            custody_events::occurred_at,
            users::full_name,
        ))
        .first(conn)
        .optional()?;
    Ok(found.and_then(|(kind, at, by)| {
        Some(PastReceipt {
            kind: EventKind::parse(&kind)?,
            at,
            by,
        })
    }))
}

pub fn receive(
    conn: &mut DbConn,
    who: &Handler,
    sample_id: &SampleId,
    input: &ReceiptInput,
    tz: chrono_tz::Tz,
) -> Result<Sample, AppError> {
    let sample = find(conn, sample_id)?;
    let mut errors = FieldErrors::default();
    if sample.status != SampleStatus::Registered {
        errors.add("decision", "validation.already_received");
    }
    let accept = match input.decision.trim() {
        "accept" => Some(true),
        "reject" => Some(false),
        _ => {
            errors.add("decision", "validation.choose_decision");
            None
        }
    };
    check_identifier(&mut errors, "seal_number", &input.seal_number);
    let seal_number = normalize_seal(&input.seal_number);
    if sample.seal_number.is_some() && seal_number.is_none() {
        errors.add("seal_number", "validation.seal_required");
    }
    let seal_intact = yes_no(&mut errors, "seal_intact", &input.seal_intact);
    let quantity = match input.quantity.trim() {
        "" => None,
        q => match parse_decimal(q) {
            Some(v) if v > 0.0 => Some(v),
            _ => {
                errors.add("quantity", "validation.positive_number");
                None
            }
        },
    };
    let quantity_unit = match input.quantity_unit.trim() {
        "" if quantity.is_some() => {
            errors.add("quantity_unit", "validation.choose_one");
            None
        }
        "" => None,
        u if UNITS.contains(&u) => Some(u.to_string()),
        _ => {
            errors.add("quantity_unit", "validation.choose_one");
            None
        }
    };
    let sufficient = yes_no(
        &mut errors,
        "quantity_sufficient",
        &input.quantity_sufficient,
    );
    let condition = optional_text(&mut errors, "condition", &input.condition, 500);
    let delivered_by = required_text(&mut errors, "delivered_by", &input.delivered_by, 120);
    let location = chosen_location(
        conn,
        &mut errors,
        "storage_location_id",
        &input.storage_location_id,
        false,
    )?;
    let received_at = match input.received_at.trim() {
        "" => now(),
        v => match parse_local_datetime(v, tz) {
            Some(t) if t <= now() + chrono::TimeDelta::minutes(10) => t,
            Some(_) => {
                errors.add("received_at", "validation.not_in_future");
                now()
            }
            None => {
                errors.add("received_at", "validation.datetime_format");
                now()
            }
        },
    };
    let notes = optional_text(&mut errors, "notes", &input.notes, 2000);
    // Any discrepancy, and every rejection, must be explained in the record.
    let mut found = Vec::new();
    if seal_intact == Some(false) {
        found.push(ReceiptException::SealBroken);
    }
    if seal_differs(&sample, &input.seal_number) {
        found.push(ReceiptException::SealDiffers);
    }
    if sufficient == Some(false) {
        found.push(ReceiptException::QuantityInsufficient);
    }
    if accept == Some(false) {
        found.push(ReceiptException::Rejected);
    }
    if notes.is_none() && !found.is_empty() {
        errors.add("notes", "validation.explain_discrepancy");
    }
    errors.into_result()?;
    let accept = accept.unwrap_or(false);
    let exceptions = ReceiptExceptions::of(&found);
    write_tx(conn, |conn| {
        // Checked again under the row lock: a double click must not receive a sample twice.
        let sample = state::lock_for_update(conn, &sample.id)?;
        if sample.status != SampleStatus::Registered {
            return Err(AppError::invalid("decision", "validation.already_received"));
        }
        let received_at = state::time_after_last(conn, &sample.id, received_at, "received_at")?;
        let kind = if accept {
            EventKind::ReceivedAtLab
        } else {
            EventKind::RejectedAtReceipt
        };
        custody::append(
            conn,
            &who.actor,
            &who.user_id,
            &sample.id,
            NewEvent {
                occurred_at: Some(received_at),
                from_party: Some(delivered_by.clone()),
                to_user_id: Some(who.user_id.clone()),
                seal_number: seal_number.clone(),
                seal_intact,
                quantity,
                quantity_unit: quantity_unit.clone(),
                quantity_sufficient: sufficient,
                sample_condition: condition.clone(),
                reason: notes.clone(),
                ..NewEvent::of(kind)
            },
        )?;
        if accept {
            if let Some(loc) = &location {
                custody::append(
                    conn,
                    &who.actor,
                    &who.user_id,
                    &sample.id,
                    NewEvent {
                        occurred_at: Some(received_at),
                        storage_location_id: Some(loc.clone()),
                        to_user_id: Some(who.user_id.clone()),
                        ..NewEvent::of(EventKind::Stored)
                    },
                )?;
            }
        }
        let change = Change {
            transition: Some(if accept {
                Transition::Receive
            } else {
                Transition::Reject
            }),
            storage_location_id: accept.then(|| location.clone()),
            receipt_exceptions: Some(exceptions),
            at: Some(received_at),
            ..Default::default()
        };
        state::apply(conn, &who.actor, &sample, change)
    })
}
