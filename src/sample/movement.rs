//! Custody events recorded on a sample in the lab: transfers between two people (the receiver
//! confirms with their own password), storage, opening and resealing, external laboratories,
//! and the final disposition (returned, destroyed, retained). Which event may follow which
//! status is decided here and nowhere else.

use serde::Serialize;

use crate::custody::{self, CustodyEvent, EventKind, NewEvent};
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::SampleId;
use crate::sample::receipt::{chosen_location, yes_no};
use crate::sample::{
    find, last_event_at, lock_for_update, normalize_seal, update_state, Handler, SampleStatus,
    StateChange, UNITS,
};
use crate::user::{self, password, throttle, Role};
use crate::validation::{
    check_identifier, optional_text, parse_date, parse_decimal, parse_local_datetime,
    required_text, FieldErrors,
};

/// Events a user records from the sample page (receipt, registration and sub-sampling have
/// their own forms).
pub const FORM_KINDS: [EventKind; 10] = [
    EventKind::HandedOver,
    EventKind::Stored,
    EventKind::RemovedFromStorage,
    EventKind::Opened,
    EventKind::Resealed,
    EventKind::SentExternal,
    EventKind::ReturnedFromExternal,
    EventKind::ReturnedToOwner,
    EventKind::Destroyed,
    EventKind::Retained,
];

/// Whether `kind` may be recorded on a sample in `status`.
pub fn allowed(kind: EventKind, status: SampleStatus) -> bool {
    use EventKind::*;
    use SampleStatus as S;
    match kind {
        HandedOver | Stored | RemovedFromStorage | Opened | Resealed => {
            status.in_lab() || status == S::Retained
        }
        // Only from `received`: the return from the external lab restores exactly that.
        SentExternal => status == S::Received,
        ReturnedFromExternal => status == S::External,
        ReturnedToOwner | Destroyed => {
            status.in_lab() || matches!(status, S::Rejected | S::Retained)
        }
        Retained => status.in_lab(),
        Collected | Sealed | ReceivedAtLab | RejectedAtReceipt | SubSampled => false,
    }
}

pub fn available(status: SampleStatus) -> Vec<EventKind> {
    FORM_KINDS
        .into_iter()
        .filter(|k| allowed(*k, status))
        .collect()
}

#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct EventInput {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub occurred_at: String,
    #[serde(default)]
    pub place: String,
    #[serde(default)]
    pub storage_location_id: String,
    #[serde(default)]
    pub seal_number: String,
    #[serde(default)]
    pub seal_intact: String,
    #[serde(default)]
    pub new_seal_number: String,
    #[serde(default)]
    pub quantity: String,
    #[serde(default)]
    pub quantity_unit: String,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub external_lab: String,
    #[serde(default)]
    pub witness: String,
    #[serde(default)]
    pub to_party: String,
    #[serde(default)]
    pub retained_until: String,
    /// Transfer: the colleague who takes the sample, and their password.
    #[serde(default)]
    pub to_username: String,
    #[serde(default, skip_serializing)]
    pub to_password: String,
}

/// The fields each kind asks for, so the form shows exactly those.
pub fn fields(kind: EventKind) -> &'static [&'static str] {
    use EventKind::*;
    match kind {
        HandedOver => &["to_username", "to_password", "place", "reason"],
        Stored => &["storage_location_id", "reason"],
        RemovedFromStorage => &["reason"],
        Opened => &["seal_number", "seal_intact", "reason"],
        Resealed => &["new_seal_number", "reason"],
        SentExternal => &["external_lab", "seal_number", "quantity", "reason"],
        ReturnedFromExternal => &[
            "external_lab",
            "seal_number",
            "seal_intact",
            "condition",
            "reason",
        ],
        ReturnedToOwner => &["to_party", "place", "reason"],
        Destroyed => &["witness", "place", "reason"],
        Retained => &["retained_until", "storage_location_id", "reason"],
        _ => &[],
    }
}

/// Fields without which the event means nothing.
fn required(kind: EventKind) -> &'static [&'static str] {
    use EventKind::*;
    match kind {
        HandedOver => &["to_username", "to_password"],
        Stored => &["storage_location_id"],
        RemovedFromStorage | Opened => &["reason"],
        Resealed => &["new_seal_number"],
        SentExternal => &["external_lab", "reason"],
        ReturnedFromExternal => &["external_lab", "seal_intact"],
        ReturnedToOwner => &["to_party"],
        Destroyed => &["witness", "reason"],
        Retained => &["retained_until", "reason"],
        _ => &[],
    }
}

pub fn record(
    conn: &mut DbConn,
    who: &Handler,
    sample_id: &SampleId,
    input: &EventInput,
    tz: chrono_tz::Tz,
) -> Result<CustodyEvent, AppError> {
    let sample = find(conn, sample_id)?;
    let mut errors = FieldErrors::default();
    let Some(kind) = EventKind::parse(&input.kind).filter(|k| FORM_KINDS.contains(k)) else {
        return Err(AppError::invalid("kind", "validation.choose_one"));
    };
    if !allowed(kind, sample.status()) {
        return Err(AppError::invalid("kind", "validation.event_not_allowed"));
    }
    let asks = fields(kind);
    let must = required(kind);
    let text = |errors: &mut FieldErrors, field: &str, value: &str, max: usize| {
        if !asks.contains(&field) {
            None
        } else if must.contains(&field) {
            Some(required_text(errors, field, value, max))
        } else {
            optional_text(errors, field, value, max)
        }
    };
    let occurred_at = match input.occurred_at.trim() {
        "" => now(),
        v => match parse_local_datetime(v, tz) {
            Some(t) if t <= now() + chrono::TimeDelta::minutes(10) => t,
            Some(_) => {
                errors.add("occurred_at", "validation.not_in_future");
                now()
            }
            None => {
                errors.add("occurred_at", "validation.datetime_format");
                now()
            }
        },
    };
    let place = text(&mut errors, "place", &input.place, 200);
    let reason = text(&mut errors, "reason", &input.reason, 2000);
    let external_lab = text(&mut errors, "external_lab", &input.external_lab, 200);
    let witness = text(&mut errors, "witness", &input.witness, 200);
    let to_party = text(&mut errors, "to_party", &input.to_party, 200);
    let condition = text(&mut errors, "condition", &input.condition, 500);
    let seal_number = if asks.contains(&"seal_number") {
        check_identifier(&mut errors, "seal_number", &input.seal_number);
        normalize_seal(&input.seal_number)
    } else {
        None
    };
    let new_seal_number = if asks.contains(&"new_seal_number") {
        check_identifier(&mut errors, "new_seal_number", &input.new_seal_number);
        let s = normalize_seal(&input.new_seal_number);
        if s.is_none() {
            errors.add("new_seal_number", "validation.seal_required");
        } else if s == sample.seal_number {
            errors.add("new_seal_number", "validation.new_seal_differs");
        }
        s
    } else {
        None
    };
    let seal_intact = if asks.contains(&"seal_intact") {
        if must.contains(&"seal_intact") || !input.seal_intact.trim().is_empty() {
            yes_no(&mut errors, "seal_intact", &input.seal_intact)
        } else {
            None
        }
    } else {
        None
    };
    let (quantity, quantity_unit) =
        if asks.contains(&"quantity") && !input.quantity.trim().is_empty() {
            let q = parse_decimal(&input.quantity).filter(|q| *q > 0.0);
            if q.is_none() {
                errors.add("quantity", "validation.positive_number");
            }
            let u = UNITS
                .iter()
                .find(|u| **u == input.quantity_unit.trim())
                .map(|u| u.to_string());
            if u.is_none() {
                errors.add("quantity_unit", "validation.choose_one");
            }
            (q, u)
        } else {
            (None, None)
        };
    let location = if asks.contains(&"storage_location_id") {
        chosen_location(
            conn,
            &mut errors,
            "storage_location_id",
            &input.storage_location_id,
            must.contains(&"storage_location_id"),
        )?
    } else {
        None
    };
    let retained_until = if asks.contains(&"retained_until") {
        match parse_date(&input.retained_until) {
            Some(d) if d > chrono::Utc::now().with_timezone(&tz).date_naive() => {
                Some(d.format("%Y-%m-%d").to_string())
            }
            Some(_) => {
                errors.add("retained_until", "validation.date_in_future");
                None
            }
            None => {
                errors.add("retained_until", "validation.date_format");
                None
            }
        }
    } else {
        None
    };
    let receiver = if kind == EventKind::HandedOver {
        confirm_receiver(conn, who, input, &mut errors)?
    } else {
        None
    };
    errors.into_result()?;

    let change = match kind {
        EventKind::Stored => StateChange {
            storage_location_id: Some(location.clone()),
            ..Default::default()
        },
        EventKind::RemovedFromStorage => StateChange {
            storage_location_id: Some(None),
            ..Default::default()
        },
        EventKind::Resealed => StateChange {
            seal_number: Some(new_seal_number.clone()),
            ..Default::default()
        },
        EventKind::SentExternal => StateChange {
            status: Some(SampleStatus::External),
            storage_location_id: Some(None),
            ..Default::default()
        },
        EventKind::ReturnedFromExternal => StateChange {
            status: Some(SampleStatus::Received),
            ..Default::default()
        },
        EventKind::ReturnedToOwner => StateChange {
            status: Some(SampleStatus::Returned),
            storage_location_id: Some(None),
            ..Default::default()
        },
        EventKind::Destroyed => StateChange {
            status: Some(SampleStatus::Disposed),
            storage_location_id: Some(None),
            ..Default::default()
        },
        EventKind::Retained => StateChange {
            status: Some(SampleStatus::Retained),
            storage_location_id: location.clone().map(Some),
            retained_until: Some(retained_until.clone()),
            ..Default::default()
        },
        _ => StateChange::default(),
    };
    let from_user_id = (kind == EventKind::HandedOver).then(|| who.user_id.clone());
    write_tx(conn, |conn| {
        // Checked again under the row lock: another request may have moved the sample since.
        let sample = lock_for_update(conn, &sample.id)?;
        if !allowed(kind, sample.status()) {
            return Err(AppError::invalid("kind", "validation.event_not_allowed"));
        }
        if last_event_at(conn, &sample.id)?.is_some_and(|last| occurred_at < last) {
            return Err(AppError::invalid(
                "occurred_at",
                "validation.before_previous_event",
            ));
        }
        let event = custody::append(
            conn,
            who.actor,
            who.user_id,
            &sample.id,
            NewEvent {
                occurred_at: Some(occurred_at),
                from_user_id,
                to_user_id: receiver.clone(),
                to_party,
                storage_location_id: location,
                place,
                seal_number: seal_number
                    .or_else(|| sample.seal_number.clone())
                    .filter(|_| asks.contains(&"seal_number") || kind == EventKind::Resealed),
                seal_intact,
                new_seal_number,
                quantity,
                quantity_unit,
                sample_condition: condition,
                reason,
                external_lab,
                witness,
                retained_until,
                ..NewEvent::of(kind)
            },
        )?;
        update_state(conn, who.actor, &sample, change)?;
        Ok(event)
    })
}

/// The receiving colleague of a transfer: an active lab account other than the giver, who
/// proves presence with their password. Wrong passwords count towards that account's lock.
fn confirm_receiver(
    conn: &mut DbConn,
    who: &Handler,
    input: &EventInput,
    errors: &mut FieldErrors,
) -> Result<Option<crate::ids::UserId>, AppError> {
    let username = input.to_username.trim().to_lowercase();
    if username.is_empty() {
        errors.add("to_username", "validation.choose_one");
        return Ok(None);
    }
    let Some(receiver) = user::find_by_username(conn, &username)? else {
        errors.add("to_username", "validation.choose_one");
        return Ok(None);
    };
    if !receiver.active || !matches!(receiver.role(), Role::Technician | Role::Supervisor) {
        errors.add("to_username", "validation.receiver_not_lab_staff");
        return Ok(None);
    }
    if &receiver.id == who.user_id {
        errors.add("to_username", "validation.receiver_is_giver");
        return Ok(None);
    }
    if throttle::locked_until(conn, &username)?.is_some() {
        errors.add("to_password", "validation.receiver_locked");
        return Ok(None);
    }
    if input.to_password.is_empty() {
        errors.add("to_password", "validation.required");
        return Ok(None);
    }
    if !password::verify(&input.to_password, &receiver.password_hash) {
        // Counts towards the receiver's lock, and leaves a trace of who tried.
        write_tx(conn, |conn| {
            throttle::record(conn, &username, false, who.actor.remote_addr.as_deref())?;
            crate::audit::record(
                conn,
                who.actor,
                "custody_receiver_password_failed",
                "user",
                Some(receiver.id.as_str()),
                None::<&()>,
                None::<&()>,
            )
        })?;
        errors.add("to_password", "validation.receiver_password_wrong");
        return Ok(None);
    }
    Ok(Some(receiver.id))
}
