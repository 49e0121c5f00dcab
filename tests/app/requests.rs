//! Request handling: the client address behind (trusted) proxies, request ids, error pages
//! that keep no secrets and stay out of caches, size limits and lockout headers.

use actix_web::http::StatusCode;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use lims::db::schema::login_attempts;
use lims::user::Role;

use crate::common::{TestApp, ADMIN};

/// The address recorded for the last sign-in: (audit entry, login attempt).
fn recorded_addresses(app: &TestApp) -> (Option<String>, Option<String>) {
    let entries = app.audit_of("session");
    let login = entries.iter().find(|e| e.action == "login").expect("login");
    let attempt: Option<String> = login_attempts::table
        .order(login_attempts::attempted_at.desc())
        .select(login_attempts::remote_addr)
        .first(&mut app.db.conn())
        .unwrap();
    (login.remote_addr.clone(), attempt)
}

fn forwarding(claims: &str) -> Vec<(String, String)> {
    vec![
        ("X-Forwarded-For".into(), claims.into()),
        ("Forwarded".into(), "for=192.0.2.99".into()),
    ]
}

#[actix_web::test]
async fn forwarded_addresses_from_an_untrusted_peer_are_ignored() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.peer = Some("203.0.113.5:41000".parse().unwrap());
    c.headers = forwarding("1.2.3.4");
    c.login(ADMIN.0, ADMIN.1).await.assert_redirect("/");
    let peer = Some("203.0.113.5".to_string());
    assert_eq!(recorded_addresses(&app), (peer.clone(), peer));
}

#[actix_web::test]
async fn a_trusted_proxy_forwards_the_client_address() {
    let app = TestApp::with_config(|c| {
        c.trusted_proxies = lims::config::parse_networks("10.0.0.0/8").unwrap()
    });
    app.create_user(ADMIN.0, Role::Admin, ADMIN.1);
    let mut c = app.client().await;
    c.peer = Some("10.0.0.2:41000".parse().unwrap());
    // The client forged the first hop; the proxies appended the real one and their own.
    c.headers = vec![(
        "X-Forwarded-For".into(),
        "1.2.3.4, 198.51.100.9, 10.0.0.7".into(),
    )];
    c.login(ADMIN.0, ADMIN.1).await.assert_redirect("/");
    let client = Some("198.51.100.9".to_string());
    assert_eq!(recorded_addresses(&app), (client.clone(), client));

    // RFC 7239 `Forwarded` is read too.
    let mut f = app.client().await;
    f.peer = Some("10.0.0.2:41000".parse().unwrap());
    f.headers = vec![("Forwarded".into(), "for=\"[2001:db8::5]:1234\"".into())];
    f.login(ADMIN.0, ADMIN.1).await.assert_redirect("/");
    let client = Some("2001:db8::5".to_string());
    assert_eq!(recorded_addresses(&app), (client.clone(), client));
}

#[actix_web::test]
async fn every_answer_carries_a_request_id_taken_from_trusted_proxies_only() {
    let app = TestApp::with_config(|c| {
        c.trusted_proxies = lims::config::parse_networks("10.0.0.0/8").unwrap()
    });
    app.create_user(ADMIN.0, Role::Admin, ADMIN.1);
    let mut c = app.client().await;
    let id = |p: &crate::common::Page| {
        p.headers
            .get("x-request-id")
            .expect("X-Request-Id")
            .to_str()
            .unwrap()
            .to_string()
    };
    let a = id(&c.get("/login").await);
    let b = id(&c.get("/static/css/lims.css").await);
    assert_eq!(a.len(), 16);
    assert_ne!(a, b);

    c.headers = vec![("X-Request-Id".into(), "lb-7f3a-0001".into())];
    c.peer = Some("203.0.113.5:41000".parse().unwrap());
    assert_ne!(id(&c.get("/login").await), "lb-7f3a-0001");
    c.peer = Some("10.0.0.2:41000".parse().unwrap());
    assert_eq!(id(&c.get("/login").await), "lb-7f3a-0001");
    // Not an id: replaced.
    c.headers = vec![("X-Request-Id".into(), "a b <script>".into())];
    assert_ne!(id(&c.get("/login").await), "a b <script>");
}

#[actix_web::test]
async fn a_server_error_page_gives_the_request_id_to_report() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    app.db
        .conn()
        .batch_execute("ALTER TABLE audit_log RENAME TO audit_log_away")
        .unwrap();
    let page = c.get("/admin/audit").await;
    assert_eq!(page.status, StatusCode::INTERNAL_SERVER_ERROR);
    let id = page.headers.get("x-request-id").unwrap().to_str().unwrap();
    page.assert_contains("dé esta referencia a su administrador");
    page.assert_contains(&format!("<code>{id}</code>"));
    assert_eq!(page.headers.get("cache-control").unwrap(), "no-store");
}

#[actix_web::test]
async fn error_pages_and_redirects_are_not_cached_and_hold_no_secrets() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    let redirect = c.get("/").await;
    redirect.assert_redirect("/login");
    assert_eq!(redirect.headers.get("cache-control").unwrap(), "no-store");
    let login = c.login(ADMIN.0, ADMIN.1).await;
    login.assert_redirect("/");
    assert_eq!(login.headers.get("cache-control").unwrap(), "no-store");

    let admin_name = "admin Test";
    assert!(c.get("/").await.contains(admin_name));
    for (path, status) in [
        ("/no/such/page", StatusCode::NOT_FOUND),
        ("/admin/users/not-a-uuid", StatusCode::NOT_FOUND),
    ] {
        let p = c.get(path).await;
        assert_eq!(p.status, status);
        assert_eq!(p.headers.get("cache-control").unwrap(), "no-store");
        assert!(!p.contains(admin_name), "{path} shows the user");
        assert!(!p.contains("csrf_token"), "{path} carries a CSRF token");
    }
    // A refusal too.
    app.create_user("ofi9", Role::Enforcement, "enforcement-pw");
    let mut o = app.client().await;
    o.login("ofi9", "enforcement-pw").await;
    let refused = o.get("/admin/users").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.contains("ofi9 Test"));
    assert!(!refused.contains("csrf_token"));
    assert_eq!(refused.headers.get("cache-control").unwrap(), "no-store");
}

#[actix_web::test]
async fn an_oversize_form_answers_413_with_a_readable_page() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    c.login(ADMIN.0, ADMIN.1).await;
    c.get("/admin/users/new").await;
    let huge = "x".repeat(300 * 1024);
    let p = c
        .post(
            "/admin/users",
            &[("username", "big"), ("full_name", huge.as_str())],
        )
        .await;
    assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE);
    p.assert_contains("Demasiados datos");
    p.assert_contains("acorte el texto");
    c.accept_language = "en".into();
    c.post("/language", &[("lang", "en"), ("next", "/")]).await;
    let p = c.post("/login", &[("password", huge.as_str())]).await;
    assert_eq!(p.status, StatusCode::PAYLOAD_TOO_LARGE);
    p.assert_contains("Too much data");
}

#[actix_web::test]
async fn the_lockout_says_when_to_retry() {
    let app = TestApp::with_admin();
    app.create_user("super2", Role::Supervisor, "supervisor-password");
    let mut c = app.client().await;
    for _ in 0..4 {
        c.login("super2", "wrong-password-x").await;
    }
    let locked = c.login("super2", "wrong-password-x").await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    let seconds: i64 = locked
        .headers
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((890..=900).contains(&seconds), "{seconds}");
    let again = c.login("super2", "supervisor-password").await;
    assert!(again.headers.get("retry-after").is_some());
}

/// Counts how often the pool hands out a connection.
#[derive(Debug, Clone, Default)]
struct Checkouts(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Checkouts {
    fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl r2d2::HandleEvent for Checkouts {
    fn handle_checkout(&self, _: r2d2::event::CheckoutEvent) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[actix_web::test]
async fn a_request_takes_one_connection_from_the_pool() {
    let app = TestApp::with_admin();
    app.create_user("tecnico", Role::Technician, "lab-password-1");
    let checkouts = Checkouts::default();
    let pool = r2d2::Pool::builder()
        .max_size(4)
        .event_handler(Box::new(checkouts.clone()))
        .build(lims::db::ConnManager::new(
            lims::db::DbUrl::parse(&app.db.url).unwrap(),
        ))
        .unwrap();
    let state = lims::web::AppState::new(pool, crate::common::test_config(&app.db));
    let mut c = crate::common::client_of(state).await;
    c.login("tecnico", "lab-password-1").await;
    let before = checkouts.count();
    // The session check, the list query and the office filter all run on one connection.
    let page = c.get("/samples").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        checkouts.count() - before,
        1,
        "connections checked out for one page"
    );
}
