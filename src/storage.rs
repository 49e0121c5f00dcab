//! Storage locations of the lab: a tree (building > room > fridge > shelf ...) that samples and
//! custody events point to. Locations are deactivated, never deleted, so every record that
//! cites one keeps its meaning.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::{Deserialize, Serialize};

use crate::audit::{self, Actor};
use crate::db::schema::storage_locations;
use crate::db::{now, text_enum, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::StorageLocationId;
use crate::validation::{check_text, opt, FieldErrors};

text_enum!(
    LocationKind {
        Building => "building",
        Room => "room",
        Fridge => "fridge",
        Freezer => "freezer",
        Cabinet => "cabinet",
        Shelf => "shelf",
        Safe => "safe",
    }
);

impl LocationKind {
    /// i18n key of the kind's name.
    pub fn label_key(self) -> String {
        format!("locations.kinds.{}", self.as_str())
    }
}

#[derive(Queryable, Selectable, Identifiable, Debug, Clone)]
#[diesel(table_name = storage_locations, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct StorageLocation {
    pub id: StorageLocationId,
    pub parent_id: Option<StorageLocationId>,
    pub code: String,
    pub name: String,
    pub kind: LocationKind,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl StorageLocation {
    pub fn kind_key(&self) -> String {
        self.kind.label_key()
    }

    fn snapshot(&self) -> LocationSnapshot<'_> {
        LocationSnapshot {
            code: &self.code,
            name: &self.name,
            kind: self.kind.as_str(),
            parent_id: self.parent_id.as_ref().map(StorageLocationId::as_str),
            active: self.active,
        }
    }
}

/// What the audit log keeps of a location.
#[derive(Serialize)]
struct LocationSnapshot<'a> {
    code: &'a str,
    name: &'a str,
    kind: &'a str,
    parent_id: Option<&'a str>,
    active: bool,
}

#[derive(Insertable)]
#[diesel(table_name = storage_locations)]
struct NewLocationRow<'a> {
    id: StorageLocationId,
    parent_id: Option<StorageLocationId>,
    code: &'a str,
    name: &'a str,
    kind: LocationKind,
    active: bool,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A location with its place in the tree, for lists and select boxes.
#[derive(Debug, Clone)]
pub struct LocationView {
    pub id: StorageLocationId,
    pub parent_id: Option<StorageLocationId>,
    pub code: String,
    pub name: String,
    pub kind: LocationKind,
    /// Its own flag.
    pub active: bool,
    /// Active and inside active locations only: where a sample can be put.
    pub usable: bool,
    /// 0 for a top-level location.
    pub depth: usize,
    /// Names from the top, e.g. "Edificio A / Sala 2 / Refrigerador 1".
    pub path: String,
    /// From the top-level location down to the parent.
    pub ancestor_ids: Vec<StorageLocationId>,
}

impl LocationView {
    pub fn kind_key(&self) -> String {
        self.kind.label_key()
    }
}

/// What an admin types to create a location.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct NewLocationInput {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    /// Empty for a top-level location.
    #[serde(default)]
    pub parent_id: String,
}

/// What an admin may change; the code stays, as labels and records cite it.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LocationChangeInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub parent_id: String,
    /// Checkbox: present when ticked.
    pub active: Option<String>,
}

pub fn normalize_code(text: &str) -> String {
    text.trim().to_uppercase()
}

fn check_code(code: &str, errors: &mut FieldErrors) {
    let ok_chars = code
        .chars()
        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if code.is_empty() {
        errors.add("code", "validation.required");
    } else if code.len() > 30 || !ok_chars {
        errors.add("code", "locations.code_format");
    }
}

fn check_name(name: &str, errors: &mut FieldErrors) {
    check_text(errors, "name", name);
    if name.trim().is_empty() {
        errors.add("name", "validation.required");
    } else if name.trim().chars().count() > 120 {
        errors.add("name", "validation.too_long");
    }
}

fn check_kind(kind: &str, errors: &mut FieldErrors) -> Option<LocationKind> {
    let parsed = LocationKind::parse(kind);
    if parsed.is_none() {
        errors.add("kind", "validation.choose_one");
    }
    parsed
}

/// The parent chosen in the form, `None` for top level. An id that is no UUID cannot name a
/// location.
fn parse_parent(raw: &str, errors: &mut FieldErrors) -> Option<StorageLocationId> {
    let raw = opt(raw)?;
    if uuid::Uuid::parse_str(&raw).is_err() {
        errors.add("parent_id", "locations.parent_missing");
        return None;
    }
    Some(StorageLocationId(raw))
}

pub fn find(conn: &mut DbConn, id: &StorageLocationId) -> QueryResult<Option<StorageLocation>> {
    storage_locations::table
        .find(id)
        .select(StorageLocation::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<StorageLocation>> {
    storage_locations::table
        .filter(storage_locations::code.eq(normalize_code(code)))
        .select(StorageLocation::as_select())
        .first(conn)
        .optional()
}

/// Every location with its path, in tree order (each one right after its parent, siblings
/// by name).
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<LocationView>> {
    let rows: Vec<StorageLocation> = storage_locations::table
        .select(StorageLocation::as_select())
        .load(conn)?;
    let by_id: HashMap<&StorageLocationId, &StorageLocation> =
        rows.iter().map(|r| (&r.id, r)).collect();
    let mut views: Vec<(Vec<(String, String)>, LocationView)> = rows
        .iter()
        .map(|row| {
            let mut chain = vec![row];
            while let Some(parent) = chain
                .last()
                .and_then(|r| r.parent_id.as_ref())
                .and_then(|p| by_id.get(p))
            {
                // Guard against a cycle written behind the application's back.
                if chain.len() > rows.len() {
                    break;
                }
                chain.push(parent);
            }
            chain.reverse();
            let sort_key = chain
                .iter()
                .map(|r| (r.name.to_lowercase(), r.code.clone()))
                .collect();
            let view = LocationView {
                id: row.id.clone(),
                parent_id: row.parent_id.clone(),
                code: row.code.clone(),
                name: row.name.clone(),
                kind: row.kind,
                active: row.active,
                usable: chain.iter().all(|r| r.active),
                depth: chain.len() - 1,
                path: chain
                    .iter()
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" / "),
                ancestor_ids: chain[..chain.len() - 1]
                    .iter()
                    .map(|r| r.id.clone())
                    .collect(),
            };
            (sort_key, view)
        })
        .collect();
    views.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(views.into_iter().map(|(_, v)| v).collect())
}

/// The paths ("Building / Room / Fridge") of these locations, reading only them and their
/// ancestors: one query per level of the tree.
pub fn paths_of(
    conn: &mut DbConn,
    ids: &[StorageLocationId],
) -> QueryResult<HashMap<StorageLocationId, String>> {
    let mut known: HashMap<StorageLocationId, (String, Option<StorageLocationId>)> = HashMap::new();
    let mut wanted: Vec<StorageLocationId> = ids.to_vec();
    while !wanted.is_empty() {
        let rows: Vec<(StorageLocationId, String, Option<StorageLocationId>)> =
            storage_locations::table
                .filter(storage_locations::id.eq_any(&wanted))
                .select((
                    storage_locations::id,
                    storage_locations::name,
                    storage_locations::parent_id,
                ))
                .load(conn)?;
        wanted = rows
            .iter()
            .filter_map(|(_, _, parent)| parent.clone())
            .filter(|p| !known.contains_key(p) && !rows.iter().any(|(id, _, _)| id == p))
            .collect();
        known.extend(
            rows.into_iter()
                .map(|(id, name, parent)| (id, (name, parent))),
        );
    }
    Ok(ids
        .iter()
        .filter(|id| known.contains_key(*id))
        .map(|id| {
            let mut names = Vec::new();
            let mut step = Some(id);
            // Guard against a cycle written behind the application's back.
            while let Some((name, parent)) = step.and_then(|s| known.get(s)) {
                if names.len() > known.len() {
                    break;
                }
                names.push(name.as_str());
                step = parent.as_ref();
            }
            names.reverse();
            (id.clone(), names.join(" / "))
        })
        .collect())
}

/// (id, path) of the locations a sample can be put in, in tree order.
pub fn active_options(conn: &mut DbConn) -> QueryResult<Vec<(StorageLocationId, String)>> {
    Ok(list(conn)?
        .into_iter()
        .filter(|l| l.usable)
        .map(|l| (l.id, l.path))
        .collect())
}

fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    input: &NewLocationInput,
) -> Result<StorageLocation, AppError> {
    let code = normalize_code(&input.code);
    let mut errors = FieldErrors::default();
    check_code(&code, &mut errors);
    check_name(&input.name, &mut errors);
    let kind = check_kind(&input.kind, &mut errors);
    let parent_id = parse_parent(&input.parent_id, &mut errors);
    errors.into_result()?;
    let kind = kind.ok_or_else(|| AppError::invalid("kind", "validation.choose_one"))?;
    write_tx(conn, |conn| {
        if find_by_code(conn, &code)?.is_some() {
            return Err(AppError::invalid("code", "locations.code_taken"));
        }
        if let Some(parent_id) = &parent_id {
            match find(conn, parent_id)? {
                None => return Err(AppError::invalid("parent_id", "locations.parent_missing")),
                Some(p) if !p.active => {
                    return Err(AppError::invalid("parent_id", "locations.parent_inactive"))
                }
                Some(_) => {}
            }
        }
        let t = now();
        let id = StorageLocationId::new_v7();
        diesel::insert_into(storage_locations::table)
            .values(NewLocationRow {
                id: id.clone(),
                parent_id,
                code: &code,
                name: input.name.trim(),
                kind,
                active: true,
                created_at: t,
                updated_at: t,
            })
            .execute(conn)
            .map_err(|e| {
                // Another admin took the code between the check and the insert.
                if is_unique_violation(&e) {
                    AppError::invalid("code", "locations.code_taken")
                } else {
                    AppError::Db(e)
                }
            })?;
        let created = find(conn, &id)?.ok_or(AppError::NotFound)?;
        audit::record(
            conn,
            actor,
            "create",
            "storage_location",
            Some(id.as_str()),
            None::<&()>,
            Some(&created.snapshot()),
        )?;
        Ok(created)
    })
}

pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    id: &StorageLocationId,
    input: &LocationChangeInput,
) -> Result<StorageLocation, AppError> {
    let mut errors = FieldErrors::default();
    check_name(&input.name, &mut errors);
    let kind = check_kind(&input.kind, &mut errors);
    let parent_id = parse_parent(&input.parent_id, &mut errors);
    errors.into_result()?;
    let kind = kind.ok_or_else(|| AppError::invalid("kind", "validation.choose_one"))?;
    write_tx(conn, |conn| {
        let before = find(conn, id)?.ok_or(AppError::NotFound)?;
        if let Some(parent_id) = &parent_id {
            check_new_parent(conn, &before, parent_id)?;
        }
        diesel::update(storage_locations::table.find(id))
            .set((
                storage_locations::name.eq(input.name.trim()),
                storage_locations::kind.eq(kind),
                storage_locations::parent_id.eq(&parent_id),
                storage_locations::active.eq(input.active.is_some()),
                storage_locations::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let after = find(conn, id)?.ok_or(AppError::NotFound)?;
        audit::record(
            conn,
            actor,
            "update",
            "storage_location",
            Some(id.as_str()),
            Some(&before.snapshot()),
            Some(&after.snapshot()),
        )?;
        Ok(after)
    })
}

/// The parent must exist, be active when newly chosen, and not be the location itself or one
/// inside it (that would cut the branch off the tree).
fn check_new_parent(
    conn: &mut DbConn,
    location: &StorageLocation,
    parent_id: &StorageLocationId,
) -> Result<(), AppError> {
    let Some(parent) = find(conn, parent_id)? else {
        return Err(AppError::invalid("parent_id", "locations.parent_missing"));
    };
    if !parent.active && location.parent_id.as_ref() != Some(parent_id) {
        return Err(AppError::invalid("parent_id", "locations.parent_inactive"));
    }
    let parents: HashMap<StorageLocationId, Option<StorageLocationId>> = storage_locations::table
        .select((storage_locations::id, storage_locations::parent_id))
        .load::<(StorageLocationId, Option<StorageLocationId>)>(conn)?
        .into_iter()
        .collect();
    let mut step = Some(parent_id.clone());
    let mut hops = 0;
    while let Some(current) = step {
        if current == location.id {
            return Err(AppError::invalid("parent_id", "locations.parent_cycle"));
        }
        hops += 1;
        // A cycle already in the database (written behind the application's back) ends here.
        if hops > parents.len() {
            break;
        }
        step = parents.get(&current).cloned().flatten();
    }
    Ok(())
}
