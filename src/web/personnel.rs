//! Personnel (supervisor): the authorization matrix of the staff, each person's record of
//! training, competence and authorizations (ISO/IEC 17025 6.2), and the forms that add to it.

use std::collections::{HashMap, HashSet};

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::access::Permission;
use crate::error::AppError;
use crate::ids::{AuthorizationId, TrainingRecordId, UserId};
use crate::method::{self, Method, MethodVersion};
use crate::personnel::{
    self, AssessmentResult, Authorization, GrantInput, Matrix, RevokeInput, TrainingInput,
    TrainingRecord,
};
use crate::user::{self, User};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::session::CsrfForm;
use crate::web::{done, invalid, render, AppState, Submitted};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/personnel", web::get().to(matrix))
        .route("/personnel/{id}", web::get().to(profile))
        .route("/personnel/{id}/training", web::get().to(training_form))
        .route("/personnel/{id}/training", web::post().to(record_training))
        .route(
            "/personnel/{id}/training/{record}/correct",
            web::get().to(training_correction_form),
        )
        .route(
            "/personnel/{id}/training/{record}/correct",
            web::post().to(correct_training),
        )
        .route("/personnel/{id}/authorizations", web::get().to(grant_form))
        .route("/personnel/{id}/authorizations", web::post().to(grant))
        .route(
            "/personnel/{id}/authorizations/{auth}/revoke",
            web::get().to(revoke_form),
        )
        .route(
            "/personnel/{id}/authorizations/{auth}/revoke",
            web::post().to(revoke),
        );
}

#[derive(Template)]
#[template(path = "personnel/matrix.html")]
struct MatrixPage {
    ctx: Ctx,
    matrix: Matrix,
}

async fn matrix(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let today = ctx.today();
    let matrix = state
        .db(move |conn| Ok(personnel::matrix(conn, today)?))
        .await?;
    render(&MatrixPage { ctx, matrix })
}

/// A person's training records and authorizations as their record shows them.
pub struct PersonRecord {
    pub trainings: Vec<TrainingView>,
    pub authorizations: Vec<AuthorizationView>,
}

pub struct TrainingView {
    pub record: TrainingRecord,
    pub assessed_by: Option<String>,
    pub corrected: bool,
}

pub struct AuthorizationView {
    pub authorization: Authorization,
    pub method: Method,
    pub version: MethodVersion,
    pub granted_by: String,
    pub state: &'static str,
}

/// Everything on record about `id`, with names resolved (shared with the own account page).
pub fn person_record(
    conn: &mut crate::db::DbConn,
    id: &UserId,
    today: chrono::NaiveDate,
) -> Result<PersonRecord, AppError> {
    let names: HashMap<String, String> = user::list(conn)?
        .into_iter()
        .map(|u| (u.id.0, u.full_name))
        .collect();
    let name = |id: &UserId| names.get(id.as_str()).cloned().unwrap_or_default();
    let trainings = personnel::trainings(conn, id)?;
    let corrected: HashSet<&TrainingRecordId> = trainings
        .iter()
        .filter_map(|r| r.supersedes_id.as_ref())
        .collect();
    let trainings = trainings
        .iter()
        .map(|r| TrainingView {
            assessed_by: r.assessed_by.as_ref().map(name),
            corrected: corrected.contains(&r.id),
            record: r.clone(),
        })
        .collect();
    let authorizations = personnel::authorizations(conn, id)?
        .into_iter()
        .map(|(a, method, version)| AuthorizationView {
            granted_by: name(&a.granted_by),
            state: a.state(today).as_str(),
            authorization: a,
            method,
            version,
        })
        .collect();
    Ok(PersonRecord {
        trainings,
        authorizations,
    })
}

#[derive(Template)]
#[template(path = "personnel/profile.html")]
struct ProfilePage {
    ctx: Ctx,
    person: User,
    record: PersonRecord,
}

async fn profile(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let id = path.into_inner();
    let today = ctx.today();
    let (person, record) = state
        .db(move |conn| {
            let person = personnel::find_person(conn, &id)?;
            Ok((person, person_record(conn, &id, today)?))
        })
        .await?;
    render(&ProfilePage {
        ctx,
        person,
        record,
    })
}

// ---------------------------------------------------------------- training

#[derive(Template)]
#[template(path = "personnel/training.html")]
struct TrainingPage {
    ctx: Ctx,
    person: User,
    /// The record being replaced, by its course, when this corrects or completes one.
    replaces: Option<TrainingRecord>,
    assessors: Vec<(String, String)>,
    results: Vec<(String, String)>,
    form: TrainingInput,
    errors: FieldErrors,
}

impl TrainingPage {
    fn action(&self) -> String {
        match &self.replaces {
            Some(r) => format!("/personnel/{}/training/{}/correct", self.person.id, r.id),
            None => format!("/personnel/{}/training", self.person.id),
        }
    }
}

async fn training_page(
    ctx: Ctx,
    state: &AppState,
    id: UserId,
    replaces: Option<TrainingRecordId>,
    form: Option<TrainingInput>,
    errors: FieldErrors,
) -> Result<TrainingPage, AppError> {
    let (person, staff, old) = state
        .db(move |conn| {
            let person = personnel::find_person(conn, &id)?;
            let old = match &replaces {
                Some(r) => Some(
                    personnel::trainings(conn, &id)?
                        .into_iter()
                        .find(|t| &t.id == r)
                        .ok_or(AppError::NotFound)?,
                ),
                None => None,
            };
            Ok((person, personnel::staff(conn)?, old))
        })
        .await?;
    // Anyone on the staff but the trainee may have assessed the competence.
    let assessors = staff
        .into_iter()
        .filter(|u| u.id != person.id)
        .map(|u| (u.id.0, u.full_name))
        .collect();
    let results = AssessmentResult::ALL
        .iter()
        .map(|r| (r.as_str().into(), ctx.label("personnel.assessment", r)))
        .collect();
    let form = form.unwrap_or_else(|| match &old {
        Some(r) => TrainingInput::from_record(r),
        None => TrainingInput::default(),
    });
    Ok(TrainingPage {
        ctx,
        person,
        replaces: old,
        assessors,
        results,
        form,
        errors,
    })
}

async fn training_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let page = training_page(
        ctx,
        &state,
        path.into_inner(),
        None,
        None,
        FieldErrors::default(),
    );
    render(&page.await?)
}

async fn training_correction_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<(UserId, TrainingRecordId)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let (id, record) = path.into_inner();
    let page = training_page(ctx, &state, id, Some(record), None, FieldErrors::default());
    render(&page.await?)
}

async fn record_training(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<UserId>,
    CsrfForm(form): CsrfForm<TrainingInput>,
) -> Result<HttpResponse, AppError> {
    save_training(ctx, state, session, path.into_inner(), None, form).await
}

async fn correct_training(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(UserId, TrainingRecordId)>,
    CsrfForm(form): CsrfForm<TrainingInput>,
) -> Result<HttpResponse, AppError> {
    let (id, record) = path.into_inner();
    save_training(ctx, state, session, id, Some(record), form).await
}

async fn save_training(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    id: UserId,
    replaces: Option<TrainingRecordId>,
    form: TrainingInput,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let today = ctx.today();
    let (input, uid, old) = (form.clone(), id.clone(), replaces.clone());
    match state
        .submit(move |conn| {
            personnel::record_training(conn, &who, &uid, old.as_ref(), &input, today)
        })
        .await?
    {
        Submitted::Done(r) => {
            let text = ctx.t1("personnel.training_recorded", "course", &r.course);
            Ok(done(&session, text, &format!("/personnel/{id}")))
        }
        Submitted::Invalid(errors) => {
            invalid(&training_page(ctx, &state, id, replaces, Some(form), errors).await?)
        }
    }
}

// ---------------------------------------------------------------- authorizations

#[derive(Template)]
#[template(path = "personnel/grant.html")]
struct GrantPage {
    ctx: Ctx,
    person: User,
    methods: Vec<(String, String)>,
    trainings: Vec<(String, String)>,
    form: GrantInput,
    errors: FieldErrors,
}

async fn grant_page(
    ctx: Ctx,
    state: &AppState,
    id: UserId,
    form: GrantInput,
    errors: FieldErrors,
) -> Result<GrantPage, AppError> {
    let (person, methods, trainings) = state
        .db(move |conn| {
            let person = personnel::find_person(conn, &id)?;
            let trainings = personnel::trainings(conn, &id)?;
            Ok((person, method::in_use(conn)?, trainings))
        })
        .await?;
    let methods = methods
        .into_iter()
        .map(|(m, v)| (m.id.0, format!("{} — {}", m.code, v.name)))
        .collect();
    let corrected: HashSet<&TrainingRecordId> = trainings
        .iter()
        .filter_map(|r| r.supersedes_id.as_ref())
        .collect();
    let trainings = trainings
        .iter()
        .filter(|r| !corrected.contains(&r.id))
        .map(|r| {
            (
                r.id.0.clone(),
                format!("{} ({})", r.course, ctx.date(&r.completed_on)),
            )
        })
        .collect();
    Ok(GrantPage {
        ctx,
        person,
        methods,
        trainings,
        form,
        errors,
    })
}

async fn grant_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let form = GrantInput {
        granted_on: ctx.today().format("%Y-%m-%d").to_string(),
        ..Default::default()
    };
    render(&grant_page(ctx, &state, path.into_inner(), form, FieldErrors::default()).await?)
}

async fn grant(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<UserId>,
    CsrfForm(form): CsrfForm<GrantInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let today = ctx.today();
    let id = path.into_inner();
    let (input, uid) = (form.clone(), id.clone());
    match state
        .submit(move |conn| {
            let granted = personnel::grant(conn, &who, &uid, &input, today)?;
            Ok(method::find(conn, &granted.method_id)?)
        })
        .await?
    {
        Submitted::Done(m) => {
            let text = ctx.t1("personnel.granted", "code", &m.code);
            Ok(done(&session, text, &format!("/personnel/{id}")))
        }
        Submitted::Invalid(errors) => invalid(&grant_page(ctx, &state, id, form, errors).await?),
    }
}

#[derive(Template)]
#[template(path = "personnel/revoke.html")]
struct RevokePage {
    ctx: Ctx,
    person: User,
    authorization: Authorization,
    method: Method,
    version: MethodVersion,
    form: RevokeInput,
    errors: FieldErrors,
}

impl RevokePage {
    fn intro(&self) -> String {
        let date = self.ctx.date(&self.authorization.granted_on);
        self.ctx.tf(
            "personnel.revoke_intro",
            &[
                ("code", &self.method.code),
                ("name", &self.version.name),
                ("date", &date),
            ],
        )
    }
}

async fn revoke_page(
    ctx: Ctx,
    state: &AppState,
    id: UserId,
    auth: AuthorizationId,
    form: RevokeInput,
    errors: FieldErrors,
) -> Result<RevokePage, AppError> {
    let (person, authorization, (method, version)) = state
        .db(move |conn| {
            let person = personnel::find_person(conn, &id)?;
            let a = personnel::find_authorization(conn, &auth)?;
            if a.user_id != person.id {
                return Err(AppError::NotFound);
            }
            let mv = method::find_current(conn, &a.method_id)?;
            Ok((person, a, mv))
        })
        .await?;
    Ok(RevokePage {
        ctx,
        person,
        authorization,
        method,
        version,
        form,
        errors,
    })
}

async fn revoke_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<(UserId, AuthorizationId)>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let (id, auth) = path.into_inner();
    let page = revoke_page(
        ctx,
        &state,
        id,
        auth,
        RevokeInput::default(),
        FieldErrors::default(),
    );
    render(&page.await?)
}

async fn revoke(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(UserId, AuthorizationId)>,
    CsrfForm(form): CsrfForm<RevokeInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let (id, auth) = path.into_inner();
    let (input, uid, aid) = (form.clone(), id.clone(), auth.clone());
    match state
        .submit(move |conn| personnel::revoke(conn, &who, &uid, &aid, &input))
        .await?
    {
        Submitted::Done(_) => {
            let text = ctx.t("personnel.revoked");
            Ok(done(&session, text, &format!("/personnel/{id}")))
        }
        Submitted::Invalid(errors) => {
            invalid(&revoke_page(ctx, &state, id, auth, form, errors).await?)
        }
    }
}
