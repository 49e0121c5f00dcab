//! Instruments: the due list (overdue, none on record, due within 30 days), the supervisor's
//! count, calibration records and their corrections, out of service with a reason, and who
//! may do what.

use chrono::TimeDelta;
use lims::instrument::{self, CalibrationInput, InstrumentInput};
use lims::user::Role;

use crate::common::{refs, TestApp, ADMIN};

const PW: &str = "clave de laboratorio";

fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Lima)
        .date_naive()
}

fn iso(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// An instrument `tag`; calibrated so that it falls due `due_in` days from today.
fn instrument_due(
    app: &TestApp,
    tag: &str,
    required: bool,
    due_in: Option<i64>,
) -> lims::ids::InstrumentId {
    let mut conn = app.db.conn();
    let admin = lims::user::find_by_username(&mut conn, "admin")
        .unwrap()
        .unwrap();
    let created = instrument::create(
        &mut conn,
        &admin.handler(None),
        &InstrumentInput {
            asset_tag: tag.into(),
            name: format!("Equipo {tag}"),
            calibration_required: required.then(|| "on".into()),
            ..Default::default()
        },
    )
    .unwrap();
    if let Some(days) = due_in {
        let due = today() + TimeDelta::days(days);
        instrument::record_calibration(
            &mut conn,
            &admin.handler(None),
            &created.id,
            None,
            &CalibrationInput {
                performed_on: iso(due - TimeDelta::days(365)),
                performed_by: "INACAL".into(),
                result: "pass".into(),
                next_due_on: iso(due),
                ..Default::default()
            },
            today(),
        )
        .unwrap();
    }
    created.id
}

#[actix_web::test]
async fn the_due_list_shows_what_is_overdue_or_due_within_30_days() {
    let app = TestApp::with_admin();
    app.create_user("supervisora", Role::Supervisor, PW);
    app.create_user("tecnico", Role::Technician, PW);
    instrument_due(&app, "EQ-OK", true, Some(100));
    instrument_due(&app, "EQ-SOON", true, Some(10));
    instrument_due(&app, "EQ-EDGE", true, Some(30));
    instrument_due(&app, "EQ-LATE", true, Some(-5));
    instrument_due(&app, "EQ-NEVER", true, None);
    instrument_due(&app, "EQ-FREE", false, None);
    let broken = instrument_due(&app, "EQ-BROKEN", true, Some(-50));

    let mut s = app.client().await;
    s.login("supervisora", PW).await;
    let page = s.get(&format!("/instruments/{broken}")).await;
    page.assert_contains("Vencido");
    let page = s
        .post(
            &format!("/instruments/{broken}/status"),
            &[("status", "out_of_service"), ("status_reason", "")],
        )
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("Indique por qué el equipo sale de servicio");
    s.post(
        &format!("/instruments/{broken}/status"),
        &[
            ("status", "out_of_service"),
            ("status_reason", "Fuente de luz averiada"),
        ],
    )
    .await
    .assert_redirect(&format!("/instruments/{broken}"));

    let page = s.get("/instruments/due").await;
    let body = &page.body;
    let at = |tag: &str| body.find(&format!(">{tag}<"));
    for tag in ["EQ-OK", "EQ-FREE", "EQ-BROKEN"] {
        assert!(at(tag).is_none(), "{tag} is not due");
    }
    // Most urgent first: none on record, then by due date.
    let order: Vec<usize> = ["EQ-NEVER", "EQ-LATE", "EQ-SOON", "EQ-EDGE"]
        .iter()
        .map(|t| at(t).unwrap_or_else(|| panic!("{t} listed")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
    page.assert_contains("Sin calibración");
    page.assert_contains("Por vencer");

    assert_eq!(
        lims::instrument::due_count(&mut app.db.conn(), today()).unwrap(),
        4
    );
    // The supervisor's start page counts them; a technician's does not show the card.
    let home = s.get("/").await;
    home.assert_contains("<strong>4</strong>");
    home.assert_contains("equipos con calibración vencida o por vencer en 30 días");
    let mut t = app.client().await;
    t.login("tecnico", PW).await;
    assert!(!t.get("/").await.contains(r#"href="/instruments/due""#));
    // Technicians read the list but change nothing.
    t.get("/instruments/due").await.assert_contains("EQ-LATE");
    let refused = t
        .post(
            &format!("/instruments/{broken}/status"),
            &[("status", "in_service")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(t.get("/instruments/new").await.status, 403);
}

#[actix_web::test]
async fn a_calibration_correction_supersedes_and_moves_the_due_date() {
    let app = TestApp::with_admin();
    app.create_user("supervisora", Role::Supervisor, PW);
    let mut a = app.client().await;
    a.login(ADMIN.0, ADMIN.1).await;
    a.get("/instruments/new").await;
    let created = a
        .post(
            "/instruments",
            &[
                ("asset_tag", "eq-bal-01"),
                ("name", "Balanza analítica"),
                ("manufacturer", "Mettler Toledo"),
                ("calibration_required", "on"),
                ("calibration_interval_months", "12"),
            ],
        )
        .await;
    created.assert_redirect_prefix("/instruments/");
    let url = created.location().unwrap().to_string();
    a.get(&url).await.assert_contains("EQ-BAL-01");
    // The admin keeps the inventory, not calibration records.
    assert_eq!(a.get(&format!("{url}/calibrations")).await.status, 403);

    let mut s = app.client().await;
    s.login("supervisora", PW).await;
    let form = s.get(&format!("{url}/calibrations")).await;
    // The next due date is proposed from the interval.
    form.assert_contains(&iso(today()
        .checked_add_months(chrono::Months::new(12))
        .unwrap()));
    let done = iso(today() - TimeDelta::days(3));
    let wrong_due = iso(today() + TimeDelta::days(20));
    let fields = |due: &str, reason: &str| {
        vec![
            ("performed_on".to_string(), done.clone()),
            ("performed_by".into(), "INACAL".into()),
            ("certificate_number".into(), "LM-0457".into()),
            ("result".into(), "pass".into()),
            ("next_due_on".into(), due.to_string()),
            ("correction_reason".into(), reason.to_string()),
        ]
    };
    // A future calibration date, and a due date before it, come back as messages.
    let future = [
        ("performed_on", iso(today() + TimeDelta::days(1))),
        ("performed_by", "INACAL".into()),
        ("result", "pass".into()),
        ("next_due_on", iso(today())),
    ];
    let page = s.post(&format!("{url}/calibrations"), &refs(&future)).await;
    assert_eq!(page.status, 400);
    page.assert_contains("no puede estar en el futuro");
    let first = fields(&wrong_due, "");
    s.post(&format!("{url}/calibrations"), &refs(&first))
        .await
        .assert_redirect(&url);
    let page = s.get(&url).await;
    page.assert_contains("Por vencer");

    // The due date was mistyped: a correction with its reason.
    let mut conn = app.db.conn();
    let id = lims::ids::InstrumentId(url.rsplit('/').next().unwrap().to_string());
    let records = instrument::calibrations(&mut conn, &id).unwrap();
    let old = records[0].id.clone();
    let correct = format!("{url}/calibrations/{old}/correct");
    s.get(&correct).await.assert_contains("LM-0457");
    let right_due = iso(today() + TimeDelta::days(360));
    let page = s.post(&correct, &refs(&fields(&right_due, ""))).await;
    assert_eq!(page.status, 400);
    page.assert_contains("Este campo es obligatorio.");
    s.post(
        &correct,
        &refs(&fields(&right_due, "Fecha de vencimiento mal transcrita")),
    )
    .await
    .assert_redirect(&url);
    let page = s.get(&url).await;
    page.assert_contains("Corregido");
    page.assert_contains("Fecha de vencimiento mal transcrita");
    page.assert_contains("Calibrado");
    let instrument = instrument::find(&mut conn, &id).unwrap();
    assert_eq!(
        instrument.calibration_due_on.as_deref(),
        Some(right_due.as_str())
    );
    // Both records stay; the first cannot be corrected twice.
    assert_eq!(instrument::calibrations(&mut conn, &id).unwrap().len(), 2);
    let again = s
        .post(&correct, &refs(&fields(&right_due, "Otra vez")))
        .await;
    assert_eq!(again.status, 400);
    again.assert_contains("Este registro ya fue corregido");
    // The calibration in force is the correction.
    let in_force = instrument::calibration_in_force(&mut conn, &id, today())
        .unwrap()
        .unwrap();
    assert_eq!(in_force.supersedes_id, Some(old));
    let audit = app.audit_of("calibration_record");
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0].action, "correct");
}
