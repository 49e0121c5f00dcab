//! The method catalogue: the list with search (everyone in the lab), and for the admin a new
//! method, its next version, and retirement.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::error::AppError;
use crate::ids::MethodId;
use crate::method::{
    self, DecisionRule, Method, MethodFilter, MethodInput, MethodVersion, ResultKind, RetireInput,
    UncertaintyMode,
};
use crate::validation::{opt, FieldErrors};
use crate::web::context::Ctx;
use crate::web::forms::Pager;
use crate::web::session::CsrfForm;
use crate::web::{done, invalid, render, AppState, Submitted};

const PAGE_SIZE: i64 = 50;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/methods", web::get().to(list))
        .route("/methods", web::post().to(create))
        .route("/methods/new", web::get().to(new_form))
        .route("/methods/{id}", web::get().to(show))
        .route("/methods/{id}/edit", web::get().to(edit_form))
        .route("/methods/{id}/edit", web::post().to(new_version))
        .route("/methods/{id}/retire", web::post().to(retire));
}

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    retired: String,
    #[serde(default)]
    after: String,
}

#[derive(Template)]
#[template(path = "methods/list.html")]
struct ListPage {
    ctx: Ctx,
    q: String,
    retired: bool,
    rows: Vec<(Method, MethodVersion)>,
    pager: Pager,
}

async fn list(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewLabRecords)?;
    let query = query.into_inner();
    let filter = MethodFilter {
        text: opt(&query.q),
        include_retired: !query.retired.is_empty(),
    };
    let after = opt(&query.after);
    let first_page = after.is_none();
    let (rows, next) = state
        .db(move |conn| Ok(method::list(conn, &filter, after.as_deref(), PAGE_SIZE)?))
        .await?;
    let pager = Pager::after_key(
        "/methods",
        &[("q", &query.q), ("retired", &query.retired)],
        first_page,
        next,
    );
    render(&ListPage {
        ctx,
        retired: !query.retired.is_empty(),
        q: query.q,
        rows,
        pager,
    })
}

/// The choice lists of the method form, labels translated.
struct Choices {
    kinds: Vec<(String, String)>,
    modes: Vec<(String, String)>,
    rules: Vec<(String, String)>,
}

impl Choices {
    fn new(ctx: &Ctx) -> Choices {
        Choices {
            kinds: ResultKind::ALL
                .iter()
                .map(|k| (k.as_str().into(), ctx.label("methods.kind", k)))
                .collect(),
            modes: UncertaintyMode::ALL
                .iter()
                .map(|m| (m.as_str().into(), ctx.label("methods.mode", m)))
                .collect(),
            rules: DecisionRule::ALL
                .iter()
                .map(|r| (r.as_str().into(), ctx.label("methods.rule", r)))
                .collect(),
        }
    }
}

/// The form of a new method, or of the next version of `method`.
#[derive(Template)]
#[template(path = "methods/form.html")]
struct FormPage {
    ctx: Ctx,
    method: Option<Method>,
    form: MethodInput,
    errors: FieldErrors,
    choices: Choices,
}

impl FormPage {
    fn action(&self) -> String {
        match &self.method {
            Some(m) => format!("/methods/{}/edit", m.id),
            None => "/methods".into(),
        }
    }
}

async fn new_form(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    render(&FormPage {
        choices: Choices::new(&ctx),
        ctx,
        method: None,
        form: MethodInput::blank(),
        errors: FieldErrors::default(),
    })
}

async fn create(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<MethodInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::ManageCatalogue)?;
    let input = form.clone();
    match state
        .submit(move |conn| method::create(conn, &who, &input))
        .await?
    {
        Submitted::Done((m, _)) => {
            let text = ctx.t1("methods.created", "code", &m.code);
            Ok(done(&session, text, &format!("/methods/{}", m.id)))
        }
        Submitted::Invalid(errors) => invalid(&FormPage {
            choices: Choices::new(&ctx),
            ctx,
            method: None,
            form,
            errors,
        }),
    }
}

#[derive(Template)]
#[template(path = "methods/show.html")]
struct ShowPage {
    ctx: Ctx,
    method: Method,
    current: MethodVersion,
    versions: Vec<MethodVersion>,
    form: RetireInput,
    errors: FieldErrors,
}

async fn load_show(
    state: &AppState,
    id: MethodId,
) -> Result<(Method, MethodVersion, Vec<MethodVersion>), AppError> {
    state
        .db(move |conn| {
            let (m, v) = method::find_current(conn, &id)?;
            let versions = method::versions(conn, &id)?;
            Ok((m, v, versions))
        })
        .await
}

async fn show(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<MethodId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewLabRecords)?;
    let (method, current, versions) = load_show(&state, path.into_inner()).await?;
    render(&ShowPage {
        ctx,
        method,
        current,
        versions,
        form: RetireInput::default(),
        errors: FieldErrors::default(),
    })
}

async fn edit_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<MethodId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    let id = path.into_inner();
    let (method, current) = state
        .db(move |conn| Ok(method::find_current(conn, &id)?))
        .await?;
    if method.is_retired() {
        return Err(AppError::Forbidden("methods.retired_no_edit"));
    }
    render(&FormPage {
        choices: Choices::new(&ctx),
        ctx,
        form: MethodInput::from_version(&method, &current),
        method: Some(method),
        errors: FieldErrors::default(),
    })
}

async fn new_version(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<MethodId>,
    CsrfForm(form): CsrfForm<MethodInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::ManageCatalogue)?;
    let id = path.into_inner();
    let (input, mid) = (form.clone(), id.clone());
    match state
        .submit(move |conn| method::new_version(conn, &who, &mid, &input))
        .await?
    {
        Submitted::Done(v) => {
            let text = ctx.t1("methods.version_created", "n", v.version_no);
            Ok(done(&session, text, &format!("/methods/{id}")))
        }
        Submitted::Invalid(errors) => {
            let method = state.db(move |conn| Ok(method::find(conn, &id)?)).await?;
            // The code is not part of a new version: show the method's own.
            let form = MethodInput {
                code: method.code.clone(),
                ..form
            };
            invalid(&FormPage {
                choices: Choices::new(&ctx),
                ctx,
                method: Some(method),
                form,
                errors,
            })
        }
    }
}

async fn retire(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<MethodId>,
    CsrfForm(form): CsrfForm<RetireInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::ManageCatalogue)?;
    let id = path.into_inner();
    let (input, mid) = (form.clone(), id.clone());
    match state
        .submit(move |conn| method::retire(conn, &who, &mid, &input))
        .await?
    {
        Submitted::Done(m) => {
            let text = ctx.t1("methods.retired_done", "code", &m.code);
            Ok(done(&session, text, &format!("/methods/{id}")))
        }
        Submitted::Invalid(errors) => {
            let (method, current, versions) = load_show(&state, id).await?;
            invalid(&ShowPage {
                ctx,
                method,
                current,
                versions,
                form,
                errors,
            })
        }
    }
}
