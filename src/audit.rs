//! The audit log: who did what, when, with the record before and after. `record` is called
//! inside the same write transaction as the change it describes.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::access::Permission;
use crate::db::schema::{
    api_tokens, audit_log, calibration_records, custody_events, instruments, maintenance_records,
    method_authorizations, methods, samples, seizures, sessions, storage_locations,
    training_records, users,
};
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

/// How the audit page names a record: its human code (lab code, seizure reference, user
/// name, location code…), its page, and who may open that page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordName {
    pub label: String,
    pub href: Option<String>,
    pub opens_with: Permission,
}

/// The records of one page of entries by (entity, entity_id), named in one query per kind of
/// record on the page (two for sessions: a login names its user, an ended session itself).
/// Records of unknown kinds, and records gone, are simply not named.
pub fn record_names(
    conn: &mut DbConn,
    entries: &[AuditEntry],
) -> QueryResult<HashMap<(String, String), RecordName>> {
    let mut by_kind: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for e in entries {
        if let Some(id) = &e.entity_id {
            by_kind
                .entry(e.entity.as_str())
                .or_default()
                .push(id.clone());
        }
    }
    let mut names = HashMap::new();
    for (kind, ids) in by_kind {
        let named: Vec<(String, String, Option<String>)> = match kind {
            "sample" => samples::table
                .filter(samples::id.eq_any(&ids))
                .select((samples::id, samples::lab_code, samples::id.nullable()))
                .load(conn)?,
            "seizure" => seizures::table
                .filter(seizures::id.eq_any(&ids))
                .select((seizures::id, seizures::reference, seizures::id.nullable()))
                .load(conn)?,
            "custody_event" => custody_events::table
                .inner_join(samples::table)
                .filter(custody_events::id.eq_any(&ids))
                .select((
                    custody_events::id,
                    samples::lab_code,
                    samples::id.nullable(),
                ))
                .load(conn)?,
            "user" => users::table
                .filter(users::id.eq_any(&ids))
                .select((users::id, users::username, users::id.nullable()))
                .load(conn)?,
            "session" => {
                let mut named: Vec<(String, String, Option<String>)> = users::table
                    .filter(users::id.eq_any(&ids))
                    .select((users::id, users::username, users::id.nullable()))
                    .load(conn)?;
                named.extend(
                    sessions::table
                        .inner_join(users::table)
                        .filter(sessions::id.eq_any(&ids))
                        .select((sessions::id, users::username, users::id.nullable()))
                        .load::<(String, String, Option<String>)>(conn)?,
                );
                named
            }
            "api_token" => api_tokens::table
                .inner_join(users::table)
                .filter(api_tokens::id.eq_any(&ids))
                .select((api_tokens::id, users::username, users::id.nullable()))
                .load(conn)?,
            "storage_location" => storage_locations::table
                .filter(storage_locations::id.eq_any(&ids))
                .select((
                    storage_locations::id,
                    storage_locations::code,
                    storage_locations::id.nullable(),
                ))
                .load(conn)?,
            "method" => methods::table
                .filter(methods::id.eq_any(&ids))
                .select((methods::id, methods::code, methods::id.nullable()))
                .load(conn)?,
            "instrument" => instruments::table
                .filter(instruments::id.eq_any(&ids))
                .select((
                    instruments::id,
                    instruments::asset_tag,
                    instruments::id.nullable(),
                ))
                .load(conn)?,
            "calibration_record" => calibration_records::table
                .inner_join(instruments::table)
                .filter(calibration_records::id.eq_any(&ids))
                .select((
                    calibration_records::id,
                    instruments::asset_tag,
                    instruments::id.nullable(),
                ))
                .load(conn)?,
            "maintenance_record" => maintenance_records::table
                .inner_join(instruments::table)
                .filter(maintenance_records::id.eq_any(&ids))
                .select((
                    maintenance_records::id,
                    instruments::asset_tag,
                    instruments::id.nullable(),
                ))
                .load(conn)?,
            "training_record" => training_records::table
                .inner_join(users::table)
                .filter(training_records::id.eq_any(&ids))
                .select((training_records::id, users::username, users::id.nullable()))
                .load(conn)?,
            "method_authorization" => method_authorizations::table
                .inner_join(users::table)
                .inner_join(methods::table)
                .filter(method_authorizations::id.eq_any(&ids))
                .select((
                    method_authorizations::id,
                    users::username.concat(" · ").concat(methods::code),
                    users::id.nullable(),
                ))
                .load(conn)?,
            // The nomenclature's name is the record's name.
            "tariff" => ids.iter().map(|n| (n.clone(), n.clone(), None)).collect(),
            _ => Vec::new(),
        };
        let (page, opens_with) = page_of(kind);
        for (id, label, target) in named {
            let href = match (page, target) {
                (Some(page), Some(target)) => Some(format!("{page}/{target}")),
                (Some(page), None) => Some(page.to_string()),
                _ => None,
            };
            names.insert(
                (kind.to_string(), id),
                RecordName {
                    label,
                    href,
                    opens_with,
                },
            );
        }
    }
    Ok(names)
}

/// Where a kind of record is shown (the named id is appended), and who may look there.
fn page_of(kind: &str) -> (Option<&'static str>, Permission) {
    match kind {
        "sample" | "custody_event" => (Some("/samples"), Permission::ViewCases),
        "seizure" => (Some("/seizures"), Permission::ViewCases),
        "user" | "session" | "api_token" => (Some("/admin/users"), Permission::ManageUsers),
        "storage_location" => (Some("/admin/locations"), Permission::ManageCatalogue),
        "method" => (Some("/methods"), Permission::ViewLabRecords),
        "instrument" | "calibration_record" | "maintenance_record" => {
            (Some("/instruments"), Permission::ViewLabRecords)
        }
        "training_record" | "method_authorization" => (Some("/personnel"), Permission::Supervise),
        "tariff" => (Some("/admin/tariff"), Permission::ManageCatalogue),
        _ => (None, Permission::ViewAudit),
    }
}

/// One field of a snapshot, before and after the change.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    /// The field's name; a nested object's fields as `outer.inner`.
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl FieldChange {
    /// Both snapshots hold the field and it differs.
    pub fn changed(&self) -> bool {
        self.before.is_some() && self.after.is_some() && self.before != self.after
    }
}

/// The snapshots as fields in the order the record lists them (then any the "after" one
/// dropped), without the record's id, hashes, MACs or anything secret.
pub fn changes(before: Option<&str>, after: Option<&str>) -> Vec<FieldChange> {
    let before = before.map(fields).unwrap_or_default();
    let after = after.map(fields).unwrap_or_default();
    let mut out: Vec<FieldChange> = after
        .iter()
        .map(|(field, value)| FieldChange {
            field: field.clone(),
            before: before
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, v)| v.clone()),
            after: Some(value.clone()),
        })
        .collect();
    for (field, value) in &before {
        if !after.iter().any(|(f, _)| f == field) {
            out.push(FieldChange {
                field: field.clone(),
                before: Some(value.clone()),
                after: None,
            });
        }
    }
    // The record's own id: the page names the record by its code instead.
    out.retain(|c| c.field != "id" && !secret(&c.field));
    out
}

/// Hashes, MACs, tokens and passwords identify or protect; they tell a reader nothing.
fn secret(field: &str) -> bool {
    let last = field.rsplit('.').next().unwrap_or(field);
    ["hash", "password", "secret", "token"]
        .iter()
        .any(|s| last.contains(s))
        || last == "mac"
}

/// A snapshot's fields in the order written (serde_json's map would sort them), nested
/// objects flattened one level (their fields sorted); anything not an object is one unnamed field.
fn fields(json: &str) -> Vec<(String, Value)> {
    let Ok(Ordered(top)) = serde_json::from_str::<Ordered>(json) else {
        return match serde_json::from_str::<Value>(json) {
            Ok(Value::Null) | Err(_) => Vec::new(),
            Ok(v) => vec![(String::new(), v)],
        };
    };
    let mut out = Vec::new();
    for (key, value) in top {
        match value {
            Value::Object(inner) => {
                out.extend(inner.into_iter().map(|(k, v)| (format!("{key}.{k}"), v)))
            }
            v => out.push((key, v)),
        }
    }
    out
}

/// A JSON object's entries in document order.
struct Ordered(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Ordered, M::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = m.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(Entries)
    }
}
