//! Printable labels (Code128 + QR of the lab code) for one sample or all samples of a
//! seizure, and the same as ZPL for Zebra printers.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::access::Permission;
use crate::error::AppError;
use crate::label::{self, LabelData, LabelSheet, LabelSize, LabelView};
use crate::sample::{self, Sample};
use crate::seizure::{self, Seizure};
use crate::web::context::Ctx;
use crate::web::{render, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/samples/{id}/labels", web::get().to(sample_sheet))
        .route("/samples/{id}/labels.zpl", web::get().to(sample_zpl))
        .route("/seizures/{id}/labels", web::get().to(seizure_sheet))
        .route("/seizures/{id}/labels.zpl", web::get().to(seizure_zpl));
}

#[derive(Deserialize)]
struct SizeQuery {
    #[serde(default)]
    size: String,
}

impl SizeQuery {
    fn size(&self) -> LabelSize {
        LabelSize::parse(&self.size).unwrap_or_default()
    }
}

fn data(seizure: &Seizure, s: &Sample) -> LabelData {
    LabelData {
        lab_code: s.lab_code.clone(),
        seizure_reference: seizure.reference.clone(),
        seal_number: s.seal_number.clone(),
        description: s.description.clone(),
    }
}

async fn of_sample(state: &AppState, raw: &str) -> Result<(Seizure, Vec<Sample>), AppError> {
    let id = crate::web::samples::parse_id(raw)?;
    state
        .db(move |conn| {
            let s = sample::find(conn, &id)?;
            Ok((seizure::find(conn, &s.seizure_id)?, vec![s]))
        })
        .await
}

async fn of_seizure(state: &AppState, raw: &str) -> Result<(Seizure, Vec<Sample>), AppError> {
    let id = crate::web::seizures::parse_id(raw)?;
    state
        .db(move |conn| Ok((seizure::find(conn, &id)?, sample::of_seizure(conn, &id)?)))
        .await
}

fn sheet(
    ctx: Ctx,
    seizure: &Seizure,
    samples: &[Sample],
    size: LabelSize,
    base: &str,
    title: String,
) -> Result<HttpResponse, AppError> {
    let labels = samples
        .iter()
        .map(|s| LabelView::new(data(seizure, s)).map_err(AppError::internal))
        .collect::<Result<Vec<_>, _>>()?;
    render(&LabelSheet {
        ctx,
        labels,
        size,
        title,
        back_url: base.to_string(),
        zpl_url: format!("{base}/labels.zpl?size={}", size.as_str()),
    })
}

fn zpl(
    ctx: &Ctx,
    seizure: &Seizure,
    samples: &[Sample],
    size: LabelSize,
    name: &str,
) -> HttpResponse {
    let data: Vec<LabelData> = samples.iter().map(|s| data(seizure, s)).collect();
    let body =
        label::zpl_with_captions(&data, size, &ctx.t("labels.seizure"), &ctx.t("labels.seal"));
    HttpResponse::Ok()
        .content_type("application/zpl; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}-{}.zpl\"", size.as_str()),
        ))
        .body(body)
}

async fn sample_sheet(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SizeQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::HandleSamples)?;
    let (seizure, samples) = of_sample(&state, &path).await?;
    let base = format!("/samples/{}", samples[0].id);
    let title = samples[0].lab_code.clone();
    sheet(ctx, &seizure, &samples, query.size(), &base, title)
}

async fn sample_zpl(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SizeQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::HandleSamples)?;
    let (seizure, samples) = of_sample(&state, &path).await?;
    let name = samples[0].lab_code.clone();
    Ok(zpl(&ctx, &seizure, &samples, query.size(), &name))
}

async fn seizure_sheet(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SizeQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::HandleSamples)?;
    let (seizure, samples) = of_seizure(&state, &path).await?;
    let base = format!("/seizures/{}", seizure.id);
    let title = seizure.reference.clone();
    sheet(ctx, &seizure, &samples, query.size(), &base, title)
}

async fn seizure_zpl(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<SizeQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::HandleSamples)?;
    let (seizure, samples) = of_seizure(&state, &path).await?;
    Ok(zpl(
        &ctx,
        &seizure,
        &samples,
        query.size(),
        &seizure.reference,
    ))
}
