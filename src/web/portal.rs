//! The enforcement portal (`/portal`): customs officers (and lab staff) find a case by seizure
//! reference, declaration number, lab code, dates or office, and read what `crate::portal`
//! lets out: the seizure, sample statuses, custody timelines and issued reports.

use actix_web::{web, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::access::Permission;
use crate::error::AppError;
use crate::ids::SeizureId;
use crate::keyset::Position;
use crate::portal::{self, Case, PublicEvent};
use crate::sample::Sample;
use crate::seizure::{self, SeizureFilter};
use crate::validation::{date_range, opt, FieldErrors};
use crate::web::context::Ctx;
use crate::web::forms::Pager;
use crate::web::{render, render_status, AppState};

const PAGE_SIZE: i64 = 20;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/portal", web::get().to(search))
        .route("/portal/seizures/{id}", web::get().to(show));
}

#[derive(Deserialize, Default, Clone)]
struct SearchQuery {
    #[serde(default)]
    reference: String,
    #[serde(default)]
    declaration: String,
    #[serde(default)]
    lab_code: String,
    #[serde(default)]
    office: String,
    /// `seized` (default) or `issued`: which date the range applies to.
    #[serde(default)]
    dates: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    after: String,
}

impl SearchQuery {
    fn filters(&self) -> [(&'static str, &str); 7] {
        [
            ("reference", self.reference.as_str()),
            ("declaration", self.declaration.as_str()),
            ("lab_code", self.lab_code.as_str()),
            ("office", self.office.as_str()),
            ("dates", self.dates.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ]
    }

    fn asked(&self) -> bool {
        self.filters().iter().any(|(_, v)| !v.trim().is_empty())
    }

    fn by_issue(&self) -> bool {
        self.dates == "issued"
    }
}

#[derive(Template)]
#[template(path = "portal/search.html")]
struct SearchPage {
    ctx: Ctx,
    query: SearchQuery,
    errors: FieldErrors,
    offices: Vec<String>,
    /// `None` until a search is made.
    cases: Option<Vec<Case>>,
    pager: Pager,
}

async fn search(
    ctx: Ctx,
    state: web::Data<AppState>,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewCases)?;
    let query = query.into_inner();
    let mut errors = FieldErrors::default();
    let (from, until) = date_range(&query.from, &query.to, ctx.tz, &mut errors);
    if !matches!(query.dates.as_str(), "" | "seized" | "issued") {
        errors.add("dates", "validation.choose_one");
    }
    let mut filter = SeizureFilter {
        customs_office: opt(&query.office),
        reference: opt(&query.reference),
        declaration: opt(&query.declaration),
        lab_code: opt(&query.lab_code),
        ..Default::default()
    };
    if query.by_issue() {
        (filter.issued_from, filter.issued_until) = (from, until);
    } else {
        (filter.from, filter.until) = (from, until);
    }
    let cursor = seizure::Cursor::decode(&query.after);
    let first_page = cursor.is_none();
    let run = errors.is_empty() && query.asked();
    let (cases, next, total, from_here, offices) = state
        .db(move |conn| {
            let offices = seizure::offices(conn)?;
            if !run {
                return Ok((None, None, 0, 0, offices));
            }
            let (cases, page) = portal::search(conn, &filter, cursor.as_ref(), PAGE_SIZE)?;
            Ok((Some(cases), page.next, page.total, page.from_here, offices))
        })
        .await?;
    let shown = cases.as_ref().map_or(0, Vec::len);
    let pager = Pager::new("/portal", &query.filters(), first_page, next.as_ref())
        .with_position(Position::new(total, from_here, shown));
    let status = crate::web::status_for(&errors);
    render_status(
        &SearchPage {
            ctx,
            query,
            errors,
            offices,
            cases,
            pager,
        },
        status,
    )
}

#[derive(Template)]
#[template(path = "portal/show.html")]
struct ShowPage {
    ctx: Ctx,
    case: Case,
    timelines: Vec<(Sample, Vec<PublicEvent>)>,
}

async fn show(
    ctx: Ctx,
    state: web::Data<AppState>,
    path: web::Path<SeizureId>,
) -> Result<HttpResponse, AppError> {
    ctx.require(Permission::ViewCases)?;
    let id = path.into_inner();
    let (case, timelines) = state
        .db(move |conn| {
            let case = portal::case(conn, &id)?;
            let timelines = case
                .samples
                .iter()
                .map(|s| Ok((s.clone(), portal::timeline(conn, &s.id)?)))
                .collect::<Result<Vec<_>, AppError>>()?;
            Ok((case, timelines))
        })
        .await?;
    render(&ShowPage {
        ctx,
        case,
        timelines,
    })
}
