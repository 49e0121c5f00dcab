//! Pre-registration of a seizure with its samples, by the same rules as the seizure form.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::access::Permission;
use crate::sample::SampleInput;
use crate::seizure::{self, SeizureInput};
use crate::user::Role;
use crate::web::api::problem::{ApiError, Problem};
use crate::web::api::{utc, Caller};
use crate::web::AppState;

/// The most samples one call registers (as the form's rows).
const MAX_SAMPLES: usize = 50;

/// A seizure and its samples as a customs system sends them. Text fields follow the seizure
/// form's rules; a field left out counts as empty.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewSeizure {
    /// The acta reference, in the format of the customs office.
    #[schema(example = "ACTA-2026-000412")]
    pub reference: String,
    pub customs_office: String,
    /// The declaration (DAM) number, in the format of the customs office.
    #[schema(example = "118-2026-10-012345")]
    pub declaration_number: Option<String>,
    /// Local time of the laboratory, `YYYY-MM-DDTHH:MM`.
    #[schema(example = "2026-03-01T10:30")]
    pub seized_at: String,
    pub place: String,
    pub seizing_officer: String,
    pub goods_description: String,
    /// Harmonized System code as declared (digits, dots allowed).
    pub declared_hs_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub origin_country: Option<String>,
    pub importer: Option<String>,
    /// `red`, `amber`, `green`, `intelligence` or `random`.
    pub risk_channel: String,
    pub notes: Option<String>,
    /// At least one; a customs officer's samples must carry their seal numbers.
    #[schema(max_items = 50)]
    pub samples: Vec<NewSample>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewSample {
    pub description: String,
    pub matrix: Option<String>,
    pub quantity: Option<f64>,
    /// One of `g`, `kg`, `mg`, `mL`, `L`, `units`; required with a quantity.
    pub quantity_unit: Option<String>,
    pub package_count: Option<i64>,
    pub seal_number: Option<String>,
    /// `routine` (when left out) or `urgent`.
    pub priority: Option<String>,
    pub requested_tests: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_date: Option<String>,
}

impl NewSeizure {
    /// The form's fields as typed, for the domain's validation.
    fn into_inputs(self) -> (SeizureInput, Vec<SampleInput>) {
        let text = |v: Option<String>| v.unwrap_or_default();
        let samples = self
            .samples
            .into_iter()
            .map(|s| SampleInput {
                description: s.description,
                matrix: text(s.matrix),
                quantity: s.quantity.map(|q| q.to_string()).unwrap_or_default(),
                quantity_unit: text(s.quantity_unit),
                package_count: s.package_count.map(|n| n.to_string()).unwrap_or_default(),
                seal_number: text(s.seal_number),
                priority: s.priority.unwrap_or_else(|| "routine".into()),
                requested_tests: text(s.requested_tests),
                due_date: text(s.due_date),
            })
            .collect();
        let seizure = SeizureInput {
            reference: self.reference,
            customs_office: self.customs_office,
            declaration_number: text(self.declaration_number),
            seized_at: self.seized_at,
            place: self.place,
            seizing_officer: self.seizing_officer,
            goods_description: self.goods_description,
            declared_hs_code: text(self.declared_hs_code),
            origin_country: text(self.origin_country),
            importer: text(self.importer),
            risk_channel: self.risk_channel,
            notes: text(self.notes),
        };
        (seizure, samples)
    }
}

/// The registered seizure.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSeizure {
    pub id: String,
    pub reference: String,
    pub customs_office: String,
    pub declaration_number: Option<String>,
    /// UTC.
    #[schema(format = DateTime)]
    pub seized_at: String,
    /// Each sample with the lab code it was given, in the order sent.
    pub samples: Vec<CreatedSample>,
    /// The declared tariff code is not in the imported nomenclature (registered all the same).
    pub unknown_tariff_code: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedSample {
    #[schema(example = "LAB-2026-000123")]
    pub lab_code: String,
    pub seal_number: Option<String>,
    pub description: String,
    pub status: String,
}

/// Registers a seizure with its samples (pre-registration before the samples reach the lab).
#[utoipa::path(
    post,
    path = "/api/v1/seizures",
    operation_id = "createSeizure",
    tag = "seizures",
    request_body = NewSeizure,
    responses(
        (status = 201, description = "Registered; `Location` is the seizure's page", body = CreatedSeizure),
        (status = 422, description = "Refused input, a message beside each field", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: web::Json<NewSeizure>,
) -> Result<HttpResponse, ApiError> {
    let user = caller.require(Permission::RegisterSeizure)?;
    let body = body.into_inner();
    if body.samples.len() > MAX_SAMPLES {
        return Err(ApiError::field_key(
            StatusCode::UNPROCESSABLE_ENTITY,
            "samples",
            "api.problem.too_many_samples",
        ));
    }
    let seal_required = user.role == Role::Enforcement;
    let who = user.handler(caller.remote_addr.clone());
    let tz = state.config.timezone;
    let (input, rows) = body.into_inputs();
    let done = state
        .db(move |conn| seizure::register(conn, &who, &input, &rows, seal_required, tz))
        .await?;
    let created = CreatedSeizure {
        id: done.seizure.id.to_string(),
        reference: done.seizure.reference.clone(),
        customs_office: done.seizure.customs_office.clone(),
        declaration_number: done.seizure.declaration_number.clone(),
        seized_at: utc(&done.seizure.seized_at),
        samples: done
            .samples
            .iter()
            .map(|s| CreatedSample {
                lab_code: s.lab_code.clone(),
                seal_number: s.seal_number.clone(),
                description: s.description.clone(),
                status: s.status.as_str().to_string(),
            })
            .collect(),
        unknown_tariff_code: done.unknown_tariff_code,
    };
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/seizures/{}", done.seizure.id)))
        .json(created))
}
