//! The admin's page of customs offices and their format rules for acta references and
//! declaration numbers (see `crate::office` for the pattern language).

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::error::AppError;
use crate::office::{self, Office, RulesInput};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::session::CsrfForm;
use crate::web::{done, invalid, render, AppState, Submitted};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/offices", web::get().to(page))
        .route("/admin/offices", web::post().to(save));
}

#[derive(Template)]
#[template(path = "offices/list.html")]
struct OfficesPage {
    ctx: Ctx,
    offices: Vec<Office>,
    form: RulesInput,
    errors: FieldErrors,
}

impl OfficesPage {
    /// The edit link of an office (its name travels in the query string).
    fn edit_href(&self, name: &str) -> String {
        format!(
            "/admin/offices?{}#rule",
            serde_urlencoded::to_string([("name", name)]).unwrap_or_default()
        )
    }
}

async fn load(
    ctx: Ctx,
    state: &AppState,
    form: RulesInput,
    errors: FieldErrors,
) -> Result<OfficesPage, AppError> {
    let offices = state.db(|conn| Ok(office::list(conn)?)).await?;
    Ok(OfficesPage {
        ctx,
        offices,
        form,
        errors,
    })
}

#[derive(Deserialize)]
struct EditQuery {
    #[serde(default)]
    name: String,
}

async fn page(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<EditQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    let name = query.into_inner().name;
    let mut form = RulesInput::default();
    if !name.trim().is_empty() {
        let o = state
            .db(move |conn| Ok(office::rules_for(conn, &name)?))
            .await?;
        // The form shows the office's own rules; defaults stay empty, as saved.
        let own = |r: &office::FormatRule| {
            if r.default {
                (String::new(), String::new())
            } else {
                (r.pattern.clone(), r.example.clone())
            }
        };
        (form.reference_pattern, form.reference_example) = own(&o.reference);
        (form.declaration_pattern, form.declaration_example) = own(&o.declaration);
        form.name = o.name;
    }
    render(&load(ctx, &state, form, FieldErrors::default()).await?)
}

async fn save(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<RulesInput>,
) -> Result<HttpResponse, AppError> {
    let actor = ctx
        .require(Permission::ManageCatalogue)?
        .actor(ctx.remote_addr.clone());
    let input = form.clone();
    match state
        .submit(move |conn| office::save_rules(conn, &actor, &input))
        .await?
    {
        Submitted::Done(o) => {
            let text = ctx.t1("offices.saved", "name", &o.name);
            Ok(done(&session, text, "/admin/offices"))
        }
        Submitted::Invalid(errors) => invalid(&load(ctx, &state, form, errors).await?),
    }
}
