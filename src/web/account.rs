//! Every user's own account: their details, password and language.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::error::AppError;
use crate::i18n::Lang;
use crate::personnel;
use crate::user::{self, OwnPasswordInput};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::personnel::{person_record, PersonRecord};
use crate::web::session::{self, CsrfForm};
use crate::web::{render, render_status, see_other, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(show))
        .route("/account/password", web::post().to(change_password));
}

#[derive(Template)]
#[template(path = "account/show.html")]
struct AccountPage {
    ctx: Ctx,
    errors: FieldErrors,
    languages: [Lang; 2],
    /// Laboratory staff see their own training and authorizations (ISO/IEC 17025 6.2).
    record: Option<PersonRecord>,
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
    let record = own_record(&ctx, &state).await?;
    render(&AccountPage {
        ctx,
        errors: FieldErrors::default(),
        languages: Lang::ALL,
        record,
    })
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
                record: own_record(&ctx, &state).await?,
                ctx,
                errors,
                languages: Lang::ALL,
            },
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => Err(e),
    }
}
