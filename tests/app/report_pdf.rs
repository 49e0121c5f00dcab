//! The issued report as PDF/A and as an HTML page: the PDF is read back with lopdf (text
//! through the embedded font's ToUnicode map, pages, XMP), and the pages serve only issued
//! versions, the PDF route exactly the stored bytes.

use lims::report::content::*;
use lims::report::pdf::{render, Document, Logo};

pub const URL: &str = "https://lims.aduanas.example/verify/RPT-2026-000045?h=\
    3f0c9a1b2d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef";

fn result(lab_code: &str, n: usize) -> ResultLine {
    ResultLine {
        lab_code: lab_code.into(),
        method_code: format!("M-{:02}", n % 4 + 1),
        analyte: ["Sacarosa", "Humedad", "Cenizas", "Plomo"][n % 4].into(),
        value: format!("{}.{:02}", 90 + n, n * 7 % 100),
        unit: Some(["°Z", "%", "%", "mg/kg"][n % 4].into()),
        uncertainty: Some("0.12".into()),
        coverage_k: Some("2".into()),
        lod: Some("0.01".into()),
        loq: Some("0.03".into()),
        specification: Some("≥ 99.5".into()),
        conformity: Some(if n.is_multiple_of(3) {
            Conformity::DoesNotConform
        } else {
            Conformity::Conforms
        }),
        tested_on: Some("2026-11-20".into()),
        analyst: Some("Ana Quispe".into()),
        instruments: vec!["POL-01".into()],
        external: (n == 5).then(|| ExternalSource {
            laboratory: "Laboratorio Central, Santiago".into(),
            accreditation: Some("INN-LE-123".into()),
            report_reference: "LC-2026-0917".into(),
        }),
    }
}

fn item(lab_code: &str, seal_intact: bool) -> Item {
    Item {
        lab_code: lab_code.into(),
        description: "Azúcar rubia en sacos de 50 kg, muestra compuesta".into(),
        matrix: Some("Azúcar".into()),
        quantity: Some("2.5 kg".into()),
        packages: Some(2),
        seal_number: Some("PREC-004512".into()),
        seal_intact_at_receipt: Some(seal_intact),
        condition_on_receipt: Some("Bolsa húmeda en una esquina".into()),
        sampling: "Tomada el 2026-11-02 en el almacén de Tacna por el Of. Soto".into(),
        received_at: Some("2026-11-03 09:15 -05:00".into()),
        custody_seq: 7,
        custody_hash: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
    }
}

/// A typical report: two samples, eight results, four methods (one not accredited).
pub fn typical() -> ReportContent {
    report_with(8)
}

pub fn report_with(results: usize) -> ReportContent {
    ReportContent {
        format_version: FORMAT_VERSION,
        locale: "es".into(),
        report_number: "RPT-2026-000045".into(),
        version_no: 1,
        amendment: None,
        issue_date: "2026-11-28".into(),
        laboratory: Laboratory {
            name: "Laboratorio Central de Aduanas".into(),
            address: "Av. Gamarra 680, Chucuito, Callao, Perú".into(),
            accreditation_number: Some("LE-045".into()),
            accreditation_body: Some("INACAL-DA".into()),
            logo_sha256: None,
        },
        request: Request {
            customs_office: "Intendencia de Aduana de Tacna".into(),
            seizure_reference: "INC-2026-0123".into(),
            declaration_number: Some("118-2026-10-004512".into()),
            seized_at: "2026-11-01 10:30 -05:00".into(),
            place: "Complejo fronterizo Santa Rosa".into(),
            seizing_officer: "Of. Núñez".into(),
            goods_description: "Azúcar declarada como «glucosa»".into(),
            importer: Some("Importadora Andina S.A.C.".into()),
            origin_country: Some("BO".into()),
            risk_channel: "red".into(),
        },
        items: vec![item("LAB-2026-00101", true), item("LAB-2026-00102", false)],
        results: (0..results)
            .map(|n| {
                result(
                    if n % 2 == 0 {
                        "LAB-2026-00101"
                    } else {
                        "LAB-2026-00102"
                    },
                    n,
                )
            })
            .collect(),
        methods: (1..=4)
            .map(|n| MethodLine {
                code: format!("M-{n:02}"),
                name: [
                    "Sacarosa por polarimetría",
                    "Humedad",
                    "Cenizas",
                    "Plomo por ICP-OES",
                ][n - 1]
                    .into(),
                version: 2,
                technique: Some("Polarimetría".into()),
                accredited: n != 4,
            })
            .collect(),
        instruments: vec![InstrumentLine {
            asset_tag: "POL-01".into(),
            name: "Polarímetro automático".into(),
            model: Some("Autopol V".into()),
            serial_number: Some("SN-88812".into()),
            calibration_due: Some("2027-03-31".into()),
        }],
        testing_from: Some("2026-11-18".into()),
        testing_to: Some("2026-11-24".into()),
        deviations: None,
        decision_rule: Some("Aceptación simple (ILAC-G8:09/2019, 4.2.1)".into()),
        conclusion: Some("¿Es glucosa? No: la mercancía es azúcar de caña (sacarosa).".into()),
        opinion: Some("La clasificación declarada no corresponde a la mercancía.".into()),
        tariff: TariffFinding {
            declared: Some("1702.30.20.00".into()),
            declared_description: Some("Glucosa".into()),
            found: Some("1701.14.00.00".into()),
            found_description: Some("Los demás azúcares de caña".into()),
            difference: Some(TariffDifference::Heading),
        },
        findings: Findings {
            controlled: false,
            prohibited: false,
            counterfeit: false,
            note: None,
        },
    }
}

pub fn signatures() -> Vec<SignatureLine> {
    vec![
        SignatureLine {
            name: "María Ibáñez Núñez".into(),
            username: "mibanez".into(),
            role: "supervisor".into(),
            meaning_code: "reviewed_approved".into(),
            meaning_text: "Revisado y aprobado".into(),
            signed_at: "2026-11-28 10:02 -05:00".into(),
        },
        SignatureLine {
            name: "José Güemes".into(),
            username: "jguemes".into(),
            role: "supervisor".into(),
            meaning_code: "technical_review".into(),
            meaning_text: "Revisión técnica".into(),
            signed_at: "2026-11-28 10:15 -05:00".into(),
        },
    ]
}

pub fn pdf_of(content: &ReportContent) -> Vec<u8> {
    let signatures = signatures();
    render(&Document {
        content,
        signatures: &signatures,
        verify_url: URL,
        logo: None,
    })
    .expect("render")
}

/// The text of each page, in order.
pub fn pages_text(pdf: &[u8]) -> Vec<String> {
    let doc = lopdf::Document::load_mem(pdf).expect("the PDF parses");
    doc.get_pages()
        .keys()
        .map(|n| doc.extract_text(&[*n]).expect("page text"))
        .collect()
}

pub fn squeeze(text: &str) -> String {
    text.split_whitespace().collect()
}

#[test]
fn the_pdf_carries_the_number_spanish_text_signers_and_verification_url() {
    let pdf = pdf_of(&typical());
    // To look at it: REPORT_PDF_OUT=/tmp/report.pdf, then pdftoppm -png.
    if let Ok(path) = std::env::var("REPORT_PDF_OUT") {
        std::fs::write(path, &pdf).unwrap();
    }
    assert!(pdf.starts_with(b"%PDF-1.7"));
    let text = pages_text(&pdf).join("\n");
    for wanted in [
        "RPT-2026-000045",
        "Informe de ensayo",
        "Descripción",
        "¿Es glucosa? No",
        "Núñez",
        "María Ibáñez Núñez",
        "José Güemes",
        "Revisión técnica",
        "2026-11-28 10:15 -05:00",
        "ROTO a la recepción",
        "Método fuera del alcance",
        "Opiniones e interpretaciones",
        "Externo:",
        "LC-2026-0917",
        "Difieren a nivel de partida",
        "Los resultados se refieren únicamente a los ítems ensayados",
        "— Fin del informe —",
    ] {
        assert!(
            squeeze(&text).contains(&squeeze(wanted)),
            "{wanted:?} in {text}"
        );
    }
    assert!(squeeze(&text).contains(URL), "verify URL in {text}");
}

#[test]
fn a_long_report_flows_onto_numbered_pages() {
    let pdf = pdf_of(&report_with(120));
    let pages = pages_text(&pdf);
    assert!(pages.len() > 2, "{} pages", pages.len());
    let m = pages.len();
    for (i, text) in pages.iter().enumerate() {
        let wanted = format!("Página {} de {m}", i + 1);
        assert!(
            text.contains(&wanted),
            "{wanted:?} on page {}: {text}",
            i + 1
        );
        // The header is repeated and the table goes on under its repeated column titles.
        assert!(text.contains("Informe de ensayo"));
    }
    assert!(pages[m - 1].contains("Fin del informe"));
    assert!(!pages[0].contains("Fin del informe"));
}

#[test]
fn the_pdf_declares_pdf_a_2b_in_its_xmp_and_embeds_its_fonts() {
    let pdf = pdf_of(&typical());
    // No clock or random id inside: the same content renders to the same bytes.
    assert_eq!(pdf, pdf_of(&typical()), "same content, same bytes");
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    let catalog = doc.catalog().unwrap();
    let metadata = catalog.get(b"Metadata").unwrap().as_reference().unwrap();
    let stream = doc.get_object(metadata).unwrap().as_stream().unwrap();
    let xmp = String::from_utf8_lossy(
        &stream
            .decompressed_content()
            .unwrap_or(stream.content.clone()),
    )
    .to_string();
    assert!(xmp.contains("<pdfaid:part>2</pdfaid:part>"), "{xmp}");
    assert!(
        xmp.contains("<pdfaid:conformance>B</pdfaid:conformance>"),
        "{xmp}"
    );
    assert!(catalog.get(b"OutputIntents").is_ok());
    let embedded = doc
        .objects
        .values()
        .filter_map(|o| o.as_dict().ok())
        .filter(|d| d.get(b"Type").and_then(|t| t.as_name()).ok() == Some(b"FontDescriptor"))
        .filter(|d| d.get(b"FontFile2").is_ok() || d.get(b"FontFile3").is_ok())
        .count();
    assert_eq!(embedded, 2, "regular and bold embedded");
}

#[test]
fn an_english_amendment_says_what_it_amends_and_why() {
    let mut content = typical();
    content.locale = "en".into();
    content.version_no = 2;
    content.amendment = Some(Amendment {
        number: 1,
        supersedes: "RPT-2026-000031".into(),
        reason: "Wrong seal number transcribed".into(),
    });
    let text = pages_text(&pdf_of(&content)).join("\n");
    for wanted in [
        "Test report",
        "Page 1 of",
        "Amendment 1 to report RPT-2026-000031. Reason: Wrong seal number transcribed",
        "BROKEN at receipt",
        "End of report",
    ] {
        assert!(
            squeeze(&text).contains(&squeeze(wanted)),
            "{wanted:?} in {text}"
        );
    }
}

#[test]
fn the_laboratory_logo_is_printed_on_every_page() {
    use base64::Engine;
    // A 6×3 red PNG with an alpha channel (PDF/A-2 allows its soft mask).
    let png = base64::engine::general_purpose::STANDARD
        .decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAYAAAADCAYAAACwAX77AAAAEklEQVR4nGM4ISf3HxtmIFkCAEiyJDeIZJwGAAAAAElFTkSuQmCC",
        )
        .unwrap();
    let content = report_with(120);
    let signatures = signatures();
    let logo = |content_type| {
        render(&Document {
            content: &content,
            signatures: &signatures,
            verify_url: URL,
            logo: Some(Logo {
                bytes: &png,
                content_type,
            }),
        })
    };
    let pdf = logo("image/png").expect("render with a logo");
    let doc = lopdf::Document::load_mem(&pdf).unwrap();
    for (n, page) in doc.get_pages() {
        let images = doc.get_page_images(page).unwrap();
        assert_eq!(images.len(), 1, "logo on page {n}");
    }
    let err = logo("image/gif").expect_err("only PNG and JPEG");
    assert!(err.to_string().contains("image/gif"), "{err}");
}

#[test]
fn an_unknown_content_format_is_refused() {
    let mut content = typical();
    content.format_version = FORMAT_VERSION + 1;
    let signatures = signatures();
    let err = render(&Document {
        content: &content,
        signatures: &signatures,
        verify_url: URL,
        logo: None,
    })
    .expect_err("refused");
    assert!(err.to_string().contains("format version"), "{err}");
}

/// `bench/report_pdf.sh` runs this in release: render time of a typical report.
#[test]
#[ignore]
fn render_time() {
    let content = typical();
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    pdf_of(&content); // fonts parsed once, as in a running server
    let mut times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = std::time::Instant::now();
            std::hint::black_box(pdf_of(&content));
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((runs as f64 - 1.0) * q).round() as usize];
    println!(
        "report PDF render over {runs} runs: median {:.2} ms, p95 {:.2} ms, max {:.2} ms, {} bytes",
        at(0.5),
        at(0.95),
        at(1.0),
        pdf_of(&content).len()
    );
}

mod pages {
    use actix_web::http::{header, StatusCode};
    use diesel::connection::SimpleConnection;
    use lims::blob::BlobStore;
    use lims::user::Role;
    use sha2::{Digest, Sha256};

    use super::{pdf_of, typical, ReportContent};
    use crate::custody::{lab, Lab, PW};

    fn id() -> String {
        uuid::Uuid::now_v7().to_string()
    }

    /// Laboratory settings and a report over a new seizure.
    fn report(lab: &Lab) -> String {
        let samples = lab.register("ACTA-R-01", &["P-1"]);
        let (settings, report) = (id(), id());
        lab.app
            .db
            .conn()
            .batch_execute(&format!(
                "INSERT INTO lab_settings (id, name, address, report_locale, \
                 require_second_signature, changed_by, changed_at) VALUES ('{settings}', \
                 'Laboratorio Central', 'Callao', 'es', FALSE, '{sup}', '2026-11-01 10:00:00');
                 INSERT INTO reports (id, seizure_id, sample_id, created_by, created_at) VALUES \
                 ('{report}', '{seizure}', NULL, '{sup}', '2026-11-28 10:00:00');",
                sup = lab.supervisor.id,
                seizure = samples[0].seizure_id,
            ))
            .unwrap();
        report
    }

    /// A version of `report` as issue leaves it: frozen content, a signature, the PDF stored
    /// as an attachment. `status` other than issued leaves it short of issue.
    async fn version(
        lab: &Lab,
        report: &str,
        content: &ReportContent,
        supersedes: Option<&str>,
        status: &str,
    ) -> (String, Vec<u8>) {
        let version = id();
        let pdf = pdf_of(content);
        let pdf_sha = hex::encode(Sha256::digest(&pdf));
        let key = BlobStore::key_for(&pdf_sha);
        lab.app
            .state
            .blobs()
            .unwrap()
            .overwrite(&key, pdf.clone())
            .await
            .unwrap();
        let sup = &lab.supervisor.id;
        let settings: String = {
            use diesel::prelude::*;
            lims::db::schema::lab_settings::table
                .select(lims::db::schema::lab_settings::id)
                .first(&mut lab.app.db.conn())
                .unwrap()
        };
        let issued = status == "issued";
        let (issued_at, issued_by, pdf_col) = if issued {
            (
                "'2026-11-28 15:05:00'".to_string(),
                format!("'{sup}'"),
                format!("'{pdf_sha}'"),
            )
        } else {
            ("NULL".into(), "NULL".into(), "NULL".into())
        };
        let (sup_col, reason) = match supersedes {
            Some(s) => (format!("'{s}'"), "'Precinto mal transcrito'".to_string()),
            None => ("NULL".into(), "NULL".into()),
        };
        let json = content.canonical_json().replace('\'', "''");
        lab.app
            .db
            .conn()
            .batch_execute(&format!(
                "INSERT INTO report_versions (id, report_id, version_no, format_version, locale, \
                 status, lab_settings_id, content, controlled_found, prohibited_found, \
                 counterfeit_found, amendment_reason, supersedes_id, report_number, \
                 content_sha256, drafted_by, drafted_at, updated_at, issued_at, issued_by, \
                 pdf_sha256) VALUES ('{version}', '{report}', {no}, 1, 'es', '{status}', \
                 '{settings}', '{json}', FALSE, FALSE, FALSE, {reason}, {sup_col}, '{number}', \
                 '{hash}', '{sup}', '2026-11-28 09:00:00', '2026-11-28 09:00:00', {issued_at}, \
                 {issued_by}, {pdf_col});
                 INSERT INTO report_signatures (id, report_version_id, signer_id, signer_name, \
                 signer_username, signer_role, meaning_code, meaning_text, auth_method, \
                 signed_at, content_sha256, key_id, signature_hash) VALUES ('{sig}', \
                 '{version}', '{sup}', 'María Ibáñez Núñez', 'super', 'supervisor', \
                 'reviewed_approved', 'Revisado y aprobado', 'password', \
                 '2026-11-28 15:02:00', '{hash}', 'k1', 'x');
                 INSERT INTO attachments (id, owner_kind, report_version_id, file_name, \
                 content_type, size_bytes, sha256, storage_key, uploaded_by, uploaded_at) \
                 VALUES ('{att}', 'report_version', '{version}', '{number}.pdf', \
                 'application/pdf', {size}, '{pdf_sha}', '{key}', '{sup}', \
                 '2026-11-28 15:05:00');",
                no = content.version_no,
                number = content.report_number,
                hash = content.sha256(),
                sig = id(),
                att = id(),
                size = pdf.len(),
            ))
            .unwrap();
        (version, pdf)
    }

    #[actix_web::test]
    async fn supervisor_and_officer_read_an_issued_report_and_get_its_stored_pdf() {
        let lab = lab();
        let report = report(&lab);
        let content = typical();
        let (_, pdf) = version(&lab, &report, &content, None, "issued").await;
        for user in ["super", "oficial"] {
            let mut c = lab.app.client().await;
            c.login(user, PW).await;
            let page = c.get("/reports/RPT-2026-000045").await;
            assert_eq!(page.status, StatusCode::OK, "{user}");
            for wanted in [
                "Informe de ensayo",
                "RPT-2026-000045",
                "Descripción",
                "ROTO a la recepción",
                "María Ibáñez Núñez",
                "/verify/RPT-2026-000045?h=",
                &content.sha256(),
                "— Fin del informe —",
                "/reports/RPT-2026-000045/pdf",
            ] {
                page.assert_contains(wanted);
            }
            assert!(!page.contains("Reemplazado por"));
            let res = c.get("/reports/RPT-2026-000045/pdf").await;
            assert_eq!(res.status, StatusCode::OK);
            assert_eq!(
                res.headers.get(header::CONTENT_TYPE).unwrap(),
                "application/pdf"
            );
            let disposition = res.headers.get(header::CONTENT_DISPOSITION).unwrap();
            let disposition = disposition.to_str().unwrap();
            assert!(
                disposition.starts_with("attachment")
                    && disposition.contains("RPT-2026-000045.pdf"),
                "{disposition}"
            );
            assert_eq!(&res.raw[..], &pdf[..], "exactly the stored bytes");
        }
    }

    #[actix_web::test]
    async fn only_issued_numbers_are_served_and_only_to_case_readers() {
        let lab = lab();
        let report = report(&lab);
        let content = typical();
        version(&lab, &report, &content, None, "pending_signature").await;
        lab.app.create_user("tecnico9", Role::Technician, PW);
        let mut c = lab.app.client().await;
        c.login("tecnico9", PW).await;
        for path in [
            "/reports/RPT-2026-000045",
            "/reports/RPT-2026-000045/pdf",
            "/reports/RPT-2026-999999",
            "/reports/RPT-2026-999999/pdf",
            "/reports/RPT-26-1",
        ] {
            assert_eq!(c.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
        }
        let mut admin = lab.app.client().await;
        admin
            .login(crate::common::ADMIN.0, crate::common::ADMIN.1)
            .await;
        assert_eq!(
            admin.get("/reports/RPT-2026-000045").await.status,
            StatusCode::FORBIDDEN
        );
    }

    #[actix_web::test]
    async fn a_superseded_version_says_so_and_links_its_amendment() {
        let lab = lab();
        let report = report(&lab);
        let v1 = typical();
        let (first, _) = version(&lab, &report, &v1, None, "issued").await;
        let mut v2 = typical();
        v2.report_number = "RPT-2026-000046".into();
        v2.version_no = 2;
        v2.amendment = Some(lims::report::content::Amendment {
            number: 1,
            supersedes: v1.report_number.clone(),
            reason: "Precinto mal transcrito".into(),
        });
        version(&lab, &report, &v2, Some(&first), "issued").await;
        let mut c = lab.app.client().await;
        c.login("super", PW).await;
        let old = c.get("/reports/RPT-2026-000045").await;
        old.assert_contains("Reemplazado por RPT-2026-000046");
        old.assert_contains(r#"href="/reports/RPT-2026-000046""#);
        let new = c.get("/reports/RPT-2026-000046").await;
        assert!(!new.contains("Reemplazado por"));
        new.assert_contains(
            "Enmienda 1 al informe RPT-2026-000045. Motivo: Precinto mal transcrito",
        );
    }
}
