//! Attachments over HTTP: the list and upload form of one owner record (also embedded in the
//! owner's page through `partials/attachments.html`), the hash-checked download, and the
//! withdrawal with its reason.

use actix_multipart::{Field, Multipart};
use actix_session::{Session, SessionExt};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use futures_util::StreamExt;
use serde::Deserialize;

use crate::attachment::{self, Listed, Owner, Parent, StageError, Upload};
use crate::error::AppError;
use crate::ids::AttachmentId;
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::disposition;
use crate::web::session::{body_error, csrf_matches, CsrfForm};
use crate::web::upload::read_part;
use crate::web::{done, render, render_status, AppState, Submitted};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/attachments/{kind}/{owner}", web::get().to(page))
        .route("/attachments/{kind}/{owner}", web::post().to(upload))
        .route("/attachment/{id}", web::get().to(download))
        .route("/attachment/{id}/withdraw", web::get().to(withdraw_form))
        .route("/attachment/{id}/withdraw", web::post().to(withdraw));
}

/// What `partials/attachments.html` shows: an owner's files, and the upload form to those
/// who may add to it. Owner pages build it with `AttachmentsView::new` when the viewer may
/// see the owner's files.
pub struct AttachmentsView {
    /// Where the upload form posts (the owner's attachment address).
    pub action: String,
    /// The owner's id, which makes the panel's element ids unique on a page.
    pub slot: String,
    /// The page to come back to after an upload or a withdrawal.
    pub back: String,
    /// The panel's heading: "Attachments", or a record's name where a page holds several.
    pub title: String,
    pub items: Vec<Listed>,
    pub can_upload: bool,
    pub max_mb: u64,
    pub description: String,
    pub errors: FieldErrors,
}

impl AttachmentsView {
    /// The view of `owner`'s files for `ctx`, or nothing if the viewer may not see them.
    pub fn new(
        ctx: &Ctx,
        state: &AppState,
        owner: &Owner,
        items: Vec<Listed>,
        back: String,
    ) -> Option<AttachmentsView> {
        ctx.can(owner.view_permission()).then(|| AttachmentsView {
            action: owner_path(owner),
            slot: owner.id().to_string(),
            back,
            title: ctx.t("attachments.title"),
            items,
            can_upload: ctx.can(owner.upload_permission()),
            max_mb: state.config.max_upload_mb,
            description: String::new(),
            errors: FieldErrors::default(),
        })
    }

    /// The same panel headed by `title` (the tests of one sample each have one).
    pub fn titled(self, title: String) -> AttachmentsView {
        AttachmentsView { title, ..self }
    }

    /// A size for people: bytes, kB or MB.
    pub fn size(&self, bytes: &i64) -> String {
        let b = *bytes as f64;
        if b < 1000.0 {
            format!("{bytes} B")
        } else if b < 1_000_000.0 {
            format!("{:.1} kB", b / 1000.0)
        } else {
            format!("{:.1} MB", b / 1_000_000.0)
        }
    }
}

fn owner_path(owner: &Owner) -> String {
    format!("/attachments/{}/{}", owner.kind().as_str(), owner.id())
}

/// A local address to come back to; anything else (another site, a scheme) is not followed.
fn local_path(given: &str) -> Option<String> {
    let ok = given.starts_with('/')
        && !given.starts_with("//")
        && !given.contains('\\')
        && given.len() <= 512
        && !given.chars().any(char::is_control);
    ok.then(|| given.to_string())
}

fn parent_path(parent: &Parent) -> Option<String> {
    match parent {
        Parent::Sample(id) => Some(format!("/samples/{id}")),
        Parent::Instrument(id) => Some(format!("/instruments/{id}")),
        Parent::Person(id) => Some(format!("/personnel/{id}")),
        Parent::None => None,
    }
}

#[derive(Template)]
#[template(path = "attachments/page.html")]
struct OwnerPage {
    ctx: Ctx,
    kind: String,
    title: String,
    parent: Option<String>,
    files: AttachmentsView,
}

fn owner_of(path: &(String, String)) -> Result<Owner, AppError> {
    Owner::parse(&path.0, &path.1).ok_or(AppError::NotFound)
}

async fn owner_page(
    ctx: Ctx,
    state: &AppState,
    owner: Owner,
    description: String,
    errors: FieldErrors,
) -> Result<OwnerPage, AppError> {
    ctx.require(owner.view_permission())?;
    let looked_up = owner.clone();
    let ((title, parent), items) = state
        .db(move |conn| {
            Ok((
                looked_up.describe(conn)?,
                attachment::of_owner(conn, &looked_up)?,
            ))
        })
        .await?;
    let back = owner_path(&owner);
    let mut files = AttachmentsView::new(&ctx, state, &owner, items, back)
        .ok_or(AppError::Forbidden("errors.forbidden_text"))?;
    files.description = description;
    files.errors = errors;
    Ok(OwnerPage {
        kind: owner.kind().as_str().to_string(),
        title,
        parent: parent_path(&parent),
        files,
        ctx,
    })
}

async fn page(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let owner = owner_of(&path)?;
    render(&owner_page(ctx, &state, owner, String::new(), FieldErrors::default()).await?)
}

/// A text part of the form, at most `limit` bytes.
async fn text(field: &mut Field, limit: usize) -> Result<String, AppError> {
    let bytes = read_part(field, limit).await?;
    Ok(crate::validation::clean(&String::from_utf8_lossy(&bytes)))
}

/// How much of a refused file is still read (and dropped) before the connection is cut.
const DRAIN_LIMIT: u64 = 256 * 1024 * 1024;

/// Reads the rest of a part without keeping it; false if it went on beyond `limit` bytes.
async fn drain(field: &mut Field, limit: u64) -> Result<bool, AppError> {
    let mut read = 0u64;
    while let Some(chunk) = field.next().await {
        read += chunk.map_err(|e| body_error(e.into()))?.len() as u64;
        if read > limit {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Receives one file. The CSRF token must come before the file (a browser sends fields in
/// the form's order), so nothing is written for a forged request. The file goes to a
/// temporary file while it is hashed and measured, then to the store, then its row is
/// written; an error at any step leaves none of them behind.
async fn upload(
    ctx: Ctx,
    req: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<(String, String)>,
    mut multipart: Multipart,
) -> Result<HttpResponse, AppError> {
    let owner = owner_of(&path)?;
    let who = ctx.handler(owner.upload_permission())?;
    // Receiving a large file takes a while; no pooled connection waits for it.
    crate::web::release_connection();
    let max_bytes = state.config.max_upload_mb * 1024 * 1024;
    let mut csrf_ok = false;
    let mut description = String::new();
    let mut back = None;
    let mut staged = None;
    let mut upload = Upload {
        file_name: String::new(),
        content_type: String::new(),
        description: String::new(),
    };
    let mut errors = FieldErrors::default();
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|e| body_error(e.into()))?;
        match field.name().unwrap_or_default() {
            "csrf_token" => {
                csrf_ok = csrf_matches(&req.get_session(), &text(&mut field, 1024).await?)
            }
            "description" => description = text(&mut field, 4096).await?,
            "back" => back = local_path(&text(&mut field, 1024).await?),
            "file" if staged.is_none() && errors.is_empty() => {
                if !csrf_ok {
                    return Err(AppError::Csrf);
                }
                upload.file_name = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .unwrap_or_default()
                    .to_string();
                upload.content_type = field
                    .content_type()
                    .map(|m| m.essence_str().to_string())
                    .unwrap_or_default();
                let tmp = state.config.data_dir.join("tmp");
                match attachment::stage(&tmp, max_bytes, &mut field).await {
                    Ok(s) => staged = Some(s),
                    Err(StageError::TooLarge) => {
                        errors.add("file", "attachments.too_large");
                        // The rest is read and dropped, so the browser, still sending, gets
                        // the page with the message rather than a reset connection; only
                        // an absurd excess is cut off.
                        if !drain(&mut field, DRAIN_LIMIT).await? {
                            break;
                        }
                    }
                    Err(StageError::Empty) => errors.add("file", "attachments.no_file"),
                    Err(StageError::Body(e)) => return Err(body_error(e.into())),
                    Err(StageError::Io(e)) => return Err(AppError::internal(e)),
                }
            }
            _ => {
                text(&mut field, 4096).await?;
            }
        }
    }
    if !csrf_ok {
        return Err(AppError::Csrf);
    }
    let status = if errors.get("file") == Some("attachments.too_large") {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::BAD_REQUEST
    };
    let Some(staged) = staged else {
        if errors.is_empty() {
            errors.add("file", "attachments.no_file");
        }
        let page = owner_page(ctx, &state, owner, description, errors).await?;
        return render_status(&page, status);
    };
    attachment::store(state.blobs()?, &staged).await?;
    upload.description = description.clone();
    let saved = owner.clone();
    match state
        .submit(move |conn| attachment::record(conn, &who, &saved, &staged, &upload))
        .await?
    {
        Submitted::Done(row) => {
            let to = back.unwrap_or_else(|| owner_path(&owner));
            Ok(done(
                &session,
                ctx.t1("attachments.uploaded", "name", &row.file_name),
                &to,
            ))
        }
        Submitted::Invalid(errors) => {
            let page = owner_page(ctx, &state, owner, description, errors).await?;
            render_status(&page, StatusCode::BAD_REQUEST)
        }
    }
}

/// The file, if its bytes still hash to the SHA-256 recorded at upload.
async fn download(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<AttachmentId>,
) -> Result<HttpResponse, AppError> {
    ctx.user()?;
    let id = path.into_inner();
    let listed = state
        .db(move |conn| Ok(attachment::find(conn, &id)?))
        .await?;
    let row = listed.attachment;
    let owner = row.owner().ok_or(AppError::NotFound)?;
    ctx.require(owner.view_permission())?;
    let bytes = attachment::read_checked(state.blobs()?, &row).await?;
    Ok(HttpResponse::Ok()
        .content_type(row.content_type.as_str())
        .insert_header(disposition::attachment(&row.file_name))
        .insert_header(("X-Content-SHA256", row.sha256.as_str()))
        .body(bytes))
}

#[derive(Deserialize, Default)]
struct WithdrawInput {
    #[serde(default)]
    reason: String,
    #[serde(default)]
    back: String,
}

#[derive(Template)]
#[template(path = "attachments/withdraw.html")]
struct WithdrawPage {
    ctx: Ctx,
    listed: Listed,
    owner_path: String,
    form: WithdrawInput,
    errors: FieldErrors,
}

async fn withdraw_page(
    ctx: Ctx,
    state: &AppState,
    id: AttachmentId,
    form: WithdrawInput,
    errors: FieldErrors,
) -> Result<WithdrawPage, AppError> {
    ctx.user()?;
    let listed = state
        .db(move |conn| Ok(attachment::find(conn, &id)?))
        .await?;
    let owner = listed.attachment.owner().ok_or(AppError::NotFound)?;
    ctx.require(owner.upload_permission())?;
    Ok(WithdrawPage {
        ctx,
        owner_path: owner_path(&owner),
        listed,
        form,
        errors,
    })
}

#[derive(Deserialize)]
struct BackQuery {
    #[serde(default)]
    back: String,
}

async fn withdraw_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<AttachmentId>,
    query: web::Query<BackQuery>,
) -> Result<HttpResponse, AppError> {
    let form = WithdrawInput {
        reason: String::new(),
        back: local_path(&query.back).unwrap_or_default(),
    };
    render(&withdraw_page(ctx, &state, path.into_inner(), form, FieldErrors::default()).await?)
}

async fn withdraw(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<AttachmentId>,
    CsrfForm(form): CsrfForm<WithdrawInput>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    // The permission depends on the owner: the page load checks it before anything is done.
    let page = withdraw_page(ctx, &state, id.clone(), form, FieldErrors::default()).await?;
    let owner = page.listed.attachment.owner().ok_or(AppError::NotFound)?;
    let who = page.ctx.handler(owner.upload_permission())?;
    let reason = page.form.reason.clone();
    match state
        .submit(move |conn| attachment::withdraw(conn, &who, &id, &reason))
        .await?
    {
        Submitted::Done(_) => {
            let to = local_path(&page.form.back).unwrap_or(page.owner_path);
            let message = page.ctx.t1(
                "attachments.withdrawn_done",
                "name",
                &page.listed.attachment.file_name,
            );
            Ok(done(&session, message, &to))
        }
        Submitted::Invalid(errors) => {
            render_status(&WithdrawPage { errors, ..page }, StatusCode::BAD_REQUEST)
        }
    }
}
