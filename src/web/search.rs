//! The search box on every page: one exact match goes straight to the record, else a result
//! list (exact, then starting with, then containing the text).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::error::AppError;
use crate::search::{self, Hit, Results};
use crate::web::context::Ctx;
use crate::web::{render_status, see_other, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/search", web::get().to(find));
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

#[derive(Template)]
#[template(path = "search/results.html")]
struct ResultsPage {
    ctx: Ctx,
    q: String,
    results: Results,
}

async fn find(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewCases)?;
    let q = query.into_inner().q.trim().to_string();
    let text = q.clone();
    let results = state
        .db(move |conn| Ok(search::search(conn, &text)?))
        .await?;
    if let Some(one) = results.unique_exact() {
        return Ok(see_other(&one.url()));
    }
    render_status(&ResultsPage { ctx, q, results }, StatusCode::OK)
}
