//! The public verification check, as the page `/verify/{number}` gives it: whether this
//! laboratory issued that number with that content, and nothing more. No token needed; the
//! same per-address limit as the page, and every check kept.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::report::verification::{self, Checked, Question, Via};
use crate::web::api::problem::ApiError;
use crate::web::api::utc;
use crate::web::context::client_addr;
use crate::web::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HashQuery {
    /// The verification code printed on the report: the SHA-256 (64 hex digits) of its
    /// content.
    pub h: Option<String>,
}

/// What the laboratory says about a report number and content hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification {
    #[schema(example = "RPT-2026-000001")]
    pub number: String,
    /// `issued` (valid and in force), `superseded` (valid, replaced by an amendment),
    /// `mismatch` (the number was issued with other content), `unknown` (no such number) or
    /// `not_issued` (never issued).
    #[schema(example = "issued")]
    pub outcome: String,
    /// Whether a report with this number and this content was issued by this laboratory.
    pub valid: bool,
    #[schema(format = DateTime)]
    pub issued_at: Option<String>,
    pub laboratory: Option<String>,
    /// The number of the amendment that replaced it.
    pub superseded_by: Option<String>,
}

/// Checks a report number with its content hash (public, limited per address).
#[utoipa::path(
    get,
    path = "/api/v1/verify/{number}",
    operation_id = "verifyReport",
    tag = "verification",
    security(()),
    params(
        ("number" = String, Path, description = "The report number", example = "RPT-2026-000001"),
        HashQuery,
    ),
    responses(
        (status = 200, description = "The answer", body = Verification),
        (status = 429, description = "Too many checks from this address; see Retry-After",
            content_type = "application/problem+json", body = crate::web::api::problem::Problem),
    ),
)]
pub async fn check(
    req: HttpRequest,
    state: web::Data<AppState>,
    number: web::Path<String>,
    query: web::Query<HashQuery>,
) -> Result<HttpResponse, ApiError> {
    let number = verification::parse_number(&number).ok_or_else(|| {
        ApiError::field_key(
            StatusCode::BAD_REQUEST,
            "number",
            "report_verify.bad_number",
        )
    })?;
    let hash = query
        .h
        .as_deref()
        .and_then(verification::parse_sha256)
        .ok_or_else(|| {
            ApiError::field_key(StatusCode::BAD_REQUEST, "h", "report_verify.bad_hash")
        })?;
    let addr = client_addr(&req);
    let question = Question::Number { number, hash };
    let checked = state
        .db(move |conn| {
            Ok(verification::check(
                conn,
                &question,
                Via::Api,
                addr.as_deref(),
            )?)
        })
        .await?;
    match checked {
        Checked::Limited { retry_after } => {
            Err(ApiError::too_many("report_verify.limited_api", retry_after))
        }
        Checked::Answered(v) => Ok(HttpResponse::Ok().json(Verification {
            number: v.report_number.unwrap_or_default(),
            valid: v.issued.is_some(),
            outcome: v.outcome.as_str().to_string(),
            issued_at: v.issued.as_ref().map(|i| utc(&i.issued_at)),
            laboratory: v.issued.as_ref().map(|i| i.laboratory.clone()),
            superseded_by: v.issued.and_then(|i| i.superseded_by),
        })),
    }
}
