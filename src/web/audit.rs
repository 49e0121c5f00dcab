//! The audit log page (admin): newest first, filtered by user, entity and dates. Each entry
//! reads as a sentence in the user's language: when, who, what was done, to which record
//! (by its code, linked), and the record's fields before and after.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::audit::{self, AuditEntry, AuditFilter, Cursor, FieldChange, RecordName};
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
    rows: Vec<Row>,
    users: Vec<User>,
    /// The kinds of record in the log: (code, translated name).
    entities: Vec<(String, String)>,
    pager: Pager,
}

/// One entry as the page shows it.
struct Row {
    entry: AuditEntry,
    action: String,
    kind: String,
    /// The record's code and, if the reader may open it, its page.
    record: Option<(String, Option<String>)>,
    /// The snapshots' contents are case data the reader may not see.
    hidden: bool,
    has_before: bool,
    has_after: bool,
    fields: Vec<FieldRow>,
}

impl Row {
    fn any_changed(&self) -> bool {
        self.fields.iter().any(|f| f.changed)
    }

    fn unchanged(&self) -> usize {
        self.fields.iter().filter(|f| !f.changed).count()
    }
}

struct FieldRow {
    label: String,
    before: String,
    after: String,
    changed: bool,
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
    let (entries, next, users, entities, names) = state
        .db(move |conn| {
            let (entries, next) = if valid {
                audit::list(conn, &filter, cursor.as_ref(), PAGE_SIZE)?
            } else {
                (Vec::new(), None)
            };
            let names = audit::record_names(conn, &entries)?;
            Ok((
                entries,
                next,
                user::list(conn)?,
                audit::entities(conn)?,
                names,
            ))
        })
        .await?;
    let rows = entries.into_iter().map(|e| row(&ctx, e, &names)).collect();
    let entities = entities
        .into_iter()
        .map(|e| {
            let name = kind_name(&ctx, &e);
            (e, name)
        })
        .collect();
    let pager = Pager::new("/admin/audit", &query.filters(), first_page, next.as_ref());
    let status = crate::web::status_for(&errors);
    render_status(
        &AuditPage {
            ctx,
            query,
            errors,
            rows,
            users,
            entities,
            pager,
        },
        status,
    )
}

/// The translation of `key`, or `raw` where the catalogue has none (a kind of record or an
/// action added later reads as its code rather than as a key).
fn t_or(ctx: &Ctx, key: &str, raw: &str) -> String {
    let text = ctx.t(key);
    if text == key {
        raw.to_string()
    } else {
        text
    }
}

fn kind_name(ctx: &Ctx, entity: &str) -> String {
    t_or(ctx, &format!("audit.kinds.{entity}"), entity)
}

fn action_name(ctx: &Ctx, action: &str) -> String {
    // Custody events are audited as `custody_<event kind>`: the event's own name.
    let custody = action
        .strip_prefix("custody_")
        .map(|kind| t_or(ctx, &format!("custody.kind.{kind}"), ""))
        .filter(|name| !name.is_empty());
    custody.unwrap_or_else(|| t_or(ctx, &format!("audit.actions.{action}"), action))
}

fn row(ctx: &Ctx, entry: AuditEntry, names: &HashMap<(String, String), RecordName>) -> Row {
    // The trail says who did what to which record; the record's contents (goods, importer,
    // custody details) stay with the roles that may read cases.
    let hidden = CASE_ENTITIES.contains(&entry.entity.as_str()) && !ctx.can(Permission::ViewCases);
    // A record not named (gone, or of a kind added later) shows its id only when the id
    // is a readable name rather than a UUID.
    let record = entry.entity_id.as_ref().and_then(|id| {
        match names.get(&(entry.entity.clone(), id.clone())) {
            Some(n) => Some((
                n.label.clone(),
                n.href.clone().filter(|_| ctx.can(n.opens_with)),
            )),
            None => uuid::Uuid::parse_str(id)
                .is_err()
                .then(|| (id.clone(), None)),
        }
    });
    let fields = if hidden {
        Vec::new()
    } else {
        audit::changes(entry.before_json.as_deref(), entry.after_json.as_deref())
            .iter()
            .map(|c| field_row(ctx, &entry.entity, c))
            .collect()
    };
    Row {
        action: action_name(ctx, &entry.action),
        kind: kind_name(ctx, &entry.entity),
        record,
        hidden,
        has_before: entry.before_json.is_some(),
        has_after: entry.after_json.is_some(),
        fields,
        entry,
    }
}

fn field_row(ctx: &Ctx, entity: &str, change: &FieldChange) -> FieldRow {
    let name = change.field.rsplit('.').next().unwrap_or(&change.field);
    let label = if name.is_empty() {
        String::new()
    } else {
        t_or(
            ctx,
            &format!("audit.fields.{name}"),
            &name.replace('_', " "),
        )
    };
    let show = |v: &Option<serde_json::Value>| match v {
        None => String::new(),
        Some(v) => value_text(ctx, entity, name, v),
    };
    FieldRow {
        label,
        before: show(&change.before),
        after: show(&change.after),
        changed: change.changed(),
    }
}

/// A field's value in words: yes/no, an empty mark, a translated status or role.
fn value_text(ctx: &Ctx, entity: &str, field: &str, value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::Null => "—".to_string(),
        Value::Bool(true) => ctx.t("form.answer_yes"),
        Value::Bool(false) => ctx.t("form.answer_no"),
        Value::String(s) if s.is_empty() => "—".to_string(),
        Value::String(s) => match (entity, field) {
            ("sample", "status") => t_or(ctx, &format!("status.{s}"), s),
            ("user", "role") => ctx.role_name(s),
            ("custody_event", "kind") => t_or(ctx, &format!("custody.kind.{s}"), s),
            _ => s.clone(),
        },
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}
