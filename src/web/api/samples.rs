//! A sample's status, holder and place, and its custody chain page by page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::access::Permission;
use crate::custody;
use crate::sample::{self, holding};
use crate::web::api::problem::ApiError;
use crate::web::api::{utc, Caller, PageQuery};
use crate::web::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SampleStatus {
    #[schema(example = "LAB-2026-000123")]
    pub lab_code: String,
    pub seizure_reference: String,
    /// `sample`, `aliquot`, `counter_sample`, …
    pub kind: String,
    pub description: String,
    /// Where the sample is in its life: `registered`, `received`, `in_analysis`, `reported`, …
    pub status: String,
    pub priority: String,
    pub seal_number: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
    #[schema(format = DateTime)]
    pub received_at: Option<String>,
    #[schema(format = DateTime)]
    pub reported_at: Option<String>,
    /// Who answers for it now: a laboratory user's full name or an outside party.
    pub holder: Option<String>,
    /// `at_seizure`, `stored`, `in_hand`, `external`, `owner` or `destroyed`.
    pub place_kind: String,
    /// The place's name (a storage path, a laboratory, the owner), empty when it has none.
    pub place: String,
}

/// One custody event.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustodyEvent {
    /// Position in the sample's chain, from 1.
    pub seq: i64,
    /// `collected`, `sealed`, `received`, `transferred`, `stored`, …
    pub kind: String,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    #[schema(format = DateTime)]
    pub recorded_at: String,
    /// The full name of the user who recorded it.
    pub recorded_by: String,
    pub from_party: Option<String>,
    pub to_party: Option<String>,
    pub place: Option<String>,
    pub seal_number: Option<String>,
    pub seal_intact: Option<bool>,
    pub new_seal_number: Option<String>,
    pub quantity: Option<f64>,
    pub quantity_unit: Option<String>,
    pub reason: Option<String>,
    pub external_lab: Option<String>,
    /// The event's link in the hash chain (SHA-256, hex).
    pub hash: String,
    pub prev_hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustodyPage {
    pub lab_code: String,
    pub events: Vec<CustodyEvent>,
    /// The `after` of the next page; null on the last page.
    pub next: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::from_status(StatusCode::NOT_FOUND, None)
}

/// A sample's status, holder and place.
#[utoipa::path(
    get,
    path = "/api/v1/samples/{lab_code}",
    operation_id = "getSample",
    tag = "samples",
    params(("lab_code" = String, Path, description = "The sample's lab code", example = "LAB-2026-000001")),
    responses((status = 200, description = "The sample now", body = SampleStatus)),
)]
pub async fn show(
    caller: Caller,
    state: web::Data<AppState>,
    lab_code: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::ViewCases)?;
    let code = lab_code.into_inner();
    let found = state
        .db(move |conn| {
            let Some(s) = sample::find_by_code(conn, &code)? else {
                return Ok(None);
            };
            let seizure = crate::seizure::find(conn, &s.seizure_id)?;
            let events = custody::for_sample(conn, &s.id)?;
            let named = holding::describe(conn, &holding::Holding::of(&events))?;
            Ok(Some((s, seizure.reference, named)))
        })
        .await?;
    let (s, seizure_reference, named) = found.ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(SampleStatus {
        lab_code: s.lab_code,
        seizure_reference,
        kind: s.kind.as_str().into(),
        description: s.description,
        status: s.status.as_str().into(),
        priority: s.priority.as_str().into(),
        seal_number: s.seal_number,
        due_date: s.due_date,
        received_at: s.received_at.as_ref().map(utc),
        reported_at: s.reported_at.as_ref().map(utc),
        holder: named.holder,
        place_kind: named.place_kind.into(),
        place: named.place,
    }))
}

/// A sample's custody events in chain order, a page at a time.
#[utoipa::path(
    get,
    path = "/api/v1/samples/{lab_code}/custody",
    operation_id = "listCustody",
    tag = "samples",
    params(("lab_code" = String, Path, description = "The sample's lab code", example = "LAB-2026-000001"), PageQuery),
    responses((status = 200, description = "One page of events, oldest first", body = CustodyPage)),
)]
pub async fn custody(
    caller: Caller,
    state: web::Data<AppState>,
    lab_code: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::ViewCases)?;
    let limit = query.limit()?;
    let after = query.cursor(|t| t.parse::<i64>().ok().filter(|n| *n >= 0))?;
    let code = lab_code.into_inner();
    let found = state
        .db(move |conn| {
            let Some(s) = sample::find_by_code(conn, &code)? else {
                return Ok(None);
            };
            let (events, next) = custody::page_of(conn, &s.id, after, limit)?;
            let ids: Vec<_> = events.iter().map(|e| e.recorded_by.clone()).collect();
            let names = crate::user::names_of(conn, &ids)?;
            Ok(Some((s.lab_code, events, next, names)))
        })
        .await?;
    let (lab_code, events, next, names) = found.ok_or_else(not_found)?;
    let events = events
        .into_iter()
        .map(|e| CustodyEvent {
            seq: e.seq,
            occurred_at: utc(&e.occurred_at),
            recorded_at: utc(&e.recorded_at),
            recorded_by: names.get(&e.recorded_by).cloned().unwrap_or_default(),
            kind: e.kind,
            from_party: e.from_party,
            to_party: e.to_party,
            place: e.place,
            seal_number: e.seal_number,
            seal_intact: e.seal_intact,
            new_seal_number: e.new_seal_number,
            quantity: e.quantity,
            quantity_unit: e.quantity_unit,
            reason: e.reason,
            external_lab: e.external_lab,
            hash: e.hash,
            prev_hash: e.prev_hash,
        })
        .collect();
    Ok(HttpResponse::Ok().json(CustodyPage {
        lab_code,
        events,
        next: next.map(|n| n.to_string()),
    }))
}
