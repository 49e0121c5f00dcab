//! The method catalogue: versions that leave the old ones intact, field messages, retirement,
//! search, and who may do what.

use diesel::prelude::*;
use lims::db::schema::method_versions;
use lims::user::Role;

use crate::common::{TestApp, ADMIN};

const PW: &str = "clave de laboratorio";

fn sucrose() -> Vec<(&'static str, &'static str)> {
    vec![
        ("code", "azu-pol-01"),
        ("name", "Sacarosa por polarimetría"),
        ("analyte", "Sacarosa"),
        ("technique", "Polarimetría"),
        ("reference", "ICUMSA GS2/3-1"),
        ("result_kind", "numeric"),
        ("unit", "°Z"),
        ("decimals", "1"),
        ("spec_min", "99,5"),
        ("spec_min_inclusive", "on"),
        ("spec_max_inclusive", "on"),
        ("uncertainty_value", "0,1"),
        ("uncertainty_mode", "absolute"),
        ("coverage_factor", "2"),
        ("confidence_percent", "95"),
        ("decision_rule", "simple_acceptance"),
        ("accredited", "on"),
    ]
}

#[actix_web::test]
async fn a_new_version_leaves_the_old_one_intact() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    c.get("/methods/new").await;
    let created = c.post("/methods", &sucrose()).await;
    assert_eq!(created.status, 303, "{}", created.body);
    let url = created.location().unwrap().to_string();
    let page = c.get(&url).await;
    page.assert_contains("AZU-POL-01");
    page.assert_contains("≥ 99,5 °Z");
    page.assert_contains("± 0,1 °Z (k = 2, 95 %)");

    // Saving the same content again is not a version.
    let edit = format!("{url}/edit");
    c.get(&edit).await;
    let mut same = sucrose();
    same.push(("change_reason", "Ninguno"));
    let page = c.post(&edit, &same).await;
    assert_eq!(page.status, 400);
    page.assert_contains("No cambió nada");

    // A guard band: version 2.
    let mut v2 = sucrose();
    v2.retain(|(k, _)| *k != "decision_rule");
    v2.extend([
        ("decision_rule", "guard_band"),
        ("guard_band", "0,1"),
        ("change_reason", "Banda de guarda igual a U"),
    ]);
    let saved = c.post(&edit, &v2).await;
    saved.assert_redirect(&url);
    let page = c.get(&url).await;
    page.assert_contains("Versión 2 guardada.");
    page.assert_contains("Versión vigente (v2)");
    page.assert_contains("Banda de guarda igual a U");
    page.assert_contains("Primera versión");

    // Version 1 is as it was: what a result obtained with it cites.
    let mut conn = app.db.conn();
    type Row = (i32, Option<String>, Option<f64>, Option<String>);
    let rows: Vec<Row> = method_versions::table
        .select((
            method_versions::version_no,
            method_versions::decision_rule,
            method_versions::guard_band,
            method_versions::change_reason,
        ))
        .order(method_versions::version_no)
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (1, Some("simple_acceptance".into()), None, None),
            (
                2,
                Some("guard_band".into()),
                Some(0.1),
                Some("Banda de guarda igual a U".into())
            ),
        ]
    );
    let audit = app.audit_of("method");
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["new_version", "create"]);
    assert!(audit[0]
        .before_json
        .as_deref()
        .unwrap()
        .contains("simple_acceptance"));
}

#[actix_web::test]
async fn wrong_method_input_comes_back_beside_each_field() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    c.get("/methods/new").await;
    let mut bad = sucrose();
    bad.retain(|(k, _)| !matches!(*k, "code" | "decimals" | "coverage_factor"));
    bad.extend([
        ("code", "AZU POL"),
        ("decimals", "9"),
        ("spec_max", "90"),
        ("lod", "-1"),
    ]);
    let page = c.post("/methods", &bad).await;
    assert_eq!(page.status, 400);
    for message in [
        "Use hasta 30 mayúsculas",
        "Ingrese un número entero de 0 a 6.",
        "El límite superior debe ser mayor",
        "Ingrese cero o un número positivo.",
        "Indique la incertidumbre completa",
    ] {
        page.assert_contains(message);
    }
    // What was typed is kept.
    page.assert_contains("value=\"AZU POL\"");
    page.assert_contains("value=\"99,5\"");

    // A taken code.
    c.post("/methods", &sucrose())
        .await
        .assert_redirect_prefix("/methods/");
    c.get("/methods/new").await;
    let page = c.post("/methods", &sucrose()).await;
    assert_eq!(page.status, 400);
    page.assert_contains("Ya existe un método con este código.");
}

#[actix_web::test]
async fn retired_methods_stay_readable_and_take_no_versions() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    c.get("/methods/new").await;
    let url = c
        .post("/methods", &sucrose())
        .await
        .location()
        .unwrap()
        .to_string();
    c.get(&url).await;
    let page = c
        .post(&format!("{url}/retire"), &[("retirement_reason", " ")])
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("Este campo es obligatorio.");
    c.post(
        &format!("{url}/retire"),
        &[("retirement_reason", "Sustituido por método acreditado")],
    )
    .await
    .assert_redirect(&url);
    let page = c.get(&url).await;
    page.assert_contains("Sustituido por método acreditado");
    assert_eq!(c.get(&format!("{url}/edit")).await.status, 403);
    // Out of the list unless asked for.
    assert!(!c.get("/methods").await.contains("AZU-POL-01"));
    c.get("/methods?retired=1")
        .await
        .assert_contains("AZU-POL-01");
}

#[actix_web::test]
async fn the_catalogue_is_searched_and_read_by_the_lab_only() {
    let app = TestApp::with_admin();
    app.create_user("tecnico", Role::Technician, PW);
    app.create_user("oficial", Role::Enforcement, PW);
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    for (code, name) in [
        ("ALC-DEN-01", "Grado alcohólico por densimetría"),
        ("HUM-EST-01", "Humedad por secado en estufa"),
    ] {
        c.get("/methods/new").await;
        let mut fields = sucrose();
        fields.retain(|(k, _)| !matches!(*k, "code" | "name" | "spec_min" | "decision_rule"));
        fields.extend([("code", code), ("name", name)]);
        c.post("/methods", &fields)
            .await
            .assert_redirect_prefix("/methods/");
    }
    // (The first page read shows the last creation's message; the search comes after it.)
    c.get("/methods").await;
    let page = c.get("/methods?q=DENSIM").await;
    page.assert_contains("ALC-DEN-01");
    assert!(!page.contains("HUM-EST-01"));
    let page = c.get("/methods?q=hum").await;
    page.assert_contains("HUM-EST-01");
    // Keyset by code: the second page starts after the code in the link.
    let page = c.get("/methods?after=ALC-DEN-01").await;
    page.assert_contains("HUM-EST-01");
    assert!(!page.contains(">ALC-DEN-01<"));

    let mut t = app.client().await;
    t.login("tecnico", PW).await;
    t.get("/methods").await.assert_contains("ALC-DEN-01");
    assert_eq!(t.get("/methods/new").await.status, 403);
    assert_eq!(t.post("/methods", &sucrose()).await.status, 403);
    let mut o = app.client().await;
    o.login("oficial", PW).await;
    assert_eq!(o.get("/methods").await.status, 403);
}
