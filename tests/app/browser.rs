//! A real browser (Debian's chromium through chromedriver) walks through first-run setup,
//! sign-in and the language switch, the desk (1366×900) and the border post (a phone, 390 and
//! 360 px wide), saving a screenshot of every page under `target/browser-screenshots/`. On every
//! page it visits, axe-core (npm, installed by `.ci/run` into `target/axe/`) looks for
//! accessibility problems, and on the phone the page must not be wider than the screen.
//! Ignored unless asked for: `cargo test --test app browser -- --ignored`.

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

/// axe-core's browser bundle, as `.ci/run` installs it (`npm install --prefix target/axe axe-core@4`).
fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; install it with `npm install --prefix target/axe axe-core@4`",
            path.display()
        )
    })
}

/// Runs axe-core on the page and answers how many rules passed and the violations, each as
/// `[impact, "id: help — nodes"]`. Injected through WebDriver: the Content-Security-Policy
/// refuses inline scripts.
const AXE_RUN: &str = r#"
var done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ["violations"] }).then(function (r) {
  done([r.passes.length, r.violations.map(function (v) {
    return [v.impact || "", v.id + ": " + v.help + " — " + v.nodes.slice(0, 4).map(function (n) {
      return n.target.join(" ");
    }).join(" | ")];
  })]);
}, function (e) { done([0, [["critical", "axe failed: " + e]]]); });
"#;

/// A DevTools command through chromedriver (`goog/cdp/execute`): WebDriver screenshots stop at
/// the window, and a phone page is longer than the screen.
#[derive(Debug)]
struct Cdp(serde_json::Value);

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

/// Widths a phone page must fit without scrolling sideways.
const PHONE_WIDTHS: [u32; 2] = [360, 390];
const PHONE_HEIGHT: u32 = 844;

struct Walk {
    client: Client,
    base: String,
    shots: PathBuf,
    n: usize,
    axe: String,
    /// Phone walk: every page is also measured at 360 and 390 px, and shot whole.
    phone: bool,
    /// Problems found on the pages visited, reported together at the end of the walk.
    problems: Vec<String>,
    pages_checked: usize,
}

impl Walk {
    async fn go(&mut self, path: &str) {
        self.client
            .goto(&format!("{}{}", self.base, path))
            .await
            .unwrap();
    }

    /// Checks the page (axe-core; on the phone, no sideways overflow at 360 and 390 px) and
    /// saves a screenshot of it (on the phone, of the whole page).
    async fn shot(&mut self, name: &str) {
        self.check(name).await;
        self.n += 1;
        let png = if self.phone {
            let shot = self
                .client
                .issue_cmd(Cdp(serde_json::json!({
                    "cmd": "Page.captureScreenshot",
                    "params": { "format": "png", "captureBeyondViewport": true }
                })))
                .await
                .unwrap();
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(shot["data"].as_str().unwrap())
                .unwrap()
        } else {
            self.client.screenshot().await.unwrap()
        };
        let file = self.shots.join(format!("{:02}-{name}.png", self.n));
        std::fs::write(&file, png).unwrap();
        println!("screenshot {}", file.display());
    }

    async fn check(&mut self, name: &str) {
        self.pages_checked += 1;
        let loaded = self
            .client
            .execute("return typeof axe !== 'undefined';", vec![])
            .await
            .unwrap();
        if loaded != serde_json::Value::Bool(true) {
            self.client.execute(&self.axe, vec![]).await.unwrap();
        }
        let found = self.client.execute_async(AXE_RUN, vec![]).await.unwrap();
        let passed = found[0].as_u64().unwrap_or(0);
        let violations = found[1].as_array().cloned().unwrap_or_default();
        println!(
            "axe {name}: {passed} rules passed, {} violated",
            violations.len()
        );
        assert!(passed > 10, "axe ran on {name}");
        for v in violations {
            let (impact, what) = (v[0].as_str().unwrap_or(""), v[1].as_str().unwrap_or(""));
            println!("axe {name}: {impact} {what}");
            if matches!(impact, "serious" | "critical") {
                self.problems.push(format!("{name}: axe {impact} {what}"));
            }
        }
        self.check_search_placeholder(name).await;
        if self.phone {
            for width in PHONE_WIDTHS {
                self.client
                    .set_window_size(width, PHONE_HEIGHT)
                    .await
                    .unwrap();
                // The page takes the new width after a moment.
                for _ in 0..50 {
                    if self.js("return window.innerWidth;").await.as_u64() == Some(width.into()) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                let sizes = self
                    .client
                    .execute(
                        "var d = document.documentElement; return [d.scrollWidth, window.innerWidth, d.clientWidth];",
                        vec![],
                    )
                    .await
                    .unwrap();
                let [scroll, inner, client] = [0, 1, 2].map(|i| sizes[i].as_u64().unwrap());
                assert_eq!(
                    (inner, client),
                    (width.into(), width.into()),
                    "the page has the whole window"
                );
                if scroll > inner {
                    self.problems
                        .push(format!("{name}: {scroll} px wide on a {inner} px screen"));
                }
            }
            self.client
                .set_window_size(390, PHONE_HEIGHT)
                .await
                .unwrap();
        }
    }

    /// The top bar's search box shows its whole placeholder (the hint of what it finds).
    async fn check_search_placeholder(&mut self, name: &str) {
        let fits = self
            .js(r#"
                var q = document.querySelector("header #q");
                if (!q) return true;
                var style = getComputedStyle(q), canvas = document.createElement("canvas").getContext("2d");
                canvas.font = style.font;
                var room = q.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
                return canvas.measureText(q.placeholder).width <= room;
            "#)
            .await;
        if fits != serde_json::Value::Bool(true) {
            self.problems
                .push(format!("{name}: the search placeholder is cut"));
        }
    }

    /// Ends the walk: every problem found on the way, printed, fails it.
    async fn finish(self) {
        println!("{} pages checked", self.pages_checked);
        self.client.close().await.unwrap();
        assert!(
            self.problems.is_empty(),
            "problems found:\n{}",
            self.problems.join("\n")
        );
    }

    /// Runs `script` (a function body) in the page and answers its result.
    async fn js(&mut self, script: &str) -> serde_json::Value {
        self.client.execute(script, vec![]).await.unwrap()
    }

    /// The `id` of the element that has the focus.
    async fn focused_id(&mut self) -> String {
        self.js("return document.activeElement ? document.activeElement.id : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The error summary has the focus, and its link to field `id` puts the focus there.
    async fn summary_leads_to(&mut self, id: &str) {
        assert_eq!(self.focused_id().await, "error-summary");
        self.client
            .find(Locator::Css(&format!("#error-summary a[href='#{id}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(self.focused_id().await, id);
    }

    /// Types `text` into the field named `name`, then Enter (a scanner's, or a phone's Go key).
    async fn type_enter(&mut self, name: &str, text: &str) {
        let field = self
            .client
            .find(Locator::Css(&format!("[name='{name}']")))
            .await
            .unwrap();
        field.clear().await.unwrap();
        field.send_keys(&format!("{text}\u{E007}")).await.unwrap();
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

    /// Clicks the form's main button (the primary one when the form has several); of forms
    /// shown twice (the top bar's, wide and folded), the one on screen.
    async fn submit(&mut self, form_css: &str) {
        for css in [
            format!("{form_css} button.primary"),
            format!("{form_css} button[type='submit']"),
        ] {
            for button in self.client.find_all(Locator::Css(&css)).await.unwrap() {
                if button.is_displayed().await.unwrap() {
                    button.click().await.unwrap();
                    return;
                }
            }
        }
        panic!("no button on screen in {form_css}");
    }

    /// Switches the language from the top bar (on a page with a form, through its guard).
    async fn switch_language(&mut self) {
        match self
            .client
            .find(Locator::Css("form.langswitch details.lang-guard > summary"))
            .await
        {
            Ok(summary) => summary.click().await.unwrap(),
            Err(_) => self.submit("form.langswitch").await,
        }
    }

    /// Opens the folded optional parts of the form, to fill them in.
    async fn unfold(&mut self) {
        self.js(
            "document.querySelectorAll('details.more').forEach(function (d) { d.open = true; });",
        )
        .await;
    }

    /// Presses Tab once, as a keyboard user would.
    async fn tab(&mut self) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let keys = KeyActions::new("keyboard".to_string())
            .then(KeyAction::Down { value: '\u{E004}' })
            .then(KeyAction::Up { value: '\u{E004}' });
        self.client.perform_actions(keys).await.unwrap();
    }

    /// The text of the top bar's entry marked as the current area.
    async fn current_area(&mut self) -> String {
        self.js("var a = document.querySelector('.mainnav a[aria-current]'); return a ? a.textContent.trim() : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
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
async fn open_walk(
    app: &crate::common::TestApp,
    (width, height): (u32, u32),
    first_shot: usize,
    phone: bool,
) -> (Walk, Driver) {
    let base = start_server(app);
    let (driver, port) = start_driver();
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-background-networking".into(),
        "--disable-dev-shm-usage".into(),
        format!("--window-size={width},{height}"),
        "--lang=es-PE".into(),
    ];
    if phone {
        // Phones overlay their scroll bars: the page has the whole width.
        args.push("--hide-scrollbars".into());
    }
    let caps = serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": args,
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
        axe: axe_source(),
        phone,
        problems: Vec::new(),
        pages_checked: 0,
    };
    (walk, driver)
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn setup_login_and_language_switch_in_a_real_browser() {
    let app = crate::common::TestApp::new();
    let (mut w, _driver) = open_walk(&app, (1366, 900), 0, false).await;

    // First run: any page leads to setup, in Spanish from the browser's language.
    w.go("/").await;
    w.wait_path("/setup").await;
    w.wait_text("Configuración inicial").await;
    // The first tab stop is the skip link, and it leads to the content.
    w.tab().await;
    let first = w
        .js("return document.activeElement.className + ' ' + document.activeElement.getAttribute('href');")
        .await;
    assert_eq!(first.as_str(), Some("skip-link #main"));
    w.shot("setup").await;
    // A too-short password comes back with the message beside the field and the name kept.
    w.fill("full_name", "Carmen Huamán").await;
    w.fill("username", "chuaman").await;
    w.fill("password", "corta").await;
    w.fill("password_confirm", "corta").await;
    w.submit("form[action='/setup']").await;
    w.wait_text("al menos 10 caracteres").await;
    w.summary_leads_to("f-password").await;
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
    w.switch_language().await;
    let text = w.wait_text("Welcome, Carmen Huamán").await;
    assert!(text.contains("Sign out"));
    // The admin's start page leads to every admin area, storage locations included.
    for href in ["/admin/users", "/admin/locations", "/admin/audit"] {
        let css = format!("main a.tile[href='{href}']");
        assert!(w.client.find(Locator::Css(&css)).await.is_ok(), "{css}");
    }
    w.shot("home-en").await;
    // A new user gets no role unless the admin picks one.
    w.go("/admin/users/new").await;
    w.wait_text("Create user").await;
    let role = w
        .js("return document.querySelector('select[name=role]').value;")
        .await;
    assert_eq!(role.as_str(), Some(""));
    w.fill("full_name", "Rosa Quispe").await;
    w.type_enter("username", "rquispe").await;
    w.wait_text("Please correct the marked fields").await;
    assert_eq!(w.focused_id().await, "error-summary");
    let text = w.text().await;
    assert!(text.contains("Role: "), "{text}");
    w.shot("user-new-errors-en").await;
    for (path, expect, name) in [
        ("/admin/users", "New user", "users-en"),
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
    w.switch_language().await;
    let text = w.wait_text("Mi cuenta").await;
    assert!(text.contains("Cambiar contraseña"), "{text}");
    w.shot("account-es").await;
    w.go("/admin/audit").await;
    w.wait_text("Registro de auditoría").await;
    w.shot("audit-es").await;
    w.finish().await;
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

/// Chooses a new file named `name` in the page's attachment form and sends it.
async fn attach(w: &mut Walk, app: &crate::common::TestApp, name: &str) {
    let file = app.db.data_dir().join(name);
    std::fs::write(&file, b"%PDF-1.4 certificate of calibration").unwrap();
    w.client
        .find(Locator::Css("input[type=file][name=file]"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    w.submit("form[enctype='multipart/form-data']").await;
}

async fn sign_in(w: &mut Walk, username: &str, password: &str) {
    w.go("/login").await;
    w.fill("username", username).await;
    w.fill("password", password).await;
    w.submit("form[action='/login']").await;
    w.wait_path("/").await;
}

/// Every count on the home page equals the total of the list it links to ("1–50 de 91");
/// answers the counts, by link.
async fn home_counts_match_lists(w: &mut Walk, role: &str) -> Vec<(String, u64)> {
    w.go("/").await;
    w.wait_text("Bienvenido/a").await;
    let cards = w
        .js("return Array.from(document.querySelectorAll('a.count-card')).map(a => [a.getAttribute('href'), a.querySelector('strong').textContent.trim()]);")
        .await;
    let counts: Vec<(String, u64)> = cards
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c[0].as_str().unwrap().to_string(),
                c[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    assert!(!counts.is_empty(), "{role}: counts on the home page");
    for (href, n) in &counts {
        if !(href.starts_with("/samples") || href.starts_with("/seizures")) {
            continue;
        }
        w.go(href).await;
        let total = w
            .js("var p = document.querySelector('.pagehead .position'); return p ? p.textContent.trim().split(' ').pop() : '0';")
            .await;
        assert_eq!(
            total.as_str(),
            Some(n.to_string().as_str()),
            "{role}: {href}"
        );
    }
    counts
}

/// The supervisor's top bar fits one line at the desk width.
async fn topbar_is_one_line(w: &mut Walk) -> bool {
    w.js("var b = document.querySelector('header.topbar'), kids = Array.from(b.children).filter(k => k.offsetParent !== null); var tops = kids.map(k => k.getBoundingClientRect().top); return Math.max(...tops) - Math.min(...tops) < 20 && b.getBoundingClientRect().height < 70;")
        .await
        == serde_json::Value::Bool(true)
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn home_counts_and_lists_per_role_at_the_desk_and_on_a_phone() {
    use lims::user::Role;
    const PW: &str = "clave de laboratorio";
    let app = crate::common::TestApp::with_admin();
    let officer = app.create_user("oficial", Role::Enforcement, PW);
    let tech = app.create_user("tecnico", Role::Technician, PW);
    app.create_user("super", Role::Supervisor, PW);
    let rows: Vec<lims::sample::SampleInput> = (1..=60)
        .map(|n| lims::sample::SampleInput {
            description: format!("Bolsa {n}, polvo blanco en paquete rectangular"),
            quantity: "250".into(),
            quantity_unit: "g".into(),
            seal_number: format!("PR-{:05}", 63000 + n),
            priority: if n % 4 == 0 { "urgent" } else { "routine" }.into(),
            due_date: format!("2026-{:02}-15", n % 12 + 1),
            ..Default::default()
        })
        .collect();
    let mut samples = app.register_rows(&officer, "ACTA-2026-0901", &rows[..40]);
    samples.extend(app.register_rows(&officer, "ACTA-2026-0902", &rows[40..]));
    for s in &samples[..12] {
        lims::sample::receipt::receive(
            &mut app.db.conn(),
            &tech.handler(None),
            &s.id,
            &lims::sample::receipt::ReceiptInput {
                seal_number: s.seal_number.clone().unwrap(),
                seal_intact: if s.lab_code.ends_with('5') {
                    "no"
                } else {
                    "yes"
                }
                .into(),
                quantity_sufficient: "yes".into(),
                delivered_by: "Of. Pedro Ramírez".into(),
                decision: "accept".into(),
                notes: "Revisado".into(),
                ..Default::default()
            },
            chrono_tz::America::Lima,
        )
        .expect("receive");
    }
    for (size, first_shot, phone) in [((1366, 900), 120, false), ((390, 844), 140, true)] {
        let (mut w, _driver) = open_walk(&app, size, first_shot, phone).await;
        let tag = if phone { "phone" } else { "desk" };
        for user in ["tecnico", "super", "oficial"] {
            sign_in(&mut w, user, PW).await;
            let counts = home_counts_match_lists(&mut w, user).await;
            println!("{tag} {user} home counts: {counts:?}");
            w.go("/").await;
            w.wait_text("Bienvenido/a").await;
            w.shot(&format!("home-{user}-{tag}")).await;
            if user == "super" && !phone {
                assert!(
                    topbar_is_one_line(&mut w).await,
                    "supervisor's top bar on one line"
                );
            }
            if user == "tecnico" {
                w.go("/samples").await;
                w.wait_text("1–50 de 60").await;
                w.shot(&format!("samples-{tag}")).await;
                if phone {
                    // The first screen as the phone shows it, beside the whole page.
                    let png = w.client.screenshot().await.unwrap();
                    std::fs::write(w.shots.join("samples-phone-first-screen.png"), png).unwrap();
                }
                w.go("/samples?sort=priority&q=pr-63").await;
                w.wait_text("de 60").await;
                w.shot(&format!("samples-sorted-{tag}")).await;
                w.go("/seizures").await;
                w.wait_text("1–2 de 2").await;
                w.check("seizures").await;
            }
            w.client.delete_all_cookies().await.unwrap();
        }
        if !phone {
            // Rows that fit: at the desk, many sample rows on one screen.
            sign_in(&mut w, "tecnico", PW).await;
            w.go("/samples").await;
            let rows = w
                .js("return Array.from(document.querySelectorAll('table tbody tr')).filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length;")
                .await;
            println!("sample rows visible at 1366x900: {rows}");
            assert!(rows.as_u64().unwrap() >= 12, "{rows} rows on a desk screen");
        }
        w.finish().await;
    }
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
    let (mut w, _driver) = open_walk(&app, (1366, 900), 20, false).await;

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
    w.unfold().await;
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
    // The seal first: its Enter compares it with the seizure's and asks the rest.
    assert_eq!(w.focused_id().await, "f-seal_number");
    w.shot("receipt-seal-step").await;
    w.type_enter("seal_number", "PR-0001").await;
    w.wait_text("coincide con el del acta").await;
    let sample_path = w.path().await.trim_end_matches("/receive").to_string();
    click(&mut w, "input[name='seal_intact'][value='yes']").await;
    click(&mut w, "input[name='quantity_sufficient'][value='yes']").await;
    let fridge = w
        .client
        .find(Locator::Css(
            "select[name='storage_location_id'] option:nth-child(2)",
        ))
        .await
        .unwrap();
    fridge.click().await.unwrap();
    // A sample's receipt belongs to reception, not to the sample list.
    assert_eq!(w.current_area().await, "Recepción");
    w.shot("receipt-form").await;
    w.submit("form[action$='/receive']").await;
    w.wait_text(&format!("Muestra {code} recibida")).await;
    assert_eq!(w.path().await, "/receive");

    // 3. Labels for the sample.
    w.go(&format!("{sample_path}/labels")).await;
    w.wait_text(&code).await;
    let svgs = w.client.find_all(Locator::Css("svg")).await.unwrap();
    assert!(svgs.len() >= 2, "barcode and QR drawn");
    w.shot("labels").await;

    // The forms of the holder's next events.
    for (path, expect, name) in [
        (
            format!("{sample_path}/custody?kind=stored"),
            "Guarda la muestra",
            "event-stored",
        ),
        (
            format!("{sample_path}/custody?kind=destroyed"),
            "Testigo",
            "event-destroyed",
        ),
        (
            format!("{sample_path}/subsamples"),
            "Contramuestra",
            "subsample-form",
        ),
    ] {
        w.go(&path).await;
        w.wait_text(expect).await;
        w.shot(name).await;
    }

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
    w.wait_text("Bajo custodia de").await;
    // Having handed it over, the technician can no longer record its events.
    w.go(&format!("{sample_path}/custody?kind=stored")).await;
    w.wait_text("Solo quien tiene la muestra bajo su custodia")
        .await;
    w.shot("event-not-the-holder").await;
    w.go(&sample_path).await;

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
    w.switch_language().await;
    w.wait_text("Chain of custody").await;
    w.shot("sample-timeline-en").await;
    w.switch_language().await;
    w.wait_text("Cadena de custodia").await;

    // 6. The other pages of this slice, as a user sees them.
    for (path, expect, name) in [
        ("/samples", code.as_str(), "samples-list"),
        ("/seizures", "ACTA-2026-0412", "seizures-list"),
        ("/search?q=LAB", "Búsqueda", "search-results"),
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
    // The supervisor's top bar, the longest, stays on one line at 1366 px.
    let bar = w
        .js("return document.querySelector('.topbar').getBoundingClientRect().height;")
        .await;
    assert!(bar.as_f64().unwrap() < 64.0, "top bar {bar} px high");
    let nav = w
        .js("var n = document.querySelector('.mainnav.wide-only'); return [n.scrollWidth, n.clientWidth];")
        .await;
    assert!(
        nav[0].as_f64() <= nav[1].as_f64(),
        "every entry of the bar is on screen: {nav}"
    );
    w.shot("verify").await;
    w.submit("form[action='/logout']").await;
    w.wait_path("/login").await;
    sign_in(&mut w, "admin", "admin-password-1").await;
    w.go("/admin/locations").await;
    w.wait_text("REF-1").await;
    w.shot("locations").await;
    w.finish().await;
}

/// Keys as WebDriver names them.
const ENTER: char = '\u{E007}';
const TAB: char = '\u{E004}';
const SPACE: char = '\u{E00D}';
const RIGHT: char = '\u{E014}';

/// What receiving bags took: pages loaded, characters and Enters a wedge scanner typed, and
/// keys a person pressed.
#[derive(Default, Debug)]
struct Effort {
    page_loads: usize,
    scanner_keys: usize,
    human_keys: usize,
}

/// Presses `keys` one after the other on whatever has the focus, as a keyboard (or a wedge
/// scanner, which is one) does.
async fn keys(w: &mut Walk, keys: &str) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut actions = KeyActions::new("keyboard".to_string());
    for k in keys.chars() {
        actions = actions
            .then(KeyAction::Down { value: k })
            .then(KeyAction::Up { value: k });
    }
    w.client.perform_actions(actions).await.unwrap();
}

/// Old-flow figures for ten bags, measured with the same walk (wedge scanner, keyboard only)
/// against the code this work started from (commit 643275d) in a scratch worktree: after the
/// scan nothing had the focus (Tab to the seal field), the scanner's Enter after the seal sent
/// the half-filled form (an error page per bag, then the error summary's link to the seal
/// question), and each receipt ended on the sample page, from which the person went back to
/// the scan box through the top bar. The received quantity was left empty there (typing it
/// would have cost more).
const BEFORE_TEN_BAGS: Effort = Effort {
    page_loads: 40,
    scanner_keys: 240,
    human_keys: 308,
};

#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn reception_desk_receives_ten_bags_with_a_wedge_scanner() {
    use lims::user::Role;
    const PW: &str = "clave de laboratorio";
    let app = crate::common::TestApp::with_admin();
    let officer = app.create_user("oficial", Role::Enforcement, PW);
    app.create_user("tecnico", Role::Technician, PW);
    let tz = chrono_tz::America::Lima;
    let bags: Vec<(String, String, String)> = {
        let rows: Vec<lims::sample::SampleInput> = (1..=10)
            .map(|n| lims::sample::SampleInput {
                description: format!("Bolsa {n}, polvo blanco"),
                quantity: "250".into(),
                quantity_unit: "g".into(),
                seal_number: format!("PR-{:04}", 1000 + n),
                priority: "routine".into(),
                ..Default::default()
            })
            .collect();
        let registered = lims::seizure::register(
            &mut app.db.conn(),
            &officer.handler(None),
            &lims::seizure::SeizureInput {
                reference: "ACTA-2026-0777".into(),
                customs_office: "Intendencia de Aduana de Tacna".into(),
                seized_at: "2026-03-01T10:30".into(),
                place: "Complejo fronterizo Santa Rosa".into(),
                seizing_officer: "Of. Pedro Ramírez".into(),
                goods_description: "Diez bolsas de polvo blanco".into(),
                risk_channel: "red".into(),
                ..Default::default()
            },
            &rows,
            true,
            tz,
        )
        .expect("register ten bags");
        registered
            .samples
            .iter()
            .map(|s| {
                (
                    s.id.to_string(),
                    s.lab_code.clone(),
                    s.seal_number.clone().unwrap(),
                )
            })
            .collect()
    };
    // The seventh bag arrives with its seal cut.
    const BROKEN: usize = 6;
    let (mut w, _driver) = open_walk(&app, (1366, 900), 70, false).await;
    sign_in(&mut w, "tecnico", PW).await;
    w.go("/receive").await;
    w.wait_text("Muestras registradas pendientes").await;
    let mut effort = Effort::default();
    for (i, (id, code, seal)) in bags.iter().enumerate() {
        let first = i == 0;
        // The scan box has the focus: the scanner types the lab code, then Enter.
        assert_eq!(w.focused_id().await, "f-code", "bag {}", i + 1);
        keys(&mut w, &format!("{code}{ENTER}")).await;
        effort.scanner_keys += code.len() + 1;
        w.wait_path(&format!("/samples/{id}/receive")).await;
        w.wait_text("Comprobar precinto").await;
        effort.page_loads += 1;
        // The seal field has the focus; the seal and Enter only check the seal.
        assert_eq!(w.focused_id().await, "f-seal_number", "bag {}", i + 1);
        if first {
            w.shot("desk-seal-step").await;
        } else {
            w.check("desk-seal-step").await;
        }
        keys(&mut w, &format!("{seal}{ENTER}")).await;
        effort.scanner_keys += seal.len() + 1;
        w.wait_text("Precinto leído").await;
        effort.page_loads += 1;
        assert_eq!(w.focused_id().await, "f-seal_intact", "bag {}", i + 1);
        let quantity = w
            .js("return document.getElementById('f-quantity').value;")
            .await;
        assert_eq!(quantity.as_str(), Some("250"), "quantity from the record");
        if first || i == BROKEN {
            w.shot(if first {
                "desk-questions"
            } else {
                "desk-questions-broken"
            })
            .await;
        } else {
            w.check("desk-questions").await;
        }
        if i == BROKEN {
            // Seal: the second answer (broken); quantity: yes; then the remark, and Enter on
            // the decision (already "receive") sends it.
            let note = "Precinto cortado";
            keys(&mut w, &format!("{RIGHT}{TAB}{SPACE}{TAB}{TAB}{TAB}{TAB}")).await;
            assert_eq!(w.focused_id().await, "f-notes");
            keys(&mut w, &format!("{note}{TAB}{ENTER}")).await;
            effort.human_keys += 7 + note.chars().count() + 2;
        } else {
            // Seal intact: yes; quantity sufficient: yes; Enter sends it.
            keys(&mut w, &format!("{SPACE}{TAB}{SPACE}{ENTER}")).await;
            effort.human_keys += 4;
        }
        w.wait_path("/receive").await;
        w.wait_text(&format!("Muestra {code} recibida")).await;
        effort.page_loads += 1;
        if first || i == BROKEN {
            w.shot("desk-received").await;
        } else {
            w.check("desk-received").await;
        }
    }
    assert_eq!(w.focused_id().await, "f-code", "ready for the eleventh bag");
    // The start of the next day: the technician's counts lead to lists of as many samples.
    let counts = home_counts_match_lists(&mut w, "tecnico").await;
    assert!(
        counts.contains(&("/samples?held=1".to_string(), 10)),
        "{counts:?}"
    );

    // The broken seal is a warning badge wherever the sample shows.
    let broken = &bags[BROKEN];
    w.go("/samples?exceptions=1").await;
    let text = w.wait_text("Precinto roto").await;
    assert!(text.contains(&broken.1), "{text}");
    assert!(!text.contains(&bags[0].1), "only the exception is listed");
    w.shot("desk-exceptions-list").await;
    w.go(&format!("/samples/{}", broken.0)).await;
    w.wait_text("Precinto roto").await;
    let badge = w
        .js("var b = document.querySelector('h1 .badge.exception'); return b ? b.textContent : '';")
        .await;
    assert!(
        badge.as_str().unwrap_or("").contains("Precinto roto"),
        "{badge}"
    );
    w.shot("desk-sample-exception").await;
    // Scanned again: when, and by whom.
    w.go("/receive").await;
    w.wait_text("Muestras registradas pendientes").await;
    keys(&mut w, &format!("{}{ENTER}", broken.1)).await;
    w.wait_text("ya fue recibida el").await;
    w.wait_text("por tecnico Test").await;
    assert_eq!(w.focused_id().await, "f-code");
    w.shot("desk-already-received").await;

    // A split of the first bag, confirmed on its own page, leaves the balance.
    let (first_id, first_code, _) = &bags[0];
    w.go(&format!("/samples/{first_id}/subsamples")).await;
    w.wait_text("Cantidad restante").await;
    w.type_enter("quantity", "5").await;
    w.wait_text("son permanentes").await;
    w.wait_text("250 g → 245 g").await;
    w.shot("desk-subsample-confirm").await;
    w.submit("form[action$='/subsamples']").await;
    w.wait_text(&format!("Submuestra {first_code}-A creada"))
        .await;
    w.go(&format!("/samples/{first_id}")).await;
    w.wait_text("245 g").await;
    // Its destruction before a witness who confirms with his password.
    w.go(&format!("/samples/{first_id}/custody?kind=destroyed"))
        .await;
    w.wait_text("Testigo de la destrucción").await;
    choose(&mut w, "witness_username", "oficial").await;
    w.fill("reason", "Incineración ordenada por resolución 12-2026")
        .await;
    w.submit("form[action$='/custody']").await;
    w.wait_text("Este evento es definitivo").await;
    assert_eq!(w.focused_id().await, "f-witness_password");
    w.shot("desk-destroy-confirm").await;
    keys(&mut w, &format!("{PW}{ENTER}")).await;
    w.wait_text("Evento registrado: Destruida").await;
    w.wait_text("confirmó con su contraseña").await;
    w.shot("desk-destroyed").await;

    println!(
        "desk, ten bags: before: {} page loads, {} scanner keys, {} keys pressed by a person",
        BEFORE_TEN_BAGS.page_loads, BEFORE_TEN_BAGS.scanner_keys, BEFORE_TEN_BAGS.human_keys
    );
    println!(
        "desk, ten bags: after:  {} page loads, {} scanner keys, {} keys pressed by a person",
        effort.page_loads, effort.scanner_keys, effort.human_keys
    );
    w.finish().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn border_post_on_a_phone_in_a_real_browser() {
    use lims::user::Role;
    const PW: &str = "clave de frontera larga";
    let app = crate::common::TestApp::with_admin();
    app.create_user("oficial", Role::Enforcement, PW);
    let (mut w, _driver) = open_walk(&app, (390, PHONE_HEIGHT), 50, true).await;

    w.go("/login").await;
    w.wait_text("Iniciar sesión").await;
    w.shot("phone-login").await;
    w.fill("username", "oficial").await;
    w.type_enter("password", PW).await;
    w.wait_path("/").await;
    w.wait_text("Bienvenido/a").await;
    w.shot("phone-home").await;
    // The navigation folds behind a menu button; it opens without script.
    click(&mut w, "details.menu > summary").await;
    w.wait_text("Cerrar sesión").await;
    w.shot("phone-menu").await;

    // The seizure form, short: optional facts are folded away.
    w.go("/seizures/new").await;
    w.wait_text("Registrar incautación").await;
    let folded = w
        .js("return document.querySelectorAll('details.more:not([open])').length;")
        .await;
    assert_eq!(
        folded.as_u64(),
        Some(3),
        "seizure details and one per sample row"
    );
    // Required fields are marked (and the marker explained); the acta and DAM fields show
    // the expected format.
    let guidance = w
        .js("return [document.querySelectorAll('label .req').length, \
             document.getElementById('f-reference').getAttribute('aria-required'), \
             document.getElementById('h-reference').textContent, \
             document.getElementById('h-declaration_number').textContent, \
             document.body.textContent.includes('Los campos marcados con * son obligatorios.')];")
        .await;
    assert!(guidance[0].as_u64().unwrap() >= 8, "{guidance}");
    assert_eq!(guidance[1], "true");
    assert!(guidance[2].as_str().unwrap().contains("ACTA-2026-000412"));
    assert!(guidance[3].as_str().unwrap().contains("118-2026-10-012345"));
    assert_eq!(guidance[4], true);
    w.shot("phone-seizure-form-es").await;
    // A DAM that is no DAM, then Enter in the first field with most of the form empty: the
    // problems are listed, with the focus on the list, and each leads to its field.
    click(&mut w, "details.more > summary").await;
    w.fill("declaration_number", "DAM???").await;
    w.type_enter("reference", "ACTA-2026-0520").await;
    w.wait_text("Revise los campos marcados").await;
    w.summary_leads_to("f-place").await;
    // The DAM's message sits beside its field, with the example, the input kept.
    let dam = w
        .js(
            "const f = document.getElementById('f-declaration_number'); \
             const e = document.getElementById('e-declaration_number'); \
             return [f.value, e.textContent, e.parentElement === f.parentElement, \
             f.getAttribute('aria-describedby')];",
        )
        .await;
    assert_eq!(dam[0], "DAM???");
    assert!(
        dam[1]
            .as_str()
            .unwrap()
            .contains("No sigue el formato de esta aduana.")
            && dam[1].as_str().unwrap().contains("118-2026-10-012345"),
        "{dam}"
    );
    assert_eq!(dam[2], true);
    assert!(dam[3].as_str().unwrap().contains("e-declaration_number"));
    w.shot("phone-seizure-errors-es").await;

    // Switching language in the middle of the form keeps what was typed. Without script the
    // switch first warns that the form would be lost (opened here by hand to look at it).
    w.fill("customs_office", "Aduana Desaguadero").await;
    w.js("document.querySelector('details.lang-guard').open = true;")
        .await;
    w.shot("phone-language-warning").await;
    w.js("document.querySelector('details.lang-guard').open = false;")
        .await;
    w.switch_language().await;
    w.wait_text("Register seizure").await;
    assert_eq!(w.path().await, "/seizures/new");
    let kept = w
        .js("return [document.getElementById('f-reference').value, document.getElementById('f-customs_office').value];")
        .await;
    assert_eq!(
        kept,
        serde_json::json!(["ACTA-2026-0520", "Aduana Desaguadero"])
    );
    w.shot("phone-seizure-form-en").await;

    // Two sealed samples, typed on the phone; the Go key registers.
    w.fill("declaration_number", "118-2026-10-012345").await;
    w.fill("place", "Puente internacional, control de salida")
        .await;
    choose(&mut w, "risk_channel", "red").await;
    w.fill("goods_description", "Ocho cajas de cigarrillos sin timbre")
        .await;
    w.fill("s0_description", "Cajetilla de la caja 1").await;
    w.fill("s0_seal_number", "PR-0501").await;
    w.fill("s0_quantity", "20").await;
    choose(&mut w, "s0_quantity_unit", "units").await;
    w.fill("s1_description", "Cajetilla de la caja 5").await;
    w.type_enter("s1_seal_number", "PR-0502").await;
    let text = w.wait_text("Seizure ACTA-2026-0520 registered").await;
    let year = lims::sample::lab_year(chrono_tz::America::Lima);
    for n in 1..=2 {
        let code = format!("LAB-{year}-00000{n}");
        assert!(text.contains(&code), "{code}:\n{text}");
    }
    w.shot("phone-seizure-page-en").await;
    // The confirmation offers the labels, and the officer may print them.
    let seizure_path = w.path().await;
    click(&mut w, ".flash a.button").await;
    w.wait_path(&format!("{seizure_path}/labels")).await;
    let symbols = w
        .js("return document.querySelectorAll('svg').length;")
        .await;
    assert!(
        symbols.as_u64().unwrap() >= 4,
        "two labels, a barcode and a QR each"
    );
    w.shot("phone-labels-en").await;
    w.go(&seizure_path).await;
    w.wait_text("Cajetilla de la caja 5").await;
    w.switch_language().await;
    w.wait_text("Cajetilla de la caja 5").await;
    w.wait_text("Muestras").await;
    w.shot("phone-seizure-page-es").await;

    w.go("/samples").await;
    w.wait_text("Cajetilla de la caja 5").await;
    w.shot("phone-samples").await;
    // The search box of the top bar, typed into and sent with the Go key.
    let search = w.client.find(Locator::Css("header #q")).await.unwrap();
    search.send_keys("LAB\u{E007}").await.unwrap();
    w.wait_path("/search").await;
    w.wait_text("Cajetilla de la caja 1").await;
    w.shot("phone-search").await;
    w.finish().await;
}

/// A lab with the demo's methods, instruments and staff records, and the accounts of the walk.
fn lab_with_records(pw: &str) -> crate::common::TestApp {
    use lims::user::Role;
    let app = crate::common::TestApp::with_admin();
    let chief = app.create_user("supervisora", Role::Supervisor, pw);
    let deputy = app.create_user("supervisor2", Role::Supervisor, pw);
    let techs = [
        app.create_user("tecnico", Role::Technician, pw),
        app.create_user("tecnica2", Role::Technician, pw),
    ];
    let mut conn = app.db.conn();
    let admin = lims::user::find_by_username(&mut conn, "admin")
        .unwrap()
        .unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Lima)
        .date_naive();
    lims::demo_lab::ensure_lab_records(&mut conn, &admin, &[chief, deputy], &techs, today).unwrap();
    drop(conn);
    app
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn lab_records_in_a_real_browser() {
    const PW: &str = "clave de laboratorio";
    let app = lab_with_records(PW);
    let (mut w, _driver) = open_walk(&app, (1366, 900), 70, false).await;

    // The admin keeps the method catalogue: a new method, refused first, then its version 2.
    sign_in(&mut w, "admin", "admin-password-1").await;
    w.go("/lab").await;
    w.wait_text("Los registros técnicos del laboratorio").await;
    w.shot("lab-hub").await;
    w.go("/methods").await;
    w.wait_text("AZU-POL-01").await;
    w.shot("methods-list").await;
    w.go("/methods/new").await;
    w.wait_text("Nuevo método").await;
    w.fill("code", "NIT-KJ-01").await;
    w.fill("name", "Nitrógeno total por Kjeldahl").await;
    w.fill("unit", "%").await;
    w.fill("spec_min", "46").await;
    w.fill("spec_max", "45").await;
    w.submit("form[action='/methods']").await;
    w.wait_text("Revise los campos marcados").await;
    w.summary_leads_to("f-spec_max").await;
    w.shot("method-new-errors").await;
    w.fill("spec_max", "47").await;
    choose(&mut w, "decision_rule", "simple_acceptance").await;
    w.submit("form[action='/methods']").await;
    w.wait_text("Método NIT-KJ-01 creado.").await;
    let method_path = w.path().await;
    w.shot("method-page").await;
    w.go(&format!("{method_path}/edit")).await;
    w.wait_text("Nueva versión de NIT-KJ-01").await;
    w.fill("decimals", "1").await;
    w.fill("change_reason", "Informe con un decimal").await;
    w.shot("method-edit").await;
    w.submit(&format!("form[action='{method_path}/edit']"))
        .await;
    w.wait_text("Versión 2 guardada.").await;
    w.wait_text("Informe con un decimal").await;
    w.shot("method-versions").await;

    // Instruments: the inventory and one instrument's page.
    w.go("/instruments").await;
    w.wait_text("EQ-GCMS-01").await;
    w.shot("instruments-list").await;
    w.go("/instruments/new").await;
    w.wait_text("Nuevo equipo").await;
    w.shot("instrument-new").await;

    // The tariff from the web: a bad file refused with its lines, then a good one.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("arancel-malo.csv");
    std::fs::write(
        &bad,
        "section,hscode,description,parent,level\nI,01,Animales vivos,TOTAL,2\nI,01A1,Caballos,01,4\n",
    )
    .unwrap();
    let good = dir.path().join("nandina.csv");
    std::fs::write(
        &good,
        "section,hscode,description,parent,level\nI,01,Animales vivos,TOTAL,2\nI,0101,\"Caballos, asnos y mulos, vivos\",01,4\nI,010121,Caballos reproductores de raza pura,0101,6\nI,01012100,Reproductores de raza pura,010121,8\n",
    )
    .unwrap();
    w.go("/admin/tariff").await;
    w.wait_text("Nomenclatura arancelaria").await;
    let file = w.client.find(Locator::Css("#f-file")).await.unwrap();
    file.send_keys(bad.to_str().unwrap()).await.unwrap();
    w.submit("form[action='/admin/tariff']").await;
    w.wait_text("Línea 3: el código «01A1»").await;
    w.shot("tariff-refused").await;
    let file = w.client.find(Locator::Css("#f-file")).await.unwrap();
    file.send_keys(good.to_str().unwrap()).await.unwrap();
    w.fill("nomenclature", "NANDINA").await;
    w.submit("form[action='/admin/tariff']").await;
    w.wait_text("nandina.csv importado como NANDINA").await;
    w.shot("tariff-imported").await;
    // A customs office's acta format: an example that does not follow the pattern is refused
    // beside it, then the rule is saved and listed.
    w.go("/admin/offices").await;
    w.wait_text("Aduanas y formatos").await;
    w.fill("name", "Aduana Desaguadero").await;
    w.fill("reference_pattern", "'DSG'-NNNN-NNN").await;
    w.fill("reference_example", "DSG-26-1").await;
    w.submit("form[action='/admin/offices']").await;
    w.wait_text("El ejemplo no sigue el patrón.").await;
    w.shot("office-rule-refused").await;
    w.fill("reference_example", "DSG-2026-001").await;
    w.submit("form[action='/admin/offices']").await;
    w.wait_text("Regla de Aduana Desaguadero guardada.").await;
    w.shot("office-rules").await;
    w.submit("form[action='/logout']").await;
    w.wait_path("/login").await;

    // The supervisor: the count on the start page, the due list, a calibration, personnel.
    sign_in(&mut w, "supervisora", PW).await;
    w.wait_text("equipos con calibración vencida o por vencer en 30 días")
        .await;
    w.shot("home-supervisor").await;
    w.go("/instruments/due").await;
    w.wait_text("EQ-GCMS-01").await;
    w.shot("instruments-due").await;
    click(&mut w, "a[href^='/instruments/'][class='mono']").await;
    w.wait_text("Registros de calibración").await;
    w.shot("instrument-page").await;
    let instrument_path = w.path().await;
    w.go(&format!("{instrument_path}/calibrations")).await;
    w.wait_text("Registrar calibración").await;
    w.fill("performed_by", "INACAL — Laboratorio de Metrología")
        .await;
    w.fill("certificate_number", "LM-2026-0999").await;
    choose(&mut w, "result", "pass").await;
    w.shot("calibration-form").await;
    w.submit("main form").await;
    w.wait_text("registrada").await;
    // Its certificate, attached from the calibration's link.
    w.go(&instrument_path).await;
    click(&mut w, "a[href^='/attachments/calibration/']").await;
    w.wait_text("Archivos adjuntos").await;
    attach(&mut w, &app, "certificado LM-2026-0999.pdf").await;
    w.wait_text("Se adjuntó el archivo certificado LM-2026-0999.pdf")
        .await;
    w.shot("calibration-certificate").await;
    w.go("/personnel").await;
    w.wait_text("GCMS-CS-01").await;
    w.shot("personnel-matrix").await;
    click(&mut w, "th[scope=row] a").await;
    w.wait_text("Autorizaciones por método").await;
    w.shot("person-profile").await;
    let person_path = w.path().await;
    w.go(&format!("{person_path}/authorizations")).await;
    w.wait_text("Otorgar autorización").await;
    w.shot("grant-form").await;
    w.go(&format!("{person_path}/training")).await;
    w.wait_text("Evaluación de competencia").await;
    w.shot("training-form").await;

    // The declared tariff code suggests lines of the imported tariff as it is typed.
    w.go("/seizures/new").await;
    w.wait_text("Registrar incautación").await;
    w.unfold().await;
    let code = w
        .client
        .find(Locator::Css("#f-declared_hs_code"))
        .await
        .unwrap();
    code.send_keys("0101").await.unwrap();
    let mut offered = 0;
    for _ in 0..50 {
        offered = w
            .js("return document.querySelectorAll('#f-declared_hs_code-suggestions option').length;")
            .await
            .as_u64()
            .unwrap_or(0);
        if offered > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(offered, 3, "0101, 010121 and 01012100 offered");
    w.submit("form[action='/logout']").await;
    w.wait_path("/login").await;

    // A technician reads their own record on their account.
    sign_in(&mut w, "tecnico", PW).await;
    w.go("/account").await;
    w.wait_text("Mi capacitación y autorizaciones").await;
    w.shot("account-technician").await;
    w.finish().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn lab_records_on_a_phone_in_a_real_browser() {
    const PW: &str = "clave de laboratorio";
    let app = lab_with_records(PW);
    let (mut w, _driver) = open_walk(&app, (390, PHONE_HEIGHT), 90, true).await;
    w.go("/login").await;
    w.fill("username", "supervisora").await;
    w.type_enter("password", PW).await;
    w.wait_path("/").await;
    w.wait_text("equipos con calibración vencida").await;
    w.shot("phone-home-supervisor").await;
    for (path, expect, name) in [
        ("/lab", "Laboratorio", "phone-lab"),
        ("/methods", "AZU-POL-01", "phone-methods"),
        ("/instruments/due", "EQ-GCMS-01", "phone-instruments-due"),
        ("/personnel", "GCMS-CS-01", "phone-personnel-matrix"),
    ] {
        w.go(path).await;
        w.wait_text(expect).await;
        w.shot(name).await;
    }
    click(&mut w, "th[scope=row] a").await;
    w.wait_text("Autorizaciones por método").await;
    w.shot("phone-person-profile").await;
    w.go("/methods").await;
    click(&mut w, "a.mono[href^='/methods/']").await;
    w.wait_text("Versiones").await;
    w.shot("phone-method-page").await;
    w.go("/instruments").await;
    click(&mut w, "a.mono[href^='/instruments/']").await;
    w.wait_text("Registros de calibración").await;
    w.shot("phone-instrument-page").await;
    click(&mut w, "a[href^='/attachments/calibration/']").await;
    w.wait_text("Archivos adjuntos").await;
    attach(&mut w, &app, "certificado.pdf").await;
    w.wait_text("Se adjuntó el archivo certificado.pdf").await;
    w.shot("phone-calibration-certificate").await;
    w.finish().await;
}

/// A lab whose codes the forgiving search finds in part (one sample received with a broken
/// seal, for the exception badge) and whose audit trail holds a changed user.
async fn lab_for_search_and_audit() -> crate::custody::Lab {
    let lab = crate::custody::lab();
    let a = lab.register("ACTA-2026-0412", &["PR-6306912", "PR-1111111"]);
    lab.register("ACTA-2026-0500", &["PR-6306955", "XK-0412"]);
    lims::sample::receipt::receive(
        &mut lab.app.db.conn(),
        &lab.tech.handler(None),
        &a[0].id,
        &lims::sample::receipt::ReceiptInput {
            seal_number: "PR-6306912".into(),
            seal_intact: "no".into(),
            quantity_sufficient: "yes".into(),
            delivered_by: "Of. Pedro Ramírez".into(),
            decision: "accept".into(),
            notes: "Precinto despegado en una esquina".into(),
            ..Default::default()
        },
        crate::custody::TZ,
    )
    .expect("receive");
    let mut c = lab.app.client().await;
    c.login(crate::common::ADMIN.0, crate::common::ADMIN.1)
        .await;
    let edit = format!("/admin/users/{}", lab.tech.id);
    c.get(&edit).await;
    c.post(
        &edit,
        &[
            ("full_name", "Rosa Quispe Mamani"),
            ("email", "rquispe@aduana.gob.pe"),
            ("role", "technician"),
            ("active", "on"),
        ],
    )
    .await
    .assert_redirect("/admin/users");
    lab
}

/// The search results (contains, prefix) as a technician, then the audit trail as the admin.
async fn walk_search_and_audit(w: &mut Walk, suffix: &str) {
    use crate::custody::PW;
    sign_in(w, "tecnico", PW).await;
    w.go("/search?q=0412").await;
    let text = w.wait_text("ACTA-2026-0412").await;
    assert!(text.contains("contiene lo buscado"), "{text}");
    w.shot(&format!("search-contains-{suffix}")).await;
    w.go("/search?q=PR-63069").await;
    let text = w.wait_text("empieza por lo buscado").await;
    assert!(
        text.contains("Precinto roto"),
        "the exception badge: {text}"
    );
    w.shot(&format!("search-prefix-{suffix}")).await;
    // Another person at the same browser (the phone's sign-out sits in its menu).
    w.client.delete_all_cookies().await.unwrap();
    sign_in(w, crate::common::ADMIN.0, crate::common::ADMIN.1).await;
    w.go("/admin/audit").await;
    let text = w.wait_text("Registro de auditoría").await;
    assert!(text.contains("Rosa Quispe Mamani"), "{text}");
    w.shot(&format!("audit-{suffix}")).await;
    w.go("/admin/audit?entity=user").await;
    w.wait_text("Nombre completo").await;
    w.shot(&format!("audit-users-{suffix}")).await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn search_and_audit_at_the_desk_in_a_real_browser() {
    let lab = lab_for_search_and_audit().await;
    let (mut w, _driver) = open_walk(&lab.app, (1366, 900), 110, false).await;
    walk_search_and_audit(&mut w, "desk").await;
    w.finish().await;
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn search_and_audit_on_a_phone_in_a_real_browser() {
    let lab = lab_for_search_and_audit().await;
    let (mut w, _driver) = open_walk(&lab.app, (390, PHONE_HEIGHT), 120, true).await;
    walk_search_and_audit(&mut w, "phone").await;
    w.finish().await;
}

/// A received sample with one numeric test assigned to `tecnico` by `supervisora`; returns
/// the sample and the test.
/// The demo lab's records and one sample received at the lab by the technician.
fn lab_with_a_received_sample(pw: &str) -> (crate::common::TestApp, lims::ids::SampleId) {
    use lims::user::Role;
    let app = lab_with_records(pw);
    let officer = app.create_user("oficial", Role::Enforcement, pw);
    let sample = app
        .register(&officer, "INC-2026-0100", &["P-100"])
        .remove(0);
    let mut conn = app.db.conn();
    let find = |conn: &mut lims::db::DbConn, name: &str| {
        lims::user::find_by_username(conn, name).unwrap().unwrap()
    };
    let tech = find(&mut conn, "tecnico");
    lims::sample::receipt::receive(
        &mut conn,
        &tech.handler(None),
        &sample.id,
        &lims::sample::receipt::ReceiptInput {
            seal_number: "P-100".into(),
            seal_intact: "yes".into(),
            quantity_sufficient: "yes".into(),
            delivered_by: "Of. Soto".into(),
            decision: "accept".into(),
            ..Default::default()
        },
        chrono_tz::America::Lima,
    )
    .unwrap();
    drop(conn);
    (app, sample.id)
}

fn lab_with_a_test(
    pw: &str,
) -> (
    crate::common::TestApp,
    lims::ids::SampleId,
    lims::ids::AnalysisId,
) {
    use lims::analysis::{self, AssignInput, PickInput};
    let (app, sample) = lab_with_a_received_sample(pw);
    let mut conn = app.db.conn();
    let find = |conn: &mut lims::db::DbConn, name: &str| {
        lims::user::find_by_username(conn, name).unwrap().unwrap()
    };
    let (chief, tech) = (find(&mut conn, "supervisora"), find(&mut conn, "tecnico"));
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Lima)
        .date_naive();
    let choices = analysis::choices(&mut conn, today).unwrap();
    let pick = choices
        .iter()
        .position(|c| {
            c.version.result_kind == lims::method::ResultKind::Numeric
                && c.analysts.iter().any(|(id, _)| id == &tech.id)
        })
        .expect("a numeric method the technician may perform");
    let picks = (0..choices.len())
        .map(|i| PickInput {
            method_id: choices[i].method.id.0.clone(),
            pick: (i == pick).then(|| "on".into()),
            analyst_id: tech.id.0.clone(),
        })
        .collect();
    analysis::assign(
        &mut conn,
        &chief.handler(None),
        std::slice::from_ref(&sample),
        &AssignInput {
            due_on: (today + chrono::TimeDelta::days(5))
                .format("%Y-%m-%d")
                .to_string(),
            picks,
        },
        today,
    )
    .unwrap();
    let test = analysis::of_sample(&mut conn, &sample).unwrap()[0]
        .analysis
        .id
        .clone();
    drop(conn);
    (app, sample, test)
}

/// The tests' pages, on the desk and on a phone: the assignment form, My tests, the result
/// form (refused first, then handed in), the review queue and a test's record with its review.
#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn tests_and_review_in_a_real_browser() {
    const PW: &str = "clave de laboratorio";
    for (size, first, phone, tag) in [
        ((1366, 900), 110, false, "desk"),
        ((390, PHONE_HEIGHT), 130, true, "phone"),
    ] {
        let (app, sample, test) = lab_with_a_test(PW);
        let (mut w, _driver) = open_walk(&app, size, first, phone).await;
        sign_in(&mut w, "supervisora", PW).await;
        w.go(&format!("/samples/{sample}")).await;
        w.wait_text("Ensayos").await;
        w.shot(&format!("{tag}-sample-tests")).await;
        w.go(&format!("/samples/{sample}/analyses/new")).await;
        w.wait_text("Asignar ensayos").await;
        w.shot(&format!("{tag}-assign")).await;
        w.client.delete_all_cookies().await.unwrap();

        sign_in(&mut w, "tecnico", PW).await;
        w.go("/my-tests").await;
        w.wait_text("Mis ensayos").await;
        w.shot(&format!("{tag}-my-tests")).await;
        w.go(&format!("/samples/{sample}/results")).await;
        w.wait_text("Entregar para revisión").await;
        w.fill("a0_value", "abc").await;
        click(&mut w, "button[value=submit]").await;
        w.wait_text("Revise los campos marcados").await;
        w.shot(&format!("{tag}-results-errors")).await;
        w.fill("a0_value", "1,5").await;
        click(&mut w, "button[value=submit]").await;
        w.wait_text("Resultados entregados para revisión").await;
        w.client.delete_all_cookies().await.unwrap();

        sign_in(&mut w, "supervisor2", PW).await;
        w.go("/review").await;
        w.wait_text("Revisión de resultados").await;
        w.shot(&format!("{tag}-review-queue")).await;
        w.go(&format!("/analyses/{test}")).await;
        w.wait_text("Rechazar y asignar repetición").await;
        w.shot(&format!("{tag}-review-test")).await;
        w.finish().await;
    }
}

/// The test of `code` on `sample` (the latest, a retest once rejected) and its place among
/// the sample's tests, which is its place on the result form while open.
fn test_of(
    app: &crate::common::TestApp,
    sample: &lims::ids::SampleId,
    code: &str,
) -> (lims::ids::AnalysisId, usize) {
    let rows = lims::analysis::of_sample(&mut app.db.conn(), sample).unwrap();
    let open: Vec<_> = rows.iter().filter(|r| r.analysis.status.open()).collect();
    let row = rows.iter().rev().find(|r| r.code == code).unwrap();
    let place = open
        .iter()
        .position(|r| r.analysis.id == row.analysis.id)
        .unwrap_or(0);
    (row.analysis.id.clone(), place)
}

/// The reviewer approves `test` from its page.
async fn approve(w: &mut Walk, test: &lims::ids::AnalysisId) {
    w.go(&format!("/analyses/{test}")).await;
    w.wait_text("Rechazar y asignar repetición").await;
    w.submit(&format!("form[action='/analyses/{test}/approve']"))
        .await;
    w.wait_text("Resultado aprobado").await;
}

/// The technician signs in and opens the sample's result form.
async fn results_form(w: &mut Walk, sample: &lims::ids::SampleId, pw: &str) {
    sign_in(w, "tecnico", pw).await;
    w.go(&format!("/samples/{sample}/results")).await;
    w.wait_text("Entregar para revisión").await;
}

/// The whole workflow of two tests: the chief supervisor assigns them on a received sample;
/// the technician attaches raw data and enters both, one out of specification; the other
/// supervisor rejects that one and approves the other; the retest is entered and approved,
/// and the sample awaits its report. On the desk, and on a phone (result form and review).
#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn two_tests_from_assignment_to_awaiting_report_in_a_real_browser() {
    const PW: &str = "clave de laboratorio";
    for (size, first, phone, tag) in [
        ((1366, 900), 150, false, "desk"),
        ((390, PHONE_HEIGHT), 170, true, "phone"),
    ] {
        let (app, sample) = lab_with_a_received_sample(PW);
        let methods = lims::method::in_use(&mut app.db.conn()).unwrap();
        let row = |code: &str| methods.iter().position(|(m, _)| m.code == code).unwrap();
        let tech = lims::user::find_by_username(&mut app.db.conn(), "tecnico")
            .unwrap()
            .unwrap();
        let (mut w, _driver) = open_walk(&app, size, first, phone).await;

        sign_in(&mut w, "supervisora", PW).await;
        w.go(&format!("/samples/{sample}/analyses/new")).await;
        w.wait_text("Asignar ensayos").await;
        for code in ["AZU-POL-01", "ALC-DEN-01"] {
            let i = row(code);
            click(&mut w, &format!("input[name='m{i}_pick']")).await;
            choose(&mut w, &format!("m{i}_analyst_id"), tech.id.as_str()).await;
        }
        let due = (chrono::Utc::now() + chrono::TimeDelta::days(7))
            .format("%Y-%m-%d")
            .to_string();
        w.client
            .execute(
                "document.querySelector(\"[name='due_on']\").value = arguments[0];",
                vec![serde_json::json!(due)],
            )
            .await
            .unwrap();
        w.submit(&format!("form[action='/samples/{sample}/analyses']"))
            .await;
        w.wait_text("Ensayos asignados: 2").await;
        w.client.delete_all_cookies().await.unwrap();

        // Raw data first (the panels are shown while the tests are open), then both results.
        results_form(&mut w, &sample, PW).await;
        attach(&mut w, &app, "cromatograma.pdf").await;
        w.wait_text("cromatograma.pdf").await;
        let (sucrose, s) = test_of(&app, &sample, "AZU-POL-01");
        let (strength, a) = test_of(&app, &sample, "ALC-DEN-01");
        w.fill(&format!("a{s}_value"), "98,9").await;
        w.fill(&format!("a{a}_value"), "40,1").await;
        w.shot(&format!("{tag}-walk-results")).await;
        click(&mut w, "button[value=submit]").await;
        w.wait_text("Resultados entregados para revisión").await;
        w.client.delete_all_cookies().await.unwrap();

        sign_in(&mut w, "supervisor2", PW).await;
        w.go(&format!("/analyses/{sucrose}")).await;
        w.wait_text("Rechazar y asignar repetición").await;
        w.shot(&format!("{tag}-walk-review")).await;
        w.fill("rejection_reason", "Lectura inestable: burbuja en el tubo")
            .await;
        w.submit(&format!("form[action='/analyses/{sucrose}/reject']"))
            .await;
        w.wait_text("Resultado rechazado").await;
        approve(&mut w, &strength).await;
        w.client.delete_all_cookies().await.unwrap();

        results_form(&mut w, &sample, PW).await;
        let (retest, r) = test_of(&app, &sample, "AZU-POL-01");
        assert_ne!(retest, sucrose);
        w.fill(&format!("a{r}_value"), "99,8").await;
        w.shot(&format!("{tag}-walk-retest")).await;
        click(&mut w, "button[value=submit]").await;
        w.wait_text("Resultados entregados para revisión").await;
        w.client.delete_all_cookies().await.unwrap();

        sign_in(&mut w, "supervisor2", PW).await;
        approve(&mut w, &retest).await;
        w.go(&format!("/samples/{sample}")).await;
        w.wait_text("Pendiente de informe").await;
        w.shot(&format!("{tag}-walk-awaiting-report")).await;
        w.finish().await;
        let now = lims::sample::find(&mut app.db.conn(), &sample).unwrap();
        assert_eq!(now.status, lims::sample::SampleStatus::AwaitingReport);
    }
}

/// A lab with its settings, the sucrose method and one sample (of a seizure with a declaration
/// number and a declared subheading) whose test is approved: it awaits its report.
fn lab_with_a_sample_awaiting_its_report() -> (crate::custody::Lab, lims::sample::Sample) {
    let (lab, _) = crate::reports::report_lab();
    crate::reports::settings(&lab, false);
    crate::reports::exec(&mut lab.app.db.conn(), crate::reports::TARIFF_LINES).unwrap();
    let sample = crate::reports::approved(&lab, "ACTA-2026-0931", &["PR-931"]).remove(0);
    (lab, sample)
}

/// Fetches `path` with the page's own session and answers (status, content type, first five
/// bytes, length).
async fn fetch_bytes(w: &mut Walk, path: &str) -> (u64, String, String, u64) {
    let got = w
        .client
        .execute_async(
            r#"
            var done = arguments[arguments.length - 1];
            fetch(arguments[0], { credentials: "same-origin" }).then(function (r) {
              return r.arrayBuffer().then(function (b) {
                var head = String.fromCharCode.apply(null, new Uint8Array(b.slice(0, 5)));
                done([r.status, r.headers.get("content-type") || "", head, b.byteLength]);
              });
            }, function (e) { done([0, String(e), "", 0]); });
            "#,
            vec![serde_json::json!(path)],
        )
        .await
        .unwrap();
    (
        got[0].as_u64().unwrap(),
        got[1].as_str().unwrap().to_string(),
        got[2].as_str().unwrap().to_string(),
        got[3].as_u64().unwrap(),
    )
}

/// The last mile of a report: at the desk the supervisor drafts it, writes the found
/// subheading, a finding and the conclusion, and signs (a wrong password first); on a phone
/// the officer finds the case by its declaration number, reads the issued report and gets its
/// PDF; in a fresh browser without an account, the verification URL printed on the report
/// (the QR code's) says it was issued and is valid.
#[tokio::test(flavor = "current_thread")]
#[ignore = "drives headless Chromium: cargo test --test app browser -- --ignored"]
async fn a_report_drafted_signed_found_by_declaration_and_verified_in_a_real_browser() {
    use crate::custody::PW;
    let (lab, sample) = lab_with_a_sample_awaiting_its_report();
    let declaration = "172-2026-10-001234";

    let (mut w, _driver) = open_walk(&lab.app, (1366, 900), 190, false).await;
    sign_in(&mut w, "super", PW).await;
    w.go(&format!("/samples/{}", sample.id)).await;
    w.wait_text("Pendiente de informe").await;
    w.shot("desk-report-sample").await;
    click(
        &mut w,
        &format!("a[href='/reports/new?sample={}']", sample.id),
    )
    .await;
    w.wait_text("Redactar el borrador").await;
    w.shot("desk-report-new").await;
    w.submit("form[action='/reports/new']").await;
    w.wait_text("Borrador del informe creado.").await;
    let report_id = w.path().await.trim_start_matches("/reports/").to_string();
    w.shot("desk-report-draft").await;

    w.fill(
        "conclusion",
        "La muestra es sacarosa de caña (99,2 %), no el alcaloide declarado.",
    )
    .await;
    w.fill(
        "finding_note",
        "Mercancía declarada como clorhidrato de cocaína.",
    )
    .await;
    click(&mut w, "input[name='counterfeit_found']").await;
    w.type_enter("found_hs_code", "1701.99").await;
    let text = w.wait_text("Borrador guardado.").await;
    assert!(text.contains("difieren en el capítulo"), "{text}");
    assert!(text.contains("Mercancía falsificada"), "{text}");
    w.js("document.querySelector(\"form[action$='/edit']\").scrollIntoView();")
        .await;
    w.shot("desk-report-edited").await;

    // A wrong password: the message is next to the field and the meaning chosen stays.
    choose(&mut w, "meaning", "authored").await;
    w.type_enter("password", "no es mi clave").await;
    w.wait_text("Revise los campos marcados").await;
    w.summary_leads_to("f-password").await;
    let next_to_field = w
        .js("var e = document.getElementById('e-password'); return e ? e.textContent : '';")
        .await;
    assert!(
        next_to_field
            .as_str()
            .unwrap()
            .contains("Contraseña incorrecta"),
        "{next_to_field}"
    );
    let meaning = w
        .js("return document.querySelector(\"select[name='meaning']\").value;")
        .await;
    assert_eq!(meaning.as_str(), Some("authored"));
    w.shot("desk-report-wrong-password").await;

    choose(&mut w, "meaning", "reviewed_approved").await;
    w.type_enter("password", PW).await;
    let text = w.wait_text("Informe firmado y emitido.").await;
    let issued = &crate::reports::versions(&lab.app, &report_id)[0];
    assert_eq!(issued.status, lims::report::VersionStatus::Issued);
    let number = issued.report_number.clone().unwrap();
    assert!(number.starts_with("RPT-"), "{number}");
    assert!(text.contains(&number) && text.contains("Emitido"), "{text}");
    w.shot("desk-report-issued").await;
    w.finish().await;

    let (mut w, _driver) = open_walk(&lab.app, (390, PHONE_HEIGHT), 200, true).await;
    sign_in(&mut w, "oficial", PW).await;
    w.go("/portal").await;
    w.wait_text("Consulta de casos").await;
    w.shot("phone-portal").await;
    w.type_enter("declaration", declaration).await;
    w.wait_text(&number).await;
    w.shot("phone-portal-found").await;
    click(&mut w, "a[href^='/portal/seizures/']").await;
    w.wait_text("ACTA-2026-0931").await;
    w.wait_text(&number).await;
    w.shot("phone-portal-case").await;
    click(&mut w, &format!("a[href='/reports/{number}']")).await;
    w.wait_path(&format!("/reports/{number}")).await;
    let text = w.wait_text("Sacarosa").await;
    assert!(text.contains(declaration), "{text}");
    w.shot("phone-report-page").await;
    let pdf = w
        .js("return document.querySelector('.report-actions a').getAttribute('href');")
        .await;
    assert_eq!(
        pdf.as_str(),
        Some(format!("/reports/{number}/pdf").as_str())
    );
    let (status, kind, head, len) = fetch_bytes(&mut w, pdf.as_str().unwrap()).await;
    assert_eq!(
        (status, kind.as_str(), head.as_str()),
        (200, "application/pdf", "%PDF-")
    );
    assert!(len > 1000, "{len} bytes");
    let verify = w
        .js("return document.querySelector('a.report-url').getAttribute('href');")
        .await;
    let verify = url::Url::parse(verify.as_str().unwrap()).unwrap();
    w.finish().await;

    // The QR code's URL names the public host; here the app answers on a local port.
    let printed = lims::report::verify_url(
        &lab.app.state.config.public_url,
        &number,
        issued.content_sha256.as_deref().unwrap(),
    );
    assert_eq!(verify.as_str(), printed);
    let (mut w, _driver) = open_walk(&lab.app, (390, PHONE_HEIGHT), 210, true).await;
    w.go("/verify").await;
    w.wait_text("Verificar un informe de ensayo").await;
    w.shot("phone-verify").await;
    w.go(&format!("{}?{}", verify.path(), verify.query().unwrap()))
        .await;
    let text = w.wait_text("Emitido y válido").await;
    assert!(text.contains(&number), "{text}");
    w.shot("phone-verify-result").await;
    w.finish().await;
}
