//! The one search box: a lab code, seal number, seizure reference or declaration number,
//! typed or scanned, whole or in part. Exact matches first (each through a b-tree index);
//! then codes that start with the text, then codes that contain it, through the trigram
//! index of migration `2026-11-28-000009_search` (FTS5 on SQLite, pg_trgm on PostgreSQL).
//! Every query is bounded: at most `LIMIT` results, and whether there were more.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::db::schema::{custody_events, samples, seizures};
use crate::db::DbConn;
use crate::ids::{SampleId, SeizureId};
use crate::sample::{normalize_seal, Sample};
use crate::seizure::{normalize_reference, Seizure};

#[derive(Debug, Clone)]
pub enum Hit {
    Sample(Box<Sample>),
    Seizure(Box<Seizure>),
}

impl Hit {
    /// Where the hit's page is.
    pub fn url(&self) -> String {
        match self {
            Hit::Sample(s) => format!("/samples/{}", s.id),
            Hit::Seizure(s) => format!("/seizures/{}", s.id),
        }
    }

    fn code(&self) -> &str {
        match self {
            Hit::Sample(s) => &s.lab_code,
            Hit::Seizure(s) => &s.reference,
        }
    }
}

/// The most results a search shows.
pub const LIMIT: usize = 50;
/// Partial matching needs three characters: the trigram index cannot narrow fewer, and two
/// characters would match half the lab anyway.
pub const MIN_PARTIAL: usize = 3;

/// How well a record matched; results are listed best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Match {
    Exact,
    Prefix,
    Contains,
}

impl Match {
    /// The translation key of how a record matched, for the result list.
    pub fn label_key(self) -> &'static str {
        match self {
            Match::Exact => "search.match.exact",
            Match::Prefix => "search.match.prefix",
            Match::Contains => "search.match.contains",
        }
    }
}

#[derive(Debug, Default)]
pub struct Results {
    /// Best first, then seizures before samples, then by code.
    pub hits: Vec<(Match, Hit)>,
    /// More records matched than are shown: the text should be refined.
    pub more: bool,
    /// The text was too short for partial matching and nothing matched exactly.
    pub too_short: bool,
}

impl Results {
    /// The record to open directly: the only match, and an exact one.
    pub fn unique_exact(&self) -> Option<&Hit> {
        match self.hits.as_slice() {
            [(Match::Exact, hit)] => Some(hit),
            _ => None,
        }
    }
}

/// Record ids in the order found, each with its best match.
#[derive(Default)]
struct Found {
    samples: Vec<(SampleId, Match)>,
    seizures: Vec<(SeizureId, Match)>,
}

impl Found {
    fn len(&self) -> usize {
        self.samples.len() + self.seizures.len()
    }

    fn add(&mut self, how: Match, samples: Vec<SampleId>, seizures: Vec<SeizureId>) {
        for id in samples {
            if !self.samples.iter().any(|(s, _)| *s == id) {
                self.samples.push((id, how));
            }
        }
        for id in seizures {
            if !self.seizures.iter().any(|(s, _)| *s == id) {
                self.seizures.push((id, how));
            }
        }
    }
}

pub fn search(conn: &mut DbConn, raw: &str) -> QueryResult<Results> {
    let q = normalize_reference(raw);
    if q.is_empty() {
        return Ok(Results::default());
    }
    let mut found = Found::default();
    let (samples, seizures) = exact(conn, &q, &normalize_seal(raw).unwrap_or_default())?;
    found.add(Match::Exact, samples, seizures);
    // LIKE's wildcards typed in a code are not wildcards; no code holds them.
    let needle: String = q
        .chars()
        .filter(|c| !matches!(c, '%' | '_' | '\\'))
        .collect();
    let partial = needle.chars().count() >= MIN_PARTIAL;
    if partial && found.len() != 1 {
        for (how, pattern) in [
            (Match::Prefix, format!("{needle}%")),
            (Match::Contains, format!("%{needle}%")),
        ] {
            if found.len() > LIMIT {
                break;
            }
            let (samples, seizures) = matching(conn, &pattern, LIMIT as i64 + 1)?;
            found.add(how, samples, seizures);
        }
    }
    let too_short = !partial && found.len() == 0;
    let more = found.len() > LIMIT;
    let mut hits = load(conn, found)?;
    hits.truncate(LIMIT);
    Ok(Results {
        hits,
        more,
        too_short,
    })
}

/// Records whose code is the text, through the b-tree indexes; seals seen along the chain
/// (e.g. replaced when resealed) find the sample too.
fn exact(conn: &mut DbConn, q: &str, seal: &str) -> QueryResult<(Vec<SampleId>, Vec<SeizureId>)> {
    let limit = LIMIT as i64 + 1;
    let mut sample_ids: Vec<SampleId> = samples::table
        .filter(samples::lab_code.eq(q).or(samples::seal_number.eq(seal)))
        .select(samples::id)
        .limit(limit)
        .load(conn)?;
    sample_ids.extend(
        custody_events::table
            .filter(
                custody_events::seal_number
                    .eq(seal)
                    .or(custody_events::new_seal_number.eq(seal)),
            )
            .select(custody_events::sample_id)
            .distinct()
            .limit(limit)
            .load::<SampleId>(conn)?,
    );
    let seizure_ids = seizures::table
        .filter(
            seizures::reference
                .eq(q)
                .or(seizures::declaration_number.eq(q)),
        )
        .select(seizures::id)
        .limit(limit)
        .load(conn)?;
    Ok((sample_ids, seizure_ids))
}

#[derive(QueryableByName)]
struct Term {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    record_id: String,
}

/// Up to `limit` samples and up to `limit` seizures with a code `LIKE pattern` (codes are
/// stored upper case, as `normalize_reference` makes the text).
fn matching(
    conn: &mut DbConn,
    pattern: &str,
    limit: i64,
) -> QueryResult<(Vec<SampleId>, Vec<SeizureId>)> {
    if let DbConn::Sqlite(c) = conn {
        // One FTS5 trigram table holds every code of both kinds (see the migration).
        let terms: Vec<Term> = diesel::sql_query(
            "SELECT DISTINCT kind, record_id FROM search_terms WHERE term LIKE ? LIMIT ?",
        )
        .bind::<Text, _>(pattern)
        .bind::<BigInt, _>(limit * 2)
        .load(c)?;
        let (mut samples, mut seizures) = (Vec::new(), Vec::new());
        for t in terms {
            if t.kind == "seizure" {
                seizures.push(SeizureId(t.record_id));
            } else {
                samples.push(SampleId(t.record_id));
            }
        }
        samples.truncate(limit as usize);
        seizures.truncate(limit as usize);
        return Ok((samples, seizures));
    }
    // PostgreSQL: each column has its trigram GIN index.
    let mut sample_ids: Vec<SampleId> = samples::table
        .filter(
            samples::lab_code
                .like(pattern)
                .or(samples::seal_number.like(pattern)),
        )
        .select(samples::id)
        .limit(limit)
        .load(conn)?;
    if (sample_ids.len() as i64) < limit {
        sample_ids.extend(
            custody_events::table
                .filter(
                    custody_events::seal_number
                        .like(pattern)
                        .or(custody_events::new_seal_number.like(pattern)),
                )
                .select(custody_events::sample_id)
                .distinct()
                .limit(limit)
                .load::<SampleId>(conn)?,
        );
    }
    let seizure_ids = seizures::table
        .filter(
            seizures::reference
                .like(pattern)
                .or(seizures::declaration_number.like(pattern)),
        )
        .select(seizures::id)
        .limit(limit)
        .load(conn)?;
    Ok((sample_ids, seizure_ids))
}

/// The found records (at most a hundred or so ids), best match first.
fn load(conn: &mut DbConn, found: Found) -> QueryResult<Vec<(Match, Hit)>> {
    let sample_rank: HashMap<SampleId, Match> = found.samples.into_iter().collect();
    let seizure_rank: HashMap<SeizureId, Match> = found.seizures.into_iter().collect();
    let mut hits = Vec::with_capacity(sample_rank.len() + seizure_rank.len());
    for s in samples::table
        .filter(samples::id.eq_any(sample_rank.keys()))
        .select(Sample::as_select())
        .load(conn)?
    {
        hits.push((sample_rank[&s.id], Hit::Sample(Box::new(s))));
    }
    for s in seizures::table
        .filter(seizures::id.eq_any(seizure_rank.keys()))
        .select(Seizure::as_select())
        .load(conn)?
    {
        hits.push((seizure_rank[&s.id], Hit::Seizure(Box::new(s))));
    }
    hits.sort_by(|(a, x), (b, y)| {
        (a, matches!(x, Hit::Sample(_)), x.code()).cmp(&(b, matches!(y, Hit::Sample(_)), y.code()))
    });
    Ok(hits)
}
