//! The reception desk and custody: exceptions at receipt (badges and filter), the two-step
//! scanner receipt, who holds a sample (the holder rule), sub-sample balances and the
//! witnessed destruction.

use actix_web::http::StatusCode;
use diesel::connection::SimpleConnection;

use crate::custody::{event, lab, Lab, PW, TZ};
use lims::custody::{self, EventKind};
use lims::error::AppError;
use lims::sample::movement::{self, EventInput, Proofs};
use lims::sample::receipt::{self, ReceiptException, ReceiptExceptions, ReceiptInput};
use lims::sample::{self, Sample, SampleFilter};
use lims::user::User;

fn receipt_input(seal: &str) -> ReceiptInput {
    ReceiptInput {
        seal_number: seal.into(),
        seal_intact: "yes".into(),
        quantity_sufficient: "yes".into(),
        delivered_by: "Of. Pedro Ramírez".into(),
        decision: "accept".into(),
        ..Default::default()
    }
}

impl Lab {
    fn receive_with(&self, s: &Sample, input: ReceiptInput) -> Sample {
        receipt::receive(
            &mut self.app.db.conn(),
            &self.tech.handler(None),
            &s.id,
            &input,
            TZ,
        )
        .expect("receive")
    }

    fn sample(&self, s: &Sample) -> Sample {
        sample::find(&mut self.app.db.conn(), &s.id).unwrap()
    }

    /// Records an event as `who` (passwords none).
    fn record_as(
        &self,
        who: &User,
        s: &Sample,
        input: &EventInput,
    ) -> Result<custody::CustodyEvent, AppError> {
        movement::record(
            &mut self.app.db.conn(),
            &who.handler(None),
            &s.id,
            input,
            TZ,
            &Proofs::default(),
        )
    }

    /// Splits `quantity` g off `parent` as `who`, the confirmation page seen or not.
    fn split_as(
        &self,
        who: &User,
        parent: &Sample,
        quantity: &str,
        confirm: &str,
    ) -> Result<Sample, AppError> {
        sample::create_subsample(
            &mut self.app.db.conn(),
            &who.handler(None),
            &parent.id,
            &sample::SubsampleInput {
                kind: "aliquot".into(),
                description: "x".into(),
                quantity: quantity.into(),
                quantity_unit: "g".into(),
                confirm: confirm.into(),
                ..Default::default()
            },
        )
    }

    fn last_event(&self, s: &Sample) -> custody::CustodyEvent {
        custody::for_sample(&mut self.app.db.conn(), &s.id)
            .unwrap()
            .pop()
            .unwrap()
    }
}

fn field_error(result: Result<impl std::fmt::Debug, AppError>, field: &str) -> String {
    match result {
        Err(AppError::Invalid(e)) => e
            .get(field)
            .unwrap_or_else(|| panic!("no error on {field}: {e:?}"))
            .to_string(),
        other => panic!("expected a message beside {field}, got {other:?}"),
    }
}

#[actix_web::test]
async fn exceptions_at_receipt_are_flagged_filtered_and_shown_as_warnings() {
    let lab = lab();
    let s = lab.register("ACTA-X-1", &["PR-1", "PR-2", "PR-3", "PR-4"]);
    lab.receive_with(&s[0], receipt_input("PR-1"));
    lab.receive_with(
        &s[1],
        ReceiptInput {
            seal_intact: "no".into(),
            notes: "Precinto cortado".into(),
            ..receipt_input("PR-2")
        },
    );
    lab.receive_with(
        &s[2],
        ReceiptInput {
            quantity_sufficient: "no".into(),
            notes: "Precinto distinto y poca muestra".into(),
            ..receipt_input("PR-9")
        },
    );
    lab.receive_with(
        &s[3],
        ReceiptInput {
            decision: "reject".into(),
            notes: "Bolsa mojada".into(),
            ..receipt_input("PR-4")
        },
    );
    let flags: Vec<Option<String>> = s
        .iter()
        .map(|x| {
            lab.sample(x)
                .receipt_exceptions
                .map(|e| e.as_str().to_string())
        })
        .collect();
    assert_eq!(
        flags,
        vec![
            None,
            Some("seal_broken".into()),
            Some("seal_differs,quantity_insufficient".into()),
            Some("rejected".into()),
        ]
    );
    assert_eq!(
        ReceiptExceptions::of(&[ReceiptException::Rejected, ReceiptException::SealBroken])
            .unwrap()
            .items(),
        vec![ReceiptException::SealBroken, ReceiptException::Rejected]
    );

    // The filter lists exactly the three, through the list's keyset pages.
    let mut conn = lab.app.db.conn();
    let filter = SampleFilter {
        exceptions: true,
        ..Default::default()
    };
    let (first, next) = sample::list(&mut conn, &filter, None, 2).unwrap();
    let (second, last) = sample::list(&mut conn, &filter, next.as_ref(), 2).unwrap();
    assert!(last.is_none());
    let mut listed: Vec<String> = first
        .iter()
        .chain(second.iter())
        .map(|r| r.sample.lab_code.clone())
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            s[1].lab_code.clone(),
            s[2].lab_code.clone(),
            s[3].lab_code.clone()
        ]
    );
    drop(conn);

    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    let list = c.get("/samples?exceptions=1").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        !list.contains(&format!(">{}<", s[0].lab_code)),
        "clean one filtered out"
    );
    list.assert_contains("badge exception");
    list.assert_contains("Precinto roto");
    list.assert_contains("Precinto distinto · Cantidad insuficiente");
    list.assert_contains("name=\"exceptions\" value=\"1\" checked");
    // Every place a sample shows: its page, its seizure and the search results.
    let page = c.get(&format!("/samples/{}", s[1].id)).await;
    page.assert_contains("badge exception");
    page.assert_contains("Precinto roto");
    let clean = c.get(&format!("/samples/{}", s[0].id)).await;
    assert!(!clean.contains("badge exception"));
    c.get(&format!("/seizures/{}", s[0].seizure_id))
        .await
        .assert_contains("Rechazada en recepción");
    let year = sample::lab_year(TZ);
    let hits = c.get(&format!("/search?q=LAB-{year}-0000")).await;
    hits.assert_contains("Precinto distinto · Cantidad insuficiente");

    // Samples received before the column existed get it from their receipt events.
    let mut conn = lab.app.db.conn();
    let backend = if lab.app.db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend)
        .join("2026-11-28-000006_desk");
    let sql = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    conn.batch_execute(&sql("down.sql")).unwrap();
    conn.batch_execute(&sql("up.sql")).unwrap();
    drop(conn);
    let again: Vec<Option<String>> = s
        .iter()
        .map(|x| {
            lab.sample(x)
                .receipt_exceptions
                .map(|e| e.as_str().to_string())
        })
        .collect();
    assert_eq!(again, flags, "backfilled from the receipt events");
}

#[actix_web::test]
async fn the_scanner_receipt_checks_the_seal_first_and_returns_to_the_scan_box() {
    let lab = lab();
    let s = lab.register("ACTA-D-1", &["PR-10", "PR-11"]);
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    c.get(&format!("/receive?code={}", s[0].lab_code))
        .await
        .assert_redirect(&format!("/samples/{}/receive", s[0].id));
    // Step 1: only the seal, in focus; its Enter sends nothing but the seal.
    let step1 = c.get(&format!("/samples/{}/receive", s[0].id)).await;
    step1.assert_contains(
        "name=\"seal_number\" type=\"text\" value=\"\" autocomplete=\"off\" autofocus",
    );
    assert!(
        !step1.contains("method=\"post\" action=\"/samples"),
        "no receipt form yet"
    );
    // Step 2: the seal read is compared, the quantity comes from the record.
    let differs = c
        .get(&format!(
            "/samples/{}/receive?step=check&seal_number=pr-99",
            s[0].id
        ))
        .await;
    differs.assert_contains("seal-check differs");
    differs.assert_contains("PR-99: DISTINTO del registrado en el acta (PR-10)");
    differs.assert_contains("name=\"quantity\" type=\"text\" value=\"250\"");
    differs.assert_contains("value=\"yes\" autofocus");
    let matches = c
        .get(&format!(
            "/samples/{}/receive?step=check&seal_number=PR-10",
            s[0].id
        ))
        .await;
    matches.assert_contains("seal-check matches");
    // The half-filled form (a scanner's Enter) is refused beside each question, kept.
    let path = format!("/samples/{}/receive", s[0].id);
    let half = c
        .post(
            &path,
            &[
                ("seal_number", "PR-10"),
                ("quantity", "250"),
                ("quantity_unit", "g"),
            ],
        )
        .await;
    assert_eq!(half.status, StatusCode::BAD_REQUEST);
    half.assert_contains("Responda sí o no");
    half.assert_contains("Indique si recibe la muestra o la rechaza");
    assert!(!half.contains("Elija una opción de la lista"));
    half.assert_contains("value=\"PR-10\"");
    assert!(lab.sample(&s[0]).status.awaits_receipt());
    let done = c
        .post(
            &path,
            &[
                ("seal_number", "PR-10"),
                ("seal_intact", "yes"),
                ("quantity", "250"),
                ("quantity_unit", "g"),
                ("quantity_sufficient", "yes"),
                ("delivered_by", "Of. Pedro Ramírez"),
                ("decision", "accept"),
            ],
        )
        .await;
    done.assert_redirect("/receive");
    let counter = c.get("/receive").await;
    counter.assert_contains(&format!("Muestra {} recibida", s[0].lab_code));
    counter.assert_contains("id=\"f-code\" name=\"code\" type=\"text\" value=\"\" autofocus");

    // Scanned again: when and by whom, and the box is ready for the next bag.
    let again = c.get(&format!("/receive?code={}", s[0].lab_code)).await;
    assert_eq!(again.status, StatusCode::OK);
    again.assert_contains(&format!("{} ya fue recibida el", s[0].lab_code));
    again.assert_contains("por tecnico Test");
    again.assert_contains("value=\"\" autofocus");
    // Its receipt form leads back there.
    c.get(&path)
        .await
        .assert_redirect(&format!("/receive?code={}", s[0].lab_code));
    // By its seal too; and a rejection says so.
    lab.receive_with(
        &s[1],
        ReceiptInput {
            decision: "reject".into(),
            notes: "Bolsa rota".into(),
            ..receipt_input("PR-11")
        },
    );
    c.get("/receive?code=pr-11")
        .await
        .assert_contains("fue rechazada en la recepción el");
}

#[actix_web::test]
async fn only_the_holder_or_a_supervisor_with_a_reason_records_the_next_event() {
    let lab = lab();
    let loc = lab.location("REF-H");
    let s = lab.register("ACTA-H-1", &["PR-20"]);
    let s0 = lab.receive(&s[0]);
    let receipt = lab.last_event(&s0);
    assert_eq!(receipt.to_user_id.as_ref(), Some(&lab.tech.id));

    // A hands the sample to B, who confirms with her password.
    let mut a = lab.app.client().await;
    a.login("tecnico", PW).await;
    let path = format!("/samples/{}/custody", s0.id);
    a.get(&format!("{path}?kind=handed_over")).await;
    a.post(
        &path,
        &[
            ("kind", "handed_over"),
            ("to_username", "tecnica2"),
            ("to_password", PW),
        ],
    )
    .await
    .assert_redirect(&format!("/samples/{}", s0.id));

    // A can no longer record anything: not on the page, not by posting.
    let form = a.get(&format!("{path}?kind=stored")).await;
    form.assert_contains("Solo quien tiene la muestra bajo su custodia");
    assert!(!form.contains("name=\"storage_location_id\""));
    let refused = a
        .post(&path, &[("kind", "stored"), ("storage_location_id", &loc)])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    refused.assert_contains("Otra persona tiene esta muestra bajo su custodia");
    let store = |input: EventInput| EventInput {
        storage_location_id: loc.clone(),
        ..input
    };
    let as_a = lab.record_as(&lab.tech, &s0, &store(event(EventKind::Stored)));
    assert_eq!(field_error(as_a, "holder"), "validation.not_the_holder");
    // Sub-sampling follows the same rule.
    let split = lab.split_as(&lab.tech, &s0, "1", "yes");
    assert_eq!(field_error(split, "holder"), "validation.not_the_holder");

    // B stores it and still answers for it; the event names her.
    let stored = lab
        .record_as(&lab.tech2, &s0, &store(event(EventKind::Stored)))
        .unwrap();
    assert_eq!(stored.to_user_id.as_ref(), Some(&lab.tech2.id));
    let page = a.get(&format!("/samples/{}", s0.id)).await;
    page.assert_contains("Bajo custodia de</dt><dd>tecnica2 Test");
    page.assert_contains("Almacenada en");
    page.assert_contains("REF-H");

    // The supervisor, not the holder, must say why; custody then passes to him.
    let removal = |reason: &str| EventInput {
        reason: "Para ensayo urgente".into(),
        override_reason: reason.into(),
        ..event(EventKind::RemovedFromStorage)
    };
    let no_reason = lab.record_as(&lab.supervisor, &s0, &removal(""));
    assert_eq!(
        field_error(no_reason, "override_reason"),
        "validation.override_reason_required"
    );
    let mut sc = lab.app.client().await;
    sc.login("super", PW).await;
    sc.get(&format!("{path}?kind=removed_from_storage"))
        .await
        .assert_contains("name=\"override_reason\"");
    let taken = lab
        .record_as(
            &lab.supervisor,
            &s0,
            &removal("tecnica2 de licencia; muestra urgente"),
        )
        .unwrap();
    assert_eq!(
        taken.override_reason.as_deref(),
        Some("tecnica2 de licencia; muestra urgente")
    );
    assert_eq!(taken.from_user_id.as_ref(), Some(&lab.tech2.id));
    assert_eq!(taken.to_user_id.as_ref(), Some(&lab.supervisor.id));
    let page = sc.get(&format!("/samples/{}", s0.id)).await;
    page.assert_contains("Bajo custodia de</dt><dd>super Test");
    page.assert_contains("tecnica2 de licencia; muestra urgente");
    page.assert_contains("Cadena íntegra");
    // The supervisor now holds it: no reason needed; B is refused.
    let opening = EventInput {
        reason: "Toma de alícuota".into(),
        ..event(EventKind::Opened)
    };
    assert!(lab.record_as(&lab.tech2, &s0, &opening).is_err());
    lab.record_as(&lab.supervisor, &s0, &opening).unwrap();
    let keys = custody::key::installed().unwrap();
    let report = custody::verify::verify_all(&mut lab.app.db.conn(), keys, |_, _| Ok(())).unwrap();
    assert!(report.breaks.is_empty(), "{:?}", report.breaks);
}

#[actix_web::test]
async fn sub_samples_need_a_quantity_keep_the_parents_balance_and_confirm_first() {
    let lab = lab();
    let s = lab.register("ACTA-B-1", &["PR-30"]);
    let parent = lab.receive_with(
        &s[0],
        ReceiptInput {
            quantity: "25,5".into(),
            quantity_unit: "g".into(),
            ..receipt_input("PR-30")
        },
    );
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    let path = format!("/samples/{}/subsamples", parent.id);
    c.get(&path).await.assert_contains("25,5 g");
    let count = |lab: &Lab| {
        sample::descendants(&mut lab.app.db.conn(), &parent)
            .unwrap()
            .len()
    };
    // An empty form creates nothing.
    let empty = c
        .post(
            &path,
            &[
                ("kind", "aliquot"),
                ("description", "Alícuota"),
                ("quantity_unit", ""),
            ],
        )
        .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    empty.assert_contains("Escriba la cantidad");
    empty.assert_contains("Elija la unidad de la cantidad");
    assert_eq!(count(&lab), 0);
    let fields = |qty: &'static str, unit: &'static str| {
        vec![
            ("kind", "aliquot"),
            ("description", "Alícuota para HPLC"),
            ("quantity", qty),
            ("quantity_unit", unit),
        ]
    };
    // The split is shown for confirmation first; nothing is created yet.
    let confirm = c.post(&path, &fields("5", "g")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    confirm.assert_contains("son permanentes");
    confirm.assert_contains("25,5 g → 20,5 g");
    confirm.assert_contains("name=\"confirm\" value=\"yes\"");
    assert_eq!(count(&lab), 0);
    // "Change" brings the form back as typed.
    let mut change = fields("5", "g");
    change.push(("confirm", "edit"));
    let back = c.post(&path, &change).await;
    assert_eq!(back.status, StatusCode::OK);
    back.assert_contains("value=\"Alícuota para HPLC\"");
    back.assert_contains("name=\"quantity\" type=\"text\" value=\"5\"");
    let mut yes = fields("5", "g");
    yes.push(("confirm", "yes"));
    let made = c.post(&path, &yes).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    assert_eq!(count(&lab), 1);
    let page = c.get(&format!("/samples/{}", parent.id)).await;
    page.assert_contains("Cantidad restante</dt><dd>20,5 g");

    // More than is left, or a unit of another kind, is refused beside the field.
    let too_much = c.post(&path, &fields("0,021", "kg")).await;
    assert_eq!(too_much.status, StatusCode::BAD_REQUEST);
    too_much.assert_contains("Es más de lo que queda de la muestra");
    let volume = c.post(&path, &fields("1", "mL")).await;
    assert_eq!(volume.status, StatusCode::BAD_REQUEST);
    volume.assert_contains("Use una unidad del mismo tipo");
    // A split sent without its confirmation page is refused.
    let direct = lab.split_as(&lab.tech, &parent, "1", "");
    assert_eq!(field_error(direct, "confirm"), "validation.confirm_first");
    assert_eq!(count(&lab), 1);
    // Converted: the rest, in milligrams, empties it.
    let mut rest = fields("20500", "mg");
    rest.push(("confirm", "yes"));
    let made = c.post(&path, &rest).await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    assert_eq!(count(&lab), 2);
    c.get(&format!("/samples/{}", parent.id))
        .await
        .assert_contains("Cantidad restante</dt><dd>0 g");
}

#[actix_web::test]
async fn destruction_is_witnessed_by_a_user_with_a_password_or_a_named_outsider() {
    let lab = lab();
    let s = lab.register("ACTA-W-1", &["PR-40", "PR-41"]);
    let s0 = lab.receive(&s[0]);
    let s1 = lab.receive(&s[1]);
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    let path = format!("/samples/{}/custody", s0.id);
    let form = c.get(&format!("{path}?kind=destroyed")).await;
    form.assert_contains("name=\"witness_kind\" value=\"user\" checked");
    form.assert_contains("oficial Test");
    assert!(
        !form.contains("value=\"admin\""),
        "no administrator as witness"
    );
    let fields = |who: &'static str| {
        vec![
            ("kind", "destroyed"),
            ("witness_kind", "user"),
            ("witness_username", who),
            ("place", "Horno de la intendencia"),
            ("reason", "Incineración ordenada por resolución 12-2026"),
        ]
    };
    // Oneself is no witness.
    let own = c.post(&path, &fields("tecnico")).await;
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
    own.assert_contains("no puede ser su propio testigo");
    // The confirmation page asks for the witness's password; nothing is recorded yet.
    let confirm = c.post(&path, &fields("oficial")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    confirm.assert_contains("Este evento es definitivo");
    confirm.assert_contains("name=\"witness_password\"");
    confirm.assert_contains("oficial Test");
    assert_eq!(lab.last_event(&s0).kind, "received_at_lab");
    let mut wrong = fields("oficial");
    wrong.extend([("witness_password", "not-his"), ("confirm", "yes")]);
    let refused = c.post(&path, &wrong).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    refused.assert_contains("La contraseña del testigo no es correcta");
    refused.assert_contains("name=\"witness_password\"");
    assert!(!refused.contains("not-his"));
    assert!(lab
        .app
        .audit_of("user")
        .iter()
        .any(|e| e.action == "custody_witness_password_failed"
            && e.entity_id.as_deref() == Some(lab.officer.id.as_str())));
    assert_eq!(lab.last_event(&s0).kind, "received_at_lab");
    let mut right = fields("oficial");
    right.extend([("witness_password", PW), ("confirm", "yes")]);
    c.post(&path, &right)
        .await
        .assert_redirect(&format!("/samples/{}", s0.id));
    let destroyed = lab.last_event(&s0);
    assert_eq!(destroyed.kind, "destroyed");
    assert_eq!(destroyed.witness_user_id.as_ref(), Some(&lab.officer.id));
    assert_eq!(destroyed.witness.as_deref(), Some("oficial Test"));
    assert_eq!(destroyed.to_user_id, None, "nobody holds it after");
    let page = c.get(&format!("/samples/{}", s0.id)).await;
    page.assert_contains("confirmó con su contraseña");
    page.assert_contains("Cadena íntegra");

    // Wrong witness passwords count towards that account's lock, as sign-in failures do.
    let path1 = format!("/samples/{}/custody", s1.id);
    let mut guess = fields("oficial");
    guess.extend([("witness_password", "guess"), ("confirm", "yes")]);
    for _ in 0..lims::user::throttle::MAX_FAILURES {
        c.post(&path1, &guess).await;
    }
    let locked = c.post(&path1, &right).await;
    assert_eq!(locked.status, StatusCode::BAD_REQUEST);
    locked.assert_contains("bloqueada temporalmente");

    // An outside witness: name and identity document, both needed.
    let outside = |doc: &'static str| {
        vec![
            ("kind", "destroyed"),
            ("witness_kind", "external"),
            ("witness", "Dra. Ana Quispe, fiscal provincial"),
            ("witness_document", doc),
            ("reason", "Incineración"),
        ]
    };
    let no_doc = c.post(&path1, &outside("")).await;
    assert_eq!(no_doc.status, StatusCode::BAD_REQUEST);
    no_doc.assert_contains("id=\"e-witness_document\"");
    let confirm = c.post(&path1, &outside("DNI 40123456")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(!confirm.contains("name=\"witness_password\""));
    let mut yes = outside("DNI 40123456");
    yes.push(("confirm", "yes"));
    c.post(&path1, &yes)
        .await
        .assert_redirect(&format!("/samples/{}", s1.id));
    let e = lab.last_event(&s1);
    assert_eq!(
        e.witness.as_deref(),
        Some("Dra. Ana Quispe, fiscal provincial")
    );
    assert_eq!(e.witness_document.as_deref(), Some("DNI 40123456"));
    assert_eq!(e.witness_user_id, None);
    // Without its confirmation page, the domain refuses it.
    let s2 = lab.register("ACTA-W-2", &["PR-42"]);
    let s2 = lab.receive(&s2[0]);
    let direct = lab.record_as(
        &lab.tech,
        &s2,
        &EventInput {
            witness_kind: "external".into(),
            witness: "x".into(),
            witness_document: "y".into(),
            reason: "z".into(),
            ..event(EventKind::Destroyed)
        },
    );
    assert_eq!(field_error(direct, "confirm"), "validation.confirm_first");
}
