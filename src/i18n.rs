//! Languages, translation lookup (catalogues in `locales/`) and locale-aware formatting.

use chrono::NaiveDateTime;
use chrono_tz::Tz;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Es,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Es, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "es" => Some(Lang::Es),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The best supported language of an Accept-Language header, by quality; Spanish if none.
    pub fn from_accept_language(header: Option<&str>) -> Lang {
        let Some(header) = header else {
            return Lang::Es;
        };
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("");
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag) {
                if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, lang));
                }
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::Es)
    }

    /// The language's name in itself, for the language switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::Es => "Español",
            Lang::En => "English",
        }
    }
}

/// Translation of `key` in `lang`.
pub fn t(lang: Lang, key: &str) -> String {
    rust_i18n::t!(key, locale = lang.code()).into_owned()
}

/// Translation with `%{name}` placeholders filled in.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut text = t(lang, key);
    for (name, value) in args {
        text = text.replace(&format!("%{{{name}}}"), value);
    }
    text
}

/// A UTC timestamp in the lab's time zone and the user's date format.
pub fn format_datetime(lang: Lang, tz: Tz, utc: &NaiveDateTime) -> String {
    let local = utc.and_utc().with_timezone(&tz);
    match lang {
        Lang::Es => local.format("%d/%m/%Y %H:%M").to_string(),
        Lang::En => local.format("%b %-d, %Y %H:%M").to_string(),
    }
}

/// A calendar date (`YYYY-MM-DD`) in the user's format; other text is shown as it is.
pub fn format_date(lang: Lang, iso: &str) -> String {
    match chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d") {
        Ok(d) => match lang {
            Lang::Es => d.format("%d/%m/%Y").to_string(),
            Lang::En => d.format("%b %-d, %Y").to_string(),
        },
        Err(_) => iso.to_string(),
    }
}

/// A number as typed into a form field in this language: no thousands separator, the
/// language's decimal mark, as many decimals as it has (at most 6).
pub fn input_number(lang: Lang, value: f64) -> String {
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match lang {
        Lang::Es => text.replace('.', ","),
        Lang::En => text.to_string(),
    }
}

/// A measured quantity with as many decimals as it has (at most 4).
pub fn format_quantity(lang: Lang, value: f64) -> String {
    let text = format!("{value:.4}");
    let decimals = text
        .split_once('.')
        .map_or(0, |(_, f)| f.trim_end_matches('0').len());
    format_number(lang, value, decimals)
}

/// Formats a number with the locale's decimal and thousands separators.
pub fn format_number(lang: Lang, value: f64, decimals: usize) -> String {
    let (thousands, decimal) = match lang {
        Lang::Es => ('.', ','),
        Lang::En => (',', '.'),
    };
    let text = format!("{:.*}", decimals, value.abs());
    let (int_part, frac_part) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i) % 3 == 0 {
            grouped.push(thousands);
        }
        grouped.push(c);
    }
    let sign = if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    if frac_part.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}{decimal}{frac_part}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_highest_quality_supported() {
        assert_eq!(
            Lang::from_accept_language(Some("en-US,en;q=0.9,es;q=0.8")),
            Lang::En
        );
        assert_eq!(
            Lang::from_accept_language(Some("fr-FR,es-PE;q=0.5,en;q=0.4")),
            Lang::Es
        );
        assert_eq!(Lang::from_accept_language(Some("de")), Lang::Es);
        assert_eq!(Lang::from_accept_language(None), Lang::Es);
    }

    #[test]
    fn numbers_follow_locale() {
        assert_eq!(format_number(Lang::Es, 1234567.891, 2), "1.234.567,89");
        assert_eq!(format_number(Lang::En, 1234567.891, 2), "1,234,567.89");
        assert_eq!(format_number(Lang::En, -0.4, 0), "0");
        assert_eq!(format_number(Lang::Es, -12.5, 1), "-12,5");
        assert_eq!(format_number(Lang::En, 999.0, 0), "999");
        assert_eq!(format_quantity(Lang::Es, 1250.5), "1.250,5");
        assert_eq!(format_quantity(Lang::En, 3.0), "3");
        assert_eq!(format_date(Lang::Es, "2026-03-01"), "01/03/2026");
    }

    #[test]
    fn dates_in_lab_time_zone() {
        let utc = chrono::NaiveDate::from_ymd_opt(2026, 1, 2)
            .unwrap()
            .and_hms_opt(3, 4, 0)
            .unwrap();
        let lima: Tz = "America/Lima".parse().unwrap();
        assert_eq!(format_datetime(Lang::Es, lima, &utc), "01/01/2026 22:04");
        assert_eq!(format_datetime(Lang::En, lima, &utc), "Jan 1, 2026 22:04");
    }
}
