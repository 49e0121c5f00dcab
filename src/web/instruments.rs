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
        .route(
            "/instruments/{id}/calibrations",
            web::get().to(calibration_form),
        )
        .route(
            "/instruments/{id}/calibrations",
            web::post().to(record_calibration),
        )
        .route(
            "/instruments/{id}/calibrations/{record}/correct",
            web::get().to(calibration_correction_form),
        )
        .route(
            "/instruments/{id}/calibrations/{record}/correct",
            web::post().to(correct_calibration),
        )
        .route(
            "/instruments/{id}/maintenance",
            web::get().to(maintenance_form),
        )
        .route(
            "/instruments/{id}/maintenance",
            web::post().to(record_maintenance),
        )
        .route(
            "/instruments/{id}/maintenance/{record}/correct",
            web::get().to(maintenance_correction_form),
        )
        .route(
            "/instruments/{id}/maintenance/{record}/correct",
            web::post().to(correct_maintenance),
        );
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
        instrument::superseded(calibrations.iter().map(|r| &r.supersedes_id));
    let calibrations = calibrations
        .into_iter()
        .map(|r| Recorded {
            recorded_by: name(&r.recorded_by),
            corrected: corrected.contains(&r.id),
            record: r,
        })
        .collect();
    let corrected: HashSet<MaintenanceId> =
        instrument::superseded(maintenance.iter().map(|r| &r.supersedes_id));
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
    /// The record being corrected, by its date, when this is a correction.
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

    fn new(ctx: Ctx, instrument: Instrument, kind: &'static str, action: String) -> RecordPage {
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
        RecordPage {
            ctx,
            instrument,
            kind,
            corrects: None,
            action,
            calibration: CalibrationInput::default(),
            maintenance: MaintenanceInput::default(),
            results,
            kinds,
            errors: FieldErrors::default(),
        }
    }
}

async fn open_instrument(state: &AppState, id: &InstrumentId) -> Result<Instrument, AppError> {
    let id = id.clone();
    let i = state
        .db(move |conn| Ok(instrument::find(conn, &id)?))
        .await?;
    if i.status == InstrumentStatus::Retired {
        return Err(AppError::Forbidden("instruments.retired_no_records"));
    }
    Ok(i)
}

async fn calibration_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<InstrumentId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let id = path.into_inner();
    let i = open_instrument(&state, &id).await?;
    let today = ctx.today();
    // The next due date follows from the instrument's interval; the supervisor may change it.
    let next_due = i
        .calibration_interval_months
        .and_then(|m| today.checked_add_months(chrono::Months::new(m as u32)))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    let mut page = RecordPage::new(
        ctx,
        i,
        "calibration",
        format!("/instruments/{id}/calibrations"),
    );
    page.calibration = CalibrationInput {
        performed_on: today.format("%Y-%m-%d").to_string(),
        next_due_on: next_due,
        ..Default::default()
    };
    render(&page)
}

async fn record_calibration(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<InstrumentId>,
    CsrfForm(form): CsrfForm<CalibrationInput>,
) -> Result<HttpResponse, AppError> {
    save_calibration(ctx, state, session, path.into_inner(), None, form).await
}

async fn calibration_correction_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<(InstrumentId, CalibrationId)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let (id, record) = path.into_inner();
    let i = open_instrument(&state, &id).await?;
    let iid = id.clone();
    let old = state
        .db(move |conn| {
            instrument::calibrations(conn, &iid)?
                .into_iter()
                .find(|r| r.id == record)
                .ok_or(AppError::NotFound)
        })
        .await?;
    let mut page = RecordPage::new(
        ctx,
        i,
        "calibration",
        format!("/instruments/{id}/calibrations/{}/correct", old.id),
    );
    page.corrects = Some(old.performed_on.clone());
    page.calibration = CalibrationInput::from_record(&old);
    render(&page)
}

async fn correct_calibration(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(InstrumentId, CalibrationId)>,
    CsrfForm(form): CsrfForm<CalibrationInput>,
) -> Result<HttpResponse, AppError> {
    let (id, record) = path.into_inner();
    save_calibration(ctx, state, session, id, Some(record), form).await
}

async fn save_calibration(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    id: InstrumentId,
    corrects: Option<CalibrationId>,
    form: CalibrationInput,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let today = ctx.today();
    let (input, iid, old) = (form.clone(), id.clone(), corrects.clone());
    match state
        .submit(move |conn| {
            instrument::record_calibration(conn, &who, &iid, old.as_ref(), &input, today)
        })
        .await?
    {
        Submitted::Done(r) => {
            let text = ctx.t1(
                "instruments.calibration_recorded",
                "date",
                ctx.date(&r.performed_on),
            );
            Ok(done(&session, text, &format!("/instruments/{id}")))
        }
        Submitted::Invalid(errors) => {
            let i = open_instrument(&state, &id).await?;
            let action = match &corrects {
                Some(c) => format!("/instruments/{id}/calibrations/{c}/correct"),
                None => format!("/instruments/{id}/calibrations"),
            };
            let mut page = RecordPage::new(ctx, i, "calibration", action);
            if let Some(c) = corrects {
                let iid = id.clone();
                page.corrects = state
                    .db(move |conn| {
                        Ok(instrument::calibrations(conn, &iid)?
                            .into_iter()
                            .find(|r| r.id == c)
                            .map(|r| r.performed_on))
                    })
                    .await?;
            }
            page.calibration = form;
            page.errors = errors;
            invalid(&page)
        }
    }
}

async fn maintenance_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<InstrumentId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let id = path.into_inner();
    let i = open_instrument(&state, &id).await?;
    let today = ctx.today().format("%Y-%m-%d").to_string();
    let mut page = RecordPage::new(
        ctx,
        i,
        "maintenance",
        format!("/instruments/{id}/maintenance"),
    );
    page.maintenance.performed_on = today;
    render(&page)
}

async fn record_maintenance(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<InstrumentId>,
    CsrfForm(form): CsrfForm<MaintenanceInput>,
) -> Result<HttpResponse, AppError> {
    save_maintenance(ctx, state, session, path.into_inner(), None, form).await
}

async fn maintenance_correction_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<(InstrumentId, MaintenanceId)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let (id, record) = path.into_inner();
    let i = open_instrument(&state, &id).await?;
    let iid = id.clone();
    let old = state
        .db(move |conn| {
            instrument::maintenance(conn, &iid)?
                .into_iter()
                .find(|r| r.id == record)
                .ok_or(AppError::NotFound)
        })
        .await?;
    let mut page = RecordPage::new(
        ctx,
        i,
        "maintenance",
        format!("/instruments/{id}/maintenance/{}/correct", old.id),
    );
    page.corrects = Some(old.performed_on.clone());
    page.maintenance = MaintenanceInput::from_record(&old);
    render(&page)
}

async fn correct_maintenance(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(InstrumentId, MaintenanceId)>,
    CsrfForm(form): CsrfForm<MaintenanceInput>,
) -> Result<HttpResponse, AppError> {
    let (id, record) = path.into_inner();
    save_maintenance(ctx, state, session, id, Some(record), form).await
}

async fn save_maintenance(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    id: InstrumentId,
    corrects: Option<MaintenanceId>,
    form: MaintenanceInput,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let today = ctx.today();
    let (input, iid, old) = (form.clone(), id.clone(), corrects.clone());
    match state
        .submit(move |conn| {
            instrument::record_maintenance(conn, &who, &iid, old.as_ref(), &input, today)
        })
        .await?
    {
        Submitted::Done(r) => {
            let text = ctx.t1(
                "instruments.maintenance_recorded",
                "date",
                ctx.date(&r.performed_on),
            );
            Ok(done(&session, text, &format!("/instruments/{id}")))
        }
        Submitted::Invalid(errors) => {
            let i = open_instrument(&state, &id).await?;
            let action = match &corrects {
                Some(c) => format!("/instruments/{id}/maintenance/{c}/correct"),
                None => format!("/instruments/{id}/maintenance"),
            };
            let mut page = RecordPage::new(ctx, i, "maintenance", action);
            if let Some(c) = corrects {
                let iid = id.clone();
                page.corrects = state
                    .db(move |conn| {
                        Ok(instrument::maintenance(conn, &iid)?
                            .into_iter()
                            .find(|r| r.id == c)
                            .map(|r| r.performed_on))
                    })
                    .await?;
            }
            page.maintenance = form;
            page.errors = errors;
            invalid(&page)
        }
    }
}
