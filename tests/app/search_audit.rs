//! The forgiving search box (exact first, then prefix, then contains, bounded) and the audit
//! trail as a person reads it (translated, records by their codes, fields before and after).

use actix_web::http::StatusCode;
use lims::custody::EventKind;
use lims::sample::movement::EventInput;

use crate::common::ADMIN;
use crate::custody::{event, lab, PW};

/// Rows of the result table.
fn rows(page: &crate::common::Page) -> usize {
    page.body.matches("<tr><td>").count()
}

#[actix_web::test]
async fn partial_codes_find_their_records_and_exact_still_wins() {
    let lab = lab();
    let a = lab.register("ACTA-2026-0412", &["PR-6306912", "PR-1111111"]);
    let b = lab.register("ACTA-2026-0500", &["PR-6306955"]);
    let c2 = lab.register("ACTA-2026-0777", &["XK-0412", "ABC-123", "ABC-1234"]);
    let mut c = lab.app.client().await;
    c.login("oficial", PW).await;

    // A prefix of a seal: both samples whose seal starts so, nothing else.
    let page = c.get("/search?q=pr-63069").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains(&a[0].lab_code);
    page.assert_contains(&b[0].lab_code);
    page.assert_contains("empieza por lo buscado");
    assert!(!page.contains(&a[1].lab_code));
    assert_eq!(rows(&page), 2);

    // The end of a reference and of a seal: the seizure and the sample that contain it.
    let page = c.get("/search?q=0412").await;
    page.assert_contains("ACTA-2026-0412");
    page.assert_contains(&c2[0].lab_code);
    page.assert_contains("contiene lo buscado");
    assert!(!page.contains("ACTA-2026-0500"));
    assert!(!page.contains(&a[1].lab_code));
    // Seizures first, then samples.
    let seizure_at = page.body.find("ACTA-2026-0412").unwrap();
    assert!(seizure_at < page.body.find(&c2[0].lab_code).unwrap());

    // Part of a declaration (DAM) number finds the seizures that carry it.
    let page = c.get("/search?q=10-00123").await;
    for reference in ["ACTA-2026-0412", "ACTA-2026-0500", "ACTA-2026-0777"] {
        page.assert_contains(reference);
    }

    // Exact wins: a seal typed whole opens its sample though a longer seal starts the same.
    c.get("/search?q=abc-123")
        .await
        .assert_redirect(&format!("/samples/{}", c2[1].id));
    c.get(&format!("/search?q={}", a[0].lab_code))
        .await
        .assert_redirect(&format!("/samples/{}", a[0].id));

    // A seal put on along the chain is found by a part of it too.
    let s = lab.receive(&a[1]);
    lab.record(
        &s,
        EventInput {
            reason: "Apertura".into(),
            ..event(EventKind::Opened)
        },
    )
    .unwrap();
    lab.record(
        &s,
        EventInput {
            new_seal_number: "LAB-PR-987654".into(),
            ..event(EventKind::Resealed)
        },
    )
    .unwrap();
    let page = c.get("/search?q=R-9876").await;
    page.assert_contains(&a[1].lab_code);
    assert_eq!(rows(&page), 1);

    // Too short for partial matching: said so, nothing read.
    c.get("/search?q=04")
        .await
        .assert_contains("escriba al menos 3 caracteres");
    c.get("/search?q=zz-nothing")
        .await
        .assert_contains("No se encontró nada");
}

#[actix_web::test]
async fn the_result_list_is_bounded() {
    let lab = lab();
    let seals: Vec<String> = (0..55).map(|i| format!("BULK-{i:03}")).collect();
    let seals: Vec<&str> = seals.iter().map(String::as_str).collect();
    lab.register("ACTA-2026-0900", &seals);
    let mut c = lab.app.client().await;
    c.login("oficial", PW).await;
    let page = c.get("/search?q=BULK").await;
    assert_eq!(rows(&page), lims::search::LIMIT);
    page.assert_contains("hay más");
    // A contains query as broad as the lab is bounded the same way.
    let page = c.get("/search?q=ULK-0").await;
    assert_eq!(rows(&page), lims::search::LIMIT);
}

#[actix_web::test]
async fn the_audit_trail_reads_in_the_users_language() {
    let lab = lab();
    let samples = lab.register("ACTA-2026-0412", &["PR-6306912"]);
    let mut c = lab.app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    let edit = format!("/admin/users/{}", lab.tech.id);
    c.get(&edit).await;
    c.post(
        &edit,
        &[
            ("full_name", "Técnico Renombrado"),
            ("email", ""),
            ("role", "technician"),
            ("active", "on"),
        ],
    )
    .await
    .assert_redirect("/admin/users");

    let page = c.get("/admin/audit").await;
    assert_eq!(page.status, StatusCode::OK);
    // Actions and kinds of record translated, never the stored codes.
    page.assert_contains("Modificación");
    page.assert_contains("Alta");
    page.assert_contains("Inicio de sesión");
    page.assert_contains("Muestra");
    page.assert_contains("Incautación");
    assert!(!page.contains("<code>create</code>"));
    assert!(!page.contains(">storage_location<"));
    // Records named by their codes: the sample by its lab code (the admin may not open
    // cases, so no link), the user by name, linked.
    page.assert_contains(&samples[0].lab_code);
    assert!(!page.contains(&format!("href=\"/samples/{}\"", samples[0].id)));
    assert!(!page.contains(samples[0].id.as_str()));
    assert!(!page.contains(samples[0].seizure_id.as_str()));
    page.assert_contains(&format!("<a class=\"mono\" href=\"{edit}\">tecnico</a>"));
    // The change as a field table: the changed field highlighted, before and after.
    page.assert_contains("<table class=\"fields\">");
    page.assert_contains(
        "<tr class=\"changed\"><th scope=\"row\">Nombre completo</th><td>tecnico Test</td><td><strong>Técnico Renombrado</strong></td></tr>",
    );
    assert!(!page.contains("<pre class=\"json\">"));

    // The filters keep working, their choices translated too.
    let page = c.get("/admin/audit?entity=user").await;
    page.assert_contains("<option value=\"user\" selected>Usuario</option>");
    assert!(!page.contains(&samples[0].lab_code));
    page.assert_contains("Técnico Renombrado");
}

#[test]
fn snapshots_become_fields_without_secrets() {
    let before = r#"{"id":"x","name":"A","token_hash":"h","hash":"h","prev_hash":"p","mac":"m","active":true}"#;
    let after = r#"{"id":"x","name":"B","token_hash":"h2","hash":"h3","prev_hash":"p","mac":"m2","active":true,"extra":{"b":1,"a":2}}"#;
    let changes = lims::audit::changes(Some(before), Some(after));
    let names: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(names, ["name", "active", "extra.a", "extra.b"]);
    assert!(changes[0].changed());
    assert!(!changes[1].changed());
    assert!(
        !changes[2].changed(),
        "a field only after is new, not changed"
    );
}
