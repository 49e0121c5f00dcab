//! The JSON API for customs systems under `/api/v1/`: bearer tokens instead of the session
//! cookie (no CSRF token: a browser never sends a bearer token by itself), the same role rules
//! as the pages, every authenticated or refused call in the audit log, and RFC 9457 problems
//! for every error (`problem`). The OpenAPI document is generated from the handlers
//! (`openapi`).

pub mod openapi;
pub mod problem;
mod reports;
mod samples;
mod seizures;
mod verify;

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::JsonPayloadError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, Error, FromRequest, HttpMessage, HttpRequest};
use serde::Deserialize;
use std::future::{ready, Ready};
use utoipa::IntoParams;

use crate::access::{self, Permission};
use crate::api_token::{self, Call};
use crate::audit::Actor;
use crate::ids::ApiTokenId;
use crate::user::User;
use crate::web::context::client_addr;
use crate::web::AppState;
use problem::ApiError;

/// Paths under this prefix are the API's: problems instead of error pages, and the page
/// layer's sign-in, language and origin checks do not apply.
pub const PREFIX: &str = "/api/";
/// The current version's base path.
pub const BASE: &str = "/api/v1";

/// Answered without a token: exact paths, and paths under prefixes (a public verification
/// check takes one line here).
const PUBLIC_PATHS: &[&str] = &["/api/v1/openapi.json"];
const PUBLIC_PREFIXES: &[&str] = &["/api/v1/verify/"];

fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.contains(&path) || PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Request bodies: the same limit as the forms.
const BODY_LIMIT: usize = 256 * 1024;

pub fn config(cfg: &mut web::ServiceConfig) {
    let json = web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|e, _| json_error(e).into());
    let query = web::QueryConfig::default().error_handler(|e, _| {
        ApiError::field(StatusCode::BAD_REQUEST, "query", e.to_string()).into()
    });
    let path = web::PathConfig::default()
        .error_handler(|_, _| ApiError::from_status(StatusCode::NOT_FOUND, None).into());
    cfg.service(
        web::scope(BASE)
            .wrap(from_fn(gate))
            .app_data(json)
            .app_data(query)
            .app_data(path)
            .service(resource("/openapi.json", web::get().to(openapi::serve)))
            .service(resource("/seizures", web::post().to(seizures::create)))
            .service(resource(
                "/samples/{lab_code}",
                web::get().to(samples::show),
            ))
            .service(resource(
                "/samples/{lab_code}/custody",
                web::get().to(samples::custody),
            ))
            .service(resource("/reports", web::get().to(reports::list)))
            .service(resource("/reports/{number}", web::get().to(reports::show)))
            .service(resource(
                "/reports/{number}/pdf",
                web::get().to(reports::pdf),
            ))
            .service(resource("/verify/{number}", web::get().to(verify::check)))
            .default_service(web::to(not_found)),
    );
}

/// A path of the API with its one method; other methods are answered 405 (a bare route would
/// fall through to the scope's 404).
fn resource(path: &str, route: actix_web::Route) -> actix_web::Resource {
    web::resource(path)
        .route(route)
        .default_service(web::to(method_not_allowed))
}

async fn method_not_allowed() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::from_status(StatusCode::METHOD_NOT_ALLOWED, None))
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::from_status(StatusCode::NOT_FOUND, None))
}

fn json_error(e: JsonPayloadError) -> ApiError {
    match e {
        JsonPayloadError::ContentType => {
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "api.problem.json_only")
        }
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE, None)
        }
        // Well-formed JSON of the wrong shape (a number where text goes) is refused input.
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, "body", e.to_string())
        }
        other => ApiError::field(StatusCode::BAD_REQUEST, "body", other.to_string()),
    }
}

/// The account and token an API call is made with (put into the request by `gate`).
#[derive(Clone)]
pub struct Caller {
    pub user: Arc<User>,
    pub token_id: ApiTokenId,
    pub remote_addr: Option<String>,
}

impl Caller {
    /// The caller, if their role allows `permission` (403 with the pages' reason otherwise).
    pub fn require(&self, permission: Permission) -> Result<&User, ApiError> {
        if access::allows(self.user.role, permission) {
            Ok(&self.user)
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                access::refusal_reason(permission),
            ))
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Caller, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Caller>()
                .cloned()
                .ok_or_else(ApiError::unauthorized),
        )
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

/// Authenticates the bearer token, runs the call and audits it (refusals too). Public paths
/// pass untouched.
async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if is_public(req.path()) {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    let remote_addr = client_addr(req.request());
    let (method, path) = (req.method().to_string(), req.path().to_string());
    let found = match bearer(&req) {
        Some(token) => {
            state
                .db(move |conn| Ok(api_token::authenticate(conn, &token)?))
                .await
        }
        None => Ok(None),
    };
    let (caller, mut res) = match found {
        Ok(Some((token, user))) => {
            let caller = Caller {
                user: Arc::new(user),
                token_id: token.id,
                remote_addr: remote_addr.clone(),
            };
            req.extensions_mut().insert(caller.clone());
            (Some(caller), next.call(req).await?.map_into_boxed_body())
        }
        Ok(None) => (None, req.error_response(ApiError::unauthorized())),
        Err(e) => return Ok(req.error_response(ApiError::from(e))),
    };
    let actor = match &caller {
        Some(c) => c.user.actor(remote_addr),
        None => Actor {
            user_id: None,
            username: "api:unauthenticated".into(),
            remote_addr,
        },
    };
    let status = res.status().as_u16();
    let recorded = state
        .db(move |conn| {
            let call = Call {
                method: &method,
                path: &path,
                status,
                token_id: caller.as_ref().map(|c| &c.token_id),
            };
            api_token::record_call(conn, &actor, &call)
        })
        .await;
    if let Err(e) = recorded {
        // The call has happened (a seizure may be registered): its answer stands, and the
        // missing entry is logged loudly.
        tracing::error!(error = %e, "API call not audited");
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `?after=&limit=` of a keyset list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next` cursor of the previous page; the first page without it.
    pub after: Option<String>,
    /// Rows per page, 1 to 100 (50 when not given).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

impl PageQuery {
    pub const MAX: i64 = 100;
    const DEFAULT: i64 = 50;

    /// The page size asked for, or 400 beside `limit`.
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(Self::DEFAULT),
            Some(n) if (1..=Self::MAX).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::field_key(
                StatusCode::BAD_REQUEST,
                "limit",
                "api.problem.limit",
            )),
        }
    }

    /// The cursor decoded by `decode`, or 400 beside `after` for one this API did not write.
    pub fn cursor<C>(&self, decode: impl Fn(&str) -> Option<C>) -> Result<Option<C>, ApiError> {
        match self.after.as_deref() {
            None => Ok(None),
            Some(text) => decode(text).map(Some).ok_or_else(|| {
                ApiError::field_key(StatusCode::BAD_REQUEST, "after", "api.problem.cursor")
            }),
        }
    }
}

/// A UTC time as the API writes it (RFC 3339, whole seconds).
pub fn utc(t: &chrono::NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
