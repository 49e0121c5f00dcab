//! Seizure registration with its samples, the seizure list and the seizure page.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::error::AppError;
use crate::ids::SeizureId;
use crate::keyset::Position;
use crate::office::Office;
use crate::sample::{self, Priority, Sample, SampleInput, UNITS};
use crate::seizure::{self, RiskChannel, Seizure, SeizureFilter, SeizureInput};
use crate::user::Role;
use crate::validation::{date_range, local_input_value, FieldErrors};
use crate::web::context::Ctx;
use crate::web::forms::{Pager, Pairs};
use crate::web::session::{self, CsrfForm};
use crate::web::{done, invalid, render_status, see_other, AppState, Submitted};

pub const PAGE_SIZE: i64 = 50;
const MAX_ROWS: usize = 50;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/seizures", web::get().to(list))
        .route("/seizures", web::post().to(create))
        .route("/seizures/new", web::get().to(new_form))
        .route("/seizures/{id}", web::get().to(show))
        .route("/seizures/{id}/samples", web::get().to(add_samples_form))
        .route("/seizures/{id}/samples", web::post().to(add_samples));
}

/// The choices the seizure and sample forms offer.
pub struct Choices {
    pub offices: Vec<String>,
    /// Countries shown first in the origin list (code, name).
    pub frequent: Vec<(String, String)>,
    pub countries: &'static [(String, String)],
    pub channels: &'static [RiskChannel],
    pub units: &'static [&'static str],
    pub priorities: &'static [Priority],
}

impl Choices {
    /// Whether `code` is among the countries listed first.
    pub fn is_frequent(&self, code: &str) -> bool {
        self.frequent.iter().any(|(c, _)| c == code)
    }

    fn load(ctx: &Ctx, offices: Vec<String>) -> Choices {
        Choices {
            offices,
            frequent: Vec::new(),
            countries: crate::country::options(ctx.lang),
            channels: RiskChannel::ALL,
            units: UNITS,
            priorities: Priority::ALL,
        }
    }
}

#[derive(Template)]
#[template(path = "seizures/new.html")]
struct NewPage {
    ctx: Ctx,
    form: SeizureInput,
    rows: Vec<SampleInput>,
    errors: FieldErrors,
    choices: Choices,
    seal_required: bool,
    /// The format rules of the office typed (the defaults before one is).
    rules: Office,
}

/// What the registration form offers: the offices in use, the countries seen most, and the
/// format rules of the office in the form.
async fn form_choices(
    ctx: &Ctx,
    state: &AppState,
    office_name: &str,
) -> Result<(Choices, Office), AppError> {
    let name = office_name.to_string();
    let (offices, frequent, rules) = state
        .db(move |conn| {
            Ok((
                seizure::offices(conn)?,
                seizure::frequent_origins(conn, 8)?,
                crate::office::rules_for(conn, &name)?,
            ))
        })
        .await?;
    let mut choices = Choices::load(ctx, offices);
    choices.frequent = frequent
        .into_iter()
        .filter_map(|code| crate::country::name(&code, ctx.lang).map(|n| (code, n)))
        .collect();
    Ok((choices, rules))
}

fn blank_rows(n: usize) -> Vec<SampleInput> {
    (0..n)
        .map(|_| SampleInput {
            priority: Priority::Routine.as_str().into(),
            ..Default::default()
        })
        .collect()
}

async fn new_form(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Permission::RegisterSeizure)?;
    let form = SeizureInput {
        seized_at: local_input_value(&crate::db::now(), ctx.tz),
        seizing_officer: if user.role == Role::Enforcement {
            user.full_name.clone()
        } else {
            String::new()
        },
        ..Default::default()
    };
    let (choices, rules) = form_choices(&ctx, &state, &form.customs_office).await?;
    render_status(
        &NewPage {
            seal_required: user.role == Role::Enforcement,
            ctx,
            form,
            rows: blank_rows(2),
            errors: FieldErrors::default(),
            choices,
            rules,
        },
        StatusCode::OK,
    )
}

fn sample_rows(pairs: &Pairs) -> Vec<SampleInput> {
    let n = pairs.count("rows", 1, MAX_ROWS);
    (0..n).map(|i| pairs.group(&format!("s{i}_"))).collect()
}

async fn create(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Permission::RegisterSeizure)?;
    let pairs = Pairs(pairs);
    let form: SeizureInput = pairs.group("");
    let mut rows = sample_rows(&pairs);
    let seal_required = user.role == Role::Enforcement;
    // "Add a sample row" re-shows the form with what was typed and one more empty row.
    if pairs.get("add_row").is_some() {
        rows.extend(blank_rows(1));
        rows.truncate(MAX_ROWS);
        let (choices, rules) = form_choices(&ctx, &state, &form.customs_office).await?;
        return render_status(
            &NewPage {
                ctx,
                form,
                rows,
                errors: FieldErrors::default(),
                choices,
                seal_required,
                rules,
            },
            StatusCode::OK,
        );
    }
    let who = user.handler(ctx.remote_addr.clone());
    let tz = ctx.tz;
    let (input, sample_inputs) = (form.clone(), rows.clone());
    let registered = state
        .submit(move |conn| {
            seizure::register(conn, &who, &input, &sample_inputs, seal_required, tz)
        })
        .await?;
    match registered {
        Submitted::Done(done) => {
            let codes: Vec<&str> = done.samples.iter().map(|s| s.lab_code.as_str()).collect();
            // The officer's next step at the border post: label the bags before they leave.
            let labels =
                crate::access::may_print_labels(&user, &done.seizure.registered_by).then(|| {
                    session::FlashLink {
                        href: format!("/seizures/{}/labels", done.seizure.id),
                        text: ctx.t("labels.print_all"),
                    }
                });
            session::push_flash_with(
                &session,
                "ok",
                ctx.tf(
                    "seizures.registered",
                    &[
                        ("reference", &done.seizure.reference),
                        ("codes", &codes.join(", ")),
                    ],
                ),
                labels,
            );
            if done.unknown_tariff_code {
                session::push_flash(
                    &session,
                    "info",
                    ctx.t1(
                        "seizures.unknown_tariff_code",
                        "code",
                        crate::tariff::display_code(
                            done.seizure.declared_hs_code.as_deref().unwrap_or(""),
                        ),
                    ),
                );
            }
            Ok(see_other(&format!("/seizures/{}", done.seizure.id)))
        }
        Submitted::Invalid(errors) => {
            let (choices, rules) = form_choices(&ctx, &state, &form.customs_office).await?;
            invalid(&NewPage {
                ctx,
                form,
                rows,
                errors,
                choices,
                seal_required,
                rules,
            })
        }
    }
}

#[derive(Deserialize, Default, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub office: String,
    #[serde(default)]
    pub channel: String,
    /// Only the seizures the signed-in user registered.
    #[serde(default)]
    pub mine: String,
    /// Reference or declaration number, from its start.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub after: String,
}

impl ListQuery {
    /// The filters as they travel in the pager's links.
    fn filters(&self) -> [(&'static str, &str); 6] {
        [
            ("office", self.office.as_str()),
            ("channel", self.channel.as_str()),
            ("mine", self.mine.as_str()),
            ("q", self.q.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ]
    }
}

#[derive(Template)]
#[template(path = "seizures/list.html")]
struct ListPage {
    ctx: Ctx,
    query: ListQuery,
    errors: FieldErrors,
    seizures: Vec<Seizure>,
    offices: Vec<String>,
    channels: &'static [RiskChannel],
    pager: Pager,
}

async fn list(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewCases)?;
    let query = query.into_inner();
    let mut errors = FieldErrors::default();
    let (from, until) = date_range(&query.from, &query.to, ctx.tz, &mut errors);
    let risk_channel = match query.channel.as_str() {
        "" => None,
        c => RiskChannel::parse(c).or_else(|| {
            errors.add("channel", "validation.choose_one");
            None
        }),
    };
    let filter = SeizureFilter {
        customs_office: crate::validation::opt(&query.office),
        risk_channel,
        from,
        until,
        registered_by: if query.mine.is_empty() {
            None
        } else {
            Some(ctx.user()?.id.clone())
        },
        text: crate::validation::opt(query.q.trim()),
        ..Default::default()
    };
    let cursor = seizure::Cursor::decode(&query.after);
    let first_page = cursor.is_none();
    let valid = errors.is_empty();
    let (seizures, next, total, from_here, offices) = state
        .db(move |conn| {
            let (rows, next, total, from_here) = if valid {
                let p = seizure::page(conn, &filter, cursor.as_ref(), PAGE_SIZE)?;
                (p.rows, p.next, p.total, p.from_here)
            } else {
                (Vec::new(), None, 0, 0)
            };
            Ok((rows, next, total, from_here, seizure::offices(conn)?))
        })
        .await?;
    let pager = Pager::new("/seizures", &query.filters(), first_page, next.as_ref())
        .with_position(Position::new(total, from_here, seizures.len()));
    let status = crate::web::status_for(&errors);
    render_status(
        &ListPage {
            ctx,
            query,
            errors,
            seizures,
            offices,
            channels: RiskChannel::ALL,
            pager,
        },
        status,
    )
}

#[derive(Template)]
#[template(path = "seizures/show.html")]
struct ShowPage {
    ctx: Ctx,
    seizure: Seizure,
    /// Each sample with its latest custody event.
    samples: Vec<(Sample, Option<crate::custody::CustodyEvent>)>,
    registered_by: String,
    tariff_description: Option<String>,
    /// What the check of the declared code says when it found no line.
    tariff_note: Option<&'static str>,
    can_add_samples: bool,
    can_print: bool,
}

impl ShowPage {
    /// A tariff code as tariffs print it (3303.00.00).
    fn hs(&self, code: &str) -> String {
        crate::tariff::display_code(code)
    }
}

async fn show(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SeizureId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewCases)?;
    let id = path.into_inner();
    let (seizure, samples, registered_by, tariff) = state
        .db(move |conn| {
            let seizure = seizure::find(conn, &id)?;
            let samples = sample::of_seizure(conn, &id)?;
            let ids: Vec<_> = samples.iter().map(|s| s.id.clone()).collect();
            let mut last = crate::custody::latest(conn, &ids)?;
            let samples = samples
                .into_iter()
                .map(|s| {
                    let e = last.remove(&s.id);
                    (s, e)
                })
                .collect::<Vec<_>>();
            let by = crate::user::find(conn, &seizure.registered_by)?.full_name;
            let tariff = match &seizure.declared_hs_code {
                Some(code) => crate::tariff::check_code(conn, code)?,
                None => crate::tariff::TariffCheck::Empty,
            };
            Ok((seizure, samples, by, tariff))
        })
        .await?;
    let tariff_note = match &tariff {
        crate::tariff::TariffCheck::Unknown | crate::tariff::TariffCheck::NotChecked => {
            Some(tariff.message_key())
        }
        _ => None,
    };
    let tariff_description = match tariff {
        crate::tariff::TariffCheck::Known {
            description,
            description_es,
            ..
        } => Some(crate::tariff::description_in(
            ctx.lang,
            description,
            description_es,
        )),
        _ => None,
    };
    render_status(
        &ShowPage {
            can_add_samples: ctx.can(Permission::RegisterSeizure),
            can_print: ctx
                .user
                .as_ref()
                .is_some_and(|u| crate::access::may_print_labels(u, &seizure.registered_by)),
            ctx,
            seizure,
            samples,
            registered_by,
            tariff_description,
            tariff_note,
        },
        StatusCode::OK,
    )
}

#[derive(Template)]
#[template(path = "seizures/add_samples.html")]
struct AddSamplesPage {
    ctx: Ctx,
    seizure: Seizure,
    rows: Vec<SampleInput>,
    errors: FieldErrors,
    choices: Choices,
    seal_required: bool,
}

async fn add_samples_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SeizureId>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Permission::RegisterSeizure)?;
    let id = path.into_inner();
    let seizure = state.db(move |conn| Ok(seizure::find(conn, &id)?)).await?;
    let choices = Choices::load(&ctx, Vec::new());
    render_status(
        &AddSamplesPage {
            seal_required: user.role == Role::Enforcement,
            ctx,
            seizure,
            rows: blank_rows(1),
            errors: FieldErrors::default(),
            choices,
        },
        StatusCode::OK,
    )
}

async fn add_samples(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<SeizureId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let user = ctx.require(Permission::RegisterSeizure)?;
    let id = path.into_inner();
    let pairs = Pairs(pairs);
    let mut rows = sample_rows(&pairs);
    let seal_required = user.role == Role::Enforcement;
    let sid = id.clone();
    let seizure = state.db(move |conn| Ok(seizure::find(conn, &sid)?)).await?;
    let errors = if pairs.get("add_row").is_some() {
        rows.extend(blank_rows(1));
        rows.truncate(MAX_ROWS);
        FieldErrors::default()
    } else {
        let who = user.handler(ctx.remote_addr.clone());
        let (inputs, tz) = (rows.clone(), ctx.tz);
        let added = state
            .submit(move |conn| seizure::add_samples(conn, &who, &id, &inputs, seal_required, tz))
            .await?;
        match added {
            Submitted::Done(added) => {
                let codes: Vec<&str> = added.iter().map(|s| s.lab_code.as_str()).collect();
                let text = ctx.t1("seizures.samples_added", "codes", codes.join(", "));
                return Ok(done(&session, text, &format!("/seizures/{}", seizure.id)));
            }
            Submitted::Invalid(errors) => errors,
        }
    };
    let status = crate::web::status_for(&errors);
    let choices = Choices::load(&ctx, Vec::new());
    render_status(
        &AddSamplesPage {
            ctx,
            seizure,
            rows,
            errors,
            choices,
            seal_required,
        },
        status,
    )
}
