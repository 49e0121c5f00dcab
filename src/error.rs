//! One error type for the application. Web responses for it are rendered as localized pages
//! by `web::errors` (or JSON under /api).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};

use crate::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// The i18n key of the reason shown to the user.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    #[error("the form's security token is missing or stale")]
    Csrf,
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Field-level validation errors; handlers re-render their form with these.
    #[error("invalid input")]
    Invalid(FieldErrors),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
    #[error("database unavailable: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    /// One invalid field, for rules checked in the database (e.g. a taken username).
    pub fn invalid(field: &str, key: &str) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, key);
        AppError::Invalid(errors)
    }

    /// A unique index that refused a row (two requests racing past the earlier check)
    /// becomes the same message beside the field as the check gives.
    pub fn unique_as(self, field: &str, key: &str) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match self {
            AppError::Db(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
                AppError::invalid(field, key)
            }
            other => other,
        }
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

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
            AppError::Pool(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Db(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
            AppError::Pool(_) => "errors.unavailable_text",
            AppError::Db(_) | AppError::Internal(_) => "errors.internal_text",
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
