//! The start page after signing in: what this role can do here.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::access::Permission;
use crate::error::AppError;
use crate::web::context::Ctx;
use crate::web::{render, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: Ctx,
    role_key: String,
    duties_key: String,
    /// Supervisors: instruments overdue for calibration or due within 30 days.
    instruments_due: Option<i64>,
}

async fn home(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let role = ctx.user()?.role;
    let instruments_due = if ctx.can(Permission::Supervise) {
        let today = ctx.today();
        Some(
            state
                .db(move |conn| Ok(crate::instrument::due_count(conn, today)?))
                .await?,
        )
    } else {
        None
    };
    render(&HomePage {
        role_key: role.label_key(),
        duties_key: format!("home.duties.{}", role.as_str()),
        instruments_due,
        ctx,
    })
}
