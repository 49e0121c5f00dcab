//! Signed checkpoints of every chain's head, kept away from the server, so that a later
//! verification can tell which chains no longer extend what it saw — including after the whole
//! database was put back to an older copy, which no record inside the database can reveal.
//!
//! The file is text, one record a line:
//!
//! ```text
//! lims custody checkpoint v1
//! created_at 2026-12-01T10:00:00.000000Z
//! key_id 0123456789abcdef
//! head <sample id> <seq> <the head hash's first 16 hex digits>      (one per sample, in id order)
//! samples <number of head lines>
//! events <sum of the heads' seq: the events the chains held>
//! heads_digest <hex SHA-256 of the head lines, each with its newline>
//! mac <hex HMAC-SHA-256 under the custody key key_id, of every byte before this line>
//! ```
//!
//! A changed byte, a removed line or a key the ring does not hold makes the file refused
//! before anything is compared.

use std::io::{BufRead, Write};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::key::Keyring;
use super::verify::{ChainBreak, Problem};
use crate::audit::{self, Actor};
use crate::db::schema::samples;
use crate::db::{write_tx, DbConn};
use crate::ids::SampleId;

const MAGIC: &str = "lims custody checkpoint v1";
/// Hex digits of each head hash kept: 64 bits tell two heads apart, and the file's MAC covers
/// them, so the file stays small (about 60 bytes a sample).
const HASH_DIGITS: usize = 16;

/// What a checkpoint says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub created_at: String,
    pub key_id: String,
    pub samples: u64,
    pub events: u64,
    pub heads_digest: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot read or write the checkpoint: {0}")]
    Io(#[from] std::io::Error),
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("not a custody checkpoint, or cut short (line {0})")]
    Malformed(usize),
    #[error("the checkpoint was signed with custody key {0}, which this server does not hold")]
    UnknownKey(String),
    #[error("the checkpoint has been altered: its signature does not match its content")]
    BadSignature,
}

/// Writes a checkpoint of every sample's recorded head to `out`, signed with the active key.
pub fn write(
    conn: &mut DbConn,
    keys: &Keyring,
    at: NaiveDateTime,
    out: &mut impl Write,
) -> Result<Summary, CheckpointError> {
    let key = keys.active();
    let mut mac = key.hmac();
    let mut digest = Sha256::new();
    let mut emit = |line: &str, out: &mut dyn Write| -> std::io::Result<()> {
        hmac::Mac::update(&mut mac, line.as_bytes());
        hmac::Mac::update(&mut mac, b"\n");
        writeln!(out, "{line}")
    };
    let created_at = at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    emit(MAGIC, out)?;
    emit(&format!("created_at {created_at}"), out)?;
    emit(&format!("key_id {}", key.id()), out)?;
    let (mut n, mut events) = (0u64, 0u64);
    let mut after: Option<SampleId> = None;
    loop {
        let mut q = samples::table
            .select((
                samples::id,
                samples::custody_head_seq,
                samples::custody_head_hash,
            ))
            .order(samples::id.asc())
            .limit(2000)
            .into_boxed();
        if let Some(a) = &after {
            q = q.filter(samples::id.gt(a.clone()));
        }
        let rows: Vec<(SampleId, Option<i64>, Option<String>)> = q.load(conn)?;
        let Some(last) = rows.last() else {
            break;
        };
        after = Some(last.0.clone());
        for (id, seq, hash) in rows {
            // A sample without a head has no chain yet; verification reports it.
            let (Some(seq), Some(hash)) = (seq, hash) else {
                continue;
            };
            let line = format!("head {id} {seq} {}", short(&hash));
            digest.update(line.as_bytes());
            digest.update(b"\n");
            emit(&line, out)?;
            n += 1;
            events += seq as u64;
        }
    }
    let heads_digest = hex::encode(digest.finalize());
    emit(&format!("samples {n}"), out)?;
    emit(&format!("events {events}"), out)?;
    emit(&format!("heads_digest {heads_digest}"), out)?;
    writeln!(
        out,
        "mac {}",
        hex::encode(hmac::Mac::finalize(mac).into_bytes())
    )?;
    out.flush()?;
    Ok(Summary {
        created_at,
        key_id: key.id().to_string(),
        samples: n,
        events,
        heads_digest,
    })
}

fn short(hash: &str) -> &str {
    hash.get(..HASH_DIGITS).unwrap_or(hash)
}

/// Writes who took a checkpoint and its digest into the audit trail.
pub fn record(conn: &mut DbConn, actor: &Actor, summary: &Summary) -> QueryResult<()> {
    write_tx(conn, |conn| {
        audit::record(
            conn,
            actor,
            "custody_checkpoint",
            "custody",
            None,
            None::<&()>,
            Some(summary),
        )
    })
}

/// One head line.
struct Head {
    sample_id: SampleId,
    seq: i64,
    hash: String,
}

fn parse_head(line: &str) -> Option<Head> {
    let mut parts = line.strip_prefix("head ")?.split(' ');
    let head = Head {
        sample_id: SampleId(parts.next()?.to_string()),
        seq: parts.next()?.parse().ok().filter(|s| *s > 0)?,
        hash: parts.next()?.to_string(),
    };
    parts.next().is_none().then_some(head)
}

/// Reads a checkpoint through and checks its signature, counts and digest. Nothing in a file
/// may be believed before its last line is read, so callers read it twice: `check`, then
/// `compare`.
pub fn check(keys: &Keyring, input: impl BufRead) -> Result<Summary, CheckpointError> {
    let mut lines = input.lines().enumerate();
    let mut next = |expect: &str| -> Result<(usize, String), CheckpointError> {
        match lines.next() {
            Some((i, line)) => {
                let line = line?;
                if line.starts_with(expect) {
                    Ok((i + 1, line))
                } else {
                    Err(CheckpointError::Malformed(i + 1))
                }
            }
            None => Err(CheckpointError::Malformed(0)),
        }
    };
    let (_, magic) = next(MAGIC)?;
    let (_, created) = next("created_at ")?;
    let (_, key_line) = next("key_id ")?;
    let key_id = key_line["key_id ".len()..].to_string();
    let key = keys
        .get(&key_id)
        .ok_or_else(|| CheckpointError::UnknownKey(key_id.clone()))?;
    let mut mac = key.hmac();
    for l in [&magic, &created, &key_line] {
        hmac::Mac::update(&mut mac, l.as_bytes());
        hmac::Mac::update(&mut mac, b"\n");
    }
    let mut digest = Sha256::new();
    let mut n = 0u64;
    let mut events = 0u64;
    let (mut i, mut line) = next("")?;
    while line.starts_with("head ") {
        let head = parse_head(&line).ok_or(CheckpointError::Malformed(i))?;
        n += 1;
        events += head.seq as u64;
        digest.update(line.as_bytes());
        digest.update(b"\n");
        hmac::Mac::update(&mut mac, line.as_bytes());
        hmac::Mac::update(&mut mac, b"\n");
        (i, line) = next("")?;
    }
    let mut trailer = Vec::new();
    for (j, field) in ["samples ", "events ", "heads_digest "]
        .into_iter()
        .enumerate()
    {
        if j > 0 {
            (i, line) = next(field)?;
        } else if !line.starts_with(field) {
            return Err(CheckpointError::Malformed(i));
        }
        hmac::Mac::update(&mut mac, line.as_bytes());
        hmac::Mac::update(&mut mac, b"\n");
        trailer.push(line[field.len()..].to_string());
    }
    let (i, mac_line) = next("mac ")?;
    if lines.next().is_some() {
        return Err(CheckpointError::Malformed(i + 1));
    }
    let tag = hex::decode(&mac_line["mac ".len()..]).map_err(|_| CheckpointError::BadSignature)?;
    hmac::Mac::verify_slice(mac, &tag).map_err(|_| CheckpointError::BadSignature)?;
    // Signed, so the counts and digest are the signer's; they must also agree with the lines.
    let heads_digest = hex::encode(digest.finalize());
    if trailer[0] != n.to_string() || trailer[1] != events.to_string() || trailer[2] != heads_digest
    {
        return Err(CheckpointError::BadSignature);
    }
    Ok(Summary {
        created_at: created["created_at ".len()..].to_string(),
        key_id,
        samples: n,
        events,
        heads_digest,
    })
}

/// Compares the database with a checkpoint (already `check`ed): every chain must still hold
/// the head the checkpoint saw. Reads the file and the database in batches.
pub fn compare(conn: &mut DbConn, input: impl BufRead) -> Result<Vec<ChainBreak>, CheckpointError> {
    const BATCH: usize = 1000;
    let mut breaks = Vec::new();
    let mut batch: Vec<Head> = Vec::with_capacity(BATCH);
    for line in input.lines() {
        if let Some(head) = parse_head(&line?) {
            batch.push(head);
        }
        if batch.len() == BATCH {
            compare_batch(conn, &batch, &mut breaks)?;
            batch.clear();
        }
    }
    compare_batch(conn, &batch, &mut breaks)?;
    Ok(breaks)
}

fn compare_batch(
    conn: &mut DbConn,
    heads: &[Head],
    breaks: &mut Vec<ChainBreak>,
) -> QueryResult<()> {
    if heads.is_empty() {
        return Ok(());
    }
    let ids: Vec<&SampleId> = heads.iter().map(|h| &h.sample_id).collect();
    let codes: std::collections::HashMap<SampleId, String> = samples::table
        .filter(samples::id.eq_any(&ids))
        .select((samples::id, samples::lab_code))
        .load(conn)?
        .into_iter()
        .collect();
    let events = super::links(conn, &ids)?;
    let chains: std::collections::HashMap<&SampleId, &[super::Link]> = events
        .chunk_by(|a, b| a.sample_id == b.sample_id)
        .map(|c| (&c[0].sample_id, c))
        .collect();
    for h in heads {
        let chain = chains.get(&h.sample_id).copied().unwrap_or_default();
        let problem = match chain.iter().find(|e| e.seq == h.seq) {
            Some(e) if short(&e.hash) == h.hash => continue,
            Some(e) => (h.seq, Some(e.id.clone()), Problem::RewrittenSinceCheckpoint),
            None => {
                // The first sequence number the checkpoint saw that is gone now.
                let first_gone = (1..=h.seq)
                    .find(|s| !chain.iter().any(|e| e.seq == *s))
                    .unwrap_or(h.seq);
                (first_gone, None, Problem::MissingSinceCheckpoint)
            }
        };
        breaks.push(ChainBreak {
            lab_code: codes
                .get(&h.sample_id)
                .cloned()
                .unwrap_or_else(|| h.sample_id.to_string()),
            sample_id: h.sample_id.clone(),
            seq: problem.0,
            event_id: problem.1,
            problem: problem.2,
        });
    }
    Ok(())
}
