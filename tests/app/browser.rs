//! A real browser (Debian's chromium through chromedriver) walks through first-run setup,
//! sign-in and the language switch, saving a screenshot of every page under
//! `target/browser-screenshots/`. Ignored unless asked for: `cargo test --test app browser -- --ignored`.

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
fn start_server(app: &crate::common::TestApp) -> String {
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

    /// Clicks the form's main button (the primary one when the form has several).
    async fn submit(&mut self, form_css: &str) {
        let button = match self
            .client
            .find(Locator::Css(&format!("{form_css} button.primary")))
            .await
        {
            Ok(b) => b,
            Err(_) => self
                .client
                .find(Locator::Css(&format!("{form_css} button[type='submit']")))
                .await
                .unwrap(),
        };
        button.click().await.unwrap();
    }

    /// The page text; empty while a navigation replaces the page under our feet.
    async fn text(&mut self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
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

/// The app on a real port and a headless Chromium (Spanish first) driving it; screenshots are
/// numbered from `first_shot`. Keep the driver alive for the test's length.
async fn open_walk(app: &crate::common::TestApp, height: u32, first_shot: usize) -> (Walk, Driver) {
    let base = start_server(app);
    let (driver, port) = start_driver();
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-dev-shm-usage", format!("--window-size=1280,{height}"), "--lang=es-PE"],
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
    let walk = Walk {
        client,
        base,
        shots,
        n: first_shot,
    };
    (walk, driver)
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn setup_login_and_language_switch_in_a_real_browser() {
    let app = crate::common::TestApp::new();
    let (mut w, _driver) = open_walk(&app, 900, 0).await;

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

/// Selects an option of a `<select>` by its value.
async fn choose(w: &mut Walk, name: &str, value: &str) {
    w.client
        .find(Locator::Css(&format!(
            "select[name='{name}'] option[value='{value}']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn click(w: &mut Walk, css: &str) {
    w.client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn sign_in(w: &mut Walk, username: &str, password: &str) {
    w.go("/login").await;
    w.fill("username", username).await;
    w.fill("password", password).await;
    w.submit("form[action='/login']").await;
    w.wait_path("/").await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn seizure_receipt_labels_and_transfer_in_a_real_browser() {
    use lims::user::Role;
    const PW: &str = "clave de laboratorio";
    let app = crate::common::TestApp::with_admin();
    app.create_user("oficial", Role::Enforcement, PW);
    app.create_user("tecnico", Role::Technician, PW);
    app.create_user("tecnica2", Role::Technician, PW);
    app.create_user("supervisora", Role::Supervisor, PW);
    {
        let mut conn = app.db.conn();
        let admin = lims::user::find_by_username(&mut conn, "admin")
            .unwrap()
            .unwrap();
        lims::storage::create(
            &mut conn,
            &admin.actor(None),
            &lims::storage::NewLocationInput {
                code: "REF-1".into(),
                name: "Refrigerador 1".into(),
                kind: "fridge".into(),
                parent_id: String::new(),
            },
        )
        .unwrap();
    }
    let (mut w, _driver) = open_walk(&app, 1000, 20).await;

    // 1. The officer pre-registers a seizure with two sealed samples.
    sign_in(&mut w, "oficial", PW).await;
    w.go("/seizures/new").await;
    w.wait_text("Registrar incautación").await;
    w.fill("reference", "ACTA-2026-0412").await;
    w.fill(
        "customs_office",
        "Administración de Aduana Frontera Desaguadero",
    )
    .await;
    w.fill("declaration_number", "211-2026-10-004512").await;
    w.fill("place", "Puente internacional, carril de carga")
        .await;
    w.fill(
        "goods_description",
        "Polvo blanco en 12 paquetes ocultos en doble fondo",
    )
    .await;
    w.fill("declared_hs_code", "2939.71").await;
    w.fill("importer", "Altiplano Import Export Ltda.").await;
    choose(&mut w, "origin_country", "BO").await;
    choose(&mut w, "risk_channel", "intelligence").await;
    w.fill("s0_description", "Paquete 1, polvo blanco").await;
    w.fill("s0_quantity", "250,5").await;
    choose(&mut w, "s0_quantity_unit", "g").await;
    w.fill("s0_seal_number", "PR-0001").await;
    choose(&mut w, "s0_priority", "urgent").await;
    w.fill("s1_description", "Paquete 7, polvo blanco").await;
    w.fill("s1_seal_number", "PR-0002").await;
    w.shot("seizure-form").await;
    w.submit("form[action='/seizures']").await;
    let text = w.wait_text("Acta ACTA-2026-0412 registrada").await;
    let year = lims::sample::lab_year(chrono_tz::America::Lima);
    let code = format!("LAB-{year}-000001");
    assert!(text.contains(&code), "{text}");
    w.shot("seizure-page").await;
    w.submit("form[action='/logout']").await;
    w.wait_path("/login").await;

    // 2. The technician scans the first sample at receipt.
    sign_in(&mut w, "tecnico", PW).await;
    w.go("/receive").await;
    w.wait_text("Muestras registradas pendientes").await;
    w.shot("receipt-scan").await;
    let field = w
        .client
        .find(Locator::Css("input[name='code']"))
        .await
        .unwrap();
    field.send_keys(&format!("{code}\u{E007}")).await.unwrap();
    w.wait_text("Precinto registrado en el acta").await;
    w.fill("seal_number", "PR-0001").await;
    click(&mut w, "input[name='seal_intact'][value='yes']").await;
    click(&mut w, "input[name='quantity_sufficient'][value='yes']").await;
    w.fill("quantity", "250,5").await;
    let fridge = w
        .client
        .find(Locator::Css(
            "select[name='storage_location_id'] option:nth-child(2)",
        ))
        .await
        .unwrap();
    fridge.click().await.unwrap();
    w.shot("receipt-form").await;
    w.submit("form[action$='/receive']").await;
    w.wait_text(&format!("Muestra {code} recibida")).await;
    let sample_path = w.path().await;

    // 3. Labels for the sample.
    w.go(&format!("{sample_path}/labels")).await;
    w.wait_text(&code).await;
    let svgs = w.client.find_all(Locator::Css("svg")).await.unwrap();
    assert!(svgs.len() >= 2, "barcode and QR drawn");
    w.shot("labels").await;

    // 4. Transfer to a colleague, who confirms with her password.
    w.go(&format!("{sample_path}/custody?kind=handed_over"))
        .await;
    w.wait_text("Contraseña de quien recibe").await;
    choose(&mut w, "to_username", "tecnica2").await;
    w.fill("to_password", "no es su clave").await;
    w.fill("reason", "Para análisis por GC-MS").await;
    w.submit("form[action$='/custody']").await;
    w.wait_text("La contraseña de quien recibe no es correcta")
        .await;
    w.shot("transfer-wrong-password").await;
    w.fill("to_password", PW).await;
    w.submit("form[action$='/custody']").await;
    w.wait_text("Evento registrado").await;

    // 5. The sample page shows the whole timeline, intact.
    let text = w.wait_text("Entregada a otra persona").await;
    for step in [
        "Recolectada",
        "Precintada",
        "Recibida en el laboratorio",
        "Almacenada",
        "Cadena íntegra",
    ] {
        assert!(text.contains(step), "{step} missing:\n{text}");
    }
    w.shot("sample-timeline-es").await;
    w.submit("form.langswitch").await;
    w.wait_text("Chain of custody").await;
    w.shot("sample-timeline-en").await;
    w.submit("form.langswitch").await;
    w.wait_text("Cadena de custodia").await;

    // 6. The other pages of this slice, as a user sees them.
    for (path, expect, name) in [
        ("/samples", code.as_str(), "samples-list"),
        ("/seizures", "ACTA-2026-0412", "seizures-list"),
        ("/search?q=LAB", "Búsqueda", "search-results"),
        (
            &format!("{sample_path}/custody?kind=stored") as &str,
            "Ubicación",
            "event-stored",
        ),
        (
            &format!("{sample_path}/custody?kind=destroyed"),
            "Testigo",
            "event-destroyed",
        ),
        (
            &format!("{sample_path}/subsamples"),
            "Contramuestra",
            "subsample-form",
        ),
    ] {
        w.go(path).await;
        w.wait_text(expect).await;
        w.shot(name).await;
    }
    w.submit("form[action='/logout']").await;
    w.wait_path("/login").await;
    sign_in(&mut w, "supervisora", PW).await;
    w.go("/custody/verify").await;
    // The verification runs in the background; the page reloads itself until it is done.
    w.submit("form[action='/custody/verify']").await;
    w.wait_text("Todas las cadenas de custodia están íntegras")
        .await;
    w.shot("verify").await;
    w.submit("form[action='/logout']").await;
    w.wait_path("/login").await;
    sign_in(&mut w, "admin", "admin-password-1").await;
    w.go("/admin/locations").await;
    w.wait_text("REF-1").await;
    w.shot("locations").await;
    w.client.close().await.unwrap();
}
