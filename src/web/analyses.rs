//! Tests on samples: assignment (supervisor), "My tests" and the result form of a sample
//! (analyst), one test's record with its history, and the review queue with approval and
//! rejection (supervisor, never of their own work).

use actix_session::Session;
use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::analysis::external::{self, ExternalInput, Referral};
use crate::analysis::result::{
    self, Action, InstrumentUse, Observation, ObservationKind, Qualifier, Refusal, ResultEntry,
    ResultInput, OBSERVATION_ROWS,
};
use crate::analysis::review::{self, QueueCursor, RejectInput};
use crate::analysis::{self, AnalysisRow, AssignInput, DueCursor, MethodChoice, PickInput};
use crate::attachment::{self, Listed, Owner};
use crate::custody::CustodyEvent;
use crate::error::AppError;
use crate::ids::{AnalysisId, SampleId, SeizureId, UserId};
use crate::instrument::Instrument;
use crate::sample::{self, Sample};
use crate::seizure;
use crate::validation::{opt, FieldErrors};
use crate::web::attachments::AttachmentsView;
use crate::web::context::Ctx;
use crate::web::forms::{Pager, Pairs};
use crate::web::session::CsrfForm;
use crate::web::{done, invalid, render, render_status, status_for, AppState, Submitted};

const PAGE_SIZE: i64 = 50;
/// The most tests one form carries (methods offered, or tests of a sample).
const MAX_ROWS: usize = 100;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/samples/{id}/analyses/new",
        web::get().to(assign_sample_form),
    )
    .route("/samples/{id}/analyses", web::post().to(assign_sample))
    .route(
        "/seizures/{id}/analyses/new",
        web::get().to(assign_seizure_form),
    )
    .route("/seizures/{id}/analyses", web::post().to(assign_seizure))
    .route("/my-tests", web::get().to(worklist))
    .route("/samples/{id}/results", web::get().to(results_form))
    .route("/samples/{id}/results", web::post().to(save_results))
    .route("/review", web::get().to(queue))
    .route("/analyses/{id}", web::get().to(show))
    .route("/analyses/{id}/approve", web::post().to(approve))
    .route("/analyses/{id}/reject", web::post().to(reject))
    .route("/samples/{id}/external", web::get().to(external_form))
    .route("/samples/{id}/external", web::post().to(save_external));
}

// ---- Assignment ----

/// What tests are assigned to: one sample, or the samples of a seizure that can take them.
struct Target {
    title: String,
    action: String,
    back: String,
    samples: Vec<Sample>,
}

#[derive(Template)]
#[template(path = "analyses/assign.html")]
struct AssignPage {
    ctx: Ctx,
    target: Target,
    choices: Vec<MethodChoice>,
    form: AssignInput,
    errors: FieldErrors,
}

impl AssignPage {
    fn picked(&self, i: &usize) -> bool {
        self.form.picks.get(*i).is_some_and(|p| p.pick.is_some())
    }

    fn analyst(&self, i: &usize) -> &str {
        self.form
            .picks
            .get(*i)
            .map_or("", |p| p.analyst_id.as_str())
    }
}

async fn sample_target(state: &AppState, id: SampleId) -> Result<Target, AppError> {
    let s = state.db(move |conn| Ok(sample::find(conn, &id)?)).await?;
    Ok(Target {
        title: s.lab_code.clone(),
        action: format!("/samples/{}/analyses", s.id),
        back: format!("/samples/{}", s.id),
        samples: vec![s],
    })
}

async fn seizure_target(state: &AppState, id: SeizureId) -> Result<Target, AppError> {
    let (z, samples) = state
        .db(move |conn| {
            let z = seizure::find(conn, &id)?;
            let samples = analysis::assignable_of_seizure(conn, &id)?;
            Ok((z, samples))
        })
        .await?;
    Ok(Target {
        title: z.reference.clone(),
        action: format!("/seizures/{}/analyses", z.id),
        back: format!("/seizures/{}", z.id),
        samples,
    })
}

async fn assign_page(
    ctx: Ctx,
    state: &AppState,
    target: Target,
    form: AssignInput,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let today = ctx.today();
    let choices = state
        .db(move |conn| Ok(analysis::choices(conn, today)?))
        .await?;
    let page = AssignPage {
        ctx,
        target,
        choices,
        form,
        errors,
    };
    render_status(&page, status_for(&page.errors))
}

async fn assign_sample_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SampleId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let target = sample_target(&state, path.into_inner()).await?;
    assign_page(
        ctx,
        &state,
        target,
        AssignInput::default(),
        FieldErrors::default(),
    )
    .await
}

async fn assign_seizure_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SeizureId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let target = seizure_target(&state, path.into_inner()).await?;
    assign_page(
        ctx,
        &state,
        target,
        AssignInput::default(),
        FieldErrors::default(),
    )
    .await
}

fn assign_input(pairs: &Pairs) -> AssignInput {
    let n = pairs.count("rows", 1, MAX_ROWS);
    AssignInput {
        due_on: pairs.get("due_on").unwrap_or_default().to_string(),
        picks: (0..n)
            .map(|i| pairs.group::<PickInput>(&format!("m{i}_")))
            .collect(),
    }
}

async fn assign_to(
    ctx: Ctx,
    state: &AppState,
    session: &Session,
    target: Target,
    pairs: Pairs,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let form = assign_input(&pairs);
    let (input, ids, today) = (
        form.clone(),
        target
            .samples
            .iter()
            .map(|s| s.id.clone())
            .collect::<Vec<_>>(),
        ctx.today(),
    );
    match state
        .submit(move |conn| analysis::assign(conn, &who, &ids, &input, today))
        .await?
    {
        Submitted::Done(n) => {
            let text = ctx.t1("analyses.assigned", "n", n);
            Ok(done(session, text, &target.back))
        }
        Submitted::Invalid(errors) => assign_page(ctx, state, target, form, errors).await,
    }
}

async fn assign_sample(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<SampleId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let target = sample_target(&state, path.into_inner()).await?;
    assign_to(ctx, &state, &session, target, Pairs(pairs)).await
}

async fn assign_seizure(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<SeizureId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let target = seizure_target(&state, path.into_inner()).await?;
    assign_to(ctx, &state, &session, target, Pairs(pairs)).await
}

// ---- My tests ----

#[derive(Deserialize, Default)]
struct AfterQuery {
    #[serde(default)]
    after: String,
}

#[derive(Template)]
#[template(path = "analyses/worklist.html")]
struct WorklistPage {
    ctx: Ctx,
    rows: Vec<AnalysisRow>,
    pager: Pager,
    today: chrono::NaiveDate,
}

async fn worklist(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<AfterQuery>,
) -> Result<HttpResponse, AppError> {
    let me = ctx.require(Permission::HandleSamples)?;
    let after = opt(&query.after).and_then(|a| DueCursor::decode(&a));
    let first_page = after.is_none();
    let me = me.id.clone();
    let (rows, next) = state
        .db(move |conn| Ok(analysis::worklist(conn, &me, after.as_ref(), PAGE_SIZE)?))
        .await?;
    let pager = Pager::after_key("/my-tests", &[], first_page, next.map(|c| c.encode()));
    render(&WorklistPage {
        today: ctx.today(),
        ctx,
        rows,
        pager,
    })
}

// ---- Result entry ----

/// One test of the sample's result form: what it is, what is typed, and what was entered.
struct TestForm {
    row: AnalysisRow,
    input: ResultInput,
    history: Vec<ResultEntry>,
    observations: Vec<Observation>,
    /// The test's raw data files; shown after the result form, as uploads are forms of their own.
    files: Option<AttachmentsView>,
}

/// The attachment panel of one test, headed with its method so a sample's panels tell apart.
fn test_files(
    ctx: &Ctx,
    state: &AppState,
    row: &AnalysisRow,
    items: Vec<Listed>,
    back: String,
) -> Option<AttachmentsView> {
    let owner = Owner::Analysis(row.analysis.id.clone());
    AttachmentsView::new(ctx, state, &owner, items, back).map(|v| {
        let title = format!(
            "{} · {} {}",
            ctx.t("attachments.title"),
            row.code,
            row.version.name
        );
        v.titled(title)
    })
}

#[derive(Template)]
#[template(path = "analyses/results.html")]
struct ResultsPage {
    ctx: Ctx,
    sample: Sample,
    tests: Vec<TestForm>,
    instruments: Vec<Instrument>,
    errors: FieldErrors,
    refusals: Vec<(String, Refusal)>,
    qualifiers: Vec<(String, String)>,
    kinds: Vec<(String, String)>,
}

impl ResultsPage {
    fn refusal(&self, field: &str) -> String {
        self.refusals
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, r)| {
                self.ctx.tf(
                    &format!("{}_detail", r.key),
                    &[("tag", &r.tag), ("detail", &self.ctx.date(&r.detail))],
                )
            })
            .unwrap_or_default()
    }
}

/// The analyst's open tests on a sample with their current entries, and the instruments they
/// may choose; `typed` replaces the stored values with what was sent.
async fn load_results(
    ctx: Ctx,
    state: &AppState,
    id: SampleId,
    me: UserId,
    typed: Option<Vec<ResultInput>>,
    errors: FieldErrors,
    refusals: Vec<(String, Refusal)>,
) -> Result<ResultsPage, AppError> {
    let today = ctx.today();
    let lang = ctx.lang;
    let (sample, tests, instruments) = state
        .db(move |conn| {
            let sample = sample::find(conn, &id)?;
            let mut tests = Vec::new();
            for row in analysis::of_sample(conn, &id)? {
                let a = &row.analysis;
                if a.analyst_id.as_ref() != Some(&me) || !a.status.open() {
                    continue;
                }
                let history = result::entries(conn, &a.id)?;
                let used = result::instruments_used(conn, &a.id)?;
                let files = attachment::of_owner(conn, &Owner::Analysis(a.id.clone()))?;
                let input = ResultInput::from_entry(
                    a,
                    history.last(),
                    used.last().map(|(u, _)| &u.instrument_id),
                    lang,
                );
                tests.push((
                    TestForm {
                        observations: result::observations(conn, &a.id)?,
                        row,
                        input,
                        history,
                        files: None,
                    },
                    files,
                ));
            }
            let instruments = result::usable_instruments(conn, today)?;
            Ok((sample, tests, instruments))
        })
        .await?;
    let back = format!("/samples/{}/results", sample.id);
    let mut tests: Vec<TestForm> = tests
        .into_iter()
        .map(|(t, items)| TestForm {
            files: test_files(&ctx, state, &t.row, items, back.clone()),
            ..t
        })
        .collect();
    if let Some(typed) = typed {
        for t in &mut tests {
            if let Some(input) = typed.iter().find(|i| i.analysis_id == t.row.analysis.id.0) {
                t.input = input.clone();
            }
        }
    }
    Ok(ResultsPage {
        qualifiers: qualifier_options(&ctx),
        kinds: ObservationKind::ALL
            .iter()
            .map(|k| (k.as_str().into(), ctx.label("analyses.observation", k)))
            .collect(),
        ctx,
        sample,
        tests,
        instruments,
        errors,
        refusals,
    })
}

async fn results_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SampleId>,
) -> Result<HttpResponse, AppError> {
    let me = ctx.require(Permission::HandleSamples)?.id.clone();
    let page = load_results(
        ctx,
        &state,
        path.into_inner(),
        me,
        None,
        FieldErrors::default(),
        Vec::new(),
    )
    .await?;
    render(&page)
}

fn result_inputs(pairs: &Pairs) -> Vec<ResultInput> {
    let n = pairs.count("tests", 1, MAX_ROWS);
    (0..n)
        .map(|i| {
            let mut input: ResultInput = pairs.group(&format!("a{i}_"));
            input.observations = (0..OBSERVATION_ROWS)
                .map(|j| pairs.group(&format!("a{i}_o{j}_")))
                .collect();
            input
        })
        .collect()
}

async fn save_results(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<SampleId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::HandleSamples)?;
    let me = who.user_id.clone();
    let id = path.into_inner();
    let pairs = Pairs(pairs);
    let inputs = result_inputs(&pairs);
    let action = match pairs.get("action") {
        Some("submit") => Action::Submit,
        _ => Action::Draft,
    };
    let (sid, sent, today) = (id.clone(), inputs.clone(), ctx.today());
    let saved = state
        .db(move |conn| result::save(conn, &who, &sid, &sent, action, today))
        .await?;
    match saved {
        Ok(n) => {
            let key = match action {
                Action::Draft => "analyses.saved_draft",
                Action::Submit => "analyses.submitted",
            };
            let text = ctx.t1(key, "n", n);
            Ok(done(&session, text, &format!("/samples/{id}/results")))
        }
        Err(refused) => {
            let page = load_results(
                ctx,
                &state,
                id,
                me,
                Some(inputs),
                refused.errors,
                refused.instruments,
            )
            .await?;
            invalid(&page)
        }
    }
}

// ---- One test, review ----

#[derive(Template)]
#[template(path = "analyses/show.html")]
struct ShowPage {
    ctx: Ctx,
    row: AnalysisRow,
    entries: Vec<ResultEntry>,
    observations: Vec<Observation>,
    used: Vec<(InstrumentUse, String)>,
    people: std::collections::HashMap<UserId, String>,
    authorization_basis: Option<String>,
    retests: Vec<AnalysisRow>,
    files: Option<AttachmentsView>,
    can_review: bool,
    analysts: Vec<(UserId, String)>,
    form: RejectInput,
    errors: FieldErrors,
    /// An external result's referral and return events, and the laboratory's report.
    external: Option<ExternalRecord>,
}

/// What an external result's page shows besides the result: the custody events it is linked
/// to and the partner laboratory's report files.
struct ExternalRecord {
    events: Vec<CustodyEvent>,
    files: Option<AttachmentsView>,
}

impl ShowPage {
    fn name(&self, id: &Option<UserId>) -> String {
        id.as_ref()
            .and_then(|i| self.people.get(i).cloned())
            .unwrap_or_default()
    }

    /// The analyst's own open test: they may enter its results.
    fn mine(&self) -> bool {
        let a = &self.row.analysis;
        a.status.open() && a.analyst_id.as_ref() == self.ctx.user.as_ref().map(|u| &u.id)
    }

    fn name_of(&self, id: &UserId) -> String {
        self.people.get(id).cloned().unwrap_or_default()
    }
}

async fn show_page(
    ctx: Ctx,
    state: &AppState,
    id: AnalysisId,
    form: RejectInput,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let me = ctx.require(Permission::ViewLabResults)?.id.clone();
    let supervisor = ctx.can(Permission::Supervise);
    let today = ctx.today();
    let page = state
        .db(move |conn| {
            let a = analysis::find(conn, &id)?;
            let family = analysis::of_sample(conn, &a.sample_id)?;
            let retests: Vec<AnalysisRow> = family
                .iter()
                .filter(|r| r.analysis.retest_of_id.as_ref() == Some(&id))
                .cloned()
                .collect();
            let row = family
                .into_iter()
                .find(|r| r.analysis.id == id)
                .ok_or(AppError::NotFound)?;
            let entries = result::entries(conn, &id)?;
            let observations = result::observations(conn, &id)?;
            let used = result::instruments_used(conn, &id)?;
            let files = attachment::of_owner(conn, &Owner::Analysis(id.clone()))?;
            let mut ids: Vec<&UserId> = entries.iter().map(|e| &e.entered_by).collect();
            ids.extend(observations.iter().map(|o| &o.entered_by));
            ids.extend(
                [&a.assigned_by]
                    .into_iter()
                    .chain(a.reviewed_by.iter())
                    .chain(a.submitted_by.iter())
                    .chain(a.analyst_id.iter()),
            );
            let people = analysis::names(conn, &ids)?;
            let authorization_basis = match &a.authorization_id {
                Some(auth) => Some(crate::personnel::find_authorization(conn, auth)?.basis),
                None => None,
            };
            let analysts = analysis::choices(conn, today)?
                .into_iter()
                .find(|c| c.method.id == a.method_id)
                .map(|c| c.analysts)
                .unwrap_or_default();
            let can_review = supervisor
                && a.status == analysis::AnalysisStatus::Submitted
                && review::may_review(&a, &me);
            Ok((
                row,
                entries,
                observations,
                used,
                people,
                authorization_basis,
                retests,
                files,
                can_review,
                analysts,
            ))
        })
        .await?;
    let (
        row,
        entries,
        observations,
        used,
        people,
        authorization_basis,
        retests,
        files,
        can_review,
        analysts,
    ) = page;
    let external = match row.analysis.is_external {
        true => Some(external_record(&ctx, state, &row.analysis).await?),
        false => None,
    };
    let back = format!("/analyses/{}", row.analysis.id);
    let files = test_files(&ctx, state, &row, files, back);
    let page = ShowPage {
        ctx,
        row,
        entries,
        observations,
        used,
        people,
        authorization_basis,
        retests,
        files,
        can_review,
        analysts,
        form,
        errors,
        external,
    };
    render_status(&page, status_for(&page.errors))
}

async fn external_record(
    ctx: &Ctx,
    state: &AppState,
    a: &analysis::Analysis,
) -> Result<ExternalRecord, AppError> {
    let owner = Owner::ExternalReport(a.id.clone());
    let (sample_id, linked, looked_up) = (
        a.sample_id.clone(),
        [a.referral_event_id.clone(), a.return_event_id.clone()],
        owner.clone(),
    );
    let (events, items) = state
        .db(move |conn| {
            let events = crate::custody::for_sample(conn, &sample_id)?
                .into_iter()
                .filter(|e| linked.contains(&Some(e.id.clone())))
                .collect::<Vec<_>>();
            Ok((events, attachment::of_owner(conn, &looked_up)?))
        })
        .await?;
    let back = format!("/analyses/{}", a.id);
    Ok(ExternalRecord {
        events,
        files: AttachmentsView::new(ctx, state, &owner, items, back),
    })
}

// ---- External laboratory results ----

#[derive(Template)]
#[template(path = "analyses/external.html")]
struct ExternalPage {
    ctx: Ctx,
    sample: Sample,
    referral: Option<Referral>,
    methods: Vec<(String, String)>,
    form: ExternalInput,
    qualifiers: Vec<(String, String)>,
    errors: FieldErrors,
}

async fn external_page(
    ctx: Ctx,
    state: &AppState,
    id: SampleId,
    form: Option<ExternalInput>,
    errors: FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (sample, referral, methods) = state
        .db(move |conn| {
            let sample = sample::find(conn, &id)?;
            let referral = external::referral(conn, &id)?;
            let methods = crate::method::in_use(conn)?
                .into_iter()
                .map(|(m, v)| (m.id.0, format!("{} · {} v{}", m.code, v.name, v.version_no)))
                .collect();
            Ok((sample, referral, methods))
        })
        .await?;
    // The laboratory the sample was sent to, until the supervisor types otherwise.
    let form = form.unwrap_or_else(|| ExternalInput {
        external_lab: referral
            .as_ref()
            .and_then(|r| r.sent.external_lab.clone())
            .unwrap_or_default(),
        ..Default::default()
    });
    let page = ExternalPage {
        qualifiers: qualifier_options(&ctx),
        ctx,
        sample,
        referral,
        methods,
        form,
        errors,
    };
    render_status(&page, status_for(&page.errors))
}

async fn external_form(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SampleId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    external_page(ctx, &state, path.into_inner(), None, FieldErrors::default()).await
}

async fn save_external(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<SampleId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let id = path.into_inner();
    let pairs = Pairs(pairs);
    let mut form: ExternalInput = pairs.group("");
    form.result = pairs.group("a0_");
    let (sid, input, today) = (id.clone(), form.clone(), ctx.today());
    match state
        .submit(move |conn| external::enter(conn, &who, &sid, &input, today))
        .await?
    {
        Submitted::Done(a) => Ok(done(
            &session,
            ctx.t("external.entered"),
            &format!("/analyses/{}", a.id),
        )),
        Submitted::Invalid(errors) => external_page(ctx, &state, id, Some(form), errors).await,
    }
}

async fn show(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<AnalysisId>,
) -> Result<HttpResponse, AppError> {
    show_page(
        ctx,
        &state,
        path.into_inner(),
        RejectInput::default(),
        FieldErrors::default(),
    )
    .await
}

#[derive(Template)]
#[template(path = "analyses/queue.html")]
struct QueuePage {
    ctx: Ctx,
    rows: Vec<AnalysisRow>,
    pager: Pager,
}

async fn queue(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<AfterQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::Supervise)?;
    let after = opt(&query.after).and_then(|a| QueueCursor::decode(&a));
    let first_page = after.is_none();
    let (rows, next) = state
        .db(move |conn| Ok(review::queue(conn, after.as_ref(), PAGE_SIZE)?))
        .await?;
    let pager = Pager::after_key("/review", &[], first_page, next.map(|c| c.encode()));
    render(&QueuePage { ctx, rows, pager })
}

#[derive(Deserialize, Default)]
struct Nothing {}

async fn approve(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<AnalysisId>,
    CsrfForm(_): CsrfForm<Nothing>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let id = path.into_inner();
    let aid = id.clone();
    state
        .db(move |conn| review::approve(conn, &who, &aid))
        .await?;
    Ok(done(
        &session,
        ctx.t("analyses.approved"),
        &format!("/analyses/{id}"),
    ))
}

async fn reject(
    ctx: Ctx,
    state: web::Data<AppState>,
    session: Session,
    path: web::Path<AnalysisId>,
    CsrfForm(form): CsrfForm<RejectInput>,
) -> Result<HttpResponse, AppError> {
    let who = ctx.handler(Permission::Supervise)?;
    let id = path.into_inner();
    let (aid, input, today) = (id.clone(), form.clone(), ctx.today());
    match state
        .submit(move |conn| review::reject(conn, &who, &aid, &input, today))
        .await?
    {
        Submitted::Done(retest) => Ok(done(
            &session,
            ctx.t("analyses.rejected"),
            &format!("/analyses/{}", retest.id),
        )),
        Submitted::Invalid(errors) => show_page(ctx, &state, id, form, errors).await,
    }
}

/// The qualifier choices of a result (`=`, `<`, `<LOD`…), in the reader's language.
fn qualifier_options(ctx: &Ctx) -> Vec<(String, String)> {
    Qualifier::ALL
        .iter()
        .map(|q| (q.as_str().into(), ctx.label("analyses.qualifier", q)))
        .collect()
}
