//! Every user's own account: their details, password and language.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::api_token::{self, ApiToken};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::ids::ApiTokenId;
use crate::personnel;
use crate::user::{self, OwnPasswordInput};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::personnel::{person_record, PersonRecord};
use crate::web::session::{self, CsrfForm, NoFields};
use crate::web::{done, render, render_status, see_other, AppState, Submitted};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(show))
        .route("/account/password", web::post().to(change_password))
        .route("/account/tokens", web::post().to(create_token))
        .route("/account/tokens/{id}/revoke", web::post().to(revoke_token));
}

#[derive(Template)]
#[template(path = "account/show.html")]
struct AccountPage {
    ctx: Ctx,
    errors: FieldErrors,
    languages: [Lang; 2],
    /// Laboratory staff see their own training and authorizations (ISO/IEC 17025 6.2).
    record: Option<PersonRecord>,
    tokens: Vec<ApiToken>,
    /// A token just made, shown this once.
    new_token: Option<String>,
    token_label: String,
    token_errors: FieldErrors,
}

impl AccountPage {
    async fn load(ctx: Ctx, state: &AppState) -> Result<AccountPage, AppError> {
        let record = own_record(&ctx, state).await?;
        let me = ctx.user()?.id.clone();
        let tokens = state
            .db(move |conn| Ok(api_token::list_for(conn, &me)?))
            .await?;
        Ok(AccountPage {
            ctx,
            errors: FieldErrors::default(),
            languages: Lang::ALL,
            record,
            tokens,
            new_token: None,
            token_label: String::new(),
            token_errors: FieldErrors::default(),
        })
    }
}

/// The signed-in person's training and authorizations, if they are laboratory staff.
async fn own_record(ctx: &Ctx, state: &AppState) -> Result<Option<PersonRecord>, AppError> {
    let me = ctx.user()?;
    if !personnel::is_analyst(&me) {
        return Ok(None);
    }
    let today = ctx.today();
    let record = state
        .db(move |conn| person_record(conn, &me.id, today))
        .await?;
    Ok(Some(record))
}

async fn show(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    render(&AccountPage::load(ctx, &state).await?)
}

async fn change_password(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<OwnPasswordInput>,
) -> Result<HttpResponse, AppError> {
    let me = ctx.user()?;
    let (client, idle) = (ctx.client_info(), state.config.session_idle);
    let changed = async {
        let current_hash = me.password_hash.clone();
        let hash = state
            .cpu(move || user::prepare_own_password(&current_hash, &form))
            .await?;
        state
            .db(move |conn| user::change_own_password(conn, &me, &client, idle, &hash))
            .await
    };
    match changed.await {
        Ok(started) => {
            // Every session of the account ended; this browser goes on in a new one.
            session::sign_in(&session, &started.token)?;
            session::push_flash(&session, "ok", ctx.t("account.password_changed"));
            Ok(see_other("/account"))
        }
        Err(AppError::Invalid(errors)) => render_status(
            &AccountPage {
                errors,
                ..AccountPage::load(ctx, &state).await?
            },
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    label: String,
}

/// Makes an API token and shows it on this response only (it is stored hashed).
async fn create_token(
    ctx: Ctx,
    state: web::Data<AppState>,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let me = ctx.user()?;
    let actor = ctx.actor()?;
    let label = form.label.clone();
    let made = state
        .submit(move |conn| api_token::create(conn, &actor, &me, Some(&label)))
        .await?;
    match made {
        Submitted::Done(token) => render(&AccountPage {
            new_token: Some(token),
            ..AccountPage::load(ctx, &state).await?
        }),
        Submitted::Invalid(token_errors) => render_status(
            &AccountPage {
                token_errors,
                token_label: form.label,
                ..AccountPage::load(ctx, &state).await?
            },
            StatusCode::BAD_REQUEST,
        ),
    }
}

async fn revoke_token(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    id: web::Path<String>,
    CsrfForm(_): CsrfForm<NoFields>,
) -> Result<HttpResponse, AppError> {
    let me = ctx.user()?.id.clone();
    let actor = ctx.actor()?;
    let id = ApiTokenId::from(id.into_inner());
    state
        .db(move |conn| api_token::revoke(conn, &actor, &me, &id))
        .await?;
    Ok(done(
        &session,
        ctx.t("account.token_revoked_done"),
        "/account#tokens",
    ))
}
