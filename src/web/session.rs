//! What the signed, encrypted session cookie holds (the session token, CSRF token, flash
//! messages, language), and the CSRF check of every form POST.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use base64::Engine;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::i18n::Lang;

/// The secret token of the signed-in session; its record is in the database.
const TOKEN: &str = "sid";
const CSRF: &str = "csrf";
const FLASH: &str = "flash";
const LANG: &str = "lang";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flash {
    /// `ok`, `info` or `error`: the CSS class of the message.
    pub kind: String,
    pub text: String,
    /// The next step the message offers (after registering a seizure: print its labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<FlashLink>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct FlashLink {
    pub href: String,
    pub text: String,
}

/// The token of the signed-in session this cookie carries, if any.
pub fn token(session: &Session) -> Option<String> {
    session.get::<String>(TOKEN).ok().flatten()
}

/// Puts a new session's token in a fresh cookie with a fresh CSRF token (no fixation).
pub fn sign_in(session: &Session, token: &str) -> Result<(), AppError> {
    let lang: Option<String> = session.get(LANG).ok().flatten();
    // clear + renew rather than purge: a purged session ignores later inserts.
    session.clear();
    session.renew();
    let err = |e: actix_session::SessionInsertError| AppError::internal(e);
    session.insert(TOKEN, token).map_err(err)?;
    if let Some(lang) = lang {
        session.insert(LANG, lang).map_err(err)?;
    }
    Ok(())
}

/// Forgets the session but keeps the chosen language, so the login page stays in it.
pub fn sign_out(session: &Session) {
    let lang: Option<String> = session.get(LANG).ok().flatten();
    session.clear();
    session.renew();
    if let Some(lang) = lang {
        let _ = session.insert(LANG, lang);
    }
}

pub fn lang(session: &Session) -> Option<Lang> {
    session
        .get::<String>(LANG)
        .ok()
        .flatten()
        .and_then(|c| Lang::parse(&c))
}

pub fn set_lang(session: &Session, lang: Lang) {
    let _ = session.insert(LANG, lang.code());
}

pub fn push_flash(session: &Session, kind: &str, text: String) {
    push_flash_with(session, kind, text, None);
}

/// A message with a link to the next step.
pub fn push_flash_with(session: &Session, kind: &str, text: String, link: Option<FlashLink>) {
    let mut list: Vec<Flash> = session.get(FLASH).ok().flatten().unwrap_or_default();
    list.push(Flash {
        kind: kind.to_string(),
        text,
        link,
    });
    let _ = session.insert(FLASH, list);
}

pub fn take_flash(session: &Session) -> Vec<Flash> {
    session
        .remove_as::<Vec<Flash>>(FLASH)
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(CSRF) {
        return token;
    }
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let _ = session.insert(CSRF, &token);
    token
}

pub(crate) fn csrf_matches(session: &Session, given: &str) -> bool {
    match session.get::<String>(CSRF) {
        Ok(Some(expected)) => {
            !given.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
        }
        _ => false,
    }
}

/// A body that could not be read: too large (413) or malformed (400).
pub fn body_error(e: actix_web::Error) -> AppError {
    if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge
    } else {
        AppError::BadRequest(e.to_string())
    }
}

/// A form whose only field is the CSRF token (a button).
#[derive(Deserialize)]
pub struct NoFields {}

/// A urlencoded form whose `csrf_token` field matched the session's token. Every state-changing
/// form handler takes its input through this, so none can forget the check. Every form reads
/// its fields by the same rules:
/// - a field sent twice counts once, with its first value (as `URLSearchParams.get` and the row
///   forms' `Pairs::get` read it), rather than the whole form being refused with a bare 400;
///   forms that read pairs (`CsrfForm<Vec<(String, String)>>`) get every pair, in order;
/// - bytes that are not UTF-8, and NUL (which PostgreSQL cannot store), arrive as
///   `validation::UNREADABLE`, which the text checks refuse beside the field.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = body.await.map_err(body_error)?;
            let unreadable = crate::validation::UNREADABLE.to_string();
            // The decoder replaces bytes that are not UTF-8 with U+FFFD itself.
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&body)
                .map(|(k, v)| (k.replace('\0', &unreadable), v.replace('\0', &unreadable)))
                .collect();
            let token = pairs
                .iter()
                .find(|(k, _)| k == "csrf_token")
                .map_or("", |(_, v)| v.as_str());
            if !csrf_matches(&req.get_session(), token) {
                return Err(AppError::Csrf);
            }
            // A struct refuses a repeated field; read it again with the first value of each.
            let value = from_pairs(&pairs)
                .or_else(|_| from_pairs(&first_of_each(&pairs)))
                .map_err(|e| AppError::BadRequest(e.to_string()))?;
            Ok(CsrfForm(value))
        })
    }
}

fn from_pairs<T: DeserializeOwned>(pairs: &[(String, String)]) -> Result<T, String> {
    let encoded = serde_urlencoded::to_string(pairs).map_err(|e| e.to_string())?;
    serde_urlencoded::from_str(&encoded).map_err(|e| e.to_string())
}

fn first_of_each(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut seen = std::collections::HashSet::new();
    pairs
        .iter()
        .filter(|(k, _)| seen.insert(k.as_str()))
        .cloned()
        .collect()
}
