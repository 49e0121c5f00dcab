//! Seals: the custody key's word for chains recorded before keyed chains existed.
//!
//! A version-1 event's hash is plain SHA-256, which anyone can recompute, so on its own it
//! proves nothing. When keyed custody starts (the first start after the upgrade), each such
//! chain's head is sealed once: a `custody_seals` row with
//! `mac = hex(HMAC-SHA-256(key, "lims-custody-seal|" || sample_id || "|" || seq || "|" || hash))`.
//! Verification then accepts the version-1 events up to the sealed head and no further.
//!
//! Sealing happens only while the database holds no seal and no keyed event yet: an unkeyed
//! chain that shows up after keyed custody began is a forgery, and sealing it would vouch
//! for it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::key::{Key, Keyring};
use crate::audit::{self, Actor};
use crate::db::schema::{custody_events, custody_seals};
use crate::db::{now, write_tx, DbConn};
use crate::ids::SampleId;

#[derive(Queryable, Selectable, Insertable, Debug, Clone, Serialize)]
#[diesel(table_name = custody_seals)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Seal {
    pub sample_id: SampleId,
    pub seq: i64,
    pub hash: String,
    pub key_id: String,
    pub mac: String,
    pub sealed_at: NaiveDateTime,
}

fn sealed_parts<'a>(sample_id: &'a SampleId, seq: &'a str, hash: &'a str) -> [&'a [u8]; 6] {
    [
        b"lims-custody-seal|",
        sample_id.as_str().as_bytes(),
        b"|",
        seq.as_bytes(),
        b"|",
        hash.as_bytes(),
    ]
}

impl Seal {
    fn new(key: &Key, sample_id: SampleId, seq: i64, hash: String, at: NaiveDateTime) -> Seal {
        let mac = key.mac_hex(&sealed_parts(&sample_id, &seq.to_string(), &hash));
        Seal {
            sample_id,
            seq,
            hash,
            key_id: key.id().to_string(),
            mac,
            sealed_at: at,
        }
    }

    /// Whether a key of the ring made this seal for exactly this head.
    pub fn is_valid(&self, keys: &Keyring) -> bool {
        keys.get(&self.key_id).is_some_and(|k| {
            k.verify_hex(
                &sealed_parts(&self.sample_id, &self.seq.to_string(), &self.hash),
                &self.mac,
            )
        })
    }
}

/// The seals of these samples.
pub fn for_samples(conn: &mut DbConn, ids: &[SampleId]) -> QueryResult<Vec<Seal>> {
    custody_seals::table
        .filter(custody_seals::sample_id.eq_any(ids))
        .select(Seal::as_select())
        .load(conn)
}

#[derive(Serialize)]
struct SealSummary<'a> {
    sealed_chains: usize,
    key_id: &'a str,
}

/// Seals the head of every unkeyed chain, once, when keyed custody begins (see the module
/// documentation); returns how many chains it sealed. Run by the application at start, after
/// the migrations.
pub fn seal_unkeyed_chains(conn: &mut DbConn, keys: &Keyring, actor: &Actor) -> QueryResult<usize> {
    write_tx(conn, |conn| {
        if let crate::db::DbConn::Postgres(_) = conn {
            // Instances starting together seal once: the second waits, then finds the seals.
            diesel::sql_query("SELECT pg_advisory_xact_lock(4243478)").execute(conn)?;
        }
        let sealed_before: Option<SampleId> = custody_seals::table
            .select(custody_seals::sample_id)
            .first(conn)
            .optional()?;
        let unkeyed: Option<SampleId> = custody_events::table
            .filter(custody_events::key_id.is_null())
            .select(custody_events::sample_id)
            .first(conn)
            .optional()?;
        if sealed_before.is_some() || unkeyed.is_none() {
            return Ok(0);
        }
        let keyed: Option<SampleId> = custody_events::table
            .filter(custody_events::key_id.is_not_null())
            .select(custody_events::sample_id)
            .first(conn)
            .optional()?;
        if keyed.is_some() {
            tracing::warn!(
                "unkeyed custody events appeared after keyed custody began; they stay unsealed \
                 and verification reports them"
            );
            return Ok(0);
        }
        let key = keys.active();
        let at = now();
        let mut sealed = 0;
        let mut after: Option<SampleId> = None;
        loop {
            // Batches of chains: the heads in sample order, read from the events themselves.
            let mut q = custody_events::table
                .filter(custody_events::key_id.is_null())
                .select(custody_events::sample_id)
                .distinct()
                .order(custody_events::sample_id.asc())
                .limit(500)
                .into_boxed();
            if let Some(a) = &after {
                q = q.filter(custody_events::sample_id.gt(a.clone()));
            }
            let ids: Vec<SampleId> = q.load(conn)?;
            let Some(last) = ids.last().cloned() else {
                break;
            };
            let events = super::links(conn, &ids.iter().collect::<Vec<_>>())?;
            let seals: Vec<Seal> = events
                .chunk_by(|a, b| a.sample_id == b.sample_id)
                .filter_map(|chain| chain.last())
                .map(|l| Seal::new(key, l.sample_id.clone(), l.seq, l.hash.clone(), at))
                .collect();
            sealed += seals.len();
            // One row at a time: batch inserts are not available over both backends at once.
            for s in &seals {
                diesel::insert_into(custody_seals::table)
                    .values(s)
                    .execute(conn)?;
            }
            after = Some(last);
        }
        audit::record(
            conn,
            actor,
            "custody_seal_unkeyed",
            "custody",
            None,
            None::<&()>,
            Some(&SealSummary {
                sealed_chains: sealed,
                key_id: key.id(),
            }),
        )?;
        Ok(sealed)
    })
}
