//! Files of `static/`, compiled into the binary so a copied `lims` needs no folder beside it.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::AppError;

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "css/lims.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/lims.css"),
    ),
    (
        "css/report.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/report.css"),
    ),
    (
        "css/labels.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/labels.css"),
    ),
    (
        "css/labels-50x25.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/labels-50x25.css"),
    ),
    (
        "css/labels-100x50.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/css/labels-100x50.css"),
    ),
    (
        "js/print.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/print.js"),
    ),
    (
        "js/forms.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/forms.js"),
    ),
    (
        "js/tariff.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/js/tariff.js"),
    ),
    (
        "img/logo.svg",
        "image/svg+xml",
        include_bytes!("../../static/img/logo.svg"),
    ),
];

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{path:.*}", web::get().to(serve));
}

async fn serve(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, content_type, bytes) = FILES
        .iter()
        .find(|(name, _, _)| *name == path.as_str())
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, *content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(*bytes))
}
