//! The audit log page (admin): newest first, filtered by user, entity and dates.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::audit::{self, AuditEntry, AuditFilter, Cursor};
use crate::error::AppError;
use crate::ids::UserId;
use crate::user::{self, User};
use crate::validation::{date_range, FieldErrors};
use crate::web::context::Ctx;
use crate::web::forms::Pager;
use crate::web::{render_status, AppState};

pub const PAGE_SIZE: i64 = 50;

/// Entities whose snapshots are case data (SPEC: the admin does not see lab data).
const CASE_ENTITIES: [&str; 3] = ["seizure", "sample", "custody_event"];
/// Marker shown instead of a hidden snapshot.
const HIDDEN: &str = "…";

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/audit", web::get().to(list));
}

#[derive(Deserialize, Default, Clone)]
pub struct AuditQuery {
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub entity: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub after: String,
}

impl AuditQuery {
    /// The filters as they travel in the pager's links.
    fn filters(&self) -> [(&'static str, &str); 4] {
        [
            ("user", self.user.as_str()),
            ("entity", self.entity.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ]
    }
}

#[derive(Template)]
#[template(path = "audit/list.html")]
struct AuditPage {
    ctx: Ctx,
    query: AuditQuery,
    errors: FieldErrors,
    entries: Vec<AuditEntry>,
    users: Vec<User>,
    entities: Vec<String>,
    pager: Pager,
}

async fn list(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewAudit)?;
    let query = query.into_inner();
    let mut errors = FieldErrors::default();
    let mut filter = AuditFilter::default();
    if !query.user.is_empty() {
        match uuid::Uuid::parse_str(&query.user) {
            Ok(_) => filter.user_id = Some(UserId(query.user.clone())),
            Err(_) => errors.add("user", "validation.choose_one"),
        }
    }
    filter.entity = crate::validation::opt(&query.entity);
    (filter.from, filter.until) = date_range(&query.from, &query.to, ctx.tz, &mut errors);
    let cursor = Cursor::decode(&query.after);
    let first_page = cursor.is_none();
    let valid = errors.is_empty();
    let (entries, next, users, entities) = state
        .db(move |conn| {
            let (entries, next) = if valid {
                audit::list(conn, &filter, cursor.as_ref(), PAGE_SIZE)?
            } else {
                (Vec::new(), None)
            };
            Ok((entries, next, user::list(conn)?, audit::entities(conn)?))
        })
        .await?;
    // The trail says who did what to which record; the record's contents (goods, importer,
    // custody details) stay with the roles that may read cases.
    let mut entries = entries;
    if !ctx.can(Permission::ViewCases) {
        for e in entries
            .iter_mut()
            .filter(|e| CASE_ENTITIES.contains(&e.entity.as_str()))
        {
            e.before_json = e.before_json.take().map(|_| HIDDEN.to_string());
            e.after_json = e.after_json.take().map(|_| HIDDEN.to_string());
        }
    }
    let pager = Pager::new("/admin/audit", &query.filters(), first_page, next.as_ref());
    let status = crate::web::status_for(&errors);
    render_status(
        &AuditPage {
            ctx,
            query,
            errors,
            entries,
            users,
            entities,
            pager,
        },
        status,
    )
}
