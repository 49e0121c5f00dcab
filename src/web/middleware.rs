//! Request-wide rules: request id and client address, first-run setup, sign-in state
//! (checked against the session record in the database), language, origin check of POSTs
//! and headers that keep pages out of caches and frames.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, Error, HttpMessage, HttpResponse};
use tracing::Instrument;

use crate::error::AppError;
use crate::i18n::{self, Lang};
use crate::user::session::{self as user_session, Lookup};
use crate::web::client_addr;
use crate::web::context::{CurrentSession, CurrentUser};
use crate::web::session;
use crate::web::AppState;

pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add(("Permissions-Policy", "geolocation=(), microphone=()"))
}

fn is_public_asset(path: &str) -> bool {
    path.starts_with("/static/") || path == "/healthz" || path == "/favicon.ico"
}

fn redirect(req: ServiceRequest, to: &str) -> ServiceResponse<BoxBody> {
    req.into_response(
        HttpResponse::SeeOther()
            .insert_header((header::LOCATION, to))
            .finish(),
    )
}

/// A POST whose Origin names another site is refused before any handler runs (defence in
/// depth beside the CSRF token).
fn foreign_origin(req: &ServiceRequest) -> bool {
    if req.method() != Method::POST {
        return false;
    }
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    else {
        return false;
    };
    let host = req.connection_info().host().to_string();
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    origin != "null" && origin_host != host
}

/// One pooled connection per request: the session check and the handler share it, and it
/// goes back to the pool when the response is ready.
pub async fn one_connection(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    crate::web::REQUEST_CONN
        .scope(Default::default(), next.call(req))
        .await
        .map(|r| r.map_into_boxed_body())
}

pub async fn auth(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let path = req.path().to_string();
    if is_public_asset(&path) {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    if path.starts_with(crate::web::api::PREFIX) {
        // The API authenticates its own calls (bearer tokens, never the session cookie) and
        // speaks the language its client asks for.
        let accept = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let lang = Lang::from_accept_language(accept);
        req.extensions_mut().insert(lang);
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    let session = req.get_session();

    // Language before anything can render: the user's choice, the session's, the browser's.
    let accept = req
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let lang =
        session::lang(&session).unwrap_or_else(|| Lang::from_accept_language(accept.as_deref()));
    req.extensions_mut().insert(lang);

    if foreign_origin(&req) {
        return Ok(req.error_response(AppError::Csrf));
    }

    // A database that fails here answers 503 and leaves the cookie alone: a passing outage
    // must not sign anybody out.
    let unavailable = |e: AppError| AppError::Unavailable(e.to_string());
    match state.has_users().await {
        Ok(true) => {}
        Ok(false) if path == "/setup" => return finish(next.call(req).await),
        Ok(false) => return Ok(redirect(req, "/setup")),
        Err(e) => return Ok(req.error_response(unavailable(e))),
    }

    // Public pages (report verification) answer everyone alike: the session's user, if any,
    // is not looked up, so no signed-in navigation or data can appear on them.
    if crate::web::verify::is_public(&path) {
        return finish(next.call(req).await);
    }

    if let Some(token) = session::token(&session) {
        let idle = state.config.session_idle;
        let lookup = state
            .db(move |conn| Ok(user_session::check(conn, &token, idle)?))
            .await;
        match lookup {
            Ok(Lookup::Active(row, user)) => {
                if let Some(l) = user.lang() {
                    req.extensions_mut().insert(l);
                }
                req.extensions_mut().insert(CurrentUser(Arc::from(user)));
                req.extensions_mut().insert(CurrentSession(row.id));
            }
            Ok(ended) => {
                session::sign_out(&session);
                let key = if matches!(ended, Lookup::Expired) {
                    "auth.session_expired"
                } else {
                    "auth.session_ended"
                };
                session::push_flash(&session, "info", i18n::t(lang, key));
                return Ok(redirect(req, "/login"));
            }
            Err(e) => return Ok(req.error_response(unavailable(e))),
        }
    } else if !matches!(path.as_str(), "/login" | "/setup" | "/language") {
        return Ok(redirect(req, "/login"));
    }
    finish(next.call(req).await)
}

/// Signed-in pages hold evidence data: keep them out of shared and browser caches.
fn finish(
    res: Result<ServiceResponse<impl MessageBody + 'static>, Error>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let mut res = res?.map_into_boxed_body();
    if !res.headers().contains_key(header::CACHE_CONTROL) {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

/// What the outermost layer learns of each request.
#[derive(Clone, Debug)]
pub struct RequestInfo {
    /// Names the request in the logs, the `X-Request-Id` header and the 500 page.
    pub id: String,
    /// See `client_addr`.
    pub client: Option<IpAddr>,
}

const X_REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

/// An id a trusted proxy already gave the request, if it looks like one.
fn incoming_request_id(req: &ServiceRequest) -> Option<String> {
    let id = req.headers().get(X_REQUEST_ID)?.to_str().ok()?;
    let plausible = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    plausible.then(|| id.to_string())
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 8];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// The outermost layer: gives the request its id and client address, runs it inside a
/// tracing span that carries the id, writes the access log line, and marks redirects and
/// error answers `no-store`.
pub async fn request_info(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let trusted = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.config.trusted_proxies.clone())
        .unwrap_or_default();
    let peer = req.peer_addr().map(|a| a.ip());
    let from_proxy = peer.is_some_and(|ip| client_addr::is_trusted(ip, &trusted));
    let client = client_addr::client_addr(peer, req.headers(), &trusted);
    let id = from_proxy
        .then(|| incoming_request_id(&req))
        .flatten()
        .unwrap_or_else(new_request_id);
    req.extensions_mut().insert(RequestInfo {
        id: id.clone(),
        client,
    });
    let span = tracing::info_span!("request", id = %id);
    let (method, path) = (req.method().clone(), req.path().to_string());
    let started = Instant::now();
    // Handlers' errors arrive here as responses already; an `Err` is a middleware failure,
    // which actix answers itself.
    let mut res = match next.call(req).instrument(span.clone()).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => {
            tracing::error!(parent: &span, error = %e, %method, path, "request failed");
            return Err(e);
        }
    };
    let status = res.status();
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(X_REQUEST_ID, value);
    }
    if status.is_redirection() || status.is_client_error() || status.is_server_error() {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    tracing::info!(
        parent: &span,
        client = client.map(|c| c.to_string()).as_deref().unwrap_or("-"),
        %method,
        path,
        status = status.as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(res)
}
