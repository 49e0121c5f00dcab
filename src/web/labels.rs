//! Printable labels (Code128 + QR of the lab code) for one sample or all samples of a
//! seizure, and the same as ZPL for Zebra printers.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::{self, Permission};
use crate::error::AppError;
use crate::ids::{SampleId, SeizureId};
use crate::label::{self, LabelData, LabelSize, LabelView};
use crate::sample::{self, Sample};
use crate::seizure::{self, Seizure};
use crate::web::context::Ctx;
use crate::web::disposition::attachment;
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

/// The print page of one or more labels (`templates/labels/sheet.html`).
#[derive(Template)]
#[template(path = "labels/sheet.html")]
pub struct LabelSheet {
    pub ctx: Ctx,
    pub labels: Vec<LabelView>,
    pub size: LabelSize,
    pub title: String,
    pub back_url: String,
    pub zpl_url: String,
}

impl LabelSheet {
    /// The sizes offered by the page's size switch.
    pub fn sizes(&self) -> [LabelSize; 2] {
        LabelSize::ALL
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

async fn of_sample(state: &AppState, id: SampleId) -> Result<(Seizure, Vec<Sample>), AppError> {
    state
        .db(move |conn| {
            let s = sample::find(conn, &id)?;
            Ok((seizure::find(conn, &s.seizure_id)?, vec![s]))
        })
        .await
}

async fn of_seizure(state: &AppState, id: SeizureId) -> Result<(Seizure, Vec<Sample>), AppError> {
    state
        .db(move |conn| Ok((seizure::find(conn, &id)?, sample::of_seizure(conn, &id)?)))
        .await
}

/// Refuses the labels of a seizure the signed-in user may not print (see
/// `access::may_print_labels`); checked after loading, since it depends on who registered it.
fn check(ctx: &Ctx, seizure: &Seizure) -> Result<(), AppError> {
    let user = ctx.user()?;
    if access::may_print_labels(&user, &seizure.registered_by) {
        Ok(())
    } else {
        Err(AppError::Forbidden(access::REFUSED_LABELS))
    }
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
        .insert_header(attachment(&format!("{name}-{}.zpl", size.as_str())))
        .body(body)
}

async fn sample_sheet(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SampleId>,
    query: web::Query<SizeQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewCases)?;
    let (seizure, samples) = of_sample(&state, path.into_inner()).await?;
    check(&ctx, &seizure)?;
    let base = format!("/samples/{}", samples[0].id);
    let title = samples[0].lab_code.clone();
    sheet(ctx, &seizure, &samples, query.size(), &base, title)
}

async fn sample_zpl(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SampleId>,
    query: web::Query<SizeQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewCases)?;
    let (seizure, samples) = of_sample(&state, path.into_inner()).await?;
    check(&ctx, &seizure)?;
    let name = samples[0].lab_code.clone();
    Ok(zpl(&ctx, &seizure, &samples, query.size(), &name))
}

async fn seizure_sheet(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SeizureId>,
    query: web::Query<SizeQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewCases)?;
    let (seizure, samples) = of_seizure(&state, path.into_inner()).await?;
    check(&ctx, &seizure)?;
    let base = format!("/seizures/{}", seizure.id);
    let title = seizure.reference.clone();
    sheet(ctx, &seizure, &samples, query.size(), &base, title)
}

async fn seizure_zpl(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SeizureId>,
    query: web::Query<SizeQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewCases)?;
    let (seizure, samples) = of_seizure(&state, path.into_inner()).await?;
    check(&ctx, &seizure)?;
    Ok(zpl(
        &ctx,
        &seizure,
        &samples,
        query.size(),
        &seizure.reference,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_cannot_break_the_header() {
        let value = attachment("ACTA-ÑU\r\n\"; filename=evil.exe-50x25.zpl").to_string();
        assert_eq!(
            value,
            "attachment; filename=\"ACTA-_U_____filename_evil.exe-50x25.zpl\"; \
             filename*=UTF-8''ACTA%2D%C3%91U___%3B%20filename=evil.exe%2D50x25.zpl"
        );
        assert!(actix_web::http::header::HeaderValue::from_str(&value).is_ok());
    }

    #[test]
    fn sheet_renders_codes_raw_and_user_text_escaped() {
        let mut d = LabelData {
            lab_code: "LAB-2026-000123".into(),
            seizure_reference: "ACTA-2026-0412".into(),
            seal_number: None,
            description: String::new(),
        };
        d.description = "<script>alert(1)</script>".to_string();
        let sheet = LabelSheet {
            ctx: Ctx {
                lang: crate::i18n::Lang::Es,
                tz: chrono_tz::UTC,
                user: None,
                csrf: "token".to_string(),
                flash: Vec::new(),
                path: "/samples/1/label".to_string(),
                query: None,
                remote_addr: None,
                user_agent: None,
                session_id: None,
            },
            labels: vec![LabelView::new(d).unwrap()],
            size: LabelSize::Small,
            title: "Etiquetas".to_string(),
            back_url: "/samples/1".to_string(),
            zpl_url: "/samples/1/label.zpl?size=50x25".to_string(),
        };
        let html = sheet.render().unwrap();
        assert!(html.contains("<svg xmlns="));
        assert!(html.contains("&#60;script&#62;alert(1)"));
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("/static/css/labels-50x25.css"));
        assert!(html.contains("href=\"/samples/1/label.zpl?size=50x25\""));
        assert!(!html.contains("style="));
        assert!(!html.contains("onclick"));
    }
}
