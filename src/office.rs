//! Customs offices and their format rules for the acta reference and the declaration (DAM)
//! number, so a mistyped "acta 12" or "DAM???" is refused at the border post.
//!
//! A rule is a pattern in a small language admins can read, plus an example shown to users:
//! `N` one digit, `A` one letter, `X` one letter or digit, `+` after one of those: one or more
//! of it, `'…'` literal text (to write N, A or X themselves), any other character: itself.
//! Values are compared upper-cased. An office without its own rule uses the SUNAT defaults.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::db::schema::customs_offices;
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::validation::{required_text, FieldErrors};

/// SUNAT's acta numbering: a prefix, a group (year or series) and a number.
pub const DEFAULT_REFERENCE: (&str, &str) = ("A+-X+-N+", "ACTA-2026-000412");
/// SUNAT's DAM: office (3 digits), year, regime (2 digits), number (6 digits).
pub const DEFAULT_DECLARATION: (&str, &str) = ("NNN-NNNN-NN-NNNNNN", "118-2026-10-012345");

/// The longest pattern accepted: values are at most 60 characters.
const MAX_PATTERN: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Digit,
    Letter,
    Alnum,
    Literal(char),
}

impl Class {
    fn accepts(self, c: char) -> bool {
        match self {
            Class::Digit => c.is_ascii_digit(),
            Class::Letter => c.is_alphabetic(),
            Class::Alnum => c.is_ascii_digit() || c.is_alphabetic(),
            Class::Literal(l) => l == c,
        }
    }
}

/// A parsed pattern: each position a class, maybe repeated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(Vec<(Class, bool)>);

/// Why a pattern cannot be used (the i18n key shown next to the pattern field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternError {
    Empty,
    TooLong,
    UnclosedQuote,
    /// `+` with nothing to repeat, or after literal text.
    StrayPlus,
}

impl PatternError {
    pub fn key(self) -> &'static str {
        match self {
            PatternError::Empty => "validation.required",
            PatternError::TooLong => "offices.bad_pattern.too_long",
            PatternError::UnclosedQuote => "offices.bad_pattern.unclosed_quote",
            PatternError::StrayPlus => "offices.bad_pattern.stray_plus",
        }
    }
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(PatternError::Empty);
        }
        if text.chars().count() > MAX_PATTERN {
            return Err(PatternError::TooLong);
        }
        let mut out: Vec<(Class, bool)> = Vec::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                'N' => out.push((Class::Digit, false)),
                'A' => out.push((Class::Letter, false)),
                'X' => out.push((Class::Alnum, false)),
                '+' => match out.last_mut() {
                    Some((class, repeat @ false)) if !matches!(class, Class::Literal(_)) => {
                        *repeat = true
                    }
                    _ => return Err(PatternError::StrayPlus),
                },
                '\'' => {
                    let mut closed = false;
                    for q in chars.by_ref() {
                        if q == '\'' {
                            closed = true;
                            break;
                        }
                        out.extend(q.to_uppercase().map(|u| (Class::Literal(u), false)));
                    }
                    if !closed {
                        return Err(PatternError::UnclosedQuote);
                    }
                }
                c => out.extend(c.to_uppercase().map(|u| (Class::Literal(u), false))),
            }
        }
        Ok(Pattern(out))
    }

    /// Whether the whole of `value` (upper-cased) follows the pattern.
    pub fn matches(&self, value: &str) -> bool {
        let value: Vec<char> = value.to_uppercase().chars().collect();
        matches_at(&self.0, &value)
    }
}

/// Backtracking match; patterns and values are at most 60 characters, so this stays small.
fn matches_at(pattern: &[(Class, bool)], value: &[char]) -> bool {
    match pattern.split_first() {
        None => value.is_empty(),
        Some((&(class, false), rest)) => {
            value.first().is_some_and(|&c| class.accepts(c)) && matches_at(rest, &value[1..])
        }
        Some((&(class, true), rest)) => {
            let run = value.iter().take_while(|&&c| class.accepts(c)).count();
            (1..=run).rev().any(|n| matches_at(rest, &value[n..]))
        }
    }
}

/// One format rule: the pattern and an example that follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FormatRule {
    pub pattern: String,
    pub example: String,
    /// Whether this is the built-in default rather than the office's own.
    pub default: bool,
}

impl FormatRule {
    fn of(own: Option<(String, String)>, default: (&str, &str)) -> FormatRule {
        match own {
            Some((pattern, example)) => FormatRule {
                pattern,
                example,
                default: false,
            },
            None => FormatRule {
                pattern: default.0.to_string(),
                example: default.1.to_string(),
                default: true,
            },
        }
    }

    /// Whether `value` follows the rule. A stored pattern was checked when saved; one that no
    /// longer parses refuses nothing rather than everything.
    pub fn accepts(&self, value: &str) -> bool {
        Pattern::parse(&self.pattern).map_or(true, |p| p.matches(value))
    }
}

/// An office with the rules its seizures follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Office {
    pub name: String,
    pub reference: FormatRule,
    pub declaration: FormatRule,
}

type Row = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn columns() -> (
    customs_offices::name,
    customs_offices::reference_pattern,
    customs_offices::reference_example,
    customs_offices::declaration_pattern,
    customs_offices::declaration_example,
) {
    (
        customs_offices::name,
        customs_offices::reference_pattern,
        customs_offices::reference_example,
        customs_offices::declaration_pattern,
        customs_offices::declaration_example,
    )
}

fn office((name, rp, re, dp, de): Row) -> Office {
    Office {
        name,
        reference: FormatRule::of(rp.zip(re), DEFAULT_REFERENCE),
        declaration: FormatRule::of(dp.zip(de), DEFAULT_DECLARATION),
    }
}

/// The rules of the office named `name` (the defaults for an office not yet known).
pub fn rules_for(conn: &mut DbConn, name: &str) -> QueryResult<Office> {
    let row: Option<Row> = customs_offices::table
        .find(name.trim())
        .select(columns())
        .first(conn)
        .optional()?;
    Ok(row.map_or_else(
        || office((name.trim().to_string(), None, None, None, None)),
        office,
    ))
}

/// Every office with its rules, by name (a handful of rows: one per customs office).
pub fn list(conn: &mut DbConn) -> QueryResult<Vec<Office>> {
    let rows: Vec<Row> = customs_offices::table
        .select(columns())
        .order(customs_offices::name.asc())
        .load(conn)?;
    Ok(rows.into_iter().map(office).collect())
}

/// The admin's rule form as typed; an empty pattern and example means "use the default".
#[derive(Debug, Default, Clone, Serialize, serde::Deserialize)]
pub struct RulesInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub reference_pattern: String,
    #[serde(default)]
    pub reference_example: String,
    #[serde(default)]
    pub declaration_pattern: String,
    #[serde(default)]
    pub declaration_example: String,
}

/// Checks one pattern with its example: both or neither, the pattern well formed, the example
/// following it.
fn check_rule(
    errors: &mut FieldErrors,
    field: &str,
    pattern: &str,
    example: &str,
) -> Option<(String, String)> {
    let (pattern, example) = (pattern.trim(), example.trim());
    if pattern.is_empty() && example.is_empty() {
        return None;
    }
    let example_field = format!("{field}_example");
    let pattern_field = format!("{field}_pattern");
    let example = required_text(errors, &example_field, example, 60).to_uppercase();
    match Pattern::parse(pattern) {
        Err(e) => errors.add(&pattern_field, e.key()),
        Ok(p) if !example.is_empty() && !p.matches(&example) => {
            errors.add(&example_field, "offices.example_mismatch")
        }
        Ok(_) => {}
    }
    Some((pattern.to_string(), example))
}

/// Saves an office's rules (adding the office if it is new), audited.
pub fn save_rules(
    conn: &mut DbConn,
    actor: &Actor,
    input: &RulesInput,
) -> Result<Office, AppError> {
    let mut errors = FieldErrors::default();
    let name = required_text(&mut errors, "name", &input.name, 120);
    let reference = check_rule(
        &mut errors,
        "reference",
        &input.reference_pattern,
        &input.reference_example,
    );
    let declaration = check_rule(
        &mut errors,
        "declaration",
        &input.declaration_pattern,
        &input.declaration_example,
    );
    errors.into_result()?;
    write_tx(conn, |conn| {
        let before = customs_offices::table
            .find(&name)
            .select(columns())
            .first::<Row>(conn)
            .optional()?
            .map(office);
        if before.is_none() {
            diesel::insert_into(customs_offices::table)
                .values((
                    customs_offices::name.eq(&name),
                    customs_offices::created_at.eq::<NaiveDateTime>(now()),
                ))
                .execute(conn)?;
        }
        let (rp, re) = reference.clone().unzip();
        let (dp, de) = declaration.clone().unzip();
        diesel::update(customs_offices::table.find(&name))
            .set((
                customs_offices::reference_pattern.eq(rp),
                customs_offices::reference_example.eq(re),
                customs_offices::declaration_pattern.eq(dp),
                customs_offices::declaration_example.eq(de),
            ))
            .execute(conn)?;
        let after = rules_for(conn, &name)?;
        audit::record(
            conn,
            actor,
            "update",
            "customs_office",
            Some(&name),
            before.as_ref(),
            Some(&after),
        )?;
        Ok(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_take_sunat_numbers_and_refuse_the_mistakes_seen() {
        let dam = Pattern::parse(DEFAULT_DECLARATION.0).unwrap();
        assert!(dam.matches("118-2026-10-012345"));
        assert!(!dam.matches("DAM???"));
        assert!(!dam.matches("118-2026-10-01234"));
        let acta = Pattern::parse(DEFAULT_REFERENCE.0).unwrap();
        for ok in [
            "ACTA-2026-000412",
            "acta-2026-0412",
            "ACTA-T-1",
            "AI-0300-15",
        ] {
            assert!(acta.matches(ok), "{ok}");
        }
        for bad in ["acta 12", "ACTA-12", "2026-0412", "ACTA-2026-", ""] {
            assert!(!acta.matches(bad), "{bad}");
        }
        assert!(Pattern::parse(DEFAULT_REFERENCE.0)
            .unwrap()
            .matches(DEFAULT_REFERENCE.1));
    }

    #[test]
    fn quotes_repeats_and_backtracking() {
        let p = Pattern::parse("'ACTA'-NNNN/X+").unwrap();
        assert!(p.matches("ACTA-2026/A12"));
        assert!(!p.matches("ACTB-2026/A12"));
        // X+ must give back the digits N+ needs.
        assert!(Pattern::parse("X+NN").unwrap().matches("AB12"));
        assert!(!Pattern::parse("X+NN").unwrap().matches("AB1"));
        assert_eq!(Pattern::parse("  "), Err(PatternError::Empty));
        assert_eq!(Pattern::parse("'ACTA"), Err(PatternError::UnclosedQuote));
        assert_eq!(Pattern::parse("+N"), Err(PatternError::StrayPlus));
        assert_eq!(Pattern::parse("-+"), Err(PatternError::StrayPlus));
        assert_eq!(Pattern::parse("N++"), Err(PatternError::StrayPlus));
        assert_eq!(Pattern::parse(&"N".repeat(61)), Err(PatternError::TooLong));
    }
}
