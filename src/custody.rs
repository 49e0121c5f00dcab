//! Chain of custody: append-only events per sample, linked by a SHA-256 hash chain.
//!
//! Canonical form (version 1) of an event, the text that is hashed: a JSON array of
//! `[name, value]` pairs in the fixed order of `canonical_fields`, values as JSON strings,
//! numbers, booleans or null; timestamps as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC, microseconds).
//! The pairs `witness_user_id`, `witness_document` and `override_reason`, added later, follow
//! the fixed ones only when they are set, so older events hash exactly as before.
//! `hash = hex(SHA-256(prev_hash || "|" || canonical))`, where `prev_hash` is the previous
//! event's hash in the same sample's chain, or 64 zeros for the first event. Any change to a
//! stored field, a removed or inserted event, or a reordering breaks the chain from there on.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor};
use crate::db::schema::{custody_events, samples};
use crate::db::{now, DbConn};
use crate::ids::{CustodyEventId, SampleId, StorageLocationId, UserId};

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

#[derive(Queryable, Selectable, Debug, Clone, Serialize)]
#[diesel(table_name = custody_events)]
pub struct CustodyEvent {
    pub id: CustodyEventId,
    pub sample_id: SampleId,
    pub seq: i64,
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

fn ts(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The canonical content of an event (see the module documentation).
pub fn canonical(e: &CustodyEvent) -> String {
    let s = |v: &Option<String>| v.as_ref().map_or(Value::Null, |x| json!(x));
    let id = |v: &Option<UserId>| v.as_ref().map_or(Value::Null, |x| json!(x.as_str()));
    let mut fields: Vec<(&str, Value)> = vec![
        ("v", json!(1)),
        ("id", json!(e.id.as_str())),
        ("sample_id", json!(e.sample_id.as_str())),
        ("seq", json!(e.seq)),
        ("kind", json!(e.kind)),
        ("occurred_at", json!(ts(&e.occurred_at))),
        ("recorded_at", json!(ts(&e.recorded_at))),
        ("recorded_by", json!(e.recorded_by.as_str())),
        ("from_user_id", id(&e.from_user_id)),
        ("from_party", s(&e.from_party)),
        ("to_user_id", id(&e.to_user_id)),
        ("to_party", s(&e.to_party)),
        (
            "storage_location_id",
            e.storage_location_id
                .as_ref()
                .map_or(Value::Null, |x| json!(x.as_str())),
        ),
        ("place", s(&e.place)),
        ("seal_number", s(&e.seal_number)),
        ("seal_intact", json!(e.seal_intact)),
        ("new_seal_number", s(&e.new_seal_number)),
        ("quantity", json!(e.quantity)),
        ("quantity_unit", s(&e.quantity_unit)),
        ("quantity_sufficient", json!(e.quantity_sufficient)),
        ("sample_condition", s(&e.sample_condition)),
        ("reason", s(&e.reason)),
        ("external_lab", s(&e.external_lab)),
        (
            "related_sample_id",
            e.related_sample_id
                .as_ref()
                .map_or(Value::Null, |x| json!(x.as_str())),
        ),
        ("witness", s(&e.witness)),
        ("retained_until", s(&e.retained_until)),
    ];
    // Fields added after version 1 was fixed come last and only when set, so every event
    // recorded before them keeps its canonical form (and its hash).
    let later = [
        ("witness_user_id", id(&e.witness_user_id)),
        ("witness_document", s(&e.witness_document)),
        ("override_reason", s(&e.override_reason)),
    ];
    fields.extend(later.into_iter().filter(|(_, v)| !v.is_null()));
    serde_json::to_string(&fields).unwrap_or_default()
}

pub fn chain_hash(prev_hash: &str, canonical: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"|");
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

/// Appends an event to a sample's chain. Must run inside a write transaction; it first
/// touches the sample row so concurrent appends to one sample queue up on PostgreSQL too.
pub fn append(
    conn: &mut DbConn,
    actor: &Actor,
    recorded_by: &UserId,
    sample_id: &SampleId,
    new: NewEvent,
) -> QueryResult<CustodyEvent> {
    let t = now();
    diesel::update(samples::table.find(sample_id))
        .set(samples::updated_at.eq(t))
        .execute(conn)?;
    let last: Option<(i64, String)> = custody_events::table
        .filter(custody_events::sample_id.eq(sample_id))
        .order(custody_events::seq.desc())
        .select((custody_events::seq, custody_events::hash))
        .first(conn)
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
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
        witness_user_id: new.witness_user_id,
        witness_document: new.witness_document,
        override_reason: new.override_reason,
    };
    event.hash = chain_hash(&event.prev_hash, &canonical(&event));
    insert(conn, &event)?;
    audit::record(
        conn,
        actor,
        &format!("custody_{}", event.kind),
        "custody_event",
        Some(event.id.as_str()),
        None::<&()>,
        Some(&event),
    )?;
    Ok(event)
}

fn insert(conn: &mut DbConn, e: &CustodyEvent) -> QueryResult<()> {
    use custody_events::dsl as c;
    diesel::insert_into(custody_events::table)
        .values((
            (
                c::id.eq(&e.id),
                c::sample_id.eq(&e.sample_id),
                c::seq.eq(e.seq),
                c::kind.eq(&e.kind),
                c::occurred_at.eq(e.occurred_at),
                c::recorded_at.eq(e.recorded_at),
                c::recorded_by.eq(&e.recorded_by),
                c::from_user_id.eq(&e.from_user_id),
                c::from_party.eq(&e.from_party),
                c::to_user_id.eq(&e.to_user_id),
                c::to_party.eq(&e.to_party),
                c::storage_location_id.eq(&e.storage_location_id),
            ),
            (
                c::place.eq(&e.place),
                c::seal_number.eq(&e.seal_number),
                c::seal_intact.eq(e.seal_intact),
                c::new_seal_number.eq(&e.new_seal_number),
                c::quantity.eq(e.quantity),
                c::quantity_unit.eq(&e.quantity_unit),
                c::sample_condition.eq(&e.sample_condition),
                c::reason.eq(&e.reason),
                c::external_lab.eq(&e.external_lab),
                c::related_sample_id.eq(&e.related_sample_id),
                c::witness.eq(&e.witness),
                c::prev_hash.eq(&e.prev_hash),
                c::hash.eq(&e.hash),
                c::retained_until.eq(&e.retained_until),
                c::quantity_sufficient.eq(e.quantity_sufficient),
            ),
            (
                c::witness_user_id.eq(&e.witness_user_id),
                c::witness_document.eq(&e.witness_document),
                c::override_reason.eq(&e.override_reason),
            ),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn for_sample(conn: &mut DbConn, sample_id: &SampleId) -> QueryResult<Vec<CustodyEvent>> {
    custody_events::table
        .filter(custody_events::sample_id.eq(sample_id))
        .order(custody_events::seq.asc())
        .select(CustodyEvent::as_select())
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

/// Where a chain stops being trustworthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub sample_id: SampleId,
    pub seq: i64,
    pub event_id: CustodyEventId,
    /// `hash_mismatch`, `prev_hash_mismatch`, `sequence_gap` or `empty_chain`.
    pub problem: &'static str,
}

/// Checks one sample's events (ordered by seq); returns the first bad event, if any.
pub fn verify_chain(events: &[CustodyEvent]) -> Option<ChainBreak> {
    let mut prev = GENESIS.to_string();
    for (i, e) in events.iter().enumerate() {
        let problem = if e.seq != i as i64 + 1 {
            Some("sequence_gap")
        } else if e.prev_hash != prev {
            Some("prev_hash_mismatch")
        } else if chain_hash(&e.prev_hash, &canonical(e)) != e.hash {
            Some("hash_mismatch")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Some(ChainBreak {
                sample_id: e.sample_id.clone(),
                seq: e.seq,
                event_id: e.id.clone(),
                problem,
            });
        }
        prev = e.hash.clone();
    }
    None
}

/// Re-computes every chain, a batch of samples at a time so memory stays flat.
pub fn verify_all(
    conn: &mut DbConn,
    mut progress: impl FnMut(usize),
) -> QueryResult<(usize, Vec<ChainBreak>)> {
    const BATCH: i64 = 500;
    let mut breaks = Vec::new();
    let mut checked = 0usize;
    let mut after: Option<SampleId> = None;
    loop {
        let mut q = samples::table
            .select(samples::id)
            .order(samples::id.asc())
            .limit(BATCH)
            .into_boxed();
        if let Some(a) = &after {
            q = q.filter(samples::id.gt(a.clone()));
        }
        let ids: Vec<SampleId> = q.load(conn)?;
        if ids.is_empty() {
            break;
        }
        let events: Vec<CustodyEvent> = custody_events::table
            .filter(custody_events::sample_id.eq_any(&ids))
            .order((custody_events::sample_id.asc(), custody_events::seq.asc()))
            .select(CustodyEvent::as_select())
            .load(conn)?;
        for chunk in events.chunk_by(|a, b| a.sample_id == b.sample_id) {
            if let Some(b) = verify_chain(chunk) {
                breaks.push(b);
            }
        }
        // Every sample's chain starts when it is registered or split off: a sample without
        // events had its whole chain removed.
        for id in ids
            .iter()
            .filter(|id| !events.iter().any(|e| &e.sample_id == *id))
        {
            breaks.push(ChainBreak {
                sample_id: id.clone(),
                seq: 0,
                event_id: CustodyEventId(String::new()),
                problem: "empty_chain",
            });
        }
        checked += ids.len();
        progress(checked);
        after = ids.last().cloned();
    }
    Ok((checked, breaks))
}
