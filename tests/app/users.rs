//! User administration, own account, role refusals and the audit trail page.

use crate::common::{TestApp, ADMIN};
use actix_web::http::StatusCode;
use lims::user::Role;

#[actix_web::test]
async fn admin_creates_changes_deactivates_and_resets_users() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    c.get("/admin/users").await.assert_contains("Usuarios");
    c.get("/admin/users/new").await;

    // Invalid: every problem beside its field, typed values kept.
    let bad = c
        .post(
            "/admin/users",
            &[
                ("full_name", ""),
                ("username", "jp rojas"),
                ("email", "jp@aduana"),
                ("role", "overlord"),
                ("password", "una clave larga"),
                ("password_confirm", "otra clave larga"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    for field in ["full_name", "username", "email", "role", "password_confirm"] {
        bad.assert_contains(&format!("id=\"e-{field}\""));
    }
    bad.assert_contains("value=\"jp rojas\"");
    bad.assert_contains("value=\"jp@aduana\"");

    let ok = c
        .post(
            "/admin/users",
            &[
                ("full_name", "Juan Pablo Rojas"),
                ("username", "jprojas"),
                ("email", "jprojas@aduana.gob.bo"),
                ("role", "technician"),
                ("password", "una clave larga"),
                ("password_confirm", "una clave larga"),
            ],
        )
        .await;
    ok.assert_redirect("/admin/users");
    let list = c.get("/admin/users").await;
    list.assert_contains("Usuario jprojas creado");
    list.assert_contains("Juan Pablo Rojas");

    // Same user name again is refused beside the field.
    c.get("/admin/users/new").await;
    let dup = c
        .post(
            "/admin/users",
            &[
                ("full_name", "Otro"),
                ("username", "JPRojas"),
                ("role", "technician"),
                ("password", "una clave larga"),
                ("password_confirm", "una clave larga"),
            ],
        )
        .await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    dup.assert_contains("Ese nombre de usuario ya existe");

    let user = lims::user::find_by_username(&mut app.db.conn(), "jprojas")
        .unwrap()
        .unwrap();
    let edit_path = format!("/admin/users/{}", user.id);
    c.get(&edit_path).await.assert_contains("Juan Pablo Rojas");
    c.post(
        &edit_path,
        &[
            ("full_name", "Juan Pablo Rojas Mamani"),
            ("email", ""),
            ("role", "supervisor"),
            ("active", "on"),
        ],
    )
    .await
    .assert_redirect("/admin/users");
    let changed = lims::user::find(&mut app.db.conn(), &user.id).unwrap();
    assert_eq!(changed.role, Role::Supervisor);
    assert_eq!(changed.full_name, "Juan Pablo Rojas Mamani");
    assert_eq!(changed.email, None);

    // The new supervisor can sign in; a reset ends their session and changes the password.
    let mut other = app.client().await;
    other
        .login("jprojas", "una clave larga")
        .await
        .assert_redirect("/");
    assert_eq!(other.get("/").await.status, StatusCode::OK);
    c.get(&edit_path).await;
    let short = c
        .post(
            &format!("{edit_path}/password"),
            &[("new_password", "corta"), ("new_password_confirm", "corta")],
        )
        .await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    short.assert_contains("id=\"e-new_password\"");
    // Pause so the password stamp (seconds) differs from the one the session holds.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    c.post(
        &format!("{edit_path}/password"),
        &[
            ("new_password", "clave restablecida"),
            ("new_password_confirm", "clave restablecida"),
        ],
    )
    .await
    .assert_redirect(&edit_path);
    other.get("/").await.assert_redirect("/login");
    let refused = other.login("jprojas", "una clave larga").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    other
        .login("jprojas", "clave restablecida")
        .await
        .assert_redirect("/");

    // Deactivation ends the session at the next request.
    c.get(&edit_path).await;
    c.post(
        &edit_path,
        &[
            ("full_name", "Juan Pablo Rojas Mamani"),
            ("role", "supervisor"),
        ],
    )
    .await
    .assert_redirect("/admin/users");
    other.get("/").await.assert_redirect("/login");
    c.get("/admin/users").await.assert_contains("Desactivado");
}

#[actix_web::test]
async fn admin_cannot_lock_themselves_out() {
    let app = TestApp::with_admin();
    let me = lims::user::find_by_username(&mut app.db.conn(), ADMIN.0)
        .unwrap()
        .unwrap();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    let path = format!("/admin/users/{}", me.id);
    c.get(&path).await;
    let p = c
        .post(&path, &[("full_name", "Admin"), ("role", "technician")])
        .await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.assert_contains("No puede quitarse a sí mismo el rol de administrador");
    p.assert_contains("No puede desactivar su propia cuenta");
    let still = lims::user::find(&mut app.db.conn(), &me.id).unwrap();
    assert_eq!(still.role, Role::Admin);
    assert!(still.active);
}

#[actix_web::test]
async fn other_roles_are_refused_administration_with_a_reason() {
    let app = TestApp::with_admin();
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
            !home.contains("href=\"/admin/users\""),
            "{name} sees the users menu"
        );
        for path in ["/admin/users", "/admin/users/new", "/admin/audit"] {
            let p = c.get(path).await;
            assert_eq!(p.status, StatusCode::FORBIDDEN, "{name} {path}");
            p.assert_contains("Solo un administrador");
        }
        let p = c
            .post(
                "/admin/users",
                &[
                    ("full_name", "X"),
                    ("username", "sneaky"),
                    ("role", "admin"),
                    ("password", "sneaky-password"),
                    ("password_confirm", "sneaky-password"),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::FORBIDDEN);
    }
    assert!(lims::user::find_by_username(&mut app.db.conn(), "sneaky")
        .unwrap()
        .is_none());
}

#[actix_web::test]
async fn users_change_their_own_password() {
    let app = TestApp::with_admin();
    app.create_user("ofi1", Role::Enforcement, "first-password");
    let mut c = app.client().await;
    c.login("ofi1", "first-password").await;
    c.get("/account")
        .await
        .assert_contains("Oficial de aduanas");
    let wrong = c
        .post(
            "/account/password",
            &[
                ("current_password", "not-my-password"),
                ("new_password", "second-password"),
                ("new_password_confirm", "second-password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    wrong.assert_contains("La contraseña actual no es correcta");
    c.post(
        "/account/password",
        &[
            ("current_password", "first-password"),
            ("new_password", "second-password"),
            ("new_password_confirm", "second-password"),
        ],
    )
    .await
    .assert_redirect("/account");
    // This session goes on; the new password is the one that works.
    c.get("/account")
        .await
        .assert_contains("Contraseña cambiada");
    c.logout().await;
    assert_eq!(
        c.login("ofi1", "first-password").await.status,
        StatusCode::UNAUTHORIZED
    );
    c.login("ofi1", "second-password")
        .await
        .assert_redirect("/");
}

#[actix_web::test]
async fn every_change_is_in_the_audit_trail_with_before_and_after() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    c.get("/admin/users/new").await;
    c.post(
        "/admin/users",
        &[
            ("full_name", "Rosa Mamani"),
            ("username", "rmamani"),
            ("role", "enforcement"),
            ("password", "rosa-password"),
            ("password_confirm", "rosa-password"),
        ],
    )
    .await
    .assert_redirect("/admin/users");
    let rosa = lims::user::find_by_username(&mut app.db.conn(), "rmamani")
        .unwrap()
        .unwrap();
    c.get(&format!("/admin/users/{}", rosa.id)).await;
    c.post(
        &format!("/admin/users/{}", rosa.id),
        &[
            ("full_name", "Rosa Mamani"),
            ("role", "technician"),
            ("active", "on"),
        ],
    )
    .await;

    let mut conn = app.db.conn();
    let (entries, _) = lims::audit::list(
        &mut conn,
        &lims::audit::AuditFilter {
            entity: Some("user".into()),
            ..Default::default()
        },
        None,
        50,
    )
    .unwrap();
    let update = entries.iter().find(|e| e.action == "update").unwrap();
    assert_eq!(update.username.as_deref(), Some("admin"));
    assert!(update
        .before_json
        .as_ref()
        .unwrap()
        .contains("\"role\":\"enforcement\""));
    assert!(update
        .after_json
        .as_ref()
        .unwrap()
        .contains("\"role\":\"technician\""));
    let create = entries.iter().find(|e| e.action == "create").unwrap();
    assert!(
        !create.after_json.as_ref().unwrap().contains("argon2"),
        "no hashes in the log"
    );

    // The page lists it, filtered by user and entity, newest first.
    let admin = lims::user::find_by_username(&mut conn, ADMIN.0)
        .unwrap()
        .unwrap();
    let page = c
        .get(&format!("/admin/audit?user={}&entity=user", admin.id))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let update_at = page
        .body
        .find("<span title=\"update\">")
        .expect("update listed");
    let create_at = page
        .body
        .find("<span title=\"create\">")
        .expect("create listed");
    assert!(update_at < create_at, "newest first");
    assert!(
        !page.contains("<span title=\"login\">"),
        "entity filter applies"
    );

    let bad = c.get("/admin/audit?from=2026-13-45").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    bad.assert_contains("value=\"2026-13-45\"");
    bad.assert_contains("Escriba una fecha válida");
}

#[actix_web::test]
async fn audit_pages_through_many_entries() {
    let app = TestApp::with_admin();
    let admin = lims::user::find_by_username(&mut app.db.conn(), ADMIN.0)
        .unwrap()
        .unwrap();
    {
        let mut conn = app.db.conn();
        let actor = admin.actor(None);
        lims::db::write_tx(&mut conn, |conn| {
            for i in 0..120 {
                lims::audit::record(
                    conn,
                    &actor,
                    "test_event",
                    "probe",
                    Some(&format!("probe-{i:03}")),
                    None::<&()>,
                    None::<&()>,
                )?;
            }
            Ok::<_, diesel::result::Error>(())
        })
        .unwrap();
    }
    let mut conn = app.db.conn();
    let filter = lims::audit::AuditFilter {
        entity: Some("probe".into()),
        ..Default::default()
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let (rows, next) = lims::audit::list(&mut conn, &filter, cursor.as_ref(), 50).unwrap();
        seen.extend(rows.into_iter().map(|r| r.entity_id.unwrap()));
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 120);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 120, "no entry twice");
    assert_eq!(
        seen.first().map(String::as_str),
        Some("probe-119"),
        "newest first"
    );

    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    let first = c.get("/admin/audit?entity=probe").await;
    first.assert_contains("Más antiguos");
    let start = first.body.find("href=\"/admin/audit?user=").unwrap() + 6;
    let end = first.body[start..].find('"').unwrap() + start;
    let next_url = first.body[start..end].replace("&#38;", "&");
    let second = c.get(&next_url).await;
    assert_eq!(second.status, StatusCode::OK);
    second.assert_contains("probe-069");
    assert!(!second.contains("probe-070"));
}
