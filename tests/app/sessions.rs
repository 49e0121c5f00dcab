//! Sessions kept in the database: logout, password changes, deactivation and administrators
//! end them on every instance; the idle timeout is counted there; a replayed cookie of an
//! ended session gets nothing.

use actix_web::http::StatusCode;
use diesel::connection::SimpleConnection;
use lims::user::Role;

use crate::common::{client_of, TestApp, ADMIN};

fn exec(app: &TestApp, sql: &str) {
    app.db.conn().batch_execute(sql).expect(sql);
}

fn open_sessions(app: &TestApp, username: &str) -> Vec<lims::user::session::SessionRow> {
    let mut conn = app.db.conn();
    let user = lims::user::find_by_username(&mut conn, username)
        .unwrap()
        .unwrap();
    lims::user::session::list_open(&mut conn, &user.id).unwrap()
}

fn user_count(app: &TestApp) -> i64 {
    lims::user::count(&mut app.db.conn()).unwrap()
}

/// An admin's form creating an account: the POST a stolen cookie would be used for.
fn new_user_form(username: &str) -> Vec<(&str, &str)> {
    vec![
        ("username", username),
        ("full_name", "Someone New"),
        ("role", "technician"),
        ("password", "a-long-password"),
        ("password_confirm", "a-long-password"),
    ]
}

#[actix_web::test]
async fn a_cookie_replayed_after_logout_gets_nothing() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await.assert_redirect("/");
    c.get("/admin/users/new").await;
    let (stolen_cookies, stolen_csrf) = (c.cookies.clone(), c.csrf.clone());
    c.logout().await.assert_redirect("/login");
    assert!(open_sessions(&app, ADMIN.0).is_empty());

    let mut thief = app.client().await;
    thief.cookies = stolen_cookies.clone();
    thief.get("/account").await.assert_redirect("/login");
    thief.cookies = stolen_cookies;
    thief.csrf = stolen_csrf;
    let before = user_count(&app);
    thief
        .post("/admin/users", &new_user_form("replayed"))
        .await
        .assert_redirect("/login");
    assert_eq!(
        user_count(&app),
        before,
        "the replayed POST created nothing"
    );
}

#[actix_web::test]
async fn every_instance_agrees_which_sessions_are_open() {
    let app = TestApp::with_admin();
    // A second instance: its own pool and state over the same database and cookie key.
    let url = lims::db::DbUrl::parse(&app.db.url).unwrap();
    let other_pool = lims::db::build_pool(&url).unwrap();
    let other = lims::web::AppState::new(other_pool, app.state.config.clone());

    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await.assert_redirect("/");
    c.get("/admin/users/new").await;
    let mut c2 = client_of(other.clone()).await;
    c2.cookies = c.cookies.clone();
    assert_eq!(c2.get("/account").await.status, StatusCode::OK);
    let (cookies, csrf) = (c.cookies.clone(), c.csrf.clone());

    c.logout().await.assert_redirect("/login");
    let mut replay = client_of(other).await;
    replay.cookies = cookies.clone();
    replay.get("/account").await.assert_redirect("/login");
    replay.cookies = cookies;
    replay.csrf = csrf;
    let before = user_count(&app);
    replay
        .post("/admin/users", &new_user_form("second"))
        .await
        .assert_redirect("/login");
    assert_eq!(user_count(&app), before);
}

#[actix_web::test]
async fn the_idle_timeout_is_counted_in_the_database() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await.assert_redirect("/");
    let cookies = c.cookies.clone();

    // Within a minute of the last recorded activity, requests write nothing.
    let seen = open_sessions(&app, ADMIN.0)[0].last_seen_at;
    assert_eq!(c.get("/account").await.status, StatusCode::OK);
    assert_eq!(open_sessions(&app, ADMIN.0)[0].last_seen_at, seen);
    // Later, a request moves the last activity and the expiry forward.
    exec(
        &app,
        "UPDATE sessions SET last_seen_at = '2000-01-01 00:00:00'",
    );
    assert_eq!(c.get("/account").await.status, StatusCode::OK);
    let touched = &open_sessions(&app, ADMIN.0)[0];
    assert!(touched.last_seen_at > seen);
    assert!(touched.idle_expires_at > touched.last_seen_at);

    // The record says the session went idle: the cookie, however fresh, is refused.
    exec(
        &app,
        "UPDATE sessions SET idle_expires_at = '2000-01-01 00:00:00'",
    );
    c.get("/account").await.assert_redirect("/login");
    c.get("/login")
        .await
        .assert_contains("Su sesión terminó por inactividad");
    let mut replay = app.client().await;
    replay.cookies = cookies;
    replay.get("/account").await.assert_redirect("/login");
}

#[actix_web::test]
async fn a_password_change_ends_the_other_sessions() {
    let app = TestApp::with_admin();
    app.create_user("tec1", Role::Technician, "first-password");
    let mut laptop = app.client().await;
    let mut desktop = app.client().await;
    laptop.login("tec1", "first-password").await;
    desktop.login("tec1", "first-password").await;
    assert_eq!(open_sessions(&app, "tec1").len(), 2);
    laptop.get("/account").await;
    let old_laptop_cookies = laptop.cookies.clone();

    laptop
        .post(
            "/account/password",
            &[
                ("current_password", "first-password"),
                ("new_password", "second-password"),
                ("new_password_confirm", "second-password"),
            ],
        )
        .await
        .assert_redirect("/account");
    // The browser that changed it goes on in a new session; every other one has ended.
    assert_eq!(laptop.get("/account").await.status, StatusCode::OK);
    desktop.get("/account").await.assert_redirect("/login");
    desktop
        .get("/login")
        .await
        .assert_contains("Su sesión ya no es válida");
    let mut replay = app.client().await;
    replay.cookies = old_laptop_cookies;
    replay.get("/account").await.assert_redirect("/login");
    assert_eq!(open_sessions(&app, "tec1").len(), 1);
}

#[actix_web::test]
async fn an_admin_sees_a_users_sessions_and_ends_one() {
    let app = TestApp::with_admin();
    let tech = app.create_user("tec2", Role::Technician, "tecnico-password");
    let mut t = app.client().await;
    t.peer = Some("198.51.100.23:50000".parse().unwrap());
    t.headers
        .push(("User-Agent".into(), "Firefox/140 lab-bench-3".into()));
    t.login("tec2", "tecnico-password")
        .await
        .assert_redirect("/");

    let mut admin = app.client().await;
    admin.login(ADMIN.0, ADMIN.1).await;
    let page = admin.get(&format!("/admin/users/{}", tech.id)).await;
    page.assert_contains("Sesiones abiertas");
    page.assert_contains("198.51.100.23");
    page.assert_contains("Firefox/140 lab-bench-3");
    let session = open_sessions(&app, "tec2").remove(0);

    // Only an admin may end it.
    let end = format!("/admin/users/{}/sessions/{}/end", tech.id, session.id);
    t.get("/").await;
    assert_eq!(t.post(&end, &[]).await.status, StatusCode::FORBIDDEN);
    // A session must belong to the account named in the path.
    let admin_user = lims::user::find_by_username(&mut app.db.conn(), ADMIN.0)
        .unwrap()
        .unwrap();
    let wrong = format!("/admin/users/{}/sessions/{}/end", admin_user.id, session.id);
    assert_eq!(admin.post(&wrong, &[]).await.status, StatusCode::NOT_FOUND);

    admin
        .post(&end, &[])
        .await
        .assert_redirect(&format!("/admin/users/{}", tech.id));
    admin
        .get(&format!("/admin/users/{}", tech.id))
        .await
        .assert_contains("No hay sesiones abiertas");
    t.get("/").await.assert_redirect("/login");

    let entries = app.audit_of("session");
    let ended = entries
        .iter()
        .find(|e| e.action == "end_session")
        .expect("audited");
    assert_eq!(ended.entity_id.as_deref(), Some(session.id.as_str()));
    assert_eq!(ended.username.as_deref(), Some(ADMIN.0));
}

#[actix_web::test]
async fn a_reset_or_deactivation_by_an_admin_ends_every_session() {
    let app = TestApp::with_admin();
    let tech = app.create_user("tec3", Role::Technician, "tecnico-password");
    let mut t = app.client().await;
    t.login("tec3", "tecnico-password").await;
    let mut admin = app.client().await;
    admin.login(ADMIN.0, ADMIN.1).await;
    admin.get(&format!("/admin/users/{}", tech.id)).await;
    admin
        .post(
            &format!("/admin/users/{}/password", tech.id),
            &[
                ("new_password", "reset-password-1"),
                ("new_password_confirm", "reset-password-1"),
            ],
        )
        .await
        .assert_redirect(&format!("/admin/users/{}", tech.id));
    t.get("/").await.assert_redirect("/login");

    t.login("tec3", "reset-password-1")
        .await
        .assert_redirect("/");
    admin.get(&format!("/admin/users/{}", tech.id)).await;
    admin
        .post(
            &format!("/admin/users/{}", tech.id),
            &[("full_name", "tec3 Test"), ("role", "technician")],
        )
        .await
        .assert_redirect("/admin/users");
    t.get("/").await.assert_redirect("/login");
    assert!(open_sessions(&app, "tec3").is_empty());
}

#[actix_web::test]
async fn a_database_failure_while_checking_the_session_answers_503_and_keeps_it() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await.assert_redirect("/");
    assert_eq!(c.get("/account").await.status, StatusCode::OK);
    let cookies = c.cookies.clone();

    exec(&app, "ALTER TABLE sessions RENAME TO sessions_away");
    let down = c.get("/account").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    down.assert_contains("La base de datos no responde");
    assert!(
        down.headers.get("set-cookie").is_none(),
        "the cookie is left alone"
    );
    assert_eq!(c.cookies, cookies);

    exec(&app, "ALTER TABLE sessions_away RENAME TO sessions");
    assert_eq!(c.get("/account").await.status, StatusCode::OK);
}
