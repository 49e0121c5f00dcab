//! The canonical form of an event and its hash (the module documentation of `custody` gives
//! both versions).

use chrono::NaiveDateTime;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::key::{Key, Keyring};
use super::CustodyEvent;

fn ts(t: &NaiveDateTime) -> String {
    // `YYYY-MM-DDTHH:MM:SS.ffffffZ`; the RFC 3339 writer is the fast path to it.
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Writes `[["name",value],...]` as serde_json writes a list of pairs, without building a
/// JSON tree first (verification computes it for every event).
struct Pairs(Vec<u8>);

impl Pairs {
    fn add(&mut self, name: &str, value: impl Serialize) {
        self.0.push(if self.0.is_empty() { b'[' } else { b',' });
        self.0.extend_from_slice(b"[\"");
        self.0.extend_from_slice(name.as_bytes());
        self.0.extend_from_slice(b"\",");
        // Writing plain values into memory cannot fail.
        let _ = serde_json::to_writer(&mut self.0, &value);
        self.0.push(b']');
    }

    fn finish(mut self) -> String {
        self.0.push(b']');
        String::from_utf8(self.0).unwrap_or_default()
    }
}

/// The canonical content of an event: version 2 when it names a key, else version 1.
pub fn canonical(e: &CustodyEvent) -> String {
    let mut p = Pairs(Vec::with_capacity(1024));
    match &e.key_id {
        Some(key_id) => {
            p.add("v", 2);
            p.add("key_id", key_id);
        }
        None => p.add("v", 1),
    }
    p.add("id", &e.id);
    p.add("sample_id", &e.sample_id);
    p.add("seq", e.seq);
    p.add("kind", &e.kind);
    p.add("occurred_at", ts(&e.occurred_at));
    p.add("recorded_at", ts(&e.recorded_at));
    p.add("recorded_by", &e.recorded_by);
    p.add("from_user_id", &e.from_user_id);
    p.add("from_party", &e.from_party);
    p.add("to_user_id", &e.to_user_id);
    p.add("to_party", &e.to_party);
    p.add("storage_location_id", &e.storage_location_id);
    p.add("place", &e.place);
    p.add("seal_number", &e.seal_number);
    p.add("seal_intact", e.seal_intact);
    p.add("new_seal_number", &e.new_seal_number);
    // serde_json writes a non-finite number as null, as the JSON tree did.
    p.add("quantity", e.quantity);
    p.add("quantity_unit", &e.quantity_unit);
    p.add("quantity_sufficient", e.quantity_sufficient);
    p.add("sample_condition", &e.sample_condition);
    p.add("reason", &e.reason);
    p.add("external_lab", &e.external_lab);
    p.add("related_sample_id", &e.related_sample_id);
    p.add("witness", &e.witness);
    p.add("retained_until", &e.retained_until);
    if e.key_id.is_some() {
        p.add("witness_user_id", &e.witness_user_id);
        p.add("witness_document", &e.witness_document);
        p.add("override_reason", &e.override_reason);
    }
    p.finish()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{CustodyEventId, SampleId, UserId};
    use chrono::Timelike;
    use serde_json::{json, Value};

    /// The canonical form as first written (a JSON tree of pairs): the text that old chains
    /// were hashed over, which the direct writer must reproduce byte for byte.
    fn as_tree(e: &CustodyEvent) -> String {
        let mut fields: Vec<(&str, Value)> = match &e.key_id {
            Some(k) => vec![("v", json!(2)), ("key_id", json!(k))],
            None => vec![("v", json!(1))],
        };
        fields.extend([
            ("id", json!(e.id)),
            ("sample_id", json!(e.sample_id)),
            ("seq", json!(e.seq)),
            ("kind", json!(e.kind)),
            ("occurred_at", json!(ts(&e.occurred_at))),
            ("recorded_at", json!(ts(&e.recorded_at))),
            ("recorded_by", json!(e.recorded_by)),
            ("from_user_id", json!(e.from_user_id)),
            ("from_party", json!(e.from_party)),
            ("to_user_id", json!(e.to_user_id)),
            ("to_party", json!(e.to_party)),
            ("storage_location_id", json!(e.storage_location_id)),
            ("place", json!(e.place)),
            ("seal_number", json!(e.seal_number)),
            ("seal_intact", json!(e.seal_intact)),
            ("new_seal_number", json!(e.new_seal_number)),
            ("quantity", json!(e.quantity)),
            ("quantity_unit", json!(e.quantity_unit)),
            ("quantity_sufficient", json!(e.quantity_sufficient)),
            ("sample_condition", json!(e.sample_condition)),
            ("reason", json!(e.reason)),
            ("external_lab", json!(e.external_lab)),
            ("related_sample_id", json!(e.related_sample_id)),
            ("witness", json!(e.witness)),
            ("retained_until", json!(e.retained_until)),
        ]);
        if e.key_id.is_some() {
            fields.extend([
                ("witness_user_id", json!(e.witness_user_id)),
                ("witness_document", json!(e.witness_document)),
                ("override_reason", json!(e.override_reason)),
            ]);
        }
        serde_json::to_string(&fields).unwrap()
    }

    #[test]
    fn the_direct_writer_matches_the_json_tree_byte_for_byte() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_micro_opt(10, 30, 5, 120)
            .unwrap();
        let mut e = CustodyEvent {
            id: CustodyEventId("e1".into()),
            sample_id: SampleId("s1".into()),
            seq: 3,
            kind: "received_at_lab".into(),
            occurred_at: t,
            recorded_at: t,
            recorded_by: UserId("u1".into()),
            from_user_id: None,
            from_party: Some("Of. \"Pérez\" \\ 🚚\nline\u{7}".into()),
            to_user_id: Some(UserId("u2".into())),
            to_party: None,
            storage_location_id: None,
            place: Some("Muelle 5".into()),
            seal_number: Some("PR-1".into()),
            seal_intact: Some(false),
            new_seal_number: None,
            quantity: Some(250.0),
            quantity_unit: Some("g".into()),
            sample_condition: None,
            reason: None,
            external_lab: None,
            related_sample_id: Some(SampleId("s0".into())),
            witness: None,
            prev_hash: "0".repeat(64),
            hash: String::new(),
            retained_until: Some("2027-01-01".into()),
            quantity_sufficient: Some(true),
            key_id: None,
            witness_user_id: Some(UserId("w1".into())),
            witness_document: Some("DNI 40404040".into()),
            override_reason: Some("El custodio está de licencia".into()),
        };
        for q in [Some(250.0), Some(0.1), Some(1e21), Some(f64::NAN), None] {
            e.quantity = q;
            for key in [None, Some("0123456789abcdef".to_string())] {
                e.key_id = key;
                assert_eq!(canonical(&e), as_tree(&e));
            }
        }
        assert!(canonical(&e).contains("\"2026-03-01T10:30:05.000120Z\""));
        for t in [
            t,
            t + chrono::TimeDelta::days(400),
            t.with_nanosecond(0).unwrap(),
        ] {
            assert_eq!(ts(&t), t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        }
    }
}
