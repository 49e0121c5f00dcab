//! The tariff from the web: the admin's import page (the same import as `lims import-tariff`,
//! a bad file refused whole with its line numbers), and the suggestions behind the tariff code
//! fields.

use actix_multipart::Multipart;
use actix_session::Session;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::{Deserialize, Serialize};

use crate::access::Permission;
use crate::error::AppError;
use crate::tariff::{self, ImportError};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::upload::Upload;
use crate::web::{done, invalid, render, AppState};

/// The largest tariff file accepted: the HS2022 file is about 600 KB, a national tariff with
/// 10-digit lines a few megabytes.
pub const MAX_TARIFF_BYTES: usize = 16 * 1024 * 1024;

/// How many suggestions a code field offers at once.
const SUGGESTIONS: i64 = 15;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/tariff", web::get().to(page))
        .route("/admin/tariff", web::post().to(import))
        .route("/tariff/suggest", web::get().to(suggest));
}

#[derive(Template)]
#[template(path = "tariff/import.html")]
struct ImportPage {
    ctx: Ctx,
    lines: i64,
    nomenclature: String,
    errors: FieldErrors,
    /// What was wrong with the file, one message per problem (line numbers included).
    problems: Vec<String>,
}

impl ImportPage {
    async fn load(
        ctx: Ctx,
        state: &AppState,
        nomenclature: String,
        errors: FieldErrors,
        problems: Vec<String>,
    ) -> Result<ImportPage, AppError> {
        let lines = state.db(|conn| Ok(tariff::count(conn)?)).await?;
        Ok(ImportPage {
            ctx,
            lines,
            nomenclature,
            errors,
            problems,
        })
    }
}

async fn page(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    let nomenclature = tariff::DEFAULT_NOMENCLATURE.to_string();
    let page = ImportPage::load(
        ctx,
        &state,
        nomenclature,
        FieldErrors::default(),
        Vec::new(),
    );
    render(&page.await?)
}

async fn import(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    req: HttpRequest,
    multipart: Multipart,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    let actor = ctx.actor()?;
    let upload = Upload::read(&req, multipart, "file", MAX_TARIFF_BYTES).await?;
    let nomenclature = upload.field("nomenclature").trim().to_string();
    let Some(file) = upload.file.filter(|f| !f.bytes.is_empty()) else {
        let mut errors = FieldErrors::default();
        errors.add("file", "tariff.web.file_required");
        let page = ImportPage::load(ctx, &state, nomenclature, errors, Vec::new());
        return invalid(&page.await?);
    };
    let name = nomenclature.clone();
    let outcome = state
        .db(move |conn| {
            Ok(tariff::import_csv(
                conn,
                &actor,
                file.bytes.as_slice(),
                &file.file_name,
                &name,
            ))
        })
        .await?;
    match outcome {
        Ok(summary) => {
            let text = ctx.tf(
                "tariff.web.imported",
                &[
                    ("file", &summary.file),
                    ("nomenclature", &summary.nomenclature),
                    ("inserted", &summary.inserted.to_string()),
                    ("updated", &summary.updated.to_string()),
                ],
            );
            Ok(done(&session, text, "/admin/tariff"))
        }
        Err(ImportError::Db(e)) => Err(AppError::Db(e)),
        Err(ImportError::Nomenclature) => {
            let mut errors = FieldErrors::default();
            errors.add("nomenclature", "tariff.import.nomenclature");
            invalid(&ImportPage::load(ctx, &state, nomenclature, errors, Vec::new()).await?)
        }
        Err(e) => {
            let mut errors = FieldErrors::default();
            errors.add("file", "tariff.web.file_refused");
            let problems = e.messages(ctx.lang);
            invalid(&ImportPage::load(ctx, &state, nomenclature, errors, problems).await?)
        }
    }
}

#[derive(Deserialize)]
struct SuggestQuery {
    #[serde(default)]
    q: String,
}

#[derive(Serialize)]
struct Suggestion {
    code: String,
    description: String,
}

/// Tariff lines matching what was typed in a code field, as JSON for `static/js/tariff.js`.
async fn suggest(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<SuggestQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::RegisterSeizure)?;
    let typed = query.into_inner().q;
    let lang = ctx.lang;
    let lines = state
        .db(move |conn| Ok(tariff::suggest(conn, &typed, SUGGESTIONS, lang)?))
        .await?;
    let body: Vec<Suggestion> = lines
        .into_iter()
        .map(|(code, description)| Suggestion {
            code: tariff::display_code(&code),
            description,
        })
        .collect();
    Ok(HttpResponse::Ok().json(body))
}
