//! The start page after signing in: the day's work of this role as counts, each a link to the
//! list behind it, then what the role can do here.
//!
//! Every sample count is the total of the very list it links to: both come from the same
//! `samples::ListQuery`, read by the list's own code and counted by `sample::count`, which
//! shares its conditions with the list.

use actix_web::{web, HttpResponse};
use askama::Template;

use crate::access::Permission;
use crate::error::AppError;
use crate::sample::{self, SampleStatus};
use crate::seizure::{self, SeizureFilter};
use crate::validation::FieldErrors;
use crate::web::context::Ctx;
use crate::web::samples::ListQuery;
use crate::web::{render, AppState};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home));
}

/// One figure of the day's work and the list it counts.
pub struct Count {
    /// i18n key of what is counted ("awaiting receipt").
    pub label: String,
    pub href: String,
    pub count: i64,
    /// Needs attention when not zero (shown in the warning colour).
    pub alert: bool,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    ctx: Ctx,
    role_key: String,
    duties_key: String,
    /// Samples to work on (technicians and supervisors).
    work: Vec<Count>,
    /// Officers: their seizures, and their samples by status.
    seizures: Vec<Count>,
    /// Supervisors: instruments overdue for calibration or due within 30 days.
    instruments_due: Option<i64>,
}

/// A sample count: what it is, the list it links to, whether a non-zero count is a warning.
struct Planned {
    label: String,
    query: ListQuery,
    alert: bool,
}

fn plan(label: &str, alert: bool, query: ListQuery) -> Planned {
    Planned {
        label: label.to_string(),
        query,
        alert,
    }
}

fn on(value: &str) -> String {
    value.to_string()
}

/// The sample lists on a technician's or supervisor's home page.
fn lab_work(supervisor: bool) -> Vec<Planned> {
    let mut work = vec![
        plan(
            "home.count.awaiting_receipt",
            false,
            ListQuery {
                status: on(SampleStatus::Registered.as_str()),
                ..Default::default()
            },
        ),
        plan(
            "home.count.in_my_custody",
            false,
            ListQuery {
                held: on("1"),
                ..Default::default()
            },
        ),
        plan(
            "home.count.overdue",
            true,
            ListQuery {
                overdue: on("1"),
                sort: on("due"),
                ..Default::default()
            },
        ),
        plan(
            "home.count.urgent",
            true,
            ListQuery {
                priority: on("urgent"),
                open: on("1"),
                sort: on("due"),
                ..Default::default()
            },
        ),
    ];
    if supervisor {
        // Each sample's page offers "Draft report".
        work.push(plan(
            "home.count.awaiting_report",
            false,
            ListQuery {
                status: on(SampleStatus::AwaitingReport.as_str()),
                ..Default::default()
            },
        ));
        work.push(plan(
            "home.count.exceptions",
            true,
            ListQuery {
                exceptions: on("1"),
                ..Default::default()
            },
        ));
    }
    work
}

/// An officer's samples: all of them, then one count per status.
fn officer_samples() -> Vec<Planned> {
    let mine = |status: &str| ListQuery {
        seized: on("1"),
        status: on(status),
        ..Default::default()
    };
    std::iter::once(plan("home.count.my_samples", false, mine("")))
        .chain(SampleStatus::ALL.iter().map(|s| Planned {
            label: format!("status.{}", s.as_str()),
            query: mine(s.as_str()),
            alert: false,
        }))
        .collect()
}

async fn home(ctx: Ctx, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let user = ctx.user()?;
    let supervisor = ctx.can(Permission::Supervise);
    let planned = if ctx.can(Permission::HandleSamples) {
        lab_work(supervisor)
    } else if ctx.can(Permission::RegisterSeizure) {
        officer_samples()
    } else {
        Vec::new()
    };
    let mut errors = FieldErrors::default();
    let filters = planned
        .iter()
        .map(|p| p.query.filter(&ctx, &mut errors))
        .collect::<Result<Vec<_>, _>>()?;
    let officer = !ctx.can(Permission::HandleSamples) && ctx.can(Permission::RegisterSeizure);
    let my_seizures = SeizureFilter {
        registered_by: Some(user.id.clone()),
        ..Default::default()
    };
    let today = ctx.today();
    let (counts, seizure_count, broken, instruments_due) = state
        .db(move |conn| {
            let counts = filters
                .iter()
                .map(|f| sample::count(conn, f))
                .collect::<Result<Vec<_>, _>>()?;
            let seizure_count = if officer {
                Some(seizure::count(conn, &my_seizures, None)?)
            } else {
                None
            };
            let (broken, due) = if supervisor {
                let broken = crate::custody::runs::latest(conn)?.map_or(0, |r| r.broken);
                (
                    Some(broken),
                    Some(crate::instrument::due_count(conn, today)?),
                )
            } else {
                (None, None)
            };
            Ok((counts, seizure_count, broken, due))
        })
        .await?;
    let mut work: Vec<Count> = planned
        .into_iter()
        .zip(counts)
        .map(|(p, count)| Count {
            label: p.label,
            href: p.query.href(),
            count,
            alert: p.alert && count > 0,
        })
        .collect();
    if let Some(broken) = broken {
        work.push(Count {
            label: "home.count.chains_to_verify".into(),
            href: "/custody/verify".into(),
            count: broken,
            alert: broken > 0,
        });
    }
    let mut seizures = Vec::new();
    if let Some(n) = seizure_count {
        seizures.push(Count {
            label: "home.count.my_seizures".into(),
            href: "/seizures?mine=1".into(),
            count: n,
            alert: false,
        });
        // The officer's samples: the total, then only the statuses they have samples in.
        let mut samples = work.into_iter();
        seizures.extend(samples.next());
        seizures.extend(samples.filter(|c| c.count > 0));
        work = Vec::new();
    }
    render(&HomePage {
        role_key: user.role.label_key(),
        duties_key: format!("home.duties.{}", user.role.as_str()),
        work,
        seizures,
        instruments_due,
        ctx,
    })
}
