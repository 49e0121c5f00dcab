//! The audit log: who did what, when, with the record before and after. `record` is called
//! inside the same write transaction as the change it describes.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::audit_log;
use crate::db::{now, DbConn};
use crate::ids::{AuditId, UserId};

/// The person (or command-line operator) acting.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: Option<UserId>,
    pub username: String,
    pub remote_addr: Option<String>,
}

impl Actor {
    /// An operator at the server's command line.
    pub fn command_line() -> Actor {
        let os_user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
        Actor {
            user_id: None,
            username: format!("cli:{os_user}"),
            remote_addr: None,
        }
    }
}

/// Who registers or handles evidence: the signed-in user as actor of the audit entry and as
/// the person of record on the event.
pub struct Handler {
    pub actor: Actor,
    pub user_id: UserId,
}

#[derive(Queryable, Selectable, Debug, Clone, Serialize)]
#[diesel(table_name = audit_log, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct AuditEntry {
    pub id: AuditId,
    pub occurred_at: NaiveDateTime,
    pub user_id: Option<UserId>,
    pub username: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub remote_addr: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct NewAuditEntry<'a> {
    id: AuditId,
    occurred_at: NaiveDateTime,
    user_id: Option<&'a UserId>,
    username: Option<&'a str>,
    action: &'a str,
    entity: &'a str,
    entity_id: Option<&'a str>,
    before_json: Option<String>,
    after_json: Option<String>,
    remote_addr: Option<&'a str>,
}

/// One audit entry. `before`/`after` are snapshots of the record (never secrets).
pub fn record<B: Serialize, A: Serialize>(
    conn: &mut DbConn,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: Option<&str>,
    before: Option<&B>,
    after: Option<&A>,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(NewAuditEntry {
            id: AuditId::new_v7(),
            occurred_at: now(),
            user_id: actor.user_id.as_ref(),
            username: Some(&actor.username),
            action,
            entity,
            entity_id,
            before_json: before.map(to_json),
            after_json: after.map(to_json),
            remote_addr: actor.remote_addr.as_deref(),
        })
        .execute(conn)?;
    Ok(())
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Serializing plain derived structs cannot fail; keep a marker rather than lose the entry.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}

/// Filters of the audit page. Dates are bounds in UTC computed by the caller.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub user_id: Option<UserId>,
    pub entity: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// Keyset position: entries strictly older than this one.
pub type Cursor = crate::keyset::Cursor<AuditId>;

/// One page, newest first, and the cursor of the next page if there is one.
pub fn list(
    conn: &mut DbConn,
    filter: &AuditFilter,
    after: Option<&Cursor>,
    page_size: i64,
) -> QueryResult<(Vec<AuditEntry>, Option<Cursor>)> {
    let mut query = audit_log::table
        .select(AuditEntry::as_select())
        .order((audit_log::occurred_at.desc(), audit_log::id.desc()))
        .limit(page_size + 1)
        .into_boxed();
    if let Some(user_id) = &filter.user_id {
        query = query.filter(audit_log::user_id.eq(user_id.clone()));
    }
    if let Some(entity) = &filter.entity {
        query = query.filter(audit_log::entity.eq(entity.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::occurred_at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_log::occurred_at.lt(until));
    }
    if let Some(c) = after {
        query = query.filter(crate::keyset::before(
            audit_log::occurred_at,
            audit_log::id,
            c,
        ));
    }
    let mut rows = query.load(conn)?;
    let next = crate::keyset::split_page(&mut rows, page_size, |r: &AuditEntry| Cursor {
        at: r.occurred_at,
        id: r.id.clone(),
    });
    Ok((rows, next))
}

/// The entity names present in the log, for the filter's choice list.
pub fn entities(conn: &mut DbConn) -> QueryResult<Vec<String>> {
    audit_log::table
        .select(audit_log::entity)
        .distinct()
        .order(audit_log::entity)
        .load(conn)
}
