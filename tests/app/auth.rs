//! First-run setup, sign-in and sign-out, throttling, CSRF, sessions, language, headers.

use crate::common::{TestApp, ADMIN};
use actix_web::http::StatusCode;
use lims::user::Role;

#[actix_web::test]
async fn first_run_leads_every_page_to_setup_then_creates_admin() {
    let app = TestApp::new();
    let mut c = app.client().await;
    c.get("/").await.assert_redirect("/setup");
    c.get("/admin/users").await.assert_redirect("/setup");
    c.get("/login").await.assert_redirect("/setup");
    let setup = c.get("/setup").await;
    assert_eq!(setup.status, StatusCode::OK);
    setup.assert_contains("Configuración inicial");

    // Bad input: kept values, messages beside the fields, nothing created.
    let bad = c
        .post(
            "/setup",
            &[
                ("full_name", "Ana Quispe"),
                ("username", "a"),
                ("email", "not-an-email"),
                ("password", "short"),
                ("password_confirm", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    bad.assert_contains("value=\"Ana Quispe\"");
    bad.assert_contains("value=\"not-an-email\"");
    bad.assert_contains("id=\"e-username\"");
    bad.assert_contains("id=\"e-email\"");
    bad.assert_contains("al menos 10 caracteres");
    assert_eq!(lims::user::count(&mut app.db.conn()).unwrap(), 0);

    let ok = c
        .post(
            "/setup",
            &[
                ("full_name", "Ana Quispe"),
                ("username", "AQuispe"),
                ("email", "aquispe@aduana.gob.pe"),
                ("password", "una frase larga"),
                ("password_confirm", "una frase larga"),
            ],
        )
        .await;
    ok.assert_redirect("/");
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    home.assert_contains("Bienvenido/a, Ana Quispe");
    home.assert_contains("Administrador creado");
    let admin = lims::user::find_by_username(&mut app.db.conn(), "aquispe")
        .unwrap()
        .expect("admin stored with a lower-case user name");
    assert_eq!(admin.role, Role::Admin);
    assert!(admin.password_hash.starts_with("$argon2id$"));

    // Setup is closed for good once an account exists.
    let mut other = app.client().await;
    other.get("/setup").await.assert_redirect("/login");
    let again = other.post_raw("/setup", &[("username", "mallory")]).await;
    assert_ne!(again.status, StatusCode::OK);
    assert_eq!(lims::user::count(&mut app.db.conn()).unwrap(), 1);
}

#[actix_web::test]
async fn login_logout_and_wrong_password() {
    let app = TestApp::with_admin();
    app.create_user("tecnico1", Role::Technician, "tecnico-password");
    let mut c = app.client().await;
    c.get("/").await.assert_redirect("/login");

    let wrong = c.login("tecnico1", "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    wrong.assert_contains("Usuario o contraseña incorrectos");
    wrong.assert_contains("value=\"tecnico1\"");
    let unknown = c.login("nobody", "whatever-password").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    unknown.assert_contains("Usuario o contraseña incorrectos");
    let empty = c
        .post("/login", &[("username", ""), ("password", "")])
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    empty.assert_contains("id=\"e-username\"");

    c.login("tecnico1", "tecnico-password")
        .await
        .assert_redirect("/");
    let home = c.get("/").await;
    home.assert_contains("Técnico de laboratorio");
    c.get("/login").await.assert_redirect("/");

    c.logout().await.assert_redirect("/login");
    c.get("/login")
        .await
        .assert_contains("Ha cerrado la sesión");
    c.get("/").await.assert_redirect("/login");

    // A deactivated account cannot sign in, with the same message as a wrong password.
    let mut conn = app.db.conn();
    let admin = lims::user::find_by_username(&mut conn, ADMIN.0)
        .unwrap()
        .unwrap();
    let tech = lims::user::find_by_username(&mut conn, "tecnico1")
        .unwrap()
        .unwrap();
    lims::user::update(
        &mut conn,
        &admin.actor(None),
        &tech.id,
        &lims::user::UserChangeInput {
            full_name: tech.full_name.clone(),
            email: String::new(),
            role: "technician".into(),
            active: None,
        },
    )
    .unwrap();
    let refused = c.login("tecnico1", "tecnico-password").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn five_wrong_passwords_lock_the_account_for_fifteen_minutes() {
    let app = TestApp::with_admin();
    app.create_user("super1", Role::Supervisor, "supervisor-password");
    let mut c = app.client().await;
    for _ in 0..4 {
        let p = c.login("super1", "wrong-password-x").await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    }
    let fifth = c.login("super1", "wrong-password-x").await;
    assert_eq!(fifth.status, StatusCode::TOO_MANY_REQUESTS);
    fifth.assert_contains("Demasiados intentos fallidos");
    fifth.assert_contains("15 minuto(s)");
    // Even the right password is refused while locked.
    let right = c.login("super1", "supervisor-password").await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    // Other accounts are not affected.
    c.login(ADMIN.0, ADMIN.1).await.assert_redirect("/");
    // The lock and the failures are in the audit log.
    let mut conn = app.db.conn();
    let (entries, _) = lims::audit::list(
        &mut conn,
        &lims::audit::AuditFilter {
            entity: Some("session".into()),
            ..Default::default()
        },
        None,
        100,
    )
    .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"login_locked"), "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "login_failed").count(), 4);
}

#[actix_web::test]
async fn forms_without_the_session_csrf_token_are_refused() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.get("/login").await;
    let no_token = c
        .post_raw("/login", &[("username", ADMIN.0), ("password", ADMIN.1)])
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    no_token.assert_contains("El formulario caducó");
    let forged = c
        .post_raw(
            "/login",
            &[
                ("csrf_token", "forged-token"),
                ("username", ADMIN.0),
                ("password", ADMIN.1),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    c.login(ADMIN.0, ADMIN.1).await.assert_redirect("/");
    let create = c
        .post_raw(
            "/admin/users",
            &[
                ("username", "intruder"),
                ("full_name", "Intruder"),
                ("role", "admin"),
                ("password", "intruder-password"),
                ("password_confirm", "intruder-password"),
            ],
        )
        .await;
    assert_eq!(create.status, StatusCode::FORBIDDEN);
    assert!(lims::user::find_by_username(&mut app.db.conn(), "intruder")
        .unwrap()
        .is_none());
}

#[actix_web::test]
async fn a_post_from_another_origin_is_refused() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    c.get("/admin/users/new").await;
    // A signed-in session and a valid token: only the Origin check can refuse this.
    let token = c.csrf.clone();
    let form = |name: &'static str| {
        [
            ("csrf_token", token.clone()),
            ("username", name.to_string()),
            ("full_name", "Nueva Persona".to_string()),
            ("role", "technician".to_string()),
            ("password", "una-clave-larga".to_string()),
            ("password_confirm", "una-clave-larga".to_string()),
        ]
    };
    let foreign = form("forastero");
    let refused = c
        .post_with_headers(
            "/admin/users",
            &borrowed(&foreign),
            &[("Origin", "https://evil.example")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        lims::user::find_by_username(&mut app.db.conn(), "forastero")
            .unwrap()
            .is_none()
    );
    // The very same form from the app's own origin goes through.
    let own = form("vecina");
    let accepted = c
        .post_with_headers(
            "/admin/users",
            &borrowed(&own),
            &[("Origin", "http://localhost:8080")],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    assert!(lims::user::find_by_username(&mut app.db.conn(), "vecina")
        .unwrap()
        .is_some());
}

#[actix_web::test]
async fn sessions_end_after_the_idle_time() {
    let app = TestApp::with_config(|c| c.session_idle = std::time::Duration::from_secs(1));
    app.create_user(ADMIN.0, Role::Admin, ADMIN.1);
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await.assert_redirect("/");
    assert_eq!(c.get("/").await.status, StatusCode::OK);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    c.get("/").await.assert_redirect("/login");
    c.get("/login")
        .await
        .assert_contains("Su sesión terminó por inactividad");
}

#[actix_web::test]
async fn language_from_browser_then_user_choice() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.accept_language = "en-US,en;q=0.9".into();
    c.get("/login")
        .await
        .assert_contains("Sign in with your laboratory user name");
    c.accept_language = "fr".into();
    c.get("/login")
        .await
        .assert_contains("Ingrese con su usuario");

    // Anonymous choice is kept in the session.
    c.post("/language", &[("lang", "en"), ("next", "/login")])
        .await
        .assert_redirect("/login");
    c.get("/login").await.assert_contains("<html lang=\"en\">");

    // A signed-in user's choice is stored on the account and beats the browser.
    c.login(ADMIN.0, ADMIN.1).await;
    // Signing in rotates the CSRF token: the next page carries the new one.
    c.get("/account").await.assert_contains("My account");
    c.post("/language", &[("lang", "es"), ("next", "/account")])
        .await
        .assert_redirect("/account");
    c.accept_language = "en".into();
    c.get("/account").await.assert_contains("Mi cuenta");
    let admin = lims::user::find_by_username(&mut app.db.conn(), ADMIN.0)
        .unwrap()
        .unwrap();
    assert_eq!(admin.language.as_deref(), Some("es"));
    // An open redirect through `next` is not possible.
    c.post("/language", &[("lang", "en"), ("next", "//evil.example/x")])
        .await
        .assert_redirect("/");
    c.post(
        "/language",
        &[("lang", "en"), ("next", "/\\evil.example/x")],
    )
    .await
    .assert_redirect("/");
    c.get("/").await.assert_contains("Welcome");
}

#[actix_web::test]
async fn every_response_carries_security_headers() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    for path in ["/login", "/static/css/lims.css", "/no-such-page"] {
        let p = c.get(path).await;
        let csp = p
            .headers
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(p.headers.get("x-content-type-options").unwrap(), "nosniff");
        assert_eq!(p.headers.get("referrer-policy").unwrap(), "no-referrer");
    }
    c.login(ADMIN.0, ADMIN.1).await;
    let page = c.get("/").await;
    assert_eq!(page.headers.get("cache-control").unwrap(), "no-store");
    let cookie = page
        .headers
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
}

#[actix_web::test]
async fn unknown_pages_get_a_localized_404() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    let p = c.get("/no/such/page").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    p.assert_contains("Página no encontrada");
    // Error pages are rendered without the signed-in user (see the requests tests).
    assert!(!p.contains("Cerrar sesión"));
    c.accept_language = "en".into();
    c.post("/language", &[("lang", "en"), ("next", "/")]).await;
    let p = c.get("/admin/users/not-a-uuid").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    p.assert_contains("Page not found");
}

#[actix_web::test]
async fn healthz_reports_database_state() {
    let app = TestApp::new();
    let mut c = app.client().await;
    let ok = c.get("/healthz").await;
    assert_eq!(ok.status, StatusCode::OK);
    ok.assert_contains("\"status\":\"ok\"");
}

#[actix_web::test]
async fn healthz_answers_503_when_the_database_is_unreachable() {
    let app = TestApp::new();
    let mut config = crate::common::test_config(&app.db);
    // Nothing listens on port 1: every checkout fails.
    let url = lims::db::DbUrl::parse("postgres://postgres@127.0.0.1:1/none").unwrap();
    let pool = r2d2::Pool::builder()
        .connection_timeout(std::time::Duration::from_secs(1))
        .build_unchecked(lims::db::ConnManager::new(url));
    config.database_url = "postgres://postgres@127.0.0.1:1/none".into();
    let state = lims::web::AppState::new(pool, config);
    let service = actix_web::test::init_service(lims::web::build_app(state)).await;
    let res = actix_web::test::call_service(
        &service,
        actix_web::test::TestRequest::get()
            .uri("/healthz")
            .to_request(),
    )
    .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = actix_web::test::read_body(res).await;
    assert!(String::from_utf8_lossy(&body).contains("unreachable"));
}

/// A form of owned values as the `(name, value)` pairs the client posts.
fn borrowed<'a, const N: usize>(
    form: &'a [(&'static str, String); N],
) -> [(&'static str, &'a str); N] {
    form.each_ref().map(|(k, v)| (*k, v.as_str()))
}

/// Guesses sent at once all count: each attempt is recorded under the account's lock before
/// its password is checked (off the connection), so no more than the allowed number of
/// passwords is ever tried, however many arrive together.
#[test]
fn simultaneous_guesses_cannot_exceed_the_limit() {
    use lims::auth::{self, LoginOutcome, LoginStart};
    let app = TestApp::with_admin();
    app.create_user("target", Role::Technician, "the-real-password");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(10));
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let pool = app.db.pool.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let pending =
                    match auth::begin_login(&mut pool.get().unwrap(), "target", None).unwrap() {
                        LoginStart::Locked { .. } => return false,
                        LoginStart::Check(p) => p,
                    };
                let checked = pending.check("a-wrong-guess");
                let outcome = auth::finish_login(
                    &mut pool.get().unwrap(),
                    checked,
                    &Default::default(),
                    std::time::Duration::from_secs(60),
                )
                .unwrap();
                assert!(!matches!(outcome, LoginOutcome::Success(..)));
                true
            })
        })
        .collect();
    let checked = threads
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|tried| *tried)
        .count() as i64;
    assert_eq!(checked, lims::user::throttle::MAX_FAILURES);
    let mut c = app.db.conn();
    assert!(lims::user::throttle::locked_until(&mut c, "target")
        .unwrap()
        .is_some());
}
