//! The seizure form's guidance and checks (issue 7, items 8 and 10): officers print the labels
//! of their own seizures only, acta and DAM numbers follow their office's format (edited by
//! the admin), a seal appears once per seizure, frequent countries come first, tariff codes
//! read as 3303.00.00 and a tariff can bring Spanish descriptions.

use std::path::Path;

use actix_web::http::StatusCode;
use lims::audit::Actor;
use lims::tariff;
use lims::user::Role;

use crate::common::{TestApp, ADMIN};
use crate::ui::pairs;

const PW: &str = "clave de prueba larga";

/// The officer's seizure form (`ui::seizure_form`, seal PR-0901 at Aduana Desaguadero) with
/// some fields replaced or added.
fn form(reference: &str, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut fields = crate::ui::seizure_form(reference);
    for (k, v) in extra {
        fields.retain(|(f, _)| f != k);
        fields.push((k, v.to_string()));
    }
    fields
}

/// The text of the field-error paragraph of `field`.
fn error_of<'a>(body: &'a str, field: &str) -> &'a str {
    let start = body
        .find(&format!("id=\"e-{field}\""))
        .unwrap_or_else(|| panic!("no error beside {field} in:\n{body}"));
    let rest = &body[start..];
    &rest[..rest.find("</p>").unwrap()]
}

#[actix_web::test]
async fn officers_print_labels_of_their_own_seizures_only() {
    let app = TestApp::with_admin();
    let mine = app.create_user("oficial", Role::Enforcement, PW);
    let other = app.create_user("otro", Role::Enforcement, PW);
    app.create_user("tecnico", Role::Technician, PW);
    let theirs = app.register(&other, "ACTA-2026-0002", &["PR-0002"]);
    let mut o = app.client().await;
    o.login("oficial", PW).await;

    // Registering on the web: the confirmation offers the labels.
    o.get("/seizures/new").await;
    let done = o
        .post("/seizures", &pairs(&form("ACTA-2026-0001", &[])))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let seizure_url = done.location().unwrap().to_string();
    let page = o.get(&seizure_url).await;
    let labels = format!("{seizure_url}/labels");
    page.assert_contains(&format!(
        "<a class=\"button\" href=\"{labels}\">Imprimir etiquetas</a>"
    ));

    let sheet = o.get(&labels).await;
    assert_eq!(sheet.status, StatusCode::OK);
    sheet.assert_contains("<svg xmlns=");
    let zpl = o.get(&format!("{seizure_url}/labels.zpl?size=50x25")).await;
    assert_eq!(zpl.status, StatusCode::OK);
    assert_eq!(
        zpl.headers.get("content-type").unwrap(),
        "application/zpl; charset=utf-8"
    );
    assert!(zpl.body.starts_with("^XA"), "{}", zpl.body);
    let own = &lims::sample::of_seizure(
        &mut app.db.conn(),
        &lims::seizure::find_by_reference(&mut app.db.conn(), "ACTA-2026-0001")
            .unwrap()
            .unwrap()
            .id,
    )
    .unwrap()[0];
    o.get(&format!("/samples/{}", own.id))
        .await
        .assert_contains(&format!("href=\"/samples/{}/labels\"", own.id));
    assert_eq!(
        o.get(&format!("/samples/{}/labels", own.id)).await.status,
        200
    );
    assert_eq!(
        o.get(&format!("/samples/{}/labels.zpl", own.id))
            .await
            .status,
        200
    );
    assert_eq!(mine.role, Role::Enforcement);

    // Another officer's seizure: refused on every label address, with the reason.
    let s = &theirs[0];
    for url in [
        format!("/seizures/{}/labels", s.seizure_id),
        format!("/seizures/{}/labels.zpl", s.seizure_id),
        format!("/samples/{}/labels", s.id),
        format!("/samples/{}/labels.zpl", s.id),
    ] {
        let refused = o.get(&url).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{url}");
        refused.assert_contains("el oficial que registró la incautación");
    }
    let page = o.get(&format!("/seizures/{}", s.seizure_id)).await;
    assert!(
        !page.contains("/labels\""),
        "no print button on others' seizures"
    );
    let page = o.get(&format!("/samples/{}", s.id)).await;
    assert!(!page.contains("/labels\""), "nor on their samples");

    // The lab prints any seizure's labels; the admin none.
    let mut t = app.client().await;
    t.login("tecnico", PW).await;
    assert_eq!(
        t.get(&format!("/seizures/{}/labels", s.seizure_id))
            .await
            .status,
        200
    );
    let mut a = app.client().await;
    a.login(ADMIN.0, ADMIN.1).await;
    assert_eq!(
        a.get(&format!("/seizures/{}/labels", s.seizure_id))
            .await
            .status,
        403
    );
}

#[actix_web::test]
async fn acta_and_dam_follow_the_office_format_the_admin_sets() {
    let app = TestApp::with_admin();
    app.create_user("oficial", Role::Enforcement, PW);
    let mut o = app.client().await;
    o.login("oficial", PW).await;
    let new = o.get("/seizures/new").await;
    // Required fields are marked, and the marker explained; formats are hinted.
    new.assert_contains("Los campos marcados con * son obligatorios.");
    new.assert_contains("<span class=\"req\" aria-hidden=\"true\">*</span>");
    new.assert_contains("id=\"f-reference\" name=\"reference\" type=\"text\" value=\"\" autocomplete=\"off\" required aria-required=\"true\" aria-describedby=\"h-reference\"");
    new.assert_contains("Formato, por ejemplo: ACTA-2026-000412");
    new.assert_contains("Formato, por ejemplo: 118-2026-10-012345");

    let bad = form("acta 12", &[("declaration_number", "DAM???")]);
    let page = o.post("/seizures", &pairs(&bad)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let e = error_of(&page.body, "reference");
    assert!(
        e.contains("No sigue el formato de esta aduana.") && e.contains("ACTA-2026-000412"),
        "{e}"
    );
    let e = error_of(&page.body, "declaration_number");
    assert!(e.contains("118-2026-10-012345"), "{e}");
    page.assert_contains("value=\"acta 12\"");
    page.assert_contains("value=\"DAM???\"");

    let good = form(
        "ACTA-2026-000412",
        &[("declaration_number", "118-2026-10-012345")],
    );
    let done = o.post("/seizures", &pairs(&good)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    // The admin gives Desaguadero its own acta numbering; a bad rule is refused first.
    let mut a = app.client().await;
    a.login(ADMIN.0, ADMIN.1).await;
    let list = a.get("/admin/offices").await;
    list.assert_contains("Aduana Desaguadero");
    list.assert_contains("NNN-NNNN-NN-NNNNNN");
    let edit = a.get("/admin/offices?name=Aduana+Desaguadero").await;
    edit.assert_contains("value=\"Aduana Desaguadero\"");
    let rule = |pattern: &'static str, example: &'static str| {
        vec![
            ("name", "Aduana Desaguadero"),
            ("reference_pattern", pattern),
            ("reference_example", example),
        ]
    };
    let refused = a
        .post("/admin/offices", &rule("'DSG-NNNN", "DSG-2026"))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(error_of(&refused.body, "reference_pattern").contains("comilla"));
    refused.assert_contains("value=\"&#39;DSG-NNNN\"");
    let refused = a
        .post("/admin/offices", &rule("'DSG'-NNNN-NNN", "DSG-26-1"))
        .await;
    assert!(error_of(&refused.body, "reference_example").contains("no sigue el patrón"));
    let saved = a
        .post("/admin/offices", &rule("'DSG'-NNNN-NNN", "DSG-2026-001"))
        .await;
    saved.assert_redirect("/admin/offices");
    let audit = app.audit_of("customs_office");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "update");

    let old_style = form("ACTA-2026-000413", &[]);
    let page = o.post("/seizures", &pairs(&old_style)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(error_of(&page.body, "reference").contains("DSG-2026-001"));
    let ok = o
        .post("/seizures", &pairs(&form("dsg-2026-002", &[])))
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    // Other offices keep the default.
    let tacna = form(
        "ACTA-2026-000414",
        &[("customs_office", "Intendencia de Aduana de Tacna")],
    );
    assert_eq!(o.post("/seizures", &pairs(&tacna)).await.status, 303);
}

#[actix_web::test]
async fn the_same_seal_twice_in_one_seizure_is_refused() {
    let app = TestApp::with_admin();
    app.create_user("oficial", Role::Enforcement, PW);
    let mut o = app.client().await;
    o.login("oficial", PW).await;
    o.get("/seizures/new").await;
    let fields = form(
        "ACTA-2026-000500",
        &[
            ("rows", "2"),
            ("s1_description", "Cajetilla 2"),
            ("s1_seal_number", " pr-0901"),
            ("s1_priority", "routine"),
        ],
    );
    let page = o.post("/seizures", &pairs(&fields)).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(error_of(&page.body, "s1_seal_number").contains("Este precinto ya figura"));
    assert!(!page.contains("id=\"e-s0_seal_number\""));
    page.assert_contains("value=\" pr-0901\"");

    let fields = form("ACTA-2026-000500", &[]);
    let done = o.post("/seizures", &pairs(&fields)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    // Adding a sample later with a seal the seizure already has.
    let add = format!("{}/samples", done.location().unwrap());
    o.get(&add).await;
    let again = o
        .post(
            &add,
            &[
                ("rows", "1"),
                ("s0_description", "Cajetilla 3"),
                ("s0_seal_number", "PR-0901"),
                ("s0_priority", "routine"),
            ],
        )
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert!(error_of(&again.body, "s0_seal_number").contains("Este precinto ya figura"));
}

#[actix_web::test]
async fn frequent_countries_come_first() {
    let app = TestApp::with_admin();
    let officer = app.create_user("oficial", Role::Enforcement, PW);
    let mut o = app.client().await;
    o.login("oficial", PW).await;
    o.get("/seizures/new").await;
    let with_origin = form("ACTA-2026-000600", &[("origin_country", "CN")]);
    assert_eq!(o.post("/seizures", &pairs(&with_origin)).await.status, 303);
    let page = o.get("/seizures/new").await;
    let start = page
        .body
        .find("<optgroup label=\"Más frecuentes\">")
        .expect("pinned group");
    let group = &page.body[start..start + page.body[start..].find("</optgroup>").unwrap()];
    let order: Vec<usize> = ["value=\"PE\"", "value=\"BO\"", "value=\"CN\""]
        .iter()
        .map(|v| group.find(v).unwrap_or_else(|| panic!("{v} in {group}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{group}");
    assert!(!group.contains("value=\"AR\""));
    page.assert_contains("<optgroup label=\"Todos los países\">");
    drop(officer);
}

#[actix_web::test]
async fn tariff_codes_show_with_dots() {
    let app = TestApp::with_admin();
    app.create_user("oficial", Role::Enforcement, PW);
    let mut o = app.client().await;
    o.login("oficial", PW).await;
    o.get("/seizures/new").await;
    let fields = form("ACTA-2026-000700", &[("declared_hs_code", "33030000")]);
    let done = o.post("/seizures", &pairs(&fields)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = o.get(done.location().unwrap()).await;
    page.assert_contains("<span class=\"mono\">3303.00.00</span>");
    let stored = lims::seizure::find_by_reference(&mut app.db.conn(), "ACTA-2026-000700")
        .unwrap()
        .unwrap();
    assert_eq!(stored.declared_hs_code.as_deref(), Some("33030000"));
}

const WITH_SPANISH: &str = "section,hscode,description,parent,level,description_es
VI,33,Essential oils and resinoids; perfumery,TOTAL,2,Aceites esenciales y resinoides; perfumería
VI,3303,Perfumes and toilet waters,33,4,Perfumes y aguas de tocador
VI,330300,Perfumes and toilet waters,3303,6,
";

const PERFUMES: &str = "Perfumes y aguas de tocador";

fn import(conn: &mut lims::db::DbConn, text: &str) -> tariff::ImportSummary {
    let actor = Actor::command_line();
    tariff::import_csv(conn, &actor, text.as_bytes(), "t.csv", "HS2022").unwrap()
}

/// The Spanish wording stored for `code`.
fn spanish(conn: &mut lims::db::DbConn, code: &str) -> Option<String> {
    tariff::find(conn, code).unwrap().unwrap().description_es
}

#[actix_web::test]
async fn a_spanish_description_column_shows_in_the_spanish_interface() {
    let app = TestApp::with_admin();
    app.create_user("oficial", Role::Enforcement, PW);
    let mut conn = app.db.conn();
    import(&mut conn, WITH_SPANISH);
    assert_eq!(spanish(&mut conn, "3303").as_deref(), Some(PERFUMES));
    assert_eq!(spanish(&mut conn, "330300"), None);
    // A later file without the column keeps the Spanish wording.
    import(
        &mut conn,
        "section,hscode,description,parent,level\nVI,3303,Perfumes and toilet waters,33,4\n",
    );
    assert_eq!(spanish(&mut conn, "3303").as_deref(), Some(PERFUMES));
    drop(conn);

    let mut o = app.client().await;
    o.login("oficial", PW).await;
    let es: serde_json::Value =
        serde_json::from_str(&o.get("/tariff/suggest?q=3303").await.body).unwrap();
    assert_eq!(es[0]["code"], "3303");
    assert_eq!(es[0]["description"], "Perfumes y aguas de tocador");
    assert_eq!(
        es[1]["description"], "Perfumes and toilet waters",
        "fallback"
    );
    // Spanish words find the line too.
    let words: serde_json::Value =
        serde_json::from_str(&o.get("/tariff/suggest?q=tocador").await.body).unwrap();
    assert_eq!(words[0]["code"], "3303");
    o.get("/account").await;
    o.post("/language", &[("lang", "en"), ("next", "/")])
        .await
        .assert_redirect("/");
    let en: serde_json::Value =
        serde_json::from_str(&o.get("/tariff/suggest?q=3303").await.body).unwrap();
    assert_eq!(en[0]["description"], "Perfumes and toilet waters");
}

/// The shared HS2022 file (English) with a Spanish overlay for some lines: the file's lines
/// keep their English wording, the overlaid ones gain their Spanish one.
#[test]
#[cfg_attr(not(lims_shared_data), ignore = "../shared/data/hs2022.csv is absent")]
fn hs2022_then_a_spanish_overlay() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/hs2022.csv");
    let app = TestApp::new();
    let mut conn = app.db.conn();
    tariff::import_file(&mut conn, &Actor::command_line(), &path, "HS2022").expect("import");
    assert_eq!(spanish(&mut conn, "3303"), None);
    let summary = import(&mut conn, WITH_SPANISH);
    assert_eq!(summary.inserted, 0, "every line is in HS2022");
    assert_eq!(spanish(&mut conn, "3303").as_deref(), Some(PERFUMES));
    let (_, es) = tariff::suggest(&mut conn, "3303", 1, lims::i18n::Lang::Es)
        .unwrap()
        .remove(0);
    assert_eq!(es, PERFUMES);
}
