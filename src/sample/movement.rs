//! Custody events recorded on a sample in the lab: transfers between two people (the receiver
//! confirms with their own password), storage, opening and resealing, external laboratories,
//! and the final disposition (returned, destroyed before a witness, retained). Which event may
//! follow which status is decided here; who may record it is the holder rule of `holding`:
//! the holder, or a supervisor who states why (custody then passes to the supervisor).

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::audit::Handler;
use crate::custody::{self, CustodyEvent, EventKind, NewEvent};
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{SampleId, StorageLocationId, UserId};
use crate::sample::holding::{authority, Authority, Holding, Quantity};
use crate::sample::receipt::{chosen_location, yes_no};
use crate::sample::state::{self, Change, Transition};
use crate::sample::{find, normalize_seal, Sample, SampleStatus, UNITS};
use crate::user::{self, presence, throttle, Role};
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

/// The status change an event of this kind makes, if any (`resume` is where a sample back
/// from an external laboratory continues).
fn transition(kind: EventKind, resume: SampleStatus) -> Option<Transition> {
    use EventKind::*;
    match kind {
        SentExternal => Some(Transition::SendExternal),
        ReturnedFromExternal => Some(Transition::ReturnFromExternal { resume }),
        ReturnedToOwner => Some(Transition::ReturnToOwner),
        Destroyed => Some(Transition::Destroy),
        Retained => Some(Transition::Retain),
        _ => None,
    }
}

/// Whether `kind` may be recorded on a sample in `status`: events that change the status
/// follow the state table; the others (hand-over, storage, opening, resealing) need the sample
/// in the lab's hands.
pub fn allowed(kind: EventKind, status: SampleStatus) -> bool {
    if !FORM_KINDS.contains(&kind) {
        return false;
    }
    match kind {
        // Any resume the table accepts: the real one is read under the lock when recording.
        EventKind::ReturnedFromExternal => status == SampleStatus::External,
        _ => match transition(kind, SampleStatus::Received) {
            Some(t) => state::next_status(status, t).is_some(),
            None => status.in_lab() || status == SampleStatus::Retained,
        },
    }
}

pub fn available(status: SampleStatus) -> Vec<EventKind> {
    FORM_KINDS
        .into_iter()
        .filter(|k| allowed(*k, status))
        .collect()
}

/// Events that cannot be undone in any sense: recorded only after a confirmation page.
pub fn needs_confirmation(kind: EventKind) -> bool {
    kind == EventKind::Destroyed
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
    /// Destruction: `user` (a user who confirms with their password) or `external`.
    #[serde(default)]
    pub witness_kind: String,
    #[serde(default)]
    pub witness_username: String,
    #[serde(default, skip_serializing)]
    pub witness_password: String,
    /// The external witness's name, and their identity document.
    #[serde(default)]
    pub witness: String,
    #[serde(default)]
    pub witness_document: String,
    #[serde(default)]
    pub to_party: String,
    #[serde(default)]
    pub retained_until: String,
    /// Transfer: the colleague who takes the sample, and their password.
    #[serde(default)]
    pub to_username: String,
    #[serde(default, skip_serializing)]
    pub to_password: String,
    /// A supervisor recording in the holder's place says why.
    #[serde(default)]
    pub override_reason: String,
    /// `yes` once the confirmation page was seen (events that need one).
    #[serde(default)]
    pub confirm: String,
}

impl EventInput {
    pub fn confirmed(&self) -> bool {
        self.confirm == "yes"
    }

    pub fn external_witness(&self) -> bool {
        self.witness_kind == "external"
    }
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
            "quantity",
            "condition",
            "reason",
        ],
        ReturnedToOwner => &["to_party", "place", "reason"],
        Destroyed => &[
            "witness_kind",
            "witness_username",
            "witness",
            "witness_document",
            "place",
            "reason",
        ],
        Retained => &["retained_until", "storage_location_id", "reason"],
        _ => &[],
    }
}

/// Fields without which the event means nothing (a destruction's witness fields depend on
/// the kind of witness).
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
        Destroyed => &["reason"],
        Retained => &["retained_until", "reason"],
        _ => &[],
    }
}

/// The second person of an event: who takes the sample in a hand-over, who witnesses its
/// destruction. Both prove their presence with their own password.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Second {
    Receiver,
    Witness,
}

impl Second {
    fn user_field(self) -> &'static str {
        match self {
            Second::Receiver => "to_username",
            Second::Witness => "witness_username",
        }
    }

    fn password_field(self) -> &'static str {
        match self {
            Second::Receiver => "to_password",
            Second::Witness => "witness_password",
        }
    }

    /// The i18n key of a problem with this person (`not_allowed`, `is_self`, `locked`,
    /// `password_wrong`).
    fn key(self, problem: &str) -> String {
        let who = match self {
            Second::Receiver => "receiver",
            Second::Witness => "witness",
        };
        let problem = match (self, problem) {
            (Second::Receiver, "not_allowed") => "not_lab_staff",
            (Second::Receiver, "is_self") => "is_giver",
            (_, p) => p,
        };
        format!("validation.{who}_{problem}")
    }

    /// The hand-over's receiver must be lab staff; a destruction may be witnessed by any
    /// active user but an administrator (a customs officer often is the witness).
    fn may_be(self, role: Role) -> bool {
        match self {
            Second::Receiver => matches!(role, Role::Technician | Role::Supervisor),
            Second::Witness => role != Role::Admin,
        }
    }

    fn failure_action(self) -> &'static str {
        match self {
            Second::Receiver => "custody_receiver_password_failed",
            Second::Witness => "custody_witness_password_failed",
        }
    }

    /// Who `input` names for this role, and the password typed for them, when the event
    /// asks for this person with a password now.
    fn named(self, input: &EventInput) -> Option<(&str, &str)> {
        let kind = EventKind::parse(&input.kind)?;
        match self {
            Second::Receiver if kind == EventKind::HandedOver => {
                Some((&input.to_username, &input.to_password))
            }
            Second::Witness
                if kind == EventKind::Destroyed
                    && !input.external_witness()
                    && input.confirmed() =>
            {
                Some((&input.witness_username, &input.witness_password))
            }
            _ => None,
        }
    }
}

/// The passwords of the event's second people, checked off the database connection:
/// `Proofs::begin` (database) reads the accounts, `Proofs::check` (CPU) verifies.
#[derive(Default)]
pub struct Proofs(Vec<presence::Checked>);

impl Proofs {
    pub fn begin(
        conn: &mut DbConn,
        who: &Handler,
        input: &EventInput,
    ) -> Result<Vec<presence::Pending>, AppError> {
        let mut pending = Vec::new();
        for second in [Second::Receiver, Second::Witness] {
            if let Some((username, password)) = second.named(input) {
                pending.extend(presence::begin(conn, who, username, password)?);
            }
        }
        Ok(pending)
    }

    pub fn check(pending: Vec<presence::Pending>) -> Proofs {
        Proofs(pending.into_iter().map(presence::Pending::check).collect())
    }

    fn of(&self, username: &str) -> Option<&presence::Checked> {
        self.0.iter().find(|c| c.username == username)
    }
}

/// The second person named in `input`, checked: their account (and, when `proofs` is given,
/// their password). Problems go beside the fields.
fn confirm_second(
    conn: &mut DbConn,
    who: &Handler,
    second: Second,
    username: &str,
    password_typed: bool,
    proofs: Option<&Proofs>,
    errors: &mut FieldErrors,
) -> Result<Option<user::User>, AppError> {
    let username = username.trim().to_lowercase();
    let field = second.user_field();
    if username.is_empty() {
        errors.add(field, "validation.choose_one");
        return Ok(None);
    }
    let Some(person) = user::find_by_username(conn, &username)? else {
        errors.add(field, "validation.choose_one");
        return Ok(None);
    };
    if !person.active || !second.may_be(person.role) {
        errors.add(field, &second.key("not_allowed"));
        return Ok(None);
    }
    if person.id == who.user_id {
        errors.add(field, &second.key("is_self"));
        return Ok(None);
    }
    let Some(proofs) = proofs else {
        // Only the account is checked before the confirmation page; a locked one is said now.
        if throttle::locked_until(conn, &username)?.is_some() {
            errors.add(second.password_field(), &second.key("locked"));
        }
        return Ok(Some(person));
    };
    let password_field = second.password_field();
    match proofs.of(&username) {
        Some(checked) => {
            if presence::finish(conn, who, checked, second.failure_action())? {
                Ok(Some(person))
            } else {
                errors.add(password_field, &second.key("password_wrong"));
                Ok(None)
            }
        }
        None if !password_typed => {
            errors.add(password_field, "validation.required");
            Ok(None)
        }
        // Typed but not checked: the account was locked by failures.
        None => {
            errors.add(password_field, &second.key("locked"));
            Ok(None)
        }
    }
}

/// The sample's custody now, read from its chain.
pub fn holding(conn: &mut DbConn, sample_id: &SampleId) -> Result<Holding, AppError> {
    Ok(Holding::of(&custody::for_sample(conn, sample_id)?))
}

/// The holder rule for `who` on this sample now (see `holding`). Problems go to `errors`:
/// beside the override reason, or on `holder` (the page's box naming the holder). Answers the
/// holder of record when a supervisor records in their place.
pub(crate) fn check_holder(
    conn: &mut DbConn,
    who: &Handler,
    holding: &Holding,
    override_reason: &Option<String>,
    errors: &mut FieldErrors,
) -> Result<Option<UserId>, AppError> {
    let supervisor = user::name_and_role(conn, &who.user_id)?.1 == Role::Supervisor;
    Ok(match authority(holding, &who.user_id, supervisor) {
        Authority::Holder | Authority::TakesIn => None,
        Authority::Override => {
            if override_reason.is_none() {
                errors.add("override_reason", "validation.override_reason_required");
            }
            holding.person().cloned()
        }
        Authority::Refused => {
            errors.add("holder", "validation.not_the_holder");
            None
        }
    })
}

/// An amount taken from a sample must be in a unit of its kind and not more than is left
/// (when what is left is known).
pub(crate) fn check_amount(holding: &Holding, amount: &Quantity, errors: &mut FieldErrors) {
    if let Some(balance) = &holding.balance {
        match balance.covers(amount) {
            None => errors.add("quantity_unit", "validation.unit_not_convertible"),
            Some(false) => errors.add("quantity", "validation.more_than_left"),
            Some(true) => {}
        }
    }
}

/// A quantity typed with its unit; both are needed when `required`, else both or neither.
pub(crate) fn typed_quantity(
    errors: &mut FieldErrors,
    quantity: &str,
    unit: &str,
    required: bool,
) -> Option<Quantity> {
    if !required && quantity.trim().is_empty() {
        return None;
    }
    let q = parse_decimal(quantity).filter(|q| *q > 0.0);
    if q.is_none() {
        let key = if quantity.trim().is_empty() {
            "validation.quantity_required"
        } else {
            "validation.positive_number"
        };
        errors.add("quantity", key);
    }
    let u = UNITS.iter().find(|u| **u == unit.trim());
    if u.is_none() {
        errors.add("quantity_unit", "validation.choose_unit");
    }
    Some(Quantity::new(q?, u?))
}

/// An event that passed every check but the final ones under the row lock.
struct Valid {
    kind: EventKind,
    occurred_at: NaiveDateTime,
    new: NewEvent,
    location: Option<StorageLocationId>,
    retained_until: Option<String>,
    new_seal_number: Option<String>,
    amount: Option<Quantity>,
    /// The holder of record when a supervisor records in their place.
    previous_holder: Option<UserId>,
}

/// What the confirmation page of an event shows (the rest is the form as typed).
pub struct Preview {
    /// The witness's name (a user's full name, or the external person's as typed).
    pub witness: Option<String>,
    pub witness_document: Option<String>,
    pub occurred_at: NaiveDateTime,
}

/// Checks an event that needs a confirmation page, without recording it and without the
/// second person's password (typed on that page).
pub fn preview(
    conn: &mut DbConn,
    who: &Handler,
    sample_id: &SampleId,
    input: &EventInput,
    tz: chrono_tz::Tz,
) -> Result<Preview, AppError> {
    let sample = find(conn, sample_id)?;
    let valid = validate(conn, who, &sample, input, tz, None)?;
    Ok(Preview {
        witness: valid.new.witness,
        witness_document: valid.new.witness_document,
        occurred_at: valid.occurred_at,
    })
}

fn validate(
    conn: &mut DbConn,
    who: &Handler,
    sample: &Sample,
    input: &EventInput,
    tz: chrono_tz::Tz,
    proofs: Option<&Proofs>,
) -> Result<Valid, AppError> {
    let mut errors = FieldErrors::default();
    let Some(kind) = EventKind::parse(&input.kind).filter(|k| FORM_KINDS.contains(k)) else {
        return Err(AppError::invalid("kind", "validation.choose_one"));
    };
    if !allowed(kind, sample.status) {
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
    let override_reason =
        optional_text(&mut errors, "override_reason", &input.override_reason, 1000);
    let holding = holding(conn, &sample.id)?;
    let previous_holder = check_holder(conn, who, &holding, &override_reason, &mut errors)?;
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
    let amount = if asks.contains(&"quantity") {
        typed_quantity(&mut errors, &input.quantity, &input.quantity_unit, false)
    } else {
        None
    };
    if let (EventKind::SentExternal, Some(a)) = (kind, &amount) {
        check_amount(&holding, a, &mut errors);
    }
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
        let receiver = confirm_second(
            conn,
            who,
            Second::Receiver,
            &input.to_username,
            !input.to_password.is_empty(),
            proofs,
            &mut errors,
        )?;
        if receiver.is_some() && receiver.as_ref().map(|r| &r.id) == previous_holder.as_ref() {
            errors.add("to_username", "validation.receiver_holds_it");
        }
        receiver.map(|r| r.id)
    } else {
        None
    };
    // A destruction's witness: a user present, or an external person named with their ID.
    let (mut witness, mut witness_user_id, mut witness_document) = (None, None, None);
    if kind == EventKind::Destroyed {
        match input.witness_kind.as_str() {
            "user" => {
                let person = confirm_second(
                    conn,
                    who,
                    Second::Witness,
                    &input.witness_username,
                    !input.witness_password.is_empty(),
                    proofs,
                    &mut errors,
                )?;
                if let Some(p) = person {
                    witness = Some(p.full_name);
                    witness_user_id = Some(p.id);
                }
            }
            "external" => {
                witness = Some(required_text(&mut errors, "witness", &input.witness, 200));
                witness_document = Some(required_text(
                    &mut errors,
                    "witness_document",
                    &input.witness_document,
                    60,
                ));
            }
            _ => errors.add("witness_kind", "validation.choose_witness"),
        }
    }
    errors.into_result()?;

    // Who holds the sample after it (see `holding`), and from whom it passes.
    let holder_after = match kind {
        EventKind::HandedOver => receiver,
        EventKind::SentExternal | EventKind::ReturnedToOwner | EventKind::Destroyed => None,
        _ => Some(who.user_id.clone()),
    };
    let from_user_id = match kind {
        EventKind::HandedOver => previous_holder.clone().or(Some(who.user_id.clone())),
        _ => previous_holder.clone(),
    };
    let new = NewEvent {
        occurred_at: Some(occurred_at),
        from_user_id,
        to_user_id: holder_after,
        to_party,
        storage_location_id: location.clone(),
        place,
        seal_number: seal_number
            .or_else(|| sample.seal_number.clone())
            .filter(|_| asks.contains(&"seal_number") || kind == EventKind::Resealed),
        seal_intact,
        new_seal_number: new_seal_number.clone(),
        quantity: amount.as_ref().map(|a| a.value),
        quantity_unit: amount.as_ref().map(|a| a.unit.clone()),
        sample_condition: condition,
        reason,
        external_lab,
        witness,
        witness_user_id,
        witness_document,
        retained_until: retained_until.clone(),
        override_reason: previous_holder.as_ref().and(override_reason),
        ..NewEvent::of(kind)
    };
    Ok(Valid {
        kind,
        occurred_at,
        new,
        location,
        retained_until,
        new_seal_number,
        amount,
        previous_holder,
    })
}

/// Records an event. The passwords of second people were checked off the connection into
/// `proofs` (`Proofs::begin` and `Proofs::check`); events that need a confirmation page are
/// refused unless `input` says it was seen.
pub fn record(
    conn: &mut DbConn,
    who: &Handler,
    sample_id: &SampleId,
    input: &EventInput,
    tz: chrono_tz::Tz,
    proofs: &Proofs,
) -> Result<CustodyEvent, AppError> {
    let sample = find(conn, sample_id)?;
    let valid = validate(conn, who, &sample, input, tz, Some(proofs))?;
    if needs_confirmation(valid.kind) && !input.confirmed() {
        return Err(AppError::invalid("confirm", "validation.confirm_first"));
    }
    let Valid {
        kind,
        occurred_at,
        new,
        location,
        retained_until,
        new_seal_number,
        amount,
        previous_holder,
    } = valid;
    let change = Change {
        storage_location_id: match kind {
            EventKind::Stored | EventKind::Retained if location.is_some() => Some(location),
            EventKind::RemovedFromStorage
            | EventKind::SentExternal
            | EventKind::ReturnedToOwner
            | EventKind::Destroyed => Some(None),
            _ => None,
        },
        seal_number: (kind == EventKind::Resealed).then_some(new_seal_number),
        retained_until: (kind == EventKind::Retained).then_some(retained_until),
        at: Some(occurred_at),
        ..Default::default()
    };
    write_tx(conn, |conn| {
        // Checked again under the row lock: another request may have moved the sample since.
        let sample = state::lock_for_update(conn, &sample.id)?;
        if !allowed(kind, sample.status) {
            return Err(AppError::invalid("kind", "validation.event_not_allowed"));
        }
        let occurred_at = state::time_after_last(conn, &sample.id, occurred_at, "occurred_at")?;
        let now_held = holding(conn, &sample.id)?;
        let mut errors = FieldErrors::default();
        let previous = check_holder(conn, who, &now_held, &new.override_reason, &mut errors)?;
        if previous != previous_holder {
            // Someone else took the sample between the form and now.
            errors.add("holder", "validation.holder_changed");
        }
        if let (EventKind::SentExternal, Some(a)) = (kind, &amount) {
            check_amount(&now_held, a, &mut errors);
        }
        errors.into_result()?;
        let new = NewEvent {
            occurred_at: Some(occurred_at),
            ..new
        };
        let event = custody::append(conn, &who.actor, &who.user_id, &sample.id, new)?;
        let resume = state::resume_after_external(conn, &sample.id)?;
        state::apply(
            conn,
            &who.actor,
            &sample,
            Change {
                transition: transition(kind, resume),
                at: Some(occurred_at),
                ..change
            },
        )?;
        Ok(event)
    })
}
