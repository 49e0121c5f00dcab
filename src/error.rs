//! One error type for the application. `web::errors` turns it into an HTTP status and a
//! localized page (or JSON under /api); nothing here knows about HTTP.

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
    /// A request body over the size limit.
    #[error("request body too large")]
    TooLarge,
    /// The database failed or did not answer in time (`db::WAIT`) where the request cannot go
    /// on without it: the answer is "try again" (503), never a sign-out.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A stored file whose bytes no longer match the SHA-256 recorded for it: never served.
    #[error("stored file does not match its recorded hash: {0}")]
    Tampered(String),
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

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

impl From<FieldErrors> for AppError {
    fn from(errors: FieldErrors) -> Self {
        AppError::Invalid(errors)
    }
}
