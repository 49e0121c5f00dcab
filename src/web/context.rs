//! What every page template needs: language, signed-in user, CSRF token, flash messages.

use std::sync::Arc;

use actix_session::SessionExt;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use chrono::NaiveDateTime;
use chrono_tz::Tz;
use std::future::{ready, Ready};

use crate::access::{self, Permission};
use crate::error::AppError;
use crate::i18n::{self, Lang};
use crate::ids::SessionId;
use crate::user::session::ClientInfo;
use crate::user::{Role, User};
use crate::web::middleware::RequestInfo;
use crate::web::session::{self, Flash};
use crate::web::AppState;

/// The signed-in user of this request, put into the request by `middleware::auth`.
#[derive(Clone)]
pub struct CurrentUser(pub Arc<User>);

/// The database session of this request, put into the request by `middleware::auth`.
#[derive(Clone)]
pub struct CurrentSession(pub SessionId);

/// The client address of the request (see `client_addr`), as text for the records.
pub fn client_addr(req: &HttpRequest) -> Option<String> {
    req.extensions()
        .get::<RequestInfo>()
        .and_then(|i| i.client)
        .map(|ip| ip.to_string())
}

pub struct Ctx {
    pub lang: Lang,
    pub tz: Tz,
    pub user: Option<Arc<User>>,
    pub csrf: String,
    pub flash: Vec<Flash>,
    pub path: String,
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
    pub session_id: Option<SessionId>,
}

impl Ctx {
    pub fn from_request(req: &HttpRequest) -> Ctx {
        let session = req.get_session();
        // Flash messages are shown by the next page rendered, not consumed by POSTs.
        let flash = if req.method() == actix_web::http::Method::GET {
            session::take_flash(&session)
        } else {
            Vec::new()
        };
        Ctx {
            user: req.extensions().get::<CurrentUser>().map(|u| u.0.clone()),
            csrf: session::csrf_token(&session),
            flash,
            remote_addr: client_addr(req),
            user_agent: req
                .headers()
                .get(actix_web::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            session_id: req
                .extensions()
                .get::<CurrentSession>()
                .map(|s| s.0.clone()),
            ..Ctx::minimal(req)
        }
    }

    /// For error pages: language and path only. No user name, no CSRF token, no flash
    /// messages, and the session cookie is left untouched.
    pub fn minimal(req: &HttpRequest) -> Ctx {
        Ctx {
            lang: req.extensions().get::<Lang>().copied().unwrap_or_default(),
            tz: req
                .app_data::<web::Data<AppState>>()
                .map(|s| s.config.timezone)
                .unwrap_or(chrono_tz::America::Lima),
            user: None,
            csrf: String::new(),
            flash: Vec::new(),
            path: req.path().to_string(),
            remote_addr: None,
            user_agent: None,
            session_id: None,
        }
    }

    /// Where a session started by this request is used from.
    pub fn client_info(&self) -> ClientInfo {
        ClientInfo {
            remote_addr: self.remote_addr.clone(),
            user_agent: self.user_agent.clone(),
        }
    }

    pub fn t(&self, key: impl AsRef<str>) -> String {
        i18n::t(self.lang, key.as_ref())
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        i18n::tf(self.lang, key, args)
    }

    /// Translation with one `%{name}` placeholder, for templates.
    pub fn t1(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        i18n::tf(self.lang, key, &[(name, &value.to_string())])
    }

    pub fn datetime(&self, utc: &NaiveDateTime) -> String {
        i18n::format_datetime(self.lang, self.tz, utc)
    }

    /// Whether a typed value equals an option's value (for `selected` in templates).
    pub fn same(&self, a: impl AsRef<str>, b: impl AsRef<str>) -> bool {
        a.as_ref() == b.as_ref()
    }

    /// A calendar date stored as `YYYY-MM-DD`.
    pub fn date(&self, iso: impl AsRef<str>) -> String {
        i18n::format_date(self.lang, iso.as_ref())
    }

    pub fn qty(&self, value: &Option<f64>, unit: &Option<String>) -> String {
        match value {
            Some(v) => format!(
                "{} {}",
                i18n::format_quantity(self.lang, *v),
                unit.as_deref().map(|u| self.unit(u)).unwrap_or_default()
            )
            .trim()
            .to_string(),
            None => "—".to_string(),
        }
    }

    /// Unit symbols are international; only "units" is a word.
    pub fn unit(&self, unit: &str) -> String {
        if unit == "units" {
            self.t("units.units")
        } else {
            unit.to_string()
        }
    }

    /// The translation of a stored code such as a status: key `prefix.value`.
    pub fn label(&self, prefix: &str, value: impl AsRef<str>) -> String {
        self.t(format!("{prefix}.{}", value.as_ref()))
    }

    pub fn country(&self, code: &Option<String>) -> String {
        code.as_deref()
            .map(|c| crate::country::name(c, self.lang).unwrap_or_else(|| c.to_string()))
            .unwrap_or_else(|| "—".to_string())
    }

    pub fn role_name(&self, role: impl AsRef<str>) -> String {
        match Role::parse(role.as_ref()) {
            Some(r) => self.t(r.label_key()),
            None => role.as_ref().to_string(),
        }
    }

    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role())
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.role().is_some_and(|r| access::allows(r, permission))
    }

    pub fn can_manage_users(&self) -> bool {
        self.can(Permission::ManageUsers)
    }

    pub fn can_view_audit(&self) -> bool {
        self.can(Permission::ViewAudit)
    }

    pub fn can_view_cases(&self) -> bool {
        self.can(Permission::ViewCases)
    }

    pub fn can_register(&self) -> bool {
        self.can(Permission::RegisterSeizure)
    }

    pub fn can_handle_samples(&self) -> bool {
        self.can(Permission::HandleSamples)
    }

    pub fn can_supervise(&self) -> bool {
        self.can(Permission::Supervise)
    }

    pub fn can_manage_catalogue(&self) -> bool {
        self.can(Permission::ManageCatalogue)
    }

    /// Marks the navigation entry of the current area.
    pub fn nav_class(&self, prefix: &str) -> &'static str {
        let here = if prefix == "/" {
            self.path == "/"
        } else {
            self.path.starts_with(prefix)
        };
        if here {
            "active"
        } else {
            ""
        }
    }

    /// The signed-in user, or 403 with the reason the permission exists.
    pub fn require(&self, permission: Permission) -> Result<Arc<User>, AppError> {
        match &self.user {
            Some(u) if access::allows(u.role(), permission) => Ok(u.clone()),
            _ => Err(AppError::Forbidden(access::refusal_reason(permission))),
        }
    }

    pub fn user(&self) -> Result<Arc<User>, AppError> {
        self.user
            .clone()
            .ok_or(AppError::Forbidden("errors.forbidden.sign_in"))
    }

    pub fn actor(&self) -> Result<crate::audit::Actor, AppError> {
        Ok(self.user()?.actor(self.remote_addr.clone()))
    }

    /// The signed-in user as the person of record of what a form does, after checking the
    /// permission it needs.
    pub fn handler(&self, permission: Permission) -> Result<crate::audit::Handler, AppError> {
        Ok(self.require(permission)?.handler(self.remote_addr.clone()))
    }

    pub fn other_langs(&self) -> Vec<Lang> {
        Lang::ALL.into_iter().filter(|l| *l != self.lang).collect()
    }
}

impl FromRequest for Ctx {
    type Error = AppError;
    type Future = Ready<Result<Ctx, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Ctx::from_request(req)))
    }
}
