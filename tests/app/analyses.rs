//! Tests on samples: assignment only to authorized analysts, result entry with instruments in
//! calibration, conformity under simple acceptance and a guard band, draft → submit → review,
//! rejection with a linked retest, four-eyes refused by the server and by the database, the
//! result history, and method versions kept by old results.

use chrono::TimeDelta;
use diesel::connection::SimpleConnection;
use lims::analysis::result::{self, Conformity};
use lims::analysis::{self, AnalysisStatus};
use lims::ids::{AnalysisId, InstrumentId, MethodId, SampleId};
use lims::instrument::{self, CalibrationInput, InstrumentInput, StatusInput};
use lims::method::{self, MethodInput};
use lims::personnel::{self, GrantInput};
use lims::sample::{Sample, SampleStatus};
use lims::user::{Role, User};

use crate::common::{refs, TestApp, ADMIN};
use crate::custody::{lab, Lab, PW};

pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::America::Lima)
        .date_naive()
}

pub(crate) fn iso(d: chrono::NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn admin(app: &TestApp) -> User {
    lims::user::find_by_username(&mut app.db.conn(), ADMIN.0)
        .unwrap()
        .unwrap()
}

/// Sucrose by polarimetry: at least 98,0 %, simple acceptance.
pub(crate) fn sucrose(app: &TestApp) -> MethodId {
    method::create(
        &mut app.db.conn(),
        &admin(app).handler(None),
        &MethodInput {
            code: "SAC-POL-01".into(),
            name: "Sacarosa por polarimetría".into(),
            unit: "%".into(),
            decimals: "1".into(),
            spec_min: "98".into(),
            decision_rule: "simple_acceptance".into(),
            ..MethodInput::blank()
        },
    )
    .unwrap()
    .0
    .id
}

/// Alcoholic strength: at most 12,0 % vol, guard band 0,3.
fn alcohol(app: &TestApp) -> MethodId {
    method::create(
        &mut app.db.conn(),
        &admin(app).handler(None),
        &MethodInput {
            code: "ALC-DEN-01".into(),
            name: "Grado alcohólico por densimetría".into(),
            unit: "% vol".into(),
            decimals: "2".into(),
            spec_max: "12".into(),
            lod: "0,05".into(),
            decision_rule: "guard_band".into(),
            guard_band: "0,3".into(),
            uncertainty_value: "0,1".into(),
            uncertainty_mode: "absolute".into(),
            coverage_factor: "2".into(),
            confidence_percent: "95".into(),
            ..MethodInput::blank()
        },
    )
    .unwrap()
    .0
    .id
}

/// Authorizes `who` for `method`, granted by a supervisor other than themselves.
pub(crate) fn authorize(lab: &Lab, who: &User, method: &MethodId) {
    let granter = if who.id == lab.supervisor.id {
        lims::user::find_by_username(&mut lab.app.db.conn(), "super2")
            .unwrap()
            .unwrap()
    } else {
        lab.supervisor.clone()
    };
    personnel::grant(
        &mut lab.app.db.conn(),
        &granter.handler(None),
        &who.id,
        &GrantInput {
            method_id: method.0.clone(),
            basis: "Curso y evaluación con muestras ciegas".into(),
            granted_on: iso(today()),
            ..Default::default()
        },
        today(),
    )
    .unwrap();
}

/// An instrument `tag` in calibration until `due_in` days from today (negative: overdue).
fn instrument_due(app: &TestApp, tag: &str, due_in: i64) -> InstrumentId {
    let mut conn = app.db.conn();
    let who = admin(app).handler(None);
    let created = instrument::create(
        &mut conn,
        &who,
        &InstrumentInput {
            asset_tag: tag.into(),
            name: format!("Equipo {tag}"),
            calibration_required: Some("on".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let due = today() + TimeDelta::days(due_in);
    instrument::record_calibration(
        &mut conn,
        &who,
        &created.id,
        None,
        &CalibrationInput {
            performed_on: iso(due - TimeDelta::days(365)),
            performed_by: "INACAL".into(),
            certificate_number: format!("CERT-{tag}"),
            result: "pass".into(),
            next_due_on: iso(due),
            ..Default::default()
        },
        today(),
    )
    .unwrap();
    created.id
}

pub(crate) fn received(lab: &Lab, reference: &str, seals: &[&str]) -> Vec<Sample> {
    lab.register(reference, seals)
        .iter()
        .map(|s| lab.receive(s))
        .collect()
}

pub(crate) fn tests_of(app: &TestApp, sample: &SampleId) -> Vec<analysis::Analysis> {
    analysis::of_sample(&mut app.db.conn(), sample)
        .unwrap()
        .into_iter()
        .map(|r| r.analysis)
        .collect()
}

pub(crate) fn status_of(app: &TestApp, sample: &SampleId) -> SampleStatus {
    lims::sample::find(&mut app.db.conn(), sample)
        .unwrap()
        .status
}

/// The assignment form's rows: the method's row index among the methods in use (by code).
fn row_of(app: &TestApp, method: &MethodId) -> usize {
    method::in_use(&mut app.db.conn())
        .unwrap()
        .iter()
        .position(|(m, _)| &m.id == method)
        .unwrap()
}

/// The fields of an assignment of `picks` (method, analyst), due in a week.
fn assignment(app: &TestApp, picks: &[(&MethodId, &User)]) -> Vec<(String, String)> {
    let n = method::in_use(&mut app.db.conn()).unwrap().len();
    let mut fields = vec![
        ("rows".to_string(), n.to_string()),
        ("due_on".to_string(), iso(today() + TimeDelta::days(7))),
    ];
    for (m, who) in picks {
        let i = row_of(app, m);
        fields.push((format!("m{i}_method_id"), m.0.clone()));
        fields.push((format!("m{i}_pick"), "on".into()));
        fields.push((format!("m{i}_analyst_id"), who.id.0.clone()));
    }
    fields
}

/// The supervisor assigns `method` on `sample` to the technician; the test.
async fn assigned_to_tech(lab: &Lab, sample: &Sample, method: &MethodId) -> AnalysisId {
    let mut s = lab.app.client().await;
    s.login("super", PW).await;
    s.get("/").await;
    s.post(
        &format!("/samples/{}/analyses", sample.id),
        &refs(&assignment(&lab.app, &[(method, &lab.tech)])),
    )
    .await
    .assert_redirect(&format!("/samples/{}", sample.id));
    tests_of(&lab.app, &sample.id)[0].id.clone()
}

/// One test's fields of a sample's result form, at position `i`.
fn entry(i: usize, a: &AnalysisId, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out = vec![(format!("a{i}_analysis_id"), a.0.clone())];
    out.extend(
        fields
            .iter()
            .map(|(k, v)| (format!("a{i}_{k}"), v.to_string())),
    );
    out
}

fn form(tests: usize, action: &str, parts: Vec<Vec<(String, String)>>) -> Vec<(String, String)> {
    let mut out = vec![
        ("tests".to_string(), tests.to_string()),
        ("action".to_string(), action.to_string()),
    ];
    out.extend(parts.into_iter().flatten());
    out
}

#[actix_web::test]
async fn only_authorized_analysts_are_offered_and_accepted() {
    let lab = lab();
    let sac = sucrose(&lab.app);
    authorize(&lab, &lab.tech, &sac);
    let sample = &received(&lab, "INC-2026-0001", &["P-1"])[0];
    let mut s = lab.app.client().await;
    s.login("super", PW).await;
    s.get("/").await;
    let path = format!("/samples/{}/analyses/new", sample.id);
    let page = s.get(&path).await;
    page.assert_contains("SAC-POL-01");
    page.assert_contains("tecnico Test");
    assert!(
        !page.contains("tecnica2 Test"),
        "not authorized, not offered"
    );

    // A forged choice of someone without an authorization: refused beside the row, saying why.
    let post = format!("/samples/{}/analyses", sample.id);
    let page = s
        .post(&post, &refs(&assignment(&lab.app, &[(&sac, &lab.tech2)])))
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("Esta persona no tiene una autorización vigente para este método");
    assert!(tests_of(&lab.app, &sample.id).is_empty());

    s.post(&post, &refs(&assignment(&lab.app, &[(&sac, &lab.tech)])))
        .await
        .assert_redirect(&format!("/samples/{}", sample.id));
    let tests = tests_of(&lab.app, &sample.id);
    assert_eq!(tests.len(), 1);
    let a = &tests[0];
    let auth = personnel::active_authorization(&mut lab.app.db.conn(), &lab.tech.id, &sac, today())
        .unwrap()
        .unwrap();
    assert_eq!(a.authorization_id.as_ref(), Some(&auth.id));
    let (_, v1) = method::find_current(&mut lab.app.db.conn(), &sac).unwrap();
    assert_eq!(a.method_version_id, v1.id);
    assert_eq!(a.status, AnalysisStatus::Assigned);
    // Assigned is not started: the sample waits as received.
    assert_eq!(status_of(&lab.app, &sample.id), SampleStatus::Received);
    // The same method again while it is open: refused.
    let again = s
        .post(&post, &refs(&assignment(&lab.app, &[(&sac, &lab.tech)])))
        .await;
    assert_eq!(again.status, 400);
    again.assert_contains("ya está asignado");

    // Every sample of a seizure at once.
    let two = received(&lab, "INC-2026-0002", &["P-2", "P-3"]);
    let seizure = two[0].seizure_id.clone();
    s.get(&format!("/seizures/{seizure}/analyses/new"))
        .await
        .assert_contains(&two[1].lab_code);
    s.post(
        &format!("/seizures/{seizure}/analyses"),
        &refs(&assignment(&lab.app, &[(&sac, &lab.tech)])),
    )
    .await
    .assert_redirect(&format!("/seizures/{seizure}"));
    for x in &two {
        assert_eq!(tests_of(&lab.app, &x.id).len(), 1);
    }
    assert!(lab.app.audit_of("analysis").len() >= 3);
    // A technician may not assign.
    let mut t = lab.app.client().await;
    t.login("tecnico", PW).await;
    t.get("/").await;
    assert_eq!(t.get(&path).await.status, 403);
}

#[actix_web::test]
async fn an_instrument_past_calibration_or_out_of_service_is_refused_at_entry() {
    let lab = lab();
    let sac = sucrose(&lab.app);
    authorize(&lab, &lab.tech, &sac);
    let late = instrument_due(&lab.app, "POL-LATE", -3);
    let broken = instrument_due(&lab.app, "POL-BROKEN", 200);
    instrument::set_status(
        &mut lab.app.db.conn(),
        &admin(&lab.app).handler(None),
        &broken,
        &StatusInput {
            status: "out_of_service".into(),
            status_reason: "Lámpara de sodio averiada".into(),
        },
    )
    .unwrap();
    let good = instrument_due(&lab.app, "POL-OK", 90);
    let sample = &received(&lab, "INC-2026-0003", &["P-1"])[0];
    let a = assigned_to_tech(&lab, sample, &sac).await;
    let mut t = lab.app.client().await;
    t.login("tecnico", PW).await;
    t.get("/").await;
    let path = format!("/samples/{}/results", sample.id);
    let page = t.get(&path).await;
    page.assert_contains("POL-OK");
    assert!(!page.contains("POL-LATE") && !page.contains("POL-BROKEN"));

    let with = |inst: &InstrumentId| {
        form(
            1,
            "draft",
            vec![entry(
                0,
                &a,
                &[("value", "99,2"), ("instrument_id", &inst.0)],
            )],
        )
    };
    let page = t.post(&path, &refs(&with(&late))).await;
    assert_eq!(page.status, 400);
    page.assert_contains("La calibración de este equipo está vencida.");
    let due = lims::i18n::format_date(lims::i18n::Lang::Es, &iso(today() - TimeDelta::days(3)));
    page.assert_contains(&format!("POL-LATE: vencía el {due}."));
    page.assert_contains("99,2");
    let page = t.post(&path, &refs(&with(&broken))).await;
    assert_eq!(page.status, 400);
    page.assert_contains("fuera de servicio");
    page.assert_contains("Lámpara de sodio averiada");
    assert!(result::entries(&mut lab.app.db.conn(), &a)
        .unwrap()
        .is_empty());

    t.post(&path, &refs(&with(&good)))
        .await
        .assert_redirect(&path);
    let used = result::instruments_used(&mut lab.app.db.conn(), &a).unwrap();
    assert_eq!(used.len(), 1);
    let (u, tag) = &used[0];
    assert_eq!(tag, "POL-OK");
    let in_force = instrument::calibration_in_force(&mut lab.app.db.conn(), &good, today())
        .unwrap()
        .unwrap();
    assert_eq!(u.calibration_record_id.as_ref(), Some(&in_force.id));
    assert_eq!(
        u.calibration_due_on.as_deref(),
        Some(in_force.next_due_on.as_str())
    );
    assert_eq!(u.used_on, iso(today()));
}

#[actix_web::test]
async fn out_of_specification_under_simple_acceptance_and_guard_band() {
    let lab = lab();
    let sac = sucrose(&lab.app);
    let alc = alcohol(&lab.app);
    authorize(&lab, &lab.tech, &sac);
    authorize(&lab, &lab.tech, &alc);
    let samples = received(&lab, "INC-2026-0004", &["P-1", "P-2", "P-3"]);
    let mut s = lab.app.client().await;
    s.login("super", PW).await;
    s.get("/").await;
    let mut t = lab.app.client().await;
    t.login("tecnico", PW).await;
    t.get("/").await;
    // (sucrose, alcohol) per sample, and the conformity each must get.
    let cases = [
        (("97,5", Conformity::Fail), ("11,6", Conformity::Pass)),
        (
            ("98,0", Conformity::Pass),
            ("11,8", Conformity::Inconclusive),
        ),
        (("99,9", Conformity::Pass), ("12,31", Conformity::Fail)),
    ];
    for (sample, ((sv, sc), (av, ac))) in samples.iter().zip(cases) {
        s.post(
            &format!("/samples/{}/analyses", sample.id),
            &refs(&assignment(
                &lab.app,
                &[(&sac, &lab.tech), (&alc, &lab.tech)],
            )),
        )
        .await
        .assert_redirect(&format!("/samples/{}", sample.id));
        let tests = tests_of(&lab.app, &sample.id);
        let (a_sac, a_alc) = if tests[0].method_id == sac {
            (&tests[0], &tests[1])
        } else {
            (&tests[1], &tests[0])
        };
        let path = format!("/samples/{}/results", sample.id);
        let fields = form(
            2,
            "submit",
            vec![
                entry(0, &a_sac.id, &[("value", sv)]),
                entry(1, &a_alc.id, &[("value", av)]),
            ],
        );
        t.post(&path, &refs(&fields)).await.assert_redirect(&path);
        let mut conn = lab.app.db.conn();
        let got_s = result::entries(&mut conn, &a_sac.id)
            .unwrap()
            .pop()
            .unwrap();
        let got_a = result::entries(&mut conn, &a_alc.id)
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(got_s.conformity, Some(sc), "sucrose {sv}");
        assert_eq!(got_a.conformity, Some(ac), "alcohol {av}");
        // The rule and limits applied are kept with the entry; the method's default U too.
        assert_eq!(got_a.guard_band, Some(0.3));
        assert_eq!(got_a.spec_max, Some(12.0));
        assert_eq!(got_a.uncertainty, Some(0.1));
        assert_eq!(got_a.coverage_factor, Some(2.0));
    }
    let first = tests_of(&lab.app, &samples[0].id);
    let a = first.iter().find(|a| a.method_id == sac).unwrap();
    s.get(&format!("/analyses/{}", a.id))
        .await
        .assert_contains("Fuera de especificación");
    // Below the LOD reads as a bound: conforming against a maximum.
    let extra = &received(&lab, "INC-2026-0005", &["P-9"])[0];
    s.post(
        &format!("/samples/{}/analyses", extra.id),
        &refs(&assignment(&lab.app, &[(&alc, &lab.tech)])),
    )
    .await;
    let a = tests_of(&lab.app, &extra.id)[0].id.clone();
    let path = format!("/samples/{}/results", extra.id);
    t.post(
        &path,
        &refs(&form(
            1,
            "draft",
            vec![entry(0, &a, &[("qualifier", "below_lod")])],
        )),
    )
    .await
    .assert_redirect(&path);
    let e = result::entries(&mut lab.app.db.conn(), &a)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(e.raw_value.as_deref(), Some("<LOD"));
    assert_eq!(e.lod, Some(0.05));
    assert_eq!(e.conformity, Some(Conformity::Pass));
}

#[actix_web::test]
async fn draft_submit_review_retest_and_the_sample_awaits_its_report() {
    let lab = lab();
    let reviewer = lab.app.create_user("super2", Role::Supervisor, PW);
    let sac = sucrose(&lab.app);
    let alc = alcohol(&lab.app);
    authorize(&lab, &lab.tech, &sac);
    authorize(&lab, &lab.tech, &alc);
    authorize(&lab, &lab.tech2, &alc);
    let sample = &received(&lab, "INC-2026-0006", &["P-1"])[0];
    let mut s = lab.app.client().await;
    s.login("super", PW).await;
    s.get("/").await;
    s.post(
        &format!("/samples/{}/analyses", sample.id),
        &refs(&assignment(
            &lab.app,
            &[(&sac, &lab.tech), (&alc, &lab.tech)],
        )),
    )
    .await;
    let tests = tests_of(&lab.app, &sample.id);
    let (a_sac, a_alc) = if tests[0].method_id == sac {
        (tests[0].id.clone(), tests[1].id.clone())
    } else {
        (tests[1].id.clone(), tests[0].id.clone())
    };
    let mut t = lab.app.client().await;
    t.login("tecnico", PW).await;
    t.get("/").await;
    let mine = t.get("/my-tests").await;
    mine.assert_contains("SAC-POL-01");
    mine.assert_contains("ALC-DEN-01");
    let path = format!("/samples/{}/results", sample.id);
    let page = t.get(&path).await;
    page.assert_contains("SAC-POL-01");
    page.assert_contains("ALC-DEN-01");

    // A draft: both entered, with a weighing; the sample is in testing.
    let draft = form(
        2,
        "draft",
        vec![
            entry(
                0,
                &a_sac,
                &[
                    ("value", "99,1"),
                    ("o0_kind", "weighing"),
                    ("o0_label", "Masa de muestra"),
                    ("o0_value", "26,012"),
                    ("o0_unit", "g"),
                ],
            ),
            entry(1, &a_alc, &[("value", "11,5")]),
        ],
    );
    t.post(&path, &refs(&draft)).await.assert_redirect(&path);
    assert_eq!(status_of(&lab.app, &sample.id), SampleStatus::InTesting);
    let find = |id: &AnalysisId| analysis::find(&mut lab.app.db.conn(), id).unwrap();
    assert_eq!(find(&a_sac).status, AnalysisStatus::InProgress);
    let obs = result::observations(&mut lab.app.db.conn(), &a_sac).unwrap();
    assert_eq!(obs.len(), 1);
    assert_eq!(obs[0].value, 26.012);

    // A change needs a reason; with one it supersedes, and both entries stay.
    let change = |reason: &str| {
        form(
            2,
            "submit",
            vec![
                entry(0, &a_sac, &[("value", "99,3"), ("change_reason", reason)]),
                entry(1, &a_alc, &[("value", "11,5")]),
            ],
        )
    };
    let page = t.post(&path, &refs(&change(""))).await;
    assert_eq!(page.status, 400);
    page.assert_contains("Un cambio después del primer registro necesita un motivo.");
    t.post(
        &path,
        &refs(&change("Error de transcripción de la lectura")),
    )
    .await
    .assert_redirect(&path);
    let history = result::entries(&mut lab.app.db.conn(), &a_sac).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].numeric_value, Some(99.1));
    assert_eq!(history[1].numeric_value, Some(99.3));
    assert_eq!(history[1].supersedes_id.as_ref(), Some(&history[0].id));
    // Unchanged, the alcohol result was handed in without a second entry.
    assert_eq!(
        result::entries(&mut lab.app.db.conn(), &a_alc)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(find(&a_sac).status, AnalysisStatus::Submitted);
    assert_eq!(find(&a_sac).submitted_by.as_ref(), Some(&lab.tech.id));
    let shown = s.get(&format!("/analyses/{a_sac}")).await;
    shown.assert_contains("Error de transcripción de la lectura");
    shown.assert_contains("Reemplazado");

    // The review queue, oldest first; the reviewer approves one and rejects the other.
    let mut r = lab.app.client().await;
    r.login("super2", PW).await;
    r.get("/").await;
    let queue = r.get("/review").await;
    queue.assert_contains("SAC-POL-01");
    queue.assert_contains("ALC-DEN-01");
    r.post(&format!("/analyses/{a_sac}/approve"), &[])
        .await
        .assert_redirect(&format!("/analyses/{a_sac}"));
    assert_eq!(find(&a_sac).status, AnalysisStatus::Approved);
    assert_eq!(find(&a_sac).reviewed_by.as_ref(), Some(&reviewer.id));
    let reject = format!("/analyses/{a_alc}/reject");
    let page = r.post(&reject, &[("rejection_reason", "")]).await;
    assert_eq!(page.status, 400);
    page.assert_contains("Este campo es obligatorio.");
    let done = r
        .post(
            &reject,
            &[
                (
                    "rejection_reason",
                    "Densímetro sin verificar con agua destilada",
                ),
                ("analyst_id", lab.tech2.id.as_str()),
            ],
        )
        .await;
    done.assert_redirect_prefix("/analyses/");
    let rejected = find(&a_alc);
    assert_eq!(rejected.status, AnalysisStatus::Rejected);
    let retest = tests_of(&lab.app, &sample.id)
        .into_iter()
        .find(|x| x.retest_of_id.as_ref() == Some(&a_alc))
        .expect("a linked retest");
    assert_eq!(retest.analyst_id.as_ref(), Some(&lab.tech2.id));
    assert_eq!(retest.status, AnalysisStatus::Assigned);
    assert!(retest.authorization_id.is_some());
    // The rejected result stays in the history.
    assert_eq!(
        result::entries(&mut lab.app.db.conn(), &a_alc)
            .unwrap()
            .len(),
        1
    );
    r.get(&format!("/analyses/{a_alc}"))
        .await
        .assert_contains("Densímetro sin verificar con agua destilada");
    assert_eq!(status_of(&lab.app, &sample.id), SampleStatus::InTesting);

    // An approved result cannot be changed: the server refuses, saying why.
    let late = form(
        1,
        "draft",
        vec![entry(
            0,
            &a_sac,
            &[("value", "99,5"), ("change_reason", "Otra lectura")],
        )],
    );
    let page = t.post(&path, &refs(&late)).await;
    assert_eq!(page.status, 403);
    page.assert_contains("ya fue aprobado");
    assert_eq!(
        result::entries(&mut lab.app.db.conn(), &a_sac)
            .unwrap()
            .len(),
        2
    );

    // The retest, entered by the second technician and approved: the sample awaits its report.
    let mut t2 = lab.app.client().await;
    t2.login("tecnica2", PW).await;
    t2.get("/").await;
    t2.get("/my-tests").await.assert_contains("Repetición");
    t2.post(
        &path,
        &refs(&form(
            1,
            "submit",
            vec![entry(0, &retest.id, &[("value", "11,4")])],
        )),
    )
    .await
    .assert_redirect(&path);
    r.post(&format!("/analyses/{}/approve", retest.id), &[])
        .await
        .assert_redirect(&format!("/analyses/{}", retest.id));
    assert_eq!(
        status_of(&lab.app, &sample.id),
        SampleStatus::AwaitingReport
    );
    let actions: Vec<String> = lab
        .app
        .audit_of("analysis")
        .iter()
        .map(|e| e.action.clone())
        .collect();
    assert!(
        actions.iter().filter(|a| *a == "update").count() >= 6,
        "{actions:?}"
    );
    assert!(!lab.app.audit_of("analysis_result").is_empty());
}

#[actix_web::test]
async fn nobody_reviews_their_own_result_neither_server_nor_database() {
    let lab = lab();
    let sac = sucrose(&lab.app);
    // A supervisor who is also an analyst, assigned by a second supervisor.
    lab.app.create_user("super2", Role::Supervisor, PW);
    authorize(&lab, &lab.supervisor, &sac);
    let sample = &received(&lab, "INC-2026-0007", &["P-1"])[0];
    let mut o = lab.app.client().await;
    o.login("super2", PW).await;
    o.get("/").await;
    o.post(
        &format!("/samples/{}/analyses", sample.id),
        &refs(&assignment(&lab.app, &[(&sac, &lab.supervisor)])),
    )
    .await
    .assert_redirect(&format!("/samples/{}", sample.id));
    let a = tests_of(&lab.app, &sample.id)[0].id.clone();
    let mut s = lab.app.client().await;
    s.login("super", PW).await;
    s.get("/").await;
    let path = format!("/samples/{}/results", sample.id);
    s.post(
        &path,
        &refs(&form(1, "submit", vec![entry(0, &a, &[("value", "99")])])),
    )
    .await
    .assert_redirect(&path);
    // The review buttons are not shown to the performer, and the server refuses.
    let page = s.get(&format!("/analyses/{a}")).await;
    assert!(!page.contains(&format!("/analyses/{a}/approve")));
    let refused = s.post(&format!("/analyses/{a}/approve"), &[]).await;
    assert_eq!(refused.status, 403);
    refused.assert_contains("No puede revisar un resultado que usted realizó o entregó.");
    let refused = s
        .post(
            &format!("/analyses/{a}/reject"),
            &[("rejection_reason", "x")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        analysis::find(&mut lab.app.db.conn(), &a).unwrap().status,
        AnalysisStatus::Submitted
    );
    // Written straight into the database, the CHECK refuses it too.
    let mut conn = lab.app.db.conn();
    let sql = format!(
        "UPDATE analyses SET status = 'approved', review_decision = 'approved', \
         reviewed_by = '{}', reviewed_at = submitted_at WHERE id = '{a}'",
        lab.supervisor.id
    );
    let err = conn.batch_execute(&sql).expect_err("four eyes");
    let err = err.to_string();
    assert!(
        err.contains("CHECK constraint failed") || err.contains("violates check constraint"),
        "{err}"
    );
    // The other supervisor may.
    o.post(&format!("/analyses/{a}/approve"), &[])
        .await
        .assert_redirect(&format!("/analyses/{a}"));
}

#[actix_web::test]
async fn an_old_result_keeps_its_method_version_after_the_method_is_edited() {
    let lab = lab();
    let sac = sucrose(&lab.app);
    authorize(&lab, &lab.tech, &sac);
    let samples = received(&lab, "INC-2026-0008", &["P-1", "P-2"]);
    let mut s = lab.app.client().await;
    s.login("super", PW).await;
    s.get("/").await;
    s.post(
        &format!("/samples/{}/analyses", samples[0].id),
        &refs(&assignment(&lab.app, &[(&sac, &lab.tech)])),
    )
    .await;
    let old = tests_of(&lab.app, &samples[0].id)[0].clone();
    let mut t = lab.app.client().await;
    t.login("tecnico", PW).await;
    t.get("/").await;
    let path = format!("/samples/{}/results", samples[0].id);
    t.post(
        &path,
        &refs(&form(
            1,
            "submit",
            vec![entry(0, &old.id, &[("value", "98,5")])],
        )),
    )
    .await
    .assert_redirect(&path);

    // The admin tightens the specification: version 2.
    let mut conn = lab.app.db.conn();
    let (m, v1) = method::find_current(&mut conn, &sac).unwrap();
    let v2 = method::new_version(
        &mut conn,
        &admin(&lab.app).handler(None),
        &sac,
        &MethodInput {
            spec_min: "99".into(),
            change_reason: "Nueva norma técnica".into(),
            ..MethodInput::from_version(&m, &v1)
        },
    )
    .unwrap();
    assert_eq!(v2.version_no, 2);
    let kept = analysis::find(&mut conn, &old.id).unwrap();
    assert_eq!(kept.method_version_id, v1.id);
    let e = result::entries(&mut conn, &old.id).unwrap().pop().unwrap();
    assert_eq!(e.spec_min, Some(98.0));
    assert_eq!(e.conformity, Some(Conformity::Pass));
    s.get(&format!("/analyses/{}", old.id))
        .await
        .assert_contains("v1");

    // A new assignment takes version 2, and the same value is now out of specification.
    s.post(
        &format!("/samples/{}/analyses", samples[1].id),
        &refs(&assignment(&lab.app, &[(&sac, &lab.tech)])),
    )
    .await;
    let new = tests_of(&lab.app, &samples[1].id)[0].clone();
    assert_eq!(new.method_version_id, v2.id);
    let path = format!("/samples/{}/results", samples[1].id);
    t.post(
        &path,
        &refs(&form(
            1,
            "draft",
            vec![entry(0, &new.id, &[("value", "98,5")])],
        )),
    )
    .await
    .assert_redirect(&path);
    let e = result::entries(&mut conn, &new.id).unwrap().pop().unwrap();
    assert_eq!(e.conformity, Some(Conformity::Fail));
}

#[actix_web::test]
async fn raw_data_is_attached_to_a_test_and_downloaded_checked() {
    use sha2::{Digest, Sha256};
    const RAW: &[u8] = b"time,signal\n0.0,12\n0.1,340\n0.2,9\n";
    let lab = lab();
    let sac = sucrose(&lab.app);
    authorize(&lab, &lab.tech, &sac);
    let sample = &received(&lab, "INC-2026-0040", &["P-1"])[0];
    let a = assigned_to_tech(&lab, sample, &sac).await;

    let mut t = lab.app.client().await;
    t.login("tecnico", PW).await;
    let results = format!("/samples/{}/results", sample.id);
    let page = t.get(&results).await;
    // The panel of the test, headed with its method, outside the result form.
    page.assert_contains("Archivos adjuntos · SAC-POL-01");
    let upload = format!("/attachments/analysis/{a}");
    let form_end = page.body.find("</form>").unwrap();
    assert!(page.body[form_end..].contains(&format!("action=\"{upload}\"")));
    t.post_multipart(
        &upload,
        &[
            ("description", "Lectura del polarímetro"),
            ("back", &results),
        ],
        ("file", "polarimetro.csv", RAW),
    )
    .await
    .assert_redirect(&results);

    let files = lims::attachment::of_owner(
        &mut lab.app.db.conn(),
        &lims::attachment::Owner::Analysis(a.clone()),
    )
    .unwrap();
    assert_eq!(files.len(), 1);
    let row = &files[0].attachment;
    let sha = hex::encode(Sha256::digest(RAW));
    assert_eq!(row.sha256, sha);
    t.get(&results).await.assert_contains("polarimetro.csv");
    let show = t.get(&format!("/analyses/{a}")).await;
    show.assert_contains("polarimetro.csv");
    show.assert_contains(&sha);
    let got = t.get(&format!("/attachment/{}", row.id)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body.as_bytes(), RAW);
    // Bytes changed in the store are refused, not served.
    let stored = lab
        .app
        .db
        .data_dir()
        .join("attachments")
        .join(&row.storage_key);
    std::fs::write(&stored, b"time,signal\n0.0,12\n0.1,999\n0.2,9\n").unwrap();
    let got = t.get(&format!("/attachment/{}", row.id)).await;
    assert_eq!(got.status, 500);
    assert!(!got.body.contains("999"));

    // A customs officer never sees a test's raw data, nor adds to it.
    let mut o = lab.app.client().await;
    o.login("oficial", PW).await;
    o.get("/").await;
    assert_eq!(o.get(&upload).await.status, 403);
    assert_eq!(o.get(&format!("/attachment/{}", row.id)).await.status, 403);
    assert_eq!(o.get(&format!("/analyses/{a}")).await.status, 403);
    let refused = o.post_multipart(&upload, &[], ("file", "x.csv", RAW)).await;
    assert_eq!(refused.status, 403);
}
