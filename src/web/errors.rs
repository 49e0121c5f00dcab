//! Localized error pages for 400/403/404/500/503, rendered from the `ErrorInfo` an `AppError`
//! leaves on its response (or from the status alone for errors raised by actix itself).

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::error::AppError;
use crate::web::api::{self, problem::ApiError};
use crate::web::context::Ctx;
use crate::web::middleware::RequestInfo;

/// What went wrong, kept on the response so the error-page renderer can localize it.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    pub reason_key: &'static str,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) | AppError::Invalid(_) => StatusCode::BAD_REQUEST,
            AppError::Db(diesel::result::Error::NotFound) => StatusCode::NOT_FOUND,
            AppError::Pool(_) | AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Db(e) if crate::db::is_busy(e) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Db(_) | AppError::Internal(_) | AppError::Tampered(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let reason_key = match self {
            AppError::Forbidden(key) => key,
            AppError::Csrf => "errors.csrf",
            AppError::NotFound | AppError::Db(diesel::result::Error::NotFound) => {
                "errors.not_found_text"
            }
            AppError::BadRequest(_) | AppError::Invalid(_) => "errors.bad_request_text",
            AppError::Pool(_) | AppError::Unavailable(_) => "errors.unavailable_text",
            AppError::Db(e) if crate::db::is_busy(e) => "errors.unavailable_text",
            AppError::TooLarge => "errors.too_large_text",
            AppError::Db(_) | AppError::Internal(_) => "errors.internal_text",
            AppError::Tampered(_) => "errors.tampered_text",
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut res = HttpResponse::build(status)
            .content_type("text/plain; charset=utf-8")
            .body(status.canonical_reason().unwrap_or("error"));
        res.extensions_mut().insert(ErrorInfo { reason_key });
        res
    }
}

#[derive(Template)]
#[template(path = "errors/error.html")]
struct ErrorPage {
    ctx: Ctx,
    status: u16,
    title_key: &'static str,
    reason_key: &'static str,
    /// The request id on server errors, for the user to pass on to the administrator.
    reference: Option<String>,
}

pub fn handlers() -> ErrorHandlers<BoxBody> {
    ErrorHandlers::new().default_handler(render)
}

fn render(res: ServiceResponse<BoxBody>) -> actix_web::Result<ErrorHandlerResponse<BoxBody>> {
    let status = res.status();
    let failed = status.is_client_error() || status.is_server_error();
    if failed && res.request().path().starts_with(api::PREFIX) {
        return Ok(ErrorHandlerResponse::Response(api_problem(res)));
    }
    let own_body = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
    // Responses with a body of their own (a form sent back with errors, JSON) pass as they are.
    if own_body || !(status.is_client_error() || status.is_server_error()) {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let info = res.response().extensions().get::<ErrorInfo>().cloned();
    let (req, old) = res.into_parts();
    let page = page(&req, status, info.map(|i| i.reason_key));
    let mut new = HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page);
    for (name, value) in old.headers() {
        if name == header::LOCATION || name == header::RETRY_AFTER {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

/// Every API error leaves as a problem document: the one its handler made, or one made from
/// the status of an error raised before any API code ran.
fn api_problem(res: ServiceResponse<BoxBody>) -> ServiceResponse<EitherBody<BoxBody>> {
    let written = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes()
            .starts_with(api::problem::CONTENT_TYPE.as_bytes())
    });
    if written {
        return res.map_into_left_body();
    }
    let status = res.status();
    let error = res
        .response()
        .extensions()
        .get::<ApiError>()
        .cloned()
        .unwrap_or_else(|| {
            let info = res.response().extensions().get::<ErrorInfo>().cloned();
            ApiError::from_status(status, info.map(|i| i.reason_key))
        });
    let (req, old) = res.into_parts();
    let new = api::problem::respond(&req, &error, &old);
    ServiceResponse::new(req, new).map_into_right_body()
}

fn page(req: &HttpRequest, status: StatusCode, reason: Option<&'static str>) -> String {
    let (title_key, default_reason) = match status.as_u16() {
        400 => ("errors.bad_request", "errors.bad_request_text"),
        413 => ("errors.too_large", "errors.too_large_text"),
        403 => ("errors.forbidden_title", "errors.forbidden_text"),
        404 => ("errors.not_found", "errors.not_found_text"),
        405 => ("errors.not_found", "errors.not_found_text"),
        503 => ("errors.unavailable", "errors.unavailable_text"),
        _ => ("errors.internal", "errors.internal_text"),
    };
    let reference = status
        .is_server_error()
        .then(|| req.extensions().get::<RequestInfo>().map(|i| i.id.clone()))
        .flatten();
    let tmpl = ErrorPage {
        ctx: Ctx::minimal(req),
        status: status.as_u16(),
        title_key,
        reason_key: reason.unwrap_or(default_reason),
        reference,
    };
    tmpl.render().unwrap_or_else(|e| {
        tracing::error!(error = %e, "error page failed to render");
        format!("<!doctype html><title>{status}</title><h1>{status}</h1>")
    })
}

/// Unmatched routes.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}
