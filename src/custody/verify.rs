//! Verification: every chain re-computed under the key ring, and cross-checked with the head
//! recorded on its sample, the audit entries of its events, its seal (for chains from before
//! keyed custody) and the sample's status. Samples are read in batches, so memory stays flat.

use std::collections::{BTreeMap, HashMap, HashSet};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::chain::{self, UnknownKey};
use super::key::Keyring;
use super::seal::{self, Seal};
use super::{statuses_after, CustodyEvent, AUDIT_ENTITY, GENESIS};
use crate::db::schema::{audit_log, custody_events, report_anchors, report_versions, samples};
use crate::db::DbConn;
use crate::ids::{CustodyEventId, ReportVersionId, SampleId};

/// What is wrong at the first bad event of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// An event in the middle is missing, or the sequence numbers were changed.
    SequenceGap,
    /// The event does not link to the one before it.
    PrevHashMismatch,
    /// The event's content does not match its keyed hash (altered or forged).
    HashMismatch,
    /// The event names a key that is not in the key ring.
    UnknownKey,
    /// An unkeyed (version-1) event that no seal vouches for: forged with the public algorithm.
    UnkeyedEvent,
    /// The seal of an old chain is not the key's, or the chain no longer reaches it.
    SealMismatch,
    /// The chain ends before the head recorded on the sample, its seal or the audit trail.
    Truncated,
    /// The head recorded on the sample names another event than the chain's last.
    HeadMismatch,
    /// The event has no audit entry.
    AuditMissing,
    /// The event's audit entry names another sequence number or hash.
    AuditMismatch,
    /// The sample's status cannot follow the chain's last event.
    StatusMismatch,
    /// The sample has no custody event at all.
    EmptyChain,
    /// The chain no longer reaches the head a checkpoint saw (truncated, or restored from an
    /// older copy).
    MissingSinceCheckpoint,
    /// At the head a checkpoint saw, the chain now holds another event.
    RewrittenSinceCheckpoint,
    /// The event an issued report anchored no longer has the anchored hash.
    ReportAnchor,
}

impl Problem {
    pub const ALL: [Problem; 15] = [
        Problem::SequenceGap,
        Problem::PrevHashMismatch,
        Problem::HashMismatch,
        Problem::UnknownKey,
        Problem::UnkeyedEvent,
        Problem::SealMismatch,
        Problem::Truncated,
        Problem::HeadMismatch,
        Problem::AuditMissing,
        Problem::AuditMismatch,
        Problem::StatusMismatch,
        Problem::EmptyChain,
        Problem::MissingSinceCheckpoint,
        Problem::RewrittenSinceCheckpoint,
        Problem::ReportAnchor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Problem::SequenceGap => "sequence_gap",
            Problem::PrevHashMismatch => "prev_hash_mismatch",
            Problem::HashMismatch => "hash_mismatch",
            Problem::UnknownKey => "unknown_key",
            Problem::UnkeyedEvent => "unkeyed_event",
            Problem::SealMismatch => "seal_mismatch",
            Problem::Truncated => "truncated",
            Problem::HeadMismatch => "head_mismatch",
            Problem::AuditMissing => "audit_missing",
            Problem::AuditMismatch => "audit_mismatch",
            Problem::StatusMismatch => "status_mismatch",
            Problem::EmptyChain => "empty_chain",
            Problem::MissingSinceCheckpoint => "missing_since_checkpoint",
            Problem::RewrittenSinceCheckpoint => "rewritten_since_checkpoint",
            Problem::ReportAnchor => "report_anchor",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a chain stops being trustworthy: the sample and its first bad event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainBreak {
    pub sample_id: SampleId,
    pub lab_code: String,
    pub seq: i64,
    /// Known when the event exists, or its audit entry still names it.
    pub event_id: Option<CustodyEventId>,
    pub problem: Problem,
}

/// What verification reads of a sample.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = samples)]
#[diesel(check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ChainHead {
    pub id: SampleId,
    pub lab_code: String,
    pub status: String,
    pub custody_head_seq: Option<i64>,
    pub custody_head_hash: Option<String>,
}

/// The part of a custody audit entry's after JSON (the event) that names the head.
#[derive(Deserialize, Debug, Clone)]
pub struct AuditedEvent {
    pub id: CustodyEventId,
    pub sample_id: SampleId,
    pub seq: i64,
    pub hash: String,
}

/// Keeps, per sample, the break at the lowest sequence number; on a tie the one noted first,
/// completed with an event id a later one knows.
#[derive(Default)]
pub struct Breaks(BTreeMap<SampleId, ChainBreak>);

impl Breaks {
    pub fn note(&mut self, b: ChainBreak) {
        match self.0.get_mut(&b.sample_id) {
            None => {
                self.0.insert(b.sample_id.clone(), b);
            }
            Some(old) if b.seq < old.seq => *old = b,
            Some(old) => {
                if b.seq == old.seq && old.event_id.is_none() {
                    old.event_id = b.event_id;
                }
            }
        }
    }

    pub fn into_vec(self) -> Vec<ChainBreak> {
        self.0.into_values().collect()
    }
}

/// Checks one sample: its events (ordered by seq), seal, recorded head, audit entries (by
/// event id) and status. Returns the first bad event, if any.
pub fn check_chain(
    keys: &Keyring,
    head: &ChainHead,
    events: &[CustodyEvent],
    seal: Option<&Seal>,
    audited: &HashMap<String, AuditedEvent>,
) -> Option<ChainBreak> {
    let mut found = Breaks::default();
    let mut note = |seq: i64, event_id: Option<&CustodyEventId>, problem: Problem| {
        found.note(ChainBreak {
            sample_id: head.id.clone(),
            lab_code: head.lab_code.clone(),
            seq,
            event_id: event_id.cloned(),
            problem,
        })
    };
    let id_at = |seq: i64| events.iter().find(|e| e.seq == seq).map(|e| &e.id);
    let Some(last) = events.last() else {
        note(1, None, Problem::EmptyChain);
        return found.into_vec().pop();
    };
    if let Some(s) = seal {
        if !s.is_valid(keys) {
            note(s.seq, id_at(s.seq), Problem::SealMismatch);
        }
    }
    let mut prev = GENESIS;
    for (i, e) in events.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            note(expected_seq, None, Problem::SequenceGap);
            break;
        }
        let sealed = seal.is_some_and(|s| e.seq <= s.seq);
        let problem = if e.prev_hash != prev {
            Some(Problem::PrevHashMismatch)
        } else if e.key_id.is_none() && !sealed {
            Some(Problem::UnkeyedEvent)
        } else {
            match chain::expected_hash(e, keys) {
                Err(UnknownKey) => Some(Problem::UnknownKey),
                Ok(h) if h != e.hash => Some(Problem::HashMismatch),
                Ok(_) if seal.is_some_and(|s| s.seq == e.seq && s.hash != e.hash) => {
                    Some(Problem::SealMismatch)
                }
                Ok(_) => None,
            }
        };
        if let Some(problem) = problem {
            note(e.seq, Some(&e.id), problem);
            break;
        }
        prev = &e.hash;
    }
    match (head.custody_head_seq, &head.custody_head_hash) {
        (Some(seq), _) if seq > last.seq => note(last.seq + 1, None, Problem::Truncated),
        (Some(seq), _) if seq < last.seq => note(seq + 1, id_at(seq + 1), Problem::HeadMismatch),
        (Some(_), Some(hash)) if *hash == last.hash => {}
        _ => note(last.seq, Some(&last.id), Problem::HeadMismatch),
    }
    if seal.is_some_and(|s| s.seq > last.seq) {
        note(last.seq + 1, None, Problem::Truncated);
    }
    for e in events {
        match audited.get(e.id.as_str()) {
            None => note(e.seq, Some(&e.id), Problem::AuditMissing),
            Some(a) if a.seq != e.seq || a.hash != e.hash || a.sample_id != e.sample_id => {
                note(e.seq, Some(&e.id), Problem::AuditMismatch)
            }
            Some(_) => {}
        }
    }
    let agrees = last
        .kind()
        .is_some_and(|k| statuses_after(k).contains(&head.status.as_str()));
    if !agrees {
        note(last.seq, Some(&last.id), Problem::StatusMismatch);
    }
    found.into_vec().pop()
}

/// Bind parameters per `IN (...)` list, well under both backends' limits.
const IN_LIST: usize = 5000;

/// The audit entries of these events, by event id.
fn audited_events(
    conn: &mut DbConn,
    event_ids: &[&str],
) -> QueryResult<HashMap<String, AuditedEvent>> {
    let mut out = HashMap::with_capacity(event_ids.len());
    for chunk in event_ids.chunks(IN_LIST) {
        let rows: Vec<(Option<String>, Option<String>)> = audit_log::table
            .filter(audit_log::entity.eq(AUDIT_ENTITY))
            .filter(audit_log::entity_id.eq_any(chunk))
            .select((audit_log::entity_id, audit_log::after_json))
            .load(conn)?;
        for (id, after) in rows {
            // An entry whose JSON no longer parses names no head: the event reads as unaudited.
            if let (Some(id), Some(a)) = (id, after.as_deref().and_then(parse_audited)) {
                out.insert(id, a);
            }
        }
    }
    Ok(out)
}

fn parse_audited(json: &str) -> Option<AuditedEvent> {
    serde_json::from_str(json).ok()
}

/// Verifies these samples' chains; returns the breaks and how many events were read.
fn check_batch(
    conn: &mut DbConn,
    keys: &Keyring,
    heads: &[ChainHead],
) -> QueryResult<(Vec<ChainBreak>, usize)> {
    let ids: Vec<SampleId> = heads.iter().map(|h| h.id.clone()).collect();
    let events: Vec<CustodyEvent> = custody_events::table
        .filter(custody_events::sample_id.eq_any(&ids))
        .order((custody_events::sample_id.asc(), custody_events::seq.asc()))
        .select(CustodyEvent::as_select())
        .load(conn)?;
    let seals: HashMap<SampleId, Seal> = seal::for_samples(conn, &ids)?
        .into_iter()
        .map(|s| (s.sample_id.clone(), s))
        .collect();
    let event_ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let audited = audited_events(conn, &event_ids)?;
    let mut chains: HashMap<&SampleId, &[CustodyEvent]> = events
        .chunk_by(|a, b| a.sample_id == b.sample_id)
        .map(|c| (&c[0].sample_id, c))
        .collect();
    let breaks = heads
        .iter()
        .filter_map(|h| {
            let chain = chains.remove(&h.id).unwrap_or_default();
            check_chain(keys, h, chain, seals.get(&h.id), &audited)
        })
        .collect();
    Ok((breaks, events.len()))
}

/// One sample's verification, as the sample page shows it.
pub fn check_sample(
    conn: &mut DbConn,
    keys: &Keyring,
    sample_id: &SampleId,
) -> QueryResult<Option<ChainBreak>> {
    let head: ChainHead = samples::table
        .find(sample_id)
        .select(ChainHead::as_select())
        .first(conn)?;
    Ok(check_batch(conn, keys, &[head])?.0.pop())
}

/// How far a verification has come.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub samples: usize,
    pub events: usize,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub samples: usize,
    pub events: usize,
    /// One per broken chain, in sample order.
    pub breaks: Vec<ChainBreak>,
    /// Reports whose anchored custody event no longer holds.
    pub anchors: Vec<BrokenAnchor>,
}

/// Verifies every chain, a batch of samples at a time, then looks for custody audit entries
/// whose event is gone. `progress` is called after each batch with the same connection.
pub fn verify_all(
    conn: &mut DbConn,
    keys: &Keyring,
    mut progress: impl FnMut(&mut DbConn, Progress) -> QueryResult<()>,
) -> QueryResult<Report> {
    const BATCH: i64 = 500;
    let mut breaks = Breaks::default();
    let mut done = Progress::default();
    let mut after: Option<SampleId> = None;
    loop {
        let mut q = samples::table
            .select(ChainHead::as_select())
            .order(samples::id.asc())
            .limit(BATCH)
            .into_boxed();
        if let Some(a) = &after {
            q = q.filter(samples::id.gt(a.clone()));
        }
        let heads: Vec<ChainHead> = q.load(conn)?;
        let Some(last) = heads.last() else {
            break;
        };
        after = Some(last.id.clone());
        let (found, events) = check_batch(conn, keys, &heads)?;
        found.into_iter().for_each(|b| breaks.note(b));
        done.samples += heads.len();
        done.events += events;
        progress(conn, done)?;
    }
    for b in vanished_events(conn)? {
        breaks.note(b);
    }
    Ok(Report {
        samples: done.samples,
        events: done.events,
        breaks: breaks.into_vec(),
        anchors: broken_anchors(conn, None)?,
    })
}

/// Report number, sample, lab code, anchored seq and hash, and the hash there now.
type AnchorRow = (
    Option<String>,
    SampleId,
    String,
    i64,
    String,
    Option<String>,
);

/// A report's custody anchor whose event is gone or no longer has the anchored hash: a
/// history rewritten after the report left the building.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenAnchor {
    pub report_number: String,
    pub sample_id: SampleId,
    pub lab_code: String,
    pub seq: i64,
}

impl BrokenAnchor {
    /// As a break of the sample's chain, for the verification page.
    pub fn as_break(&self) -> ChainBreak {
        ChainBreak {
            sample_id: self.sample_id.clone(),
            lab_code: self.lab_code.clone(),
            seq: self.seq,
            event_id: None,
            problem: Problem::ReportAnchor,
        }
    }
}

/// The anchors of every frozen version (of `version` only when given) that no longer hold.
pub fn broken_anchors(
    conn: &mut DbConn,
    version: Option<&ReportVersionId>,
) -> QueryResult<Vec<BrokenAnchor>> {
    let mut q = report_anchors::table
        .inner_join(report_versions::table)
        .inner_join(samples::table.on(samples::id.eq(report_anchors::sample_id)))
        .left_join(
            custody_events::table.on(custody_events::sample_id
                .eq(report_anchors::sample_id)
                .and(custody_events::seq.eq(report_anchors::custody_seq))),
        )
        .select((
            report_versions::report_number,
            report_anchors::sample_id,
            samples::lab_code,
            report_anchors::custody_seq,
            report_anchors::custody_hash,
            custody_events::hash.nullable(),
        ))
        .order((report_versions::report_number, report_anchors::sample_id))
        .into_boxed();
    if let Some(id) = version {
        q = q.filter(report_anchors::report_version_id.eq(id));
    }
    let rows: Vec<AnchorRow> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, _, _, anchored, now)| now.as_deref() != Some(anchored.as_str()))
        .map(|(number, sample_id, lab_code, seq, _, _)| BrokenAnchor {
            report_number: number.unwrap_or_default(),
            sample_id,
            lab_code,
            seq,
        })
        .collect())
}

/// Custody audit entries whose event no longer exists: each names the sample and the event
/// that was removed (a truncation even when the sample's head was rewritten to match).
fn vanished_events(conn: &mut DbConn) -> QueryResult<Vec<ChainBreak>> {
    const PAGE: i64 = 2000;
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        // Read from the (entity, entity_id) index alone, in event id order.
        let ids: Vec<Option<String>> = audit_log::table
            .filter(audit_log::entity.eq(AUDIT_ENTITY))
            .filter(audit_log::entity_id.gt(&after))
            .order(audit_log::entity_id.asc())
            .select(audit_log::entity_id)
            .limit(PAGE)
            .load(conn)?;
        let ids: Vec<String> = ids.into_iter().flatten().collect();
        let Some(last) = ids.last().cloned() else {
            break;
        };
        let present: HashSet<CustodyEventId> = custody_events::table
            .filter(custody_events::id.eq_any(&ids))
            .select(custody_events::id)
            .load::<CustodyEventId>(conn)?
            .into_iter()
            .collect();
        let gone: Vec<&String> = ids
            .iter()
            .filter(|id| !present.contains(&CustodyEventId(id.to_string())))
            .collect();
        if !gone.is_empty() {
            let entries =
                audited_events(conn, &gone.iter().map(|s| s.as_str()).collect::<Vec<_>>())?;
            for a in entries.into_values() {
                let lab_code: Option<String> = samples::table
                    .find(&a.sample_id)
                    .select(samples::lab_code)
                    .first(conn)
                    .optional()?;
                out.push(ChainBreak {
                    lab_code: lab_code.unwrap_or_else(|| a.sample_id.to_string()),
                    sample_id: a.sample_id,
                    seq: a.seq,
                    event_id: Some(a.id),
                    problem: Problem::Truncated,
                });
            }
        }
        after = last;
    }
    Ok(out)
}
