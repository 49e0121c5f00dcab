//! Test reports: drafting once every test is approved, signing (password re-entered, counted
//! like a sign-in), freezing and issuing with the stored PDF, the second signature, amendments,
//! and what the database and the custody key guard behind the application's back.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use lims::analysis::result::{self, Action, ResultInput};
use lims::analysis::{self, review, AssignInput, PickInput};
use lims::db::schema::{attachments, report_versions};
use lims::db::DbConn;
use lims::ids::{ReportVersionId, SampleId};
use lims::lab_settings::{self, SettingsInput};
use lims::report::{self, VersionStatus};
use lims::sample::{Sample, SampleStatus};
use lims::user::{Role, User};

use crate::analyses::{authorize, iso, status_of, sucrose, today};
use crate::common::{refs, TestApp};
use crate::custody::{lab, Lab, PW};
use crate::custody_tamper::{behind_the_back, lims_cli, verify};

pub(crate) fn exec(conn: &mut DbConn, sql: &str) -> Result<(), String> {
    conn.batch_execute(sql).map_err(|e| e.to_string())
}

/// A lab with a second supervisor, the sucrose method and the technician authorized for it.
pub(crate) fn report_lab() -> (Lab, User) {
    let lab = lab();
    let super2 = lab.app.create_user("super2", Role::Supervisor, PW);
    let method = sucrose(&lab.app);
    authorize(&lab, &lab.tech, &method);
    (lab, super2)
}

/// Received samples, each with a sucrose test assigned to the technician and handed in; the
/// tests, not yet reviewed.
fn tested(lab: &Lab, reference: &str, seals: &[&str]) -> (Vec<Sample>, Vec<lims::ids::AnalysisId>) {
    let mut conn = lab.app.db.conn();
    let samples = crate::analyses::received(lab, reference, seals);
    let method = lims::method::in_use(&mut conn).unwrap()[0].0.id.clone();
    let mut tests = Vec::new();
    for s in &samples {
        analysis::assign(
            &mut conn,
            &lab.supervisor.handler(None),
            std::slice::from_ref(&s.id),
            &AssignInput {
                due_on: iso(today() + chrono::TimeDelta::days(7)),
                picks: vec![PickInput {
                    method_id: method.0.clone(),
                    pick: Some("on".into()),
                    analyst_id: lab.tech.id.0.clone(),
                }],
            },
            today(),
        )
        .unwrap();
        let a = crate::analyses::tests_of(&lab.app, &s.id)[0].id.clone();
        result::save(
            &mut conn,
            &lab.tech.handler(None),
            &s.id,
            &[ResultInput {
                analysis_id: a.0.clone(),
                qualifier: "eq".into(),
                value: "99.2".into(),
                uncertainty: "0.2".into(),
                coverage_factor: "2".into(),
                ..Default::default()
            }],
            Action::Submit,
            today(),
        )
        .unwrap()
        .map_err(|r| r.errors)
        .unwrap();
        tests.push(a);
    }
    (samples, tests)
}

fn approve(lab: &Lab, tests: &[lims::ids::AnalysisId]) {
    for a in tests {
        review::approve(&mut lab.app.db.conn(), &lab.supervisor.handler(None), a).unwrap();
    }
}

/// Samples awaiting their report.
pub(crate) fn approved(lab: &Lab, reference: &str, seals: &[&str]) -> Vec<Sample> {
    let (samples, tests) = tested(lab, reference, seals);
    approve(lab, &tests);
    for s in &samples {
        assert_eq!(status_of(&lab.app, &s.id), SampleStatus::AwaitingReport);
    }
    samples
}

pub(crate) fn settings(lab: &Lab, second_signature: bool) {
    let admin = crate::analyses::admin(&lab.app);
    lab_settings::record(
        &mut lab.app.db.conn(),
        &admin.handler(None),
        &SettingsInput {
            name: "Laboratorio Central de Aduanas".into(),
            address: "Av. Gamarra 680, Chucuito, Callao".into(),
            accreditation_number: "LE-042".into(),
            accreditation_body: "INACAL-DA".into(),
            report_locale: "es".into(),
            require_second_signature: second_signature.then(|| "on".into()),
            remove_logo: None,
        },
        None,
    )
    .unwrap();
}

/// The declared subheading (cocaine) and the one the lab finds (cane sugar), imported.
pub(crate) const TARIFF_LINES: &str =
    "INSERT INTO tariff_lines (hs_code, description, nomenclature, level, imported_at)
     VALUES ('293971', 'Cocaine, ecgonine', 'HS2022', 6, '2026-03-01 10:00:00'),
            ('170199', 'Other cane or beet sugar', 'HS2022', 6, '2026-03-01 10:00:00')";

/// The report drafted on `sample` by the supervisor, through the page: its id.
async fn draft_on<S, B>(
    c: &mut crate::common::Client<S>,
    app: &TestApp,
    sample: &SampleId,
) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    c.get(&format!("/reports/new?sample={sample}")).await;
    let page = c.post("/reports/new", &[("sample", sample.as_str())]).await;
    let to = page.location().expect("drafted").to_string();
    let _ = app;
    to.trim_start_matches("/reports/").to_string()
}

pub(crate) fn versions(app: &TestApp, report_id: &str) -> Vec<report::Version> {
    report::versions_of(&mut app.db.conn(), &lims::ids::ReportId(report_id.into())).unwrap()
}

fn sign_path(report_id: &str, v: &ReportVersionId, what: &str) -> String {
    format!("/reports/{report_id}/versions/{v}/{what}")
}

#[actix_web::test]
async fn drafting_is_refused_without_settings_and_while_a_test_is_not_approved() {
    let (lab, _) = report_lab();
    let (samples, tests) = tested(&lab, "ACTA-RPT-1", &["PR-1"]);
    let s = &samples[0];
    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get("/").await;
    let page = c.get(&format!("/reports/new?sample={}", s.id)).await;
    assert_eq!(page.status, 400);
    page.assert_contains("aún no están aprobados");
    let page = c.post("/reports/new", &[("sample", s.id.as_str())]).await;
    assert_eq!(page.status, 400);
    page.assert_contains("aún no están aprobados");

    approve(&lab, &tests);
    let page = c.post("/reports/new", &[("sample", s.id.as_str())]).await;
    assert_eq!(page.status, 400);
    page.assert_contains("un administrador debe completarlos");

    settings(&lab, false);
    let page = c.get(&format!("/samples/{}", s.id)).await;
    page.assert_contains(&format!("/reports/new?sample={}", s.id));
    let id = draft_on(&mut c, &lab.app, &s.id).await;
    let v = &versions(&lab.app, &id)[0];
    assert_eq!(v.status, VersionStatus::Draft);
    let content = v.parsed().unwrap();
    assert_eq!(content.items[0].lab_code, s.lab_code);
    assert_eq!(content.results[0].value, "99,2");
    assert_eq!(content.results[0].coverage_k.as_deref(), Some("2"));
    assert_eq!(content.laboratory.name, "Laboratorio Central de Aduanas");
    let page = c.get(&format!("/reports/{id}")).await;
    assert_eq!(page.status, 200);
    page.assert_contains(&s.lab_code);

    // A second report on the same sample is refused: it is amended instead.
    let page = c.post("/reports/new", &[("sample", s.id.as_str())]).await;
    assert_eq!(page.status, 400);
    page.assert_contains("Ya existe un informe");
}

#[actix_web::test]
async fn the_draft_checks_the_found_tariff_code_and_compares_it_with_the_declared_one() {
    let (lab, _) = report_lab();
    settings(&lab, false);
    let s = &approved(&lab, "ACTA-RPT-2", &["PR-1"])[0];
    exec(&mut lab.app.db.conn(), TARIFF_LINES).unwrap();
    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get("/").await;
    let id = draft_on(&mut c, &lab.app, &s.id).await;
    let v = versions(&lab.app, &id)[0].id.clone();
    let page = c
        .post(
            &sign_path(&id, &v, "edit"),
            &[("found_hs_code", "9999.99"), ("conclusion", "Sacarosa")],
        )
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("Sacarosa");
    let page = c
        .post(
            &sign_path(&id, &v, "edit"),
            &[
                ("found_hs_code", "1701.99"),
                ("conclusion", "Sacarosa de caña"),
                ("counterfeit_found", "on"),
            ],
        )
        .await;
    page.assert_redirect(&format!("/reports/{id}"));
    let v = &versions(&lab.app, &id)[0];
    assert_eq!(v.found_hs_code.as_deref(), Some("170199"));
    assert_eq!(v.declared_hs_code.as_deref(), Some("293971"));
    assert_eq!(v.tariff_difference.as_deref(), Some("chapter"));
    assert!(v.counterfeit_found);
    let content = v.parsed().unwrap();
    assert_eq!(content.tariff.found.as_deref(), Some("1701.99"));
    assert_eq!(content.conclusion.as_deref(), Some("Sacarosa de caña"));
}

#[actix_web::test]
async fn signing_issues_the_report_with_its_stored_pdf_and_the_samples_are_reported() {
    let (lab, _) = report_lab();
    settings(&lab, false);
    let samples = approved(&lab, "ACTA-RPT-3", &["PR-1", "PR-2"]);
    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get("/").await;
    let seizure = samples[0].seizure_id.clone();
    c.get(&format!("/reports/new?seizure={seizure}")).await;
    let page = c
        .post("/reports/new", &[("seizure", seizure.as_str())])
        .await;
    let id = page
        .location()
        .unwrap()
        .trim_start_matches("/reports/")
        .to_string();
    let v = versions(&lab.app, &id)[0].id.clone();

    let page = c
        .post(
            &sign_path(&id, &v, "sign"),
            &[("password", PW), ("meaning", "reviewed_approved")],
        )
        .await;
    page.assert_redirect(&format!("/reports/{id}"));
    let issued = &versions(&lab.app, &id)[0];
    assert_eq!(issued.status, VersionStatus::Issued);
    let number = issued.report_number.clone().unwrap();
    let year = chrono::Utc::now().format("%Y").to_string();
    assert!(number.starts_with(&format!("RPT-{year}-")), "{number}");
    let content = issued.parsed().unwrap();
    assert_eq!(content.report_number, number);
    assert_eq!(content.items.len(), 2);
    assert_eq!(
        issued.content_sha256.as_deref(),
        Some(content.sha256().as_str())
    );
    for s in &samples {
        assert_eq!(status_of(&lab.app, &s.id), SampleStatus::Reported);
        let head = lims::sample::find(&mut lab.app.db.conn(), &s.id).unwrap();
        let item = content
            .items
            .iter()
            .find(|i| i.lab_code == s.lab_code)
            .unwrap();
        assert_eq!(Some(item.custody_seq), head.custody_head_seq);
        assert_eq!(Some(&item.custody_hash), head.custody_head_hash.as_ref());
    }
    let mut conn = lab.app.db.conn();
    assert!(report::signatures_hold(&mut conn, &issued.id).unwrap());
    assert!(report::anchors_hold(&mut conn, &issued.id).unwrap());
    let signature = &report::signatures_of(&mut conn, &issued.id).unwrap()[0];
    assert_eq!(signature.signer_username, "super");
    assert_eq!(signature.meaning_text, "Revisado y aprobado");

    // The stored PDF is the one whose SHA-256 the version keeps, and names the verify URL.
    let (key, sha): (String, String) = attachments::table
        .filter(attachments::report_version_id.eq(issued.id.as_str()))
        .select((attachments::storage_key, attachments::sha256))
        .first(&mut conn)
        .unwrap();
    assert_eq!(Some(&sha), issued.pdf_sha256.as_ref());
    let blobs = lims::blob::BlobStore::open(&lab.app.state.config.storage_url).unwrap();
    let bytes = blobs.get(&key).await.unwrap();
    use sha2::Digest;
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), sha);
    let url = report::verify_url(&lab.app.state.config.public_url, &number, &content.sha256());
    let text = crate::report_pdf::pages_text(&bytes).join("\n");
    let text = crate::report_pdf::squeeze(&text);
    assert!(text.contains(&url), "{url} in {text}");
    assert!(
        text.contains(&number) && text.contains("Revisadoyaprobado"),
        "{text}"
    );

    // Signed once: a second signature, or an edit, is refused.
    let page = c
        .post(
            &sign_path(&id, &issued.id, "sign"),
            &[("password", PW), ("meaning", "technical_review")],
        )
        .await;
    assert_eq!(page.status, 400);
    let actions: Vec<String> = lab
        .app
        .audit_of("report_version")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"issue".to_string()), "{actions:?}");
}

#[actix_web::test]
async fn a_wrong_signing_password_is_refused_and_counted_until_the_account_locks() {
    let (lab, _) = report_lab();
    settings(&lab, false);
    let s = &approved(&lab, "ACTA-RPT-4", &["PR-1"])[0];
    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get("/").await;
    let id = draft_on(&mut c, &lab.app, &s.id).await;
    let v = versions(&lab.app, &id)[0].id.clone();
    for _ in 0..lims::user::throttle::MAX_FAILURES {
        let page = c
            .post(
                &sign_path(&id, &v, "sign"),
                &[
                    ("password", "not my password"),
                    ("meaning", "reviewed_approved"),
                ],
            )
            .await;
        assert_eq!(page.status, 400);
        assert!(
            page.contains("Contraseña incorrecta") || page.contains("está bloqueada"),
            "{}",
            page.body
        );
    }
    // Locked: even the right password cannot sign, nor sign in.
    let page = c
        .post(
            &sign_path(&id, &v, "sign"),
            &[("password", PW), ("meaning", "reviewed_approved")],
        )
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("está bloqueada");
    assert_eq!(versions(&lab.app, &id)[0].status, VersionStatus::Draft);
    let mut other = lab.app.client().await;
    let login = other.login("super", PW).await;
    assert!(login.location().is_none(), "a locked account signs in");
    let failed = lab.app.audit_of("user");
    assert!(failed
        .iter()
        .any(|e| e.action == "report_sign_password_failed"));
}

/// A lab with one issued report on one sample: (report id, issued version).
async fn issued_report(lab: &Lab, reference: &str) -> (String, report::Version, Sample) {
    let s = approved(lab, reference, &["PR-1"]).remove(0);
    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get("/").await;
    let id = draft_on(&mut c, &lab.app, &s.id).await;
    let v = versions(&lab.app, &id)[0].id.clone();
    c.post(
        &sign_path(&id, &v, "sign"),
        &[("password", PW), ("meaning", "reviewed_approved")],
    )
    .await
    .assert_redirect(&format!("/reports/{id}"));
    let v = versions(&lab.app, &id).remove(0);
    assert_eq!(v.status, VersionStatus::Issued);
    (id, v, s)
}

#[actix_web::test]
async fn issued_content_signatures_items_anchors_and_settings_cannot_be_changed_by_sql() {
    let (lab, _) = report_lab();
    settings(&lab, false);
    let (_, v, _) = issued_report(&lab, "ACTA-RPT-5").await;
    let mut conn = lab.app.db.conn();
    let id = v.id.as_str();
    for sql in [
        format!("UPDATE report_versions SET conclusion = 'Harina' WHERE id = '{id}'"),
        format!("UPDATE report_versions SET content = '{{}}' WHERE id = '{id}'"),
        format!("DELETE FROM report_versions WHERE id = '{id}'"),
        format!(
            "UPDATE report_signatures SET signer_name = 'Otro' WHERE report_version_id = '{id}'"
        ),
        format!("DELETE FROM report_signatures WHERE report_version_id = '{id}'"),
        format!("UPDATE report_items SET position = 9 WHERE report_version_id = '{id}'"),
        format!("DELETE FROM report_items WHERE report_version_id = '{id}'"),
        format!("UPDATE report_anchors SET custody_seq = 1 WHERE report_version_id = '{id}'"),
        format!("DELETE FROM report_anchors WHERE report_version_id = '{id}'"),
        "UPDATE lab_settings SET name = 'Otro'".to_string(),
        "DELETE FROM lab_settings".to_string(),
    ] {
        let err = exec(&mut conn, &sql).expect_err(&sql);
        assert!(
            err.contains("append-only") || err.contains("cannot be changed"),
            "{sql}: {err}"
        );
    }
    assert!(report::signatures_hold(&mut conn, &v.id).unwrap());
}

#[actix_web::test]
async fn a_signature_row_forged_with_sql_is_detected() {
    let (lab, super2) = report_lab();
    settings(&lab, false);
    let (_, v, _) = issued_report(&lab, "ACTA-RPT-6").await;
    let mut conn = lab.app.db.conn();
    let sha = v.content_sha256.clone().unwrap();
    let key = lims::custody::key::installed()
        .unwrap()
        .active()
        .id()
        .to_string();
    exec(
        &mut conn,
        &format!(
            "INSERT INTO report_signatures (id, report_version_id, signer_id, signer_name,
                signer_username, signer_role, meaning_code, meaning_text, auth_method, signed_at,
                content_sha256, key_id, signature_hash)
             VALUES ('{}', '{}', '{}', 'super2 Test', 'super2', 'supervisor',
                'technical_review', 'Revisión técnica', 'password', '2026-03-02 09:00:00',
                '{sha}', '{key}', '{}')",
            uuid::Uuid::now_v7(),
            v.id,
            super2.id,
            "ab".repeat(32)
        ),
    )
    .unwrap();
    assert!(!report::signatures_hold(&mut conn, &v.id).unwrap());
}

#[actix_web::test]
async fn a_custody_history_rewritten_after_issue_breaks_the_anchor_and_names_the_report() {
    let (lab, _) = report_lab();
    settings(&lab, false);
    let (_, v, s) = issued_report(&lab, "ACTA-RPT-7").await;
    let number = v.report_number.clone().unwrap();
    let mut conn = lab.app.db.conn();
    assert!(report::anchors_hold(&mut conn, &v.id).unwrap());
    assert!(verify(&mut conn).anchors.is_empty());
    let head = lims::sample::find(&mut conn, &s.id).unwrap();
    let seq = head.custody_head_seq.unwrap();
    behind_the_back(
        &mut conn,
        &format!(
            "UPDATE custody_events SET hash = '{}' WHERE sample_id = '{}' AND seq = {seq}",
            "cd".repeat(32),
            s.id
        ),
    );
    assert!(!report::anchors_hold(&mut conn, &v.id).unwrap());
    let broken = verify(&mut conn).anchors;
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].report_number, number);
    assert_eq!(broken[0].lab_code, s.lab_code);
    drop(conn);
    let (ok, out) = lims_cli(&lab, &["verify-custody"]);
    assert!(!ok, "{out}");
    assert!(out.contains(&number), "{out}");
    // The supervisors' verification page names the broken anchor too.
    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    let page = crate::custody_tamper::run_on_page(&mut c).await;
    page.assert_contains(&s.lab_code);
    page.assert_contains("Un informe emitido ancló este evento");
}

#[actix_web::test]
async fn amendments_supersede_in_a_chain_with_a_reason_and_never_branch() {
    let (lab, _) = report_lab();
    settings(&lab, false);
    let (id, v1, s) = issued_report(&lab, "ACTA-RPT-8").await;
    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get("/").await;

    let page = c
        .post(&sign_path(&id, &v1.id, "amend"), &[("reason", " ")])
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("Este campo es obligatorio");

    c.post(
        &sign_path(&id, &v1.id, "amend"),
        &[("reason", "Se corrige la descripción de la muestra")],
    )
    .await
    .assert_redirect(&format!("/reports/{id}"));
    let v2 = versions(&lab.app, &id).remove(1);
    assert_eq!(v2.version_no, 2);
    assert_eq!(v2.supersedes_id.as_ref(), Some(&v1.id));
    // Only an issued version is amended; one open draft per report.
    let page = c
        .post(&sign_path(&id, &v2.id, "amend"), &[("reason", "Otra")])
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("Solo se enmienda un informe emitido");
    let page = c
        .post(&sign_path(&id, &v1.id, "amend"), &[("reason", "Otra")])
        .await;
    assert_eq!(page.status, 400);

    c.post(
        &sign_path(&id, &v2.id, "sign"),
        &[("password", PW), ("meaning", "reviewed_approved")],
    )
    .await
    .assert_redirect(&format!("/reports/{id}"));
    let all = versions(&lab.app, &id);
    let v2 = &all[1];
    assert_eq!(v2.status, VersionStatus::Issued);
    let n1 = v1.report_number.clone().unwrap();
    let n2 = v2.report_number.clone().unwrap();
    assert_ne!(n1, n2);
    let amendment = v2.parsed().unwrap().amendment.unwrap();
    assert_eq!(
        (amendment.number, amendment.supersedes.as_str()),
        (1, n1.as_str())
    );
    let mut conn = lab.app.db.conn();
    let newer = report::superseded_by(&mut conn, &v1.id).unwrap().unwrap();
    assert_eq!(newer.id, v2.id);
    assert_eq!(status_of(&lab.app, &s.id), SampleStatus::Reported);
    let page = c.get(&format!("/reports/{id}")).await;
    page.assert_contains(&n2);

    // v3 cannot branch from v1, by the page or by SQL.
    let page = c
        .post(&sign_path(&id, &v1.id, "amend"), &[("reason", "Otra")])
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("ya fue enmendada");
    let err = exec(
        &mut conn,
        &format!(
            "INSERT INTO report_versions (id, report_id, version_no, format_version, locale,
                status, lab_settings_id, content, controlled_found, prohibited_found,
                counterfeit_found, amendment_reason, supersedes_id, drafted_by, drafted_at,
                updated_at)
             SELECT '{}', report_id, 3, 1, 'es', 'draft', lab_settings_id, '{{}}', FALSE, FALSE,
                FALSE, 'rama', id, drafted_by, drafted_at, updated_at
             FROM report_versions WHERE id = '{}'",
            uuid::Uuid::now_v7(),
            v1.id
        ),
    )
    .expect_err("branching");
    assert!(err.to_lowercase().contains("unique"), "{err}");
}

#[actix_web::test]
async fn one_open_draft_per_report_and_an_issued_version_needs_its_hashes() {
    let (lab, _) = report_lab();
    settings(&lab, false);
    let s = &approved(&lab, "ACTA-RPT-9", &["PR-1"])[0];
    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get("/").await;
    let id = draft_on(&mut c, &lab.app, &s.id).await;
    let v = versions(&lab.app, &id).remove(0);
    let mut conn = lab.app.db.conn();
    let err = exec(
        &mut conn,
        &format!(
            "INSERT INTO report_versions (id, report_id, version_no, format_version, locale,
                status, lab_settings_id, content, controlled_found, prohibited_found,
                counterfeit_found, drafted_by, drafted_at, updated_at)
             SELECT '{}', report_id, 1, 1, 'es', 'draft', lab_settings_id, '{{}}', FALSE, FALSE,
                FALSE, drafted_by, drafted_at, updated_at
             FROM report_versions WHERE id = '{}'",
            uuid::Uuid::now_v7(),
            v.id
        ),
    )
    .expect_err("a second version 1");
    assert!(err.to_lowercase().contains("unique"), "{err}");
    let err = exec(
        &mut conn,
        &format!(
            "UPDATE report_versions SET status = 'issued', issued_at = updated_at,
                issued_by = drafted_by WHERE id = '{}'",
            v.id
        ),
    )
    .expect_err("issued without hashes");
    assert!(err.to_lowercase().contains("check"), "{err}");

    // Discarded with a reason, the sample may be drafted again.
    let page = c
        .post(&sign_path(&id, &v.id, "discard"), &[("reason", "")])
        .await;
    assert_eq!(page.status, 400);
    c.post(
        &sign_path(&id, &v.id, "discard"),
        &[("reason", "Borrador de prueba")],
    )
    .await
    .assert_redirect(&format!("/reports/{id}"));
    assert_eq!(versions(&lab.app, &id)[0].status, VersionStatus::Discarded);
    let again = draft_on(&mut c, &lab.app, &s.id).await;
    assert_ne!(again, id);
}

#[actix_web::test]
async fn two_signatures_by_two_supervisors_issue_the_report() {
    let (lab, _) = report_lab();
    settings(&lab, true);
    let s = &approved(&lab, "ACTA-RPT-10", &["PR-1"])[0];
    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get("/").await;
    let id = draft_on(&mut c, &lab.app, &s.id).await;
    let v = versions(&lab.app, &id)[0].id.clone();
    c.post(
        &sign_path(&id, &v, "sign"),
        &[("password", PW), ("meaning", "authored")],
    )
    .await
    .assert_redirect(&format!("/reports/{id}"));
    let pending = versions(&lab.app, &id).remove(0);
    assert_eq!(pending.status, VersionStatus::PendingSignature);
    assert!(pending.report_number.is_some() && pending.pdf_sha256.is_none());
    assert_eq!(status_of(&lab.app, &s.id), SampleStatus::AwaitingReport);
    // Frozen: the draft fields cannot be edited any more.
    let page = c
        .post(&sign_path(&id, &v, "edit"), &[("conclusion", "Otra")])
        .await;
    assert_eq!(page.status, 400);
    // The same supervisor cannot sign twice.
    let page = c
        .post(
            &sign_path(&id, &v, "sign"),
            &[("password", PW), ("meaning", "technical_review")],
        )
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("debe ser de otro supervisor");

    let mut other = lab.app.client().await;
    other.login("super2", PW).await;
    other.get("/").await;
    other
        .post(
            &sign_path(&id, &v, "sign"),
            &[("password", PW), ("meaning", "technical_review")],
        )
        .await
        .assert_redirect(&format!("/reports/{id}"));
    let issued = versions(&lab.app, &id).remove(0);
    assert_eq!(issued.status, VersionStatus::Issued);
    assert_eq!(issued.report_number, pending.report_number);
    assert_eq!(issued.content_sha256, pending.content_sha256);
    assert_eq!(status_of(&lab.app, &s.id), SampleStatus::Reported);
    let mut conn = lab.app.db.conn();
    assert_eq!(
        report::signatures_of(&mut conn, &issued.id).unwrap().len(),
        2
    );
    assert!(report::signatures_hold(&mut conn, &issued.id).unwrap());
    let count: i64 = report_versions::table
        .filter(report_versions::status.eq("issued"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(count, 1);
}

#[actix_web::test]
async fn only_supervisors_see_reports_in_the_making() {
    let (lab, _) = report_lab();
    settings(&lab, false);
    let s = &approved(&lab, "ACTA-RPT-11", &["PR-1"])[0];
    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get("/").await;
    let id = draft_on(&mut c, &lab.app, &s.id).await;
    let v = versions(&lab.app, &id)[0].id.clone();
    c.get("/reports")
        .await
        .assert_contains(&format!("/reports/{id}"));
    for user in ["tecnico", "oficial"] {
        let mut other = lab.app.client().await;
        other.login(user, PW).await;
        for path in [
            "/reports".to_string(),
            format!("/reports/{id}"),
            format!("/reports/new?sample={}", s.id),
        ] {
            assert_eq!(other.get(&path).await.status, 403, "{user} {path}");
        }
        let page = other
            .post(
                &sign_path(&id, &v, "sign"),
                &refs(&[("password", PW), ("meaning", "reviewed_approved")]),
            )
            .await;
        assert_eq!(page.status, 403, "{user}");
    }
}

#[actix_web::test]
async fn the_admin_keeps_the_laboratory_settings_with_a_logo() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(crate::common::ADMIN.0, crate::common::ADMIN.1)
        .await;
    c.get("/").await;
    c.get("/admin/lab")
        .await
        .assert_contains("Aún no hay datos");
    let png = b"\x89PNG\r\n\x1a\n0000";
    let fields = [
        ("name", "Laboratorio Central"),
        ("address", ""),
        ("report_locale", "es"),
    ];
    let page = c
        .post_multipart("/admin/lab", &fields, ("logo", "logo.png", png))
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("Laboratorio Central");
    let page = c
        .post_multipart("/admin/lab", &fields, ("logo", "logo.svg", b"<svg/>"))
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("PNG o JPEG");
    let fields = [
        ("name", "Laboratorio Central"),
        ("address", "Av. Gamarra 680, Callao"),
        ("report_locale", "en"),
        ("require_second_signature", "on"),
    ];
    c.post_multipart("/admin/lab", &fields, ("logo", "logo.png", png))
        .await
        .assert_redirect("/admin/lab");
    let now = lab_settings::current(&mut app.db.conn()).unwrap().unwrap();
    assert_eq!(now.report_locale, "en");
    assert!(now.require_second_signature);
    assert!(now.logo_sha256.is_some());
    // A later save without a file keeps the logo; the earlier row stays.
    c.get("/admin/lab").await;
    c.post_multipart("/admin/lab", &fields[..3], ("logo", "", b""))
        .await
        .assert_redirect("/admin/lab");
    let later = lab_settings::current(&mut app.db.conn()).unwrap().unwrap();
    assert_ne!(later.id, now.id);
    assert_eq!(later.logo_sha256, now.logo_sha256);
    assert!(!later.require_second_signature);
}

#[test]
fn seed_demo_issues_reports_one_amended_and_one_signed_twice_that_verify() {
    let app = TestApp::new();
    let mut conn = app.db.conn();
    let tz = chrono_tz::America::Lima;
    let created = lims::demo::seed(&mut conn, 30, tz, Some(7), |_| {}).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let files = lims::blob::Blocking {
        store: lims::blob::BlobStore::open(&app.state.config.storage_url).unwrap(),
        runtime: runtime.handle().clone(),
    };
    let issuing = lims::report::sign::Issuing {
        keys: lims::custody::key::installed().unwrap(),
        files: &files,
        public_url: &app.state.config.public_url,
        tz,
    };
    assert_eq!(
        lims::demo_reports::seed(&mut conn, &created, &issuing).unwrap(),
        4
    );
    let issued: Vec<report::Version> = report_versions::table
        .filter(report_versions::status.eq("issued"))
        .select(report::Version::as_select())
        .load(&mut conn)
        .unwrap();
    assert_eq!(issued.len(), 4);
    for v in &issued {
        assert!(report::signatures_hold(&mut conn, &v.id).unwrap());
        assert!(report::anchors_hold(&mut conn, &v.id).unwrap());
        assert_eq!(
            v.content_sha256.as_deref(),
            Some(v.parsed().unwrap().sha256().as_str())
        );
    }
    let amended = issued
        .iter()
        .find(|v| v.version_no == 2)
        .expect("an amendment");
    let old = amended.supersedes_id.clone().unwrap();
    assert_eq!(
        report::superseded_by(&mut conn, &old)
            .unwrap()
            .map(|v| v.id),
        Some(amended.id.clone())
    );
    assert!(issued
        .iter()
        .any(|v| report::signatures_of(&mut conn, &v.id).unwrap().len() == 2));
    // A second run adds none.
    assert_eq!(
        lims::demo_reports::seed(&mut conn, &created, &issuing).unwrap(),
        0
    );
    assert!(verify(&mut conn).anchors.is_empty());
}
