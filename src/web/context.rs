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
    /// The query string of a GET (a POST's fields are not a place to come back to).
    pub query: Option<String>,
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
            query: (req.method() == actix_web::http::Method::GET && !req.query_string().is_empty())
                .then(|| req.query_string().to_string()),
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
            query: None,
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

    /// A list page's place in its list: "1–50 de 91".
    pub fn position(&self, p: &crate::keyset::Position) -> String {
        let (first, last, total) = (p.first.to_string(), p.last.to_string(), p.total.to_string());
        let args = [
            ("first", first.as_str()),
            ("last", last.as_str()),
            ("total", total.as_str()),
        ];
        i18n::tf(self.lang, "pager.position", &args)
    }

    pub fn datetime(&self, utc: &NaiveDateTime) -> String {
        i18n::format_datetime(self.lang, self.tz, utc)
    }

    /// Whether a typed value equals an option's value (for `selected` in templates).
    pub fn same(&self, a: impl AsRef<str>, b: impl AsRef<str>) -> bool {
        a.as_ref() == b.as_ref()
    }

    /// Whether any of these typed values is filled in (a folded part of a form opens by itself).
    pub fn any_filled(&self, values: &[&str]) -> bool {
        values.iter().any(|v| !v.trim().is_empty())
    }

    /// Today in the lab's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now().with_timezone(&self.tz).date_naive()
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

    /// An amount with its unit (e.g. what is left of a sample).
    pub fn amount(&self, q: &crate::sample::holding::Quantity) -> String {
        self.qty(&Some(q.value), &Some(q.unit.clone()))
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

    pub fn current_role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role)
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.current_role()
            .is_some_and(|r| access::allows(r, permission))
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

    pub fn can_view_lab_records(&self) -> bool {
        self.can(Permission::ViewLabRecords)
    }

    pub fn can_view_lab_results(&self) -> bool {
        self.can(Permission::ViewLabResults)
    }

    pub fn can_change_instrument_status(&self) -> bool {
        self.can(Permission::ChangeInstrumentStatus)
    }

    /// Whether the current page belongs to the navigation area `area` (one of the top bar's
    /// entries): the most specific pattern of `AREAS` matching the path decides.
    pub fn in_area(&self, area: &str) -> bool {
        current_area(&self.path) == Some(area)
    }

    /// This page's address with its query, for coming back to it (e.g. after switching
    /// language). A page shown in answer to a POST overrides it with the page of its form.
    pub fn here(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    /// `key` in another language (the language switch speaks the language it offers).
    pub fn t_in(&self, lang: &Lang, key: &str) -> String {
        i18n::t(*lang, key)
    }

    /// The id of a form field's element: `f-{name}`, but the repeated sample rows' fields are
    /// their own ids (`s{i}_{field}`).
    pub fn field_id(&self, field: &str) -> String {
        if split_row(field).is_some() {
            field.to_string()
        } else {
            format!("f-{field}")
        }
    }

    /// The label of a form field named in a `FieldErrors`, for the error summary; rows of
    /// repeated fields (`s{i}_{field}`) are named by their row. Empty for an unknown field.
    pub fn field_label(&self, field: &str) -> String {
        let (row, name) = match split_row(field) {
            Some((i, name)) => (Some(i), name),
            None => (None, field),
        };
        let label = FIELD_LABELS
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, key)| self.t(key))
            .unwrap_or_default();
        match row {
            Some(i) => format!("{} · {label}", self.t1("samples.row", "n", i + 1)),
            None => label,
        }
    }

    /// The signed-in user, or 403 with the reason the permission exists.
    pub fn require(&self, permission: Permission) -> Result<Arc<User>, AppError> {
        match &self.user {
            Some(u) if access::allows(u.role, permission) => Ok(u.clone()),
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

/// A field of a repeated sample row, `s{i}_{name}`, as its row index and name.
fn split_row(field: &str) -> Option<(usize, &str)> {
    let (i, name) = field.strip_prefix('s')?.split_once('_')?;
    Some((i.parse().ok()?, name))
}

/// The top bar's areas and the addresses that belong to each; `*` is any one segment. A
/// sample's receipt lives under the sample but belongs to reception.
const AREAS: &[(&str, &str)] = &[
    ("/seizures", "/seizures"),
    ("/samples", "/samples"),
    ("/receive", "/receive"),
    ("/samples/*/receive", "/receive"),
    ("/custody", "/custody"),
    ("/admin/users", "/admin/users"),
    ("/admin/locations", "/admin/locations"),
    ("/admin/audit", "/admin/audit"),
    ("/account", "/account"),
    ("/lab", "/lab"),
    ("/methods", "/lab"),
    ("/instruments", "/lab"),
    ("/personnel", "/lab"),
    ("/admin/tariff", "/lab"),
];

/// The area of `path`: the matching pattern with the most segments wins; `/` is home only.
fn current_area(path: &str) -> Option<&'static str> {
    if path == "/" {
        return Some("/");
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    AREAS
        .iter()
        .filter_map(|(pattern, area)| {
            let pattern: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
            let matches = pattern.len() <= segments.len()
                && pattern
                    .iter()
                    .zip(&segments)
                    .all(|(p, s)| *p == "*" || p == s);
            matches.then_some((pattern.len(), *area))
        })
        .max_by_key(|(specificity, _)| *specificity)
        .map(|(_, area)| area)
}

/// Form fields and the catalogue key of their label, for the error summary.
const FIELD_LABELS: &[(&str, &str)] = &[
    ("reference", "seizures.reference"),
    ("customs_office", "seizures.customs_office"),
    ("declaration_number", "seizures.declaration_number"),
    ("seized_at", "seizures.seized_at"),
    ("place", "seizures.place"),
    ("seizing_officer", "seizures.seizing_officer"),
    ("risk_channel", "seizures.risk_channel"),
    ("declared_hs_code", "seizures.declared_hs_code"),
    ("origin_country", "seizures.origin_country"),
    ("importer", "seizures.importer"),
    ("goods_description", "seizures.goods_description"),
    ("notes", "seizures.notes"),
    ("samples", "seizures.samples"),
    ("description", "samples.description"),
    ("matrix", "samples.matrix"),
    ("seal_number", "samples.seal_number"),
    ("quantity", "samples.quantity"),
    ("quantity_unit", "samples.unit"),
    ("package_count", "samples.package_count"),
    ("priority", "samples.priority"),
    ("due_date", "samples.due_date"),
    ("requested_tests", "samples.requested_tests"),
    ("kind", "samples.kind"),
    ("seal_intact", "receipt.seal_intact"),
    ("quantity_sufficient", "receipt.quantity_sufficient"),
    ("condition", "receipt.condition"),
    ("delivered_by", "receipt.delivered_by"),
    ("received_at", "receipt.received_at"),
    ("storage_location_id", "custody.field.storage_location_id"),
    ("decision", "receipt.decision"),
    ("occurred_at", "custody.field.occurred_at"),
    ("to_username", "custody.field.to_username"),
    ("to_password", "custody.field.to_password"),
    ("new_seal_number", "custody.field.new_seal_number"),
    ("external_lab", "custody.field.external_lab"),
    (
        "external_accreditation",
        "external.field.external_accreditation",
    ),
    ("external_report_ref", "external.field.external_report_ref"),
    ("referral", "external.referral"),
    ("to_party", "custody.field.to_party"),
    ("witness", "custody.field.witness"),
    ("retained_until", "custody.field.retained_until"),
    ("reason", "custody.field.reason"),
    ("full_name", "users.full_name"),
    ("username", "users.username"),
    ("email", "users.email"),
    ("role", "users.role"),
    ("password", "users.password"),
    ("password_confirm", "users.password_confirm"),
    ("current_password", "account.current_password"),
    ("new_password", "account.new_password"),
    ("new_password_confirm", "users.password_confirm"),
    ("code", "locations.code"),
    ("name", "locations.name"),
    ("parent_id", "locations.parent"),
    ("holder", "holding.holder"),
    ("override_reason", "custody.field.override_reason"),
    ("witness_kind", "custody.witness_legend"),
    ("witness_username", "custody.field.witness_username"),
    ("witness_password", "custody.field.witness_password"),
    ("witness_document", "custody.field.witness_document"),
    ("analyte", "methods.field.analyte"),
    ("technique", "methods.field.technique"),
    ("reference", "methods.field.reference"),
    ("result_kind", "methods.field.result_kind"),
    ("unit", "methods.field.unit"),
    ("decimals", "methods.field.decimals"),
    ("spec_min", "methods.field.spec_min"),
    ("spec_max", "methods.field.spec_max"),
    ("lod", "methods.field.lod"),
    ("loq", "methods.field.loq"),
    ("uncertainty_value", "methods.field.uncertainty_value"),
    ("uncertainty_mode", "methods.field.uncertainty_mode"),
    ("coverage_factor", "methods.field.coverage_factor"),
    ("confidence_percent", "methods.field.confidence_percent"),
    ("qualitative_options", "methods.field.qualitative_options"),
    ("expected_value", "methods.field.expected_value"),
    ("decision_rule", "methods.field.decision_rule"),
    ("guard_band", "methods.field.guard_band"),
    ("change_reason", "methods.field.change_reason"),
    ("retirement_reason", "methods.field.retirement_reason"),
    ("asset_tag", "instruments.field.asset_tag"),
    ("manufacturer", "instruments.field.manufacturer"),
    ("model", "instruments.field.model"),
    ("serial_number", "instruments.field.serial_number"),
    ("location", "instruments.field.location"),
    (
        "calibration_interval_months",
        "instruments.field.calibration_interval_months",
    ),
    ("status", "instruments.field.status"),
    ("status_reason", "instruments.field.status_reason"),
    ("performed_on", "instruments.field.performed_on"),
    ("performed_by", "instruments.field.performed_by"),
    ("certificate_number", "instruments.field.certificate_number"),
    ("result", "instruments.field.result"),
    ("next_due_on", "instruments.field.next_due_on"),
    ("maintenance_kind", "instruments.field.maintenance_kind"),
    ("correction_reason", "instruments.field.correction_reason"),
    ("course", "personnel.field.course"),
    ("trainer", "personnel.field.trainer"),
    ("completed_on", "personnel.field.completed_on"),
    ("valid_until", "personnel.field.valid_until"),
    ("assessed_by", "personnel.field.assessed_by"),
    ("assessed_on", "personnel.field.assessed_on"),
    ("assessment_result", "personnel.field.assessment_result"),
    ("assessment_notes", "personnel.field.assessment_notes"),
    ("method_id", "personnel.method"),
    ("basis", "personnel.field.basis"),
    ("training_record_id", "personnel.field.training_record_id"),
    ("granted_on", "personnel.field.granted_on"),
    ("expires_on", "personnel.field.expires_on"),
    ("revocation_reason", "personnel.field.revocation_reason"),
    ("file", "tariff.web.file"),
    ("nomenclature", "tariff.web.nomenclature"),
    ("number", "report_verify.number"),
    ("h", "report_verify.hash"),
    ("pdf", "report_verify.pdf"),
    ("declaration", "seizures.declaration_number"),
    ("lab_code", "portal.lab_code"),
    ("dates", "portal.dates"),
];

impl FromRequest for Ctx {
    type Error = AppError;
    type Future = Ready<Result<Ctx, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Ctx::from_request(req)))
    }
}
