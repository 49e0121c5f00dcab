//! Issued reports: the versions of a case, one version's frozen content and its stored PDF.
//! Drafts and versions awaiting a signature do not exist here (404).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::access::Permission;
use crate::report::published::{self, Case, Published};
use crate::web::api::problem::ApiError;
use crate::web::api::{utc, Caller, PageQuery, BASE};
use crate::web::AppState;

/// One issued version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportVersion {
    #[schema(example = "RPT-2026-000001")]
    pub number: String,
    /// 1 for the original, 2 for its first amendment, …
    pub version: i32,
    #[schema(format = DateTime)]
    pub issued_at: String,
    /// The number of the issued version that superseded this one, if any.
    pub superseded_by: Option<String>,
    /// SHA-256 (hex) of the canonical content: what the signatures and the public
    /// verification check.
    pub content_sha256: String,
    /// Where the stored PDF is, when there is one.
    pub pdf: Option<String>,
}

impl From<Published> for ReportVersion {
    fn from(p: Published) -> ReportVersion {
        ReportVersion {
            pdf: p
                .has_pdf
                .then(|| format!("{BASE}/reports/{}/pdf", p.number)),
            issued_at: utc(&p.issued_at),
            number: p.number,
            version: p.version_no,
            superseded_by: p.superseded_by,
            content_sha256: p.content_sha256,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReportPage {
    pub reports: Vec<ReportVersion>,
    /// The `after` of the next page; null on the last page.
    pub next: Option<String>,
}

/// A signature as printed on the report (21 CFR 11.50).
#[derive(Debug, Serialize, ToSchema)]
pub struct Signature {
    pub signer_name: String,
    pub signer_role: String,
    /// `reviewed_approved`, `technical_review` or `authored`.
    pub meaning_code: String,
    /// The meaning in the report's language.
    pub meaning: String,
    #[schema(format = DateTime)]
    pub signed_at: String,
    pub signature_hash: String,
}

/// An issued version in full.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedReport {
    #[serde(flatten)]
    pub version: ReportVersion,
    /// The report's canonical content, exactly as hashed and signed (`format_version` names
    /// its shape).
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    pub signatures: Vec<Signature>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CaseQuery {
    /// The seizure's reference (acta). Give this or `declaration`.
    pub seizure: Option<String>,
    /// The declaration (DAM) number. Give this or `seizure`.
    pub declaration: Option<String>,
}

fn not_found() -> ApiError {
    ApiError::from_status(StatusCode::NOT_FOUND, None)
}

/// The issued report versions of a seizure or a declaration, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/reports",
    operation_id = "listReports",
    tag = "reports",
    params(CaseQuery, PageQuery),
    responses((status = 200, description = "One page of issued versions", body = ReportPage)),
)]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    case: web::Query<CaseQuery>,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::ViewCases)?;
    let case = match case.into_inner() {
        CaseQuery {
            seizure: Some(r),
            declaration: None,
        } => Case::Seizure(r),
        CaseQuery {
            seizure: None,
            declaration: Some(d),
        } => Case::Declaration(d),
        _ => {
            return Err(ApiError::field_key(
                StatusCode::BAD_REQUEST,
                "seizure",
                "api.problem.one_case",
            ))
        }
    };
    let limit = page.limit()?;
    let after = page.cursor(published::Cursor::decode)?;
    let (rows, next) = state
        .db(move |conn| Ok(published::list(conn, &case, after.as_ref(), limit)?))
        .await?;
    Ok(HttpResponse::Ok().json(ReportPage {
        reports: rows.into_iter().map(ReportVersion::from).collect(),
        next: next.map(|c| c.encode()),
    }))
}

/// An issued version's content, signatures and successor.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{number}",
    operation_id = "getReport",
    tag = "reports",
    params(("number" = String, Path, description = "The report number", example = "RPT-2026-000001")),
    responses((status = 200, description = "The issued version", body = IssuedReport)),
)]
pub async fn show(
    caller: Caller,
    state: web::Data<AppState>,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::ViewCases)?;
    let number = number.into_inner();
    let issued = state
        .db(move |conn| Ok(published::find(conn, &number)?))
        .await?
        .ok_or_else(not_found)?;
    let content = serde_json::from_str(&issued.content).map_err(|e| {
        tracing::error!(error = %e, number = issued.summary.number, "stored report content is not JSON");
        ApiError::from_status(StatusCode::INTERNAL_SERVER_ERROR, None)
    })?;
    Ok(HttpResponse::Ok().json(IssuedReport {
        content,
        signatures: issued
            .signatures
            .into_iter()
            .map(|s| Signature {
                signed_at: utc(&s.signed_at),
                signer_name: s.signer_name,
                signer_role: s.signer_role,
                meaning_code: s.meaning_code,
                meaning: s.meaning_text,
                signature_hash: s.signature_hash,
            })
            .collect(),
        version: issued.summary.into(),
    }))
}

/// The stored PDF of an issued version, byte for byte as issued.
#[utoipa::path(
    get,
    path = "/api/v1/reports/{number}/pdf",
    operation_id = "getReportPdf",
    tag = "reports",
    params(("number" = String, Path, description = "The report number", example = "RPT-2026-000001")),
    responses((status = 200, description = "The PDF", content_type = "application/pdf", body = Vec<u8>)),
)]
pub async fn pdf(
    caller: Caller,
    state: web::Data<AppState>,
    number: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Permission::ViewCases)?;
    let number = number.into_inner();
    let wanted = number.clone();
    let attachment = state
        .db(move |conn| Ok(published::pdf(conn, &wanted)?))
        .await?
        .ok_or_else(not_found)?;
    let bytes = crate::attachment::read_checked(state.blobs()?, &attachment).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{number}.pdf\""),
        ))
        .body(bytes))
}
