//! Request-wide rules: first-run setup, sign-in state with idle timeout, language, origin
//! check of POSTs and headers that keep pages out of caches and frames.

use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, Error, HttpMessage, HttpResponse};

use crate::i18n::{self, Lang};
use crate::user;
use crate::web::context::CurrentUser;
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

pub async fn auth(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let path = req.path().to_string();
    if is_public_asset(&path) {
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
    let mut lang =
        session::lang(&session).unwrap_or_else(|| Lang::from_accept_language(accept.as_deref()));
    req.extensions_mut().insert(lang);

    if foreign_origin(&req) {
        return Ok(req.error_response(crate::error::AppError::Csrf));
    }

    // Errors become responses here, so the error-page middleware renders them (a database
    // that does not answer gets the readable 503 page, not a bare status).
    let has_users = match state.has_users().await {
        Ok(yes) => yes,
        Err(e) => return Ok(req.error_response(e)),
    };
    if !has_users {
        if path == "/setup" {
            return finish(next.call(req).await);
        }
        return Ok(redirect(req, "/setup"));
    }

    if let Some(identity) = session::identity(&session) {
        let idle = state.config.session_idle.as_secs() as i64;
        let expired = session::unix_now() - identity.last_seen > idle;
        let id = identity.user_id.clone();
        let user = state.db(move |conn| Ok(user::find(conn, &id).ok())).await;
        let user = match user {
            Ok(user) => user,
            Err(e) => return Ok(req.error_response(e)),
        };
        let valid = user.filter(|u| {
            u.active && u.password_changed_at.and_utc().timestamp() == identity.password_at
        });
        match valid {
            Some(u) if !expired => {
                if let Some(l) = u.lang() {
                    lang = l;
                    req.extensions_mut().insert(lang);
                }
                session::touch(&session);
                req.extensions_mut().insert(CurrentUser(Arc::new(u)));
            }
            other => {
                session::sign_out(&session);
                let key = if expired && other.is_some() {
                    "auth.session_expired"
                } else {
                    "auth.session_ended"
                };
                session::push_flash(&session, "info", i18n::t(lang, key));
                return Ok(redirect(req, "/login"));
            }
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
