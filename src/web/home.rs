//! The start page after signing in: what this role can do here.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::error::AppError;
use crate::web::context::Ctx;
use crate::web::render;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: Ctx,
    role_key: String,
    duties_key: String,
}

async fn home(ctx: Ctx) -> Result<HttpResponse, AppError> {
    let role = ctx.user()?.role;
    render(&HomePage {
        role_key: role.label_key(),
        duties_key: format!("home.duties.{}", role.as_str()),
        ctx,
    })
}
