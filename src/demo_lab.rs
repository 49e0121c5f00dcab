//! The demo laboratory's technical records: methods typical of a customs laboratory (some
//! with a second version), instruments (some calibrated, some due soon, some overdue, one out
//! of service), and staff trained, assessed and authorized, all written through the same
//! domain functions as the web interface. Only when the catalogue is still empty. Then tests
//! on received samples in every state of their workflow, once.

use chrono::{NaiveDate, TimeDelta};

use crate::analysis::external::{self, ExternalInput};
use crate::analysis::result::{self, Action, ResultInput};
use crate::analysis::review::{self, RejectInput};
use crate::analysis::{self, AssignInput, PickInput};
use crate::error::AppError;
use crate::ids::{AnalysisId, SampleId};
use crate::instrument::{self, CalibrationInput, InstrumentInput, MaintenanceInput, StatusInput};
use crate::method::{self, MethodInput};
use crate::personnel::{self, GrantInput, RevokeInput, TrainingInput};
use crate::sample::movement::{self, EventInput, Proofs};
use crate::user::User;

/// A method's second version: how its form changes, and why.
type Revision = (fn(MethodInput) -> MethodInput, &'static str);

/// Code, name, analyte, technique, standard, and how the rest of the form differs from blank.
struct DemoMethod {
    code: &'static str,
    name: &'static str,
    analyte: &'static str,
    technique: &'static str,
    reference: &'static str,
    fill: fn(MethodInput) -> MethodInput,
    /// A second version: what changed, and why.
    revise: Option<Revision>,
}

fn numeric(unit: &str, decimals: &str, u: &str, mode: &str) -> impl Fn(MethodInput) -> MethodInput {
    let (unit, decimals, u, mode) = (
        unit.to_string(),
        decimals.to_string(),
        u.to_string(),
        mode.to_string(),
    );
    move |m| MethodInput {
        unit: unit.clone(),
        decimals: decimals.clone(),
        uncertainty_value: u.clone(),
        uncertainty_mode: mode.clone(),
        coverage_factor: "2".into(),
        confidence_percent: "95".into(),
        ..m
    }
}

const METHODS: &[DemoMethod] = &[
    DemoMethod {
        code: "AZU-POL-01",
        name: "Sacarosa por polarimetría",
        analyte: "Sacarosa (polarización)",
        technique: "Polarimetría",
        reference: "ICUMSA GS2/3-1",
        fill: |m| MethodInput {
            spec_min: "99.5".into(),
            decision_rule: "simple_acceptance".into(),
            accredited: Some("on".into()),
            ..numeric("°Z", "1", "0.1", "absolute")(m)
        },
        revise: Some((
            |m| MethodInput {
                decision_rule: "guard_band".into(),
                guard_band: "0.1".into(),
                ..m
            },
            "Regla de decisión con banda de guarda igual a U (ILAC-G8), acordada con la intendencia",
        )),
    },
    DemoMethod {
        code: "ALC-DEN-01",
        name: "Grado alcohólico volumétrico por densimetría",
        analyte: "Etanol",
        technique: "Densimetría electrónica",
        reference: "OIV-MA-AS312-01A",
        fill: |m| MethodInput {
            accredited: Some("on".into()),
            ..numeric("% vol", "1", "0.1", "absolute")(m)
        },
        revise: None,
    },
    DemoMethod {
        code: "TEX-FIB-01",
        name: "Composición de fibras textiles",
        analyte: "Fibras",
        technique: "Microscopía y disolución selectiva",
        reference: "ISO 1833-1",
        fill: |m| MethodInput {
            result_kind: "text".into(),
            decimals: "0".into(),
            ..m
        },
        revise: None,
    },
    DemoMethod {
        code: "FTIR-ID-01",
        name: "Identificación por espectroscopía FTIR",
        analyte: "Identidad de la sustancia",
        technique: "FTIR-ATR",
        reference: "PEC-LAB-014",
        fill: |m| MethodInput {
            result_kind: "qualitative".into(),
            decimals: "0".into(),
            qualitative_options: "Coincide con la referencia declarada\nNo coincide con la referencia declarada".into(),
            expected_value: "Coincide con la referencia declarada".into(),
            decision_rule: "simple_acceptance".into(),
            ..m
        },
        revise: None,
    },
    DemoMethod {
        code: "GCMS-CS-01",
        name: "Cribado de sustancias controladas por GC-MS",
        analyte: "Estupefacientes y precursores",
        technique: "GC-MS",
        reference: "UNODC ST/NAR/7",
        fill: |m| MethodInput {
            result_kind: "qualitative".into(),
            decimals: "0".into(),
            qualitative_options: "No detectado\nDetectado: cocaína\nDetectado: otra sustancia controlada".into(),
            expected_value: "No detectado".into(),
            decision_rule: "simple_acceptance".into(),
            accredited: Some("on".into()),
            ..m
        },
        revise: Some((
            |m| MethodInput {
                qualitative_options: "No detectado\nDetectado: cocaína\nDetectado: anfetaminas\nDetectado: otra sustancia controlada".into(),
                ..m
            },
            "Biblioteca de espectros ampliada con anfetaminas",
        )),
    },
    DemoMethod {
        code: "ICP-PB-01",
        name: "Plomo en pinturas de juguetes por ICP-OES",
        analyte: "Plomo (Pb)",
        technique: "ICP-OES",
        reference: "EN 71-3",
        fill: |m| MethodInput {
            spec_max: "90".into(),
            lod: "0.5".into(),
            loq: "1.5".into(),
            decision_rule: "guard_band".into(),
            guard_band: "9".into(),
            ..numeric("mg/kg", "1", "10", "relative")(m)
        },
        revise: None,
    },
    DemoMethod {
        code: "FALS-MARC-01",
        name: "Examen de marcadores de falsificación",
        analyte: "Marca, etiquetado y elementos de seguridad",
        technique: "Examen visual y microscopía",
        reference: "PEC-LAB-021",
        fill: |m| MethodInput {
            result_kind: "qualitative".into(),
            decimals: "0".into(),
            qualitative_options: "Auténtico\nFalsificado\nNo concluyente".into(),
            expected_value: "Auténtico".into(),
            decision_rule: "simple_acceptance".into(),
            ..m
        },
        revise: None,
    },
    DemoMethod {
        code: "HUM-EST-01",
        name: "Humedad por secado en estufa",
        analyte: "Humedad",
        technique: "Gravimetría (105 °C)",
        reference: "AOAC 925.10",
        fill: |m| MethodInput {
            spec_max: "15".into(),
            decision_rule: "simple_acceptance".into(),
            ..numeric("%", "2", "0.2", "absolute")(m)
        },
        revise: None,
    },
    DemoMethod {
        code: "CEN-MUF-01",
        name: "Cenizas totales por calcinación",
        analyte: "Cenizas",
        technique: "Gravimetría (550 °C)",
        reference: "AOAC 923.03",
        fill: |m| MethodInput {
            ..numeric("%", "2", "0.05", "absolute")(m)
        },
        revise: None,
    },
];

/// Tag, name, manufacturer, model, location, days until due (None: never calibrated; no
/// entry at all: needs no calibration).
type DemoInstrument = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<Option<i64>>,
);

const INSTRUMENTS: &[DemoInstrument] = &[
    (
        "EQ-POL-01",
        "Polarímetro automático",
        "Anton Paar",
        "MCP 300",
        "Sala de análisis fisicoquímico",
        Some(Some(200)),
    ),
    (
        "EQ-DEN-01",
        "Densímetro oscilante",
        "Anton Paar",
        "DMA 4500 M",
        "Sala de análisis fisicoquímico",
        Some(Some(12)),
    ),
    (
        "EQ-FTIR-01",
        "Espectrómetro FTIR",
        "Thermo Fisher",
        "Nicolet iS20",
        "Sala de instrumental",
        Some(Some(150)),
    ),
    (
        "EQ-GCMS-01",
        "Cromatógrafo de gases con espectrómetro de masas",
        "Agilent",
        "8890 / 5977B",
        "Sala de instrumental",
        Some(Some(-10)),
    ),
    (
        "EQ-ICP-01",
        "Espectrómetro ICP-OES",
        "Agilent",
        "5110",
        "Sala de instrumental",
        Some(Some(90)),
    ),
    (
        "EQ-AAS-01",
        "Espectrofotómetro de absorción atómica",
        "PerkinElmer",
        "PinAAcle 900T",
        "Sala de instrumental",
        Some(Some(60)),
    ),
    (
        "EQ-BAL-01",
        "Balanza analítica",
        "Mettler Toledo",
        "XPR205",
        "Sala de pesadas",
        Some(Some(25)),
    ),
    (
        "EQ-EST-01",
        "Estufa de secado",
        "Memmert",
        "UN55",
        "Sala de preparación",
        Some(Some(-40)),
    ),
    (
        "EQ-MUF-01",
        "Mufla",
        "Nabertherm",
        "L 9/11",
        "Sala de preparación",
        Some(None),
    ),
    (
        "EQ-AGI-01",
        "Agitador magnético con calefacción",
        "IKA",
        "C-MAG HS 7",
        "Sala de preparación",
        None,
    ),
];

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Seeds methods, instruments and the staff's training and authorizations when the lab has no
/// method yet.
pub fn ensure_lab_records(
    conn: &mut crate::db::DbConn,
    admin: &User,
    supervisors: &[User],
    technicians: &[User],
    today: NaiveDate,
) -> Result<(), AppError> {
    if !method::in_use(conn)?.is_empty() || supervisors.len() < 2 {
        return Ok(());
    }
    let by_admin = admin.handler(None);
    let mut methods = Vec::new();
    for m in METHODS {
        let input = (m.fill)(MethodInput {
            code: m.code.into(),
            name: m.name.into(),
            analyte: m.analyte.into(),
            technique: m.technique.into(),
            reference: m.reference.into(),
            ..MethodInput::blank()
        });
        let (created, _) = method::create(conn, &by_admin, &input)?;
        if let Some((revise, why)) = m.revise {
            let next = MethodInput {
                change_reason: why.into(),
                ..revise(input)
            };
            method::new_version(conn, &by_admin, &created.id, &next)?;
        }
        methods.push(created);
    }

    let (chief, deputy) = (&supervisors[0], &supervisors[1]);
    let by_chief = chief.handler(None);
    for (tag, name, maker, model, place, due) in INSTRUMENTS {
        let created = instrument::create(
            conn,
            &by_admin,
            &InstrumentInput {
                asset_tag: tag.to_string(),
                name: name.to_string(),
                manufacturer: maker.to_string(),
                model: model.to_string(),
                location: place.to_string(),
                calibration_required: due.is_some().then(|| "on".into()),
                calibration_interval_months: if due.is_some() { "12" } else { "" }.into(),
                ..Default::default()
            },
        )?;
        let Some(Some(days)) = due else { continue };
        let next_due = today + TimeDelta::days(*days);
        let performed = next_due - TimeDelta::days(365);
        let record = instrument::record_calibration(
            conn,
            &by_chief,
            &created.id,
            None,
            &CalibrationInput {
                performed_on: iso(performed),
                performed_by: "INACAL — Laboratorio de Metrología".into(),
                certificate_number: format!("LM-{}-{}", performed.format("%Y"), &tag[3..]),
                result: "pass".into(),
                next_due_on: iso(next_due),
                ..Default::default()
            },
            today,
        )?;
        if *tag == "EQ-POL-01" {
            // A mistyped certificate number, corrected: the first record stays, superseded.
            instrument::record_calibration(
                conn,
                &by_chief,
                &created.id,
                Some(&record.id),
                &CalibrationInput {
                    certificate_number: format!("LM-{}-0457", performed.format("%Y")),
                    correction_reason: "Número de certificado mal transcrito".into(),
                    ..CalibrationInput::from_record(&record)
                },
                today,
            )?;
        }
        if *tag == "EQ-EST-01" {
            instrument::record_maintenance(
                conn,
                &by_chief,
                &created.id,
                None,
                &MaintenanceInput {
                    performed_on: iso(today - TimeDelta::days(20)),
                    performed_by: "Servicio técnico Memmert".into(),
                    maintenance_kind: "corrective".into(),
                    description: "Cambio del sensor de temperatura Pt100".into(),
                    ..Default::default()
                },
                today,
            )?;
        }
        if *tag == "EQ-AAS-01" {
            instrument::set_status(
                conn,
                &by_chief,
                &created.id,
                &StatusInput {
                    status: "out_of_service".into(),
                    status_reason: "Lámpara de cátodo hueco de Pb agotada; en espera de repuesto"
                        .into(),
                },
            )?;
        }
    }

    // Training with its competence assessment, and authorizations resting on it: the chief
    // supervisor authorizes the technicians and her deputy; the deputy authorizes her.
    let course_of = |code: &str| format!("Capacitación en el método {code}");
    let mut staff: Vec<(&User, &User)> = technicians.iter().map(|t| (t, chief)).collect();
    staff.push((deputy, chief));
    staff.push((chief, deputy));
    for (n, (person, assessor)) in staff.iter().enumerate() {
        let by = assessor.handler(None);
        for (k, m) in methods.iter().enumerate() {
            // Each person covers part of the catalogue, so the matrix has gaps.
            if (k + n) % 3 == 2 {
                continue;
            }
            let done = today - TimeDelta::days(300 + 10 * k as i64);
            let training = personnel::record_training(
                conn,
                &by,
                &person.id,
                None,
                &TrainingInput {
                    course: course_of(&m.code),
                    trainer: "Dra. Carmen Vargas Rojas".into(),
                    completed_on: iso(done),
                    valid_until: iso(done + TimeDelta::days(3 * 365)),
                    assessed_by: assessor.id.to_string(),
                    assessed_on: iso(done + TimeDelta::days(14)),
                    assessment_result: "competent".into(),
                    assessment_notes:
                        "Ensayo de muestras de control con resultados dentro de tolerancia".into(),
                    ..Default::default()
                },
                today,
            )?;
            let granted = personnel::grant(
                conn,
                &by,
                &person.id,
                &GrantInput {
                    method_id: m.id.to_string(),
                    basis: "Capacitación y evaluación de competencia satisfactorias".into(),
                    training_record_id: training.id.to_string(),
                    granted_on: iso(done + TimeDelta::days(15)),
                    expires_on: String::new(),
                },
                today,
            )?;
            // One authorization revoked after a failed proficiency test.
            if n == 2 && m.code == "GCMS-CS-01" {
                personnel::revoke(
                    conn,
                    &by,
                    &person.id,
                    &granted.id,
                    &RevokeInput {
                        revocation_reason: "Resultado insatisfactorio en el ensayo de aptitud"
                            .into(),
                    },
                )?;
            }
        }
    }
    Ok(())
}

/// One result typed by `analyst` for test `id` of `sample`: saved as a draft or handed in.
#[allow(clippy::too_many_arguments)]
pub(crate) fn enter(
    conn: &mut crate::db::DbConn,
    analyst: &User,
    sample: &SampleId,
    id: &AnalysisId,
    value: &str,
    instrument: &str,
    action: Action,
    today: NaiveDate,
) -> Result<(), AppError> {
    let input = ResultInput {
        analysis_id: id.to_string(),
        qualifier: "eq".into(),
        value: value.into(),
        instrument_id: instrument.into(),
        ..Default::default()
    };
    result::save(
        conn,
        &analyst.handler(None),
        sample,
        &[input],
        action,
        today,
    )?
    .map_err(|refused| AppError::Invalid(refused.errors))?;
    Ok(())
}

/// The open or last test of `method` on a sample.
fn test_of(
    conn: &mut crate::db::DbConn,
    sample: &SampleId,
    method: &str,
) -> Result<AnalysisId, AppError> {
    analysis::of_sample(conn, sample)?
        .into_iter()
        .rfind(|r| r.code == method)
        .map(|r| r.analysis.id)
        .ok_or(AppError::NotFound)
}

/// Tests on the first received samples, in every state of the workflow: assigned, a draft,
/// handed in, approved, and one rejected for an out-of-specification value, retested and
/// approved, so its sample awaits its report; and a partner laboratory's result on a sample
/// that was sent out and came back. Written through the same functions as the pages; the chief
/// assigns, the deputy reviews (never the analyst or the one who entered it). Only while no
/// test exists yet.
pub fn ensure_tests(
    conn: &mut crate::db::DbConn,
    supervisors: &[User],
    technicians: &[User],
    today: NaiveDate,
    tz: chrono_tz::Tz,
) -> Result<(), AppError> {
    use crate::db::schema::{analyses, samples};
    use crate::sample::{Sample, SampleStatus};
    use diesel::prelude::*;

    let none_yet = analyses::table.count().get_result::<i64>(conn)? == 0;
    if !none_yet || supervisors.len() < 2 {
        return Ok(());
    }
    let received: Vec<Sample> = samples::table
        .filter(samples::status.eq(SampleStatus::Received))
        .order(samples::lab_code)
        .limit(5)
        .select(Sample::as_select())
        .load(conn)?;
    if received.len() < 5 {
        return Ok(());
    }
    let choices = analysis::choices(conn, today)?;
    // A technician authorized for the method, and the method's id.
    let pick = |code: &str| -> Option<(String, &User)> {
        let c = choices.iter().find(|c| c.method.code == code)?;
        let who = technicians
            .iter()
            .find(|t| c.analysts.iter().any(|(id, _)| id == &t.id))?;
        Some((c.method.id.to_string(), who))
    };
    let (Some(sucrose), Some(alcohol)) = (pick("AZU-POL-01"), pick("ALC-DEN-01")) else {
        return Ok(());
    };
    let polarimeter = result::usable_instruments(conn, today)?
        .into_iter()
        .find(|i| i.asset_tag == "EQ-POL-01")
        .map(|i| i.id.to_string())
        .unwrap_or_default();
    let (chief, deputy) = (supervisors[0].handler(None), supervisors[1].handler(None));
    let due = iso(today + TimeDelta::days(7));
    let assign = |conn: &mut crate::db::DbConn,
                  sample: &Sample,
                  methods: &[&(String, &User)]|
     -> Result<(), AppError> {
        let input = AssignInput {
            due_on: due.clone(),
            picks: methods
                .iter()
                .map(|(method, who)| PickInput {
                    method_id: method.clone(),
                    pick: Some("on".into()),
                    analyst_id: who.id.to_string(),
                })
                .collect(),
        };
        analysis::assign(
            conn,
            &chief,
            std::slice::from_ref(&sample.id),
            &input,
            today,
        )?;
        Ok(())
    };
    let (pass, fail) = ("99.8", "98.9");

    // Assigned, not started.
    assign(conn, &received[0], &[&sucrose])?;
    // A draft; one handed in, waiting in the review queue; one approved while the other test
    // of its sample is still open.
    for (s, action, approved) in [
        (&received[1], Action::Draft, false),
        (&received[2], Action::Submit, false),
        (&received[3], Action::Submit, true),
    ] {
        if approved {
            assign(conn, s, &[&sucrose, &alcohol])?;
        } else {
            assign(conn, s, &[&sucrose])?;
        }
        let id = test_of(conn, &s.id, "AZU-POL-01")?;
        enter(
            conn,
            sucrose.1,
            &s.id,
            &id,
            pass,
            &polarimeter,
            action,
            today,
        )?;
        if approved {
            review::approve(conn, &deputy, &id)?;
        }
    }
    // Out of specification, rejected, retested and approved with its companion: the sample
    // awaits its report.
    let s = &received[4];
    assign(conn, s, &[&sucrose, &alcohol])?;
    let polarimetry = test_of(conn, &s.id, "AZU-POL-01")?;
    let strength = test_of(conn, &s.id, "ALC-DEN-01")?;
    enter(
        conn,
        sucrose.1,
        &s.id,
        &polarimetry,
        fail,
        &polarimeter,
        Action::Submit,
        today,
    )?;
    enter(
        conn,
        alcohol.1,
        &s.id,
        &strength,
        "40.1",
        "",
        Action::Submit,
        today,
    )?;
    review::approve(conn, &deputy, &strength)?;
    let retest = review::reject(
        conn,
        &deputy,
        &polarimetry,
        &RejectInput {
            rejection_reason: "Lectura inestable: el tubo polarimétrico tenía una burbuja".into(),
            analyst_id: String::new(),
            due_on: due.clone(),
        },
        today,
    )?;
    enter(
        conn,
        sucrose.1,
        &s.id,
        &retest.id,
        pass,
        &polarimeter,
        Action::Submit,
        today,
    )?;
    review::approve(conn, &deputy, &retest.id)?;

    // A sample the seed sent to a partner laboratory comes back with its report.
    let sent = samples::table
        .filter(samples::status.eq(SampleStatus::External))
        .order(samples::lab_code)
        .select(Sample::as_select())
        .first(conn)
        .optional()?;
    if let Some(s) = sent {
        let lab = "Laboratorio Central de Aduanas, Santiago de Chile";
        movement::record(
            conn,
            &sucrose.1.handler(None),
            &s.id,
            &EventInput {
                kind: "returned_from_external".into(),
                external_lab: lab.into(),
                seal_intact: "yes".into(),
                ..Default::default()
            },
            tz,
            &Proofs::default(),
        )?;
        let external = external::enter(
            conn,
            &chief,
            &s.id,
            &ExternalInput {
                method_id: sucrose.0.clone(),
                external_lab: lab.into(),
                external_accreditation: "ISO/IEC 17025 · INN-LE-123".into(),
                external_report_ref: "LCA-2026-0917".into(),
                result: ResultInput {
                    qualifier: "eq".into(),
                    value: "99.7".into(),
                    ..Default::default()
                },
            },
            today,
        )?;
        review::approve(conn, &deputy, &external.id)?;
    }
    Ok(())
}
