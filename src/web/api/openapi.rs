//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` and the types'
//! `ToSchema`. Every operation but this one needs the bearer token, and every error response
//! of every operation is a problem document (added here, so none can be forgotten).

use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::problem::{self, FieldProblem, Problem};
use super::{reports, samples, seizures, verify};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Customs LIMS API",
        description = "Seizure pre-registration, sample status and custody, and issued test \
                       reports, for customs systems. Send `Authorization: Bearer <token>`; \
                       tokens are made on the account page or with `lims api-token USERNAME`. \
                       Errors are RFC 9457 problem documents.",
        version = "1"
    ),
    paths(
        seizures::create,
        samples::show,
        samples::custody,
        reports::list,
        reports::show,
        reports::pdf,
        verify::check,
    ),
    components(schemas(Problem, FieldProblem)),
    modifiers(&Conventions),
    security(("bearer" = [])),
    tags(
        (name = "seizures", description = "Registering seizures and their samples"),
        (name = "samples", description = "Where a sample is and its chain of custody"),
        (name = "reports", description = "Issued test reports"),
        (name = "verification", description = "Whether a report was issued (public)"),
    )
)]
pub struct ApiDoc;

/// The errors any authenticated operation may answer, besides those it declares itself.
const ERRORS: &[(u16, &str)] = &[
    (
        400,
        "Bad request: a query parameter or the body could not be read",
    ),
    (401, "No valid bearer token"),
    (403, "The token's role may not do this"),
    (404, "Not found"),
    (405, "Method not allowed"),
    (413, "Body too large"),
    (415, "Body is not JSON"),
    (422, "Refused input"),
    (500, "Server error"),
    (503, "Database unavailable, try again"),
];

struct Conventions;

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        for (_, item) in doc.paths.paths.iter_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                let with_body = op.request_body.is_some();
                for (code, description) in ERRORS {
                    // Only a body can be too large, not JSON or refused.
                    if !with_body && matches!(code, 413 | 415 | 422) {
                        continue;
                    }
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| RefOr::T(problem_response(description)));
                }
            }
        }
    }
}

fn problem_response(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            problem::CONTENT_TYPE,
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                ))))
                .build(),
        )
        .build()
}

/// The document itself (public, so a client can be generated before it has a token).
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
