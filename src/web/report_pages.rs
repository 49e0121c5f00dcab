//! Issued reports for reading and printing: `/reports/{number}` as an HTML page (with a
//! banner when a later issued version supersedes it) and `/reports/{number}/pdf`, the PDF
//! stored at issue, byte for byte. Only issued versions have these addresses.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::access::Permission;
use crate::attachment;
use crate::error::AppError;
use crate::report::issued::{self, Issued};
use crate::report::pdf::Document;
// `Block` is named by `reports/document.html`, which this page includes.
use crate::report::sections::{Block, Printed};
use crate::web::context::Ctx;
use crate::web::disposition;
use crate::web::{render, AppState};

/// Only the number format is routed here, so other `/reports/...` pages keep their paths.
const NUMBER: &str = "{number:RPT-[0-9]{4}-[0-9]{6}}";

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(&format!("/reports/{NUMBER}"), web::get().to(page))
        .route(&format!("/reports/{NUMBER}/pdf"), web::get().to(pdf));
}

#[derive(Template)]
#[template(path = "reports/page.html")]
struct ReportPage {
    ctx: Ctx,
    printed: Printed,
    superseded_by: Option<String>,
}

async fn issued(
    ctx: &Ctx,
    state: &web::Data<AppState>,
    number: String,
) -> Result<Issued, AppError> {
    ctx.require(Permission::ViewCases)?;
    let tz = state.config.timezone;
    state
        .db(move |conn| issued::find(conn, &number, tz))
        .await?
        .ok_or(AppError::NotFound)
}

async fn page(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let report = issued(&ctx, &state, path.into_inner()).await?;
    let verify_url = crate::report::verify_url(
        &state.config.public_url,
        &report.content.report_number,
        &report.content_sha256,
    );
    let printed = Printed::of(&Document {
        content: &report.content,
        signatures: &report.signatures,
        verify_url: &verify_url,
        logo: None,
    })
    .map_err(AppError::internal)?;
    render(&ReportPage {
        ctx,
        printed,
        superseded_by: report.superseded_by,
    })
}

async fn pdf(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let report = issued(&ctx, &state, path.into_inner()).await?;
    let bytes = attachment::read_checked(state.blobs()?, &report.pdf).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header(disposition::attachment(&format!(
            "{}.pdf",
            report.content.report_number
        )))
        .insert_header(("X-Content-SHA256", report.pdf.sha256.as_str()))
        .body(bytes))
}
