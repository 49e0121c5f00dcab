//! The schema as three sources describe it must agree: `src/db/schema.rs` (what the code
//! compiles against), the SQLite migrations and the PostgreSQL migrations (what databases
//! get). And every migration can be undone and applied again.

use std::collections::BTreeMap;
use std::path::Path;

use diesel::{QueryableByName, RunQueryDsl};

use crate::common::TestApp;

/// A column as the comparison sees it: name, type family, nullable.
#[derive(Debug, PartialEq, Eq)]
struct Column {
    name: String,
    family: &'static str,
    nullable: bool,
}

/// Tables and their columns in order, read from the `diesel::table!` blocks of schema.rs.
fn declared() -> BTreeMap<String, Vec<Column>> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db/schema.rs"))
            .expect("src/db/schema.rs");
    let mut tables = BTreeMap::new();
    let mut current: Option<(String, Vec<Column>)> = None;
    for line in text.lines().map(str::trim) {
        if let Some((name, _)) = line.split_once(" (").filter(|_| line.ends_with('{')) {
            current = Some((name.trim().to_string(), Vec::new()));
        } else if line == "}" {
            if let Some((name, cols)) = current.take() {
                tables.insert(name, cols);
            }
        } else if let (Some((_, cols)), Some((name, ty))) = (&mut current, line.split_once(" -> "))
        {
            let ty = ty.trim_end_matches(',');
            let (nullable, inner) = match ty.strip_prefix("Nullable<") {
                Some(rest) => (true, rest.trim_end_matches('>')),
                None => (false, ty),
            };
            cols.push(Column {
                name: name.to_string(),
                family: family(inner),
                nullable,
            });
        }
    }
    tables
}

/// One name per kind of value, whatever each source calls it.
fn family(ty: &str) -> &'static str {
    match ty.to_ascii_lowercase().as_str() {
        "text" => "text",
        "integer" | "int4" => "integer",
        "bigint" | "int8" => "bigint",
        "double" | "double precision" | "float8" => "double",
        "bool" | "boolean" => "bool",
        "timestamp" | "timestamp without time zone" => "timestamp",
        other => panic!("a column type the comparison does not know: {other}"),
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Catalogued {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    ty: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    nullable: bool,
}

/// Tables and their columns in order, as the migrated database has them.
fn migrated(app: &TestApp) -> BTreeMap<String, Vec<Column>> {
    let mut conn = app.db.conn();
    let (tables_sql, columns_sql): (&str, fn(&str) -> String) = if app.db.is_postgres() {
        (
            "SELECT table_name::text AS name FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            |t| {
                format!(
                    "SELECT column_name::text AS name, data_type::text AS ty,
                        (is_nullable = 'YES') AS nullable
                     FROM information_schema.columns
                     WHERE table_schema = 'public' AND table_name = '{t}'
                     ORDER BY ordinal_position"
                )
            },
        )
    } else {
        (
            // Ordinary tables only: the search index is an FTS5 virtual table (with shadow
            // tables of its own) that the code reads by SQL, not through schema.rs.
            "SELECT name FROM pragma_table_list
             WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%'",
            |t| {
                format!(
                    "SELECT name, type AS ty, (\"notnull\" = 0 AND pk = 0) AS nullable
                     FROM pragma_table_info('{t}') ORDER BY cid"
                )
            },
        )
    };
    let names: Vec<Name> = diesel::sql_query(tables_sql).load(&mut conn).unwrap();
    names
        .into_iter()
        .map(|t| t.name)
        .filter(|t| t != "__diesel_schema_migrations")
        .map(|t| {
            let cols: Vec<Catalogued> = diesel::sql_query(columns_sql(&t)).load(&mut conn).unwrap();
            let cols = cols
                .into_iter()
                .map(|c| Column {
                    family: family(&c.ty),
                    name: c.name,
                    nullable: c.nullable,
                })
                .collect();
            (t, cols)
        })
        .collect()
}

#[test]
fn schema_rs_agrees_with_the_migrated_database() {
    let app = TestApp::new();
    let declared = declared();
    let migrated = migrated(&app);
    assert_eq!(
        declared.keys().collect::<Vec<_>>(),
        migrated.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    for (table, columns) in &declared {
        assert_eq!(columns, &migrated[table], "columns of {table}");
    }
}

#[test]
fn both_backends_have_the_same_migrations() {
    let names = |backend: &str| -> Vec<String> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

#[test]
fn every_migration_goes_down_and_up_again() {
    let app = TestApp::new();
    let before = migrated(&app);
    let mut conn = app.db.conn();
    let reverted = lims::db::revert_all(&mut conn).expect("every down.sql runs");
    assert!(!reverted.is_empty());
    drop(conn);
    assert!(migrated(&app).is_empty(), "down.sql leaves nothing behind");
    let mut conn = app.db.conn();
    let applied = lims::db::migrate(&mut conn).expect("up again");
    assert_eq!(applied.len(), reverted.len());
    drop(conn);
    let after = migrated(&app);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (table, columns) in &before {
        assert_eq!(
            columns, &after[table],
            "columns of {table} after down and up"
        );
    }
}
