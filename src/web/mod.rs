//! The web application: state, middleware order, and each area's routes.

pub mod account;
pub mod analyses;
pub mod api;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod client_addr;
pub mod context;
pub mod custody;
pub mod disposition;
pub mod errors;
pub mod forms;
pub mod health;
pub mod home;
pub mod instruments;
pub mod lab;
pub mod lab_settings;
pub mod labels;
pub mod locations;
pub mod methods;
pub mod middleware;
pub mod offices;
pub mod personnel;
pub mod portal;
pub mod report_pages;
pub mod reports;
pub mod samples;
pub mod search;
pub mod seizures;
pub mod session;
pub mod static_files;
pub mod tariff;
pub mod upload;
pub mod users;
pub mod verify;

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_session::storage::CookieSessionStore;
use actix_session::SessionMiddleware;
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{Server, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::{middleware::from_fn, web, App, HttpResponse, HttpServer};
use askama::Template;

use crate::config::Config;
use crate::db::Pool;
use crate::error::AppError;

tokio::task_local! {
    /// The pooled connection of the request being served (see `middleware::one_connection`).
    pub(crate) static REQUEST_CONN: Arc<Mutex<Option<crate::db::PooledConn>>>;
}

pub struct AppState {
    pub pool: Pool,
    pub config: Config,
    /// Once an account exists it always will (accounts are deactivated, never deleted), so
    /// the first-run check stops asking the database after the first yes.
    has_users: AtomicBool,
    blobs: std::sync::OnceLock<crate::blob::BlobStore>,
}

impl AppState {
    pub fn new(pool: Pool, config: Config) -> web::Data<AppState> {
        web::Data::new(AppState {
            pool,
            config,
            has_users: AtomicBool::new(false),
            blobs: std::sync::OnceLock::new(),
        })
    }

    pub async fn has_users(&self) -> Result<bool, AppError> {
        if self.has_users.load(Ordering::Relaxed) {
            return Ok(true);
        }
        let n = self.db(|conn| Ok(crate::user::count(conn)?)).await?;
        if n > 0 {
            self.has_users.store(true, Ordering::Relaxed);
        }
        Ok(n > 0)
    }

    /// Runs blocking database work on the thread pool with a pooled connection. The wait for a
    /// free thread (see `run`) and a connection together is bounded by `db::WAIT` (then 503).
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut crate::db::DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        // Inside a request, the connection its first query checked out serves the rest of it.
        let held = REQUEST_CONN.try_with(Arc::clone).ok();
        let asked = std::time::Instant::now();
        web::block(move || {
            let checkout = || -> Result<crate::db::PooledConn, AppError> {
                let left = crate::db::WAIT
                    .checked_sub(asked.elapsed())
                    .ok_or_else(|| {
                        AppError::Unavailable("no database connection in time".into())
                    })?;
                Ok(pool.get_timeout(left)?)
            };
            let Some(held) = held else {
                return f(&mut *checkout()?);
            };
            let mut slot = held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut conn = match slot.take() {
                Some(conn) => conn,
                None => checkout()?,
            };
            let result = f(&mut conn);
            *slot = Some(conn);
            result
        })
        .await
        .map_err(AppError::internal)?
    }

    /// Runs CPU-heavy work (argon2) on the blocking thread pool without holding a pooled
    /// connection, so slow password checks cannot starve the database pool.
    pub async fn cpu<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce() -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        release_connection();
        web::block(f).await.map_err(AppError::internal)?
    }

    /// The attachment store of `LIMS_STORAGE_URL`, opened on first use (the S3 client reads
    /// its credentials then).
    pub fn blobs(&self) -> Result<&crate::blob::BlobStore, AppError> {
        if let Some(store) = self.blobs.get() {
            return Ok(store);
        }
        let store =
            crate::blob::BlobStore::open(&self.config.storage_url).map_err(AppError::internal)?;
        Ok(self.blobs.get_or_init(|| store))
    }
}

/// Gives the request's pooled connection back before slow work that needs none (password
/// hashing, receiving an upload); its next query takes one again.
pub fn release_connection() {
    if let Ok(held) = REQUEST_CONN.try_with(Arc::clone) {
        drop(held.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

/// What a form's domain action came to: done, or the form back with a message beside each
/// wrong field.
pub enum Submitted<T> {
    Done(T),
    Invalid(crate::validation::FieldErrors),
}

impl AppState {
    /// Runs a form's domain action on the thread pool. Field errors come back as `Invalid`, for
    /// the handler to show the form again with what was typed (400); other errors stay errors.
    pub async fn submit<T, F>(&self, f: F) -> Result<Submitted<T>, AppError>
    where
        F: FnOnce(&mut crate::db::DbConn) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        match self.db(f).await {
            Ok(value) => Ok(Submitted::Done(value)),
            Err(AppError::Invalid(errors)) => Ok(Submitted::Invalid(errors)),
            Err(e) => Err(e),
        }
    }
}

/// A form that succeeded: the message shows on the next page, reached by a 303 (so a reload
/// does not send the form again).
pub fn done(session: &actix_session::Session, message: String, to: &str) -> HttpResponse {
    session::push_flash(session, "ok", message);
    see_other(to)
}

/// A form page sent back with messages beside its fields.
pub fn invalid<T: Template>(page: &T) -> Result<HttpResponse, AppError> {
    render_status(page, StatusCode::BAD_REQUEST)
}

/// Renders a page with a status (400 for a form sent back with errors).
pub fn render_status<T: Template>(t: &T, status: StatusCode) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(t.render()?))
}

/// 200 for a page, 400 when it comes back with messages beside fields.
pub fn status_for(errors: &crate::validation::FieldErrors) -> StatusCode {
    if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    }
}

pub fn render<T: Template>(t: &T) -> Result<HttpResponse, AppError> {
    render_status(t, StatusCode::OK)
}

/// 303 to another page: the browser follows with a GET (post/redirect/get).
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .finish()
}

pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let key = Key::from(&state.config.secret_key);
    let sessions = SessionMiddleware::builder(CookieSessionStore::default(), key)
        .cookie_name("lims_session".into())
        .cookie_secure(state.config.cookie_secure)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(BrowserSession::default())
        .build();
    let form_config = web::FormConfig::default()
        .limit(256 * 1024)
        .error_handler(|e, _| session::body_error(e.into()).into());
    App::new()
        .app_data(state)
        .app_data(form_config)
        .wrap(from_fn(middleware::auth))
        .wrap(from_fn(middleware::one_connection))
        .wrap(errors::handlers())
        .wrap(sessions)
        .wrap(middleware::security_headers())
        .wrap(from_fn(middleware::request_info))
        .configure(static_files::config)
        .configure(health::config)
        .configure(auth::config)
        .configure(home::config)
        .configure(account::config)
        .configure(users::config)
        .configure(locations::config)
        .configure(audit::config)
        .configure(seizures::config)
        .configure(samples::config)
        .configure(search::config)
        .configure(custody::config)
        .configure(labels::config)
        .configure(lab::config)
        .configure(methods::config)
        .configure(analyses::config)
        .configure(instruments::config)
        .configure(personnel::config)
        .configure(tariff::config)
        .configure(offices::config)
        .configure(attachments::config)
        .configure(report_pages::config)
        .configure(verify::config)
        .configure(portal::config)
        .configure(reports::config)
        .configure(lab_settings::config)
        .configure(api::config)
        .default_service(web::to(errors::not_found))
}

/// Starts the server on an already bound listener (tests bind port 0).
pub fn run(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    // Database work runs on blocking threads. On SQLite, which writes one at a time, more of
    // them than pooled connections only wait, and under a rush each one left a stack and a
    // malloc arena behind; requests beyond that queue for a thread instead. On PostgreSQL the
    // default measured better (see bench/RESULTS.md).
    let sqlite = crate::db::DbUrl::parse(&state.config.database_url).is_ok_and(|u| u.is_sqlite());
    let threads = state.pool.max_size() as usize;
    let mut server = HttpServer::new(move || build_app(state.clone()));
    if sqlite {
        server = server.worker_max_blocking_threads(threads);
    }
    let server = server.listen(listener)?.run();
    Ok(server)
}
