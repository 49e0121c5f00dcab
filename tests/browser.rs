//! A real browser (Debian's chromium through chromedriver) walks through first-run setup,
//! sign-in and the language switch, saving a screenshot of every page under
//! `target/browser-screenshots/`. Runs when LIMS_BROWSER_TESTS=1.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_driver() -> (Driver, u16) {
    let port = free_port();
    let driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver)"),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (driver, port);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("chromedriver did not start");
}

/// The app on a real port, in its own thread and actix system.
fn start_server(app: &common::TestApp) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let state = app.state.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            lims::web::run(listener, state).unwrap().await.unwrap();
        })
    });
    format!("http://{addr}")
}

struct Walk {
    client: Client,
    base: String,
    shots: PathBuf,
    n: usize,
}

impl Walk {
    async fn go(&mut self, path: &str) {
        self.client
            .goto(&format!("{}{}", self.base, path))
            .await
            .unwrap();
    }

    async fn shot(&mut self, name: &str) {
        self.n += 1;
        let png = self.client.screenshot().await.unwrap();
        let file = self.shots.join(format!("{:02}-{name}.png", self.n));
        std::fs::write(&file, png).unwrap();
        println!("screenshot {}", file.display());
    }

    async fn fill(&mut self, name: &str, value: &str) {
        let field = self
            .client
            .find(Locator::Css(&format!("[name='{name}']")))
            .await
            .unwrap();
        field.clear().await.unwrap();
        field.send_keys(value).await.unwrap();
    }

    async fn submit(&mut self, form_css: &str) {
        self.client
            .find(Locator::Css(&format!("{form_css} button[type='submit']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn text(&mut self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn path(&mut self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Waits (up to 10 s) for the page after a click to arrive at `path`.
    async fn wait_path(&mut self, path: &str) {
        for _ in 0..100 {
            if self.path().await == path {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never reached {path}, still at {}", self.path().await);
    }

    /// Waits (up to 10 s) for `needle` on the page and returns the page text.
    async fn wait_text(&mut self, needle: &str) -> String {
        let mut text = String::new();
        for _ in 0..100 {
            text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{needle:?} never appeared; page text:\n{text}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn setup_login_and_language_switch_in_a_real_browser() {
    if std::env::var("LIMS_BROWSER_TESTS").as_deref() != Ok("1") {
        println!(
            "browser test skipped: set LIMS_BROWSER_TESTS=1 (needs chromium and chromium-driver)"
        );
        return;
    }
    let app = common::TestApp::new();
    let base = start_server(&app);
    let (_driver, port) = start_driver();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-dev-shm-usage", "--window-size=1280,900", "--lang=es-PE"],
            "prefs": { "intl.accept_languages": "es-PE,es" }
        }
    });
    let client = ClientBuilder::native()
        .capabilities(caps.as_object().unwrap().clone())
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("webdriver session");
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let mut w = Walk {
        client,
        base,
        shots,
        n: 0,
    };

    // First run: any page leads to setup, in Spanish from the browser's language.
    w.go("/").await;
    w.wait_path("/setup").await;
    w.wait_text("Configuración inicial").await;
    w.shot("setup").await;
    // A too-short password comes back with the message beside the field and the name kept.
    w.fill("full_name", "Carmen Huamán").await;
    w.fill("username", "chuaman").await;
    w.fill("password", "corta").await;
    w.fill("password_confirm", "corta").await;
    w.submit("form[action='/setup']").await;
    w.wait_text("al menos 10 caracteres").await;
    w.shot("setup-errors").await;
    w.fill("password", "clave de prueba larga").await;
    w.fill("password_confirm", "clave de prueba larga").await;
    w.submit("form[action='/setup']").await;
    w.wait_path("/").await;
    w.wait_text("Bienvenido/a, Carmen Huamán").await;
    w.shot("home-es").await;

    // Sign out and in again.
    w.submit("form[action='/logout']").await;
    w.wait_path("/login").await;
    w.wait_text("Ha cerrado la sesión").await;
    w.fill("username", "chuaman").await;
    w.fill("password", "wrong password").await;
    w.submit("form[action='/login']").await;
    w.wait_text("Usuario o contraseña incorrectos").await;
    w.shot("login-wrong").await;
    w.fill("password", "clave de prueba larga").await;
    w.submit("form[action='/login']").await;
    w.wait_path("/").await;

    // Switch to English: the whole page follows.
    w.submit("form.langswitch").await;
    let text = w.wait_text("Welcome, Carmen Huamán").await;
    assert!(text.contains("Sign out"));
    w.shot("home-en").await;
    for (path, expect, name) in [
        ("/admin/users", "New user", "users-en"),
        ("/admin/users/new", "Create user", "user-new-en"),
        ("/admin/audit", "Audit trail", "audit-en"),
        ("/account", "Change password", "account-en"),
        ("/nowhere", "Page not found", "404-en"),
    ] {
        w.go(path).await;
        w.wait_text(expect).await;
        w.shot(name).await;
    }
    // And back to Spanish.
    w.go("/account").await;
    w.submit("form.langswitch").await;
    let text = w.wait_text("Mi cuenta").await;
    assert!(text.contains("Cambiar contraseña"), "{text}");
    w.shot("account-es").await;
    w.go("/admin/audit").await;
    w.wait_text("Registro de auditoría").await;
    w.shot("audit-es").await;
    w.client.close().await.unwrap();
}
