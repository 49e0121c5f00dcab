//! Database guarantees: append-only evidence tables (triggers, proven with raw SQL),
//! migrations, backup and restore, and the command line.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::TestApp;
use diesel::connection::SimpleConnection;
use lims::db::DbConn;
use lims::user::Role;

fn exec(conn: &mut DbConn, sql: &str) -> Result<(), String> {
    conn.batch_execute(sql).map_err(|e| e.to_string())
}

/// A well-formed SHA-256 (the attachments table checks the format).
const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Rows of every evidence table, written with plain SQL as an intruder with database access
/// would.
fn seed_evidence(conn: &mut DbConn, user_id: &str) {
    let t = "'2026-03-01 10:00:00'";
    exec(conn, &format!(
        "INSERT INTO seizures (id, reference, customs_office, seized_at, place, seizing_officer,
            goods_description, risk_channel, registered_by, created_at, updated_at)
         VALUES ('sz1', 'ACTA-2026-0001', 'Callao', {t}, 'Muelle 5', 'Of. Pérez', 'Polvo blanco',
            'red', '{user_id}', {t}, {t});
         INSERT INTO samples (id, seizure_id, lab_code, kind, description, priority, status,
            registered_by, created_at, updated_at)
         VALUES ('sm1', 'sz1', 'LAB-2026-000001', 'sample', 'Bolsa 1', 'urgent', 'received',
            '{user_id}', {t}, {t});
         INSERT INTO custody_events (id, sample_id, seq, kind, occurred_at, recorded_at, recorded_by,
            seal_number, seal_intact, prev_hash, hash, key_id)
         VALUES ('ce1', 'sm1', 1, 'collected', {t}, {t}, '{user_id}', 'PR-1', TRUE, '', 'abc', 'k');
         INSERT INTO custody_seals (sample_id, seq, hash, key_id, mac, sealed_at)
         VALUES ('sm1', 1, 'abc', 'k', 'mac', {t});
         INSERT INTO lab_settings (id, name, address, report_locale, require_second_signature,
            changed_by, changed_at)
         VALUES ('ls1', 'Laboratorio Central', 'Av. Gamarra 680, Callao', 'es', FALSE,
            '{user_id}', {t});
         INSERT INTO reports (id, seizure_id, sample_id, created_by, created_at)
         VALUES ('rp1', 'sz1', 'sm1', '{user_id}', {t});
         INSERT INTO report_versions (id, report_id, version_no, format_version, locale, status,
            lab_settings_id, content, controlled_found, prohibited_found, counterfeit_found,
            drafted_by, drafted_at, updated_at)
         VALUES ('rv1', 'rp1', 1, 1, 'es', 'draft', 'ls1', '{{}}', FALSE, FALSE, FALSE,
            '{user_id}', {t}, {t});
         INSERT INTO attachments (id, owner_kind, sample_id, file_name, content_type, size_bytes,
            sha256, storage_key, uploaded_by, uploaded_at)
         VALUES ('at1', 'sample', 'sm1', 'crom.pdf', 'application/pdf', 10, '{SHA}', 'k1',
            '{user_id}', {t});"
    ))
    .expect("seed rows");
}

#[test]
fn evidence_tables_refuse_update_and_delete_even_with_plain_sql() {
    let app = TestApp::new();
    let user = app.create_user("tec", Role::Technician, "tecnico-password");
    let mut conn = app.db.conn();
    seed_evidence(&mut conn, user.id.as_str());

    let refused = [
        "UPDATE custody_events SET seal_intact = FALSE WHERE id = 'ce1'",
        "DELETE FROM custody_events WHERE id = 'ce1'",
        "UPDATE custody_seals SET hash = 'def'",
        "DELETE FROM custody_seals",
        "UPDATE audit_log SET action = 'nothing'",
        "DELETE FROM audit_log",
        "UPDATE attachments SET file_name = 'x.pdf' WHERE id = 'at1'",
        "DELETE FROM attachments WHERE id = 'at1'",
    ];
    for sql in refused {
        let err = exec(&mut conn, sql).expect_err(sql);
        assert!(
            err.contains("append-only") || err.contains("cannot be changed"),
            "{sql}: {err}"
        );
    }
    // Unkeyed events are only those recorded before keyed custody began.
    let err = exec(
        &mut conn,
        "INSERT INTO custody_events (id, sample_id, seq, kind, occurred_at, recorded_at, \
         recorded_by, prev_hash, hash) SELECT 'ce2', sample_id, 2, kind, occurred_at, \
         recorded_at, recorded_by, hash, 'def' FROM custody_events WHERE id = 'ce1'",
    )
    .expect_err("an unkeyed event");
    assert!(err.contains("must carry a key id"), "{err}");

    // A draft report version may still be edited; once issued it is frozen.
    exec(
        &mut conn,
        "UPDATE report_versions SET conclusion = 'Cocaína' WHERE id = 'rv1'",
    )
    .expect("a draft can be edited");
    exec(
        &mut conn,
        &format!(
            "UPDATE report_versions SET status = 'issued', issued_at = '2026-03-02 09:00:00',
                issued_by = '{0}', content_sha256 = '{SHA}', pdf_sha256 = '{SHA}',
                report_number = 'RPT-2026-000001' WHERE id = 'rv1';
             INSERT INTO report_signatures (id, report_version_id, signer_id, signer_name,
                signer_username, signer_role, meaning_code, meaning_text, auth_method, signed_at,
                content_sha256, key_id, signature_hash)
             VALUES ('sg1', 'rv1', '{0}', 'Ana Pérez', 'tec', 'supervisor', 'reviewed_approved',
                'Revisado y aprobado', 'password', '2026-03-02 09:00:00', '{SHA}', 'k', 'aa');",
            user.id
        ),
    )
    .expect("issuing a draft");
    for sql in [
        "UPDATE report_versions SET conclusion = 'Harina' WHERE id = 'rv1'",
        "DELETE FROM report_versions WHERE id = 'rv1'",
        "UPDATE report_versions SET report_number = 'RPT-2026-000999' WHERE id = 'rv1'",
        "UPDATE reports SET sample_id = NULL WHERE id = 'rp1'",
        "DELETE FROM reports WHERE id = 'rp1'",
        "UPDATE report_signatures SET meaning_code = 'authored'",
        "UPDATE lab_settings SET name = 'x'",
        "DELETE FROM lab_settings",
        "DELETE FROM report_signatures",
    ] {
        let err = exec(&mut conn, sql).expect_err(sql);
        assert!(
            err.contains("append-only") || err.contains("cannot be changed"),
            "{sql}: {err}"
        );
    }
    if app.db.is_postgres() {
        let err = exec(&mut conn, "TRUNCATE audit_log CASCADE").expect_err("truncate");
        assert!(err.contains("append-only"), "{err}");
    }

    // Nothing changed.
    let count = |conn: &mut DbConn, sql: &str| -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(sql).get_result::<N>(conn).unwrap().n
    };
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM custody_events WHERE seal_intact = TRUE"
        ),
        1
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT COUNT(*) AS n FROM report_versions WHERE conclusion = 'Cocaína'"
        ),
        1
    );
    assert!(count(&mut conn, "SELECT COUNT(*) AS n FROM audit_log") >= 1);
}

#[test]
fn unique_constraints_hold() {
    let app = TestApp::new();
    let user = app.create_user("tec", Role::Technician, "tecnico-password");
    let mut conn = app.db.conn();
    seed_evidence(&mut conn, user.id.as_str());
    let t = "'2026-03-01 10:00:00'";
    let dup_seizure = format!(
        "INSERT INTO seizures (id, reference, customs_office, seized_at, place, seizing_officer,
            goods_description, risk_channel, registered_by, created_at, updated_at)
         VALUES ('sz2', 'ACTA-2026-0001', 'Tacna', {t}, 'x', 'y', 'z', 'red', '{}', {t}, {t})",
        user.id
    );
    assert_unique_violation(exec(&mut conn, &dup_seizure), "seizure reference");
    let dup_lab_code = format!(
        "INSERT INTO samples (id, seizure_id, lab_code, kind, description, priority, status,
            registered_by, created_at, updated_at)
         VALUES ('sm2', 'sz1', 'LAB-2026-000001', 'sample', 'x', 'routine', 'registered', '{}', {t}, {t})",
        user.id
    );
    assert_unique_violation(exec(&mut conn, &dup_lab_code), "lab code");
    let dup_chain = format!(
        "INSERT INTO custody_events (id, sample_id, seq, kind, occurred_at, recorded_at, recorded_by,
            prev_hash, hash, key_id) VALUES ('ce2', 'sm1', 1, 'opened', {t}, {t}, '{}', 'abc', 'def',
            '0011223344556677')",
        user.id
    );
    assert_unique_violation(exec(&mut conn, &dup_chain), "position in a chain");
}

/// The statement failed because of a unique index, not for any other reason.
#[track_caller]
fn assert_unique_violation(result: Result<(), String>, what: &str) {
    let err = result.expect_err(what);
    assert!(
        err.contains("UNIQUE constraint failed")
            || err.contains("duplicate key value violates unique constraint"),
        "{what}: {err}"
    );
}

#[test]
fn migrations_are_idempotent() {
    let app = TestApp::new();
    let mut conn = app.db.conn();
    let again = lims::db::migrate(&mut conn).unwrap();
    assert!(again.is_empty(), "nothing left to apply: {again:?}");
}

#[test]
fn sqlite_backup_is_a_complete_restorable_copy() {
    let app = TestApp::new();
    let user = app.create_user("tec", Role::Technician, "tecnico-password");
    let mut conn = app.db.conn();
    let target = app.db.data_dir().join("backup.db");
    if app.db.is_postgres() {
        let err = lims::backup::backup(&mut conn, &target).unwrap_err();
        assert!(err.to_string().contains("pg_dump"), "{err}");
        return;
    }
    seed_evidence(&mut conn, user.id.as_str());
    lims::backup::backup(&mut conn, &target).expect("backup");
    // Never overwrites.
    assert!(lims::backup::backup(&mut conn, &target).is_err());

    let url = lims::db::DbUrl::parse(&format!("sqlite://{}", target.display())).unwrap();
    let restored = lims::db::build_pool(&url).unwrap();
    let mut copy = restored.get().unwrap();
    use diesel::prelude::*;
    #[derive(QueryableByName, PartialEq, Debug)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    for table in [
        "users",
        "audit_log",
        "seizures",
        "samples",
        "custody_events",
        "reports",
        "report_versions",
        "attachments",
    ] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let a: N = diesel::sql_query(&sql).get_result(&mut conn).unwrap();
        let b: N = diesel::sql_query(&sql).get_result(&mut copy).unwrap();
        assert_eq!(a, b, "{table}");
        assert!(b.n > 0, "{table} has rows");
    }
    // The copy keeps its guarantees and logs in.
    assert!(exec(&mut copy, "DELETE FROM audit_log").is_err());
    let u = lims::user::find_by_username(&mut copy, "tec")
        .unwrap()
        .unwrap();
    assert!(lims::user::password::verify(
        "tecnico-password",
        &u.password_hash
    ));
}

fn lims_cmd(app: &TestApp) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lims"));
    cmd.env("DATABASE_URL", &app.db.url)
        .env("LIMS_DATA_DIR", app.db.data_dir())
        .env_remove("LIMS_SECRET_KEY")
        .env("RUST_LOG", "warn");
    cmd
}

#[test]
fn command_line_lists_subcommands_and_creates_users() {
    let app = TestApp::new();
    let help = lims_cmd(&app).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    for sub in ["serve", "migrate", "create-user", "api-token", "backup"] {
        assert!(text.contains(sub), "--help lists {sub}:\n{text}");
    }
    let migrate = lims_cmd(&app).arg("migrate").output().unwrap();
    assert!(migrate.status.success(), "{migrate:?}");

    let create = |args: &[&str], password: &str| {
        let mut child = lims_cmd(&app)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let ok = create(
        &[
            "create-user",
            "mflores",
            "--role",
            "supervisor",
            "--name",
            "María Flores",
        ],
        "maria-password",
    );
    assert!(ok.status.success(), "{ok:?}");
    let short = create(
        &[
            "create-user",
            "corto",
            "--role",
            "technician",
            "--name",
            "Corto",
        ],
        "short",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let bad_role = create(
        &["create-user", "x1", "--role", "chief", "--name", "X"],
        "long-enough-password",
    );
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"));

    let mut conn = app.db.conn();
    let maria = lims::user::find_by_username(&mut conn, "mflores")
        .unwrap()
        .unwrap();
    assert_eq!(maria.role, Role::Supervisor);
    assert_eq!(maria.full_name, "María Flores");
    assert!(lims::user::password::verify(
        "maria-password",
        &maria.password_hash
    ));

    let token = lims_cmd(&app)
        .args(["api-token", "mflores"])
        .output()
        .unwrap();
    assert!(token.status.success(), "{token:?}");
    let token = String::from_utf8_lossy(&token.stdout).trim().to_string();
    assert!(token.starts_with("lims_") && token.len() > 40, "{token}");
    use diesel::prelude::*;
    use lims::db::schema::api_tokens;
    let stored: Vec<String> = api_tokens::table
        .select(api_tokens::token_hash)
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        stored,
        vec![lims::user::session::token_hash(&token)],
        "only the hash is kept"
    );

    // The secret key was generated in the data directory with owner-only permissions.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(app.db.data_dir().join("secret.key")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}
