//! Keyset pagination: a page ends at a (timestamp, id) pair and the next page starts strictly
//! after it, so page 1,000 costs the same index range scan as page 1 (no OFFSET).

use chrono::NaiveDateTime;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<Id> {
    pub at: NaiveDateTime,
    pub id: Id,
}

const FORMAT: &str = "%Y%m%dT%H%M%S%.6f";

impl<Id: std::fmt::Display + From<String>> Cursor<Id> {
    /// The cursor as it travels in a link: `20261127T231832.716313_<uuid>`.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.at.format(FORMAT), self.id)
    }

    /// `None` for anything that is not a cursor this module wrote (the first page then).
    pub fn decode(text: &str) -> Option<Cursor<Id>> {
        let (ts, id) = text.split_once('_')?;
        uuid::Uuid::parse_str(id).ok()?;
        Some(Cursor {
            at: NaiveDateTime::parse_from_str(ts, FORMAT).ok()?,
            id: Id::from(id.to_string()),
        })
    }
}

/// Pages are loaded with one row more than shown: that row only tells whether there is a next
/// page. Drops it and returns the cursor of the next page, if any.
pub fn split_page<T, Id>(
    rows: &mut Vec<T>,
    page_size: i64,
    key: impl Fn(&T) -> Cursor<Id>,
) -> Option<Cursor<Id>> {
    if rows.len() as i64 > page_size {
        rows.truncate(page_size as usize);
        rows.last().map(key)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::SampleId;

    #[test]
    fn round_trip_and_garbage() {
        let c = Cursor {
            at: chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
                .unwrap()
                .and_hms_micro_opt(23, 18, 32, 716_313)
                .unwrap(),
            id: SampleId("01a21f4d-a80c-7537-8e7c-02345f5b317b".into()),
        };
        assert_eq!(Cursor::<SampleId>::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::<SampleId>::decode("nonsense"), None);
        assert_eq!(Cursor::<SampleId>::decode("20261127T231832.716313_x"), None);
    }
}
