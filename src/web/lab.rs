//! The laboratory's technical records at a glance: methods, instruments (with how many need
//! calibration soon), personnel and, for the admin, the tariff.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::access::Permission;
use crate::error::AppError;
use crate::instrument;
use crate::web::context::Ctx;
use crate::web::{render, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/lab", web::get().to(hub));
}

#[derive(Template)]
#[template(path = "lab/hub.html")]
struct HubPage {
    ctx: Ctx,
    due: i64,
}

async fn hub(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewLabRecords)?;
    let today = ctx.today();
    let due = state
        .db(move |conn| Ok(instrument::due_count(conn, today)?))
        .await?;
    render(&HubPage { ctx, due })
}
