//! Account administration (admin only): list, create, change role/name/active, reset password.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::access::Permission;
use crate::error::AppError;
use crate::ids::{SessionId, UserId};
use crate::user::session::{self as user_session, SessionRow};
use crate::user::{self, password, NewUserInput, PasswordResetInput, Role, User, UserChangeInput};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::session::{self, CsrfForm, NoFields};
use crate::web::{render, render_status, see_other, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/users", web::get().to(list))
        .route("/admin/users", web::post().to(create))
        .route("/admin/users/new", web::get().to(new_form))
        .route("/admin/users/{id}", web::get().to(edit_form))
        .route("/admin/users/{id}", web::post().to(update))
        .route("/admin/users/{id}/password", web::post().to(reset_password))
        .route(
            "/admin/users/{id}/sessions/{session}/end",
            web::post().to(end_session),
        );
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    ctx: Ctx,
    users: Vec<User>,
}

async fn list(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageUsers)?;
    let users = state.db(|conn| Ok(user::list(conn)?)).await?;
    render(&ListPage { ctx, users })
}

#[derive(Template)]
#[template(path = "users/new.html")]
struct NewPage {
    ctx: Ctx,
    form: NewUserInput,
    errors: FieldErrors,
    roles: &'static [Role],
}

async fn new_form(ctx: Ctx) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageUsers)?;
    render(&NewPage {
        ctx,
        // No role is preselected: the admin chooses one on purpose.
        form: NewUserInput::default(),
        errors: FieldErrors::default(),
        roles: Role::ALL,
    })
}

async fn create(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<NewUserInput>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageUsers)?;
    let actor = ctx.actor()?;
    let input = form.clone();
    let created = async {
        user::check_new(&input, false)?;
        let password = input.password.clone();
        let hash = state.cpu(move || password::hash(&password)).await?;
        state
            .db(move |conn| user::create(conn, &actor, &input, false, &hash))
            .await
    };
    match created.await {
        Ok(created) => {
            session::push_flash(
                &session,
                "ok",
                ctx.tf("users.created", &[("username", &created.username)]),
            );
            Ok(see_other("/admin/users"))
        }
        Err(AppError::Invalid(errors)) => render_status(
            &NewPage {
                ctx,
                form: NewUserInput {
                    password: String::new(),
                    password_confirm: String::new(),
                    ..form
                },
                errors,
                roles: Role::ALL,
            },
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "users/edit.html")]
struct EditPage {
    ctx: Ctx,
    account: User,
    form: UserChangeInput,
    errors: FieldErrors,
    roles: &'static [Role],
    /// The account's open sessions, most recently active first.
    sessions: Vec<SessionRow>,
}

/// The account and its open sessions, for the edit page.
async fn load_account(
    state: &web::Data<AppState>,
    id: UserId,
) -> Result<(User, Vec<SessionRow>), AppError> {
    state
        .db(move |conn| Ok((user::find(conn, &id)?, user_session::list_open(conn, &id)?)))
        .await
}

impl EditPage {
    fn new(
        ctx: Ctx,
        (account, sessions): (User, Vec<SessionRow>),
        form: Option<UserChangeInput>,
        errors: FieldErrors,
    ) -> Self {
        let form = form.unwrap_or_else(|| UserChangeInput {
            full_name: account.full_name.clone(),
            email: account.email.clone().unwrap_or_default(),
            role: account.role.as_str().to_string(),
            active: account.active.then(|| "on".to_string()),
        });
        EditPage {
            ctx,
            account,
            form,
            errors,
            roles: Role::ALL,
            sessions,
        }
    }
}

fn parse_id<T: From<String>>(raw: &str) -> Result<T, AppError> {
    uuid::Uuid::parse_str(raw).map_err(|_| AppError::NotFound)?;
    Ok(T::from(raw.to_string()))
}

async fn edit_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageUsers)?;
    let id = parse_id(&path)?;
    let account = load_account(&state, id).await?;
    render(&EditPage::new(ctx, account, None, FieldErrors::default()))
}

async fn update(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<UserChangeInput>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageUsers)?;
    let id: UserId = parse_id(&path)?;
    let actor = ctx.actor()?;
    let (input, uid) = (form.clone(), id.clone());
    match state
        .db(move |conn| user::update(conn, &actor, &uid, &input))
        .await
    {
        Ok(updated) => {
            session::push_flash(
                &session,
                "ok",
                ctx.tf("users.updated", &[("username", &updated.username)]),
            );
            Ok(see_other("/admin/users"))
        }
        Err(AppError::Invalid(errors)) => {
            let account = load_account(&state, id).await?;
            render_status(
                &EditPage::new(ctx, account, Some(form), errors),
                StatusCode::BAD_REQUEST,
            )
        }
        Err(e) => Err(e),
    }
}

async fn reset_password(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<PasswordResetInput>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageUsers)?;
    let id: UserId = parse_id(&path)?;
    let actor = ctx.actor()?;
    let uid = id.clone();
    let reset = async {
        let hash = state.cpu(move || user::prepare_reset(&form)).await?;
        state
            .db(move |conn| user::reset_password(conn, &actor, &uid, &hash))
            .await
    };
    match reset.await {
        Ok(account) => {
            session::push_flash(
                &session,
                "ok",
                ctx.tf("users.password_reset", &[("username", &account.username)]),
            );
            Ok(see_other(&format!("/admin/users/{}", account.id)))
        }
        Err(AppError::Invalid(errors)) => {
            let account = load_account(&state, id).await?;
            render_status(
                &EditPage::new(ctx, account, None, errors),
                StatusCode::BAD_REQUEST,
            )
        }
        Err(e) => Err(e),
    }
}

/// An administrator ends one of the account's sessions (audited); the person is signed out
/// on their next request, on every instance.
async fn end_session(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageUsers)?;
    let id: UserId = parse_id(&path.0)?;
    let session_id: SessionId = parse_id(&path.1)?;
    let actor = ctx.actor()?;
    let uid = id.clone();
    let account = state
        .db(move |conn| {
            user_session::end_by_admin(conn, &actor, &uid, &session_id)?;
            Ok(user::find(conn, &uid)?)
        })
        .await?;
    session::push_flash(
        &session,
        "ok",
        ctx.tf("sessions.ended", &[("username", &account.username)]),
    );
    Ok(see_other(&format!("/admin/users/{id}")))
}
