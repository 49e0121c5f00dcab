//! Demo reports for `seed-demo`: the laboratory's settings, reports issued with one signature,
//! one amended (version 1 superseded by version 2) and one signed twice, all through the same
//! functions as the pages (passwords re-entered, PDFs rendered and stored), so their
//! verification links work. Only on the run that created the supervisors (whose passwords it
//! knows) and while no report exists.

use chrono::{NaiveDate, TimeDelta};
use diesel::prelude::*;

use crate::analysis::result::{self, Action};
use crate::analysis::{self, review, AssignInput, PickInput};
use crate::db::schema::{analyses, reports, samples};
use crate::db::DbConn;
use crate::error::AppError;
use crate::ids::ReportVersionId;
use crate::lab_settings::{self, SettingsInput};
use crate::report::draft::{self, DraftInput, Target};
use crate::report::sign::{self, Issuing, SignInput};
use crate::report::Version;
use crate::sample::{Sample, SampleStatus};
use crate::user::User;

/// A supervisor and their password.
pub type Signer<'a> = (&'a User, &'a str);

fn settings(conn: &mut DbConn, admin: &User, second: bool) -> Result<(), AppError> {
    lab_settings::record(
        conn,
        &admin.handler(None),
        &SettingsInput {
            name: "Laboratorio Central de Aduanas".into(),
            address: "Av. Gamarra 680, Chucuito, Callao, Perú".into(),
            accreditation_number: "LE-042".into(),
            accreditation_body: "INACAL – Dirección de Acreditación".into(),
            report_locale: "es".into(),
            require_second_signature: second.then(|| "on".into()),
            remove_logo: None,
        },
        None,
    )?;
    Ok(())
}

/// Received samples without tests given an approved sucrose result, until `want` samples
/// await a report.
fn awaiting(
    conn: &mut DbConn,
    chief: &User,
    deputy: &User,
    technicians: &[User],
    want: usize,
    today: NaiveDate,
) -> Result<Vec<Sample>, AppError> {
    let load = |conn: &mut DbConn| {
        samples::table
            .filter(samples::status.eq(SampleStatus::AwaitingReport))
            .filter(samples::parent_id.is_null())
            .order(samples::lab_code)
            .select(Sample::as_select())
            .load::<Sample>(conn)
    };
    let ready = load(conn)?;
    let missing = want.saturating_sub(ready.len());
    let choices = analysis::choices(conn, today)?;
    let pick = choices.iter().find(|c| c.method.code == "AZU-POL-01");
    let analyst = pick.and_then(|c| {
        technicians
            .iter()
            .find(|t| c.analysts.iter().any(|(id, _)| id == &t.id))
    });
    let polarimeter = result::usable_instruments(conn, today)?
        .into_iter()
        .find(|i| i.asset_tag == "EQ-POL-01")
        .map(|i| i.id.to_string())
        .unwrap_or_default();
    if let (Some(c), Some(analyst)) = (pick, analyst) {
        let untested: Vec<Sample> = samples::table
            .filter(samples::status.eq(SampleStatus::Received))
            .filter(samples::parent_id.is_null())
            .filter(diesel::dsl::not(diesel::dsl::exists(
                analyses::table.filter(analyses::sample_id.eq(samples::id)),
            )))
            .order(samples::lab_code)
            .limit(missing as i64)
            .select(Sample::as_select())
            .load(conn)?;
        for s in &untested {
            analysis::assign(
                conn,
                &chief.handler(None),
                std::slice::from_ref(&s.id),
                &AssignInput {
                    due_on: crate::analysis::iso(today + TimeDelta::days(7)),
                    picks: vec![PickInput {
                        method_id: c.method.id.to_string(),
                        pick: Some("on".into()),
                        analyst_id: analyst.id.to_string(),
                    }],
                },
                today,
            )?;
            let test = analysis::of_sample(conn, &s.id)?
                .into_iter()
                .rfind(|r| r.code == "AZU-POL-01")
                .map(|r| r.analysis.id)
                .ok_or(AppError::NotFound)?;
            crate::demo_lab::enter(
                conn,
                analyst,
                &s.id,
                &test,
                "99.6",
                &polarimeter,
                Action::Submit,
                today,
            )?;
            review::approve(conn, &deputy.handler(None), &test)?;
        }
    }
    Ok(load(conn)?)
}

fn sign_as(
    conn: &mut DbConn,
    issuing: &Issuing,
    (who, password): Signer,
    id: &ReportVersionId,
    meaning: &str,
) -> Result<Version, AppError> {
    let handler = who.handler(None);
    let input = SignInput {
        password: password.to_string(),
        meaning: meaning.to_string(),
    };
    let checked = sign::begin(conn, &handler, &input)?.check();
    sign::sign(conn, &handler, issuing, id, meaning, &checked)
}

fn write(
    conn: &mut DbConn,
    issuing: &Issuing,
    who: &User,
    id: &ReportVersionId,
    conclusion: &str,
) -> Result<Version, AppError> {
    draft::edit(
        conn,
        &who.handler(None),
        issuing.tz,
        id,
        &DraftInput {
            conclusion: conclusion.into(),
            decision_rule: "Aceptación simple (ILAC-G8:09/2019, 4.2.1)".into(),
            ..Default::default()
        },
    )
}

/// The demo reports; how many versions were issued.
pub fn ensure_reports(
    conn: &mut DbConn,
    issuing: &Issuing,
    admin: &User,
    chief: Signer,
    deputy: Signer,
    technicians: &[User],
    today: NaiveDate,
) -> Result<usize, AppError> {
    if reports::table.count().get_result::<i64>(conn)? > 0 {
        return Ok(0);
    }
    if lab_settings::current(conn)?.is_none() {
        settings(conn, admin, false)?;
    }
    // One more than reported, so the demo still has a sample awaiting its report.
    let ready = awaiting(conn, chief.0, deputy.0, technicians, 4, today)?;
    let mut issued = 0;
    let mut drafts = Vec::new();
    for s in ready.iter().take(2) {
        drafts.push(draft::create(
            conn,
            &chief.0.handler(None),
            issuing.tz,
            &Target::Sample(s.id.clone()),
        )?);
    }
    // One signature each; the second is then amended.
    for (i, v) in drafts.iter().take(2).enumerate() {
        write(
            conn,
            issuing,
            chief.0,
            &v.id,
            "La muestra es sacarosa de caña; cumple la especificación.",
        )?;
        sign_as(conn, issuing, chief, &v.id, "reviewed_approved")?;
        issued += 1;
        if i == 1 {
            let v2 = draft::amend(
                conn,
                &chief.0.handler(None),
                issuing.tz,
                &v.id,
                "Se corrige la conclusión: se precisa el origen de la sacarosa",
            )?;
            write(
                conn,
                issuing,
                chief.0,
                &v2.id,
                "La muestra es sacarosa de remolacha; cumple la especificación.",
            )?;
            sign_as(conn, issuing, deputy, &v2.id, "reviewed_approved")?;
            issued += 1;
        }
    }
    // Two signatures: the laboratory now asks for a technical review.
    if let Some(s) = ready.get(2) {
        settings(conn, admin, true)?;
        let v = draft::create(
            conn,
            &chief.0.handler(None),
            issuing.tz,
            &Target::Sample(s.id.clone()),
        )?;
        write(
            conn,
            issuing,
            chief.0,
            &v.id,
            "Sacarosa; cumple la especificación.",
        )?;
        sign_as(conn, issuing, chief, &v.id, "authored")?;
        sign_as(conn, issuing, deputy, &v.id, "technical_review")?;
        issued += 1;
    }
    Ok(issued)
}

/// The demo reports of a `seed-demo` run: signed by the two demo supervisors whose passwords
/// this run created; none when the accounts existed already.
pub fn seed(
    conn: &mut DbConn,
    created: &crate::demo::Created,
    issuing: &Issuing,
) -> Result<usize, AppError> {
    use crate::user::Role;
    let users = crate::user::list(conn)?;
    let password = |name: &str| {
        created
            .accounts
            .iter()
            .find(|(u, _, _)| u == name)
            .map(|(_, _, p)| p.as_str())
    };
    let find = |name: &str| users.iter().find(|u| u.username == name);
    let admin = users.iter().find(|u| u.role == Role::Admin);
    let technicians: Vec<User> = users
        .iter()
        .filter(|u| u.role == Role::Technician)
        .cloned()
        .collect();
    let (Some(admin), Some(chief), Some(deputy), Some(p1), Some(p2)) = (
        admin,
        find("supervisor1"),
        find("supervisor2"),
        password("supervisor1"),
        password("supervisor2"),
    ) else {
        return Ok(0);
    };
    let today = chrono::Utc::now().with_timezone(&issuing.tz).date_naive();
    ensure_reports(
        conn,
        issuing,
        admin,
        (chief, p1),
        (deputy, p2),
        &technicians,
        today,
    )
}
