//! Chain of custody: append-only events per sample, linked by a keyed hash chain.
//!
//! # Canonical form
//!
//! The text that is hashed is a JSON array of `[name, value]` pairs in a fixed order, values as
//! JSON strings, numbers, booleans or null; timestamps as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC,
//! microseconds). Version 2 (every event recorded since keyed chains):
//!
//! ```text
//! [["v",2],["key_id",K],["id",..],["sample_id",..],["seq",..],["kind",..],["occurred_at",..],
//!  ["recorded_at",..],["recorded_by",..],["from_user_id",..],["from_party",..],
//!  ["to_user_id",..],["to_party",..],["storage_location_id",..],["place",..],
//!  ["seal_number",..],["seal_intact",..],["new_seal_number",..],["quantity",..],
//!  ["quantity_unit",..],["quantity_sufficient",..],["sample_condition",..],["reason",..],
//!  ["external_lab",..],["related_sample_id",..],["witness",..],["retained_until",..],
//!  ["witness_user_id",..],["witness_document",..],["override_reason",..]]
//! hash = hex(HMAC-SHA-256(custody key K, prev_hash || "|" || canonical))
//! ```
//!
//! `prev_hash` is the previous event's hash in the same sample's chain, or 64 zeros for the
//! first event; `key_id` (K) is the first 8 bytes, in hex, of SHA-256 of the key (`key.rs`).
//! Every column of `custody_events` is in the canonical form except `prev_hash`, which is
//! hashed as the chain input, and `hash` itself.
//!
//! Version 1 (events recorded before keyed chains, `key_id` NULL) is the same array with
//! `["v",1]`, no `key_id` pair and none of the last three pairs (those columns came later), and `hash = hex(SHA-256(prev_hash || "|" || canonical))`.
//! Anyone can compute that, so a version-1 event only counts when a keyed *seal*
//! (`custody_seals`, made once when keyed chains begin: `seal.rs`) vouches for the chain up to
//! it; a version-1 event after the seal, or in a chain without one, is a forgery.
//!
//! # The head, recorded three times
//!
//! The last event's (seq, hash) is the chain's head. `append` writes it on the sample row
//! (`custody_head_seq`, `custody_head_hash`) and in the audit entry of the event (its after
//! JSON is the event itself), in the same transaction. `verify` cross-checks events, sample
//! heads and audit entries, so removing the last events shows; signed checkpoints kept off the
//! server (`checkpoint.rs`) catch even a whole database put back to an older copy.

pub mod chain;
pub mod checkpoint;
pub mod key;
pub mod runs;
pub mod seal;
pub mod verify;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Actor};
use crate::db::schema::{custody_events, samples};
use crate::db::{now, DbConn};
use crate::ids::{CustodyEventId, SampleId, StorageLocationId, UserId};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Collected,
    Sealed,
    HandedOver,
    ReceivedAtLab,
    RejectedAtReceipt,
    Stored,
    RemovedFromStorage,
    Opened,
    Resealed,
    SubSampled,
    SentExternal,
    ReturnedFromExternal,
    ReturnedToOwner,
    Destroyed,
    Retained,
}

impl EventKind {
    pub const ALL: [EventKind; 15] = [
        EventKind::Collected,
        EventKind::Sealed,
        EventKind::HandedOver,
        EventKind::ReceivedAtLab,
        EventKind::RejectedAtReceipt,
        EventKind::Stored,
        EventKind::RemovedFromStorage,
        EventKind::Opened,
        EventKind::Resealed,
        EventKind::SubSampled,
        EventKind::SentExternal,
        EventKind::ReturnedFromExternal,
        EventKind::ReturnedToOwner,
        EventKind::Destroyed,
        EventKind::Retained,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Collected => "collected",
            EventKind::Sealed => "sealed",
            EventKind::HandedOver => "handed_over",
            EventKind::ReceivedAtLab => "received_at_lab",
            EventKind::RejectedAtReceipt => "rejected_at_receipt",
            EventKind::Stored => "stored",
            EventKind::RemovedFromStorage => "removed_from_storage",
            EventKind::Opened => "opened",
            EventKind::Resealed => "resealed",
            EventKind::SubSampled => "sub_sampled",
            EventKind::SentExternal => "sent_external",
            EventKind::ReturnedFromExternal => "returned_from_external",
            EventKind::ReturnedToOwner => "returned_to_owner",
            EventKind::Destroyed => "destroyed",
            EventKind::Retained => "retained",
        }
    }

    pub fn parse(text: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn label_key(self) -> String {
        format!("custody.kind.{}", self.as_str())
    }
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone, Serialize)]
#[diesel(table_name = custody_events)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct CustodyEvent {
    pub id: CustodyEventId,
    pub sample_id: SampleId,
    pub seq: i64,
    /// Kept as the stored text (`kind()` gives the enum): a row altered behind the
    /// application's back must still load, so that verification reports it instead of failing.
    pub kind: String,
    pub occurred_at: NaiveDateTime,
    pub recorded_at: NaiveDateTime,
    pub recorded_by: UserId,
    pub from_user_id: Option<UserId>,
    pub from_party: Option<String>,
    pub to_user_id: Option<UserId>,
    pub to_party: Option<String>,
    pub storage_location_id: Option<StorageLocationId>,
    pub place: Option<String>,
    pub seal_number: Option<String>,
    pub seal_intact: Option<bool>,
    pub new_seal_number: Option<String>,
    pub quantity: Option<f64>,
    pub quantity_unit: Option<String>,
    pub sample_condition: Option<String>,
    pub reason: Option<String>,
    pub external_lab: Option<String>,
    pub related_sample_id: Option<SampleId>,
    pub witness: Option<String>,
    pub prev_hash: String,
    pub hash: String,
    pub retained_until: Option<String>,
    pub quantity_sufficient: Option<bool>,
    /// The custody key of the HMAC; `None` for a version-1 (unkeyed) event.
    pub key_id: Option<String>,
    /// The witness of a destruction when it is a user, who confirmed with their password.
    pub witness_user_id: Option<UserId>,
    /// The identity document of an external witness (named in `witness`).
    pub witness_document: Option<String>,
    /// Why a supervisor, not the sample's holder, recorded this event.
    pub override_reason: Option<String>,
}

impl CustodyEvent {
    pub fn kind(&self) -> Option<EventKind> {
        EventKind::parse(&self.kind)
    }

    /// The first characters of the hash, enough to compare by eye with a printout.
    pub fn short_hash(&self) -> &str {
        self.hash.get(..12).unwrap_or(&self.hash)
    }
}

/// The facts of a new event; the chain fields are computed by `append`.
#[derive(Debug, Clone, Default)]
pub struct NewEvent {
    pub kind: Option<EventKind>,
    pub occurred_at: Option<NaiveDateTime>,
    pub from_user_id: Option<UserId>,
    pub from_party: Option<String>,
    pub to_user_id: Option<UserId>,
    pub to_party: Option<String>,
    pub storage_location_id: Option<StorageLocationId>,
    pub place: Option<String>,
    pub seal_number: Option<String>,
    pub seal_intact: Option<bool>,
    pub new_seal_number: Option<String>,
    pub quantity: Option<f64>,
    pub quantity_unit: Option<String>,
    pub sample_condition: Option<String>,
    pub reason: Option<String>,
    pub external_lab: Option<String>,
    pub related_sample_id: Option<SampleId>,
    pub witness: Option<String>,
    pub retained_until: Option<String>,
    pub quantity_sufficient: Option<bool>,
    pub witness_user_id: Option<UserId>,
    pub witness_document: Option<String>,
    pub override_reason: Option<String>,
}

impl NewEvent {
    pub fn of(kind: EventKind) -> NewEvent {
        NewEvent {
            kind: Some(kind),
            ..Default::default()
        }
    }
}

/// Appends an event to a sample's chain, signed with the active custody key, and moves the
/// sample's recorded head to it. Must run inside a write transaction; it first touches the
/// sample row so concurrent appends to one sample queue up on PostgreSQL too.
pub fn append(
    conn: &mut DbConn,
    actor: &Actor,
    recorded_by: &UserId,
    sample_id: &SampleId,
    new: NewEvent,
) -> QueryResult<CustodyEvent> {
    let key = key::installed()?.active();
    let t = now();
    diesel::update(samples::table.find(sample_id))
        .set(samples::updated_at.eq(t))
        .execute(conn)?;
    let (head_seq, head_hash, holder): (Option<i64>, Option<String>, Option<UserId>) =
        samples::table
            .find(sample_id)
            .select((
                samples::custody_head_seq,
                samples::custody_head_hash,
                samples::holder_id,
            ))
            .first(conn)?;
    let head = (head_seq, head_hash);
    let last: Option<(i64, String)> = custody_events::table
        .filter(custody_events::sample_id.eq(sample_id))
        .order(custody_events::seq.desc())
        .select((custody_events::seq, custody_events::hash))
        .first(conn)
        .optional()?;
    let (seq, prev_hash) = match (head, last) {
        // The recorded head is past the last event: events were removed behind the
        // application's back. Continuing after the head keeps that gap visible for good.
        ((Some(head_seq), Some(head_hash)), last)
            if last.as_ref().is_none_or(|(seq, _)| head_seq > *seq) =>
        {
            (head_seq + 1, head_hash)
        }
        (_, Some((seq, hash))) => (seq + 1, hash),
        (_, None) => (1, GENESIS.to_string()),
    };
    let mut event = CustodyEvent {
        id: CustodyEventId::new_v7(),
        sample_id: sample_id.clone(),
        seq,
        kind: new.kind.map_or("", EventKind::as_str).to_string(),
        occurred_at: new.occurred_at.unwrap_or(t),
        recorded_at: t,
        recorded_by: recorded_by.clone(),
        from_user_id: new.from_user_id,
        from_party: new.from_party,
        to_user_id: new.to_user_id,
        to_party: new.to_party,
        storage_location_id: new.storage_location_id,
        place: new.place,
        seal_number: new.seal_number,
        seal_intact: new.seal_intact,
        new_seal_number: new.new_seal_number,
        quantity: new.quantity,
        quantity_unit: new.quantity_unit,
        sample_condition: new.sample_condition,
        reason: new.reason,
        external_lab: new.external_lab,
        related_sample_id: new.related_sample_id,
        witness: new.witness,
        prev_hash,
        hash: String::new(),
        retained_until: new.retained_until,
        quantity_sufficient: new.quantity_sufficient,
        key_id: Some(key.id().to_string()),
        witness_user_id: new.witness_user_id,
        witness_document: new.witness_document,
        override_reason: new.override_reason,
    };
    event.hash = chain::keyed_hash(key, &event.prev_hash, &chain::canonical(&event));
    diesel::insert_into(custody_events::table)
        .values(&event)
        .execute(conn)?;
    diesel::update(samples::table.find(sample_id))
        .set((
            samples::custody_head_seq.eq(event.seq),
            samples::custody_head_hash.eq(&event.hash),
            samples::holder_id.eq(event.lab_holder_after(holder)),
        ))
        .execute(conn)?;
    // The after JSON is the whole event, so the audit trail names the head it produced.
    audit::record(
        conn,
        actor,
        &format!("custody_{}", event.kind),
        AUDIT_ENTITY,
        Some(event.id.as_str()),
        None::<&()>,
        Some(&event),
    )?;
    Ok(event)
}

impl CustodyEvent {
    /// The lab user who holds the sample after this event, `before` being who held it before
    /// (`None`: nobody in the lab). The same rule as `sample::holding::Holding::of`, reduced to
    /// lab users, which a test there checks kind by kind; kept on the sample row so lists can
    /// filter on it.
    pub fn lab_holder_after(&self, before: Option<UserId>) -> Option<UserId> {
        match self.kind() {
            None => before,
            Some(EventKind::Collected | EventKind::Sealed) => {
                before.filter(|_| self.to_party.is_none())
            }
            Some(EventKind::SentExternal | EventKind::ReturnedToOwner | EventKind::Destroyed) => {
                None
            }
            Some(_) => Some(self.to_user_id.clone().unwrap_or(self.recorded_by.clone())),
        }
    }
}

/// The audit entity of custody events; the entry's id is the event's id.
pub const AUDIT_ENTITY: &str = "custody_event";

pub fn for_sample(conn: &mut DbConn, sample_id: &SampleId) -> QueryResult<Vec<CustodyEvent>> {
    custody_events::table
        .filter(custody_events::sample_id.eq(sample_id))
        .order(custody_events::seq.asc())
        .select(CustodyEvent::as_select())
        .load(conn)
}

/// One page of a sample's events in chain order, starting after sequence number `after`, and
/// the sequence number the next page starts after (keyset on the `(sample_id, seq)` key).
pub fn page_of(
    conn: &mut DbConn,
    sample_id: &SampleId,
    after: Option<i64>,
    page_size: i64,
) -> QueryResult<(Vec<CustodyEvent>, Option<i64>)> {
    let mut rows = custody_events::table
        .filter(custody_events::sample_id.eq(sample_id))
        .filter(custody_events::seq.gt(after.unwrap_or(0)))
        .order(custody_events::seq.asc())
        .limit(page_size + 1)
        .select(CustodyEvent::as_select())
        .load(conn)?;
    let next = crate::keyset::split_page(&mut rows, page_size, |e| e.seq);
    Ok((rows, next))
}

/// An event's place in its chain, without its content.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = custody_events)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Link {
    pub sample_id: SampleId,
    pub seq: i64,
    pub hash: String,
    pub id: CustodyEventId,
}

/// The links of these samples' chains, by sample and sequence number.
pub fn links(conn: &mut DbConn, sample_ids: &[&SampleId]) -> QueryResult<Vec<Link>> {
    custody_events::table
        .filter(custody_events::sample_id.eq_any(sample_ids))
        .order((custody_events::sample_id.asc(), custody_events::seq.asc()))
        .select(Link::as_select())
        .load(conn)
}

/// The latest event of each of these samples (e.g. for a seizure's sample table).
pub fn latest(
    conn: &mut DbConn,
    sample_ids: &[SampleId],
) -> QueryResult<std::collections::HashMap<SampleId, CustodyEvent>> {
    let events: Vec<CustodyEvent> = custody_events::table
        .filter(custody_events::sample_id.eq_any(sample_ids))
        .order((custody_events::sample_id.asc(), custody_events::seq.asc()))
        .select(CustodyEvent::as_select())
        .load(conn)?;
    // Ordered by seq, so the last insert per sample wins.
    Ok(events
        .into_iter()
        .map(|e| (e.sample_id.clone(), e))
        .collect())
}

/// The sample statuses (the names `sample::SampleStatus` stores) that agree with a chain whose
/// last event is `kind`. Statuses that change without a custody event (tests, reports) are
/// listed with the physical state they follow from.
pub fn statuses_after(kind: EventKind) -> &'static [&'static str] {
    use EventKind::*;
    const IN_LAB: &[&str] = &["received", "in_testing", "awaiting_report", "reported"];
    const IN_LAB_OR_RETAINED: &[&str] = &[
        "received",
        "in_testing",
        "awaiting_report",
        "reported",
        "retained",
    ];
    match kind {
        Collected | Sealed => &["registered"],
        ReceivedAtLab | SubSampled | ReturnedFromExternal => IN_LAB,
        RejectedAtReceipt => &["rejected"],
        HandedOver | Stored | RemovedFromStorage | Opened | Resealed => IN_LAB_OR_RETAINED,
        SentExternal => &["external"],
        ReturnedToOwner => &["returned"],
        Destroyed => &["disposed"],
        Retained => &["retained"],
    }
}
