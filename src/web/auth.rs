//! First-run setup, sign-in, sign-out and the language switch.

use actix_session::Session;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::auth::{self, LoginOutcome, LoginStart};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::user::session as user_session;
use crate::user::{self, password, NewUserInput};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::session::{self, CsrfForm, NoFields};
use crate::web::{render, render_status, see_other, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(setup_page))
        .route("/setup", web::post().to(setup_submit))
        .route("/login", web::get().to(login_page))
        .route("/login", web::post().to(login_submit))
        .route("/logout", web::post().to(logout))
        .route("/language", web::post().to(switch_language));
}

#[derive(Template)]
#[template(path = "auth/setup.html")]
struct SetupPage {
    ctx: Ctx,
    form: NewUserInput,
    errors: FieldErrors,
}

async fn setup_page(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if state.has_users().await? {
        return Ok(see_other("/login"));
    }
    render(&SetupPage {
        ctx,
        form: NewUserInput::default(),
        errors: FieldErrors::default(),
    })
}

async fn setup_submit(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<NewUserInput>,
) -> Result<HttpResponse, AppError> {
    if state.has_users().await? {
        return Ok(see_other("/login"));
    }
    let actor = crate::audit::Actor {
        user_id: None,
        username: form.username.clone(),
        remote_addr: ctx.remote_addr.clone(),
    };
    let (input, client, idle) = (form.clone(), ctx.client_info(), state.config.session_idle);
    let created = async {
        user::check_new(&input, true)?;
        let password = input.password.clone();
        let hash = state.cpu(move || password::hash(&password)).await?;
        state
            .db(move |conn| {
                let admin = user::create(conn, &actor, &input, true, &hash)?;
                Ok(user_session::start(conn, &admin, &client, idle)?)
            })
            .await
    };
    match created.await {
        Ok(started) => {
            session::set_lang(&session, ctx.lang);
            session::sign_in(&session, &started.token)?;
            session::push_flash(&session, "ok", ctx.t("setup.done"));
            Ok(see_other("/"))
        }
        Err(AppError::Invalid(errors)) => render_status(
            &SetupPage {
                ctx,
                form: NewUserInput {
                    password: String::new(),
                    password_confirm: String::new(),
                    ..form
                },
                errors,
            },
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    ctx: Ctx,
    username: String,
    errors: FieldErrors,
    /// A message that concerns the whole form (wrong credentials, lockout).
    problem: Option<String>,
}

async fn login_page(ctx: Ctx) -> Result<HttpResponse, AppError> {
    if ctx.user.is_some() {
        return Ok(see_other("/"));
    }
    render(&LoginPage {
        ctx,
        username: String::new(),
        errors: FieldErrors::default(),
        problem: None,
    })
}

async fn login_submit(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = FieldErrors::default();
    if form.username.trim().is_empty() {
        errors.add("username", "validation.required");
    }
    if form.password.is_empty() {
        errors.add("password", "validation.required");
    }
    let mut retry_after = None;
    let (status, problem) = if !errors.is_empty() {
        (StatusCode::BAD_REQUEST, None)
    } else {
        match attempt_login(&ctx, &state, &form).await? {
            LoginOutcome::Success(_, started) => {
                session::sign_in(&session, &started.token)?;
                return Ok(see_other("/"));
            }
            LoginOutcome::Invalid => (
                StatusCode::UNAUTHORIZED,
                Some(ctx.t("auth.invalid_credentials")),
            ),
            LoginOutcome::Locked { seconds } => {
                retry_after = Some(seconds);
                let minutes = auth::minutes(seconds).to_string();
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    Some(ctx.tf("auth.locked", &[("minutes", &minutes)])),
                )
            }
        }
    };
    let mut res = render_status(
        &LoginPage {
            ctx,
            username: form.username.trim().to_string(),
            errors,
            problem,
        },
        status,
    )?;
    if let Some(seconds) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    Ok(res)
}

/// Records the attempt, checks the password with no pooled connection held, then finishes
/// (see `auth::begin_login`).
async fn attempt_login(
    ctx: &Ctx,
    state: &web::Data<AppState>,
    form: &LoginForm,
) -> Result<LoginOutcome, AppError> {
    let (username, remote) = (form.username.clone(), ctx.remote_addr.clone());
    let pending = match state
        .db(move |conn| auth::begin_login(conn, &username, remote))
        .await?
    {
        LoginStart::Locked { seconds } => return Ok(LoginOutcome::Locked { seconds }),
        LoginStart::Check(pending) => pending,
    };
    let password = form.password.clone();
    let checked = state.cpu(move || Ok(pending.check(&password))).await?;
    let (client, idle) = (ctx.client_info(), state.config.session_idle);
    state
        .db(move |conn| auth::finish_login(conn, checked, &client, idle))
        .await
}

async fn logout(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    if let (Some(user), Some(id)) = (ctx.user.clone(), ctx.session_id.clone()) {
        let remote = ctx.remote_addr.clone();
        state
            .db(move |conn| Ok(auth::logout(conn, &user, &id, remote)?))
            .await?;
    }
    session::sign_out(&session);
    session::push_flash(&session, "ok", ctx.t("auth.signed_out"));
    Ok(see_other("/login"))
}

#[derive(Deserialize)]
struct LanguageForm {
    #[serde(default)]
    lang: String,
    #[serde(default)]
    next: String,
}

/// Switches the interface language: remembered on the account when signed in, else in the
/// session.
async fn switch_language(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<LanguageForm>,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::parse(&form.lang).ok_or_else(|| AppError::BadRequest("language".into()))?;
    session::set_lang(&session, lang);
    if let Some(user) = ctx.user.clone() {
        let remote = ctx.remote_addr.clone();
        state
            .db(move |conn| user::set_language(conn, &user, remote, lang))
            .await?;
    }
    // Only local paths, so the switch cannot be used as an open redirect.
    let next = if form.next.starts_with('/')
        && !form.next.starts_with("//")
        && !form.next.contains('\\')
        && !form.next.chars().any(char::is_control)
    {
        form.next
    } else {
        "/".to_string()
    };
    Ok(see_other(&next))
}
