//! Public verification of reports, without an account: `/verify/{number}?h={hash}` (the URL
//! printed on every report and in its QR code), and `/verify`, where a person types a number
//! and hash or uploads the PDF. The pages never show a signed-in user's navigation (the
//! middleware serves them without looking at the session's user).

use actix_multipart::Multipart;
use actix_session::SessionExt;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::report::verification::{
    self, parse_number, parse_sha256, Checked, Outcome, Question, Verdict, Via,
};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::session::{body_error, csrf_matches};
use crate::web::upload::read_part;
use crate::web::{render_status, see_other, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/verify", web::get().to(form))
        .route("/verify/upload", web::post().to(upload))
        .route("/verify/{number}", web::get().to(by_number));
}

/// Whether `path` is one of these public pages.
pub fn is_public(path: &str) -> bool {
    path == "/verify" || path.starts_with("/verify/")
}

#[derive(Template)]
#[template(path = "verify/form.html")]
struct FormPage {
    ctx: Ctx,
    number: String,
    hash: String,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "verify/result.html")]
struct ResultPage {
    ctx: Ctx,
    verdict: Verdict,
    /// When and where the version was issued, in the lab's time zone, with the offset.
    issued_at: String,
}

#[derive(Template)]
#[template(path = "verify/limited.html")]
struct LimitedPage {
    ctx: Ctx,
    seconds: i64,
}

#[derive(Deserialize)]
struct NumberQuery {
    #[serde(default)]
    number: String,
    #[serde(default)]
    h: String,
}

/// The form; sent with a number and hash, it goes on to that number's page.
async fn form(ctx: Ctx, query: web::Query<NumberQuery>) -> Result<HttpResponse, AppError> {
    let NumberQuery { number, h } = query.into_inner();
    if number.is_empty() && h.is_empty() {
        return form_page(ctx, number, h, FieldErrors::default());
    }
    match parse_question(&number, &h) {
        Ok((number, hash)) => Ok(see_other(&format!("/verify/{number}?h={hash}"))),
        Err(errors) => form_page(ctx, number, h, errors),
    }
}

fn form_page(
    ctx: Ctx,
    number: String,
    hash: String,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let status = crate::web::status_for(&errors);
    render_status(
        &FormPage {
            ctx,
            number,
            hash,
            errors,
        },
        status,
    )
}

fn parse_question(number: &str, hash: &str) -> Result<(String, String), FieldErrors> {
    let mut errors = FieldErrors::default();
    let number = parse_number(number);
    if number.is_none() {
        errors.add("number", "report_verify.bad_number");
    }
    let hash = parse_sha256(hash);
    if hash.is_none() {
        errors.add("h", "report_verify.bad_hash");
    }
    match (number, hash) {
        (Some(n), Some(h)) => Ok((n, h)),
        _ => Err(errors),
    }
}

#[derive(Deserialize)]
struct HashQuery {
    #[serde(default)]
    h: String,
}

async fn by_number(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<HashQuery>,
) -> Result<HttpResponse, AppError> {
    let number = path.into_inner();
    let h = query.into_inner().h;
    match parse_question(&number, &h) {
        Ok((number, hash)) => {
            answer(ctx, &state, Question::Number { number, hash }, Via::Page).await
        }
        Err(errors) => form_page(ctx, number, h, errors),
    }
}

/// A PDF uploaded to be checked: hashed as it arrives (nothing is kept: the page is public),
/// within the attachment size limit.
async fn upload(
    ctx: Ctx,
    state: web::Data<AppState>,
    req: HttpRequest,
    mut multipart: Multipart,
) -> Result<HttpResponse, AppError> {
    crate::web::release_connection();
    let max_bytes = usize::try_from(state.config.max_upload_mb * 1024 * 1024).unwrap_or(usize::MAX);
    let mut csrf_ok = false;
    let mut file: Option<(usize, String, bool)> = None;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| body_error(e.into()))?;
        match field.name().unwrap_or_default() {
            "csrf_token" => {
                let token = read_part(&mut field, 1024).await?;
                csrf_ok = csrf_matches(&req.get_session(), &String::from_utf8_lossy(&token));
            }
            "pdf" if file.is_none() => {
                if !csrf_ok {
                    return Err(AppError::Csrf);
                }
                file = Some(hash_part(&mut field, max_bytes).await?);
            }
            // Anything else is read and dropped, within the same limit.
            _ => {
                read_part(&mut field, 1024).await?;
            }
        }
    }
    if !csrf_ok {
        return Err(AppError::Csrf);
    }
    let mut errors = FieldErrors::default();
    match file {
        Some((size, sha256, true)) if size > 0 => {
            return answer(ctx, &state, Question::Pdf { sha256 }, Via::Upload).await;
        }
        Some((size, _, _)) if size > 0 => errors.add("pdf", "report_verify.not_pdf"),
        _ => errors.add("pdf", "report_verify.file_required"),
    }
    form_page(ctx, String::new(), String::new(), errors)
}

/// The size, SHA-256 and whether the bytes start as a PDF does (`%PDF-`).
async fn hash_part(
    field: &mut actix_multipart::Field,
    limit: usize,
) -> Result<(usize, String, bool), AppError> {
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(5);
    let mut size = 0;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|e| body_error(e.into()))?;
        size += chunk.len();
        if size > limit {
            return Err(AppError::TooLarge);
        }
        let missing = 5usize.saturating_sub(head.len());
        head.extend_from_slice(&chunk[..missing.min(chunk.len())]);
        hasher.update(&chunk);
    }
    Ok((size, hex::encode(hasher.finalize()), head == b"%PDF-"))
}

async fn answer(
    ctx: Ctx,
    state: &AppState,
    question: Question,
    via: Via,
) -> Result<HttpResponse, AppError> {
    let remote = ctx.remote_addr.clone();
    let checked = state
        .db(move |conn| {
            Ok(verification::check(
                conn,
                &question,
                via,
                remote.as_deref(),
            )?)
        })
        .await?;
    match checked {
        Checked::Answered(verdict) => {
            let issued_at = verdict
                .issued
                .as_ref()
                .map(|i| {
                    let local = i.issued_at.and_utc().with_timezone(&ctx.tz);
                    format!(
                        "{} ({} UTC{})",
                        ctx.datetime(&i.issued_at),
                        ctx.tz.name(),
                        local.format("%:z")
                    )
                })
                .unwrap_or_default();
            render_status(
                &ResultPage {
                    ctx,
                    verdict,
                    issued_at,
                },
                StatusCode::OK,
            )
        }
        Checked::Limited { retry_after } => {
            let mut res = render_status(
                &LimitedPage {
                    ctx,
                    seconds: retry_after,
                },
                StatusCode::TOO_MANY_REQUESTS,
            )?;
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            Ok(res)
        }
    }
}

impl ResultPage {
    fn tone(&self) -> &'static str {
        match self.verdict.outcome {
            Outcome::Issued => "ok",
            Outcome::Superseded => "warn",
            _ => "error",
        }
    }
}
