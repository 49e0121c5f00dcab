//! Field-level validation messages (i18n keys), shown next to each field.

/// Problems by field, in the order they were found: validators check fields in the order of
/// the form, so the error summary lists them top to bottom.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<(String, String)>);

impl FieldErrors {
    /// Records the first problem of a field; later ones for the same field are dropped.
    pub fn add(&mut self, field: &str, key: &str) {
        if self.get(field).is_none() {
            self.0.push((field.to_string(), key.to_string()));
        }
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, k)| k.as_str())
    }

    /// Whether any of `fields` has a problem (a folded part of a form opens by itself).
    pub fn any_of(&self, fields: &[&str]) -> bool {
        fields.iter().any(|f| self.get(f).is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The problem of `field` in repeated row `i` (fields named `s{i}_{field}`).
    pub fn row(&self, i: impl std::fmt::Display, field: &str) -> Option<&str> {
        self.get(&format!("s{i}_{field}"))
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `Err(self)` when any field has a problem (it converts into `AppError::Invalid`).
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

/// What a form value holds in place of bytes that were not UTF-8, and of NUL (which
/// PostgreSQL cannot store): the form reader puts U+FFFD there, and the checks below refuse it
/// beside the field instead of storing text that lost characters.
pub const UNREADABLE: char = char::REPLACEMENT_CHARACTER;

/// Refuses unreadable bytes and control characters in free text; line breaks and tabs stay.
pub fn check_text(errors: &mut FieldErrors, field: &str, value: &str) {
    if value.contains(UNREADABLE) {
        errors.add(field, "validation.unreadable");
    } else if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.add(field, "validation.control_chars");
    }
}

/// Refuses what an identifier typed by a person (a seizure reference, a seal or declaration
/// number) cannot hold: it is one line without control characters, and without `"` or `\`,
/// which would break the quoting of the file names and printer commands built from it.
pub fn check_identifier(errors: &mut FieldErrors, field: &str, value: &str) {
    if value.contains(UNREADABLE) {
        errors.add(field, "validation.unreadable");
    } else if value
        .chars()
        .any(|c| c.is_control() || matches!(c, '"' | '\\'))
    {
        errors.add(field, "validation.identifier_chars");
    }
}

/// Trims a form value; `None` when nothing was typed.
pub fn opt(value: &str) -> Option<String> {
    let v = clean(value);
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// Removes control characters other than line breaks and tabs from text used to look
/// something up (a search, a filter): a NUL byte would make PostgreSQL refuse the query.
/// Form fields are checked instead (`check_text`, `check_identifier`), never silently changed.
pub fn clean(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .collect()
}

/// A decimal as typed in either locale: `12,5` or `12.5` (no thousands separators).
pub fn parse_decimal(value: &str) -> Option<f64> {
    let v = value.trim().replace(',', ".");
    if v.is_empty() || v.matches('.').count() > 1 {
        return None;
    }
    v.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// A calendar date from an `<input type="date">`: `YYYY-MM-DD`, years 1900 to 2200 (chrono
/// also reads signed years such as `+262142-12-31`, which no lab record has).
pub fn parse_date(value: &str) -> Option<chrono::NaiveDate> {
    use chrono::Datelike;
    chrono::NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (1900..=2200).contains(&d.year()))
}

/// A local date and time from an `<input type="datetime-local">` in the lab's time zone,
/// returned in UTC.
pub fn parse_local_datetime(value: &str, tz: chrono_tz::Tz) -> Option<chrono::NaiveDateTime> {
    use chrono::TimeZone;
    let v = value.trim();
    let local = chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .filter(|t| parse_date(&t.date().format("%Y-%m-%d").to_string()).is_some())?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.naive_utc())
}

/// The value for a `datetime-local` input showing a UTC time in the lab's time zone.
pub fn local_input_value(utc: &chrono::NaiveDateTime, tz: chrono_tz::Tz) -> String {
    utc.and_utc()
        .with_timezone(&tz)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// Checks a required free-text field and its length; returns the trimmed text.
pub fn required_text(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    max_chars: usize,
) -> String {
    check_text(errors, field, value);
    let v = value.trim();
    if v.is_empty() {
        errors.add(field, "validation.required");
    } else if v.chars().count() > max_chars {
        errors.add(field, "validation.too_long");
    }
    v.to_string()
}

/// Checks an optional free-text field's length.
pub fn optional_text(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
    max_chars: usize,
) -> Option<String> {
    check_text(errors, field, value);
    let v = opt(value);
    if v.as_ref().is_some_and(|s| s.chars().count() > max_chars) {
        errors.add(field, "validation.too_long");
    }
    v
}

/// An optional number typed in either locale; a problem goes beside the field.
pub fn optional_number(errors: &mut FieldErrors, field: &str, value: &str) -> Option<f64> {
    if value.trim().is_empty() {
        return None;
    }
    let parsed = parse_decimal(value);
    if parsed.is_none() {
        errors.add(field, "validation.number");
    }
    parsed
}

/// An optional calendar date (`YYYY-MM-DD`); a problem goes beside the field.
pub fn optional_date(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
) -> Option<chrono::NaiveDate> {
    if value.trim().is_empty() {
        return None;
    }
    let parsed = parse_date(value);
    if parsed.is_none() {
        errors.add(field, "validation.date_format");
    }
    parsed
}

/// A required calendar date (`YYYY-MM-DD`); a problem goes beside the field.
pub fn required_date(
    errors: &mut FieldErrors,
    field: &str,
    value: &str,
) -> Option<chrono::NaiveDate> {
    if value.trim().is_empty() {
        errors.add(field, "validation.required");
        return None;
    }
    optional_date(errors, field, value)
}

/// The UTC instant at which a calendar day starts in the lab's time zone.
pub fn day_start_utc(date: chrono::NaiveDate, tz: chrono_tz::Tz) -> Option<chrono::NaiveDateTime> {
    use chrono::TimeZone;
    tz.from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .earliest()
        .map(|t| t.naive_utc())
}

/// A `from`/`to` pair of dates typed in a list filter, as a half-open UTC range that includes
/// the whole `to` day. Problems go beside the two fields.
pub fn date_range(
    from: &str,
    to: &str,
    tz: chrono_tz::Tz,
    errors: &mut FieldErrors,
) -> (Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>) {
    let mut bound = |field: &str, text: &str, days: i64| {
        if text.trim().is_empty() {
            return None;
        }
        match parse_date(text)
            .and_then(|d| day_start_utc(d, tz))
            .and_then(|t| t.checked_add_signed(chrono::TimeDelta::days(days)))
        {
            Some(t) => Some(t),
            None => {
                errors.add(field, "validation.date_format");
                None
            }
        }
    };
    let start = bound("from", from, 0);
    let end = bound("to", to, 1);
    if let (Some(s), Some(e)) = (start, end) {
        if s >= e {
            errors.add("to", "validation.date_order");
        }
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_in_both_locales() {
        assert_eq!(parse_decimal("12,5"), Some(12.5));
        assert_eq!(parse_decimal(" 12.5 "), Some(12.5));
        assert_eq!(parse_decimal("1.234,5"), None);
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal(""), None);
    }

    #[test]
    fn absurd_dates_are_refused_not_panicked_on() {
        assert!(parse_date("+262142-12-31").is_none());
        assert!(parse_date("2026-02-30").is_none());
        assert!(parse_date("2026-03-01").is_some());
        let tz: chrono_tz::Tz = "America/Lima".parse().unwrap();
        let mut errors = FieldErrors::default();
        let (_, to) = date_range("", "+262142-12-31", tz, &mut errors);
        assert!(to.is_none());
        assert_eq!(errors.get("to"), Some("validation.date_format"));
        assert!(parse_local_datetime("+262142-12-31T10:00", tz).is_none());
    }

    #[test]
    fn free_text_keeps_line_breaks_identifiers_do_not() {
        let mut errors = FieldErrors::default();
        check_text(&mut errors, "notes", "Caja abierta\r\n\tsin precinto");
        check_text(&mut errors, "a", "Caja\u{7}");
        check_text(&mut errors, "b", "Caja \u{FFFD}");
        check_identifier(&mut errors, "c", "ACTA-2026/0412 Nº 5");
        check_identifier(&mut errors, "d", "ACTA\r\n1");
        check_identifier(&mut errors, "e", "x\"; filename=evil.exe");
        check_identifier(&mut errors, "f", "PR\\1");
        assert_eq!(errors.get("notes"), None);
        assert_eq!(errors.get("c"), None);
        assert_eq!(errors.get("a"), Some("validation.control_chars"));
        assert_eq!(errors.get("b"), Some("validation.unreadable"));
        assert_eq!(errors.get("d"), Some("validation.identifier_chars"));
        assert_eq!(errors.get("e"), Some("validation.identifier_chars"));
        assert_eq!(errors.get("f"), Some("validation.identifier_chars"));
        let text = required_text(&mut errors, "g", "Polvo\u{0} blanco", 100);
        assert_eq!(text, "Polvo\u{0} blanco");
        assert_eq!(errors.get("g"), Some("validation.control_chars"));
    }

    #[test]
    fn local_datetime_to_utc() {
        let tz: chrono_tz::Tz = "America/Lima".parse().unwrap();
        let utc = parse_local_datetime("2026-03-01T10:30", tz).unwrap();
        assert_eq!(utc.to_string(), "2026-03-01 15:30:00");
        assert_eq!(local_input_value(&utc, tz), "2026-03-01T10:30");
        assert!(parse_local_datetime("yesterday", tz).is_none());
    }
}
