//! Instruments: the inventory and the due list (everyone in the lab reads them), inventory
//! changes (admin), out of service and back (admin, supervisor), calibration and maintenance
//! records and their corrections (supervisor).

use std::collections::{HashMap, HashSet};

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::db::DbConn;
use crate::error::AppError;
use crate::ids::{CalibrationId, InstrumentId, MaintenanceId};
use crate::instrument::{
    self, CalibrationInput, CalibrationRecord, CalibrationResult, DueCursor, Instrument,
    InstrumentFilter, InstrumentInput, InstrumentStatus, MaintenanceInput, MaintenanceKind,
    MaintenanceRecord, StatusInput,
};
use crate::user;
use crate::validation::{opt, FieldErrors};
use crate::web::context::Ctx;
use crate::web::forms::Pager;
use crate::web::session::CsrfForm;
use crate::web::{done, invalid, render, AppState, Submitted};

const PAGE_SIZE: i64 = 50;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/instruments", web::get().to(list))
        .route("/instruments", web::post().to(create))
        .route("/instruments/new", web::get().to(new_form))
        .route("/instruments/due", web::get().to(due))
        .route("/instruments/{id}", web::get().to(show))
        .route("/instruments/{id}/edit", web::get().to(edit_form))
        .route("/instruments/{id}/edit", web::post().to(update))
        .route("/instruments/{id}/status", web::post().to(set_status))
        .configure(records::<CalibrationInput>)
        .configure(records::<MaintenanceInput>);
}

/// The routes of one kind of record: new, and correction of an earlier one.
fn records<F: RecordForm>(cfg: &mut web::ServiceConfig) {
    let new = format!("/instruments/{{id}}/{}", F::SEGMENT);
    let correct = format!("{new}/{{record}}/correct");
    cfg.route(&new, web::get().to(new_record::<F>))
        .route(&new, web::post().to(create_record::<F>))
        .route(&correct, web::get().to(correction_form::<F>))
        .route(&correct, web::post().to(correct_record::<F>));
}

// ---------------------------------------------------------------- lists

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
}

#[derive(Template)]
#[template(path = "instruments/list.html")]
struct ListPage {
    ctx: Ctx,
    q: String,
    status: String,
    statuses: Vec<(String, String)>,
    errors: FieldErrors,
    rows: Vec<Instrument>,
    today: chrono::NaiveDate,
    pager: Pager,
}

fn status_choices(ctx: &Ctx) -> Vec<(String, String)> {
    InstrumentStatus::ALL
        .iter()
        .map(|s| (s.as_str().into(), ctx.label("instruments.status", s)))
        .collect()
}

async fn list(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewLabRecords)?;
    let query = query.into_inner();
    let mut errors = FieldErrors::default();
    let status = match query.status.as_str() {
        "" => None,
        s => InstrumentStatus::parse(s).or_else(|| {
            errors.add("status", "validation.choose_one");
            None
        }),
    };
    let filter = InstrumentFilter {
        text: opt(&query.q),
        status,
    };
    let after = opt(&query.after);
    let first_page = after.is_none();
    let (rows, next) = state
        .db(move |conn| {
            Ok(instrument::list(
                conn,
                &filter,
                after.as_deref(),
                PAGE_SIZE,
            )?)
        })
        .await?;
    let pager = Pager::after_key(
        "/instruments",
        &[("q", &query.q), ("status", &query.status)],
        first_page,
        next,
    );
    render(&ListPage {
        statuses: status_choices(&ctx),
        today: ctx.today(),
        ctx,
        q: query.q,
        status: query.status,
        errors,
        rows,
        pager,
    })
}

#[derive(Deserialize, Default)]
struct DueQuery {
    #[serde(default)]
    after: String,
}

#[derive(Template)]
#[template(path = "instruments/due.html")]
struct DuePage {
    ctx: Ctx,
    rows: Vec<Instrument>,
    today: chrono::NaiveDate,
    pager: Pager,
}

async fn due(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<DueQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewLabRecords)?;
    let cursor = DueCursor::decode(&query.after);
    let first_page = cursor.is_none();
    let today = ctx.today();
    let (rows, next) = state
        .db(move |conn| {
            Ok(instrument::due_list(
                conn,
                today,
                cursor.as_ref(),
                PAGE_SIZE,
            )?)
        })
        .await?;
    let pager = Pager::after_key(
        "/instruments/due",
        &[],
        first_page,
        next.map(|c| c.encode()),
    );
    render(&DuePage {
        ctx,
        rows,
        today,
        pager,
    })
}

// ---------------------------------------------------------------- inventory

#[derive(Template)]
#[template(path = "instruments/form.html")]
struct FormPage {
    ctx: Ctx,
    instrument: Option<Instrument>,
    form: InstrumentInput,
    errors: FieldErrors,
}

impl FormPage {
    fn action(&self) -> String {
        match &self.instrument {
            Some(i) => format!("/instruments/{}/edit", i.id),
            None => "/instruments".into(),
        }
    }
}

async fn new_form(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    render(&FormPage {
        ctx,
        instrument: None,
        form: InstrumentInput {
            calibration_required: Some("on".into()),
            calibration_interval_months: "12".into(),
            ..Default::default()
        },
        errors: FieldErrors::default(),
    })
}

async fn create(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<InstrumentInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::ManageCatalogue)?;
    let input = form.clone();
    match state
        .submit(move |conn| instrument::create(conn, &who, &input))
        .await?
    {
        Submitted::Done(i) => {
            let text = ctx.t1("instruments.created", "tag", &i.asset_tag);
            Ok(done(&session, text, &format!("/instruments/{}", i.id)))
        }
        Submitted::Invalid(errors) => invalid(&FormPage {
            ctx,
            instrument: None,
            form,
            errors,
        }),
    }
}

async fn edit_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<InstrumentId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    let id = path.into_inner();
    let i = state
        .db(move |conn| Ok(instrument::find(conn, &id)?))
        .await?;
    render(&FormPage {
        ctx,
        form: InstrumentInput::from_instrument(&i),
        instrument: Some(i),
        errors: FieldErrors::default(),
    })
}

async fn update(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<InstrumentId>,
    CsrfForm(form): CsrfForm<InstrumentInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::ManageCatalogue)?;
    let id = path.into_inner();
    let (input, iid) = (form.clone(), id.clone());
    match state
        .submit(move |conn| instrument::update(conn, &who, &iid, &input))
        .await?
    {
        Submitted::Done(i) => {
            let text = ctx.t1("instruments.updated", "tag", &i.asset_tag);
            Ok(done(&session, text, &format!("/instruments/{id}")))
        }
        Submitted::Invalid(errors) => {
            let i = state
                .db(move |conn| Ok(instrument::find(conn, &id)?))
                .await?;
            invalid(&FormPage {
                ctx,
                form: InstrumentInput {
                    asset_tag: i.asset_tag.clone(),
                    ..form
                },
                instrument: Some(i),
                errors,
            })
        }
    }
}

// ---------------------------------------------------------------- one instrument

/// A record as the instrument page lists it: who recorded it and whether a later record
/// corrected it.
pub struct Recorded<T> {
    pub record: T,
    pub recorded_by: String,
    pub corrected: bool,
}

fn names(conn: &mut DbConn) -> Result<HashMap<String, String>, AppError> {
    Ok(user::list(conn)?
        .into_iter()
        .map(|u| (u.id.0, u.full_name))
        .collect())
}

#[derive(Template)]
#[template(path = "instruments/show.html")]
struct ShowPage {
    ctx: Ctx,
    instrument: Instrument,
    status_changed_by: Option<String>,
    calibrations: Vec<Recorded<CalibrationRecord>>,
    maintenance: Vec<Recorded<MaintenanceRecord>>,
    today: chrono::NaiveDate,
    statuses: Vec<(String, String)>,
    form: StatusInput,
    errors: FieldErrors,
}

async fn load_show(
    ctx: Ctx,
    state: &AppState,
    id: InstrumentId,
    form: StatusInput,
    errors: FieldErrors,
) -> Result<ShowPage, AppError> {
    let (instrument, calibrations, maintenance, names) = state
        .db(move |conn| {
            Ok((
                instrument::find(conn, &id)?,
                instrument::calibrations(conn, &id)?,
                instrument::maintenance(conn, &id)?,
                names(conn)?,
            ))
        })
        .await?;
    let name = |id: &crate::ids::UserId| names.get(id.as_str()).cloned().unwrap_or_default();
    let corrected: HashSet<CalibrationId> =
        crate::correction::superseded(calibrations.iter().map(|r| &r.supersedes_id));
    let calibrations = calibrations
        .into_iter()
        .map(|r| Recorded {
            recorded_by: name(&r.recorded_by),
            corrected: corrected.contains(&r.id),
            record: r,
        })
        .collect();
    let corrected: HashSet<MaintenanceId> =
        crate::correction::superseded(maintenance.iter().map(|r| &r.supersedes_id));
    let maintenance = maintenance
        .into_iter()
        .map(|r| Recorded {
            recorded_by: name(&r.recorded_by),
            corrected: corrected.contains(&r.id),
            record: r,
        })
        .collect();
    Ok(ShowPage {
        status_changed_by: instrument.status_changed_by.as_ref().map(name),
        statuses: status_choices(&ctx),
        today: ctx.today(),
        ctx,
        instrument,
        calibrations,
        maintenance,
        form,
        errors,
    })
}

async fn show(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<InstrumentId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewLabRecords)?;
    render(
        &load_show(
            ctx,
            &state,
            path.into_inner(),
            StatusInput::default(),
            FieldErrors::default(),
        )
        .await?,
    )
}

async fn set_status(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<InstrumentId>,
    CsrfForm(form): CsrfForm<StatusInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::ChangeInstrumentStatus)?;
    let id = path.into_inner();
    let (input, iid) = (form.clone(), id.clone());
    match state
        .submit(move |conn| instrument::set_status(conn, &who, &iid, &input))
        .await?
    {
        Submitted::Done(i) => {
            let status = ctx.label("instruments.status", i.status);
            let text = ctx.tf(
                "instruments.status_changed",
                &[("tag", &i.asset_tag), ("status", &status)],
            );
            Ok(done(&session, text, &format!("/instruments/{id}")))
        }
        Submitted::Invalid(errors) => invalid(&load_show(ctx, &state, id, form, errors).await?),
    }
}

// ---------------------------------------------------------------- records

/// The form of a calibration or maintenance record, new or correcting an earlier one.
#[derive(Template)]
#[template(path = "instruments/record.html")]
struct RecordPage {
    ctx: Ctx,
    instrument: Instrument,
    /// `calibration` or `maintenance`.
    kind: &'static str,
    /// The date of the record being corrected, when this is a correction.
    corrects: Option<String>,
    action: String,
    calibration: CalibrationInput,
    maintenance: MaintenanceInput,
    results: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
    errors: FieldErrors,
}

impl RecordPage {
    /// The i18n key `instruments.{what}_{kind}`, e.g. `instruments.new_calibration`.
    fn key(&self, what: &str) -> String {
        format!("instruments.{what}_{}", self.kind)
    }
}

/// A kind of instrument record entered on a form, and corrected by a record that supersedes
/// it: one set of handlers serves both kinds.
trait RecordForm: serde::de::DeserializeOwned + Clone + Send + 'static {
    type Id: serde::de::DeserializeOwned + Clone + PartialEq + std::fmt::Display + Send + 'static;
    /// `calibration` or `maintenance`, as in i18n keys.
    const KIND: &'static str;
    /// The address segment under the instrument.
    const SEGMENT: &'static str;
    /// The flash message key, taking `%{date}`.
    const DONE_KEY: &'static str;

    /// The blank form for a new record on `today`.
    fn fresh(instrument: &Instrument, today: chrono::NaiveDate) -> Self;
    /// The instrument's records: id, date, and the form filled from the record.
    fn records(
        conn: &mut DbConn,
        id: &InstrumentId,
    ) -> Result<Vec<(Self::Id, String, Self)>, AppError>;
    /// Stores the record; answers its date.
    fn save(
        &self,
        conn: &mut DbConn,
        who: &crate::audit::Handler,
        id: &InstrumentId,
        corrects: Option<&Self::Id>,
        today: chrono::NaiveDate,
    ) -> Result<String, AppError>;
    /// Puts the form on the page.
    fn show(self, page: &mut RecordPage);
}

impl RecordForm for CalibrationInput {
    type Id = CalibrationId;
    const KIND: &'static str = "calibration";
    const SEGMENT: &'static str = "calibrations";
    const DONE_KEY: &'static str = "instruments.calibration_recorded";

    fn fresh(instrument: &Instrument, today: chrono::NaiveDate) -> Self {
        // The next due date follows from the instrument's interval; the supervisor may change it.
        let next_due = instrument
            .calibration_interval_months
            .and_then(|m| today.checked_add_months(chrono::Months::new(m as u32)))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        CalibrationInput {
            performed_on: today.format("%Y-%m-%d").to_string(),
            next_due_on: next_due,
            ..Default::default()
        }
    }

    fn records(
        conn: &mut DbConn,
        id: &InstrumentId,
    ) -> Result<Vec<(CalibrationId, String, Self)>, AppError> {
        Ok(instrument::calibrations(conn, id)?
            .into_iter()
            .map(|r| {
                (
                    r.id.clone(),
                    r.performed_on.clone(),
                    CalibrationInput::from_record(&r),
                )
            })
            .collect())
    }

    fn save(
        &self,
        conn: &mut DbConn,
        who: &crate::audit::Handler,
        id: &InstrumentId,
        corrects: Option<&CalibrationId>,
        today: chrono::NaiveDate,
    ) -> Result<String, AppError> {
        Ok(instrument::record_calibration(conn, who, id, corrects, self, today)?.performed_on)
    }

    fn show(self, page: &mut RecordPage) {
        page.calibration = self;
    }
}

impl RecordForm for MaintenanceInput {
    type Id = MaintenanceId;
    const KIND: &'static str = "maintenance";
    const SEGMENT: &'static str = "maintenance";
    const DONE_KEY: &'static str = "instruments.maintenance_recorded";

    fn fresh(_: &Instrument, today: chrono::NaiveDate) -> Self {
        MaintenanceInput {
            performed_on: today.format("%Y-%m-%d").to_string(),
            ..Default::default()
        }
    }

    fn records(
        conn: &mut DbConn,
        id: &InstrumentId,
    ) -> Result<Vec<(MaintenanceId, String, Self)>, AppError> {
        Ok(instrument::maintenance(conn, id)?
            .into_iter()
            .map(|r| {
                (
                    r.id.clone(),
                    r.performed_on.clone(),
                    MaintenanceInput::from_record(&r),
                )
            })
            .collect())
    }

    fn save(
        &self,
        conn: &mut DbConn,
        who: &crate::audit::Handler,
        id: &InstrumentId,
        corrects: Option<&MaintenanceId>,
        today: chrono::NaiveDate,
    ) -> Result<String, AppError> {
        Ok(instrument::record_maintenance(conn, who, id, corrects, self, today)?.performed_on)
    }

    fn show(self, page: &mut RecordPage) {
        page.maintenance = self;
    }
}

/// The record form of kind `F` for instrument `id`: blank, or filled from the record it
/// corrects (`form` overrides with what was typed). 404 for an unknown record; 403 for a
/// retired instrument.
async fn record_page<F: RecordForm>(
    ctx: Ctx,
    state: &AppState,
    id: InstrumentId,
    corrects: Option<F::Id>,
    form: Option<F>,
    errors: FieldErrors,
) -> Result<RecordPage, AppError> {
    let (iid, old) = (id.clone(), corrects.clone());
    let (instrument, corrected) = state
        .db(move |conn| {
            let i = instrument::find(conn, &iid)?;
            let corrected = match old {
                Some(old) => Some(
                    F::records(conn, &iid)?
                        .into_iter()
                        .find(|(rid, _, _)| *rid == old)
                        .ok_or(AppError::NotFound)?,
                ),
                None => None,
            };
            Ok((i, corrected))
        })
        .await?;
    if instrument.is_retired() {
        return Err(AppError::Forbidden("instruments.retired_no_records"));
    }
    let today = ctx.today();
    let action = match &corrects {
        Some(c) => format!("/instruments/{id}/{}/{c}/correct", F::SEGMENT),
        None => format!("/instruments/{id}/{}", F::SEGMENT),
    };
    let results = CalibrationResult::ALL
        .iter()
        .map(|r| (r.as_str().into(), ctx.label("instruments.result", r)))
        .collect();
    let kinds = MaintenanceKind::ALL
        .iter()
        .map(|k| {
            (
                k.as_str().into(),
                ctx.label("instruments.maintenance_kind", k),
            )
        })
        .collect();
    let (corrects, filled) = match corrected {
        Some((_, date, filled)) => (Some(date), filled),
        None => (None, F::fresh(&instrument, today)),
    };
    let mut page = RecordPage {
        ctx,
        instrument,
        kind: F::KIND,
        corrects,
        action,
        calibration: CalibrationInput::default(),
        maintenance: MaintenanceInput::default(),
        results,
        kinds,
        errors,
    };
    form.unwrap_or(filled).show(&mut page);
    Ok(page)
}

async fn new_record<F: RecordForm>(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<InstrumentId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let page = record_page::<F>(
        ctx,
        &state,
        path.into_inner(),
        None,
        None,
        FieldErrors::default(),
    );
    render(&page.await?)
}

async fn correction_form<F: RecordForm>(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<(InstrumentId, F::Id)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let (id, record) = path.into_inner();
    let page = record_page::<F>(ctx, &state, id, Some(record), None, FieldErrors::default());
    render(&page.await?)
}

async fn create_record<F: RecordForm>(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<InstrumentId>,
    CsrfForm(form): CsrfForm<F>,
) -> Result<HttpResponse, AppError> {
    save_record(ctx, state, session, path.into_inner(), None, form).await
}

async fn correct_record<F: RecordForm>(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(InstrumentId, F::Id)>,
    CsrfForm(form): CsrfForm<F>,
) -> Result<HttpResponse, AppError> {
    let (id, record) = path.into_inner();
    save_record(ctx, state, session, id, Some(record), form).await
}

async fn save_record<F: RecordForm>(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    id: InstrumentId,
    corrects: Option<F::Id>,
    form: F,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let today = ctx.today();
    let (input, iid, old) = (form.clone(), id.clone(), corrects.clone());
    match state
        .submit(move |conn| input.save(conn, &who, &iid, old.as_ref(), today))
        .await?
    {
        Submitted::Done(date) => {
            let text = ctx.t1(F::DONE_KEY, "date", ctx.date(&date));
            Ok(done(&session, text, &format!("/instruments/{id}")))
        }
        Submitted::Invalid(errors) => {
            invalid(&record_page::<F>(ctx, &state, id, corrects, Some(form), errors).await?)
        }
    }
}
