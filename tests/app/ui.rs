//! Layout, keyboard and screen-reader rules of the pages, as served (no browser needed): the top
//! bar's current area, breadcrumbs, the skip link and the menu that folds without script,
//! radio groups, the error summary, the default button of the seizure form, the role of a
//! new user and the language switch on pages with a form.

use crate::common::{TestApp, ADMIN};
use actix_web::http::StatusCode;
use lims::user::Role;

const PW: &str = "clave de prueba larga";

/// The fields of a seizure with one sealed sample, as the officer's form sends them.
pub(crate) fn seizure_form(reference: &str) -> Vec<(&'static str, String)> {
    [
        ("reference", reference),
        ("customs_office", "Aduana Desaguadero"),
        ("seized_at", "2026-03-01T10:30"),
        ("place", "Puente internacional"),
        ("seizing_officer", "Of. Pedro Ramírez"),
        ("goods_description", "Cigarrillos sin timbre"),
        ("risk_channel", "red"),
        ("rows", "1"),
        ("s0_description", "Cajetilla 1"),
        ("s0_seal_number", "PR-0901"),
        ("s0_priority", "routine"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

pub(crate) fn pairs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// The text between `start` and the next `end` after it.
fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let from = body
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} in:\n{body}"));
    let rest = &body[from..];
    &rest[..rest.find(end).map_or(rest.len(), |e| e + end.len())]
}

/// A lab with an officer and a technician, and a seizure the officer registered on the web:
/// the app, the seizure's page (as the officer sees it) and its first sample's address.
async fn registered(reference: &str) -> (TestApp, crate::common::Page, String) {
    let app = TestApp::with_admin();
    app.create_user("oficial", Role::Enforcement, PW);
    app.create_user("tecnico", Role::Technician, PW);
    let mut officer = app.client().await;
    officer.login("oficial", PW).await;
    officer.get("/seizures/new").await;
    let done = officer
        .post("/seizures", &pairs(&seizure_form(reference)))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = officer.get(done.location().unwrap()).await;
    let start = page.body.find("href=\"/samples/").expect("a sample link") + "href=\"".len();
    let end = start + page.body[start..].find('"').unwrap();
    let sample_path = page.body[start..end].to_string();
    (app, page, sample_path)
}

#[actix_web::test]
async fn receipt_pages_belong_to_reception_and_breadcrumbs_name_the_page() {
    let (app, page, sample_path) = registered("ACTA-2026-0901").await;
    // The current page ends the trail, unlinked; no separator dangles after it.
    page.assert_contains(r#"<li aria-current="page">ACTA-2026-0901</li>"#);
    assert!(!page.contains("</a> /</p>"), "{}", page.body);

    let mut tech = app.client().await;
    tech.login("tecnico", PW).await;
    for path in ["/receive".to_string(), format!("{sample_path}/receive")] {
        let page = tech.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        let nav = between(&page.body, "<nav class=\"mainnav wide-only\"", "</nav>");
        assert!(
            nav.contains(r#"<a href="/receive" class="active" aria-current="page">"#),
            "{path}: {nav}"
        );
        assert!(nav.contains(r#"<a href="/samples">"#), "{path}: {nav}");
    }
    // The sample page itself belongs to the samples.
    let page = tech.get(&sample_path).await;
    let nav = between(&page.body, "<nav class=\"mainnav wide-only\"", "</nav>");
    assert!(nav.contains(r#"<a href="/samples" class="active" aria-current="page">"#));
}

#[actix_web::test]
async fn skip_link_comes_first_and_the_menu_folds_without_script() {
    let app = TestApp::with_admin();
    app.create_user("oficial", Role::Enforcement, PW);
    let mut c = app.client().await;
    c.login("oficial", PW).await;
    let home = c.get("/").await;
    let body_start = between(&home.body, "<body>", "</a>");
    assert!(
        body_start.contains(r##"<a class="skip-link" href="#main">Saltar al contenido</a>"##),
        "{body_start}"
    );
    home.assert_contains(r#"<main class="page" id="main" tabindex="-1">"#);
    // The folded menu is a <details>: a button that works with no script at all.
    let menu = between(
        &home.body,
        "<details class=\"menu narrow-only\">",
        "</details>",
    );
    assert!(menu.contains("<summary>Menú</summary>"));
    assert!(menu.contains(r#"action="/logout""#));
    // Only scripts of our own, in files (the CSP allows no inline script).
    assert!(!home.body.contains("<script>"));
    home.assert_contains(r#"<script src="/static/js/forms.js" defer></script>"#);
    let js = c.get("/static/js/forms.js").await;
    assert_eq!(js.status, StatusCode::OK);
    js.assert_contains("error-summary");
}

#[actix_web::test]
async fn yes_no_questions_are_groups_and_say_what_is_missing() {
    let (app, _, sample_path) = registered("ACTA-2026-0902").await;

    let mut tech = app.client().await;
    tech.login("tecnico", PW).await;
    // The questions come once the seal was read (the receipt's second step).
    let form = tech
        .get(&format!(
            "{sample_path}/receive?step=check&seal_number=PR-0901"
        ))
        .await;
    form.assert_contains(r#"<fieldset class="field choices">"#);
    form.assert_contains("<legend>¿Precinto intacto?</legend>");
    let bad = tech
        .post(
            &format!("{sample_path}/receive"),
            &[
                ("seal_number", "PR-0901"),
                ("decision", "accept"),
                ("received_at", "2026-03-02T09:00"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let group = between(
        &bad.body,
        r#"<fieldset class="field choices has-error" aria-describedby="e-seal_intact">"#,
        "</fieldset>",
    );
    assert!(group.contains("Responda sí o no."), "{group}");
    assert!(!group.contains("Elija una opción de la lista."), "{group}");
    // The summary leads to the first radio button of the group.
    bad.assert_contains(r##"<a href="#f-seal_intact">¿Precinto intacto?: Responda sí o no.</a>"##);
    bad.assert_contains(r#"id="f-seal_intact""#);
}

#[actix_web::test]
async fn seizure_form_lists_problems_as_links_and_enter_registers() {
    let app = TestApp::with_admin();
    app.create_user("oficial", Role::Enforcement, PW);
    let mut c = app.client().await;
    c.login("oficial", PW).await;
    let form = c.get("/seizures/new").await;
    // Enter submits with the form's first submit button: it must be "register".
    let register = form.body.find("class=\"button primary\"").unwrap();
    let add_row = form.body.find("name=\"add_row\"").unwrap();
    assert!(register < add_row, "register comes before add-a-row");
    // Optional facts start folded.
    form.assert_contains(r#"<details class="more">"#);

    let mut fields = seizure_form("ACTA-2026-0903");
    fields.retain(|(k, _)| !["place", "s0_seal_number"].contains(k));
    fields.push(("declared_hs_code", "no es código".into()));
    let bad = c.post("/seizures", &pairs(&fields)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let summary = between(&bad.body, "<div class=\"error-summary\"", "</div>");
    for link in ["#f-place", "#f-declared_hs_code", "#s0_seal_number"] {
        assert!(
            summary.contains(&format!("href=\"{link}\"")),
            "{link}: {summary}"
        );
        let id = format!("id=\"{}\"", &link[1..]);
        bad.assert_contains(&id);
    }
    assert!(
        summary.contains("Muestra 1 · N.º de precinto: "),
        "{summary}"
    );
    assert!(summary.contains("tabindex=\"-1\" autofocus"), "{summary}");
    // The folded part with a wrong field in it opens by itself; the rows' stay folded.
    bad.assert_contains(r#"<details class="more" open>"#);
    bad.assert_contains(r#"<details class="more">"#);
    // The language switch of a form re-shown after a POST returns to the form, not the list.
    bad.assert_contains(r#"<input type="hidden" name="next" value="/seizures/new">"#);

    let seizure = c
        .post("/seizures", &pairs(&seizure_form("ACTA-2026-0904")))
        .await;
    let path = seizure.location().unwrap().to_string();
    let more = c.get(&format!("{path}/samples")).await;
    let register = more.body.find("class=\"button primary\"").unwrap();
    let add_row = more.body.find("name=\"add_row\"").unwrap();
    assert!(register < add_row, "adding samples: the main button first");
}

#[actix_web::test]
async fn language_switch_guards_forms_and_keeps_the_query() {
    let app = TestApp::with_admin();
    app.create_user("oficial", Role::Enforcement, PW);
    let mut c = app.client().await;
    c.login("oficial", PW).await;
    // A page with a form: without script the switch warns first.
    let form = c.get("/seizures/new").await;
    let switch = between(
        &form.body,
        "<form method=\"post\" action=\"/language\"",
        "</form>",
    );
    assert!(switch.contains("data-guarded"), "{switch}");
    assert!(switch.contains(r#"<summary lang="en">English</summary>"#));
    assert!(switch.contains("lo escrito en este formulario se perderá"));
    assert!(switch.contains(">Switch to English anyway</button>"));
    // A list: one click, and the filters stay.
    let list = c.get("/samples?status=registered").await;
    let switch = between(
        &list.body,
        "<form method=\"post\" action=\"/language\"",
        "</form>",
    );
    assert!(!switch.contains("data-guarded"), "{switch}");
    assert!(
        switch.contains(r#"name="next" value="/samples?status=registered""#),
        "{switch}"
    );
    let back = c
        .post(
            "/language",
            &[("lang", "en"), ("next", "/samples?status=registered")],
        )
        .await;
    back.assert_redirect("/samples?status=registered");
}

#[actix_web::test]
async fn admin_chooses_a_role_and_finds_every_area() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    let home = c.get("/").await;
    for href in ["/admin/users", "/admin/locations", "/admin/audit"] {
        home.assert_contains(&format!(r#"<a class="tile" href="{href}">"#));
    }
    let form = c.get("/admin/users/new").await;
    let select = between(&form.body, "<select id=\"f-role\"", "</select>");
    assert!(select.contains("required"), "{select}");
    assert!(
        !select.contains("selected"),
        "no role chosen for the admin: {select}"
    );
    // Every column has a header, for screen readers too.
    let users = c.get("/admin/users").await;
    assert!(!users.contains("<th></th>"));
    users.assert_contains(r#"<th><span class="sr-only">Acciones</span></th>"#);
}
