//! The administrator's page of the laboratory's particulars printed on reports
//! (`crate::lab_settings`): a multipart form, for the logo.

use actix_multipart::Multipart;
use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use sha2::{Digest, Sha256};

use crate::access::Permission;
use crate::blob::BlobStore;
use crate::error::AppError;
use crate::lab_settings::{self, LabSettings, Logo, SettingsInput};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::upload::Upload;
use crate::web::{done, invalid, render, AppState, Submitted};

/// A logo is printed small: 2 MB is plenty.
const MAX_LOGO_BYTES: usize = 2 * 1024 * 1024;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/lab", web::get().to(page))
        .route("/admin/lab", web::post().to(save));
}

#[derive(Template)]
#[template(path = "lab_settings/edit.html")]
struct SettingsPage {
    ctx: Ctx,
    current: Option<LabSettings>,
    form: SettingsInput,
    errors: FieldErrors,
}

impl SettingsPage {
    fn locales(&self) -> Vec<(String, String)> {
        crate::i18n::Lang::ALL
            .iter()
            .map(|l| (l.code().to_string(), l.native_name().to_string()))
            .collect()
    }
}

async fn load(
    ctx: Ctx,
    state: &AppState,
    form: Option<SettingsInput>,
    errors: FieldErrors,
) -> Result<SettingsPage, AppError> {
    let current = state.db(|conn| Ok(lab_settings::current(conn)?)).await?;
    let form = form.unwrap_or_else(|| {
        current
            .as_ref()
            .map(SettingsInput::of)
            .unwrap_or(SettingsInput {
                report_locale: "es".into(),
                ..Default::default()
            })
    });
    Ok(SettingsPage {
        ctx,
        current,
        form,
        errors,
    })
}

async fn page(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    render(&load(ctx, &state, None, FieldErrors::default()).await?)
}

async fn save(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    multipart: Multipart,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::ManageCatalogue)?;
    let upload = Upload::read(&req, multipart, "logo", MAX_LOGO_BYTES).await?;
    let field = |n: &str| upload.field(n).to_string();
    let on = |n: &str| (!upload.field(n).is_empty()).then(|| "on".to_string());
    let form = SettingsInput {
        name: field("name"),
        address: field("address"),
        accreditation_number: field("accreditation_number"),
        accreditation_body: field("accreditation_body"),
        report_locale: field("report_locale"),
        require_second_signature: on("require_second_signature"),
        remove_logo: on("remove_logo"),
    };
    let mut logo = None;
    if let Some(file) = upload.file.filter(|f| !f.bytes.is_empty()) {
        let Some(content_type) = lab_settings::logo_type(&file.bytes) else {
            let mut errors = FieldErrors::default();
            errors.add("logo", "lab_settings.logo_type");
            return invalid(&load(ctx, &state, Some(form), errors).await?);
        };
        let sha = hex::encode(Sha256::digest(&file.bytes));
        let key = BlobStore::key_for(&sha);
        state
            .blobs()?
            .put_bytes(&key, file.bytes)
            .await
            .map_err(AppError::internal)?;
        logo = Some(Logo {
            storage_key: key,
            sha256: sha,
            content_type: content_type.to_string(),
        });
    }
    let input = form.clone();
    match state
        .submit(move |conn| lab_settings::record(conn, &who, &input, logo))
        .await?
    {
        Submitted::Done(_) => Ok(done(&session, ctx.t("lab_settings.saved"), "/admin/lab")),
        Submitted::Invalid(errors) => invalid(&load(ctx, &state, Some(form), errors).await?),
    }
}
