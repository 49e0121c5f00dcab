//! Sample pages: the list, a sample with its tree and custody timeline, receipt at the lab,
//! custody events and sub-samples.

use std::collections::HashMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::custody::{self, CustodyEvent, EventKind};
use crate::db::DbConn;
use crate::error::AppError;
use crate::ids::SampleId;
use crate::sample::movement::{self, EventInput};
use crate::sample::receipt::{self, ReceiptInput};
use crate::sample::{
    self, Handler, Priority, Sample, SampleFilter, SampleKind, SampleStatus, SubsampleInput, UNITS,
};
use crate::seizure::{self, Seizure};
use crate::user::{self, Role, User};
use crate::validation::{date_range, local_input_value, FieldErrors};
use crate::web::context::Ctx;
use crate::web::forms::list_link;
use crate::web::session::{self, CsrfForm};
use crate::web::{render_status, see_other, status_for, AppState};

pub const PAGE_SIZE: i64 = 50;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/samples", web::get().to(list))
        .route("/receive", web::get().to(scan))
        .route("/samples/{id}", web::get().to(show))
        .route("/samples/{id}/receive", web::get().to(receive_form))
        .route("/samples/{id}/receive", web::post().to(receive))
        .route("/samples/{id}/custody", web::get().to(event_form))
        .route("/samples/{id}/custody", web::post().to(record_event))
        .route("/samples/{id}/subsamples", web::get().to(subsample_form))
        .route("/samples/{id}/subsamples", web::post().to(create_subsample));
}

pub fn parse_id(raw: &str) -> Result<SampleId, AppError> {
    uuid::Uuid::parse_str(raw).map_err(|_| AppError::NotFound)?;
    Ok(SampleId(raw.to_string()))
}

// ---------------------------------------------------------------- list

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub office: String,
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub overdue: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub after: String,
}

impl ListQuery {
    fn link(&self, after: Option<&sample::Cursor>) -> String {
        let filters = [
            ("status", self.status.as_str()),
            ("office", self.office.as_str()),
            ("priority", self.priority.as_str()),
            ("overdue", self.overdue.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ];
        list_link("/samples", &filters, after.map(sample::Cursor::encode))
    }
}

#[derive(Template)]
#[template(path = "samples/list.html")]
struct ListPage {
    ctx: Ctx,
    query: ListQuery,
    errors: FieldErrors,
    rows: Vec<sample::SampleRow>,
    offices: Vec<String>,
    statuses: &'static [SampleStatus],
    priorities: &'static [Priority],
    today: chrono::NaiveDate,
    next: Option<String>,
    newest: String,
    first_page: bool,
}

fn today(ctx: &Ctx) -> chrono::NaiveDate {
    chrono::Utc::now().with_timezone(&ctx.tz).date_naive()
}

async fn list(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewCases)?;
    let query = query.into_inner();
    let mut errors = FieldErrors::default();
    let (from, until) = date_range(&query.from, &query.to, ctx.tz, &mut errors);
    let status = match query.status.as_str() {
        "" => None,
        s => SampleStatus::parse(s).or_else(|| {
            errors.add("status", "validation.choose_one");
            None
        }),
    };
    let priority = match query.priority.as_str() {
        "" => None,
        p => Priority::parse(p).or_else(|| {
            errors.add("priority", "validation.choose_one");
            None
        }),
    };
    let today = today(&ctx);
    let filter = SampleFilter {
        status,
        customs_office: crate::validation::opt(&query.office),
        from,
        until,
        priority,
        overdue_before: (!query.overdue.is_empty()).then(|| today.format("%Y-%m-%d").to_string()),
    };
    let cursor = sample::Cursor::decode(&query.after);
    let first_page = cursor.is_none();
    let valid = errors.is_empty();
    let (rows, next, offices) = state
        .db(move |conn| {
            let (rows, next) = if valid {
                sample::list(conn, &filter, cursor.as_ref(), PAGE_SIZE)?
            } else {
                (Vec::new(), None)
            };
            Ok((rows, next, seizure::offices(conn)?))
        })
        .await?;
    let next = next.map(|c| query.link(Some(&c)));
    let newest = query.link(None);
    let code = status_for(&errors);
    render_status(
        &ListPage {
            ctx,
            query,
            errors,
            rows,
            offices,
            statuses: SampleStatus::ALL,
            priorities: Priority::ALL,
            today,
            next,
            newest,
            first_page,
        },
        code,
    )
}

// ---------------------------------------------------------------- sample page

/// One custody event as the timeline shows it.
pub struct EventView {
    pub event: CustodyEvent,
    pub recorded_by: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub location: Option<String>,
    pub related_code: Option<String>,
}

/// The full names of the users the events name (recorder, giver, receiver), and only them.
fn names(conn: &mut DbConn, events: &[CustodyEvent]) -> Result<HashMap<String, String>, AppError> {
    let mut ids: Vec<crate::ids::UserId> = events
        .iter()
        .flat_map(|e| {
            [
                Some(&e.recorded_by),
                e.from_user_id.as_ref(),
                e.to_user_id.as_ref(),
            ]
        })
        .flatten()
        .cloned()
        .collect();
    ids.sort();
    ids.dedup();
    Ok(user::names_of(conn, &ids)?
        .into_iter()
        .map(|(id, name)| (id.0, name))
        .collect())
}

/// The paths of the sample's current location and of the places its events name.
fn location_paths(
    conn: &mut DbConn,
    sample: &Sample,
    events: &[CustodyEvent],
) -> Result<HashMap<String, String>, AppError> {
    let mut ids: Vec<crate::ids::StorageLocationId> = events
        .iter()
        .filter_map(|e| e.storage_location_id.clone())
        .chain(sample.storage_location_id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    Ok(crate::storage::paths_of(conn, &ids)?
        .into_iter()
        .map(|(id, path)| (id.0, path))
        .collect())
}

/// The sample's custody events with names, places and related lab codes resolved, and the
/// path of where the sample is now. `family` is every sample of the seizure (for related codes).
pub fn timeline(
    conn: &mut DbConn,
    sample: &Sample,
    family: &[Sample],
) -> Result<(Vec<EventView>, Option<String>), AppError> {
    let events = custody::for_sample(conn, &sample.id)?;
    let names = names(conn, &events)?;
    let places = location_paths(conn, sample, &events)?;
    let codes: HashMap<&str, &str> = family
        .iter()
        .map(|s| (s.id.as_str(), s.lab_code.as_str()))
        .collect();
    let name = |id: &Option<crate::ids::UserId>| id.as_ref().and_then(|i| names.get(&i.0).cloned());
    let views = events
        .into_iter()
        .map(|e| EventView {
            recorded_by: names.get(&e.recorded_by.0).cloned().unwrap_or_default(),
            from: name(&e.from_user_id).or_else(|| e.from_party.clone()),
            to: name(&e.to_user_id).or_else(|| e.to_party.clone()),
            location: e
                .storage_location_id
                .as_ref()
                .and_then(|l| places.get(&l.0).cloned()),
            related_code: e
                .related_sample_id
                .as_ref()
                .and_then(|r| codes.get(r.as_str()).map(|c| c.to_string())),
            event: e,
        })
        .collect();
    let location = sample
        .storage_location_id
        .as_ref()
        .and_then(|l| places.get(l.as_str()).cloned());
    Ok((views, location))
}

#[derive(Template)]
#[template(path = "samples/show.html")]
struct ShowPage {
    ctx: Ctx,
    sample: Sample,
    seizure: Seizure,
    parent: Option<Sample>,
    children: Vec<(usize, Sample)>,
    events: Vec<EventView>,
    location: Option<String>,
    chain_ok: bool,
    kinds: Vec<EventKind>,
    can_handle: bool,
    overdue: bool,
}

async fn show(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewCases)?;
    let id = parse_id(&path)?;
    let (sample, seizure, parent, children, events, location) = state
        .db(move |conn| {
            let sample = sample::find(conn, &id)?;
            let seizure = seizure::find(conn, &sample.seizure_id)?;
            // One read of the seizure's samples gives the parent, the tree and related codes.
            let family = sample::of_seizure(conn, &sample.seizure_id)?;
            let parent = family
                .iter()
                .find(|s| Some(&s.id) == sample.parent_id.as_ref())
                .cloned();
            let children = sample::tree(&family, &sample);
            let (events, location) = timeline(conn, &sample, &family)?;
            Ok((sample, seizure, parent, children, events, location))
        })
        .await?;
    let raw: Vec<CustodyEvent> = events.iter().map(|v| v.event.clone()).collect();
    let chain_ok = custody::verify_chain(&raw).is_none();
    let can_handle = ctx.can(Permission::HandleSamples);
    render_status(
        &ShowPage {
            kinds: movement::available(sample.status()),
            overdue: sample.is_overdue(today(&ctx)),
            can_handle,
            ctx,
            sample,
            seizure,
            parent,
            children,
            events,
            location,
            chain_ok,
        },
        StatusCode::OK,
    )
}

// ---------------------------------------------------------------- receipt

#[derive(Deserialize)]
struct ScanQuery {
    #[serde(default)]
    code: String,
}

#[derive(Template)]
#[template(path = "samples/scan.html")]
struct ScanPage {
    ctx: Ctx,
    code: String,
    errors: FieldErrors,
    waiting: Vec<sample::SampleRow>,
}

/// The receipt counter: scan or type a lab code or seal number, land on the receipt form.
async fn scan(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<ScanQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::HandleSamples)?;
    let code = query.into_inner().code.trim().to_string();
    let mut errors = FieldErrors::default();
    let q = code.clone();
    let (hits, waiting) = state
        .db(move |conn| {
            let hits = if q.is_empty() {
                Vec::new()
            } else {
                crate::search::search(conn, &q)?
            };
            let filter = SampleFilter {
                status: Some(SampleStatus::Registered),
                ..Default::default()
            };
            Ok((hits, sample::list(conn, &filter, None, 20)?.0))
        })
        .await?;
    if !code.is_empty() {
        let samples: Vec<&Sample> = hits
            .iter()
            .filter_map(|h| match h {
                crate::search::Hit::Sample(s) => Some(s.as_ref()),
                _ => None,
            })
            .collect();
        match samples.as_slice() {
            [one] => return Ok(see_other(&format!("/samples/{}/receive", one.id))),
            [] => errors.add("code", "receipt.not_found"),
            _ => errors.add("code", "receipt.ambiguous"),
        }
    }
    let status = status_for(&errors);
    render_status(
        &ScanPage {
            ctx,
            code,
            errors,
            waiting,
        },
        status,
    )
}

#[derive(Template)]
#[template(path = "samples/receive.html")]
struct ReceivePage {
    ctx: Ctx,
    sample: Sample,
    seizure: Seizure,
    form: ReceiptInput,
    errors: FieldErrors,
    locations: Vec<(String, String)>,
    units: &'static [&'static str],
}

pub fn location_options(conn: &mut DbConn) -> Result<Vec<(String, String)>, AppError> {
    Ok(crate::storage::active_options(conn)?
        .into_iter()
        .map(|(id, path)| (id.0, path))
        .collect())
}

async fn load_for_receipt(
    state: &AppState,
    id: SampleId,
) -> Result<(Sample, Seizure, Vec<(String, String)>), AppError> {
    state
        .db(move |conn| {
            let sample = sample::find(conn, &id)?;
            let seizure = seizure::find(conn, &sample.seizure_id)?;
            Ok((sample, seizure, location_options(conn)?))
        })
        .await
}

async fn receive_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::HandleSamples)?;
    let (sample, seizure, locations) = load_for_receipt(&state, parse_id(&path)?).await?;
    if sample.status() != SampleStatus::Registered {
        return Ok(see_other(&format!("/samples/{}", sample.id)));
    }
    let form = ReceiptInput {
        received_at: local_input_value(&crate::db::now(), ctx.tz),
        quantity_unit: sample.quantity_unit.clone().unwrap_or_default(),
        delivered_by: seizure.seizing_officer.clone(),
        decision: "accept".into(),
        ..Default::default()
    };
    render_status(
        &ReceivePage {
            ctx,
            sample,
            seizure,
            form,
            errors: FieldErrors::default(),
            locations,
            units: UNITS,
        },
        StatusCode::OK,
    )
}

async fn receive(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<ReceiptInput>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Permission::HandleSamples)?;
    let id = parse_id(&path)?;
    let actor = ctx.actor()?;
    let (input, sid, uid, tz) = (form.clone(), id.clone(), user.id.clone(), ctx.tz);
    let result = state
        .db(move |conn| {
            let who = Handler {
                actor: &actor,
                user_id: &uid,
            };
            receipt::receive(conn, &who, &sid, &input, tz)
        })
        .await;
    match result {
        Ok(s) => {
            let key = if s.status() == SampleStatus::Rejected {
                "receipt.rejected"
            } else {
                "receipt.received"
            };
            session::push_flash(&session, "ok", ctx.t1(key, "code", &s.lab_code));
            Ok(see_other(&format!("/samples/{}", s.id)))
        }
        Err(AppError::Invalid(errors)) => {
            let (sample, seizure, locations) = load_for_receipt(&state, id).await?;
            render_status(
                &ReceivePage {
                    ctx,
                    sample,
                    seizure,
                    form,
                    errors,
                    locations,
                    units: UNITS,
                },
                StatusCode::BAD_REQUEST,
            )
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- custody events

#[derive(Deserialize)]
struct KindQuery {
    #[serde(default)]
    kind: String,
}

#[derive(Template)]
#[template(path = "samples/event.html")]
struct EventPage {
    ctx: Ctx,
    sample: Sample,
    kind: EventKind,
    fields: &'static [&'static str],
    form: EventInput,
    errors: FieldErrors,
    locations: Vec<(String, String)>,
    colleagues: Vec<User>,
    units: &'static [&'static str],
}

impl EventPage {
    fn asks(&self, field: &str) -> bool {
        self.fields.contains(&field)
    }
}

async fn load_for_event(
    state: &AppState,
    id: SampleId,
    me: crate::ids::UserId,
) -> Result<(Sample, Vec<(String, String)>, Vec<User>), AppError> {
    state
        .db(move |conn| {
            let sample = sample::find(conn, &id)?;
            let colleagues = user::list(conn)?
                .into_iter()
                .filter(|u| {
                    u.active
                        && u.id != me
                        && matches!(u.role(), Role::Technician | Role::Supervisor)
                })
                .collect();
            Ok((sample, location_options(conn)?, colleagues))
        })
        .await
}

async fn event_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<KindQuery>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Permission::HandleSamples)?;
    let kind = EventKind::parse(&query.kind)
        .filter(|k| movement::FORM_KINDS.contains(k))
        .ok_or(AppError::NotFound)?;
    let (sample, locations, colleagues) =
        load_for_event(&state, parse_id(&path)?, user.id.clone()).await?;
    if !movement::allowed(kind, sample.status()) {
        return Err(AppError::Forbidden("custody.not_allowed_now"));
    }
    let form = EventInput {
        kind: kind.as_str().into(),
        occurred_at: local_input_value(&crate::db::now(), ctx.tz),
        seal_number: sample.seal_number.clone().unwrap_or_default(),
        quantity_unit: sample.quantity_unit.clone().unwrap_or_default(),
        ..Default::default()
    };
    render_status(
        &EventPage {
            ctx,
            sample,
            kind,
            fields: movement::fields(kind),
            form,
            errors: FieldErrors::default(),
            locations,
            colleagues,
            units: UNITS,
        },
        StatusCode::OK,
    )
}

async fn record_event(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<EventInput>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Permission::HandleSamples)?;
    let id = parse_id(&path)?;
    let actor = ctx.actor()?;
    let (input, sid, uid, tz) = (form.clone(), id.clone(), user.id.clone(), ctx.tz);
    let result = state
        .db(move |conn| {
            let who = Handler {
                actor: &actor,
                user_id: &uid,
            };
            movement::record(conn, &who, &sid, &input, tz)
        })
        .await;
    match result {
        Ok(event) => {
            let label = ctx.t(format!("custody.kind.{}", event.kind));
            session::push_flash(&session, "ok", ctx.t1("custody.recorded", "event", label));
            Ok(see_other(&format!("/samples/{id}")))
        }
        Err(AppError::Invalid(errors)) => {
            let kind = EventKind::parse(&form.kind)
                .filter(|k| movement::FORM_KINDS.contains(k))
                .ok_or(AppError::BadRequest("kind".into()))?;
            let (sample, locations, colleagues) =
                load_for_event(&state, id, user.id.clone()).await?;
            render_status(
                &EventPage {
                    ctx,
                    sample,
                    kind,
                    fields: movement::fields(kind),
                    form: EventInput {
                        to_password: String::new(),
                        ..form
                    },
                    errors,
                    locations,
                    colleagues,
                    units: UNITS,
                },
                StatusCode::BAD_REQUEST,
            )
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- sub-samples

#[derive(Template)]
#[template(path = "samples/subsample.html")]
struct SubsamplePage {
    ctx: Ctx,
    sample: Sample,
    form: SubsampleInput,
    errors: FieldErrors,
    kinds: Vec<SampleKind>,
    units: &'static [&'static str],
}

fn subsample_kinds() -> Vec<SampleKind> {
    SampleKind::ALL
        .iter()
        .copied()
        .filter(|k| *k != SampleKind::Sample)
        .collect()
}

async fn subsample_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::HandleSamples)?;
    let id = parse_id(&path)?;
    let sample = state.db(move |conn| Ok(sample::find(conn, &id)?)).await?;
    if !sample.status().in_lab() {
        return Err(AppError::Forbidden("custody.not_allowed_now"));
    }
    let form = SubsampleInput {
        kind: SampleKind::Aliquot.as_str().into(),
        description: sample.description.clone(),
        quantity_unit: sample.quantity_unit.clone().unwrap_or_default(),
        ..Default::default()
    };
    render_status(
        &SubsamplePage {
            ctx,
            sample,
            form,
            errors: FieldErrors::default(),
            kinds: subsample_kinds(),
            units: UNITS,
        },
        StatusCode::OK,
    )
}

async fn create_subsample(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<SubsampleInput>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Permission::HandleSamples)?;
    let id = parse_id(&path)?;
    let actor = ctx.actor()?;
    let (input, sid, uid) = (form.clone(), id.clone(), user.id.clone());
    let result = state
        .db(move |conn| {
            let who = Handler {
                actor: &actor,
                user_id: &uid,
            };
            sample::create_subsample(conn, &who, &sid, &input)
        })
        .await;
    match result {
        Ok(child) => {
            session::push_flash(
                &session,
                "ok",
                ctx.t1("samples.subsample_created", "code", &child.lab_code),
            );
            Ok(see_other(&format!("/samples/{}", child.id)))
        }
        Err(AppError::Invalid(errors)) => {
            let sample = state.db(move |conn| Ok(sample::find(conn, &id)?)).await?;
            render_status(
                &SubsamplePage {
                    ctx,
                    sample,
                    form,
                    errors,
                    kinds: subsample_kinds(),
                    units: UNITS,
                },
                StatusCode::BAD_REQUEST,
            )
        }
        Err(e) => Err(e),
    }
}
