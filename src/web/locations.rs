//! Storage locations (admin): the tree with a form to add one, and the edit page.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;

use crate::access::Permission;
use crate::error::AppError;
use crate::ids::StorageLocationId;
use crate::storage::{
    self, LocationChangeInput, LocationKind, LocationView, NewLocationInput, StorageLocation,
};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::session::{self, CsrfForm};
use crate::web::{render, render_status, see_other, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/locations", web::get().to(list))
        .route("/admin/locations", web::post().to(create))
        .route("/admin/locations/{id}", web::get().to(edit_form))
        .route("/admin/locations/{id}", web::post().to(update));
}

/// The tree, and the form that adds a location to it.
#[derive(Template)]
#[template(path = "locations/list.html")]
struct ListPage {
    ctx: Ctx,
    locations: Vec<LocationView>,
    form: NewLocationInput,
    errors: FieldErrors,
    kinds: &'static [LocationKind],
    parents: Vec<(StorageLocationId, String)>,
}

impl ListPage {
    async fn load(
        ctx: Ctx,
        state: &AppState,
        form: NewLocationInput,
        errors: FieldErrors,
    ) -> Result<ListPage, AppError> {
        let (locations, parents) = state
            .db(|conn| Ok((storage::list(conn)?, storage::active_options(conn)?)))
            .await?;
        Ok(ListPage {
            ctx,
            locations,
            form,
            errors,
            kinds: LocationKind::ALL,
            parents,
        })
    }
}

async fn list(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    let page = ListPage::load(
        ctx,
        &state,
        NewLocationInput::default(),
        FieldErrors::default(),
    )
    .await?;
    render(&page)
}

async fn create(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<NewLocationInput>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    let actor = ctx.actor()?;
    let input = form.clone();
    match state
        .db(move |conn| storage::create(conn, &actor, &input))
        .await
    {
        Ok(created) => {
            session::push_flash(
                &session,
                "ok",
                ctx.tf("locations.created", &[("code", &created.code)]),
            );
            Ok(see_other("/admin/locations"))
        }
        Err(AppError::Invalid(errors)) => render_status(
            &ListPage::load(ctx, &state, form, errors).await?,
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "locations/edit.html")]
struct EditPage {
    ctx: Ctx,
    location: StorageLocation,
    path: String,
    form: LocationChangeInput,
    errors: FieldErrors,
    kinds: &'static [LocationKind],
    parents: Vec<(StorageLocationId, String)>,
}

impl EditPage {
    /// The page for `id`, with the form as stored or as typed. 404 when there is no such
    /// location.
    async fn load(
        ctx: Ctx,
        state: &AppState,
        id: StorageLocationId,
        form: Option<LocationChangeInput>,
        errors: FieldErrors,
    ) -> Result<EditPage, AppError> {
        let (location, all) = state
            .db(move |conn| {
                let location = storage::find(conn, &id)?.ok_or(AppError::NotFound)?;
                Ok((location, storage::list(conn)?))
            })
            .await?;
        let path = all
            .iter()
            .find(|l| l.id == location.id)
            .map_or_else(|| location.name.clone(), |l| l.path.clone());
        // Offered as parent: active locations outside this one's branch, and the current
        // parent even if it was deactivated since.
        let parents = all
            .into_iter()
            .filter(|l| l.id != location.id && !l.ancestor_ids.contains(&location.id))
            .filter(|l| l.usable || location.parent_id.as_ref() == Some(&l.id))
            .map(|l| (l.id, l.path))
            .collect();
        let form = form.unwrap_or_else(|| LocationChangeInput {
            name: location.name.clone(),
            kind: location.kind.as_str().to_string(),
            parent_id: location
                .parent_id
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            active: location.active.then(|| "on".to_string()),
        });
        Ok(EditPage {
            ctx,
            location,
            path,
            form,
            errors,
            kinds: LocationKind::ALL,
            parents,
        })
    }
}

fn parse_id(raw: &str) -> Result<StorageLocationId, AppError> {
    uuid::Uuid::parse_str(raw).map_err(|_| AppError::NotFound)?;
    Ok(StorageLocationId(raw.to_string()))
}

async fn edit_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    let id = parse_id(&path)?;
    render(&EditPage::load(ctx, &state, id, None, FieldErrors::default()).await?)
}

async fn update(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<LocationChangeInput>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ManageCatalogue)?;
    let id = parse_id(&path)?;
    let actor = ctx.actor()?;
    let (input, lid) = (form.clone(), id.clone());
    match state
        .db(move |conn| storage::update(conn, &actor, &lid, &input))
        .await
    {
        Ok(updated) => {
            session::push_flash(
                &session,
                "ok",
                ctx.tf("locations.updated", &[("code", &updated.code)]),
            );
            Ok(see_other("/admin/locations"))
        }
        Err(AppError::Invalid(errors)) => render_status(
            &EditPage::load(ctx, &state, id, Some(form), errors).await?,
            StatusCode::BAD_REQUEST,
        ),
        Err(e) => Err(e),
    }
}
