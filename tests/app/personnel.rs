//! Personnel records: training with its competence assessment, authorizations granted and
//! revoked (one in force per analyst and method), the profile and the matrix, and who sees
//! them.

use lims::method::{self, MethodInput};
use lims::user::Role;

use crate::common::{refs, TestApp};

const PW: &str = "clave de laboratorio";

fn today() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Lima)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// A method in the catalogue, created as the admin would.
fn method(app: &TestApp, code: &str) -> lims::ids::MethodId {
    let mut conn = app.db.conn();
    let admin = lims::user::find_by_username(&mut conn, "admin")
        .unwrap()
        .unwrap();
    method::create(
        &mut conn,
        &admin.handler(None),
        &MethodInput {
            code: code.into(),
            name: format!("Método {code}"),
            ..MethodInput::blank()
        },
    )
    .unwrap()
    .0
    .id
}

#[actix_web::test]
async fn one_authorization_in_force_per_analyst_and_method() {
    let app = TestApp::with_admin();
    let sup = app.create_user("supervisora", Role::Supervisor, PW);
    let tech = app.create_user("tecnico", Role::Technician, PW);
    let gcms = method(&app, "GCMS-CS-01");
    let mut s = app.client().await;
    s.login("supervisora", PW).await;
    let profile = format!("/personnel/{}", tech.id);
    let grant = format!("{profile}/authorizations");
    s.get(&grant).await.assert_contains("GCMS-CS-01");
    let fields = |basis: &'static str| {
        vec![
            ("method_id", gcms.0.clone()),
            ("basis", basis.to_string()),
            ("granted_on", today()),
        ]
    };
    // The basis is required.
    let page = s.post(&grant, &refs(&fields(""))).await;
    assert_eq!(page.status, 400);
    page.assert_contains("Este campo es obligatorio.");
    s.post(
        &grant,
        &refs(&fields("Curso GC-MS y evaluación con muestras ciegas")),
    )
    .await
    .assert_redirect(&profile);
    // A second one while the first is in force: refused beside the method field.
    let page = s.post(&grant, &refs(&fields("Otra vez"))).await;
    assert_eq!(page.status, 400);
    page.assert_contains("Esta persona ya tiene una autorización no revocada para este método.");
    page.assert_contains("aria-describedby=\"e-method_id\"");
    page.assert_contains("Otra vez");
    // Nobody authorizes themselves.
    let own = format!("/personnel/{}/authorizations", sup.id);
    let page = s.post(&own, &refs(&fields("Yo"))).await;
    assert_eq!(page.status, 400);
    page.assert_contains("No puede autorizarse a sí mismo");

    // Revoked with a reason, then granted anew; both stay on the profile.
    let mut conn = app.db.conn();
    let auths = lims::personnel::authorizations(&mut conn, &tech.id).unwrap();
    assert_eq!(auths.len(), 1);
    let revoke = format!("{profile}/authorizations/{}/revoke", auths[0].0.id);
    s.get(&revoke).await.assert_contains("GCMS-CS-01");
    assert_eq!(
        s.post(&revoke, &[("revocation_reason", "")]).await.status,
        400
    );
    s.post(
        &revoke,
        &[("revocation_reason", "Ensayo de aptitud insatisfactorio")],
    )
    .await
    .assert_redirect(&profile);
    let again = s.post(&revoke, &[("revocation_reason", "Otra vez")]).await;
    assert_eq!(again.status, 400);
    again.assert_contains("Esta autorización ya está revocada.");
    s.post(&grant, &refs(&fields("Reentrenamiento y nueva evaluación")))
        .await
        .assert_redirect(&profile);
    let page = s.get(&profile).await;
    page.assert_contains("Revocada");
    page.assert_contains("Ensayo de aptitud insatisfactorio");
    page.assert_contains("Reentrenamiento y nueva evaluación");
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Lima)
        .date_naive();
    assert!(
        lims::personnel::active_authorization(&mut conn, &tech.id, &gcms, today)
            .unwrap()
            .is_some()
    );
    // The matrix: the technician is authorized for the method.
    let matrix = s.get("/personnel").await;
    matrix.assert_contains("GCMS-CS-01");
    matrix.assert_contains("tecnico Test");
    matrix.assert_contains("badge auth-active");
    let audit = app.audit_of("method_authorization");
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["grant", "revoke", "grant"]);
}

#[actix_web::test]
async fn training_carries_its_competence_assessment() {
    let app = TestApp::with_admin();
    let sup = app.create_user("supervisora", Role::Supervisor, PW);
    let tech = app.create_user("tecnico", Role::Technician, PW);
    let mut s = app.client().await;
    s.login("supervisora", PW).await;
    let profile = format!("/personnel/{}", tech.id);
    let url = format!("{profile}/training");
    s.get(&url).await.assert_contains("supervisora Test");
    // The trainee cannot assess themselves; an assessment comes whole.
    let tech_id = tech.id.0.clone();
    let page = s
        .post(
            &url,
            &[
                ("course", "Polarimetría ICUMSA"),
                ("completed_on", "2026-01-10"),
                ("assessed_by", tech_id.as_str()),
            ],
        )
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("Nadie evalúa su propia competencia.");
    page.assert_contains("Indique la evaluación completa");
    // Not assessed yet: recorded as such.
    s.post(
        &url,
        &[
            ("course", "Polarimetría ICUMSA"),
            ("trainer", "INACAL"),
            ("completed_on", "2026-01-10"),
            ("valid_until", "2029-01-10"),
        ],
    )
    .await
    .assert_redirect(&profile);
    s.get(&profile).await.assert_contains("Aún no evaluada");
    // The assessment done later: a new record that supersedes, with the reason.
    let mut conn = app.db.conn();
    let first = lims::personnel::trainings(&mut conn, &tech.id).unwrap()[0].clone();
    let complete = format!("{url}/{}/correct", first.id);
    s.get(&complete)
        .await
        .assert_contains("value=\"Polarimetría ICUMSA\"");
    let sup_id = sup.id.0.clone();
    s.post(
        &complete,
        &[
            ("course", "Polarimetría ICUMSA"),
            ("trainer", "INACAL"),
            ("completed_on", "2026-01-10"),
            ("valid_until", "2029-01-10"),
            ("assessed_by", sup_id.as_str()),
            ("assessed_on", "2026-01-20"),
            ("assessment_result", "competent"),
            (
                "assessment_notes",
                "Tres muestras de control dentro de tolerancia",
            ),
            ("correction_reason", "Evaluación de competencia realizada"),
        ],
    )
    .await
    .assert_redirect(&profile);
    let records = lims::personnel::trainings(&mut conn, &tech.id).unwrap();
    assert_eq!(records.len(), 2);
    let latest = records.iter().find(|r| r.supersedes_id.is_some()).unwrap();
    assert_eq!(latest.supersedes_id.as_ref(), Some(&first.id));
    assert_eq!(latest.assessed_by.as_ref(), Some(&sup.id));
    let page = s.get(&profile).await;
    page.assert_contains("Competente");
    page.assert_contains("Corregido");

    // The technician sees their own record on their account, and nobody else's.
    let mut t = app.client().await;
    t.login("tecnico", PW).await;
    let own = t.get("/account").await;
    own.assert_contains("Mi capacitación y autorizaciones");
    own.assert_contains("Polarimetría ICUMSA");
    assert!(!own.contains("Corregir o completar"));
    assert_eq!(t.get("/personnel").await.status, 403);
    assert_eq!(t.get(&profile).await.status, 403);
}
