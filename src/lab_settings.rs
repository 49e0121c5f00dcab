//! The laboratory's own particulars printed on every report (ISO/IEC 17025 7.8.2.1 b): name,
//! address, accreditation, logo, the report language and whether a second signature is
//! required. Rows are never changed: each save adds one, the latest is in force, and every
//! report version names the row it was drafted under.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::{self, Handler};
use crate::db::schema::lab_settings;
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{LabSettingsId, UserId};
use crate::validation::{optional_text, required_text, FieldErrors};

#[derive(Queryable, Selectable, Identifiable, Debug, Clone, Serialize)]
#[diesel(table_name = lab_settings, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct LabSettings {
    pub id: LabSettingsId,
    pub name: String,
    pub address: String,
    pub accreditation_number: Option<String>,
    pub accreditation_body: Option<String>,
    pub logo_storage_key: Option<String>,
    pub logo_sha256: Option<String>,
    pub logo_content_type: Option<String>,
    pub report_locale: String,
    pub require_second_signature: bool,
    pub changed_by: UserId,
    pub changed_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = lab_settings)]
struct NewSettings<'a> {
    id: &'a LabSettingsId,
    name: &'a str,
    address: &'a str,
    accreditation_number: Option<&'a str>,
    accreditation_body: Option<&'a str>,
    logo_storage_key: Option<&'a str>,
    logo_sha256: Option<&'a str>,
    logo_content_type: Option<&'a str>,
    report_locale: &'a str,
    require_second_signature: bool,
    changed_by: &'a UserId,
    changed_at: NaiveDateTime,
}

/// The settings form as typed.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsInput {
    pub name: String,
    pub address: String,
    pub accreditation_number: String,
    pub accreditation_body: String,
    pub report_locale: String,
    pub require_second_signature: Option<String>,
    /// Ticked to stop printing the current logo.
    pub remove_logo: Option<String>,
}

impl SettingsInput {
    /// The form filled with the settings in force.
    pub fn of(s: &LabSettings) -> SettingsInput {
        SettingsInput {
            name: s.name.clone(),
            address: s.address.clone(),
            accreditation_number: s.accreditation_number.clone().unwrap_or_default(),
            accreditation_body: s.accreditation_body.clone().unwrap_or_default(),
            report_locale: s.report_locale.clone(),
            require_second_signature: s.require_second_signature.then(|| "on".into()),
            remove_logo: None,
        }
    }
}

/// A logo already in the file store, under its SHA-256.
#[derive(Debug, Clone)]
pub struct Logo {
    pub storage_key: String,
    pub sha256: String,
    pub content_type: String,
}

/// The media type of a logo the report can print, from its first bytes (what the browser
/// claims is not trusted): PNG or JPEG.
pub fn logo_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// The settings in force: the latest row, if an admin has saved any.
pub fn current(conn: &mut DbConn) -> QueryResult<Option<LabSettings>> {
    lab_settings::table
        .order((lab_settings::changed_at.desc(), lab_settings::id.desc()))
        .select(LabSettings::as_select())
        .first(conn)
        .optional()
}

pub fn find(conn: &mut DbConn, id: &LabSettingsId) -> QueryResult<LabSettings> {
    lab_settings::table
        .find(id)
        .select(LabSettings::as_select())
        .first(conn)
}

/// Saves a new row of settings (the previous logo is kept unless a new one is given or its
/// removal ticked), audited in the same transaction.
pub fn record(
    conn: &mut DbConn,
    who: &Handler,
    input: &SettingsInput,
    new_logo: Option<Logo>,
) -> Result<LabSettings, AppError> {
    let mut errors = FieldErrors::default();
    let name = required_text(&mut errors, "name", &input.name, 200);
    let address = required_text(&mut errors, "address", &input.address, 500);
    let number = optional_text(
        &mut errors,
        "accreditation_number",
        &input.accreditation_number,
        100,
    );
    let body = optional_text(
        &mut errors,
        "accreditation_body",
        &input.accreditation_body,
        200,
    );
    if !matches!(input.report_locale.as_str(), "es" | "en") {
        errors.add("report_locale", "validation.choose_one");
    }
    errors.into_result()?;
    write_tx(conn, |conn| {
        let before = current(conn)?;
        let logo = match (new_logo, input.remove_logo.is_some()) {
            (Some(logo), _) => Some(logo),
            (None, true) => None,
            (None, false) => before.as_ref().and_then(|b| {
                Some(Logo {
                    storage_key: b.logo_storage_key.clone()?,
                    sha256: b.logo_sha256.clone()?,
                    content_type: b.logo_content_type.clone()?,
                })
            }),
        };
        let id = LabSettingsId::new_v7();
        diesel::insert_into(lab_settings::table)
            .values(NewSettings {
                id: &id,
                name: &name,
                address: &address,
                accreditation_number: number.as_deref(),
                accreditation_body: body.as_deref(),
                logo_storage_key: logo.as_ref().map(|l| l.storage_key.as_str()),
                logo_sha256: logo.as_ref().map(|l| l.sha256.as_str()),
                logo_content_type: logo.as_ref().map(|l| l.content_type.as_str()),
                report_locale: &input.report_locale,
                require_second_signature: input.require_second_signature.is_some(),
                changed_by: &who.user_id,
                // Strictly after the row in force, so "latest" is never a tie.
                changed_at: before.as_ref().map_or_else(now, |b| {
                    now().max(b.changed_at + chrono::TimeDelta::microseconds(1))
                }),
            })
            .execute(conn)?;
        let after = find(conn, &id)?;
        audit::record(
            conn,
            &who.actor,
            "update",
            "lab_settings",
            Some(id.as_str()),
            before.as_ref(),
            Some(&after),
        )?;
        Ok(after)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_logo_is_known_by_its_bytes() {
        assert_eq!(
            super::logo_type(b"\x89PNG\r\n\x1a\nrest"),
            Some("image/png")
        );
        assert_eq!(
            super::logo_type(&[0xff, 0xd8, 0xff, 0xe0]),
            Some("image/jpeg")
        );
        assert_eq!(super::logo_type(b"<svg"), None);
    }
}
