//! The one search box: a lab code, seal number, seizure reference or declaration number,
//! typed or scanned. Exact matches first (each through an index); prefixes only when nothing
//! matches exactly.

use std::collections::BTreeMap;

use diesel::prelude::*;

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
}

const LIMIT: i64 = 50;

pub fn search(conn: &mut DbConn, raw: &str) -> QueryResult<Vec<Hit>> {
    let q = normalize_reference(raw);
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let seal = normalize_seal(raw).unwrap_or_default();
    let mut sample_ids: Vec<SampleId> = samples::table
        .filter(samples::lab_code.eq(&q).or(samples::seal_number.eq(&seal)))
        .select(samples::id)
        .limit(LIMIT)
        .load(conn)?;
    // Seals seen along the chain (e.g. replaced when resealed) find the sample too.
    sample_ids.extend(
        custody_events::table
            .filter(
                custody_events::seal_number
                    .eq(&seal)
                    .or(custody_events::new_seal_number.eq(&seal)),
            )
            .select(custody_events::sample_id)
            .distinct()
            .limit(LIMIT)
            .load::<SampleId>(conn)?,
    );
    let mut seizure_ids: Vec<SeizureId> = seizures::table
        .filter(
            seizures::reference
                .eq(&q)
                .or(seizures::declaration_number.eq(&q)),
        )
        .select(seizures::id)
        .limit(LIMIT)
        .load(conn)?;
    if sample_ids.is_empty() && seizure_ids.is_empty() && q.len() >= 3 {
        let prefix = format!("{}%", q.replace(['%', '_'], ""));
        sample_ids = samples::table
            .filter(samples::lab_code.like(&prefix))
            .order(samples::lab_code.asc())
            .select(samples::id)
            .limit(LIMIT)
            .load(conn)?;
        seizure_ids = seizures::table
            .filter(seizures::reference.like(&prefix))
            .order(seizures::reference.asc())
            .select(seizures::id)
            .limit(LIMIT)
            .load(conn)?;
    }
    let samples: BTreeMap<String, Sample> = samples::table
        .filter(samples::id.eq_any(&sample_ids))
        .select(Sample::as_select())
        .load(conn)?
        .into_iter()
        .map(|s| (s.lab_code.clone(), s))
        .collect();
    let seizures: BTreeMap<String, Seizure> = seizures::table
        .filter(seizures::id.eq_any(&seizure_ids))
        .select(Seizure::as_select())
        .load(conn)?
        .into_iter()
        .map(|s| (s.reference.clone(), s))
        .collect();
    Ok(seizures
        .into_values()
        .map(|s| Hit::Seizure(Box::new(s)))
        .chain(samples.into_values().map(|s| Hit::Sample(Box::new(s))))
        .collect())
}
