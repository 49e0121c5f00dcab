//! Sample pages: the list, a sample with its tree and custody timeline, receipt at the lab,
//! custody events and sub-samples.

use std::collections::HashMap;

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::attachment::{self, Owner};
use crate::custody::{self, CustodyEvent, EventKind};
use crate::db::DbConn;
use crate::error::AppError;
use crate::ids::SampleId;
use crate::keyset::Position;
use crate::sample::holding::{self, Authority, Holding};
use crate::sample::movement::{self, EventInput, Proofs};
use crate::sample::receipt::{self, PastReceipt, ReceiptInput, SealCheck};
use crate::sample::{
    self, Priority, Sample, SampleFilter, SampleKind, SampleSort, SampleStatus, SplitPlan,
    SubsampleInput, UNITS,
};
use crate::seizure::{self, Seizure};
use crate::user::{self, Role, User};
use crate::validation::{date_range, local_input_value, FieldErrors};
use crate::web::attachments::AttachmentsView;
use crate::web::context::Ctx;
use crate::web::forms::Pager;
use crate::web::session::CsrfForm;
use crate::web::{done, invalid, render_status, see_other, status_for, AppState, Submitted};

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
    /// Only samples received with an exception.
    #[serde(default)]
    pub exceptions: String,
    /// Only samples whose work is not over.
    #[serde(default)]
    pub open: String,
    /// Only samples the signed-in user holds now.
    #[serde(default)]
    pub held: String,
    /// Only samples of seizures the signed-in user registered.
    #[serde(default)]
    pub seized: String,
    /// Lab code, seal or seizure reference, from its start.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub after: String,
}

impl ListQuery {
    /// The filters as they travel in links (the pager's, the tabs', the home page's).
    fn filters(&self) -> [(&'static str, &str); 12] {
        [
            ("status", self.status.as_str()),
            ("office", self.office.as_str()),
            ("priority", self.priority.as_str()),
            ("overdue", self.overdue.as_str()),
            ("exceptions", self.exceptions.as_str()),
            ("open", self.open.as_str()),
            ("held", self.held.as_str()),
            ("seized", self.seized.as_str()),
            ("q", self.q.as_str()),
            ("sort", self.sort.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ]
    }

    /// The list these filters show, with only the filters that are set.
    pub fn href(&self) -> String {
        let set: Vec<(&str, &str)> = self
            .filters()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        match serde_urlencoded::to_string(set).unwrap_or_default() {
            q if q.is_empty() => "/samples".to_string(),
            q => format!("/samples?{q}"),
        }
    }

    /// What the list selects; a value it cannot read is an error on its field.
    pub fn filter(&self, ctx: &Ctx, errors: &mut FieldErrors) -> Result<SampleFilter, AppError> {
        let (from, until) = date_range(&self.from, &self.to, ctx.tz, errors);
        let mut choice = |field: &str, text: &str| {
            if !text.is_empty() {
                errors.add(field, "validation.choose_one");
            }
        };
        let status = SampleStatus::parse(&self.status);
        if status.is_none() {
            choice("status", &self.status);
        }
        let priority = Priority::parse(&self.priority);
        if priority.is_none() {
            choice("priority", &self.priority);
        }
        let sort = SampleSort::parse(&self.sort).unwrap_or_else(|| {
            choice("sort", &self.sort);
            SampleSort::Newest
        });
        let me = || ctx.user().map(|u| u.id.clone());
        Ok(SampleFilter {
            status,
            customs_office: crate::validation::opt(&self.office),
            from,
            until,
            priority,
            overdue_before: (!self.overdue.is_empty())
                .then(|| ctx.today().format("%Y-%m-%d").to_string()),
            exceptions: !self.exceptions.is_empty(),
            open: !self.open.is_empty(),
            holder: if self.held.is_empty() {
                None
            } else {
                Some(me()?)
            },
            seized_by: if self.seized.is_empty() {
                None
            } else {
                Some(me()?)
            },
            text: crate::validation::opt(self.q.trim()),
            sort,
        })
    }
}

/// A status tab over the sample list: the list with that status, and how many it holds.
pub struct Tab {
    /// The status, or `None` for every status.
    pub status: Option<SampleStatus>,
    pub href: String,
    pub count: i64,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "samples/list.html")]
struct ListPage {
    ctx: Ctx,
    query: ListQuery,
    errors: FieldErrors,
    rows: Vec<sample::SampleRow>,
    offices: Vec<String>,
    priorities: &'static [Priority],
    sorts: [SampleSort; 3],
    tabs: Vec<Tab>,
    today: chrono::NaiveDate,
    pager: Pager,
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
    let filter = query.filter(&ctx, &mut errors)?;
    let cursor = sample::Cursor::decode(&query.after, filter.sort);
    let first_page = cursor.is_none();
    let valid = errors.is_empty();
    let db_filter = filter.clone();
    let (rows, next, offices, counts, from_here) = state
        .db(move |conn| {
            let filter = db_filter;
            let (rows, next, counts, from_here) = if valid {
                let (rows, next) = sample::list(conn, &filter, cursor.as_ref(), PAGE_SIZE)?;
                let counts = sample::count_by_status(conn, &filter)?;
                let from_here = match &cursor {
                    Some(c) => Some(sample::count_from(conn, &filter, Some(c))?),
                    None => None,
                };
                (rows, next, counts, from_here)
            } else {
                (Vec::new(), None, Vec::new(), None)
            };
            Ok((rows, next, seizure::offices(conn)?, counts, from_here))
        })
        .await?;
    let tab = |status: Option<SampleStatus>, count: i64| Tab {
        status,
        href: ListQuery {
            status: status.map_or("", |s| s.as_str()).to_string(),
            after: String::new(),
            ..query.clone()
        }
        .href(),
        count,
        active: status == filter.status,
    };
    let all: i64 = counts.iter().map(|(_, n)| n).sum();
    let total = match filter.status {
        Some(s) => counts.iter().find(|(c, _)| *c == s).map_or(0, |(_, n)| *n),
        None => all,
    };
    let mut tabs = vec![tab(None, all)];
    tabs.extend(
        counts
            .iter()
            .filter(|(s, n)| *n > 0 || Some(*s) == filter.status)
            .map(|(s, n)| tab(Some(*s), *n)),
    );
    let next = next.map(|c| c.encode());
    let pager = match filter.sort {
        SampleSort::Newest => {
            Pager::after_key("/samples", &query.filters(), first_page, next).newest_first()
        }
        _ => Pager::after_key("/samples", &query.filters(), first_page, next),
    }
    .with_position(Position::new(total, from_here.unwrap_or(total), rows.len()));
    let code = status_for(&errors);
    let today = today(&ctx);
    render_status(
        &ListPage {
            ctx,
            query,
            errors,
            rows,
            offices,
            priorities: Priority::ALL,
            sorts: SampleSort::ALL,
            tabs,
            today,
            pager,
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

/// The sample's custody events with names, places and related lab codes resolved. `family`
/// is every sample of the seizure (for related codes).
pub fn timeline(
    conn: &mut DbConn,
    sample: &Sample,
    family: &[Sample],
) -> Result<Vec<EventView>, AppError> {
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
    Ok(views)
}

/// A sample's custody now, as its pages show it.
pub struct HoldingView {
    /// The holder's name: a user's full name, or the outside party's as recorded.
    pub holder: Option<String>,
    /// The i18n key saying where the sample is, with `%{place}` filled by `place`.
    pub place_key: String,
    pub place: String,
    pub since: Option<chrono::NaiveDateTime>,
    /// What is left of it, when known.
    pub left_value: Option<f64>,
    pub left_unit: Option<String>,
    /// On what footing the signed-in user may record its next event.
    pub authority: Authority,
}

impl HoldingView {
    /// Whether the signed-in user may record the next event (perhaps stating why).
    pub fn may_record(&self) -> bool {
        self.authority != Authority::Refused
    }

    pub fn overriding(&self) -> bool {
        self.authority == Authority::Override
    }
}

/// Names the holder and the place of `holding`, and the signed-in user's footing on it.
fn holding_view(conn: &mut DbConn, holding: Holding, me: &User) -> Result<HoldingView, AppError> {
    let authority = holding::authority(&holding, &me.id, me.role == Role::Supervisor);
    let named = holding::describe(conn, &holding)?;
    Ok(HoldingView {
        holder: named.holder,
        place_key: format!("holding.{}", named.place_kind),
        place: named.place,
        since: holding.since,
        left_value: holding.balance.as_ref().map(|b| b.value),
        left_unit: holding.balance.map(|b| b.unit),
        authority,
    })
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
    holding: HoldingView,
    chain_ok: bool,
    kinds: Vec<EventKind>,
    can_handle: bool,
    /// The lab, or the officer who registered the seizure (`access::may_print_labels`).
    can_print: bool,
    overdue: bool,
    files: Option<AttachmentsView>,
    tests: Vec<crate::analysis::AnalysisRow>,
    today: chrono::NaiveDate,
}

impl ShowPage {
    /// Whether the signed-in analyst has a test to do on this sample.
    fn has_open_tests(&self) -> bool {
        let me = self.ctx.user.as_ref().map(|u| &u.id);
        self.tests
            .iter()
            .any(|t| t.analysis.status.open() && t.analysis.analyst_id.as_ref() == me)
    }
}

async fn show(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SampleId>,
) -> Result<HttpResponse, AppError> {
    let me = ctx.require(Permission::ViewCases)?;
    let id = path.into_inner();
    let owner = Owner::Sample(id.clone());
    let see_files = ctx.can(owner.view_permission());
    let can_handle = ctx.can(Permission::HandleSamples);
    let see_results = ctx.can(Permission::ViewLabResults);
    let (sample, seizure, parent, children, events, holding, chain_ok, files, tests) = state
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
            let events = timeline(conn, &sample, &family)?;
            let raw: Vec<CustodyEvent> = events.iter().map(|v| v.event.clone()).collect();
            let holding = holding_view(conn, Holding::of(&raw), &me)?;
            let keys = custody::key::installed()?;
            let chain_ok = custody::verify::check_sample(conn, keys, &sample.id)?.is_none();
            // Customs officers see the case, never the raw data attached to it.
            let files = if see_files {
                attachment::of_owner(conn, &Owner::Sample(sample.id.clone()))?
            } else {
                Vec::new()
            };
            let tests = if see_results {
                crate::analysis::of_sample(conn, &sample.id)?
            } else {
                Vec::new()
            };
            Ok((
                sample, seizure, parent, children, events, holding, chain_ok, files, tests,
            ))
        })
        .await?;
    let back = format!("/samples/{}", sample.id);
    let files = AttachmentsView::new(&ctx, &state, &owner, files, back);
    let can_print = ctx
        .user
        .as_ref()
        .is_some_and(|u| crate::access::may_print_labels(u, &seizure.registered_by));
    render_status(
        &ShowPage {
            kinds: movement::available(sample.status),
            overdue: sample.is_overdue(today(&ctx)),
            can_handle,
            can_print,
            tests,
            today: today(&ctx),
            ctx,
            sample,
            seizure,
            parent,
            children,
            events,
            holding,
            chain_ok,
            files,
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

/// A sample scanned at the counter that is no longer waiting for its receipt, and the
/// sentence saying when and by whom it came in.
struct AlreadyIn {
    sample: Sample,
    message: String,
}

fn already_in(ctx: &Ctx, sample: Sample, past: Option<PastReceipt>) -> AlreadyIn {
    let code = sample.lab_code.as_str();
    let message = match past {
        Some(p) => {
            let key = match p.kind {
                EventKind::RejectedAtReceipt => "receipt.already_rejected",
                EventKind::SubSampled => "receipt.already_split",
                _ => "receipt.already_received",
            };
            let when = ctx.datetime(&p.at);
            ctx.tf(key, &[("code", code), ("when", &when), ("by", &p.by)])
        }
        None => {
            let status = ctx.label("status", sample.status);
            ctx.tf(
                "receipt.already_in_lab",
                &[("code", code), ("status", &status)],
            )
        }
    };
    AlreadyIn { sample, message }
}

#[derive(Template)]
#[template(path = "samples/scan.html")]
struct ScanPage {
    ctx: Ctx,
    code: String,
    errors: FieldErrors,
    already: Option<AlreadyIn>,
    waiting: Vec<sample::SampleRow>,
}

/// The receipt counter: scan or type a lab code or seal number, land on the receipt form (its
/// seal step). A sample already received says when and by whom, and the box is ready for the
/// next scan.
async fn scan(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<ScanQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::HandleSamples)?;
    let mut code = query.into_inner().code.trim().to_string();
    let mut errors = FieldErrors::default();
    let q = code.clone();
    let (hits, past, waiting) = state
        .db(move |conn| {
            let hits: Vec<Sample> = if q.is_empty() {
                Vec::new()
            } else {
                crate::search::search(conn, &q)?
                    .hits
                    .into_iter()
                    .filter_map(|(_, h)| match h {
                        crate::search::Hit::Sample(s) => Some(*s),
                        _ => None,
                    })
                    .collect()
            };
            let past = match hits.as_slice() {
                [one] if !one.status.awaits_receipt() => receipt::past_receipt(conn, &one.id)?,
                _ => None,
            };
            let filter = SampleFilter {
                status: Some(SampleStatus::Registered),
                ..Default::default()
            };
            Ok((hits, past, sample::list(conn, &filter, None, 20)?.0))
        })
        .await?;
    let mut already = None;
    if !code.is_empty() {
        match <[Sample; 1]>::try_from(hits) {
            Ok([one]) if one.status.awaits_receipt() => {
                return Ok(see_other(&format!("/samples/{}/receive", one.id)))
            }
            Ok([one]) => {
                // Said in full beside the box, which is emptied for the next bag.
                already = Some(already_in(&ctx, one, past));
                code.clear();
            }
            Err(hits) if hits.is_empty() => errors.add("code", "receipt.not_found"),
            Err(_) => errors.add("code", "receipt.ambiguous"),
        }
    }
    let status = status_for(&errors);
    render_status(
        &ScanPage {
            ctx,
            code,
            errors,
            already,
            waiting,
        },
        status,
    )
}

#[derive(Deserialize, Default)]
struct ReceiveQuery {
    /// `check` once the seal was read (the seal step's form sends it).
    #[serde(default)]
    step: String,
    #[serde(default)]
    seal_number: String,
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
    /// The first step: only the seal is read (its Enter checks the seal, nothing else).
    seal_step: bool,
    seal_check: SealCheck,
    /// The seal read, compared with the seizure's, in a sentence.
    seal_message: String,
}

fn seal_message(ctx: &Ctx, sample: &Sample, read: &str, check: SealCheck) -> String {
    let read = sample::normalize_seal(read).unwrap_or_default();
    let recorded = sample.seal_number.clone().unwrap_or_default();
    ctx.tf(
        check.message_key(),
        &[("read", &read), ("recorded", &recorded)],
    )
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

/// The receipt in two steps, so a scanner's Enter never sends a half-filled form: first the
/// seal is read (Enter compares it with the seizure's), then the rest is asked with the
/// result shown and the quantity filled in from the record.
async fn receive_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SampleId>,
    query: web::Query<ReceiveQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::HandleSamples)?;
    let (sample, seizure, locations) = load_for_receipt(&state, path.into_inner()).await?;
    if !sample.status.awaits_receipt() {
        // The counter says when and by whom it was received.
        let code: String =
            serde_urlencoded::to_string([("code", &sample.lab_code)]).unwrap_or_default();
        return Ok(see_other(&format!("/receive?{code}")));
    }
    let query = query.into_inner();
    let seal_step = query.step != "check";
    let form = ReceiptInput {
        seal_number: query.seal_number.trim().to_string(),
        received_at: local_input_value(&crate::db::now(), ctx.tz),
        quantity: sample
            .quantity
            .map(|q| crate::i18n::input_number(ctx.lang, q))
            .unwrap_or_default(),
        quantity_unit: sample.quantity_unit.clone().unwrap_or_default(),
        delivered_by: seizure.seizing_officer.clone(),
        decision: "accept".into(),
        ..Default::default()
    };
    let seal_check = SealCheck::compare(&sample, &form.seal_number);
    let seal_message = seal_message(&ctx, &sample, &form.seal_number, seal_check);
    render_status(
        &ReceivePage {
            ctx,
            sample,
            seizure,
            form,
            errors: FieldErrors::default(),
            locations,
            units: UNITS,
            seal_step,
            seal_check,
            seal_message,
        },
        StatusCode::OK,
    )
}

async fn receive(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<SampleId>,
    CsrfForm(form): CsrfForm<ReceiptInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::HandleSamples)?;
    let id = path.into_inner();
    let (input, sid, tz) = (form.clone(), id.clone(), ctx.tz);
    match state
        .submit(move |conn| receipt::receive(conn, &who, &sid, &input, tz))
        .await?
    {
        Submitted::Done(s) => {
            let key = if s.status == SampleStatus::Rejected {
                "receipt.rejected"
            } else {
                "receipt.received"
            };
            let text = ctx.t1(key, "code", &s.lab_code);
            // Back to the scan box, ready for the next bag.
            Ok(done(&session, text, "/receive"))
        }
        Submitted::Invalid(errors) => {
            let (sample, seizure, locations) = load_for_receipt(&state, id).await?;
            let seal_check = SealCheck::compare(&sample, &form.seal_number);
            let seal_message = seal_message(&ctx, &sample, &form.seal_number, seal_check);
            invalid(&ReceivePage {
                ctx,
                sample,
                seizure,
                form,
                errors,
                locations,
                units: UNITS,
                seal_step: false,
                seal_check,
                seal_message,
            })
        }
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
    /// Who may witness a destruction: active users but administrators, not oneself.
    witnesses: Vec<User>,
    units: &'static [&'static str],
    holding: HoldingView,
}

impl EventPage {
    fn asks(&self, field: &str) -> bool {
        self.fields.contains(&field)
    }
}

/// What the event pages need besides the sample.
struct EventContext {
    sample: Sample,
    locations: Vec<(String, String)>,
    colleagues: Vec<User>,
    witnesses: Vec<User>,
    holding: HoldingView,
}

async fn load_for_event(
    state: &AppState,
    id: SampleId,
    me: std::sync::Arc<User>,
) -> Result<EventContext, AppError> {
    state
        .db(move |conn| {
            let sample = sample::find(conn, &id)?;
            let others: Vec<User> = user::list(conn)?
                .into_iter()
                .filter(|u| u.active && u.id != me.id)
                .collect();
            let colleagues = others
                .iter()
                .filter(|u| matches!(u.role, Role::Technician | Role::Supervisor))
                .cloned()
                .collect();
            let witnesses = others
                .into_iter()
                .filter(|u| u.role != Role::Admin)
                .collect();
            let held = movement::holding(conn, &sample.id)?;
            let holding = holding_view(conn, held, &me)?;
            Ok(EventContext {
                sample,
                locations: location_options(conn)?,
                colleagues,
                witnesses,
                holding,
            })
        })
        .await
}

fn event_page(
    ctx: Ctx,
    kind: EventKind,
    loaded: EventContext,
    form: EventInput,
    errors: FieldErrors,
) -> EventPage {
    EventPage {
        ctx,
        sample: loaded.sample,
        kind,
        fields: movement::fields(kind),
        // Passwords are never sent back.
        form: EventInput {
            to_password: String::new(),
            witness_password: String::new(),
            confirm: String::new(),
            ..form
        },
        errors,
        locations: loaded.locations,
        colleagues: loaded.colleagues,
        witnesses: loaded.witnesses,
        units: UNITS,
        holding: loaded.holding,
    }
}

fn form_kind(text: &str) -> Option<EventKind> {
    EventKind::parse(text).filter(|k| movement::FORM_KINDS.contains(k))
}

async fn event_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SampleId>,
    query: web::Query<KindQuery>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Permission::HandleSamples)?;
    let kind = form_kind(&query.kind).ok_or(AppError::NotFound)?;
    let loaded = load_for_event(&state, path.into_inner(), user).await?;
    if !movement::allowed(kind, loaded.sample.status) {
        return Err(AppError::Forbidden("custody.not_allowed_now"));
    }
    let form = EventInput {
        kind: kind.as_str().into(),
        occurred_at: local_input_value(&crate::db::now(), ctx.tz),
        seal_number: loaded.sample.seal_number.clone().unwrap_or_default(),
        quantity_unit: loaded.sample.quantity_unit.clone().unwrap_or_default(),
        witness_kind: "user".into(),
        ..Default::default()
    };
    render_status(
        &event_page(ctx, kind, loaded, form, FieldErrors::default()),
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "samples/event_confirm.html")]
struct EventConfirmPage {
    ctx: Ctx,
    sample: Sample,
    kind: EventKind,
    form: EventInput,
    preview: movement::Preview,
    errors: FieldErrors,
}

/// Checks an event for its confirmation page (without the witness's password).
async fn preview_event(
    state: &AppState,
    who: crate::audit::Handler,
    id: SampleId,
    form: &EventInput,
    tz: chrono_tz::Tz,
) -> Result<Submitted<(Sample, movement::Preview)>, AppError> {
    let input = form.clone();
    state
        .submit(move |conn| {
            let preview = movement::preview(conn, &who, &id, &input, tz)?;
            Ok((sample::find(conn, &id)?, preview))
        })
        .await
}

/// The confirmation page of an event that cannot be undone (a destruction): what will be
/// recorded, the witness's password when the witness is a user, and Confirm or Change.
fn confirm_page(
    ctx: Ctx,
    (sample, preview): (Sample, movement::Preview),
    form: EventInput,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let kind = form_kind(&form.kind).ok_or(AppError::BadRequest("kind".into()))?;
    let status = status_for(&errors);
    render_status(
        &EventConfirmPage {
            ctx,
            sample,
            kind,
            form: EventInput {
                witness_password: String::new(),
                to_password: String::new(),
                confirm: String::new(),
                ..form
            },
            preview,
            errors,
        },
        status,
    )
}

async fn record_event(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<SampleId>,
    CsrfForm(form): CsrfForm<EventInput>,
) -> Result<HttpResponse, AppError> {
    let me = ctx.require(Permission::HandleSamples)?;
    let handler = || ctx.handler(Permission::HandleSamples);
    let id = path.into_inner();
    let kind = form_kind(&form.kind).ok_or(AppError::BadRequest("kind".into()))?;
    let confirm_step = movement::needs_confirmation(kind);
    if confirm_step && !form.confirmed() {
        // "Change" on the confirmation page comes back to the form as it was typed.
        let errors = if form.confirm == "edit" {
            FieldErrors::default()
        } else {
            match preview_event(&state, handler()?, id.clone(), &form, ctx.tz).await? {
                Submitted::Done(preview) => {
                    return confirm_page(ctx, preview, form, FieldErrors::default())
                }
                Submitted::Invalid(errors) => errors,
            }
        };
        let status = status_for(&errors);
        let loaded = load_for_event(&state, id, me).await?;
        return render_status(&event_page(ctx, kind, loaded, form, errors), status);
    }
    // The passwords of a receiver or witness are checked off the database connection.
    let (begin_who, begin_input) = (handler()?, form.clone());
    let pending = state
        .db(move |conn| Proofs::begin(conn, &begin_who, &begin_input))
        .await?;
    let proofs = state.cpu(move || Ok(Proofs::check(pending))).await?;
    let (who, input, sid, tz) = (handler()?, form.clone(), id.clone(), ctx.tz);
    let errors = match state
        .submit(move |conn| movement::record(conn, &who, &sid, &input, tz, &proofs))
        .await?
    {
        Submitted::Done(event) => {
            let label = ctx.t(format!("custody.kind.{}", event.kind));
            let text = ctx.t1("custody.recorded", "event", label);
            return Ok(done(&session, text, &format!("/samples/{id}")));
        }
        Submitted::Invalid(errors) => errors,
    };
    // Only the witness's password was wrong: the confirmation page again, to type it again.
    if confirm_step && errors.fields().all(|(f, _)| f == "witness_password") {
        if let Submitted::Done(preview) =
            preview_event(&state, handler()?, id.clone(), &form, ctx.tz).await?
        {
            return confirm_page(ctx, preview, form, errors);
        }
    }
    let loaded = load_for_event(&state, id, me).await?;
    invalid(&event_page(ctx, kind, loaded, form, errors))
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
    holding: HoldingView,
}

#[derive(Template)]
#[template(path = "samples/subsample_confirm.html")]
struct SubsampleConfirmPage {
    ctx: Ctx,
    sample: Sample,
    form: SubsampleInput,
    plan: SplitPlan,
}

fn subsample_kinds() -> Vec<SampleKind> {
    SampleKind::ALL
        .iter()
        .copied()
        .filter(|k| *k != SampleKind::Sample)
        .collect()
}

/// The parent and its custody, for the sub-sample pages.
async fn load_parent(
    state: &AppState,
    id: SampleId,
    me: std::sync::Arc<User>,
) -> Result<(Sample, HoldingView), AppError> {
    state
        .db(move |conn| {
            let sample = sample::find(conn, &id)?;
            let held = movement::holding(conn, &sample.id)?;
            let holding = holding_view(conn, held, &me)?;
            Ok((sample, holding))
        })
        .await
}

async fn subsample_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SampleId>,
) -> Result<HttpResponse, AppError> {
    let me = ctx.require(Permission::HandleSamples)?;
    let (sample, holding) = load_parent(&state, path.into_inner(), me).await?;
    if !sample.status.in_lab() {
        return Err(AppError::Forbidden("custody.not_allowed_now"));
    }
    let form = SubsampleInput {
        kind: SampleKind::Aliquot.as_str().into(),
        description: sample.description.clone(),
        quantity_unit: holding
            .left_unit
            .clone()
            .or_else(|| sample.quantity_unit.clone())
            .unwrap_or_default(),
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
            holding,
        },
        StatusCode::OK,
    )
}

/// A split is checked first and shown on a confirmation page (codes and events are
/// permanent); only its Confirm creates the sub-sample.
async fn create_subsample(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<SampleId>,
    CsrfForm(form): CsrfForm<SubsampleInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::HandleSamples)?;
    let me = ctx.require(Permission::HandleSamples)?;
    let id = path.into_inner();
    let (input, sid) = (form.clone(), id.clone());
    let errors = match form.confirm.as_str() {
        "yes" => match state
            .submit(move |conn| sample::create_subsample(conn, &who, &sid, &input))
            .await?
        {
            Submitted::Done(child) => {
                let text = ctx.t1("samples.subsample_created", "code", &child.lab_code);
                return Ok(done(&session, text, &format!("/samples/{}", child.id)));
            }
            Submitted::Invalid(errors) => errors,
        },
        "edit" => FieldErrors::default(),
        _ => match state
            .submit(move |conn| {
                let parent = sample::find(conn, &sid)?;
                let plan = sample::plan_subsample(conn, &who, &parent, &input)?;
                Ok((parent, plan))
            })
            .await?
        {
            Submitted::Done((sample, plan)) => {
                return render_status(
                    &SubsampleConfirmPage {
                        ctx,
                        sample,
                        form: SubsampleInput {
                            confirm: String::new(),
                            ..form
                        },
                        plan,
                    },
                    StatusCode::OK,
                )
            }
            Submitted::Invalid(errors) => errors,
        },
    };
    let (sample, holding) = load_parent(&state, id, me).await?;
    let status = status_for(&errors);
    render_status(
        &SubsamplePage {
            ctx,
            sample,
            form: SubsampleInput {
                confirm: String::new(),
                ..form
            },
            errors,
            kinds: subsample_kinds(),
            units: UNITS,
            holding,
        },
        status,
    )
}
