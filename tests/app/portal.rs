//! The enforcement portal: cases found by each criterion, only issued reports listed, the
//! custody timeline without the lab's remarks; and the lab's own records refused (403) to
//! customs officers.

use actix_web::http::StatusCode;
use lims::user::{Role, User};

use crate::common::{TestApp, ADMIN};
use crate::verify::{exec, freeze_unissued, issue, report_of};

const OFFICER: (&str, &str) = ("oficial", "oficial-password");

/// A seizure with one sealed sample, registered by `officer`; (seizure id, sample id, lab code).
fn seize(
    app: &TestApp,
    officer: &User,
    reference: &str,
    office: &str,
    declaration: &str,
    seized_at: &str,
) -> (String, String, String) {
    let input = lims::seizure::SeizureInput {
        reference: reference.into(),
        customs_office: office.into(),
        declaration_number: declaration.into(),
        seized_at: seized_at.into(),
        place: "Muelle 5".into(),
        seizing_officer: "Of. Soto".into(),
        goods_description: "Polvo blanco".into(),
        risk_channel: "red".into(),
        ..Default::default()
    };
    let rows = [lims::sample::SampleInput {
        description: "Bolsa 1".into(),
        seal_number: format!("PR-{}", &reference[reference.len() - 3..]),
        priority: "routine".into(),
        ..Default::default()
    }];
    let done = lims::seizure::register(
        &mut app.db.conn(),
        &officer.handler(None),
        &input,
        &rows,
        true,
        chrono_tz::America::Lima,
    )
    .expect("register");
    let s = &done.samples[0];
    (
        done.seizure.id.to_string(),
        s.id.to_string(),
        s.lab_code.to_string(),
    )
}

struct Lab {
    app: TestApp,
    /// Callao, March, with an issued report.
    a: (String, String, String),
    /// Tacna, April, with a report frozen but never issued.
    b: (String, String, String),
}

fn lab() -> Lab {
    let app = TestApp::with_admin();
    let officer = app.create_user(OFFICER.0, Role::Enforcement, OFFICER.1);
    let boss = app.create_user("jefa", Role::Supervisor, "jefa-password-1");
    let a = seize(
        &app,
        &officer,
        "ACTA-2026-000501",
        "Intendencia de Aduana Marítima del Callao",
        "118-2026-10-000501",
        "2026-03-01T10:30",
    );
    let b = seize(
        &app,
        &officer,
        "ACTA-2026-000602",
        "Intendencia de Aduana de Tacna",
        "172-2026-10-000602",
        "2026-04-10T10:30",
    );
    let mut conn = app.db.conn();
    let report = report_of(&mut conn, &boss, &a.0, &a.1);
    issue(&mut conn, &boss, &report, 1, "RPT-2026-000501", None);
    let draft = report_of(&mut conn, &boss, &b.0, &b.1);
    freeze_unissued(&mut conn, &boss, &draft, "RPT-2026-000602", &"c".repeat(64));
    drop(conn);
    Lab { app, a, b }
}

#[actix_web::test]
async fn officers_find_cases_by_each_criterion_with_issued_reports_only() {
    let lab = lab();
    let mut c = lab.app.client().await;
    c.login(OFFICER.0, OFFICER.1).await;
    c.get("/").await.assert_contains("href=\"/portal\"");

    let page = c.get("/portal").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.contains("ACTA-2026-000"), "nothing before a search");

    let a_code = lab.a.2.clone();
    let searches: Vec<(String, bool, bool)> = vec![
        ("reference=acta-2026-0005".into(), true, false),
        ("declaration=172-2026".into(), false, true),
        (format!("lab_code={a_code}"), true, false),
        ("office=Intendencia+de+Aduana+de+Tacna".into(), false, true),
        ("from=2026-04-01&to=2026-04-30".into(), false, true),
        (
            "dates=seized&from=2026-02-01&to=2026-04-30".into(),
            true,
            true,
        ),
        (
            "dates=issued&from=2026-03-01&to=2026-04-30".into(),
            true,
            false,
        ),
        ("dates=issued&from=2026-04-01".into(), false, false),
    ];
    for (query, a, b) in searches {
        let page = c.get(&format!("/portal?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.body);
        assert_eq!(page.contains("ACTA-2026-000501"), a, "{query}");
        assert_eq!(page.contains("ACTA-2026-000602"), b, "{query}");
        if !a && !b {
            page.assert_contains("Ningún caso coincide");
        }
    }

    // The issued report is linked as HTML and PDF; the frozen, unissued one is never listed.
    let page = c.get("/portal?reference=ACTA-2026").await;
    page.assert_contains("href=\"/reports/RPT-2026-000501\"");
    page.assert_contains("href=\"/reports/RPT-2026-000501/pdf\"");
    assert!(!page.contains("RPT-2026-000602"));
    page.assert_contains(&lab.b.2);

    // A bad date comes back with its message, and what was typed.
    let page = c.get("/portal?reference=ACTA&from=2026-13-45").await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    page.assert_contains("value=\"2026-13-45\"");

    // A case: the seizure, its samples, custody timeline and issued reports.
    let page = c.get(&format!("/portal/seizures/{}", lab.a.0)).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Recolectada");
    page.assert_contains("PR-501");
    page.assert_contains("RPT-2026-000501");
    let page = c.get(&format!("/portal/seizures/{}", lab.b.0)).await;
    page.assert_contains("Aún no hay informes emitidos");
    assert!(!page.contains("RPT-2026-000602"));
}

#[actix_web::test]
async fn lab_staff_use_the_portal_and_the_admin_does_not() {
    let lab = lab();
    let mut c = lab.app.client().await;
    c.login("jefa", "jefa-password-1").await;
    c.get("/portal?reference=ACTA-2026-000501")
        .await
        .assert_contains("RPT-2026-000501");
    let mut admin = lab.app.client().await;
    admin.login(ADMIN.0, ADMIN.1).await;
    assert_eq!(
        admin.get("/portal?reference=ACTA").await.status,
        StatusCode::FORBIDDEN
    );
}

#[actix_web::test]
async fn officers_are_refused_the_labs_own_records() {
    let lab = lab();
    let (_, sample, _) = &lab.b;
    let attachment = uuid::Uuid::now_v7().to_string();
    let admin_id = lims::user::find_by_username(&mut lab.app.db.conn(), ADMIN.0)
        .unwrap()
        .unwrap()
        .id;
    exec(
        &mut lab.app.db.conn(),
        &format!(
            "INSERT INTO attachments (id, owner_kind, sample_id, file_name, content_type,
                size_bytes, sha256, storage_key, uploaded_by, uploaded_at)
             VALUES ('{attachment}', 'sample', '{sample}', 'crom.pdf', 'application/pdf', 10,
                '{}', 'k1', '{admin_id}', '2026-03-01 10:00:00')",
            "9".repeat(64)
        ),
    );
    let mut c = lab.app.client().await;
    c.login(OFFICER.0, OFFICER.1).await;
    for url in [
        format!("/attachment/{attachment}"),
        format!("/attachments/sample/{sample}"),
        format!("/analyses/{}", uuid::Uuid::now_v7()),
        format!("/samples/{sample}/results"),
        "/review".to_string(),
        "/my-tests".to_string(),
    ] {
        let page = c.get(&url).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{url}");
    }
    // The sample page itself stays open to them, without tests or files.
    let page = c.get(&format!("/samples/{sample}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.contains("crom.pdf"));
}
