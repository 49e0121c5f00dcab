//! Storage locations: the admin builds and edits the tree; cycles, duplicate codes and other
//! roles are refused; every change is audited.

use crate::common::{Client, Page, TestApp, ADMIN};
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use lims::ids::StorageLocationId;
use lims::storage;
use lims::user::Role;

async fn add<S, B>(c: &mut Client<S>, code: &str, name: &str, kind: &str, parent: &str) -> Page
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    c.post(
        "/admin/locations",
        &[
            ("code", code),
            ("name", name),
            ("kind", kind),
            ("parent_id", parent),
        ],
    )
    .await
}

async fn change<S, B>(c: &mut Client<S>, id: &StorageLocationId, fields: &[(&str, &str)]) -> Page
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    c.post(&format!("/admin/locations/{id}"), fields).await
}

fn id_of(app: &TestApp, code: &str) -> StorageLocationId {
    storage::find_by_code(&mut app.db.conn(), code)
        .unwrap()
        .unwrap_or_else(|| panic!("{code} stored"))
        .id
}

#[actix_web::test]
async fn admin_builds_the_tree_and_edits_it() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    let home = c.get("/").await;
    home.assert_contains("href=\"/admin/locations\"");
    let empty = c.get("/admin/locations").await;
    empty.assert_contains("Ubicaciones de almacenamiento");
    empty.assert_contains("Aún no hay ubicaciones");

    add(&mut c, "eda", "Edificio A", "building", "")
        .await
        .assert_redirect("/admin/locations");
    c.get("/admin/locations")
        .await
        .assert_contains("Ubicación EDA creada.");
    let eda = id_of(&app, "EDA");
    add(&mut c, "EDA-S2", "Sala 2", "room", eda.as_str())
        .await
        .assert_redirect("/admin/locations");
    let s2 = id_of(&app, "EDA-S2");
    add(
        &mut c,
        "EDA-S2-REF1",
        "Refrigerador 1",
        "fridge",
        s2.as_str(),
    )
    .await
    .assert_redirect("/admin/locations");
    let ref1 = id_of(&app, "EDA-S2-REF1");
    add(&mut c, "EDB", "Edificio B", "building", "")
        .await
        .assert_redirect("/admin/locations");
    let edb = id_of(&app, "EDB");
    // Created after "Edificio B", listed under "Edificio A" all the same.
    add(&mut c, "EDA-S1", "Sala 1", "room", eda.as_str())
        .await
        .assert_redirect("/admin/locations");

    let tree: Vec<(String, usize)> = storage::list(&mut app.db.conn())
        .unwrap()
        .into_iter()
        .map(|l| (l.path, l.depth))
        .collect();
    assert_eq!(
        tree,
        vec![
            ("Edificio A".to_string(), 0),
            ("Edificio A / Sala 1".to_string(), 1),
            ("Edificio A / Sala 2".to_string(), 1),
            ("Edificio A / Sala 2 / Refrigerador 1".to_string(), 2),
            ("Edificio B".to_string(), 0),
        ]
    );
    let page = c.get("/admin/locations").await;
    let at = |text: &str| page.body.find(text).unwrap_or_else(|| panic!("{text}"));
    assert!(at(">Edificio A<") < at(">Sala 1<"));
    assert!(at(">Sala 2<") < at(">Refrigerador 1<"));
    assert!(at(">Refrigerador 1<") < at(">Edificio B<"));
    page.assert_contains("└");
    page.assert_contains("Refrigerador</td>");
    // The create form offers every active location by its path.
    page.assert_contains(&format!(
        "<option value=\"{s2}\">Edificio A / Sala 2</option>"
    ));

    // Edit: rename, change kind, move to the other building.
    let edit = c.get(&format!("/admin/locations/{ref1}")).await;
    edit.assert_contains("Edificio A / Sala 2 / Refrigerador 1");
    edit.assert_contains("value=\"Refrigerador 1\"");
    change(
        &mut c,
        &ref1,
        &[
            ("name", "Congelador de reactivos"),
            ("kind", "freezer"),
            ("parent_id", edb.as_str()),
            ("active", "on"),
        ],
    )
    .await
    .assert_redirect("/admin/locations");
    c.get("/admin/locations")
        .await
        .assert_contains("Ubicación EDA-S2-REF1 guardada.");
    let moved = storage::find(&mut app.db.conn(), &ref1).unwrap().unwrap();
    assert_eq!(moved.name, "Congelador de reactivos");
    assert_eq!(moved.kind, lims::storage::LocationKind::Freezer);
    assert_eq!(moved.parent_id.as_ref(), Some(&edb));
    assert_eq!(moved.code, "EDA-S2-REF1", "the code stays");

    // Deactivated: no longer offered, nor anything inside it; the page says so.
    change(
        &mut c,
        &eda,
        &[
            ("name", "Edificio A"),
            ("kind", "building"),
            ("parent_id", ""),
        ],
    )
    .await
    .assert_redirect("/admin/locations");
    let options: Vec<String> = storage::active_options(&mut app.db.conn())
        .unwrap()
        .into_iter()
        .map(|(_, path)| path)
        .collect();
    assert_eq!(
        options,
        vec!["Edificio B", "Edificio B / Congelador de reactivos"]
    );
    let page = c.get("/admin/locations").await;
    page.assert_contains("Inactiva");
    page.assert_contains("Dentro de una ubicación inactiva");
    let refused = add(&mut c, "EDA-S3", "Sala 3", "room", eda.as_str()).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    refused.assert_contains("Esa ubicación está inactiva");
    // Its current parent stays selectable while editing a location inside it.
    let s2_edit = c.get(&format!("/admin/locations/{s2}")).await;
    s2_edit.assert_contains(&format!(
        "<option value=\"{eda}\" selected>Edificio A</option>"
    ));
    change(
        &mut c,
        &s2,
        &[
            ("name", "Sala 2 (archivo)"),
            ("kind", "room"),
            ("parent_id", eda.as_str()),
            ("active", "on"),
        ],
    )
    .await
    .assert_redirect("/admin/locations");

    // Bad input: every problem beside its field, what was typed kept; never a 500.
    let bad = add(&mut c, "A B", "", "spaceship", "not-an-id").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    for field in ["code", "name", "kind", "parent_id"] {
        bad.assert_contains(&format!("id=\"e-{field}\""));
    }
    bad.assert_contains("value=\"A B\"");
    let ghost = add(
        &mut c,
        "X1",
        "X",
        "shelf",
        &uuid::Uuid::now_v7().to_string(),
    )
    .await;
    assert_eq!(ghost.status, StatusCode::BAD_REQUEST);
    ghost.assert_contains("Elija una ubicación de la lista.");
    let bad_edit = change(&mut c, &edb, &[("name", " "), ("kind", "")]).await;
    assert_eq!(bad_edit.status, StatusCode::BAD_REQUEST);
    bad_edit.assert_contains("id=\"e-name\"");
    bad_edit.assert_contains("id=\"e-kind\"");
    assert_eq!(
        c.get("/admin/locations/nope").await.status,
        StatusCode::NOT_FOUND
    );
    let unknown = format!("/admin/locations/{}", uuid::Uuid::now_v7());
    assert_eq!(c.get(&unknown).await.status, StatusCode::NOT_FOUND);
    let gone = c
        .post(
            &unknown,
            &[("name", "X"), ("kind", "room"), ("active", "on")],
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(storage::list(&mut app.db.conn()).unwrap().len(), 5);

    // In English too.
    c.accept_language = "en".into();
    c.logout().await;
    c.login(ADMIN.0, ADMIN.1).await;
    let en = c.get("/admin/locations").await;
    en.assert_contains("Storage locations");
    en.assert_contains("Inside an inactive location");
    en.assert_contains("Freezer");
}

#[actix_web::test]
async fn a_location_cannot_be_placed_inside_itself() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    c.get("/admin/locations").await;
    add(&mut c, "EDA", "Edificio A", "building", "").await;
    let eda = id_of(&app, "EDA");
    add(&mut c, "S2", "Sala 2", "room", eda.as_str()).await;
    let s2 = id_of(&app, "S2");
    add(&mut c, "REF1", "Refrigerador 1", "fridge", s2.as_str()).await;
    let ref1 = id_of(&app, "REF1");

    // Not offered on the edit page...
    let edit = c.get(&format!("/admin/locations/{eda}")).await;
    assert!(!edit.contains(&format!("value=\"{s2}\"")));
    assert!(!edit.contains(&format!("value=\"{ref1}\"")));
    assert!(!edit.contains(&format!("value=\"{eda}\"")));
    // ...and refused when sent all the same.
    for parent in [&ref1, &s2, &eda] {
        let p = change(
            &mut c,
            &eda,
            &[
                ("name", "Edificio A"),
                ("kind", "building"),
                ("parent_id", parent.as_str()),
                ("active", "on"),
            ],
        )
        .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST, "{parent}");
        p.assert_contains("no puede quedar dentro de sí misma");
    }
    let still = storage::find(&mut app.db.conn(), &eda).unwrap().unwrap();
    assert_eq!(still.parent_id, None);
    // Moving down a branch that does not contain it is fine.
    change(
        &mut c,
        &ref1,
        &[
            ("name", "Refrigerador 1"),
            ("kind", "fridge"),
            ("parent_id", eda.as_str()),
            ("active", "on"),
        ],
    )
    .await
    .assert_redirect("/admin/locations");
}

#[actix_web::test]
async fn a_duplicate_code_is_refused_and_the_input_kept() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    c.get("/admin/locations").await;
    add(&mut c, "CF-01", "Caja fuerte de evidencias", "safe", "")
        .await
        .assert_redirect("/admin/locations");
    let dup = add(&mut c, "cf-01", "Otra caja fuerte", "safe", "").await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    dup.assert_contains("Ya existe una ubicación con ese código.");
    dup.assert_contains("id=\"e-code\"");
    dup.assert_contains("value=\"cf-01\"");
    dup.assert_contains("value=\"Otra caja fuerte\"");
    dup.assert_contains("<option value=\"safe\" selected>");
    assert_eq!(storage::list(&mut app.db.conn()).unwrap().len(), 1);
}

#[actix_web::test]
async fn other_roles_are_refused() {
    let app = TestApp::with_admin();
    let id = {
        let admin = lims::user::find_by_username(&mut app.db.conn(), ADMIN.0)
            .unwrap()
            .unwrap();
        let input = storage::NewLocationInput {
            code: "EDA".into(),
            name: "Edificio A".into(),
            kind: "building".into(),
            parent_id: String::new(),
        };
        storage::create(&mut app.db.conn(), &admin.actor(None), &input)
            .unwrap()
            .id
    };
    for (name, role) in [
        ("tec", Role::Technician),
        ("sup", Role::Supervisor),
        ("ofi", Role::Enforcement),
    ] {
        app.create_user(name, role, "role-password-1");
        let mut c = app.client().await;
        c.login(name, "role-password-1").await.assert_redirect("/");
        let home = c.get("/").await;
        assert!(
            !home.contains("href=\"/admin/locations\""),
            "{name} sees the menu"
        );
        for path in [
            "/admin/locations".to_string(),
            format!("/admin/locations/{id}"),
        ] {
            let p = c.get(&path).await;
            assert_eq!(p.status, StatusCode::FORBIDDEN, "{name} {path}");
            p.assert_contains("Solo un administrador puede modificar los catálogos");
        }
        let p = add(&mut c, "SNEAKY", "Sneaky", "room", "").await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
        let p = change(
            &mut c,
            &id,
            &[("name", "Hacked"), ("kind", "room"), ("active", "on")],
        )
        .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
    }
    let list = storage::list(&mut app.db.conn()).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].name, "Edificio A");
}

#[actix_web::test]
async fn every_change_is_audited_with_before_and_after() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    c.get("/admin/locations").await;
    add(&mut c, "EDA", "Edificio A", "building", "").await;
    let eda = id_of(&app, "EDA");
    change(
        &mut c,
        &eda,
        &[("name", "Edificio A (antiguo)"), ("kind", "building")],
    )
    .await;
    // A refused change leaves no trace.
    change(&mut c, &eda, &[("name", ""), ("kind", "building")]).await;

    let (entries, _) = lims::audit::list(
        &mut app.db.conn(),
        &lims::audit::AuditFilter {
            entity: Some("storage_location".into()),
            ..Default::default()
        },
        None,
        50,
    )
    .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["update", "create"], "newest first");
    for e in &entries {
        assert_eq!(e.username.as_deref(), Some(ADMIN.0));
        assert_eq!(e.entity_id.as_deref(), Some(eda.as_str()));
    }
    let create: serde_json::Value =
        serde_json::from_str(entries[1].after_json.as_deref().unwrap()).unwrap();
    assert_eq!(create["code"], "EDA");
    assert_eq!(create["active"], true);
    let before: serde_json::Value =
        serde_json::from_str(entries[0].before_json.as_deref().unwrap()).unwrap();
    let after: serde_json::Value =
        serde_json::from_str(entries[0].after_json.as_deref().unwrap()).unwrap();
    assert_eq!(before["name"], "Edificio A");
    assert_eq!(before["active"], true);
    assert_eq!(after["name"], "Edificio A (antiguo)");
    assert_eq!(after["active"], false);
}
