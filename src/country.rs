//! Countries of origin: ISO 3166-1 alpha-2 codes with their Spanish and English names.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::i18n::Lang;

struct Names {
    es: String,
    en: String,
}

/// Every country once, by code. Built on first use: keshvar constructs a whole country record
/// (with all its translations) on each lookup, too slow to repeat per request.
fn table() -> &'static BTreeMap<String, Names> {
    static TABLE: OnceLock<BTreeMap<String, Names>> = OnceLock::new();
    TABLE.get_or_init(|| {
        keshvar::CountryIterator::new()
            .map(|country| {
                let translated = |lang: &str| {
                    country
                        .translations()
                        .get(lang)
                        .copied()
                        .unwrap_or(country.iso_short_name())
                        .to_string()
                };
                let names = Names {
                    es: translated("es"),
                    en: translated("en"),
                };
                (country.alpha2().to_string(), names)
            })
            .collect()
    })
}

/// An assigned alpha-2 code, exactly as stored: two upper-case letters.
pub fn is_valid(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) && table().contains_key(code)
}

pub fn name(code: &str, lang: Lang) -> Option<String> {
    table().get(code).map(|names| match lang {
        Lang::Es => names.es.clone(),
        Lang::En => names.en.clone(),
    })
}

/// (code, name) of every country, sorted by name in `lang`, for select boxes.
pub fn options(lang: Lang) -> &'static [(String, String)] {
    static ES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    static EN: OnceLock<Vec<(String, String)>> = OnceLock::new();
    let cell = match lang {
        Lang::Es => &ES,
        Lang::En => &EN,
    };
    cell.get_or_init(|| {
        let mut list: Vec<(String, String)> = table()
            .iter()
            .map(|(code, names)| {
                let name = match lang {
                    Lang::Es => &names.es,
                    Lang::En => &names.en,
                };
                (code.clone(), name.clone())
            })
            .collect();
        list.sort_by_cached_key(|(_, name)| sort_key(name));
        list
    })
}

/// Case and accents ignored, so "Åland Islands" sorts with the A's, not after Z.
fn sort_key(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            // After n, as the Spanish alphabet has it.
            'ñ' => 'n',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_both_languages() {
        assert_eq!(name("PE", Lang::Es).as_deref(), Some("Perú"));
        assert_eq!(name("PE", Lang::En).as_deref(), Some("Peru"));
        assert_eq!(name("BO", Lang::Es).as_deref(), Some("Bolivia"));
        assert_eq!(name("BO", Lang::En).as_deref(), Some("Bolivia"));
        assert_eq!(name("ZZ", Lang::Es), None);
        assert_eq!(name("pe", Lang::Es), None);
    }

    #[test]
    fn only_upper_case_assigned_codes_are_valid() {
        for code in ["PE", "BO", "CN", "US", "DE"] {
            assert!(is_valid(code), "{code}");
        }
        for code in ["pe", "Pe", "PER", "P", "", "ZZ", "XX", "1A", " PE", "É1"] {
            assert!(!is_valid(code), "{code:?}");
        }
    }

    #[test]
    fn options_sorted_by_name_in_each_language() {
        for lang in Lang::ALL {
            let list = options(lang);
            assert!(list.len() > 240, "{}", list.len());
            assert!(list
                .windows(2)
                .all(|w| sort_key(&w[0].1) <= sort_key(&w[1].1)));
            assert!(list.iter().all(|(code, _)| is_valid(code)));
        }
        let es = options(Lang::Es);
        assert!(es.iter().any(|(c, n)| c == "DE" && n == "Alemania"));
        let en = options(Lang::En);
        assert!(en.iter().any(|(c, n)| c == "DE" && n == "Germany"));
        let pos = |code: &str| en.iter().position(|(c, _)| c == code).unwrap();
        assert!(pos("AX") < pos("AL"), "Åland Islands before Albania");
    }
}
