//! Sequences that never repeat (lab codes per year, sub-sample letters, report numbers),
//! allocated by the database inside the caller's write transaction: an upsert that adds to the
//! stored value and returns it, so concurrent requests and several app instances never get
//! the same number.

use diesel::prelude::*;

use crate::db::schema::counters;
use crate::db::DbConn;

#[derive(Insertable)]
#[diesel(table_name = counters)]
struct Counter<'a> {
    name: &'a str,
    value: i64,
}

/// Reserves `n` consecutive values of the sequence `name` and returns the last of them
/// (the block is `last - n + 1 ..= last`). A new sequence starts at 1.
pub fn reserve(conn: &mut DbConn, name: &str, n: i64) -> QueryResult<i64> {
    let insert = diesel::insert_into(counters::table)
        .values(Counter { name, value: n })
        .on_conflict(counters::name)
        .do_update()
        .set(counters::value.eq(counters::value + n))
        .returning(counters::value);
    // Upserts are backend-specific in diesel's MultiConnection: run on the inner connection.
    match conn {
        DbConn::Sqlite(c) => insert.get_result(c),
        DbConn::Postgres(c) => insert.get_result(c),
    }
}

pub fn next(conn: &mut DbConn, name: &str) -> QueryResult<i64> {
    reserve(conn, name, 1)
}

/// Sub-sample suffixes: 1 -> A, 26 -> Z, 27 -> AA, like spreadsheet columns.
pub fn letters(mut n: i64) -> String {
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push((b'A' + rem) as char);
        n = (n - 1) / 26;
    }
    out.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn letters_like_columns() {
        assert_eq!(super::letters(1), "A");
        assert_eq!(super::letters(26), "Z");
        assert_eq!(super::letters(27), "AA");
        assert_eq!(super::letters(52), "AZ");
        assert_eq!(super::letters(53), "BA");
    }
}
