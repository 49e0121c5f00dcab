//! Keyset pagination: a page ends at a (sort key, id) pair and the next page starts strictly
//! after it, so page 1,000 costs the same index range scan as page 1 (no OFFSET). Lists newest
//! first use a timestamp key (`Cursor`, `before`); lists in ascending order of another key (a
//! due date) use a text key (`KeyCursor`, `after`). `Position` says where a page sits in the
//! whole list ("1–50 of 91") from two counts the list's indexes answer.

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

/// A position in a list ordered ascending by a text key, then by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCursor<Id> {
    pub key: String,
    pub id: Id,
}

impl<Id: std::fmt::Display + From<String>> KeyCursor<Id> {
    /// `k<key>_<uuid>`: the `k` keeps it apart from a timestamp cursor; the id, which never
    /// holds `_`, is after the last one.
    pub fn encode(&self) -> String {
        format!("k{}_{}", self.key, self.id)
    }

    pub fn decode(text: &str) -> Option<KeyCursor<Id>> {
        let (key, id) = text.strip_prefix('k')?.rsplit_once('_')?;
        uuid::Uuid::parse_str(id).ok()?;
        Some(KeyCursor {
            key: key.to_string(),
            id: Id::from(id.to_string()),
        })
    }
}

/// Where a page sits in its list: rows `first..=last` of `total` (all 0 for an empty list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub first: i64,
    pub last: i64,
    pub total: i64,
}

impl Position {
    /// `total`: rows the list's filters match; `from_here`: of those, the rows from this
    /// page's first on (the rows after the cursor; `total` on the first page); `shown`: rows on
    /// this page.
    pub fn new(total: i64, from_here: i64, shown: usize) -> Position {
        if shown == 0 {
            return Position {
                first: 0,
                last: 0,
                total,
            };
        }
        let first = total - from_here + 1;
        Position {
            first,
            last: first + shown as i64 - 1,
            total,
        }
    }
}

/// Pages are loaded with one row more than shown: that row only tells whether there is a next
/// page. Drops it and returns the cursor of the next page, if any.
pub fn split_page<T, C>(rows: &mut Vec<T>, page_size: i64, key: impl Fn(&T) -> C) -> Option<C> {
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
        op: Lt,
    }
}

/// `(key, id) > (cursor.key, cursor.id)`: the rows after the cursor in a list ordered by
/// `key ASC, id ASC`, `key` being a text column or expression with an index on `(key, id)`.
pub fn after<Key, IdCol, Id>(
    key: Key,
    id: IdCol,
    cursor: &KeyCursor<Id>,
) -> AfterKey<Key, IdCol, Id>
where
    Key: Expression,
    IdCol: Expression,
    Key::SqlType: SqlType + SingleValue,
    IdCol::SqlType: SqlType + SingleValue,
    String: AsExpression<Key::SqlType>,
    Id: AsExpression<IdCol::SqlType> + Clone,
{
    Before {
        at: key,
        id,
        at_value: cursor.key.clone().as_expression(),
        id_value: cursor.id.clone().as_expression(),
        op: Gt,
    }
}

/// The condition `after` builds.
pub type AfterKey<Key, IdCol, Id> = Before<
    Key,
    IdCol,
    AsExprOf<String, <Key as Expression>::SqlType>,
    AsExprOf<Id, <IdCol as Expression>::SqlType>,
    Gt,
>;

/// The comparison of a row-value condition, as a type so each one's statement is cached
/// apart.
pub trait Comparison: Copy {
    fn sql(&self) -> &'static str;
    /// Whether to lead with `a >= x` alone: SQLite seeks an index on an expression by such a
    /// range, but not by a row value whose first member is that expression.
    fn lead_with_range(&self) -> bool {
        false
    }
}

#[derive(Debug, Clone, Copy, QueryId, diesel::expression::ValidGrouping)]
pub struct Lt;
#[derive(Debug, Clone, Copy, QueryId, diesel::expression::ValidGrouping)]
pub struct Gt;

impl Comparison for Lt {
    fn sql(&self) -> &'static str {
        ") < ("
    }
}

impl Comparison for Gt {
    fn sql(&self) -> &'static str {
        ") > ("
    }

    fn lead_with_range(&self) -> bool {
        true
    }
}

/// The condition `before` builds: the two columns and the cursor's values bound to their types.
pub type BeforeCursor<At, IdCol, Id> = Before<
    At,
    IdCol,
    AsExprOf<NaiveDateTime, <At as Expression>::SqlType>,
    AsExprOf<Id, <IdCol as Expression>::SqlType>,
    Lt,
>;

/// `(a, b) < (x, y)` (or `>`, by `Op`), rendered the same on both backends.
#[derive(Debug, Clone, Copy, QueryId, diesel::expression::ValidGrouping)]
pub struct Before<A, B, X, Y, Op> {
    at: A,
    id: B,
    at_value: X,
    id_value: Y,
    op: Op,
}

impl<A, B, X, Y, Op> Expression for Before<A, B, X, Y, Op>
where
    A: Expression,
    B: Expression,
    X: Expression,
    Y: Expression,
{
    type SqlType = Bool;
}

impl<A, B, X, Y, Op, QS> AppearsOnTable<QS> for Before<A, B, X, Y, Op>
where
    A: AppearsOnTable<QS>,
    B: AppearsOnTable<QS>,
    X: AppearsOnTable<QS>,
    Y: AppearsOnTable<QS>,
{
}

impl<A, B, X, Y, Op, QS> SelectableExpression<QS> for Before<A, B, X, Y, Op>
where
    A: SelectableExpression<QS>,
    B: SelectableExpression<QS>,
    X: SelectableExpression<QS>,
    Y: SelectableExpression<QS>,
{
}

impl<A, B, X, Y, Op, DB> QueryFragment<DB> for Before<A, B, X, Y, Op>
where
    DB: Backend,
    Op: Comparison,
    A: QueryFragment<DB>,
    B: QueryFragment<DB>,
    X: QueryFragment<DB>,
    Y: QueryFragment<DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.op.lead_with_range() {
            out.push_sql("(");
            self.at.walk_ast(out.reborrow())?;
            out.push_sql(" >= ");
            self.at_value.walk_ast(out.reborrow())?;
            out.push_sql(" AND ");
        }
        out.push_sql("(");
        self.at.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.id.walk_ast(out.reborrow())?;
        out.push_sql(self.op.sql());
        self.at_value.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.id_value.walk_ast(out.reborrow())?;
        out.push_sql(")");
        if self.op.lead_with_range() {
            out.push_sql(")");
        }
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

    #[test]
    fn an_ascending_key_leads_with_a_range_the_index_on_its_expression_seeks() {
        use crate::db::schema::samples;
        use diesel::prelude::*;
        let c = KeyCursor {
            key: "2026-05-01".into(),
            id: SampleId("01a21f4d-a80c-7537-8e7c-02345f5b317b".into()),
        };
        assert_eq!(KeyCursor::<SampleId>::decode(&c.encode()), Some(c.clone()));
        assert_eq!(
            KeyCursor::<SampleId>::decode("20261127T231832.716313_x"),
            None
        );
        let key = diesel::dsl::sql::<diesel::sql_types::Text>("k");
        let q = samples::table
            .select(samples::id)
            .filter(after(key, samples::id, &c));
        let sqlite = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&q).to_string();
        assert!(
            sqlite.contains("WHERE (k >= ? AND (k, `samples`.`id`) > (?, ?))"),
            "{sqlite}"
        );
    }

    #[test]
    fn positions_count_from_one() {
        assert_eq!(
            Position::new(91, 41, 41),
            Position {
                first: 51,
                last: 91,
                total: 91
            }
        );
        assert_eq!(Position::new(0, 0, 0).first, 0);
    }
}
