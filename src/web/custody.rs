//! The supervisor's check of every custody chain (the same as `lims verify-custody`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::access::Permission;
use crate::custody::{self, ChainBreak};
use crate::error::AppError;
use crate::web::context::Ctx;
use crate::web::{render_status, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/custody/verify", web::get().to(verify));
}

/// A broken chain with the sample's lab code for the page.
pub struct BreakView {
    pub chain: ChainBreak,
    pub lab_code: String,
}

#[derive(Template)]
#[template(path = "custody/verify.html")]
struct VerifyPage {
    ctx: Ctx,
    checked: usize,
    breaks: Vec<BreakView>,
    checked_at: chrono::NaiveDateTime,
}

async fn verify(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let (checked, breaks) = state
        .db(|conn| {
            let (checked, breaks) = custody::verify_all(conn, |_| {})?;
            let mut views = Vec::new();
            for b in breaks {
                let lab_code = crate::sample::find(conn, &b.sample_id)?.lab_code;
                views.push(BreakView { chain: b, lab_code });
            }
            Ok((checked, views))
        })
        .await?;
    render_status(
        &VerifyPage {
            ctx,
            checked,
            breaks,
            checked_at: crate::db::now(),
        },
        StatusCode::OK,
    )
}
