//! The supervisors' report pages: drafting from a sample or a seizure, the list, a report's
//! page (its versions, the content as it will print, what the supervisor writes on the draft,
//! signing, discarding, amending). Only supervisors: others get 403. The issued report's own
//! pages, by number, are elsewhere (`/reports/{number}`), hence the UUID pattern here.

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::error::AppError;
use crate::ids::{ReportId, ReportVersionId, SampleId, SeizureId};
use crate::report::content::{Conformity, ReportContent};
use crate::report::draft::{self, DraftInput, Target};
use crate::report::sign::{self, Issuing, SignInput};
use crate::report::{self, build, ListRow, SignatureMeaning, SignatureRow, Version, VersionStatus};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::forms::Pager;
use crate::web::session::CsrfForm;
use crate::web::{done, invalid, render, AppState, Submitted};

const PAGE_SIZE: i64 = 50;
const UUID: &str = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";

pub fn config(cfg: &mut web::ServiceConfig) {
    let one = format!("/reports/{{id:{UUID}}}");
    let version = format!("{one}/versions/{{version:{UUID}}}");
    cfg.route("/reports", web::get().to(list))
        .route("/reports/new", web::get().to(new_page))
        .route("/reports/new", web::post().to(create))
        .route(&one, web::get().to(show))
        .route(&format!("{version}/edit"), web::post().to(edit))
        .route(&format!("{version}/sign"), web::post().to(sign_version))
        .route(&format!("{version}/discard"), web::post().to(discard))
        .route(&format!("{version}/amend"), web::post().to(amend));
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    status: String,
    after: String,
}

#[derive(Template)]
#[template(path = "reports/list.html")]
struct ListPage {
    ctx: Ctx,
    rows: Vec<ListRow>,
    status: String,
    pager: Pager,
}

impl ListPage {
    fn tabs(&self) -> Vec<(&'static str, String)> {
        std::iter::once(("", "reports.all".to_string()))
            .chain(
                VersionStatus::ALL
                    .iter()
                    .map(|s| (s.as_str(), format!("reports.status.{}", s.as_str()))),
            )
            .collect()
    }
}

async fn list(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let q = query.into_inner();
    let status = VersionStatus::parse(&q.status);
    let cursor = report::Cursor::decode(&q.after);
    let first_page = cursor.is_none();
    let (rows, next) = state
        .db(move |conn| Ok(report::list(conn, status, cursor.as_ref(), PAGE_SIZE)?))
        .await?;
    let status_text = status.map(|s| s.as_str().to_string()).unwrap_or_default();
    let pager = Pager::new(
        "/reports",
        &[("status", status_text.as_str())],
        first_page,
        next.as_ref(),
    );
    render(&ListPage {
        ctx,
        rows,
        status: status_text,
        pager,
    })
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct TargetQuery {
    sample: String,
    seizure: String,
}

impl TargetQuery {
    fn target(&self) -> Result<Target, AppError> {
        if let Some(id) = SampleId::parse(&self.sample) {
            Ok(Target::Sample(id))
        } else if let Some(id) = SeizureId::parse(&self.seizure) {
            Ok(Target::Seizure(id))
        } else {
            Err(AppError::NotFound)
        }
    }
}

/// The drafting page: what the report would cover, or why it cannot be drafted yet.
#[derive(Template)]
#[template(path = "reports/new.html")]
struct NewPage {
    ctx: Ctx,
    target: TargetQuery,
    /// Lab codes and methods of the approved tests the draft will report.
    covered: Vec<(String, usize)>,
    title: String,
    errors: FieldErrors,
}

async fn new_load(
    ctx: Ctx,
    state: &AppState,
    target: TargetQuery,
    errors: FieldErrors,
) -> Result<NewPage, AppError> {
    let t = target.target()?;
    let (title, covered, mut found) = state
        .db(move |conn| {
            let (seizure_id, sample_id, title) = match &t {
                Target::Sample(id) => {
                    let s = crate::sample::find(conn, id)?;
                    (s.seizure_id, Some(id.clone()), s.lab_code)
                }
                Target::Seizure(id) => {
                    let s = crate::seizure::find(conn, id)?;
                    (id.clone(), None, s.reference)
                }
            };
            let mut found = FieldErrors::default();
            let covered = match build::scope(conn, &seizure_id, sample_id.as_ref(), "report") {
                Ok(scope) => scope
                    .samples
                    .iter()
                    .map(|s| {
                        let n = scope
                            .analyses
                            .iter()
                            .filter(|a| a.sample_id == s.id)
                            .count();
                        (s.lab_code.clone(), n)
                    })
                    .collect(),
                Err(AppError::Invalid(e)) => {
                    found = e;
                    Vec::new()
                }
                Err(e) => return Err(e),
            };
            if crate::lab_settings::current(conn)?.is_none() && found.is_empty() {
                found.add("report", "reports.refused.no_settings");
            }
            Ok((title, covered, found))
        })
        .await?;
    if !errors.is_empty() {
        found = errors;
    }
    Ok(NewPage {
        ctx,
        target,
        covered,
        title,
        errors: found,
    })
}

async fn new_page(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<TargetQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let page = new_load(ctx, &state, query.into_inner(), FieldErrors::default()).await?;
    crate::web::render_status(&page, crate::web::status_for(&page.errors))
}

async fn create(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(form): CsrfForm<TargetQuery>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let target = form.target()?;
    let tz = state.config.timezone;
    match state
        .submit(move |conn| draft::create(conn, &who, tz, &target))
        .await?
    {
        Submitted::Done(v) => Ok(done(
            &session,
            ctx.t("reports.drafted"),
            &format!("/reports/{}", v.report_id),
        )),
        Submitted::Invalid(errors) => invalid(&new_load(ctx, &state, form, errors).await?),
    }
}

/// A version as the page shows it.
pub struct Shown {
    pub version: Version,
    pub content: ReportContent,
    pub signatures: Vec<SignatureRow>,
    pub superseded_by: Option<String>,
}

#[derive(Template)]
#[template(path = "reports/show.html")]
struct ShowPage {
    ctx: Ctx,
    report_id: ReportId,
    /// Every version, newest first.
    versions: Vec<Shown>,
    /// The version shown in full: the open one, else the latest.
    current: usize,
    form: DraftInput,
    sign: SignInput,
    reason: String,
    errors: FieldErrors,
    /// The form the errors belong to: edit, sign, discard or amend.
    failed: &'static str,
}

impl ShowPage {
    fn shown(&self) -> &Shown {
        &self.versions[self.current]
    }

    fn meanings(&self) -> Vec<(String, String)> {
        SignatureMeaning::ALL
            .iter()
            .map(|m| {
                (
                    m.as_str().to_string(),
                    self.ctx.t(format!("reports.meaning.{}", m.as_str())),
                )
            })
            .collect()
    }

    fn is_open(&self) -> bool {
        matches!(
            self.shown().version.status,
            VersionStatus::Draft | VersionStatus::PendingSignature
        )
    }

    fn is_draft(&self) -> bool {
        self.shown().version.status == VersionStatus::Draft
    }

    /// Amendable: the version shown is issued and nothing amends it yet.
    fn amendable(&self) -> bool {
        let v = &self.shown().version;
        v.status == VersionStatus::Issued
            && !self.versions.iter().any(|o| {
                o.version.supersedes_id.as_ref() == Some(&v.id)
                    && o.version.status != VersionStatus::Discarded
            })
    }

    fn errors_for(&self, form: &str) -> FieldErrors {
        if self.failed == form {
            self.errors.clone()
        } else {
            FieldErrors::default()
        }
    }

    fn action(&self, what: &str) -> String {
        format!(
            "/reports/{}/versions/{}/{what}",
            self.report_id,
            self.shown().version.id
        )
    }

    fn yes_no(&self, b: &Option<bool>) -> String {
        match b {
            Some(true) => self.ctx.t("reports.seal_intact"),
            Some(false) => self.ctx.t("reports.seal_broken"),
            None => "—".into(),
        }
    }

    fn conformity_text(&self, c: &Conformity) -> String {
        self.ctx.t(match c {
            Conformity::Conforms => "reports.conforms",
            Conformity::DoesNotConform => "reports.does_not_conform",
        })
    }

    fn opt<'a>(&self, s: &'a Option<String>) -> &'a str {
        s.as_deref().unwrap_or("—")
    }
}

struct Failed {
    form: &'static str,
    errors: FieldErrors,
    draft: Option<DraftInput>,
    sign: SignInput,
    reason: String,
}

async fn show_load(
    ctx: Ctx,
    state: &AppState,
    id: ReportId,
    failed: Option<Failed>,
) -> Result<ShowPage, AppError> {
    let rid = id.clone();
    let versions = state
        .db(move |conn| {
            report::find_report(conn, &rid)?;
            let mut out = Vec::new();
            for v in report::versions_of(conn, &rid)?.into_iter().rev() {
                let signatures = report::signatures_of(conn, &v.id)?;
                let superseded_by =
                    report::superseded_by(conn, &v.id)?.and_then(|n| n.report_number);
                out.push(Shown {
                    content: v.parsed()?,
                    version: v,
                    signatures,
                    superseded_by,
                });
            }
            Ok(out)
        })
        .await?;
    let current = versions
        .iter()
        .position(|v| {
            matches!(
                v.version.status,
                VersionStatus::Draft | VersionStatus::PendingSignature
            )
        })
        .unwrap_or(0);
    let form = DraftInput::of(&versions[current].version);
    let mut page = ShowPage {
        ctx,
        report_id: id,
        versions,
        current,
        form,
        sign: SignInput::default(),
        reason: String::new(),
        errors: FieldErrors::default(),
        failed: "",
    };
    if let Some(f) = failed {
        page.failed = f.form;
        page.errors = f.errors;
        if let Some(d) = f.draft {
            page.form = d;
        }
        page.sign = SignInput {
            password: String::new(),
            ..f.sign
        };
        page.reason = f.reason;
    }
    Ok(page)
}

async fn show(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<ReportId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    render(&show_load(ctx, &state, path.into_inner(), None).await?)
}

type VersionPath = web::Path<(ReportId, ReportVersionId)>;

/// After an action: back to the report with a message, or the page with the form's errors.
async fn settle(
    ctx: Ctx,
    state: &AppState,
    session: &Session,
    id: ReportId,
    outcome: Submitted<Version>,
    message: &str,
    failed: impl FnOnce(FieldErrors) -> Failed,
) -> Result<HttpResponse, AppError> {
    match outcome {
        Submitted::Done(_) => Ok(done(session, ctx.t(message), &format!("/reports/{id}"))),
        Submitted::Invalid(errors) => {
            invalid(&show_load(ctx, state, id, Some(failed(errors))).await?)
        }
    }
}

async fn edit(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: VersionPath,
    CsrfForm(form): CsrfForm<DraftInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let (id, version) = path.into_inner();
    let tz = state.config.timezone;
    let input = form.clone();
    let outcome = state
        .submit(move |conn| draft::edit(conn, &who, tz, &version, &input))
        .await?;
    settle(
        ctx,
        &state,
        &session,
        id,
        outcome,
        "reports.saved",
        |errors| Failed {
            form: "edit",
            errors,
            draft: Some(form),
            sign: SignInput::default(),
            reason: String::new(),
        },
    )
    .await
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct ReasonInput {
    reason: String,
}

async fn discard(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: VersionPath,
    CsrfForm(form): CsrfForm<ReasonInput>,
) -> Result<HttpResponse, AppError> {
    with_reason(ctx, state, session, path, form, "discard").await
}

async fn amend(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: VersionPath,
    CsrfForm(form): CsrfForm<ReasonInput>,
) -> Result<HttpResponse, AppError> {
    with_reason(ctx, state, session, path, form, "amend").await
}

/// Discarding and amending: a version and a reason.
async fn with_reason(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: VersionPath,
    form: ReasonInput,
    what: &'static str,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let (id, version) = path.into_inner();
    let tz = state.config.timezone;
    let reason = form.reason.clone();
    let amending = what == "amend";
    let outcome = state
        .submit(move |conn| {
            if amending {
                draft::amend(conn, &who, tz, &version, &reason)
            } else {
                draft::discard(conn, &who, &version, &reason)
            }
        })
        .await?;
    let message = if amending {
        "reports.amending"
    } else {
        "reports.discarded"
    };
    settle(ctx, &state, &session, id, outcome, message, |errors| {
        Failed {
            form: what,
            errors,
            draft: None,
            sign: SignInput::default(),
            reason: form.reason,
        }
    })
    .await
}

async fn sign_version(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: VersionPath,
    CsrfForm(form): CsrfForm<SignInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let (id, version) = path.into_inner();
    let failed = |form: SignInput| {
        move |errors| Failed {
            form: "sign",
            errors,
            draft: None,
            sign: form,
            reason: String::new(),
        }
    };
    let input = form.clone();
    let pending = match state
        .submit(move |conn| sign::begin(conn, &who, &input))
        .await?
    {
        Submitted::Done(p) => p,
        Submitted::Invalid(errors) => {
            let page = show_load(ctx, &state, id, Some(failed(form)(errors))).await?;
            return invalid(&page);
        }
    };
    let checked = state.cpu(move || Ok(pending.check())).await?;
    let who = ctx.handler(Permission::Supervise)?;
    let files = crate::blob::Blocking {
        store: state.blobs()?.clone(),
        runtime: tokio::runtime::Handle::current(),
    };
    let keys = crate::custody::key::installed()?;
    let public_url = state.config.public_url.clone();
    let tz = state.config.timezone;
    let meaning = form.meaning.clone();
    let outcome = state
        .submit(move |conn| {
            let issuing = Issuing {
                keys,
                files: &files,
                public_url: &public_url,
                tz,
            };
            sign::sign(conn, &who, &issuing, &version, &meaning, &checked)
        })
        .await?;
    let message = match &outcome {
        Submitted::Done(v) if v.status == VersionStatus::Issued => "reports.issued",
        _ => "reports.signed",
    };
    settle(ctx, &state, &session, id, outcome, message, failed(form)).await
}
