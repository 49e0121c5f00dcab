//! Who holds a sample, where it is, and how much of it is left: all three read from its chain
//! of custody by one pure function, `Holding::of`, so the sample page, the checks before a new
//! event and the tests agree.
//!
//! # The holder rule
//!
//! At every moment one person answers for a sample in the lab, and only that person records
//! the next event on it. A supervisor may record it in the holder's place (the holder is away,
//! the sample was found elsewhere) but must state why; the reason is part of the event, and
//! custody passes from the holder of record to the supervisor. A custody officer defends this
//! because every event then has one accountable signer, and nobody can act on a sample that
//! someone else signed for.
//!
//! Who holds the sample after each event:
//! - collected, sealed: the seizing officer (outside the lab, at the place of seizure);
//! - received at the lab, rejected at receipt: the technician who took it at the counter;
//! - handed over: the receiver, who confirmed with their own password;
//! - stored, removed from storage, opened, resealed, sub-sampled, retained, returned from an
//!   external laboratory: the person who recorded it. Storing does not end anybody's custody:
//!   a fridge cannot answer for a sample, so the person who put it there still does (until they
//!   hand it over, which can be done while it stays stored);
//! - sent to an external laboratory, returned to the owner: that laboratory or owner;
//! - destroyed: nobody.
//!
//! While the holder is outside the lab (the seizing officer, an external laboratory), any lab
//! member may record the event that brings the sample in (the receipt, the return), and
//! becomes its holder.
//!
//! # The balance
//!
//! The quantity left is the quantity received (or, without one, the quantity recorded at the
//! seizure, or for a sub-sample the quantity split off into it), minus what was split off into
//! sub-samples and sent out, plus what came back from an external laboratory; nothing once it
//! is destroyed or returned to its owner. Quantities in another unit of the same kind are
//! converted (mg, g, kg; mL, L); one that cannot be converted makes the balance unknown rather
//! than wrong. Tests record no consumption event yet, so nothing is subtracted for them.

use chrono::NaiveDateTime;
use diesel::QueryResult;

use crate::custody::{CustodyEvent, EventKind};
use crate::db::DbConn;
use crate::ids::{StorageLocationId, UserId};

/// Who answers for the sample.
#[derive(Debug, Clone, PartialEq)]
pub enum Holder {
    /// A user of the lab.
    Person(UserId),
    /// Someone outside the lab, by name: the seizing officer, an external laboratory, the owner.
    Party(String),
    /// Nobody: destroyed (or no event at all).
    Nobody,
}

/// Where the sample is.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// Where it was seized, with the officer (the place as recorded, if any).
    Seizure(Option<String>),
    /// In a storage location of the lab.
    Store(StorageLocationId),
    /// In the lab, in its holder's hands (not stored).
    InHand,
    /// At an external laboratory.
    External(String),
    /// Back with its owner.
    Owner(String),
    Destroyed,
}

impl Place {
    /// The place's kind as the API names it; `holding.<kind>` is its i18n key.
    pub fn kind(&self) -> &'static str {
        match self {
            Place::Seizure(_) => "at_seizure",
            Place::Store(_) => "stored",
            Place::InHand => "in_hand",
            Place::External(_) => "external",
            Place::Owner(_) => "owner",
            Place::Destroyed => "destroyed",
        }
    }
}

/// Who holds a sample and where it is, named for people: the holder's full name (or the
/// outside party as recorded), the kind of place and its name (a storage path, a laboratory).
#[derive(Debug, Clone)]
pub struct Described {
    pub holder: Option<String>,
    pub place_kind: &'static str,
    pub place: String,
}

/// Names the holder and the place of `holding`.
pub fn describe(conn: &mut DbConn, holding: &Holding) -> QueryResult<Described> {
    let holder = match &holding.holder {
        Holder::Person(id) => Some(crate::user::name_and_role(conn, id)?.0),
        Holder::Party(name) => Some(name.clone()),
        Holder::Nobody => None,
    };
    let place = match &holding.place {
        Place::Seizure(p) => p.clone().unwrap_or_default(),
        Place::Store(l) => crate::storage::paths_of(conn, std::slice::from_ref(l))?
            .remove(l)
            .unwrap_or_default(),
        Place::InHand | Place::Destroyed => String::new(),
        Place::External(name) | Place::Owner(name) => name.clone(),
    };
    Ok(Described {
        holder,
        place_kind: holding.place.kind(),
        place,
    })
}

/// An amount in one of the units of `sample::UNITS`.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    pub value: f64,
    pub unit: String,
}

/// The size of a unit in its kind's base unit (g, mL, units).
fn unit_factor(unit: &str) -> Option<(&'static str, f64)> {
    Some(match unit {
        "mg" => ("mass", 0.001),
        "g" => ("mass", 1.0),
        "kg" => ("mass", 1000.0),
        "mL" => ("volume", 1.0),
        "L" => ("volume", 1000.0),
        "units" => ("count", 1.0),
        _ => return None,
    })
}

/// Rounded to a millionth, so repeated splits do not show float noise (20.499999…).
fn tidy(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// `value` in `from` expressed in `to`, when both measure the same kind of thing.
pub fn convert(value: f64, from: &str, to: &str) -> Option<f64> {
    let (kind_from, f_from) = unit_factor(from)?;
    let (kind_to, f_to) = unit_factor(to)?;
    (kind_from == kind_to).then(|| tidy(value * f_from / f_to))
}

impl Quantity {
    pub fn new(value: f64, unit: &str) -> Quantity {
        Quantity {
            value,
            unit: unit.to_string(),
        }
    }

    fn of(value: Option<f64>, unit: &Option<String>) -> Option<Quantity> {
        Some(Quantity::new(value?, unit.as_deref()?))
    }

    /// This quantity with `other` added (negative `sign`: taken away), in this one's unit;
    /// `None` when the units cannot be converted. Never below zero.
    fn plus(&self, other: &Quantity, sign: f64) -> Option<Quantity> {
        let v = convert(other.value, &other.unit, &self.unit)?;
        Some(Quantity::new(
            tidy((self.value + sign * v).max(0.0)),
            &self.unit,
        ))
    }

    /// Whether `amount` can be taken from this quantity: same kind of unit, and not more.
    pub fn covers(&self, amount: &Quantity) -> Option<bool> {
        convert(amount.value, &amount.unit, &self.unit).map(|v| v <= self.value + 1e-9)
    }

    /// What is left after taking `amount` away (in this quantity's unit).
    pub fn minus(&self, amount: &Quantity) -> Option<Quantity> {
        self.plus(amount, -1.0)
    }
}

/// The state of a sample's custody after its last event.
#[derive(Debug, Clone, PartialEq)]
pub struct Holding {
    pub holder: Holder,
    pub place: Place,
    /// When the current holder took it.
    pub since: Option<NaiveDateTime>,
    /// The quantity left, when it is known.
    pub balance: Option<Quantity>,
}

impl Holding {
    /// Reads the holder, place and balance from a sample's events, in chain order.
    pub fn of(events: &[CustodyEvent]) -> Holding {
        let mut h = Holding {
            holder: Holder::Nobody,
            place: Place::Seizure(None),
            since: None,
            balance: None,
        };
        for (i, e) in events.iter().enumerate() {
            let Some(kind) = e.kind() else { continue };
            let qty = Quantity::of(e.quantity, &e.quantity_unit);
            // The person of an event in the lab: who it names as taking the sample, else its
            // recorder (events recorded before events named their holder).
            let person = || Holder::Person(e.to_user_id.clone().unwrap_or(e.recorded_by.clone()));
            let holder = match kind {
                EventKind::Collected | EventKind::Sealed => {
                    if let Some(q) = qty.clone().filter(|_| h.balance.is_none()) {
                        h.balance = Some(q);
                    }
                    if e.place.is_some() || !matches!(h.place, Place::Seizure(_)) {
                        h.place = Place::Seizure(e.place.clone());
                    }
                    e.to_party.clone().map(Holder::Party)
                }
                EventKind::ReceivedAtLab | EventKind::RejectedAtReceipt => {
                    if qty.is_some() {
                        h.balance = qty;
                    }
                    h.place = Place::InHand;
                    Some(person())
                }
                EventKind::HandedOver => Some(person()),
                EventKind::Stored => {
                    if let Some(l) = &e.storage_location_id {
                        h.place = Place::Store(l.clone());
                    }
                    Some(person())
                }
                EventKind::Retained => {
                    if let Some(l) = &e.storage_location_id {
                        h.place = Place::Store(l.clone());
                    }
                    Some(person())
                }
                EventKind::RemovedFromStorage => {
                    h.place = Place::InHand;
                    Some(person())
                }
                EventKind::Opened | EventKind::Resealed => Some(person()),
                EventKind::SubSampled if i == 0 => {
                    // A sub-sample's chain starts with its split: what was split off into it.
                    h.balance = qty;
                    h.place = Place::InHand;
                    Some(person())
                }
                EventKind::SubSampled => {
                    h.balance = take(&h.balance, &qty, -1.0);
                    Some(person())
                }
                EventKind::SentExternal => {
                    h.balance = take(&h.balance, &qty, -1.0);
                    let lab = e.external_lab.clone().unwrap_or_default();
                    h.place = Place::External(lab.clone());
                    Some(Holder::Party(lab))
                }
                EventKind::ReturnedFromExternal => {
                    h.balance = take(&h.balance, &qty, 1.0);
                    h.place = Place::InHand;
                    Some(person())
                }
                EventKind::ReturnedToOwner => {
                    // Nothing is left in the lab.
                    h.balance = h.balance.take().map(|b| Quantity::new(0.0, &b.unit));
                    let owner = e.to_party.clone().unwrap_or_default();
                    h.place = Place::Owner(owner.clone());
                    Some(Holder::Party(owner))
                }
                EventKind::Destroyed => {
                    h.balance = h.balance.take().map(|b| Quantity::new(0.0, &b.unit));
                    h.place = Place::Destroyed;
                    Some(Holder::Nobody)
                }
            };
            if let Some(holder) = holder {
                if holder != h.holder || h.since.is_none() {
                    h.since = Some(e.occurred_at);
                }
                h.holder = holder;
            }
        }
        h
    }

    /// The holder when it is a user of the lab.
    pub fn person(&self) -> Option<&UserId> {
        match &self.holder {
            Holder::Person(id) => Some(id),
            _ => None,
        }
    }
}

/// The balance after an amount goes out (`sign` -1) or comes back (+1). An event without a
/// quantity leaves it as it was; one that cannot be converted makes it unknown.
fn take(balance: &Option<Quantity>, amount: &Option<Quantity>, sign: f64) -> Option<Quantity> {
    match (balance, amount) {
        (b, None) => b.clone(),
        (Some(b), Some(a)) => b.plus(a, sign),
        (None, Some(_)) => None,
    }
}

/// On what footing a user may record the next event on a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// They hold it.
    Holder,
    /// It is outside the lab: whoever takes it in at the lab records that.
    TakesIn,
    /// A supervisor acting in the holder's place: allowed with a stated reason.
    Override,
    /// Someone else holds it.
    Refused,
}

/// Whether `user` (a supervisor or not) may record the next event, by the holder rule.
pub fn authority(holding: &Holding, user: &UserId, supervisor: bool) -> Authority {
    match &holding.holder {
        Holder::Person(h) if h == user => Authority::Holder,
        Holder::Person(_) if supervisor => Authority::Override,
        Holder::Person(_) | Holder::Nobody => Authority::Refused,
        Holder::Party(_) => Authority::TakesIn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CustodyEventId, SampleId};

    fn at(minute: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(10, minute, 0)
            .unwrap()
    }

    fn user(name: &str) -> UserId {
        UserId(name.into())
    }

    /// An event of `kind` recorded by `by`, at minute `seq`.
    fn ev(seq: i64, kind: EventKind, by: &str) -> CustodyEvent {
        CustodyEvent {
            id: CustodyEventId(format!("e{seq}")),
            sample_id: SampleId("s".into()),
            seq,
            kind: kind.as_str().into(),
            occurred_at: at(seq as u32),
            recorded_at: at(seq as u32),
            recorded_by: user(by),
            from_user_id: None,
            from_party: None,
            to_user_id: None,
            to_party: None,
            storage_location_id: None,
            place: None,
            seal_number: None,
            seal_intact: None,
            new_seal_number: None,
            quantity: None,
            quantity_unit: None,
            sample_condition: None,
            reason: None,
            external_lab: None,
            related_sample_id: None,
            witness: None,
            prev_hash: String::new(),
            hash: String::new(),
            retained_until: None,
            quantity_sufficient: None,
            key_id: None,
            witness_user_id: None,
            witness_document: None,
            override_reason: None,
        }
    }

    fn qty(mut e: CustodyEvent, value: f64, unit: &str) -> CustodyEvent {
        e.quantity = Some(value);
        e.quantity_unit = Some(unit.into());
        e
    }

    fn to(mut e: CustodyEvent, who: &str) -> CustodyEvent {
        e.to_user_id = Some(user(who));
        e
    }

    fn seized() -> Vec<CustodyEvent> {
        let mut collected = qty(ev(1, EventKind::Collected, "officer"), 25.5, "g");
        collected.to_party = Some("Of. Ramírez".into());
        collected.place = Some("Puente".into());
        let mut sealed = ev(2, EventKind::Sealed, "officer");
        sealed.to_party = Some("Of. Ramírez".into());
        vec![collected, sealed]
    }

    /// The holder kept on the sample row (`CustodyEvent::lab_holder_after`, for lists) is the
    /// lab user `Holding::of` names, after every kind of event, named or not, by anyone.
    #[test]
    fn the_holder_kept_for_lists_agrees_with_the_chain() {
        for kind in EventKind::ALL {
            for named in [false, true] {
                let mut chain = seized();
                let held = |chain: &[CustodyEvent]| {
                    chain
                        .iter()
                        .fold(None, |before, e| e.lab_holder_after(before))
                };
                assert_eq!(held(&chain), Holding::of(&chain).person().cloned());
                chain.push(to(ev(3, EventKind::ReceivedAtLab, "ana"), "ana"));
                let mut next = ev(4, kind, "luis");
                if named {
                    next = to(next, "eva");
                }
                chain.push(next);
                assert_eq!(
                    held(&chain),
                    Holding::of(&chain).person().cloned(),
                    "{kind:?}, named {named}"
                );
            }
        }
    }

    #[test]
    fn before_receipt_the_officer_holds_it_and_anyone_in_the_lab_takes_it_in() {
        let h = Holding::of(&seized());
        assert_eq!(h.holder, Holder::Party("Of. Ramírez".into()));
        assert_eq!(h.place, Place::Seizure(Some("Puente".into())));
        assert_eq!(h.balance, Some(Quantity::new(25.5, "g")));
        assert_eq!(authority(&h, &user("ana"), false), Authority::TakesIn);
    }

    #[test]
    fn the_holder_follows_receipt_hand_over_storage_and_the_end() {
        let mut events = seized();
        events.push(to(ev(3, EventKind::ReceivedAtLab, "ana"), "ana"));
        let h = Holding::of(&events);
        assert_eq!(h.holder, Holder::Person(user("ana")));
        assert_eq!(h.place, Place::InHand);
        assert_eq!(h.since, Some(at(3)));

        let mut handed = to(ev(4, EventKind::HandedOver, "ana"), "bea");
        handed.from_user_id = Some(user("ana"));
        events.push(handed);
        let h = Holding::of(&events);
        assert_eq!(h.holder, Holder::Person(user("bea")));
        assert_eq!(authority(&h, &user("ana"), false), Authority::Refused);
        assert_eq!(authority(&h, &user("bea"), false), Authority::Holder);
        assert_eq!(authority(&h, &user("sup"), true), Authority::Override);
        assert_eq!(authority(&h, &user("bea"), true), Authority::Holder);

        let mut stored = to(ev(5, EventKind::Stored, "bea"), "bea");
        stored.storage_location_id = Some(StorageLocationId("fridge".into()));
        events.push(stored);
        let h = Holding::of(&events);
        assert_eq!(
            h.holder,
            Holder::Person(user("bea")),
            "storing keeps the holder"
        );
        assert_eq!(h.place, Place::Store(StorageLocationId("fridge".into())));
        assert_eq!(h.since, Some(at(4)), "holder since the hand-over");

        // A supervisor acting in her place takes custody.
        let mut removed = to(ev(6, EventKind::RemovedFromStorage, "sup"), "sup");
        removed.override_reason = Some("Bea de licencia".into());
        events.push(removed);
        let h = Holding::of(&events);
        assert_eq!(h.holder, Holder::Person(user("sup")));
        assert_eq!(h.place, Place::InHand);

        let mut sent = qty(ev(7, EventKind::SentExternal, "sup"), 5.0, "g");
        sent.external_lab = Some("Lab Santiago".into());
        events.push(sent);
        let h = Holding::of(&events);
        assert_eq!(h.holder, Holder::Party("Lab Santiago".into()));
        assert_eq!(h.place, Place::External("Lab Santiago".into()));
        assert_eq!(h.balance, Some(Quantity::new(20.5, "g")));
        assert_eq!(authority(&h, &user("carla"), false), Authority::TakesIn);

        events.push(qty(
            to(ev(8, EventKind::ReturnedFromExternal, "carla"), "carla"),
            2.0,
            "g",
        ));
        let h = Holding::of(&events);
        assert_eq!(h.holder, Holder::Person(user("carla")));
        assert_eq!(h.balance, Some(Quantity::new(22.5, "g")));

        events.push(ev(9, EventKind::Destroyed, "carla"));
        let h = Holding::of(&events);
        assert_eq!(h.holder, Holder::Nobody);
        assert_eq!(h.place, Place::Destroyed);
        assert_eq!(h.balance, Some(Quantity::new(0.0, "g")), "nothing left");
        assert_eq!(authority(&h, &user("carla"), true), Authority::Refused);
    }

    #[test]
    fn events_recorded_before_they_named_a_holder_count_their_recorder() {
        let mut events = seized();
        events.push(ev(3, EventKind::ReceivedAtLab, "ana"));
        events.push(ev(4, EventKind::Opened, "bea"));
        assert_eq!(Holding::of(&events).holder, Holder::Person(user("bea")));
    }

    #[test]
    fn the_balance_is_received_minus_split_off_in_any_unit_of_the_kind() {
        let mut events = seized();
        events.push(qty(
            to(ev(3, EventKind::ReceivedAtLab, "ana"), "ana"),
            0.0255,
            "kg",
        ));
        events.push(qty(
            to(ev(4, EventKind::SubSampled, "ana"), "ana"),
            5.0,
            "g",
        ));
        events.push(qty(
            to(ev(5, EventKind::SubSampled, "ana"), "ana"),
            500.0,
            "mg",
        ));
        let h = Holding::of(&events);
        assert_eq!(h.balance, Some(Quantity::new(0.02, "kg")));
        let b = h.balance.unwrap();
        assert_eq!(b.covers(&Quantity::new(20.0, "g")), Some(true));
        assert_eq!(b.covers(&Quantity::new(20.001, "g")), Some(false));
        assert_eq!(b.covers(&Quantity::new(1.0, "mL")), None);
        assert_eq!(
            b.minus(&Quantity::new(5.0, "g")),
            Some(Quantity::new(0.015, "kg"))
        );
        // A split in a unit of another kind makes the balance unknown, not wrong.
        events.push(qty(
            to(ev(6, EventKind::SubSampled, "ana"), "ana"),
            1.0,
            "mL",
        ));
        assert_eq!(Holding::of(&events).balance, None);
    }

    #[test]
    fn a_sub_sample_starts_with_what_was_split_into_it() {
        let events = vec![qty(
            to(ev(1, EventKind::SubSampled, "ana"), "ana"),
            5.0,
            "g",
        )];
        let h = Holding::of(&events);
        assert_eq!(h.balance, Some(Quantity::new(5.0, "g")));
        assert_eq!(h.holder, Holder::Person(user("ana")));
        assert_eq!(h.place, Place::InHand);
    }

    #[test]
    fn units_convert_within_their_kind_only() {
        assert_eq!(convert(1.5, "kg", "g"), Some(1500.0));
        assert_eq!(convert(250.0, "mL", "L"), Some(0.25));
        assert_eq!(convert(1.0, "g", "mL"), None);
        assert_eq!(convert(3.0, "units", "units"), Some(3.0));
        assert_eq!(convert(3.0, "units", "g"), None);
    }
}
