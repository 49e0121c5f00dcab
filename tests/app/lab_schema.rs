//! The laboratory records' guarantees held by the database itself, proven with plain SQL as an
//! intruder (or a careless script) with database access would write it: four-eyes review,
//! one active authorization per analyst and method, the authorization of an assignment being
//! the analyst's own, date and hash formats, one owner per attachment, and append-only
//! evidence.

use diesel::connection::SimpleConnection;
use lims::db::DbConn;
use lims::user::Role;

use crate::common::TestApp;

fn exec(conn: &mut DbConn, sql: &str) -> Result<(), String> {
    conn.batch_execute(sql).map_err(|e| e.to_string())
}

/// The statement failed on a CHECK constraint, not for any other reason.
#[track_caller]
fn assert_check(conn: &mut DbConn, sql: &str) {
    let err = exec(conn, sql).expect_err(sql);
    assert!(
        err.contains("CHECK constraint failed") || err.contains("violates check constraint"),
        "{sql}: {err}"
    );
}

/// The statement was refused by an append-only trigger.
#[track_caller]
fn assert_refused(conn: &mut DbConn, sql: &str) {
    let err = exec(conn, sql).expect_err(sql);
    assert!(
        err.contains("append-only") || err.contains("cannot be changed"),
        "{sql}: {err}"
    );
}

const T: &str = "'2026-03-01 10:00:00'";
const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// People, a method with a version, an authorization, an instrument with its calibration, a
/// sample and an assigned analysis `an1`, all with plain SQL.
struct Seeded {
    analyst: String,
    reviewer: String,
    other: String,
}

fn seed(app: &TestApp) -> (Seeded, lims::db::PooledConn) {
    let analyst = app.create_user("analista", Role::Technician, "clave-analista-1");
    let reviewer = app.create_user("revisora", Role::Supervisor, "clave-revisora-1");
    let other = app.create_user("otra", Role::Technician, "clave-otra-1234");
    let (a, r, o) = (analyst.id.0, reviewer.id.0, other.id.0);
    let mut conn = app.db.conn();
    exec(
        &mut conn,
        &format!(
            "INSERT INTO methods (id, code, current_version, created_by, created_at, updated_at)
             VALUES ('m1', 'AZU-POL-01', 1, '{r}', {T}, {T});
             INSERT INTO method_versions (id, method_id, version_no, name, result_kind, unit,
                decimals, spec_min, spec_min_inclusive, spec_max_inclusive, decision_rule,
                accredited, created_by, created_at)
             VALUES ('mv1', 'm1', 1, 'Sacarosa', 'numeric', '°Z', 1, 99.5, TRUE, TRUE,
                'simple_acceptance', TRUE, '{r}', {T});
             INSERT INTO method_authorizations (id, user_id, method_id, basis, granted_by,
                granted_on, created_at)
             VALUES ('au1', '{a}', 'm1', 'Curso y evaluación', '{r}', '2026-02-01', {T});
             INSERT INTO instruments (id, asset_tag, name, calibration_required,
                calibration_due_on, status, created_by, created_at, updated_at)
             VALUES ('in1', 'EQ-POL-01', 'Polarímetro', TRUE, '2027-01-31', 'in_service', '{r}',
                {T}, {T});
             INSERT INTO calibration_records (id, instrument_id, performed_on, performed_by,
                result, next_due_on, recorded_by, recorded_at)
             VALUES ('ca1', 'in1', '2026-01-31', 'INACAL', 'pass', '2027-01-31', '{r}', {T});
             INSERT INTO seizures (id, reference, customs_office, seized_at, place, seizing_officer,
                goods_description, risk_channel, registered_by, created_at, updated_at)
             VALUES ('sz1', 'ACTA-2026-0001', 'Callao', {T}, 'Muelle 5', 'Of. Pérez', 'Azúcar',
                'red', '{r}', {T}, {T});
             INSERT INTO samples (id, seizure_id, lab_code, kind, description, priority, status,
                registered_by, created_at, updated_at)
             VALUES ('sm1', 'sz1', 'LAB-2026-000001', 'sample', 'Saco 1', 'routine', 'in_testing',
                '{r}', {T}, {T});
             INSERT INTO analyses (id, sample_id, method_id, method_version_id, analyst_id,
                authorization_id, assigned_by, assigned_at, due_on, status, is_external,
                created_at, updated_at)
             VALUES ('an1', 'sm1', 'm1', 'mv1', '{a}', 'au1', '{r}', {T}, '2026-03-15',
                'assigned', FALSE, {T}, {T});"
        ),
    )
    .expect("seed lab records");
    (
        Seeded {
            analyst: a,
            reviewer: r,
            other: o,
        },
        conn,
    )
}

#[test]
fn four_eyes_review_is_checked_by_the_database() {
    let app = TestApp::new();
    let (s, mut conn) = seed(&app);
    let (a, r, o) = (&s.analyst, &s.reviewer, &s.other);
    let submit = format!(
        "UPDATE analyses SET status = 'submitted', submitted_by = '{a}',
            submitted_at = '2026-03-02 10:00:00' WHERE id = 'an1'"
    );
    // Submitted without saying by whom: refused.
    assert_check(
        &mut conn,
        "UPDATE analyses SET status = 'submitted' WHERE id = 'an1'",
    );
    exec(&mut conn, &submit).expect("submit");
    let review = |by: &str, decision: &str, reason: &str| {
        format!(
            "UPDATE analyses SET status = '{decision}', review_decision = '{decision}',
                reviewed_by = '{by}', reviewed_at = '2026-03-03 10:00:00'{reason}
             WHERE id = 'an1'"
        )
    };
    // The performer approving their own result.
    assert_check(&mut conn, &review(a, "approved", ""));
    // A rejection without a reason, or with a blank one.
    assert_check(&mut conn, &review(r, "rejected", ""));
    assert_check(
        &mut conn,
        &review(r, "rejected", ", rejection_reason = '   '"),
    );
    // A reason without a rejection.
    assert_check(
        &mut conn,
        &review(r, "approved", ", rejection_reason = 'x'"),
    );
    // Reviewed-at without reviewed-by, and the other way round.
    assert_check(
        &mut conn,
        "UPDATE analyses SET reviewed_at = '2026-03-03 10:00:00' WHERE id = 'an1'",
    );
    assert_check(
        &mut conn,
        &format!("UPDATE analyses SET reviewed_by = '{r}' WHERE id = 'an1'"),
    );
    // A status that says approved while no review is recorded.
    assert_check(
        &mut conn,
        "UPDATE analyses SET status = 'approved' WHERE id = 'an1'",
    );

    // Submitted by someone else (e.g. entered for the analyst): that person may not review.
    exec(
        &mut conn,
        &format!("UPDATE analyses SET submitted_by = '{r}' WHERE id = 'an1'"),
    )
    .expect("another submitter");
    assert_check(&mut conn, &review(r, "approved", ""));
    exec(
        &mut conn,
        &format!("UPDATE analyses SET submitted_by = '{a}' WHERE id = 'an1'"),
    )
    .unwrap();

    // Another person reviews: accepted; from then on the analysis is frozen.
    exec(&mut conn, &review(r, "approved", "")).expect("a proper review");
    assert_refused(
        &mut conn,
        &format!("UPDATE analyses SET reviewed_by = '{o}' WHERE id = 'an1'"),
    );
    assert_refused(&mut conn, "DELETE FROM analyses WHERE id = 'an1'");
}

#[test]
fn an_assignment_cites_the_analysts_own_authorization_for_that_method() {
    let app = TestApp::new();
    let (s, mut conn) = seed(&app);
    let (o, r) = (&s.other, &s.reviewer);
    // au1 is the analyst's: it cannot be cited for another person.
    let err = exec(
        &mut conn,
        &format!(
            "INSERT INTO analyses (id, sample_id, method_id, method_version_id, analyst_id,
                authorization_id, assigned_by, assigned_at, status, is_external, created_at,
                updated_at)
             VALUES ('an2', 'sm1', 'm1', 'mv1', '{o}', 'au1', '{r}', {T}, 'assigned', FALSE,
                {T}, {T})"
        ),
    )
    .expect_err("someone else's authorization");
    assert!(
        err.contains("FOREIGN KEY constraint failed") || err.contains("foreign key constraint"),
        "{err}"
    );
    // An internal analysis needs an analyst and an authorization.
    assert_check(
        &mut conn,
        &format!(
            "INSERT INTO analyses (id, sample_id, method_id, method_version_id, assigned_by,
                assigned_at, status, is_external, created_at, updated_at)
             VALUES ('an3', 'sm1', 'm1', 'mv1', '{r}', {T}, 'assigned', FALSE, {T}, {T})"
        ),
    );
    // An external one names the laboratory and its report, and no analyst.
    exec(
        &mut conn,
        &format!(
            "INSERT INTO analyses (id, sample_id, method_id, method_version_id, assigned_by,
                assigned_at, status, is_external, external_lab, external_report_ref,
                created_at, updated_at)
             VALUES ('an4', 'sm1', 'm1', 'mv1', '{r}', {T}, 'assigned', TRUE,
                'Laboratorio Central de Aduanas, Santiago', 'LCA-2026-118', {T}, {T})"
        ),
    )
    .expect("external analysis");
    // A retest cannot be its own original.
    assert_check(
        &mut conn,
        "UPDATE analyses SET retest_of_id = 'an4' WHERE id = 'an4'",
    );
}

#[test]
fn one_active_authorization_per_analyst_and_method() {
    let app = TestApp::new();
    let (s, mut conn) = seed(&app);
    let (a, r) = (&s.analyst, &s.reviewer);
    let second = format!(
        "INSERT INTO method_authorizations (id, user_id, method_id, basis, granted_by,
            granted_on, created_at)
         VALUES ('au2', '{a}', 'm1', 'Otra vez', '{r}', '2026-02-20', {T})"
    );
    let err = exec(&mut conn, &second).expect_err("a second active authorization");
    assert!(
        err.contains("UNIQUE constraint failed")
            || err.contains("duplicate key value violates unique constraint"),
        "{err}"
    );
    // Nobody authorizes themselves; revocation comes whole.
    assert_check(
        &mut conn,
        &format!(
            "INSERT INTO method_authorizations (id, user_id, method_id, basis, granted_by,
                granted_on, created_at)
             VALUES ('au3', '{r}', 'm1', 'Yo mismo', '{r}', '2026-02-20', {T})"
        ),
    );
    assert_check(
        &mut conn,
        "UPDATE method_authorizations SET revoked_at = '2026-02-19 10:00:00' WHERE id = 'au1'",
    );
    // Only the revocation may be written; the grant itself never changes.
    assert_refused(
        &mut conn,
        "UPDATE method_authorizations SET basis = 'Nada' WHERE id = 'au1'",
    );
    assert_refused(
        &mut conn,
        "DELETE FROM method_authorizations WHERE id = 'au1'",
    );
    let revoke = format!(
        "UPDATE method_authorizations SET revoked_at = '2026-02-19 10:00:00',
            revoked_by = '{r}', revocation_reason = 'Ensayo de aptitud insatisfactorio'
         WHERE id = 'au1'"
    );
    exec(&mut conn, &revoke).expect("revocation");
    assert_refused(
        &mut conn,
        "UPDATE method_authorizations SET revocation_reason = 'otra' WHERE id = 'au1'",
    );
    // Once revoked, a new one may be granted.
    exec(&mut conn, &second).expect("a new authorization after revocation");
}

#[test]
fn date_columns_take_real_iso_dates_only() {
    let app = TestApp::new();
    let (s, mut conn) = seed(&app);
    let r = &s.reviewer;
    let calibration = |id: &str, performed: &str, due: &str| {
        format!(
            "INSERT INTO calibration_records (id, instrument_id, performed_on, performed_by,
                result, next_due_on, recorded_by, recorded_at)
             VALUES ('{id}', 'in1', '{performed}', 'INACAL', 'pass', '{due}', '{r}', {T})"
        )
    };
    for bad in [
        "2026-02-30",
        "2026-13-01",
        "2026-3-01",
        "01/03/2026",
        "2026-03-01T00:00",
        "2026-03-01 ",
        "mañana",
    ] {
        assert_check(&mut conn, &calibration("cx", bad, "2027-03-01"));
    }
    // The next due date comes after the calibration.
    assert_check(&mut conn, &calibration("cx", "2026-03-01", "2026-03-01"));
    exec(&mut conn, &calibration("cy", "2024-02-29", "2025-02-28")).expect("a leap day");
    assert_check(
        &mut conn,
        "UPDATE analyses SET due_on = '2026-02-29' WHERE id = 'an1'",
    );
    assert_check(
        &mut conn,
        "UPDATE instruments SET calibration_due_on = '31-12-2026' WHERE id = 'in1'",
    );
}

#[test]
fn method_versions_are_checked_and_never_change() {
    let app = TestApp::new();
    let (s, mut conn) = seed(&app);
    let r = &s.reviewer;
    let version = |id: &str, no: i32, extra_cols: &str, extra_vals: &str| {
        format!(
            "INSERT INTO method_versions (id, method_id, version_no, name, result_kind,
                decimals, spec_min_inclusive, spec_max_inclusive, accredited, created_by,
                created_at{extra_cols})
             VALUES ('{id}', 'm1', {no}, 'Sacarosa', 'numeric', 1, TRUE, TRUE, FALSE, '{r}',
                {T}{extra_vals})"
        )
    };
    // A second version needs a reason; limits in order; decimals in range; known kinds.
    assert_check(&mut conn, &version("mv2", 2, "", ""));
    assert_check(
        &mut conn,
        &version(
            "mv2",
            2,
            ", change_reason, spec_min, spec_max, decision_rule",
            ", 'x', 5, 4, 'simple_acceptance'",
        ),
    );
    assert_check(
        &mut conn,
        &version("mv2", 2, ", change_reason, decimals", ", 'x', 9")
            .replace("decimals, spec_min_inclusive", "spec_min_inclusive")
            .replace("'numeric', 1, TRUE", "'numeric', TRUE"),
    );
    assert_check(
        &mut conn,
        &version("mv2", 2, ", change_reason", ", 'x'").replace("'numeric'", "'colour'"),
    );
    // A limit without a decision rule, and a guard band without its width.
    assert_check(
        &mut conn,
        &version("mv2", 2, ", change_reason, spec_min", ", 'x', 99.5"),
    );
    assert_check(
        &mut conn,
        &version(
            "mv2",
            2,
            ", change_reason, spec_min, decision_rule",
            ", 'x', 99.5, 'guard_band'",
        ),
    );
    exec(
        &mut conn,
        &version(
            "mv2",
            2,
            ", change_reason, spec_min, decision_rule, guard_band",
            ", 'Banda de guarda', 99.5, 'guard_band', 0.1",
        ),
    )
    .expect("a proper second version");
    assert_refused(
        &mut conn,
        "UPDATE method_versions SET spec_min = 90 WHERE id = 'mv1'",
    );
    assert_refused(&mut conn, "DELETE FROM method_versions WHERE id = 'mv1'");
}

#[test]
fn evidence_of_the_analysis_is_append_only() {
    let app = TestApp::new();
    let (s, mut conn) = seed(&app);
    let (a, r) = (&s.analyst, &s.reviewer);
    exec(
        &mut conn,
        &format!(
            "INSERT INTO analysis_results (id, analysis_id, seq, raw_value, numeric_value,
                qualifier, unit, uncertainty, coverage_factor, spec_min, spec_min_inclusive,
                spec_max_inclusive, decision_rule, conformity, entered_by, entered_at)
             VALUES ('re1', 'an1', 1, '99,72', 99.72, 'eq', '°Z', 0.1, 2, 99.5, TRUE, TRUE,
                'simple_acceptance', 'pass', '{a}', {T});
             INSERT INTO analysis_observations (id, analysis_id, seq, kind, label, raw_value,
                value, unit, instrument_id, observed_at, entered_by, entered_at)
             VALUES ('ob1', 'an1', 1, 'weighing', 'Masa de muestra', '26,000', 26.0, 'g', 'in1',
                {T}, '{a}', {T});
             INSERT INTO analysis_instruments (id, analysis_id, result_id, instrument_id, used_on,
                instrument_status, calibration_record_id, calibration_due_on, calibration_status,
                recorded_by, recorded_at)
             VALUES ('ai1', 'an1', 're1', 'in1', '2026-03-01', 'in_service', 'ca1', '2027-01-31',
                'valid', '{a}', {T});
             INSERT INTO maintenance_records (id, instrument_id, performed_on, performed_by, kind,
                description, recorded_by, recorded_at)
             VALUES ('mr1', 'in1', '2026-02-10', 'Servicio técnico', 'preventive', 'Limpieza',
                '{r}', {T});
             INSERT INTO training_records (id, user_id, course, completed_on, assessed_by,
                assessed_on, assessment_result, recorded_by, recorded_at)
             VALUES ('tr1', '{a}', 'Polarimetría', '2026-01-10', '{r}', '2026-01-20', 'competent',
                '{r}', {T});
             INSERT INTO attachments (id, owner_kind, calibration_record_id, file_name,
                content_type, size_bytes, sha256, storage_key, uploaded_by, uploaded_at)
             VALUES ('at1', 'calibration', 'ca1', 'certificado.pdf', 'application/pdf', 2048,
                '{SHA}', 'sha256/{SHA}', '{r}', {T});
             INSERT INTO attachment_withdrawals (id, attachment_id, reason, withdrawn_by,
                withdrawn_at)
             VALUES ('aw1', 'at1', 'Certificado de otro equipo', '{r}', {T});"
        ),
    )
    .expect("evidence rows");
    for (table, id, set) in [
        ("analysis_results", "re1", "numeric_value = 100"),
        ("analysis_observations", "ob1", "value = 25"),
        (
            "analysis_instruments",
            "ai1",
            "calibration_due_on = '2028-01-01'",
        ),
        ("calibration_records", "ca1", "next_due_on = '2030-01-01'"),
        ("maintenance_records", "mr1", "description = 'Nada'"),
        (
            "training_records",
            "tr1",
            "assessment_result = 'not_competent'",
        ),
        ("attachments", "at1", "file_name = 'otro.pdf'"),
        ("attachment_withdrawals", "aw1", "reason = 'otra'"),
    ] {
        assert_refused(
            &mut conn,
            &format!("UPDATE {table} SET {set} WHERE id = '{id}'"),
        );
        assert_refused(&mut conn, &format!("DELETE FROM {table} WHERE id = '{id}'"));
    }
    if app.db.is_postgres() {
        for table in [
            "analysis_results",
            "analysis_observations",
            "analysis_instruments",
            "calibration_records",
            "maintenance_records",
            "training_records",
            "method_versions",
            "method_authorizations",
            "analyses",
            "attachment_withdrawals",
            "attachments",
        ] {
            assert_refused(&mut conn, &format!("TRUNCATE {table} CASCADE"));
        }
    }

    // A later entry supersedes the first and says why; the first stays.
    let second = |reason: &str| {
        format!(
            "INSERT INTO analysis_results (id, analysis_id, seq, supersedes_id, raw_value,
                numeric_value, qualifier, spec_min_inclusive, spec_max_inclusive,
                change_reason, entered_by, entered_at)
             VALUES ('re2', 'an1', 2, 're1', '99,27', 99.27, 'eq', TRUE, TRUE, {reason},
                '{a}', {T})"
        )
    };
    assert_check(&mut conn, &second("NULL"));
    exec(&mut conn, &second("'Error de transcripción'")).expect("a change with its reason");
    // Qualifiers: a number where one is claimed, the limit where it is cited.
    assert_check(
        &mut conn,
        &format!(
            "INSERT INTO analysis_results (id, analysis_id, seq, supersedes_id, raw_value,
                qualifier, spec_min_inclusive, spec_max_inclusive, change_reason, entered_by,
                entered_at)
             VALUES ('re3', 'an1', 3, 're2', '<LD', 'below_lod', TRUE, TRUE, 'x', '{a}', {T})"
        ),
    );
    // An instrument out of service or past its due date cannot be recorded as used.
    assert_check(
        &mut conn,
        &format!(
            "INSERT INTO analysis_instruments (id, analysis_id, instrument_id, used_on,
                instrument_status, calibration_record_id, calibration_due_on, calibration_status,
                recorded_by, recorded_at)
             VALUES ('ai2', 'an1', 'in1', '2027-02-01', 'in_service', 'ca1', '2027-01-31',
                'valid', '{a}', {T})"
        ),
    );
    assert_check(
        &mut conn,
        &format!(
            "INSERT INTO analysis_instruments (id, analysis_id, instrument_id, used_on,
                instrument_status, calibration_status, recorded_by, recorded_at)
             VALUES ('ai3', 'an1', 'in1', '2026-03-01', 'out_of_service', 'not_required', '{a}',
                {T})"
        ),
    );
}

#[test]
fn an_attachment_has_one_owner_and_a_sha256() {
    let app = TestApp::new();
    let (s, mut conn) = seed(&app);
    let r = &s.reviewer;
    let attach = |id: &str, owner: &str, cols: &str, vals: &str, sha: &str, size: i64| {
        format!(
            "INSERT INTO attachments (id, owner_kind{cols}, file_name, content_type, size_bytes,
                sha256, storage_key, uploaded_by, uploaded_at)
             VALUES ('{id}', '{owner}'{vals}, 'crom.pdf', 'application/pdf', {size}, '{sha}',
                'k', '{r}', {T})"
        )
    };
    let upper = SHA.to_uppercase();
    let short = &SHA[..63];
    assert_check(
        &mut conn,
        &attach("x1", "sample", ", sample_id", ", 'sm1'", &upper, 10),
    );
    assert_check(
        &mut conn,
        &attach("x1", "sample", ", sample_id", ", 'sm1'", short, 10),
    );
    assert_check(
        &mut conn,
        &attach("x1", "sample", ", sample_id", ", 'sm1'", SHA, 0),
    );
    // No owner, two owners, an owner of another kind, an unknown kind.
    assert_check(&mut conn, &attach("x1", "sample", "", "", SHA, 10));
    assert_check(
        &mut conn,
        &attach(
            "x1",
            "sample",
            ", sample_id, analysis_id",
            ", 'sm1', 'an1'",
            SHA,
            10,
        ),
    );
    assert_check(
        &mut conn,
        &attach("x1", "analysis", ", sample_id", ", 'sm1'", SHA, 10),
    );
    assert_check(
        &mut conn,
        &attach("x1", "photo", ", sample_id", ", 'sm1'", SHA, 10),
    );
    exec(
        &mut conn,
        &attach("x1", "external_report", ", analysis_id", ", 'an1'", SHA, 10),
    )
    .expect("an external laboratory's report belongs to its analysis");
    // A withdrawal says why, once.
    let withdraw = |id: &str, reason: &str| {
        format!(
            "INSERT INTO attachment_withdrawals (id, attachment_id, reason, withdrawn_by,
                withdrawn_at)
             VALUES ('{id}', 'x1', '{reason}', '{r}', {T})"
        )
    };
    assert_check(&mut conn, &withdraw("w1", " "));
    exec(&mut conn, &withdraw("w1", "Subido por error")).unwrap();
    let err = exec(&mut conn, &withdraw("w2", "Otra vez")).expect_err("withdrawn twice");
    assert!(
        err.contains("UNIQUE") || err.contains("duplicate key"),
        "{err}"
    );
}
