//! Results of a partner laboratory: entered by a supervisor for a sample sent out and back,
//! linked to the two custody events, shown as external wherever tests are listed, reviewed by
//! another supervisor; refused for a sample never sent or not back, without the laboratory or
//! its report reference, and for anyone but a supervisor.

use lims::analysis::{self, AnalysisStatus};
use lims::custody::{self, EventKind};
use lims::sample::movement::EventInput;
use lims::sample::{Sample, SampleStatus};
use lims::user::Role;

use crate::analyses::{received, status_of, sucrose, tests_of};
use crate::common::refs;
use crate::custody::{event, lab, Lab, PW};

fn send_out(lab: &Lab, s: &Sample) -> Sample {
    lab.record(
        s,
        EventInput {
            external_lab: "Laboratorio Central, Santiago".into(),
            reason: "Confirmación por laboratorio acreditado".into(),
            ..event(EventKind::SentExternal)
        },
    )
    .unwrap();
    lims::sample::find(&mut lab.app.db.conn(), &s.id).unwrap()
}

fn bring_back(lab: &Lab, s: &Sample) {
    lab.record(
        s,
        EventInput {
            external_lab: "Laboratorio Central, Santiago".into(),
            seal_intact: "yes".into(),
            ..event(EventKind::ReturnedFromExternal)
        },
    )
    .unwrap();
}

/// The external result form's fields for the sucrose method.
fn fields(method: &str, lab: &str, report: &str, value: &str) -> Vec<(String, String)> {
    [
        ("method_id", method),
        ("external_lab", lab),
        ("external_accreditation", "ISO/IEC 17025 · INN-LE-123"),
        ("external_report_ref", report),
        ("a0_qualifier", "eq"),
        ("a0_value", value),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

#[actix_web::test]
async fn an_external_result_is_linked_to_its_referral_shown_as_external_and_reviewed_by_another() {
    let lab = lab();
    lab.app.create_user("super2", Role::Supervisor, PW);
    let sac = sucrose(&lab.app);
    let s = &received(&lab, "INC-2026-0101", &["P-1"])[0];
    let out = send_out(&lab, s);
    bring_back(&lab, &out);
    let events = custody::for_sample(&mut lab.app.db.conn(), &s.id).unwrap();
    let sent = events.iter().find(|e| e.kind == "sent_external").unwrap();
    let back = events
        .iter()
        .find(|e| e.kind == "returned_from_external")
        .unwrap();

    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    let path = format!("/samples/{}/external", s.id);
    c.get(&format!("/samples/{}", s.id))
        .await
        .assert_contains(&path);
    // The form starts from the laboratory the sample was sent to.
    c.get(&path)
        .await
        .assert_contains("Laboratorio Central, Santiago");
    let sent_form = fields(
        &sac.0,
        "Laboratorio Central, Santiago",
        "LC-2026-0457",
        "98,6",
    );
    let saved = c.post(&path, &refs(&sent_form)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let tests = tests_of(&lab.app, &s.id);
    assert_eq!(tests.len(), 1);
    let a = &tests[0];
    saved.assert_redirect(&format!("/analyses/{}", a.id));
    assert!(a.is_external);
    assert_eq!(a.status, AnalysisStatus::Submitted);
    assert_eq!(a.analyst_id, None);
    assert_eq!(a.submitted_by.as_ref(), Some(&lab.supervisor.id));
    assert_eq!(
        a.external_lab.as_deref(),
        Some("Laboratorio Central, Santiago")
    );
    assert_eq!(a.external_report_ref.as_deref(), Some("LC-2026-0457"));
    assert_eq!(
        a.external_accreditation.as_deref(),
        Some("ISO/IEC 17025 · INN-LE-123")
    );
    assert_eq!(a.referral_event_id.as_ref(), Some(&sent.id));
    assert_eq!(a.return_event_id.as_ref(), Some(&back.id));
    // Same result writing and conformity as an analyst's.
    let entries = analysis::result::entries(&mut lab.app.db.conn(), &a.id).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].numeric_value, Some(98.6));
    assert_eq!(
        entries[0].conformity,
        Some(analysis::result::Conformity::Pass)
    );
    assert_eq!(status_of(&lab.app, &s.id), SampleStatus::InTesting);

    let badge = "Externo — Laboratorio Central, Santiago";
    c.get(&format!("/samples/{}", s.id))
        .await
        .assert_contains(badge);
    let shown = c.get(&format!("/analyses/{}", a.id)).await;
    shown.assert_contains(badge);
    shown.assert_contains("LC-2026-0457");
    shown.assert_contains(&format!("#{}", sent.seq));
    shown.assert_contains(&format!("#{}", back.seq));
    // The report PDF goes in the attachment panel of the external result.
    let upload = format!("/attachments/external_report/{}", a.id);
    shown.assert_contains(&upload);
    c.post_multipart(
        &upload,
        &[("back", &format!("/analyses/{}", a.id))],
        ("file", "informe LC-2026-0457.pdf", b"%PDF-1.4 informe"),
    )
    .await
    .assert_redirect(&format!("/analyses/{}", a.id));
    c.get(&format!("/analyses/{}", a.id))
        .await
        .assert_contains("informe LC-2026-0457.pdf");
    // The supervisor who entered it is its submitter: four-eyes keeps them from approving.
    assert!(!shown.contains(&format!("/analyses/{}/approve", a.id)));
    let own = c.post(&format!("/analyses/{}/approve", a.id), &[]).await;
    assert_eq!(own.status, 403);

    let mut r = lab.app.client().await;
    r.login("super2", PW).await;
    r.get("/review").await.assert_contains(badge);
    r.post(&format!("/analyses/{}/approve", a.id), &[])
        .await
        .assert_redirect(&format!("/analyses/{}", a.id));
    assert_eq!(
        tests_of(&lab.app, &s.id)[0].status,
        AnalysisStatus::Approved
    );
    assert_eq!(status_of(&lab.app, &s.id), SampleStatus::AwaitingReport);
}

#[actix_web::test]
async fn refused_before_the_sample_is_back_without_the_laboratory_and_for_technicians() {
    let lab = lab();
    let sac = sucrose(&lab.app);
    let s = &received(&lab, "INC-2026-0102", &["P-1"])[0];
    let path = format!("/samples/{}/external", s.id);
    let good = fields(&sac.0, "Laboratorio Central", "LC-1", "99");

    let mut c = lab.app.client().await;
    c.login("super", PW).await;
    c.get("/").await;
    let never = c.post(&path, &refs(&good)).await;
    assert_eq!(never.status, 400);
    never.assert_contains("nunca fue enviada a un laboratorio externo");

    let out = send_out(&lab, s);
    let away = c.post(&path, &refs(&good)).await;
    assert_eq!(away.status, 400);
    away.assert_contains("aún no ha vuelto del laboratorio externo");

    bring_back(&lab, &out);
    let missing = c.post(&path, &refs(&fields(&sac.0, " ", "", "99"))).await;
    assert_eq!(missing.status, 400);
    missing.assert_contains("Laboratorio externo: Este campo es obligatorio");
    missing.assert_contains("Referencia del informe: Este campo es obligatorio");
    // What was typed is kept.
    missing.assert_contains("ISO/IEC 17025 · INN-LE-123");
    assert!(tests_of(&lab.app, &s.id).is_empty());

    let mut t = lab.app.client().await;
    t.login("tecnico", PW).await;
    t.get("/").await;
    assert_eq!(t.get(&path).await.status, 403);
    assert_eq!(t.post(&path, &refs(&good)).await.status, 403);
    assert!(tests_of(&lab.app, &s.id).is_empty());

    c.post(&path, &refs(&good))
        .await
        .assert_redirect_prefix("/analyses/");
    assert_eq!(tests_of(&lab.app, &s.id).len(), 1);
}
