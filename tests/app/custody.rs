//! Seizures, samples and the chain of custody, through the web interface and the domain.

use std::collections::BTreeSet;

use crate::common::{TestApp, ADMIN};
use actix_web::http::StatusCode;
use lims::audit::Actor;
use lims::custody::{self, EventKind};
use lims::sample::movement::{self, EventInput};
use lims::sample::receipt::{self, ReceiptInput};
use lims::sample::{self, Sample, SampleInput, SampleStatus};
use lims::seizure::{self, SeizureInput};
use lims::user::{Role, User};

pub(crate) const PW: &str = "lab-password-1";
pub(crate) const TZ: chrono_tz::Tz = chrono_tz::America::Lima;

pub(crate) struct Lab {
    pub(crate) app: TestApp,
    pub(crate) officer: User,
    pub(crate) tech: User,
    pub(crate) tech2: User,
    pub(crate) supervisor: User,
}

pub(crate) fn lab() -> Lab {
    let app = TestApp::with_admin();
    Lab {
        officer: app.create_user("oficial", Role::Enforcement, PW),
        tech: app.create_user("tecnico", Role::Technician, PW),
        tech2: app.create_user("tecnica2", Role::Technician, PW),
        supervisor: app.create_user("super", Role::Supervisor, PW),
        app,
    }
}

fn seizure_input(reference: &str) -> SeizureInput {
    SeizureInput {
        reference: reference.into(),
        customs_office: "Intendencia de Aduana de Tacna".into(),
        declaration_number: "172-2026-10-001234".into(),
        seized_at: "2026-03-01T10:30".into(),
        place: "Complejo fronterizo Santa Rosa".into(),
        seizing_officer: "Of. Pedro Ramírez".into(),
        goods_description: "Polvo blanco en paquetes".into(),
        declared_hs_code: "2939.71".into(),
        origin_country: "BO".into(),
        importer: "Importaciones Andinas S.A.C.".into(),
        risk_channel: "red".into(),
        notes: String::new(),
    }
}

fn sample_input(seal: &str) -> SampleInput {
    SampleInput {
        description: "Paquete 1, polvo blanco".into(),
        matrix: "polvo".into(),
        quantity: "250".into(),
        quantity_unit: "g".into(),
        package_count: "1".into(),
        seal_number: seal.into(),
        priority: "urgent".into(),
        requested_tests: "Identificación de cocaína".into(),
        due_date: "2026-04-01".into(),
    }
}

impl Lab {
    pub(crate) fn register(&self, reference: &str, seals: &[&str]) -> Vec<Sample> {
        let mut conn = self.app.db.conn();
        let rows: Vec<SampleInput> = seals.iter().map(|s| sample_input(s)).collect();
        seizure::register(
            &mut conn,
            &self.officer.handler(None),
            &seizure_input(reference),
            &rows,
            true,
            TZ,
        )
        .expect("register")
        .samples
    }

    pub(crate) fn receive(&self, s: &Sample) -> Sample {
        let who = self.tech.handler(None);
        receipt::receive(
            &mut self.app.db.conn(),
            &who,
            &s.id,
            &ReceiptInput {
                seal_number: s.seal_number.clone().unwrap_or_default(),
                seal_intact: "yes".into(),
                quantity_sufficient: "yes".into(),
                delivered_by: "Of. Pedro Ramírez".into(),
                decision: "accept".into(),
                ..Default::default()
            },
            TZ,
        )
        .expect("receive")
    }

    pub(crate) fn record(
        &self,
        s: &Sample,
        input: EventInput,
    ) -> Result<custody::CustodyEvent, lims::error::AppError> {
        let who = self.tech.handler(None);
        movement::record(
            &mut self.app.db.conn(),
            &who,
            &s.id,
            &input,
            TZ,
            &movement::Proofs::default(),
        )
    }

    pub(crate) fn location(&self, code: &str) -> String {
        let mut conn = self.app.db.conn();
        let admin = lims::user::find_by_username(&mut conn, ADMIN.0)
            .unwrap()
            .unwrap();
        lims::storage::create(
            &mut conn,
            &admin.actor(None),
            &lims::storage::NewLocationInput {
                code: code.into(),
                name: format!("Refrigerador {code}"),
                kind: "fridge".into(),
                parent_id: String::new(),
            },
        )
        .unwrap()
        .id
        .to_string()
    }

    pub(crate) fn kinds(&self, s: &Sample) -> Vec<String> {
        custody::for_sample(&mut self.app.db.conn(), &s.id)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }
}

pub(crate) fn event(kind: EventKind) -> EventInput {
    EventInput {
        kind: kind.as_str().into(),
        ..Default::default()
    }
}

#[actix_web::test]
async fn enforcement_pre_registers_a_seizure_with_several_samples_on_the_web() {
    let lab = lab();
    let mut c = lab.app.client().await;
    c.login("oficial", PW).await.assert_redirect("/");
    let form = c.get("/seizures/new").await;
    form.assert_contains("cada muestra debe llevar su número de precinto");

    let mut fields: Vec<(&str, &str)> = vec![
        ("reference", "acta-2026-0412"),
        (
            "customs_office",
            "Intendencia de Aduana Marítima del Callao",
        ),
        ("declaration_number", "118-2026-10-045678"),
        ("seized_at", "2026-03-01T10:30"),
        ("place", "Muelle 5"),
        ("seizing_officer", "Of. Pedro Ramírez"),
        (
            "goods_description",
            "Zapatillas con marca presuntamente falsificada",
        ),
        ("declared_hs_code", "6404.11"),
        ("origin_country", "CN"),
        ("importer", "Comercial El Sol E.I.R.L."),
        ("risk_channel", "amber"),
        ("rows", "3"),
        ("s0_description", "Par de zapatillas talla 42"),
        ("s0_quantity", "1"),
        ("s0_quantity_unit", "units"),
        ("s0_seal_number", "pr 0001"),
        ("s0_priority", "routine"),
        ("s1_description", "Caja de embalaje"),
        ("s1_priority", "routine"),
        ("s2_priority", "routine"),
    ];
    // The second sample has no seal: refused beside that field, everything kept.
    let bad = c.post("/seizures", &fields).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    bad.assert_contains("id=\"s1_seal_number\"");
    bad.assert_contains("Escriba el número de precinto");
    bad.assert_contains("value=\"Par de zapatillas talla 42\"");
    bad.assert_contains("value=\"acta-2026-0412\"");
    assert!(
        seizure::find_by_reference(&mut lab.app.db.conn(), "ACTA-2026-0412")
            .unwrap()
            .is_none()
    );

    fields.push(("s1_seal_number", "PR-0002"));
    let ok = c.post("/seizures", &fields).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let page = c.get(ok.location().unwrap()).await;
    page.assert_contains("ACTA-2026-0412");
    let year = sample::lab_year(TZ);
    page.assert_contains(&format!("LAB-{year}-000001"));
    page.assert_contains(&format!("LAB-{year}-000002"));
    page.assert_contains("PR0001");

    let mut conn = lab.app.db.conn();
    let s = seizure::find_by_reference(&mut conn, "acta-2026-0412")
        .unwrap()
        .unwrap();
    assert_eq!(s.declared_hs_code.as_deref(), Some("640411"));
    let samples = sample::of_seizure(&mut conn, &s.id).unwrap();
    assert_eq!(samples.len(), 2, "the empty third row is ignored");
    for smp in &samples {
        assert_eq!(smp.status, SampleStatus::Registered);
        assert_eq!(lab.kinds(smp), vec!["collected", "sealed"]);
    }

    // The same reference again is refused.
    c.get("/seizures/new").await;
    let dup = c.post("/seizures", &fields).await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    dup.assert_contains("Ya existe un acta con esta referencia");
}

#[actix_web::test]
async fn malformed_tariff_code_is_refused_and_bad_fields_are_explained() {
    let lab = lab();
    let mut conn = lab.app.db.conn();
    let mut input = seizure_input("ACTA-X-1");
    input.declared_hs_code = "12AB".into();
    input.origin_country = "XX".into();
    input.risk_channel = "purple".into();
    input.seized_at = "2199-01-01T00:00".into();
    let err = seizure::register(
        &mut conn,
        &lab.tech.handler(None),
        &input,
        &[SampleInput {
            quantity: "-3".into(),
            ..sample_input("")
        }],
        false,
        TZ,
    )
    .err()
    .expect("refused");
    let lims::error::AppError::Invalid(errors) = err else {
        panic!("validation error expected");
    };
    assert_eq!(errors.get("declared_hs_code"), Some("validation.hs_format"));
    assert_eq!(errors.get("origin_country"), Some("validation.choose_one"));
    assert_eq!(errors.get("risk_channel"), Some("validation.choose_one"));
    assert_eq!(errors.get("seized_at"), Some("validation.not_in_future"));
    assert_eq!(
        errors.get("s0_quantity"),
        Some("validation.positive_number")
    );
}

#[test]
fn lab_codes_are_unique_and_gapless_under_concurrent_registration() {
    let lab = lab();
    let threads: Vec<_> = (0..6)
        .map(|t| {
            let pool = lab.app.db.pool.clone();
            let officer = lab.officer.clone();
            std::thread::spawn(move || {
                let mut codes = Vec::new();
                for i in 0..5 {
                    let mut conn = pool.get().unwrap();
                    let done = seizure::register(
                        &mut conn,
                        &officer.handler(None),
                        &seizure_input(&format!("ACTA-C{t}-{i}")),
                        &[sample_input("S1"), sample_input("S2")],
                        true,
                        TZ,
                    )
                    .expect("concurrent register");
                    codes.extend(done.samples.into_iter().map(|s| s.lab_code));
                }
                codes
            })
        })
        .collect();
    let codes: Vec<String> = threads
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let unique: BTreeSet<&String> = codes.iter().collect();
    assert_eq!(codes.len(), 60);
    assert_eq!(unique.len(), 60, "no lab code twice");
    let year = sample::lab_year(TZ);
    let expected: BTreeSet<String> = (1..=60).map(|n| format!("LAB-{year}-{n:06}")).collect();
    assert_eq!(
        unique.into_iter().cloned().collect::<BTreeSet<_>>(),
        expected
    );
}

#[actix_web::test]
async fn receipt_with_intact_and_broken_seals_and_rejection() {
    let lab = lab();
    let loc = lab.location("REF-1");
    let samples = lab.register("ACTA-R-1", &["PR-1", "PR-2", "PR-3"]);
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    // The scan finds the sample by its seal number and goes to the receipt form.
    c.get("/receive")
        .await
        .assert_contains(&samples[0].lab_code);
    c.get("/receive?code=pr-1")
        .await
        .assert_redirect(&format!("/samples/{}/receive", samples[0].id));
    c.get("/receive?code=LAB-NOPE")
        .await
        .assert_contains("No hay ninguna muestra");

    c.get(&format!("/samples/{}/receive", samples[0].id)).await;
    let ok = c
        .post(
            &format!("/samples/{}/receive", samples[0].id),
            &[
                ("seal_number", "PR-1"),
                ("seal_intact", "yes"),
                ("quantity", "248,5"),
                ("quantity_unit", "g"),
                ("quantity_sufficient", "yes"),
                ("delivered_by", "Of. Pedro Ramírez"),
                ("storage_location_id", &loc),
                ("decision", "accept"),
            ],
        )
        .await;
    ok.assert_redirect("/receive");
    let s0 = sample::find(&mut lab.app.db.conn(), &samples[0].id).unwrap();
    assert_eq!(s0.status, SampleStatus::Received);
    assert_eq!(
        s0.storage_location_id.as_ref().map(|l| l.to_string()),
        Some(loc.clone())
    );
    assert_eq!(
        lab.kinds(&s0),
        vec!["collected", "sealed", "received_at_lab", "stored"]
    );
    let events = custody::for_sample(&mut lab.app.db.conn(), &s0.id).unwrap();
    assert_eq!(events[2].quantity, Some(248.5));
    assert_eq!(events[2].to_user_id.as_ref(), Some(&lab.tech.id));

    // A broken seal without a note is refused; with the note it is received and recorded.
    let path = format!("/samples/{}/receive", samples[1].id);
    c.get(&path).await;
    let mut broken = vec![
        ("seal_number", "PR-2"),
        ("seal_intact", "no"),
        ("quantity_sufficient", "yes"),
        ("delivered_by", "Of. Pedro Ramírez"),
        ("decision", "accept"),
    ];
    let refused = c.post(&path, &broken).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    refused.assert_contains("id=\"f-notes\"");
    refused.assert_contains("Describa la observación");
    broken.push(("notes", "Precinto cortado, bolsa íntegra"));
    c.post(&path, &broken).await.assert_redirect("/receive");
    let ev = custody::for_sample(&mut lab.app.db.conn(), &samples[1].id).unwrap();
    assert_eq!(ev.last().unwrap().seal_intact, Some(false));
    let page = c.get(&format!("/samples/{}", samples[1].id)).await;
    page.assert_contains("precinto roto");

    // Rejected at receipt with a reason.
    let path = format!("/samples/{}/receive", samples[2].id);
    c.get(&path).await;
    c.post(
        &path,
        &[
            ("seal_number", "PR-9"),
            ("seal_intact", "yes"),
            ("quantity_sufficient", "no"),
            ("delivered_by", "Of. Pedro Ramírez"),
            ("decision", "reject"),
            (
                "notes",
                "Precinto distinto al del acta y cantidad insuficiente",
            ),
        ],
    )
    .await
    .assert_redirect("/receive");
    let s2 = sample::find(&mut lab.app.db.conn(), &samples[2].id).unwrap();
    assert_eq!(s2.status, SampleStatus::Rejected);
    assert_eq!(
        lab.kinds(&s2).last().map(String::as_str),
        Some("rejected_at_receipt")
    );
    // Receiving twice is refused.
    let again = c.get(&path).await;
    again.assert_redirect(&format!("/receive?code={}", samples[2].lab_code));
}

#[test]
fn every_custody_event_kind_and_dispositions() {
    let lab = lab();
    let loc = lab.location("REF-2");
    let s = lab.register("ACTA-E-1", &["PR-10", "PR-11", "PR-12", "PR-13"]);
    let s0 = lab.receive(&s[0]);
    lab.record(
        &s0,
        EventInput {
            storage_location_id: loc.clone(),
            ..event(EventKind::Stored)
        },
    )
    .unwrap();
    lab.record(
        &s0,
        EventInput {
            reason: "Para ensayo".into(),
            ..event(EventKind::RemovedFromStorage)
        },
    )
    .unwrap();
    lab.record(
        &s0,
        EventInput {
            reason: "Toma de alícuota".into(),
            seal_intact: "yes".into(),
            ..event(EventKind::Opened)
        },
    )
    .unwrap();
    let same = lab.record(
        &s0,
        EventInput {
            new_seal_number: "PR-10".into(),
            ..event(EventKind::Resealed)
        },
    );
    assert!(same.is_err(), "a reseal needs a new seal number");
    lab.record(
        &s0,
        EventInput {
            new_seal_number: "LAB-PR-77".into(),
            ..event(EventKind::Resealed)
        },
    )
    .unwrap();
    let after = sample::find(&mut lab.app.db.conn(), &s0.id).unwrap();
    assert_eq!(after.seal_number.as_deref(), Some("LAB-PR-77"));
    lab.record(
        &after,
        EventInput {
            external_lab: "Laboratorio Central, Santiago".into(),
            reason: "Confirmación".into(),
            ..event(EventKind::SentExternal)
        },
    )
    .unwrap();
    assert_eq!(
        sample::find(&mut lab.app.db.conn(), &s0.id).unwrap().status,
        SampleStatus::External
    );
    // While away, nothing but its return can be recorded.
    assert!(lab
        .record(
            &after,
            EventInput {
                reason: "x".into(),
                ..event(EventKind::Opened)
            }
        )
        .is_err());
    lab.record(
        &after,
        EventInput {
            external_lab: "Laboratorio Central, Santiago".into(),
            seal_intact: "yes".into(),
            ..event(EventKind::ReturnedFromExternal)
        },
    )
    .unwrap();
    lab.record(
        &after,
        EventInput {
            to_party: "Apoderado del importador".into(),
            ..event(EventKind::ReturnedToOwner)
        },
    )
    .unwrap();
    let returned = sample::find(&mut lab.app.db.conn(), &s0.id).unwrap();
    assert_eq!(returned.status, SampleStatus::Returned);
    // After the final disposition, the chain is closed.
    assert!(lab
        .record(
            &returned,
            EventInput {
                witness: "x".into(),
                reason: "y".into(),
                ..event(EventKind::Destroyed)
            }
        )
        .is_err());
    assert_eq!(
        lab.kinds(&s0),
        vec![
            "collected",
            "sealed",
            "received_at_lab",
            "stored",
            "removed_from_storage",
            "opened",
            "resealed",
            "sent_external",
            "returned_from_external",
            "returned_to_owner"
        ]
    );

    let s1 = lab.receive(&s[1]);
    let no_witness = lab.record(
        &s1,
        EventInput {
            reason: "Incineración".into(),
            ..event(EventKind::Destroyed)
        },
    );
    assert!(
        matches!(no_witness, Err(lims::error::AppError::Invalid(ref e)) if e.get("witness_kind").is_some())
    );
    lab.record(
        &s1,
        EventInput {
            witness_kind: "external".into(),
            witness: "Fiscal provincial".into(),
            witness_document: "DNI 40123456".into(),
            reason: "Incineración".into(),
            confirm: "yes".into(),
            ..event(EventKind::Destroyed)
        },
    )
    .unwrap();
    assert_eq!(
        sample::find(&mut lab.app.db.conn(), &s1.id).unwrap().status,
        SampleStatus::Disposed
    );

    let s2 = lab.receive(&s[2]);
    let past = lab.record(
        &s2,
        EventInput {
            retained_until: "2020-01-01".into(),
            reason: "Juicio".into(),
            ..event(EventKind::Retained)
        },
    );
    assert!(past.is_err());
    lab.record(
        &s2,
        EventInput {
            retained_until: "2099-12-31".into(),
            reason: "Proceso judicial".into(),
            storage_location_id: loc,
            ..event(EventKind::Retained)
        },
    )
    .unwrap();
    let retained = sample::find(&mut lab.app.db.conn(), &s2.id).unwrap();
    assert_eq!(retained.status, SampleStatus::Retained);
    assert_eq!(retained.retained_until.as_deref(), Some("2099-12-31"));

    // An event cannot be dated before the latest one in the chain.
    let s3 = lab.receive(&s[3]);
    let early = lab.record(
        &s3,
        EventInput {
            reason: "x".into(),
            occurred_at: "2026-01-01T08:00".into(),
            ..event(EventKind::Opened)
        },
    );
    assert!(
        matches!(early, Err(lims::error::AppError::Invalid(ref e)) if e.get("occurred_at") == Some("validation.before_previous_event"))
    );
    // A second receipt of the same sample is refused.
    let again = receipt::receive(
        &mut lab.app.db.conn(),
        &lab.tech.handler(None),
        &s3.id,
        &ReceiptInput {
            seal_number: "PR-13".into(),
            seal_intact: "yes".into(),
            quantity_sufficient: "yes".into(),
            delivered_by: "x".into(),
            decision: "accept".into(),
            ..Default::default()
        },
        TZ,
    );
    assert!(
        matches!(again, Err(lims::error::AppError::Invalid(ref e)) if e.get("decision").is_some())
    );
    let s3 = sample::find(&mut lab.app.db.conn(), &s3.id).unwrap();
    assert_eq!(
        lab.kinds(&s3)
            .iter()
            .filter(|k| *k == "received_at_lab")
            .count(),
        1
    );

    // A registered (not yet received) sample cannot be opened.
    let fresh = lab.register("ACTA-E-2", &["PR-14"]);
    assert!(lab
        .record(
            &fresh[0],
            EventInput {
                reason: "x".into(),
                ..event(EventKind::Opened)
            }
        )
        .is_err());

    // Every chain verifies, and every event is audited.
    let report = crate::custody_tamper::verify(&mut lab.app.db.conn());
    assert_eq!(report.samples, 5);
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
    let (audit, _) = lims::audit::list(
        &mut lab.app.db.conn(),
        &lims::audit::AuditFilter {
            entity: Some("custody_event".into()),
            ..Default::default()
        },
        None,
        500,
    )
    .unwrap();
    let events: usize = s
        .iter()
        .chain(fresh.iter())
        .map(|x| lab.kinds(x).len())
        .sum();
    assert_eq!(audit.len(), events);
}

#[actix_web::test]
async fn two_party_transfer_needs_the_receivers_password() {
    let lab = lab();
    let s = lab.register("ACTA-T-1", &["PR-20"]);
    let s0 = lab.receive(&s[0]);
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    let path = format!("/samples/{}/custody", s0.id);
    let form = c.get(&format!("{path}?kind=handed_over")).await;
    form.assert_contains("tecnica2");
    let wrong = c
        .post(
            &path,
            &[
                ("kind", "handed_over"),
                ("to_username", "tecnica2"),
                ("to_password", "not-her-password"),
                ("reason", "Para ensayo"),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    wrong.assert_contains("La contraseña de quien recibe no es correcta");
    let (failed, _) = lims::audit::list(
        &mut lab.app.db.conn(),
        &lims::audit::AuditFilter {
            entity: Some("user".into()),
            ..Default::default()
        },
        None,
        50,
    )
    .unwrap();
    assert!(failed
        .iter()
        .any(|e| e.action == "custody_receiver_password_failed"
            && e.entity_id.as_deref() == Some(lab.tech2.id.as_str())));
    wrong.assert_contains(">Para ensayo</textarea>");
    assert!(
        !wrong.contains("not-her-password"),
        "a password is never echoed"
    );
    let to_self = c
        .post(
            &path,
            &[
                ("kind", "handed_over"),
                ("to_username", "tecnico"),
                ("to_password", PW),
            ],
        )
        .await;
    assert_eq!(to_self.status, StatusCode::BAD_REQUEST);
    let ok = c
        .post(
            &path,
            &[
                ("kind", "handed_over"),
                ("to_username", "tecnica2"),
                ("to_password", PW),
                ("reason", "Para ensayo"),
            ],
        )
        .await;
    ok.assert_redirect(&format!("/samples/{}", s0.id));
    let last = custody::for_sample(&mut lab.app.db.conn(), &s0.id)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(last.kind, "handed_over");
    assert_eq!(last.from_user_id.as_ref(), Some(&lab.tech.id));
    assert_eq!(last.to_user_id.as_ref(), Some(&lab.tech2.id));
    let page = c.get(&format!("/samples/{}", s0.id)).await;
    page.assert_contains("Entregada a otra persona");
    page.assert_contains("tecnica2 Test");
    page.assert_contains("Cadena íntegra");
}

#[actix_web::test]
async fn sub_samples_get_lettered_codes_and_their_own_chain() {
    let lab = lab();
    let s = lab.register("ACTA-S-1", &["PR-30"]);
    let parent = lab.receive(&s[0]);
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    let path = format!("/samples/{}/subsamples", parent.id);
    c.get(&path).await.assert_contains("Contramuestra");
    let bad = c
        .post(
            &path,
            &[("kind", "sample"), ("description", ""), ("quantity", "abc")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let a = c
        .post(
            &path,
            &[
                ("kind", "aliquot"),
                ("description", "Alícuota para HPLC"),
                ("quantity", "5"),
                ("quantity_unit", "g"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    c.get(&path).await;
    c.post(
        &path,
        &[
            ("kind", "counter_sample"),
            ("description", "Contramuestra del declarante"),
            ("quantity", "2"),
            ("quantity_unit", "g"),
            ("seal_number", "CM-1"),
            ("confirm", "yes"),
        ],
    )
    .await;
    let mut conn = lab.app.db.conn();
    let children = sample::descendants(&mut conn, &parent).unwrap();
    let codes: Vec<&str> = children.iter().map(|(_, s)| s.lab_code.as_str()).collect();
    assert_eq!(
        codes,
        vec![
            format!("{}-A", parent.lab_code),
            format!("{}-B", parent.lab_code)
        ]
    );
    let child = &children[0].1;
    assert_eq!(child.parent_id.as_ref(), Some(&parent.id));
    assert_eq!(lab.kinds(child), vec!["sub_sampled"]);
    assert_eq!(
        lab.kinds(&parent)
            .iter()
            .filter(|k| *k == "sub_sampled")
            .count(),
        2
    );
    // A sub-sample can be split again.
    let grand = sample::create_subsample(
        &mut conn,
        &lab.tech.handler(None),
        &child.id,
        &sample::SubsampleInput {
            kind: "aliquot".into(),
            description: "Réplica".into(),
            quantity: "1".into(),
            quantity_unit: "g".into(),
            confirm: "yes".into(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(grand.lab_code, format!("{}-A-A", parent.lab_code));
    let page = c.get(&format!("/samples/{}", parent.id)).await;
    page.assert_contains(&grand.lab_code);
}

#[actix_web::test]
async fn search_by_every_kind_of_code() {
    let lab = lab();
    let s = lab.register("ACTA-Q-1", &["PR-50", "PR-51"]);
    let mut c = lab.app.client().await;
    c.login("oficial", PW).await;
    let seizure_id = s[0].seizure_id.clone();
    c.get(&format!("/search?q={}", s[0].lab_code.to_lowercase()))
        .await
        .assert_redirect(&format!("/samples/{}", s[0].id));
    c.get("/search?q=pr-51")
        .await
        .assert_redirect(&format!("/samples/{}", s[1].id));
    c.get("/search?q=acta-q-1")
        .await
        .assert_redirect(&format!("/seizures/{seizure_id}"));
    c.get("/search?q=172-2026-10-001234")
        .await
        .assert_redirect(&format!("/seizures/{seizure_id}"));
    // Several matches: a list. A prefix finds both samples of the seizure.
    let year = sample::lab_year(TZ);
    let list = c.get(&format!("/search?q=LAB-{year}-0000")).await;
    assert_eq!(list.status, StatusCode::OK);
    list.assert_contains(&s[0].lab_code);
    list.assert_contains(&s[1].lab_code);
    c.get("/search?q=nothing-like-this")
        .await
        .assert_contains("No se encontró nada");
    // A seal replaced at reseal still finds the sample.
    let s0 = lab.receive(&s[0]);
    lab.record(
        &s0,
        EventInput {
            reason: "Apertura".into(),
            ..event(EventKind::Opened)
        },
    )
    .unwrap();
    lab.record(
        &s0,
        EventInput {
            new_seal_number: "NEW-SEAL-9".into(),
            ..event(EventKind::Resealed)
        },
    )
    .unwrap();
    c.get("/search?q=PR-50")
        .await
        .assert_redirect(&format!("/samples/{}", s0.id));
    c.get("/search?q=new-seal-9")
        .await
        .assert_redirect(&format!("/samples/{}", s0.id));
}

#[actix_web::test]
async fn roles_see_and_do_only_what_spec_gives_them() {
    let lab = lab();
    let s = lab.register("ACTA-P-1", &["PR-60"]);
    // Enforcement reads the seizure and the custody history but cannot handle samples.
    let mut c = lab.app.client().await;
    c.login("oficial", PW).await;
    assert_eq!(
        c.get(&format!("/samples/{}", s[0].id)).await.status,
        StatusCode::OK
    );
    for path in [
        format!("/samples/{}/receive", s[0].id),
        format!("/samples/{}/custody?kind=opened", s[0].id),
        format!("/samples/{}/subsamples", s[0].id),
        "/receive".to_string(),
        "/custody/verify".to_string(),
    ] {
        let p = c.get(&path).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{path}");
    }
    let post = c
        .post(
            &format!("/samples/{}/receive", s[0].id),
            &[
                ("seal_number", "PR-60"),
                ("seal_intact", "yes"),
                ("quantity_sufficient", "yes"),
                ("delivered_by", "x"),
                ("decision", "accept"),
            ],
        )
        .await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    post.assert_contains("Solo el personal técnico y los supervisores");
    assert_eq!(
        sample::find(&mut lab.app.db.conn(), &s[0].id)
            .unwrap()
            .status,
        SampleStatus::Registered
    );
    let page = c.get(&format!("/samples/{}", s[0].id)).await;
    assert!(
        !page.contains("Recibir muestra"),
        "no receive button for enforcement"
    );

    // The administrator manages accounts, not evidence: not even through the audit trail.
    let mut a = lab.app.client().await;
    a.login(ADMIN.0, ADMIN.1).await;
    let trail = a.get("/admin/audit?entity=seizure").await;
    trail.assert_contains("<span title=\"create\">Alta</span>");
    assert!(
        !trail.contains("Polvo blanco"),
        "case data hidden from the admin"
    );
    for path in [
        "/seizures",
        "/samples",
        &format!("/samples/{}", s[0].id),
        "/search?q=x",
        "/seizures/new",
    ] {
        assert_eq!(a.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    // Technicians cannot verify (a supervisor's duty), supervisors can.
    let mut t = lab.app.client().await;
    t.login("tecnico", PW).await;
    assert_eq!(t.get("/custody/verify").await.status, StatusCode::FORBIDDEN);
    let mut sup = lab.app.client().await;
    sup.login("super", PW).await;
    crate::custody_tamper::run_on_page(&mut sup)
        .await
        .assert_contains("Todas las cadenas de custodia están íntegras");
    let _ = &lab.supervisor;
}

#[actix_web::test]
async fn lists_filter_and_page_with_keysets() {
    let lab = lab();
    for i in 0..30 {
        lab.register(&format!("ACTA-L-{i:02}"), &["S-1", "S-2"]);
    }
    let mut conn = lab.app.db.conn();
    let mut seen = BTreeSet::new();
    let mut cursor = None;
    loop {
        let (rows, next) =
            sample::list(&mut conn, &Default::default(), cursor.as_ref(), 25).unwrap();
        for r in rows {
            assert!(seen.insert(r.sample.lab_code));
        }
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), 60);
    let urgent = sample::list(
        &mut conn,
        &sample::SampleFilter {
            priority: Some(sample::Priority::Urgent),
            status: Some(SampleStatus::Registered),
            ..Default::default()
        },
        None,
        100,
    )
    .unwrap()
    .0;
    assert_eq!(urgent.len(), 60);
    let overdue = sample::list(
        &mut conn,
        &sample::SampleFilter {
            overdue_before: Some("2026-04-02".into()),
            ..Default::default()
        },
        None,
        100,
    )
    .unwrap()
    .0;
    assert_eq!(overdue.len(), 60, "due 2026-04-01, still open");

    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    let page = c
        .get("/samples?status=registered&priority=urgent&overdue=1")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Vencida");
    page.assert_contains("Más antiguos");
    let seizures = c
        .get("/seizures?office=Intendencia+de+Aduana+de+Tacna&channel=red")
        .await;
    seizures.assert_contains("ACTA-L-29");
    let absurd = c.get("/samples?to=%2B262142-12-31").await;
    assert_eq!(absurd.status, StatusCode::BAD_REQUEST);
    let bad = c.get("/samples?from=2026-02-30").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    bad.assert_contains("value=\"2026-02-30\"");
    let _ = Actor::command_line();
}

#[actix_web::test]
async fn unknown_declared_tariff_code_warns_but_registers() {
    let lab = lab();
    {
        let mut conn = lab.app.db.conn();
        let csv = "section,hscode,description,parent,level\n\
                   VI,29,Organic chemicals,TOTAL,2\n\
                   VI,2939,Alkaloids,29,4\n\
                   VI,293971,Cocaine; its salts,2939,6\n";
        lims::tariff::import_csv(
            &mut conn,
            &Actor::command_line(),
            csv.as_bytes(),
            "mini.csv",
            "HS2022",
        )
        .unwrap();
    }
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    let fields = |reference: &'static str, code: &'static str| {
        vec![
            ("reference", reference),
            ("customs_office", "Intendencia de Aduana de Tacna"),
            ("seized_at", "2026-03-01T10:30"),
            ("place", "Santa Rosa"),
            ("seizing_officer", "Of. Soto"),
            ("goods_description", "Polvo blanco"),
            ("declared_hs_code", code),
            ("risk_channel", "red"),
            ("rows", "1"),
            ("s0_description", "Bolsa 1"),
            ("s0_priority", "routine"),
        ]
    };
    c.get("/seizures/new").await;
    let known = c
        .post("/seizures", &fields("ACTA-K-1", "2939.71.00.00"))
        .await;
    let page = c.get(known.location().unwrap()).await;
    page.assert_contains("Cocaine; its salts");
    assert!(!page.contains("no figura en el arancel"));
    c.get("/seizures/new").await;
    let unknown = c.post("/seizures", &fields("ACTA-K-2", "2939.79")).await;
    assert_eq!(unknown.status, StatusCode::SEE_OTHER);
    let page = c.get(unknown.location().unwrap()).await;
    page.assert_contains("la subpartida 2939.79 no figura en el arancel importado");
    page.assert_contains("Esta subpartida no figura en el arancel importado");
}

#[actix_web::test]
async fn control_characters_in_form_fields_are_refused_not_a_500() {
    let lab = lab();
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    c.get("/seizures/new").await;
    let res = c
        .post(
            "/seizures",
            &[
                ("reference", "ACTA-NUL-1\u{0}"),
                ("customs_office", "Tacna"),
                ("seized_at", "2026-03-01T10:30"),
                ("place", "Santa Rosa"),
                ("seizing_officer", "Of. Soto"),
                ("goods_description", "Polvo\u{0} blanco\nen bolsas"),
                ("risk_channel", "red"),
                ("rows", "1"),
                ("s0_description", "Bolsa\u{0} 1"),
                ("s0_priority", "routine"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    res.assert_contains("id=\"e-reference\"");
    assert!(
        seizure::find_by_reference(&mut lab.app.db.conn(), "ACTA-NUL-1")
            .unwrap()
            .is_none()
    );
    let hits = c.get("/search?q=ACTA-NUL-1%00").await;
    assert_eq!(hits.status, StatusCode::OK);
}
