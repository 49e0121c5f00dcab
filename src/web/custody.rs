//! The supervisors' custody verification (the same checks as `lims verify-custody`), run in
//! the background, and the download of a signed checkpoint (as `lims custody-checkpoint`).

use actix_session::Session;
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::access::Permission;
use crate::custody::runs::{self, Run, RunState};
use crate::custody::verify::ChainBreak;
use crate::custody::{checkpoint, key};
use crate::error::AppError;
use crate::web::context::Ctx;
use crate::web::session::{self, CsrfForm};
use crate::web::{render, see_other, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/custody/verify", web::get().to(page))
        .route("/custody/verify", web::post().to(start))
        .route("/custody/checkpoint", web::get().to(download_checkpoint));
}

#[derive(Template)]
#[template(path = "custody/verify.html")]
struct VerifyPage {
    ctx: Ctx,
    run: Option<Run>,
    state: Option<RunState>,
    breaks: Vec<ChainBreak>,
}

impl VerifyPage {
    fn running(&self) -> bool {
        self.state == Some(RunState::Running)
    }

    fn finished(&self) -> bool {
        self.state == Some(RunState::Finished)
    }
}

async fn page(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let run = state.db(|conn| Ok(runs::latest(conn)?)).await?;
    let now = crate::db::now();
    render(&VerifyPage {
        state: run.as_ref().map(|r| r.state(now)),
        breaks: run.as_ref().map(Run::breaks).unwrap_or_default(),
        run,
        ctx,
    })
}

#[derive(serde::Deserialize)]
struct Empty {}

async fn start(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Permission::Supervise)?;
    let actor = ctx.actor()?;
    let starter = actor.clone();
    let (run, started) = state
        .db(move |conn| Ok(runs::start(conn, &starter, &user.id)?))
        .await?;
    if started {
        let keys = key::installed()?;
        let pool = state.pool.clone();
        // Its own thread: the run outlives this request and must not hold a worker.
        std::thread::spawn(move || {
            let result = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                runs::execute(&mut conn, keys, &run, &actor).map_err(|e| e.to_string())
            });
            if let Err(e) = result {
                tracing::error!(run = %run.id, error = %e, "custody verification failed");
            }
        });
        session::push_flash(&session, "info", ctx.t("verify.started"));
    } else {
        session::push_flash(&session, "info", ctx.t("verify.already_running"));
    }
    Ok(see_other("/custody/verify"))
}

async fn download_checkpoint(
    ctx: Ctx,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let actor = ctx.actor()?;
    let (body, summary) = state
        .db(move |conn| {
            let keys = key::installed()?;
            let mut body = Vec::new();
            let summary = checkpoint::write(conn, keys, crate::db::now(), &mut body)
                .map_err(AppError::internal)?;
            checkpoint::record(conn, &actor, &summary)?;
            Ok((body, summary))
        })
        .await?;
    // The name holds only digits and letters, so it needs no quoting rules.
    let name: String = summary
        .created_at
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(15)
        .collect();
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"custody-checkpoint-{name}.txt\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}
