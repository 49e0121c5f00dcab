//! The enforcement portal: what a customs officer may read about a case — the seizure, its
//! samples and their statuses, the custody timeline without the lab's internal remarks, and
//! the reports the laboratory has issued. Drafts, unreviewed results and raw data never
//! leave this module: only issued report versions are read, and custody events are copied
//! into `PublicEvent`, which has no field for a reason, a witness's document or a storage
//! place.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{report_versions, reports, samples};
use crate::db::DbConn;
use crate::ids::{ReportVersionId, SampleId, SeizureId};
use crate::report::VersionStatus;
use crate::sample::Sample;
use crate::seizure::{self, Seizure, SeizureFilter};

/// A seizure as the portal shows it.
pub struct Case {
    pub seizure: Seizure,
    pub samples: Vec<Sample>,
    /// Issued versions, newest report number first.
    pub reports: Vec<IssuedReport>,
}

/// An issued report version.
#[derive(Clone, Debug)]
pub struct IssuedReport {
    pub number: String,
    pub version_no: i32,
    pub issued_at: NaiveDateTime,
    /// The number of the issued amendment that replaced it.
    pub superseded_by: Option<String>,
    /// The sample reported on; `None` for a report on the whole seizure.
    pub lab_code: Option<String>,
}

/// One page of cases matching `filter`, latest seizure first, and its pager's figures (the
/// page's rows are moved into the cases).
pub fn search(
    conn: &mut DbConn,
    filter: &SeizureFilter,
    after: Option<&seizure::Cursor>,
    page_size: i64,
) -> QueryResult<(Vec<Case>, seizure::Page)> {
    let mut page = seizure::page(conn, filter, after, page_size)?;
    let cases = cases(conn, std::mem::take(&mut page.rows))?;
    Ok((cases, page))
}

/// The case of one seizure.
pub fn case(conn: &mut DbConn, id: &SeizureId) -> QueryResult<Case> {
    let seizure = seizure::find(conn, id)?;
    Ok(cases(conn, vec![seizure])?.remove(0))
}

fn cases(conn: &mut DbConn, seizures: Vec<Seizure>) -> QueryResult<Vec<Case>> {
    let ids: Vec<SeizureId> = seizures.iter().map(|s| s.id.clone()).collect();
    let mut samples_of: HashMap<SeizureId, Vec<Sample>> = HashMap::new();
    for s in samples::table
        .filter(samples::seizure_id.eq_any(&ids))
        .order(samples::lab_code.asc())
        .select(Sample::as_select())
        .load(conn)?
    {
        samples_of.entry(s.seizure_id.clone()).or_default().push(s);
    }
    let mut reports_of = issued_reports(conn, &ids, &samples_of)?;
    Ok(seizures
        .into_iter()
        .map(|seizure| Case {
            samples: samples_of.remove(&seizure.id).unwrap_or_default(),
            reports: reports_of.remove(&seizure.id).unwrap_or_default(),
            seizure,
        })
        .collect())
}

type IssuedRow = (
    SeizureId,
    Option<SampleId>,
    ReportVersionId,
    Option<String>,
    i32,
    Option<NaiveDateTime>,
    Option<ReportVersionId>,
);

/// The issued versions of these seizures' reports, by seizure.
fn issued_reports(
    conn: &mut DbConn,
    seizure_ids: &[SeizureId],
    samples_of: &HashMap<SeizureId, Vec<Sample>>,
) -> QueryResult<HashMap<SeizureId, Vec<IssuedReport>>> {
    let rows: Vec<IssuedRow> = report_versions::table
        .inner_join(reports::table)
        .filter(reports::seizure_id.eq_any(seizure_ids))
        .filter(report_versions::status.eq(VersionStatus::Issued))
        .order(report_versions::report_number.desc())
        .select((
            reports::seizure_id,
            reports::sample_id,
            report_versions::id,
            report_versions::report_number,
            report_versions::version_no,
            report_versions::issued_at,
            report_versions::supersedes_id,
        ))
        .load(conn)?;
    let number_of: HashMap<&ReportVersionId, &str> = rows
        .iter()
        .filter_map(|r| Some((&r.2, r.3.as_deref()?)))
        .collect();
    let superseded_by: HashMap<&ReportVersionId, &str> = rows
        .iter()
        .filter_map(|r| Some((r.6.as_ref()?, *number_of.get(&r.2)?)))
        .collect();
    let code_of = |seizure: &SeizureId, sample: &Option<SampleId>| {
        let sample = sample.as_ref()?;
        samples_of
            .get(seizure)?
            .iter()
            .find(|s| &s.id == sample)
            .map(|s| s.lab_code.clone())
    };
    let mut out: HashMap<SeizureId, Vec<IssuedReport>> = HashMap::new();
    for (seizure, sample, id, number, version_no, issued_at, _) in &rows {
        // Issued versions always carry both (a CHECK constraint).
        let (Some(number), Some(issued_at)) = (number, issued_at) else {
            continue;
        };
        out.entry(seizure.clone()).or_default().push(IssuedReport {
            number: number.clone(),
            version_no: *version_no,
            issued_at: *issued_at,
            superseded_by: superseded_by.get(id).map(|n| n.to_string()),
            lab_code: code_of(seizure, sample),
        });
    }
    Ok(out)
}

/// A custody event as an officer reads it: what happened to the bag, when, where and with
/// which seal; none of the lab's remarks.
#[derive(Clone, Debug)]
pub struct PublicEvent {
    pub seq: i64,
    pub kind: String,
    pub occurred_at: NaiveDateTime,
    pub place: Option<String>,
    pub seal_number: Option<String>,
    pub seal_intact: Option<bool>,
    pub new_seal_number: Option<String>,
    pub external_lab: Option<String>,
    pub retained_until: Option<String>,
}

/// The custody timeline of a sample, oldest first.
pub fn timeline(conn: &mut DbConn, sample: &SampleId) -> QueryResult<Vec<PublicEvent>> {
    Ok(crate::custody::for_sample(conn, sample)?
        .into_iter()
        .map(|e| PublicEvent {
            seq: e.seq,
            kind: e.kind,
            occurred_at: e.occurred_at,
            place: e.place,
            seal_number: e.seal_number,
            seal_intact: e.seal_intact,
            new_seal_number: e.new_seal_number,
            external_lab: e.external_lab,
            retained_until: e.retained_until,
        })
        .collect())
}
