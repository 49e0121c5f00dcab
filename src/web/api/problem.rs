//! RFC 9457 problem details: the one shape of every error the API answers. Handlers and the
//! API's extractors return `ApiError`, which leaves its problem on the response; the error
//! layer (`web::errors`) writes every API error body from there, or from the status alone for
//! errors raised by actix itself (405, a route that does not exist), so no error escapes the
//! shape.

use std::borrow::Cow;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::i18n::{self, Lang};
use crate::validation::FieldErrors;

pub const CONTENT_TYPE: &str = "application/problem+json";

/// An error response (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:lims:problem:<kind>`, stable across releases.
    #[serde(rename = "type")]
    #[schema(example = "urn:lims:problem:invalid-input")]
    pub kind: String,
    /// The HTTP status phrase.
    pub title: String,
    pub status: u16,
    /// What went wrong, in the language asked for (`Accept-Language`: Spanish or English).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The path of the request that failed.
    pub instance: String,
    /// Each wrong field of the input, when the input was refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// One wrong field: its name in the request (`samples[0].seal_number`, `limit`) and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// A message: an i18n key, or text as a parser gave it.
#[derive(Debug, Clone)]
enum Text {
    Key(Cow<'static, str>),
    Raw(String),
}

impl Text {
    fn in_lang(&self, lang: Lang) -> String {
        match self {
            Text::Key(k) => i18n::t(lang, k),
            Text::Raw(s) => s.clone(),
        }
    }
}

/// An API error, before the request's language and path make it a `Problem`.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    detail: Option<Text>,
    errors: Vec<(String, Text)>,
    /// Seconds, sent as `Retry-After` (429).
    retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, detail_key: &'static str) -> ApiError {
        ApiError {
            status,
            detail: Some(Text::Key(Cow::Borrowed(detail_key))),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// 429: asked too often; may ask again after `seconds`.
    pub fn too_many(detail_key: &'static str, seconds: i64) -> ApiError {
        ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, detail_key)
        }
    }

    /// 401: no valid bearer token.
    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "api.problem.unauthorized")
    }

    /// Refused input, with the parser's own words about one field (or the whole body).
    pub fn field(status: StatusCode, field: &str, message: String) -> ApiError {
        ApiError {
            status,
            detail: Some(Text::Key(Cow::Borrowed("api.problem.invalid"))),
            errors: vec![(field.to_string(), Text::Raw(message))],
            retry_after: None,
        }
    }

    /// Refused input: one field and the i18n key of why.
    pub fn field_key(status: StatusCode, field: &str, key: &'static str) -> ApiError {
        ApiError {
            status,
            detail: Some(Text::Key(Cow::Borrowed("api.problem.invalid"))),
            errors: vec![(field.to_string(), Text::Key(Cow::Borrowed(key)))],
            retry_after: None,
        }
    }

    /// 422 with a message beside each wrong field; sample rows `s{i}_{field}` of the seizure
    /// form are named as in the JSON, `samples[i].field`.
    pub fn invalid(errors: &FieldErrors) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: Some(Text::Key(Cow::Borrowed("api.problem.invalid"))),
            errors: errors
                .fields()
                .map(|(field, key)| (json_field(field), Text::Key(Cow::Owned(key.to_string()))))
                .collect(),
            retry_after: None,
        }
    }

    /// The problem of an error response that carries no `ApiError` (raised by actix, or by
    /// the page layer before the API's own), from its status and reason.
    pub fn from_status(status: StatusCode, reason_key: Option<&'static str>) -> ApiError {
        let key = reason_key.unwrap_or(match status.as_u16() {
            401 => "api.problem.unauthorized",
            404 => "api.problem.not_found",
            405 => "api.problem.method_not_allowed",
            413 => "errors.too_large_text",
            503 => "errors.unavailable_text",
            s if s >= 500 => "errors.internal_text",
            _ => "errors.bad_request_text",
        });
        ApiError::new(status, key)
    }

    /// The problem as sent for `req`: in its language, naming its path.
    pub fn problem(&self, lang: Lang, instance: &str) -> Problem {
        Problem {
            kind: format!("urn:lims:problem:{}", kind(self.status)),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail.as_ref().map(|d| d.in_lang(lang)),
            instance: instance.to_string(),
            errors: self
                .errors
                .iter()
                .map(|(field, message)| FieldProblem {
                    field: field.clone(),
                    message: message.in_lang(lang),
                })
                .collect(),
        }
    }
}

/// The problem kinds, one per status the API answers with.
fn kind(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad-request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not-found",
        405 => "method-not-allowed",
        409 => "conflict",
        413 => "too-large",
        415 => "unsupported-media-type",
        422 => "invalid-input",
        429 => "too-many-requests",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "bad-request",
    }
}

fn json_field(field: &str) -> String {
    let row = field
        .strip_prefix('s')
        .and_then(|rest| rest.split_once('_'));
    match row {
        Some((i, name)) if !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()) => {
            format!("samples[{i}].{name}")
        }
        _ => field.to_string(),
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "API error {}", self.status)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    /// The body is written by `web::errors`, which knows the request's language and path.
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status).finish();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"lims\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        res.extensions_mut().insert(self.clone());
        res
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        match e {
            AppError::Invalid(errors) => ApiError::invalid(&errors),
            AppError::Forbidden(key) => ApiError::new(StatusCode::FORBIDDEN, key),
            AppError::BadRequest(text) => ApiError {
                status: StatusCode::BAD_REQUEST,
                detail: Some(Text::Raw(text)),
                errors: Vec::new(),
                retry_after: None,
            },
            other => {
                // The page layer's status and its logging of server errors.
                let status = other.status_code();
                if status.is_server_error() {
                    tracing::error!(error = %other, "API request failed");
                }
                ApiError::from_status(status, None)
            }
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> ApiError {
        AppError::from(e).into()
    }
}

/// The problem body of an API error response, with the headers a client needs kept.
pub fn respond(req: &HttpRequest, error: &ApiError, old: &HttpResponse) -> HttpResponse {
    let lang = req.extensions().get::<Lang>().copied().unwrap_or_default();
    let problem = error.problem(lang, req.path());
    let mut res = HttpResponse::build(error.status)
        .content_type(CONTENT_TYPE)
        .json(problem);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(CONTENT_TYPE),
    );
    for (name, value) in old.headers() {
        if matches!(
            *name,
            header::WWW_AUTHENTICATE | header::RETRY_AFTER | header::ALLOW
        ) {
            res.headers_mut().insert(name.clone(), value.clone());
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_rows_are_named_as_in_the_json() {
        assert_eq!(json_field("s0_description"), "samples[0].description");
        assert_eq!(json_field("s12_seal_number"), "samples[12].seal_number");
        assert_eq!(json_field("seized_at"), "seized_at");
        assert_eq!(json_field("samples"), "samples");
        assert_eq!(json_field("s_x"), "s_x");
    }

    #[test]
    fn every_status_has_its_kind() {
        let p = ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED, None)
            .problem(Lang::En, "/api/v1/seizures");
        assert_eq!(p.kind, "urn:lims:problem:method-not-allowed");
        assert_eq!(p.title, "Method Not Allowed");
        assert_eq!(p.status, 405);
        assert_eq!(p.instance, "/api/v1/seizures");
        assert_eq!(kind(StatusCode::UNPROCESSABLE_ENTITY), "invalid-input");
        assert_eq!(kind(StatusCode::INTERNAL_SERVER_ERROR), "internal");
    }
}
