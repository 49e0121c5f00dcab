//! Keyset pagination: a page ends at a (timestamp, id) pair and the next page starts strictly
//! after it, so page 1,000 costs the same index range scan as page 1 (no OFFSET).

use chrono::NaiveDateTime;
use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, AsExpression, Expression, SelectableExpression};
use diesel::helper_types::AsExprOf;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, SingleValue, SqlType};
use diesel::QueryResult;

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

/// `(at, id) < (cursor.at, cursor.id)`: the rows after the cursor in a list ordered by
/// `at DESC, id DESC`. As one row-value comparison, SQLite (3.15 and later) and PostgreSQL seek
/// into the `(at, id)` index and read one page wherever it starts; the same condition spelt
/// `at < ? OR (at = ? AND id < ?)` made SQLite scan from the newest row down to the cursor.
pub fn before<At, IdCol, Id>(at: At, id: IdCol, cursor: &Cursor<Id>) -> BeforeCursor<At, IdCol, Id>
where
    At: Expression,
    IdCol: Expression,
    At::SqlType: SqlType + SingleValue,
    IdCol::SqlType: SqlType + SingleValue,
    NaiveDateTime: AsExpression<At::SqlType>,
    Id: AsExpression<IdCol::SqlType> + Clone,
{
    Before {
        at,
        id,
        at_value: cursor.at.as_expression(),
        id_value: cursor.id.clone().as_expression(),
    }
}

/// The condition `before` builds: the two columns and the cursor's values bound to their types.
pub type BeforeCursor<At, IdCol, Id> = Before<
    At,
    IdCol,
    AsExprOf<NaiveDateTime, <At as Expression>::SqlType>,
    AsExprOf<Id, <IdCol as Expression>::SqlType>,
>;

/// `(a, b) < (x, y)`, rendered the same on both backends.
#[derive(Debug, Clone, Copy, QueryId, diesel::expression::ValidGrouping)]
pub struct Before<A, B, X, Y> {
    at: A,
    id: B,
    at_value: X,
    id_value: Y,
}

impl<A, B, X, Y> Expression for Before<A, B, X, Y>
where
    A: Expression,
    B: Expression,
    X: Expression,
    Y: Expression,
{
    type SqlType = Bool;
}

impl<A, B, X, Y, QS> AppearsOnTable<QS> for Before<A, B, X, Y>
where
    A: AppearsOnTable<QS>,
    B: AppearsOnTable<QS>,
    X: AppearsOnTable<QS>,
    Y: AppearsOnTable<QS>,
{
}

impl<A, B, X, Y, QS> SelectableExpression<QS> for Before<A, B, X, Y>
where
    A: SelectableExpression<QS>,
    B: SelectableExpression<QS>,
    X: SelectableExpression<QS>,
    Y: SelectableExpression<QS>,
{
}

impl<A, B, X, Y, DB> QueryFragment<DB> for Before<A, B, X, Y>
where
    DB: Backend,
    A: QueryFragment<DB>,
    B: QueryFragment<DB>,
    X: QueryFragment<DB>,
    Y: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql("(");
        self.at.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.id.walk_ast(out.reborrow())?;
        out.push_sql(") < (");
        self.at_value.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.id_value.walk_ast(out.reborrow())?;
        out.push_sql(")");
        Ok(())
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

    #[test]
    fn the_cursor_is_one_row_value_comparison_on_both_backends() {
        use crate::db::schema::samples;
        use diesel::prelude::*;
        let c = Cursor {
            at: chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
                .unwrap()
                .and_hms_opt(23, 18, 32)
                .unwrap(),
            id: SampleId("01a21f4d-a80c-7537-8e7c-02345f5b317b".into()),
        };
        let q =
            samples::table
                .select(samples::id)
                .filter(before(samples::created_at, samples::id, &c));
        let sqlite = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&q).to_string();
        assert!(
            sqlite.contains("WHERE (`samples`.`created_at`, `samples`.`id`) < (?, ?)"),
            "{sqlite}"
        );
        let pg = diesel::debug_query::<diesel::pg::Pg, _>(&q).to_string();
        assert!(
            pg.contains(r#"WHERE ("samples"."created_at", "samples"."id") < ($1, $2)"#),
            "{pg}"
        );
    }
}
