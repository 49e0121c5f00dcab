//! Tests on samples (ISO/IEC 17025 7.2, 7.5, 7.8.6): assignment to an authorized analyst
//! (`assign`), result entry with the instruments used (`result`), and four-eyes review with
//! retests (`review`). An analysis row holds the workflow; what was measured lives in
//! append-only rows, so any result can be traced to who, with which method version,
//! instrument and calibration, under which authorization, and every change since.

pub mod external;
pub mod result;
pub mod review;
pub mod state;

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Handler};
use crate::db::schema::{analyses, method_authorizations, method_versions, methods, users};
use crate::db::{now, text_enum, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{
    AnalysisId, AuthorizationId, MethodId, MethodVersionId, SampleId, SeizureId, UserId,
};
use crate::method::{self, Method, MethodVersion};
use crate::personnel;
use crate::sample::{self, Sample, SampleStatus};
use crate::validation::{required_date, FieldErrors};

text_enum!(
    /// Where a test is in its workflow (changed only through `state::next`).
    AnalysisStatus {
        Assigned => "assigned",
        InProgress => "in_progress",
        Submitted => "submitted",
        Approved => "approved",
        Rejected => "rejected",
        Cancelled => "cancelled",
    }
);

text_enum!(
    ReviewDecision {
        Approved => "approved",
        Rejected => "rejected",
    }
);

impl AnalysisStatus {
    /// Still with its analyst: a result may be entered.
    pub fn open(self) -> bool {
        matches!(self, AnalysisStatus::Assigned | AnalysisStatus::InProgress)
    }
}

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = analyses, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct Analysis {
    pub id: AnalysisId,
    pub sample_id: SampleId,
    pub method_id: MethodId,
    pub method_version_id: MethodVersionId,
    pub analyst_id: Option<UserId>,
    pub authorization_id: Option<AuthorizationId>,
    pub assigned_by: UserId,
    pub assigned_at: NaiveDateTime,
    pub due_on: Option<String>,
    pub status: AnalysisStatus,
    pub retest_of_id: Option<AnalysisId>,
    pub is_external: bool,
    pub external_lab: Option<String>,
    pub external_accreditation: Option<String>,
    pub external_report_ref: Option<String>,
    pub referral_event_id: Option<crate::ids::CustodyEventId>,
    pub return_event_id: Option<crate::ids::CustodyEventId>,
    pub started_at: Option<NaiveDateTime>,
    pub submitted_at: Option<NaiveDateTime>,
    pub submitted_by: Option<UserId>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub reviewed_by: Option<UserId>,
    pub review_decision: Option<ReviewDecision>,
    pub rejection_reason: Option<String>,
    pub cancellation_reason: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Analysis {
    /// Past its due date and still not handed in.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.status.open()
            && self
                .due_on
                .as_deref()
                .is_some_and(|d| d < iso(today).as_str())
    }
}

#[derive(Insertable)]
#[diesel(table_name = analyses)]
struct NewAnalysis<'a> {
    id: &'a AnalysisId,
    sample_id: &'a SampleId,
    method_id: &'a MethodId,
    method_version_id: &'a MethodVersionId,
    analyst_id: Option<&'a UserId>,
    authorization_id: Option<&'a AuthorizationId>,
    assigned_by: &'a UserId,
    assigned_at: NaiveDateTime,
    due_on: Option<&'a str>,
    status: AnalysisStatus,
    retest_of_id: Option<&'a AnalysisId>,
    is_external: bool,
    external_lab: Option<&'a str>,
    external_accreditation: Option<&'a str>,
    external_report_ref: Option<&'a str>,
    referral_event_id: Option<&'a crate::ids::CustodyEventId>,
    return_event_id: Option<&'a crate::ids::CustodyEventId>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

pub(crate) fn iso(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub fn find(conn: &mut DbConn, id: &AnalysisId) -> QueryResult<Analysis> {
    analyses::table
        .find(id)
        .select(Analysis::as_select())
        .first(conn)
}

/// Inside a write transaction: locks the analysis's row (PostgreSQL) and reads it afresh, so
/// two reviewers or a reviewer and the analyst cannot both act on what they saw before. A
/// reviewed or cancelled analysis is frozen by a trigger, so it is read as it is (and
/// `state::next` refuses whatever was asked of it).
fn lock(conn: &mut DbConn, id: &AnalysisId) -> QueryResult<Analysis> {
    let seen = find(conn, id)?;
    if seen.status.open() || seen.status == AnalysisStatus::Submitted {
        diesel::update(analyses::table.find(id))
            .filter(analyses::status.eq(seen.status))
            .set(analyses::id.eq(id))
            .execute(conn)?;
        return find(conn, id);
    }
    Ok(seen)
}

/// Writes the status `event` leads to (`state::next` decides) with the columns the event
/// fills, and the audit entry of the whole row before and after.
fn apply(
    conn: &mut DbConn,
    who: &Handler,
    before: &Analysis,
    event: state::Event,
    rejection_reason: Option<&str>,
) -> Result<Analysis, AppError> {
    use state::Event as E;
    let status = state::next(before.status, event)?;
    let t = now();
    let started_at = before.started_at.or(Some(t));
    let (submitted_at, submitted_by) = match event {
        E::Submit => (Some(t), Some(who.user_id.clone())),
        _ => (before.submitted_at, before.submitted_by.clone()),
    };
    let (reviewed_at, reviewed_by, decision) = match event {
        E::Approve => (Some(t), Some(&who.user_id), Some(ReviewDecision::Approved)),
        E::Reject => (Some(t), Some(&who.user_id), Some(ReviewDecision::Rejected)),
        _ => (None, None, None),
    };
    diesel::update(analyses::table.find(&before.id))
        .set((
            analyses::status.eq(status),
            analyses::started_at.eq(started_at),
            analyses::submitted_at.eq(submitted_at),
            analyses::submitted_by.eq(submitted_by),
            analyses::reviewed_at.eq(reviewed_at),
            analyses::reviewed_by.eq(reviewed_by),
            analyses::review_decision.eq(decision),
            analyses::rejection_reason.eq(rejection_reason),
            analyses::updated_at.eq(t),
        ))
        .execute(conn)?;
    let after = find(conn, &before.id)?;
    if after.status != before.status {
        audit::record(
            conn,
            &who.actor,
            "update",
            "analysis",
            Some(after.id.as_str()),
            Some(before),
            Some(&after),
        )?;
    }
    Ok(after)
}

/// An analysis as lists show it: with its method's code, the version's name and number, and
/// the analyst's name.
#[derive(Debug, Clone)]
pub struct AnalysisRow {
    pub analysis: Analysis,
    pub code: String,
    pub version: MethodVersion,
    pub analyst: String,
    pub lab_code: String,
}

/// People's names by id (the few a page shows).
pub fn names(conn: &mut DbConn, ids: &[&UserId]) -> QueryResult<HashMap<UserId, String>> {
    Ok(users::table
        .filter(users::id.eq_any(ids.iter().map(|i| i.as_str())))
        .select((users::id, users::full_name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .map(|(id, name)| (UserId(id), name))
        .collect())
}

/// Completes analyses with their method, version, analyst name and sample code.
fn rows(conn: &mut DbConn, list: Vec<Analysis>) -> QueryResult<Vec<AnalysisRow>> {
    let versions: Vec<&str> = list.iter().map(|a| a.method_version_id.as_str()).collect();
    let meta: HashMap<String, (String, MethodVersion)> = method_versions::table
        .inner_join(methods::table.on(methods::id.eq(method_versions::method_id)))
        .filter(method_versions::id.eq_any(versions))
        .select((methods::code, MethodVersion::as_select()))
        .load::<(String, MethodVersion)>(conn)?
        .into_iter()
        .map(|(code, v)| (v.id.0.clone(), (code, v)))
        .collect();
    let people: Vec<&UserId> = list.iter().filter_map(|a| a.analyst_id.as_ref()).collect();
    let names = names(conn, &people)?;
    let sample_ids: Vec<&str> = list.iter().map(|a| a.sample_id.as_str()).collect();
    let codes: HashMap<String, String> = crate::db::schema::samples::table
        .filter(crate::db::schema::samples::id.eq_any(sample_ids))
        .select((
            crate::db::schema::samples::id,
            crate::db::schema::samples::lab_code,
        ))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(list
        .into_iter()
        .filter_map(|a| {
            let (code, version) = meta.get(a.method_version_id.as_str())?.clone();
            let analyst = a
                .analyst_id
                .as_ref()
                .and_then(|id| names.get(id).cloned())
                .unwrap_or_else(|| a.external_lab.clone().unwrap_or_default());
            let lab_code = codes.get(a.sample_id.as_str()).cloned().unwrap_or_default();
            Some(AnalysisRow {
                analysis: a,
                code,
                version,
                analyst,
                lab_code,
            })
        })
        .collect())
}

/// Every test of a sample, oldest first (retests after what they replace).
pub fn of_sample(conn: &mut DbConn, id: &SampleId) -> QueryResult<Vec<AnalysisRow>> {
    let list = analyses::table
        .filter(analyses::sample_id.eq(id))
        .order((analyses::created_at.asc(), analyses::id.asc()))
        .select(Analysis::as_select())
        .load(conn)?;
    rows(conn, list)
}

diesel::define_sql_function! {
    /// SQL `coalesce()` of a nullable text and a default.
    fn coalesce(x: diesel::sql_types::Nullable<diesel::sql_types::Text>, y: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// A test without a due date sorts after every dated one.
const NO_DUE: &str = "9999-12-31";

/// Where the next page of a worklist starts: the last row's due date and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueCursor {
    pub due: String,
    pub id: AnalysisId,
}

impl DueCursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.due, self.id)
    }

    pub fn decode(text: &str) -> Option<DueCursor> {
        let (due, id) = text.split_once('_')?;
        Some(DueCursor {
            due: due.to_string(),
            id: AnalysisId::parse(id)?,
        })
    }
}

/// "My tests": the analyst's tests still to do, the earliest due first (so overdue ones lead),
/// one page after `after`.
pub fn worklist(
    conn: &mut DbConn,
    analyst: &UserId,
    after: Option<&DueCursor>,
    page_size: i64,
) -> QueryResult<(Vec<AnalysisRow>, Option<DueCursor>)> {
    let key = coalesce(analyses::due_on, NO_DUE);
    let mut query = analyses::table
        .filter(analyses::analyst_id.eq(analyst))
        .filter(analyses::status.eq_any([AnalysisStatus::Assigned, AnalysisStatus::InProgress]))
        .select(Analysis::as_select())
        .order((key.asc(), analyses::id.asc()))
        .limit(page_size + 1)
        .into_boxed();
    if let Some(c) = after {
        query = query.filter(
            coalesce(analyses::due_on, NO_DUE)
                .gt(c.due.clone())
                .or(coalesce(analyses::due_on, NO_DUE)
                    .eq(c.due.clone())
                    .and(analyses::id.gt(c.id.clone()))),
        );
    }
    let mut list = query.load(conn)?;
    let next = if list.len() as i64 > page_size {
        list.truncate(page_size as usize);
        list.last().map(|a| DueCursor {
            due: a.due_on.clone().unwrap_or_else(|| NO_DUE.into()),
            id: a.id.clone(),
        })
    } else {
        None
    };
    Ok((rows(conn, list)?, next))
}

/// A method that may be assigned, with the analysts holding an authorization in force for it.
pub struct MethodChoice {
    pub method: Method,
    pub version: MethodVersion,
    pub analysts: Vec<(UserId, String)>,
}

/// The methods in use and, for each, who may be assigned it on `today`.
pub fn choices(conn: &mut DbConn, today: NaiveDate) -> QueryResult<Vec<MethodChoice>> {
    let day = iso(today);
    let authorized: Vec<(String, String, String)> = method_authorizations::table
        .inner_join(users::table.on(users::id.eq(method_authorizations::user_id)))
        .filter(method_authorizations::revoked_at.is_null())
        .filter(method_authorizations::granted_on.le(day.clone()))
        .filter(
            method_authorizations::expires_on
                .is_null()
                .or(method_authorizations::expires_on.ge(day)),
        )
        .filter(users::active.eq(true))
        .order(users::full_name.asc())
        .select((
            method_authorizations::method_id,
            users::id,
            users::full_name,
        ))
        .load(conn)?;
    Ok(method::in_use(conn)?
        .into_iter()
        .map(|(method, version)| MethodChoice {
            analysts: authorized
                .iter()
                .filter(|(m, _, _)| m == method.id.as_str())
                .map(|(_, id, name)| (UserId(id.clone()), name.clone()))
                .collect(),
            method,
            version,
        })
        .collect())
}

/// One method row of the assignment form.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct PickInput {
    pub method_id: String,
    /// Ticked: assign this method.
    pub pick: Option<String>,
    pub analyst_id: String,
}

/// The assignment form: methods with an analyst each, and one due date.
#[derive(Debug, Default, Clone)]
pub struct AssignInput {
    pub due_on: String,
    pub picks: Vec<PickInput>,
}

/// Whether tests may be assigned to a sample in this status.
pub fn assignable(status: SampleStatus) -> bool {
    matches!(
        status,
        SampleStatus::Received | SampleStatus::InTesting | SampleStatus::AwaitingReport
    )
}

/// The authorization in force allowing `analyst` to perform `method` on `today`, or the
/// reason (beside `field`) why they may not.
fn authorization_for(
    conn: &mut DbConn,
    analyst: &UserId,
    method_id: &MethodId,
    today: NaiveDate,
    field: &str,
) -> Result<AuthorizationId, AppError> {
    personnel::active_authorization(conn, analyst, method_id, today)?
        .map(|a| a.id)
        .ok_or_else(|| AppError::invalid(field, "analyses.not_authorized"))
}

/// Inserts one assigned test citing the method version in force and the authorization.
#[allow(clippy::too_many_arguments)]
fn insert(
    conn: &mut DbConn,
    who: &Handler,
    sample_id: &SampleId,
    method_id: &MethodId,
    analyst: &UserId,
    authorization: &AuthorizationId,
    due_on: Option<&str>,
    retest_of: Option<&AnalysisId>,
) -> Result<Analysis, AppError> {
    let (_, version) = method::find_current(conn, method_id)?;
    let id = AnalysisId::new_v7();
    let t = now();
    create(
        conn,
        who,
        NewAnalysis {
            id: &id,
            sample_id,
            method_id,
            method_version_id: &version.id,
            analyst_id: Some(analyst),
            authorization_id: Some(authorization),
            assigned_by: &who.user_id,
            assigned_at: t,
            due_on,
            status: AnalysisStatus::Assigned,
            retest_of_id: retest_of,
            is_external: false,
            external_lab: None,
            external_accreditation: None,
            external_report_ref: None,
            referral_event_id: None,
            return_event_id: None,
            created_at: t,
            updated_at: t,
        },
    )
}

/// Writes a new analysis row and its audit entry.
fn create(conn: &mut DbConn, who: &Handler, row: NewAnalysis) -> Result<Analysis, AppError> {
    diesel::insert_into(analyses::table)
        .values(&row)
        .execute(conn)?;
    let created = find(conn, row.id)?;
    audit::record(
        conn,
        &who.actor,
        "create",
        "analysis",
        Some(row.id.as_str()),
        None::<&()>,
        Some(&created),
    )?;
    Ok(created)
}

/// Assigns the ticked methods to their analysts on every sample of `sample_ids` that can take
/// tests. Each analyst must hold an authorization in force for the method (refused beside the
/// row otherwise); a method already open on a sample is refused too. Returns how many tests
/// were assigned.
pub fn assign(
    conn: &mut DbConn,
    who: &Handler,
    sample_ids: &[SampleId],
    input: &AssignInput,
    today: NaiveDate,
) -> Result<usize, AppError> {
    let mut errors = FieldErrors::default();
    let due = required_date(&mut errors, "due_on", &input.due_on);
    if due.is_some_and(|d| d < today) {
        errors.add("due_on", "analyses.due_in_past");
    }
    let picked: Vec<(usize, &PickInput)> = input
        .picks
        .iter()
        .enumerate()
        .filter(|(_, p)| p.pick.is_some())
        .collect();
    if picked.is_empty() {
        errors.add("picks", "analyses.pick_one");
    }
    let mut plan = Vec::new();
    for (i, p) in &picked {
        let field = format!("m{i}_analyst_id");
        let Some(method_id) = MethodId::parse(&p.method_id) else {
            errors.add(&field, "validation.choose_one");
            continue;
        };
        let Some(analyst) = UserId::parse(&p.analyst_id) else {
            errors.add(&field, "analyses.choose_analyst");
            continue;
        };
        match authorization_for(conn, &analyst, &method_id, today, &field) {
            Ok(auth) => plan.push((*i, method_id, analyst, auth)),
            Err(AppError::Invalid(e)) => {
                for (f, k) in e.fields() {
                    errors.add(f, k);
                }
            }
            Err(e) => return Err(e),
        }
    }
    errors.into_result()?;
    let due = due.map(iso);
    write_tx(conn, |conn| {
        let mut count = 0;
        let mut errors = FieldErrors::default();
        let mut ready = 0;
        for sample_id in sample_ids {
            let sample: Sample = sample::state::lock_for_update(conn, sample_id)?;
            if !assignable(sample.status) {
                continue;
            }
            ready += 1;
            for (i, method_id, analyst, auth) in &plan {
                let (m, _) = method::find_current(conn, method_id)?;
                if m.is_retired() {
                    errors.add(&format!("m{i}_analyst_id"), "methods.retired_no_edit");
                    continue;
                }
                if open_on(conn, sample_id, method_id)? {
                    errors.add(&format!("m{i}_analyst_id"), "analyses.already_assigned");
                    continue;
                }
                insert(
                    conn,
                    who,
                    sample_id,
                    method_id,
                    analyst,
                    auth,
                    due.as_deref(),
                    None,
                )?;
                count += 1;
            }
        }
        if ready == 0 {
            errors.add("picks", "analyses.sample_not_ready");
        }
        errors.into_result()?;
        Ok(count)
    })
}

/// Whether `method` is on the sample already and not rejected or cancelled.
fn open_on(conn: &mut DbConn, sample_id: &SampleId, method_id: &MethodId) -> QueryResult<bool> {
    let n: i64 = analyses::table
        .filter(analyses::sample_id.eq(sample_id))
        .filter(analyses::method_id.eq(method_id))
        .filter(analyses::status.ne_all([AnalysisStatus::Rejected, AnalysisStatus::Cancelled]))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The samples of a seizure that can take tests now, by code.
pub fn assignable_of_seizure(conn: &mut DbConn, id: &SeizureId) -> QueryResult<Vec<Sample>> {
    Ok(sample::of_seizure(conn, id)?
        .into_iter()
        .filter(|s| assignable(s.status))
        .collect())
}
