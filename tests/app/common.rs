//! Test harness: the real app against a fresh database per test. SQLite in a temporary
//! folder by default; a fresh PostgreSQL database when TEST_DATABASE_URL is set. Both are
//! copies of a template migrated once per run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::test;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;

use lims::config::Config;
use lims::db::{self, DbUrl, Pool};
use lims::web::AppState;

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    pub url: String,
    pub pool: Pool,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg) = match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                let name = format!("lims_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&admin_url).expect("TEST_DATABASE_URL");
                admin
                    .batch_execute(&format!(
                        "CREATE DATABASE {name} TEMPLATE {}",
                        pg_template(&admin_url)
                    ))
                    .expect("create test database");
                (pg_url(&admin_url, &name), Some((admin_url, name)))
            }
            _ => {
                let file = dir.path().join("lims.db");
                std::fs::copy(sqlite_template(), &file).expect("copy the template database");
                (format!("sqlite://{}", file.display()), None)
            }
        };
        let parsed = DbUrl::parse(&url).expect("test url");
        let pool = db::build_pool(&parsed).expect("pool");
        TestDb {
            url,
            pool,
            _dir: dir,
            pg,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    pub fn conn(&self) -> db::PooledConn {
        self.pool.get().expect("connection")
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("data")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.pg {
            if let Ok(mut admin) = PgConnection::establish(admin_url) {
                let _ =
                    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

fn pg_url(admin_url: &str, name: &str) -> String {
    let mut url = url::Url::parse(admin_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Applies every migration to a new database once, at `url`.
fn migrate_fresh(url: &str) {
    let conn = db::ConnManager::new(DbUrl::parse(url).expect("url"));
    db::migrate(&mut conn.connect().expect("template connection")).expect("migrate template");
}

/// A SQLite file migrated once per test run; each test copies it.
fn sqlite_template() -> &'static std::path::Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let file = dir.path().join("template.db");
            // The last connection closing checkpoints the WAL into the file, so a plain copy
            // of the file is the whole database.
            migrate_fresh(&format!("sqlite://{}", file.display()));
            (dir, file)
        })
        .1
}

/// A PostgreSQL database migrated once and named after the migrations it holds, so later runs
/// reuse it and a changed migration makes a new one. Test databases are cloned from it. Old
/// templates are left alone: another checkout's run may be cloning from one.
fn pg_template(admin_url: &str) -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("lims_tpl_{}", migrations_digest());
        let mut admin = PgConnection::establish(admin_url).expect("TEST_DATABASE_URL");
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Name {
            #[diesel(sql_type = diesel::sql_types::Text)]
            datname: String,
        }
        let existing: Vec<Name> =
            diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'lims_tpl_%'")
                .load(&mut admin)
                .expect("list templates");
        if existing.iter().any(|d| d.datname == name) {
            return name;
        }
        // Built under a temporary name and renamed when complete, so a run that stops half-way
        // never leaves a template that looks usable.
        let building = format!("lims_tplnew_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .expect("create template");
        migrate_fresh(&pg_url(admin_url, &building));
        if admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            .is_err()
        {
            // Another test process made it first.
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {building}"));
        }
        name
    })
}

/// A short digest of the PostgreSQL migrations' text.
fn migrations_digest() -> String {
    use sha2::{Digest, Sha256};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("migrations/postgres")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.sort();
    let mut h = Sha256::new();
    for d in dirs {
        for f in ["up.sql", "down.sql"] {
            h.update(d.file_name().unwrap().as_encoded_bytes());
            h.update(std::fs::read(d.join(f)).unwrap_or_default());
        }
    }
    hex::encode(&h.finalize()[..8])
}

/// The custody key of every test: one process signs with one key (`custody::key::install`).
pub const CUSTODY_KEY: [u8; 32] = *b"test custody key, never for labs";

pub fn test_config(db: &TestDb) -> Config {
    let mut key = vec![0u8; 64];
    rand::fill(&mut key[..]);
    std::fs::create_dir_all(db.data_dir()).unwrap();
    // The command line run on the test's data folder finds the same key there.
    use base64::Engine;
    let custody_file = db.data_dir().join("custody.key");
    if !custody_file.exists() {
        std::fs::write(
            custody_file,
            base64::engine::general_purpose::STANDARD.encode(CUSTODY_KEY),
        )
        .unwrap();
    }
    lims::custody::key::install(lims::custody::key::Keyring::new(&CUSTODY_KEY, &[]))
        .expect("the test custody key");
    Config {
        database_url: db.url.clone(),
        bind: "127.0.0.1:0".into(),
        secret_key: key,
        custody_key: CUSTODY_KEY.to_vec(),
        custody_keys_old: Vec::new(),
        data_dir: db.data_dir(),
        storage_url: format!("file://{}", db.data_dir().join("attachments").display()),
        max_upload_mb: 50,
        public_url: "http://lims.test".to_string(),
        cookie_secure: false,
        session_idle: Duration::from_secs(30 * 60),
        timezone: "America/Lima".parse().unwrap(),
        trusted_proxies: Vec::new(),
    }
}

/// A browser-like client of the app over `state` (another "instance" when given another
/// state over the same database).
pub async fn client_of(
    state: actix_web::web::Data<AppState>,
) -> Client<
    impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    >,
> {
    let app = test::init_service(lims::web::build_app(state)).await;
    Client {
        app,
        cookies: BTreeMap::new(),
        csrf: String::new(),
        accept_language: "es-PE,es;q=0.9".into(),
        peer: None,
        headers: Vec::new(),
    }
}

/// A response read to the end.
pub struct Page {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: String,
    /// The body exactly as sent (`body` is its lossy UTF-8 reading), for binary downloads.
    pub raw: actix_web::web::Bytes,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    pub fn contains(&self, text: &str) -> bool {
        self.body.contains(text)
    }

    #[track_caller]
    pub fn assert_redirect(&self, to: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "body: {}", self.body);
        assert_eq!(self.location(), Some(to));
    }

    /// A 303 to an address starting with `prefix` (e.g. the page of a record just created).
    #[track_caller]
    pub fn assert_redirect_prefix(&self, prefix: &str) {
        assert_eq!(self.status, StatusCode::SEE_OTHER, "body: {}", self.body);
        let to = self.location().unwrap_or_default();
        assert!(to.starts_with(prefix), "redirect to {to}");
    }

    #[track_caller]
    pub fn assert_contains(&self, text: &str) {
        assert!(
            self.body.contains(text),
            "expected {text:?} in:\n{}",
            self.body
        );
    }
}

/// A browser-like client: keeps cookies, finds the CSRF token on every page it reads and
/// sends it with each form.
pub struct Client<S> {
    app: S,
    pub cookies: BTreeMap<String, String>,
    pub csrf: String,
    pub accept_language: String,
    /// The socket address the app sees the request come from (none by default).
    pub peer: Option<std::net::SocketAddr>,
    /// Sent with every request, e.g. forwarding headers.
    pub headers: Vec<(String, String)>,
}

pub const ADMIN: (&str, &str) = ("admin", "admin-password-1");

impl<S, B> Client<S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    async fn send(&mut self, req: test::TestRequest) -> Page {
        let mut req = req.insert_header((header::ACCEPT_LANGUAGE, self.accept_language.clone()));
        if let Some(peer) = self.peer {
            req = req.peer_addr(peer);
        }
        for (name, value) in &self.headers {
            req = req.append_header((name.as_str(), value.as_str()));
        }
        if !self.cookies.is_empty() {
            let cookie = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.insert_header((header::COOKIE, cookie));
        }
        let res = test::call_service(&self.app, req.to_request()).await;
        let status = res.status();
        let headers = res.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            if let Ok(c) = actix_web::cookie::Cookie::parse(value.to_str().unwrap().to_string()) {
                let expired = c.max_age().is_some_and(|a| a.is_zero() || a.is_negative())
                    || c.value().is_empty();
                if expired {
                    self.cookies.remove(c.name());
                } else {
                    self.cookies
                        .insert(c.name().to_string(), c.value().to_string());
                }
            }
        }
        let bytes = test::read_body(res).await;
        let body = String::from_utf8_lossy(&bytes).to_string();
        if let Some(token) = find_csrf(&body) {
            self.csrf = token;
        }
        Page {
            status,
            headers,
            body,
            raw: bytes,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(test::TestRequest::get().uri(path)).await
    }

    /// Sends a request built by the test (any method, headers and body), with the client's
    /// cookies and language.
    pub async fn request(&mut self, req: test::TestRequest) -> Page {
        self.send(req).await
    }

    /// Posts a form with the current CSRF token.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", "")];
        let token = self.csrf.clone();
        all[0].1 = &token;
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// Posts exactly these fields (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with_headers(path, fields, &[]).await
    }

    /// Posts exactly these fields with extra request headers (e.g. an `Origin`).
    pub async fn post_with_headers(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let body = serde_urlencoded::to_string(fields).unwrap();
        let mut req = test::TestRequest::post()
            .uri(path)
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"));
        for (name, value) in headers {
            req = req.insert_header((*name, *value));
        }
        self.send(req.set_payload(body)).await
    }

    /// Posts a body exactly as given (already urlencoded), e.g. with bytes that are not UTF-8.
    pub async fn post_body(&mut self, path: &str, body: &str) -> Page {
        self.send(
            test::TestRequest::post()
                .uri(path)
                .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                .set_payload(body.to_string()),
        )
        .await
    }

    /// Posts a `multipart/form-data` form: the CSRF token, `fields`, and one file
    /// (field name, file name, bytes), as a browser sends a form with a file input.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Page {
        self.post_multipart_cut(path, fields, file, usize::MAX)
            .await
    }

    /// The same form cut off after `keep` bytes of its body, as when the connection drops
    /// in the middle of an upload.
    pub async fn post_multipart_cut(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
        keep: usize,
    ) -> Page {
        const BOUNDARY: &str = "----lims-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        let token = self.csrf.clone();
        for (name, value) in
            std::iter::once(("csrf_token", token.as_str())).chain(fields.iter().copied())
        {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        let (field, file_name, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        body.truncate(keep);
        let req = test::TestRequest::post().uri(path).insert_header((
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        ));
        self.send(req.set_payload(body)).await
    }

    pub async fn login(&mut self, username: &str, password: &str) -> Page {
        self.get("/login").await;
        self.post("/login", &[("username", username), ("password", password)])
            .await
    }

    pub async fn logout(&mut self) -> Page {
        self.post("/logout", &[]).await
    }
}

fn find_csrf(body: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_string())
}

pub struct TestApp {
    pub db: TestDb,
    pub state: actix_web::web::Data<AppState>,
}

impl TestApp {
    pub fn new() -> TestApp {
        Self::with_config(|_| {})
    }

    pub fn with_config(change: impl FnOnce(&mut Config)) -> TestApp {
        let db = TestDb::new();
        let mut config = test_config(&db);
        change(&mut config);
        let state = AppState::new(db.pool.clone(), config);
        TestApp { db, state }
    }

    pub async fn client(
        &self,
    ) -> Client<
        impl Service<
            actix_http::Request,
            Response = ServiceResponse<impl MessageBody>,
            Error = actix_web::Error,
        >,
    > {
        client_of(self.state.clone()).await
    }

    /// Creates an account directly (as `lims create-user` would).
    pub fn create_user(
        &self,
        username: &str,
        role: lims::user::Role,
        password: &str,
    ) -> lims::user::User {
        let mut conn = self.db.conn();
        lims::user::create_from_cli(
            &mut conn,
            username,
            role,
            &format!("{username} Test"),
            password,
        )
        .expect("create user")
    }

    /// The latest audit entries about `entity`, newest first.
    pub fn audit_of(&self, entity: &str) -> Vec<lims::audit::AuditEntry> {
        let filter = lims::audit::AuditFilter {
            entity: Some(entity.into()),
            ..Default::default()
        };
        lims::audit::list(&mut self.db.conn(), &filter, None, 100)
            .expect("audit list")
            .0
    }

    /// Registers a seizure as `officer` (through the domain, as the seizure form does) with
    /// one sealed sample per seal number; returns the samples.
    pub fn register(
        &self,
        officer: &lims::user::User,
        reference: &str,
        seals: &[&str],
    ) -> Vec<lims::sample::Sample> {
        let rows: Vec<lims::sample::SampleInput> = seals
            .iter()
            .enumerate()
            .map(|(i, seal)| lims::sample::SampleInput {
                description: format!("Bolsa {}", i + 1),
                seal_number: seal.to_string(),
                priority: "routine".into(),
                ..Default::default()
            })
            .collect();
        self.register_rows(officer, reference, &rows)
    }

    /// Registers a seizure with these sample rows, as `officer`.
    pub fn register_rows(
        &self,
        officer: &lims::user::User,
        reference: &str,
        rows: &[lims::sample::SampleInput],
    ) -> Vec<lims::sample::Sample> {
        let input = lims::seizure::SeizureInput {
            reference: reference.into(),
            customs_office: "Intendencia de Aduana de Tacna".into(),
            seized_at: "2026-03-01T10:30".into(),
            place: "Santa Rosa".into(),
            seizing_officer: "Of. Soto".into(),
            goods_description: "Polvo blanco".into(),
            risk_channel: "red".into(),
            ..Default::default()
        };
        lims::seizure::register(
            &mut self.db.conn(),
            &officer.handler(None),
            &input,
            rows,
            true,
            chrono_tz::America::Lima,
        )
        .expect("register")
        .samples
    }

    /// An app with its first admin created (user `admin`).
    pub fn with_admin() -> TestApp {
        let app = TestApp::new();
        app.create_user(ADMIN.0, lims::user::Role::Admin, ADMIN.1);
        app
    }
}

/// Owned form fields borrowed for `Client::post`.
pub fn refs<K: AsRef<str>, V: AsRef<str>>(fields: &[(K, V)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .collect()
}
