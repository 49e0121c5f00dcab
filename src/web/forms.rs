//! Reading urlencoded forms whose fields repeat per row (e.g. the sample rows of a seizure).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub struct Pairs(pub Vec<(String, String)>);

impl Pairs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The fields starting with `prefix`, without it, as a struct of text fields. A field sent
    /// twice counts with its first value, as in `get` and every other form.
    pub fn group<T: DeserializeOwned + Default>(&self, prefix: &str) -> T {
        let mut map = Map::new();
        for (k, v) in &self.0 {
            if let Some(name) = k.strip_prefix(prefix) {
                map.entry(name).or_insert_with(|| Value::String(v.clone()));
            }
        }
        serde_json::from_value(Value::Object(map)).unwrap_or_default()
    }

    /// A small count field such as the number of rows shown, clamped to `1..=max`.
    pub fn count(&self, name: &str, default: usize, max: usize) -> usize {
        self.get(name)
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(default)
            .clamp(1, max)
    }
}

/// The pager under a keyset list: back to the newest page, and on to older ones, each link
/// keeping the list's filters.
pub struct Pager {
    pub first_page: bool,
    pub newest: String,
    pub next: Option<String>,
    /// i18n keys of the two links: newest/older for lists by time, first/next for lists by a
    /// code.
    pub labels: (&'static str, &'static str),
    /// "1–50 of 91", for lists that count their rows.
    pub position: Option<crate::keyset::Position>,
}

impl Pager {
    /// `first_page`: this page was asked for without a cursor; `next`: where the next page
    /// starts, if there is one.
    pub fn new<Id: std::fmt::Display + From<String>>(
        path: &str,
        filters: &[(&str, &str)],
        first_page: bool,
        next: Option<&crate::keyset::Cursor<Id>>,
    ) -> Pager {
        Pager {
            first_page,
            newest: list_link(path, filters, None),
            next: next.map(|c| list_link(path, filters, Some(c.encode()))),
            labels: ("pager.newest", "pager.older"),
            position: None,
        }
    }

    /// The pager of a list in ascending order of a text key (`keyset::KeyCursor`).
    pub fn by_key<Id: std::fmt::Display + From<String>>(
        path: &str,
        filters: &[(&str, &str)],
        first_page: bool,
        next: Option<&crate::keyset::KeyCursor<Id>>,
    ) -> Pager {
        Pager::after_key(path, filters, first_page, next.map(|c| c.encode()))
    }

    /// Links named newest/older, for a list by time whose cursor is encoded already.
    pub fn newest_first(self) -> Pager {
        Pager {
            labels: ("pager.newest", "pager.older"),
            ..self
        }
    }

    /// Shows where this page sits in the list (nothing for an empty list, which says so).
    pub fn with_position(self, position: crate::keyset::Position) -> Pager {
        Pager {
            position: (position.total > 0).then_some(position),
            ..self
        }
    }
}

impl Pager {
    /// For lists ordered by a text key (a code, an asset tag): `next` is the key, already
    /// encoded, the next page starts after.
    pub fn after_key(
        path: &str,
        filters: &[(&str, &str)],
        first_page: bool,
        next: Option<String>,
    ) -> Pager {
        Pager {
            first_page,
            newest: list_link(path, filters, None),
            next: next.map(|key| list_link(path, filters, Some(key))),
            labels: ("pager.first", "pager.next"),
            position: None,
        }
    }
}

/// A list page's link: its filters and, from the second page on, the keyset cursor.
fn list_link(path: &str, filters: &[(&str, &str)], after: Option<String>) -> String {
    let after = after.unwrap_or_default();
    let mut pairs = filters.to_vec();
    pairs.push(("after", after.as_str()));
    format!(
        "{path}?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}
