//! Receipt at the lab: the technician checks the seal, quantity and condition of a registered
//! sample, and accepts it (stored or not) or rejects it with a reason.

use diesel::prelude::*;
use serde::Serialize;

use crate::custody::{self, EventKind, NewEvent};
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{SampleId, StorageLocationId};
use crate::sample::{
    find, last_event_at, lock_for_update, normalize_seal, update_state, Handler, Sample,
    SampleStatus, StateChange, UNITS,
};
use crate::validation::{
    check_identifier, optional_text, parse_decimal, parse_local_datetime, required_text,
    FieldErrors,
};

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
            errors.add(field, "validation.choose_one");
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

/// Whether what was found at receipt differs from what was recorded at the seizure.
pub fn seal_differs(sample: &Sample, observed: &str) -> bool {
    match (&sample.seal_number, normalize_seal(observed)) {
        (Some(recorded), Some(seen)) => *recorded != seen,
        _ => false,
    }
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
    if sample.status() != SampleStatus::Registered {
        errors.add("decision", "validation.already_received");
    }
    let accept = match input.decision.trim() {
        "accept" => Some(true),
        "reject" => Some(false),
        _ => {
            errors.add("decision", "validation.choose_one");
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
    let discrepancy = seal_intact == Some(false)
        || sufficient == Some(false)
        || seal_differs(&sample, &input.seal_number);
    if notes.is_none() && (discrepancy || accept == Some(false)) {
        errors.add("notes", "validation.explain_discrepancy");
    }
    errors.into_result()?;
    let accept = accept.unwrap_or(false);
    write_tx(conn, |conn| {
        // Checked again under the row lock: a double click must not receive a sample twice.
        let sample = lock_for_update(conn, &sample.id)?;
        if sample.status() != SampleStatus::Registered {
            return Err(AppError::invalid("decision", "validation.already_received"));
        }
        if last_event_at(conn, &sample.id)?.is_some_and(|last| received_at < last) {
            return Err(AppError::invalid(
                "received_at",
                "validation.before_previous_event",
            ));
        }
        let kind = if accept {
            EventKind::ReceivedAtLab
        } else {
            EventKind::RejectedAtReceipt
        };
        custody::append(
            conn,
            who.actor,
            who.user_id,
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
                    who.actor,
                    who.user_id,
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
        let change = StateChange {
            status: Some(if accept {
                SampleStatus::Received
            } else {
                SampleStatus::Rejected
            }),
            storage_location_id: accept.then(|| location.clone()),
            received_at: accept.then_some(received_at),
            ..Default::default()
        };
        Ok(update_state(conn, who.actor, &sample, change)?)
    })
}
