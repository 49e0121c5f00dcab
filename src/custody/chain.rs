//! The canonical form of an event and its hash (the module documentation of `custody` gives
//! both versions).

use chrono::NaiveDateTime;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::key::{Key, Keyring};
use super::CustodyEvent;

fn ts(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The canonical content of an event: version 2 when it names a key, else version 1.
pub fn canonical(e: &CustodyEvent) -> String {
    let s = |v: &Option<String>| v.as_ref().map_or(Value::Null, |x| json!(x));
    let id = |v: Option<&str>| v.map_or(Value::Null, |x| json!(x));
    let mut fields: Vec<(&str, Value)> = Vec::with_capacity(28);
    match &e.key_id {
        Some(key_id) => {
            fields.push(("v", json!(2)));
            fields.push(("key_id", json!(key_id)));
        }
        None => fields.push(("v", json!(1))),
    }
    fields.extend([
        ("id", json!(e.id.as_str())),
        ("sample_id", json!(e.sample_id.as_str())),
        ("seq", json!(e.seq)),
        ("kind", json!(e.kind)),
        ("occurred_at", json!(ts(&e.occurred_at))),
        ("recorded_at", json!(ts(&e.recorded_at))),
        ("recorded_by", json!(e.recorded_by.as_str())),
        (
            "from_user_id",
            id(e.from_user_id.as_ref().map(|x| x.as_str())),
        ),
        ("from_party", s(&e.from_party)),
        ("to_user_id", id(e.to_user_id.as_ref().map(|x| x.as_str()))),
        ("to_party", s(&e.to_party)),
        (
            "storage_location_id",
            id(e.storage_location_id.as_ref().map(|x| x.as_str())),
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
            id(e.related_sample_id.as_ref().map(|x| x.as_str())),
        ),
        ("witness", s(&e.witness)),
        ("retained_until", s(&e.retained_until)),
    ]);
    serde_json::to_string(&fields).unwrap_or_default()
}

/// Version 1: hex(SHA-256(prev_hash || "|" || canonical)). Public, so it proves nothing alone.
pub fn unkeyed_hash(prev_hash: &str, canonical: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"|");
    h.update(canonical.as_bytes());
    hex::encode(h.finalize())
}

/// Version 2: hex(HMAC-SHA-256(key, prev_hash || "|" || canonical)).
pub fn keyed_hash(key: &Key, prev_hash: &str, canonical: &str) -> String {
    key.mac_hex(&[prev_hash.as_bytes(), b"|", canonical.as_bytes()])
}

/// Why an event's hash cannot be recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownKey;

/// The hash the event should carry, under the key it names (or unkeyed for version 1).
pub fn expected_hash(e: &CustodyEvent, keys: &Keyring) -> Result<String, UnknownKey> {
    let canonical = canonical(e);
    match &e.key_id {
        None => Ok(unkeyed_hash(&e.prev_hash, &canonical)),
        Some(id) => keys
            .get(id)
            .map(|k| keyed_hash(k, &e.prev_hash, &canonical))
            .ok_or(UnknownKey),
    }
}
