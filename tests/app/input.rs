//! Bad input: identifiers with control characters or quotes, download names built from odd
//! references, fields sent twice and text that is not UTF-8.

use actix_web::http::header::{self, ContentDisposition, DispositionType};
use actix_web::http::StatusCode;
use diesel::prelude::*;

use crate::common::{TestApp, ADMIN};
use lims::custody;
use lims::db::schema::seizures;
use lims::ids::SampleId;
use lims::sample::receipt::{self, ReceiptInput};
use lims::sample::{self, Sample};
use lims::seizure;
use lims::storage;
use lims::user::{self, Role, User};

const PW: &str = "lab-password-1";
const TZ: chrono_tz::Tz = chrono_tz::America::Lima;
const IDENTIFIER_MESSAGE: &str = "Escríbalo en una sola línea";
const CONTROL_MESSAGE: &str = "caracteres de control invisibles";
const UNREADABLE_MESSAGE: &str = "no se pudo leer";

struct Lab {
    app: TestApp,
    officer: User,
    tech: User,
}

fn lab() -> Lab {
    let app = TestApp::with_admin();
    Lab {
        officer: app.create_user("oficial", Role::Enforcement, PW),
        tech: app.create_user("tecnico", Role::Technician, PW),
        app,
    }
}

impl Lab {
    fn register(&self, reference: &str, seal: &str) -> Sample {
        self.app
            .register(&self.officer, reference, &[seal])
            .remove(0)
    }

    fn receive(&self, s: &Sample) {
        let who = self.tech.handler(None);
        let input = ReceiptInput {
            seal_number: s.seal_number.clone().unwrap_or_default(),
            seal_intact: "yes".into(),
            quantity_sufficient: "yes".into(),
            delivered_by: "Of. Soto".into(),
            decision: "accept".into(),
            ..Default::default()
        };
        receipt::receive(&mut self.app.db.conn(), &who, &s.id, &input, TZ).expect("receive");
    }

    fn last_event(&self, id: &SampleId) -> custody::CustodyEvent {
        custody::for_sample(&mut self.app.db.conn(), id)
            .unwrap()
            .pop()
            .expect("an event")
    }
}

/// A seizure form with one sample row; `extra` replaces or adds fields.
fn seizure_form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("reference", "ACTA-IN-1"),
        ("customs_office", "Intendencia de Aduana de Tacna"),
        ("declaration_number", "118-2026-10-045678"),
        ("seized_at", "2026-03-01T10:30"),
        ("place", "Santa Rosa"),
        ("seizing_officer", "Of. Soto"),
        ("goods_description", "Polvo blanco"),
        ("risk_channel", "red"),
        ("rows", "1"),
        ("s0_description", "Bolsa 1"),
        ("s0_seal_number", "PR-1"),
        ("s0_priority", "routine"),
    ];
    for (k, v) in extra {
        match fields.iter_mut().find(|(name, _)| name == k) {
            Some(field) => field.1 = v,
            None => fields.push((k, v)),
        }
    }
    fields
}

#[actix_web::test]
async fn identifiers_with_line_breaks_quotes_or_control_characters_are_refused() {
    let lab = lab();
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await.assert_redirect("/");
    c.get("/seizures/new").await;
    let bad = c
        .post(
            "/seizures",
            &seizure_form(&[
                ("reference", "ACTA-IN-1\r\nX-Injected: 1"),
                ("declaration_number", "118\t2026"),
                ("s0_seal_number", "PR\u{1}1"),
                ("goods_description", "Polvo\u{7} blanco"),
                ("place", "Muelle 5"),
            ]),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    for field in ["reference", "declaration_number"] {
        bad.assert_contains(&format!("id=\"e-{field}\""));
    }
    // Beside the reference, the declaration number and the sample's seal number.
    for field in ["reference", "declaration_number", "s0_seal_number"] {
        let marker = format!("id=\"e-{field}\">");
        let at = bad
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("{field}: {}", bad.body));
        let beside = &bad.body[at + marker.len()..];
        assert!(
            beside[..beside.find("</p>").unwrap()].contains(IDENTIFIER_MESSAGE),
            "{field}"
        );
    }
    bad.assert_contains(CONTROL_MESSAGE);
    bad.assert_contains("value=\"Muelle 5\"");

    // A quote would close the file name of a label download.
    let quoted = c
        .post(
            "/seizures",
            &seizure_form(&[("reference", "x\"; filename=evil.exe")]),
        )
        .await;
    assert_eq!(quoted.status, StatusCode::BAD_REQUEST);
    quoted.assert_contains("id=\"e-reference\"");
    quoted.assert_contains(IDENTIFIER_MESSAGE);
    assert!(
        seizure::find_by_reference(&mut lab.app.db.conn(), "ACTA-IN-1")
            .unwrap()
            .is_none()
    );

    // Free text keeps its line breaks and tabs.
    let ok = c
        .post(
            "/seizures",
            &seizure_form(&[("goods_description", "Polvo blanco\r\n\ten bolsas")]),
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let s = seizure::find_by_reference(&mut lab.app.db.conn(), "ACTA-IN-1")
        .unwrap()
        .unwrap();
    assert_eq!(s.goods_description, "Polvo blanco\r\n\ten bolsas");
}

#[actix_web::test]
async fn seal_numbers_on_receipt_and_custody_forms_refuse_control_characters() {
    let lab = lab();
    let s = lab.register("ACTA-SEAL-1", "PR-1");
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    let path = format!("/samples/{}/receive", s.id);
    c.get(&path).await;
    let bad = c
        .post(
            &path,
            &[
                ("decision", "accept"),
                ("seal_number", "PR-1\n"),
                ("seal_intact", "yes"),
                ("quantity_sufficient", "yes"),
                ("delivered_by", "Of. Soto"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    bad.assert_contains("id=\"e-seal_number\"");
    bad.assert_contains(IDENTIFIER_MESSAGE);
    bad.assert_contains("value=\"Of. Soto\"");

    lab.receive(&s);
    let path = format!("/samples/{}/custody", s.id);
    c.get(&format!("{path}?kind=resealed")).await;
    let bad = c
        .post(&path, &[("kind", "resealed"), ("new_seal_number", "PR\"2")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    bad.assert_contains("id=\"e-new_seal_number\"");
    bad.assert_contains(IDENTIFIER_MESSAGE);
}

/// The parameters of a download's Content-Disposition, read back as a client would.
fn disposition(page: &crate::common::Page) -> ContentDisposition {
    let value = page
        .headers
        .get(header::CONTENT_DISPOSITION)
        .expect("a Content-Disposition header");
    ContentDisposition::from_raw(value).expect("a well-formed Content-Disposition")
}

#[actix_web::test]
async fn label_downloads_encode_odd_references_and_never_fail() {
    let lab = lab();
    let s = lab.register("ACTA-ODD-1", "PR-1");
    // Stored before references were checked, or written behind the application's back.
    let odd = "ACTA-ÑANDÚ\r\n\"; filename=evil.exe";
    diesel::update(seizures::table.find(&s.seizure_id))
        .set(seizures::reference.eq(odd))
        .execute(&mut lab.app.db.conn())
        .unwrap();
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    for size in ["50x25", "100x50"] {
        let page = c
            .get(&format!(
                "/seizures/{}/labels.zpl?size={size}",
                s.seizure_id
            ))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let cd = disposition(&page);
        assert_eq!(cd.disposition, DispositionType::Attachment);
        assert_eq!(cd.parameters.len(), 2, "{:?}", cd.parameters);
        let fallback = cd.get_filename().expect("an ASCII file name");
        assert_eq!(
            fallback,
            format!("ACTA-_AND______filename_evil.exe-{size}.zpl")
        );
        let full = cd.get_filename_ext().expect("a UTF-8 file name");
        assert_eq!(
            String::from_utf8(full.value.clone()).unwrap(),
            format!("ACTA-ÑANDÚ___; filename=evil.exe-{size}.zpl")
        );
        assert!(page.body.contains("^XA"));
        let label = c
            .get(&format!("/samples/{}/labels.zpl?size={size}", s.id))
            .await;
        assert_eq!(label.status, StatusCode::OK);
        assert_eq!(
            disposition(&label).get_filename(),
            Some(format!("{}-{size}.zpl", s.lab_code).as_str())
        );
    }
}

#[actix_web::test]
async fn a_field_sent_twice_counts_once_on_every_form() {
    let lab = lab();
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;

    // Seizure registration: the first value is the one registered.
    c.get("/seizures/new").await;
    let mut fields = seizure_form(&[("reference", "ACTA-DUP-1")]);
    fields.push(("reference", "ACTA-DUP-2"));
    let page = c.post("/seizures", &fields).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let mut conn = lab.app.db.conn();
    assert!(seizure::find_by_reference(&mut conn, "ACTA-DUP-1")
        .unwrap()
        .is_some());
    assert!(seizure::find_by_reference(&mut conn, "ACTA-DUP-2")
        .unwrap()
        .is_none());
    drop(conn);

    // Receipt.
    let s = lab.register("ACTA-DUP-3", "PR-3");
    let path = format!("/samples/{}/receive", s.id);
    c.get(&path).await;
    c.post(
        &path,
        &[
            ("decision", "accept"),
            ("seal_number", "PR-3"),
            ("seal_intact", "yes"),
            ("quantity_sufficient", "yes"),
            ("delivered_by", "Of. Primero"),
            ("delivered_by", "Of. Segundo"),
        ],
    )
    .await
    .assert_redirect("/receive");
    assert_eq!(
        lab.last_event(&s.id).from_party.as_deref(),
        Some("Of. Primero")
    );

    // Custody event: even the kind is the first one sent.
    let path = format!("/samples/{}/custody", s.id);
    c.get(&format!("{path}?kind=removed_from_storage")).await;
    c.post(
        &path,
        &[
            ("kind", "removed_from_storage"),
            ("kind", "destroyed"),
            ("reason", "Para análisis"),
            ("reason", "Otro motivo"),
        ],
    )
    .await
    .assert_redirect(&format!("/samples/{}", s.id));
    let event = lab.last_event(&s.id);
    assert_eq!(event.kind, "removed_from_storage");
    assert_eq!(event.reason.as_deref(), Some("Para análisis"));

    // Sub-sample.
    let path = format!("/samples/{}/subsamples", s.id);
    c.get(&path).await;
    let page = c
        .post(
            &path,
            &[
                ("kind", "aliquot"),
                ("description", "Alícuota A"),
                ("description", "Alícuota B"),
                ("quantity", "5"),
                ("quantity_unit", "g"),
                ("seal_number", "PR-3A"),
                ("confirm", "yes"),
                ("confirm", "edit"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let children: Vec<Sample> = sample::of_seizure(&mut lab.app.db.conn(), &s.seizure_id)
        .unwrap()
        .into_iter()
        .filter(|x| x.parent_id.as_ref() == Some(&s.id))
        .collect();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].description, "Alícuota A");

    // Own password: the first new password is set, and confirmed by its first confirmation.
    c.get("/account").await;
    c.post(
        "/account/password",
        &[
            ("current_password", PW),
            ("new_password", "clave nueva uno"),
            ("new_password", "clave nueva dos"),
            ("new_password_confirm", "clave nueva uno"),
            ("new_password_confirm", "clave nueva dos"),
        ],
    )
    .await
    .assert_redirect("/account");
    let mut other = lab.app.client().await;
    other
        .login("tecnico", "clave nueva uno")
        .await
        .assert_redirect("/");
}

#[actix_web::test]
async fn a_field_sent_twice_counts_once_on_admin_forms() {
    let lab = lab();
    let mut c = lab.app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;

    // Storage locations: create and change.
    c.get("/admin/locations").await;
    c.post(
        "/admin/locations",
        &[
            ("code", "F-1"),
            ("code", "F-2"),
            ("name", "Refrigerador 1"),
            ("kind", "fridge"),
        ],
    )
    .await
    .assert_redirect("/admin/locations");
    let mut conn = lab.app.db.conn();
    let fridge = storage::find_by_code(&mut conn, "F-1").unwrap().unwrap();
    assert!(storage::find_by_code(&mut conn, "F-2").unwrap().is_none());
    drop(conn);
    let path = format!("/admin/locations/{}", fridge.id);
    c.get(&path).await;
    let page = c
        .post(
            &path,
            &[
                ("name", "Refrigerador A"),
                ("name", "Refrigerador B"),
                ("kind", "fridge"),
                ("active", "on"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let fridge = storage::find(&mut lab.app.db.conn(), &fridge.id)
        .unwrap()
        .unwrap();
    assert_eq!(fridge.name, "Refrigerador A");
    assert!(fridge.active);

    // Users: create, change, reset the password.
    c.get("/admin/users/new").await;
    c.post(
        "/admin/users",
        &[
            ("full_name", "Ana Torres"),
            ("username", "atorres"),
            ("role", "technician"),
            ("role", "admin"),
            ("password", "una clave larga"),
            ("password_confirm", "una clave larga"),
        ],
    )
    .await
    .assert_redirect("/admin/users");
    let ana = user::find_by_username(&mut lab.app.db.conn(), "atorres")
        .unwrap()
        .unwrap();
    assert_eq!(ana.role, Role::Technician);
    let path = format!("/admin/users/{}", ana.id);
    c.get(&path).await;
    c.post(
        &path,
        &[
            ("full_name", "Ana Torres Quispe"),
            ("full_name", "Otra persona"),
            ("role", "supervisor"),
            ("active", "on"),
        ],
    )
    .await
    .assert_redirect("/admin/users");
    let ana = user::find(&mut lab.app.db.conn(), &ana.id).unwrap();
    assert_eq!(ana.full_name, "Ana Torres Quispe");
    c.get(&path).await;
    c.post(
        &format!("{path}/password"),
        &[
            ("new_password", "clave restablecida"),
            ("new_password", "otra clave distinta"),
            ("new_password_confirm", "clave restablecida"),
        ],
    )
    .await
    .assert_redirect(&path);
    let mut ana_client = lab.app.client().await;
    ana_client
        .login("atorres", "clave restablecida")
        .await
        .assert_redirect("/");

    // The CSRF token counts once too: a forged first token is not rescued by a second one.
    c.get("/admin/locations").await;
    let token = c.csrf.clone();
    let forged = c
        .post_raw(
            "/admin/locations",
            &[
                ("csrf_token", "forged"),
                ("csrf_token", &token),
                ("code", "F-9"),
                ("name", "Refrigerador 9"),
                ("kind", "fridge"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn text_that_is_not_utf8_is_refused_beside_its_field() {
    let lab = lab();
    let s = lab.register("ACTA-UTF-1", "PR-1");
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    let path = format!("/samples/{}/receive", s.id);
    c.get(&path).await;
    let body = format!(
        "csrf_token={}&decision=reject&seal_number=PR-1&seal_intact=yes&quantity_sufficient=yes\
         &delivered_by=Of.%20Soto&notes=Envase%20roto%FF%FE",
        c.csrf
    );
    let bad = c.post_body(&path, &body).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    bad.assert_contains(UNREADABLE_MESSAGE);
    bad.assert_contains("value=\"Of. Soto\"");
    assert_eq!(lab.last_event(&s.id).kind, "sealed");

    // NUL cannot be stored by PostgreSQL: it is refused the same way, never a 500.
    c.get("/seizures/new").await;
    let bad = c
        .post(
            "/seizures",
            &seizure_form(&[
                ("reference", "ACTA-NUL-1\u{0}"),
                ("goods_description", "Polvo\u{0} blanco"),
            ]),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    bad.assert_contains("id=\"e-reference\"");
    bad.assert_contains(UNREADABLE_MESSAGE);
    bad.assert_contains("value=\"Santa Rosa\"");
    let body = format!(
        "csrf_token={}&reference=ACTA-UTF-2&customs_office=Tacna&seized_at=2026-03-01T10%3A30\
         &place=Santa%20Rosa&seizing_officer=Of.%20Soto&goods_description=Polvo%C3%28\
         &risk_channel=red&rows=1&s0_description=Bolsa&s0_seal_number=PR-2&s0_priority=routine",
        c.csrf
    );
    let bad = c.post_body("/seizures", &body).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    bad.assert_contains(UNREADABLE_MESSAGE);
    bad.assert_contains("value=\"ACTA-UTF-2\"");

    // Names of people and places are checked as well.
    let mut admin = lab.app.client().await;
    admin.login(ADMIN.0, ADMIN.1).await;
    admin.get("/admin/locations").await;
    let body = format!(
        "csrf_token={}&code=F-1&name=Refrigerador%00&kind=fridge",
        admin.csrf
    );
    let bad = admin.post_body("/admin/locations", &body).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    bad.assert_contains(UNREADABLE_MESSAGE);
}
