//! The tariff nomenclature (Harmonized System and national 8–10 digit extensions such as
//! NANDINA): import from CSV and the check of a declared tariff code.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::db::schema::tariff_lines;
use crate::db::{now, write_tx, DbConn};
use crate::i18n::{self, Lang};

/// The nomenclature name stored with lines when the importer names none.
pub const DEFAULT_NOMENCLATURE: &str = "HS2022";

/// Columns the CSV must have (by name, in any order), as in `../shared/data/hs2022.csv`.
const COLUMNS: [&str; 5] = ["section", "hscode", "description", "parent", "level"];

/// The marker the HS files use for "no parent / no section" and for the root line.
const ROOT: &str = "TOTAL";

/// Optional column with a national tariff's Spanish wording (`descripcion` also accepted).
const SPANISH_COLUMNS: [&str; 3] = ["description_es", "descripcion", "descripción"];

/// Rows per INSERT: well below SQLite's and PostgreSQL's bind-parameter limits (8 per row).
const CHUNK: usize = 500;

#[derive(Queryable, Selectable, Debug, Clone, PartialEq, Eq, Serialize)]
#[diesel(table_name = tariff_lines, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct TariffLine {
    pub hs_code: String,
    pub section: Option<String>,
    pub description: String,
    pub parent: Option<String>,
    pub level: i32,
    pub nomenclature: String,
    pub imported_at: NaiveDateTime,
    pub description_es: Option<String>,
}

// NULL rather than DEFAULT for a missing section or parent: SQLite's multi-row upsert cannot
// take the DEFAULT keyword.
#[derive(Insertable, Debug)]
#[diesel(table_name = tariff_lines, treat_none_as_default_value = false)]
struct NewTariffLine {
    hs_code: String,
    section: Option<String>,
    description: String,
    parent: Option<String>,
    level: i32,
    nomenclature: String,
    imported_at: NaiveDateTime,
    description_es: Option<String>,
}

diesel::define_sql_function! {
    /// SQL `coalesce()`: a re-import without Spanish wording keeps the wording a line had.
    fn coalesce(
        x: diesel::sql_types::Nullable<diesel::sql_types::Text>,
        y: diesel::sql_types::Nullable<diesel::sql_types::Text>,
    ) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// The description to show in `lang`: the Spanish wording where the tariff gave one.
pub fn description_in(lang: Lang, english: String, spanish: Option<String>) -> String {
    match (lang, spanish) {
        (Lang::Es, Some(es)) if !es.is_empty() => es,
        _ => english,
    }
}

/// A stored code (digits only) as tariffs print it: the heading, then pairs of digits,
/// `33030000` as `3303.00.00`. Storage and comparisons keep the digits.
pub fn display_code(code: &str) -> String {
    let mut out = String::with_capacity(code.len() + 4);
    for (i, c) in code.chars().enumerate() {
        if i >= 4 && i % 2 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// A tariff code as digits only: declarations and national tariffs write `0101.21.00.00`,
/// `0101 21` or `0101-21`.
pub fn normalize_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| !matches!(c, '.' | '-') && !c.is_whitespace())
        .collect()
}

/// What the lab knows about a declared tariff code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TariffCheck {
    /// Nothing was typed (the code is optional).
    Empty,
    /// Not 6 to 10 digits once dots, spaces and hyphens are removed.
    Malformed,
    /// The tariff line that matched: the code itself or, for a national 8–10 digit code, the
    /// most specific line it falls under (its 8-digit line or its 6-digit HS subheading).
    Known {
        code: String,
        description: String,
        description_es: Option<String>,
    },
    /// Well formed, but no such line (nor its subheading) in the imported tariff.
    Unknown,
    /// No tariff has been imported yet, so the code cannot be checked.
    NotChecked,
}

impl TariffCheck {
    /// i18n key of the message to show beside the code field.
    pub fn message_key(&self) -> &'static str {
        match self {
            TariffCheck::Empty => "tariff.check.empty",
            TariffCheck::Malformed => "tariff.check.malformed",
            TariffCheck::Known { .. } => "tariff.check.known",
            TariffCheck::Unknown => "tariff.check.unknown",
            TariffCheck::NotChecked => "tariff.check.not_checked",
        }
    }
}

pub fn check_code(conn: &mut DbConn, raw: &str) -> QueryResult<TariffCheck> {
    if raw.trim().is_empty() {
        return Ok(TariffCheck::Empty);
    }
    let code = normalize_code(raw);
    if !(6..=10).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(TariffCheck::Malformed);
    }
    let any_line: bool = diesel::select(diesel::dsl::exists(
        tariff_lines::table.select(tariff_lines::hs_code),
    ))
    .get_result(conn)?;
    if !any_line {
        return Ok(TariffCheck::NotChecked);
    }
    // The code is ASCII digits, so these byte slices are whole characters.
    let mut candidates = vec![code.clone()];
    for prefix in [8, 6] {
        if code.len() > prefix {
            candidates.push(code[..prefix].to_string());
        }
    }
    let found: Vec<(String, String, Option<String>)> = tariff_lines::table
        .filter(tariff_lines::hs_code.eq_any(&candidates))
        .select((
            tariff_lines::hs_code,
            tariff_lines::description,
            tariff_lines::description_es,
        ))
        .load(conn)?;
    Ok(found.into_iter().max_by_key(|(c, _, _)| c.len()).map_or(
        TariffCheck::Unknown,
        |(code, description, description_es)| TariffCheck::Known {
            code,
            description,
            description_es,
        },
    ))
}

/// Tariff lines for a code field's suggestions: codes starting with what was typed (dots and
/// spaces ignored), or, for words, lines whose description contains them; at most `limit`,
/// by code. Descriptions in `lang` where the tariff has them.
pub fn suggest(
    conn: &mut DbConn,
    typed: &str,
    limit: i64,
    lang: Lang,
) -> QueryResult<Vec<(String, String)>> {
    let code = normalize_code(typed);
    if code.is_empty() {
        return Ok(Vec::new());
    }
    let query = tariff_lines::table
        .select((
            tariff_lines::hs_code,
            tariff_lines::description,
            tariff_lines::description_es,
        ))
        .order(tariff_lines::hs_code.asc())
        .limit(limit);
    let rows: Vec<(String, String, Option<String>)> = if code.bytes().all(|b| b.is_ascii_digit()) {
        query
            .filter(tariff_lines::hs_code.like(format!("{code}%")))
            .load(conn)?
    } else if typed.trim().chars().count() >= 3 {
        let words = format!("%{}%", typed.trim().to_lowercase().replace(['%', '_'], ""));
        query
            .filter(
                crate::db::lower(tariff_lines::description)
                    .like(words.clone())
                    .or(
                        crate::db::lower(tariff_lines::description_es.assume_not_null())
                            .like(words),
                    ),
            )
            .load(conn)?
    } else {
        Vec::new()
    };
    Ok(rows
        .into_iter()
        .map(|(code, en, es)| (code, description_in(lang, en, es)))
        .collect())
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    tariff_lines::table.count().get_result(conn)
}

pub fn find(conn: &mut DbConn, code: &str) -> QueryResult<Option<TariffLine>> {
    tariff_lines::table
        .find(normalize_code(code))
        .select(TariffLine::as_select())
        .first(conn)
        .optional()
}

/// One refused row of a CSV file: its line number and what is wrong (an i18n key whose text
/// takes `%{line}` and `%{value}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub key: &'static str,
    pub value: String,
}

impl RowError {
    pub fn message(&self, lang: Lang) -> String {
        i18n::tf(
            lang,
            self.key,
            &[("line", &self.line.to_string()), ("value", &self.value)],
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {file}: {reason}")]
    Unreadable { file: String, reason: String },
    #[error("missing columns: {0:?}")]
    MissingColumns(Vec<&'static str>),
    #[error("the file holds no tariff line")]
    NoLines,
    #[error("invalid nomenclature name")]
    Nomenclature,
    #[error("{} row(s) refused", .0.len())]
    Rows(Vec<RowError>),
    #[error("database error: {0}")]
    Db(#[from] diesel::result::Error),
}

impl ImportError {
    /// What went wrong, one message per problem (after a summary line for refused rows).
    pub fn messages(&self, lang: Lang) -> Vec<String> {
        match self {
            ImportError::Unreadable { file, reason } => vec![i18n::tf(
                lang,
                "tariff.import.unreadable",
                &[("file", file), ("reason", reason)],
            )],
            ImportError::MissingColumns(missing) => vec![i18n::tf(
                lang,
                "tariff.import.missing_columns",
                &[
                    ("columns", &missing.join(", ")),
                    ("expected", &COLUMNS.join(",")),
                ],
            )],
            ImportError::NoLines => vec![i18n::t(lang, "tariff.import.no_lines")],
            ImportError::Nomenclature => vec![i18n::t(lang, "tariff.import.nomenclature")],
            ImportError::Rows(rows) => {
                let count = rows.len().to_string();
                let head = i18n::tf(lang, "tariff.import.refused", &[("count", &count)]);
                std::iter::once(head)
                    .chain(rows.iter().map(|r| r.message(lang)))
                    .collect()
            }
            ImportError::Db(e) => vec![e.to_string()],
        }
    }
}

/// What an import changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub file: String,
    pub nomenclature: String,
    pub inserted: usize,
    pub updated: usize,
}

/// Imports the CSV file at `path`; see `import_csv`.
pub fn import_file(
    conn: &mut DbConn,
    actor: &Actor,
    path: &Path,
    nomenclature: &str,
) -> Result<ImportSummary, ImportError> {
    let file_name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    let file = std::fs::File::open(path).map_err(|e| ImportError::Unreadable {
        file: path.display().to_string(),
        reason: e.to_string(),
    })?;
    import_csv(conn, actor, file, &file_name, nomenclature)
}

/// Imports a tariff in the layout `section,hscode,description,parent,level`, with an optional
/// Spanish `description_es` column (a line without it keeps what it had). Every row is
/// checked first; if any is bad nothing is stored and every bad row is reported. Lines
/// already present are updated, so importing the same file again changes nothing but the
/// import time; lines missing from the file are kept, since seizures may cite them.
pub fn import_csv<R: Read>(
    conn: &mut DbConn,
    actor: &Actor,
    reader: R,
    file_name: &str,
    nomenclature: &str,
) -> Result<ImportSummary, ImportError> {
    let nomenclature = nomenclature.trim();
    let valid_name = !nomenclature.is_empty()
        && nomenclature.len() <= 40
        && nomenclature
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid_name {
        return Err(ImportError::Nomenclature);
    }
    let imported_at = now();
    let lines = parse(reader, file_name, nomenclature, imported_at)?;
    write_tx(conn, |conn| {
        let existing: HashSet<String> = tariff_lines::table
            .select(tariff_lines::hs_code)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let updated = lines
            .iter()
            .filter(|l| existing.contains(&l.hs_code))
            .count();
        for chunk in lines.chunks(CHUNK) {
            upsert(conn, chunk)?;
        }
        let summary = ImportSummary {
            file: file_name.to_string(),
            nomenclature: nomenclature.to_string(),
            inserted: lines.len() - updated,
            updated,
        };
        audit::record(
            conn,
            actor,
            "import",
            "tariff",
            Some(nomenclature),
            None::<&()>,
            Some(&summary),
        )?;
        Ok(summary)
    })
}

/// Inserts the lines, updating those whose code exists. Diesel's upsert is implemented per
/// backend, not for the multi-backend connection, hence the match.
fn upsert(conn: &mut DbConn, chunk: &[NewTariffLine]) -> QueryResult<usize> {
    let query = diesel::insert_into(tariff_lines::table)
        .values(chunk)
        .on_conflict(tariff_lines::hs_code)
        .do_update()
        .set((
            tariff_lines::section.eq(excluded(tariff_lines::section)),
            tariff_lines::description.eq(excluded(tariff_lines::description)),
            tariff_lines::parent.eq(excluded(tariff_lines::parent)),
            tariff_lines::level.eq(excluded(tariff_lines::level)),
            tariff_lines::nomenclature.eq(excluded(tariff_lines::nomenclature)),
            tariff_lines::imported_at.eq(excluded(tariff_lines::imported_at)),
            tariff_lines::description_es.eq(coalesce(
                excluded(tariff_lines::description_es),
                tariff_lines::description_es,
            )),
        ));
    match conn {
        DbConn::Sqlite(c) => query.execute(c),
        DbConn::Postgres(c) => query.execute(c),
    }
}

/// Reads and checks every row; the lines only if all of them are good.
fn parse<R: Read>(
    reader: R,
    file_name: &str,
    nomenclature: &str,
    imported_at: NaiveDateTime,
) -> Result<Vec<NewTariffLine>, ImportError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let headers = csv.headers().map_err(|e| ImportError::Unreadable {
        file: file_name.to_string(),
        reason: e.to_string(),
    })?;
    let names: Vec<String> = headers
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let mut index = [0usize; 5];
    let mut missing = Vec::new();
    for (slot, column) in index.iter_mut().zip(COLUMNS) {
        match names.iter().position(|n| n == column) {
            Some(i) => *slot = i,
            None => missing.push(column),
        }
    }
    if !missing.is_empty() {
        return Err(ImportError::MissingColumns(missing));
    }
    let [section_i, code_i, description_i, parent_i, level_i] = index;
    let spanish_i = names
        .iter()
        .position(|n| SPANISH_COLUMNS.contains(&n.as_str()));

    let mut lines = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in csv.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                let (key, value) = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => ("tariff.row.not_utf8", String::new()),
                    csv::ErrorKind::UnequalLengths { len, .. } => {
                        ("tariff.row.field_count", len.to_string())
                    }
                    _ => ("tariff.row.unreadable", e.to_string()),
                };
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                errors.push(RowError { line, key, value });
                // After a read error the rest of the file cannot be read either.
                if fatal {
                    break;
                }
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let raw_code = field(code_i);
        // The file's root ("Total of all commodities") is a heading, not a tariff line.
        if raw_code.eq_ignore_ascii_case(ROOT) {
            continue;
        }
        let mut bad = |key: &'static str, value: &str| {
            errors.push(RowError {
                line,
                key,
                value: value.to_string(),
            })
        };
        let code = normalize_code(raw_code);
        if !(2..=10).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            bad("tariff.row.code_format", raw_code);
            continue;
        }
        if let Some(first) = seen.insert(code.clone(), line) {
            bad("tariff.row.duplicate", &first.to_string());
            continue;
        }
        let level = field(level_i);
        if level.parse::<usize>().ok() != Some(code.len()) {
            bad("tariff.row.level", level);
        }
        let description = field(description_i);
        if description.is_empty() {
            bad("tariff.row.description", "");
        }
        let raw_parent = field(parent_i);
        let parent = if raw_parent.is_empty() || raw_parent.eq_ignore_ascii_case(ROOT) {
            None
        } else {
            let parent = normalize_code(raw_parent);
            // A parent is a heading of the line: a shorter code it starts with.
            let is_heading = parent.len() < code.len()
                && code.starts_with(&parent)
                && parent.bytes().all(|b| b.is_ascii_digit());
            if !is_heading {
                bad("tariff.row.parent", raw_parent);
            }
            Some(parent)
        };
        let section = Some(field(section_i))
            .filter(|s| !s.is_empty() && !s.eq_ignore_ascii_case(ROOT))
            .map(str::to_string);
        lines.push(NewTariffLine {
            level: code.len() as i32,
            hs_code: code,
            section,
            description: description.to_string(),
            parent,
            nomenclature: nomenclature.to_string(),
            imported_at,
            description_es: spanish_i
                .map(field)
                .filter(|d| !d.is_empty())
                .map(str::to_string),
        });
    }
    if !errors.is_empty() {
        return Err(ImportError::Rows(errors));
    }
    if lines.is_empty() {
        return Err(ImportError::NoLines);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_display_as_tariffs_print_them() {
        assert_eq!(display_code("33030000"), "3303.00.00");
        assert_eq!(display_code("330300"), "3303.00");
        assert_eq!(display_code("3303000010"), "3303.00.00.10");
        assert_eq!(display_code("3303"), "3303");
        assert_eq!(display_code("01"), "01");
        assert_eq!(display_code(""), "");
        // What is displayed normalizes back to the stored digits.
        assert_eq!(normalize_code(&display_code("3303000010")), "3303000010");
    }

    #[test]
    fn spanish_wording_only_in_spanish_and_only_when_given() {
        let en = || "Perfumes".to_string();
        assert_eq!(
            description_in(Lang::Es, en(), Some("Perfumes y aguas de tocador".into())),
            "Perfumes y aguas de tocador"
        );
        assert_eq!(
            description_in(Lang::En, en(), Some("Perfumes y aguas".into())),
            "Perfumes"
        );
        assert_eq!(description_in(Lang::Es, en(), None), "Perfumes");
        assert_eq!(
            description_in(Lang::Es, en(), Some(String::new())),
            "Perfumes"
        );
    }
}
