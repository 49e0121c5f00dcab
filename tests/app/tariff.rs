//! Tariff import (the shared HS2022 file and national 8–10 digit tariffs), the check of a
//! declared code, refusal of bad files, and `lims import-tariff`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::TestApp;
use lims::audit::{Actor, AuditEntry, AuditFilter};
use lims::db::DbConn;
use lims::tariff::{self, ImportError, TariffCheck};

/// HS2022 lines in the shared file, less its root row ("TOTAL", the total of all
/// commodities), which is a heading and not a tariff line.
const HS2022_LINES: i64 = 6939;

/// The shared HS2022 file beside the repository. Tests that read it are ignored where it is
/// absent (build.rs sets `lims_shared_data`), and LIMS_REQUIRE_SHARED=1 makes that a build error.
fn shared_hs2022() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/hs2022.csv")
}

/// A small national tariff (NANDINA-like) down to 10 digits, in the HS layout.
const NATIONAL: &str = "section,hscode,description,parent,level
I,01,Animales vivos,TOTAL,2
I,0101,\"Caballos, asnos, mulos y burdéganos, vivos\",01,4
I,010121,\"Caballos: reproductores de raza pura\",0101,6
I,01012100,Reproductores de raza pura,010121,8
I,0101.21.00.00,\"Reproductores de raza pura, de carrera\",01012100,10
I,0101290000,Los demás caballos,0101,10
TOTAL,TOTAL,Total,TOTAL,5
";

fn tariff_audit(conn: &mut DbConn) -> Vec<AuditEntry> {
    let filter = AuditFilter {
        entity: Some("tariff".into()),
        ..Default::default()
    };
    lims::audit::list(conn, &filter, None, 100).unwrap().0
}

fn import_text(
    conn: &mut DbConn,
    text: &str,
    nomenclature: &str,
) -> Result<tariff::ImportSummary, ImportError> {
    tariff::import_csv(
        conn,
        &Actor::command_line(),
        text.as_bytes(),
        "test.csv",
        nomenclature,
    )
}

fn known(code: &str, description: &str) -> TariffCheck {
    TariffCheck::Known {
        code: code.into(),
        description: description.into(),
        description_es: None,
    }
}

#[test]
#[cfg_attr(not(lims_shared_data), ignore = "../shared/data/hs2022.csv is absent")]
fn imports_hs2022_and_reimport_updates_in_place() {
    let path = shared_hs2022();
    let app = TestApp::new();
    let mut conn = app.db.conn();
    let actor = Actor::command_line();

    let first = tariff::import_file(&mut conn, &actor, &path, "HS2022").expect("import");
    assert_eq!(first.file, "hs2022.csv");
    assert_eq!(first.inserted as i64, HS2022_LINES);
    assert_eq!(first.updated, 0);
    assert_eq!(tariff::count(&mut conn).unwrap(), HS2022_LINES);

    let heading = tariff::find(&mut conn, "0101").unwrap().expect("0101");
    assert_eq!(
        heading.description,
        "Horses, asses, mules and hinnies; live"
    );
    assert_eq!(heading.parent.as_deref(), Some("01"));
    assert_eq!(heading.level, 4);
    assert_eq!(heading.section.as_deref(), Some("I"));
    assert_eq!(heading.nomenclature, "HS2022");
    let sub = tariff::find(&mut conn, "0101.21").unwrap().expect("010121");
    assert_eq!(sub.hs_code, "010121");
    assert_eq!(sub.description, "Horses; live, pure-bred breeding animals");
    assert_eq!(sub.parent.as_deref(), Some("0101"));
    let chapter = tariff::find(&mut conn, "01").unwrap().expect("01");
    assert_eq!(chapter.parent, None, "TOTAL means no parent");
    let furniture = tariff::find(&mut conn, "940310").unwrap().expect("940310");
    assert_eq!(furniture.description, "Furniture; metal, for office use");
    assert!(tariff::find(&mut conn, "TOTAL").unwrap().is_none());

    let audit = tariff_audit(&mut conn);
    assert_eq!(audit.len(), 1, "one entry for the whole import");
    assert_eq!(audit[0].action, "import");
    let after: serde_json::Value =
        serde_json::from_str(audit[0].after_json.as_deref().unwrap()).unwrap();
    assert_eq!(after["file"], "hs2022.csv");
    assert_eq!(after["nomenclature"], "HS2022");
    assert_eq!(after["inserted"], HS2022_LINES);
    assert_eq!(after["updated"], 0);

    let again = tariff::import_file(&mut conn, &actor, &path, "HS2022").expect("re-import");
    assert_eq!(again.inserted, 0);
    assert_eq!(again.updated as i64, HS2022_LINES);
    assert_eq!(tariff::count(&mut conn).unwrap(), HS2022_LINES);
    assert_eq!(
        tariff::find(&mut conn, "0101")
            .unwrap()
            .unwrap()
            .description,
        heading.description
    );
    assert_eq!(tariff_audit(&mut conn).len(), 2);

    // Declared codes against HS2022.
    let live_horses = "Horses; live, pure-bred breeding animals";
    for (raw, expected) in [
        ("", TariffCheck::Empty),
        ("   ", TariffCheck::Empty),
        ("0101", TariffCheck::Malformed),
        ("01012", TariffCheck::Malformed),
        ("01012100001", TariffCheck::Malformed),
        ("0101.2X", TariffCheck::Malformed),
        ("0101.21", known("010121", live_horses)),
        ("0101 21", known("010121", live_horses)),
        // National 8- and 10-digit codes fall under their HS subheading.
        ("0101.21.00", known("010121", live_horses)),
        ("0101.21.00.00", known("010121", live_horses)),
        ("0101-21-90-10", known("010121", live_horses)),
        ("010110", TariffCheck::Unknown),
        ("0101.10.00.00", TariffCheck::Unknown),
    ] {
        assert_eq!(
            tariff::check_code(&mut conn, raw).unwrap(),
            expected,
            "{raw:?}"
        );
    }
}

#[test]
fn national_tariff_with_8_and_10_digit_lines() {
    let app = TestApp::new();
    let mut conn = app.db.conn();
    let summary = import_text(&mut conn, NATIONAL, "NANDINA").expect("import");
    assert_eq!((summary.inserted, summary.updated), (6, 0));
    let line = tariff::find(&mut conn, "0101210000")
        .unwrap()
        .expect("10 digits");
    assert_eq!(line.level, 10);
    assert_eq!(line.parent.as_deref(), Some("01012100"));
    assert_eq!(line.nomenclature, "NANDINA");
    assert_eq!(line.description, "Reproductores de raza pura, de carrera");

    // The most specific line wins: exact, then the 8-digit line, then the HS subheading.
    for (raw, expected) in [
        (
            "0101.21.00.00",
            known("0101210000", "Reproductores de raza pura, de carrera"),
        ),
        (
            "0101.21.00.90",
            known("01012100", "Reproductores de raza pura"),
        ),
        (
            "0101.21.90.00",
            known("010121", "Caballos: reproductores de raza pura"),
        ),
        ("0101290000", known("0101290000", "Los demás caballos")),
        ("0101.29.00.10", TariffCheck::Unknown),
        ("0102.21", TariffCheck::Unknown),
    ] {
        assert_eq!(
            tariff::check_code(&mut conn, raw).unwrap(),
            expected,
            "{raw:?}"
        );
    }

    // A changed description is updated in place.
    let changed = NATIONAL.replace("Los demás caballos", "Los demás caballos vivos");
    let summary = import_text(&mut conn, &changed, "NANDINA").unwrap();
    assert_eq!((summary.inserted, summary.updated), (0, 6));
    assert_eq!(
        tariff::find(&mut conn, "0101290000")
            .unwrap()
            .unwrap()
            .description,
        "Los demás caballos vivos"
    );
}

#[test]
fn codes_are_not_checked_before_a_tariff_is_imported() {
    let app = TestApp::new();
    let mut conn = app.db.conn();
    assert_eq!(tariff::count(&mut conn).unwrap(), 0);
    assert_eq!(
        tariff::check_code(&mut conn, "").unwrap(),
        TariffCheck::Empty
    );
    assert_eq!(
        tariff::check_code(&mut conn, "12").unwrap(),
        TariffCheck::Malformed
    );
    let not_checked = tariff::check_code(&mut conn, "0101.21").unwrap();
    assert_eq!(not_checked, TariffCheck::NotChecked);
    assert_eq!(not_checked.message_key(), "tariff.check.not_checked");
    assert_eq!(
        lims::i18n::t(lims::i18n::Lang::En, TariffCheck::Malformed.message_key()),
        "The tariff code must have 6 to 10 digits (dots, spaces and hyphens are ignored)."
    );
    assert_eq!(tariff::normalize_code(" 0101.21-00 00\t"), "0101210000");
}

#[test]
fn a_bad_file_is_refused_with_line_numbers_and_nothing_is_stored() {
    let app = TestApp::new();
    let mut conn = app.db.conn();
    // Line 3's quoted description spans two lines, so later rows start one line further on.
    let bad = "section,hscode,description,parent,level
I,01,Animals; live,TOTAL,2
I,0101,\"Horses, asses,
mules and hinnies; live\",01,4
I,01A1,Horses,0101,4
I,010121,Horses; pure-bred,0101,4
I,010129,,0101,6
I,010130,Asses; live,0102,6
I,0101,Horses again,01,4
I,010190,Mules,0101
";
    let err = import_text(&mut conn, bad, "HS2022").expect_err("refused");
    let ImportError::Rows(rows) = &err else {
        panic!("row errors expected: {err:?}");
    };
    let found: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.key)).collect();
    assert_eq!(
        found,
        vec![
            (5, "tariff.row.code_format"),
            (6, "tariff.row.level"),
            (7, "tariff.row.description"),
            (8, "tariff.row.parent"),
            (9, "tariff.row.duplicate"),
            (10, "tariff.row.field_count"),
        ]
    );
    let messages = err.messages(lims::i18n::Lang::Es);
    assert_eq!(messages[0], "6 línea(s) con errores; no se importó nada.");
    assert_eq!(
        messages[1],
        "Línea 5: el código «01A1» debe tener de 2 a 10 dígitos."
    );
    assert_eq!(messages[5], "Línea 9: el código ya figura en la línea 3.");
    assert_eq!(tariff::count(&mut conn).unwrap(), 0, "nothing stored");
    assert!(tariff_audit(&mut conn).is_empty(), "nothing audited");

    let wrong_header = "code,description\n01,Animals\n";
    match import_text(&mut conn, wrong_header, "HS2022") {
        Err(ImportError::MissingColumns(missing)) => {
            assert_eq!(missing, vec!["section", "hscode", "parent", "level"])
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        import_text(
            &mut conn,
            "section,hscode,description,parent,level\n",
            "HS2022"
        ),
        Err(ImportError::NoLines)
    ));
    assert!(matches!(
        import_text(&mut conn, NATIONAL, "HS 2022; DROP"),
        Err(ImportError::Nomenclature)
    ));
    let latin1 = b"section,hscode,description,parent,level\nI,01,Animales \xe9,TOTAL,2\n";
    match tariff::import_csv(
        &mut conn,
        &Actor::command_line(),
        &latin1[..],
        "latin1.csv",
        "HS2022",
    ) {
        Err(ImportError::Rows(rows)) => {
            assert_eq!((rows[0].line, rows[0].key), (2, "tariff.row.not_utf8"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(tariff::count(&mut conn).unwrap(), 0);
}

fn lims_cmd(app: &TestApp) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lims"));
    cmd.env("DATABASE_URL", &app.db.url)
        .env("LIMS_DATA_DIR", app.db.data_dir())
        .env_remove("LIMS_SECRET_KEY")
        .env("RUST_LOG", "warn");
    cmd
}

#[test]
fn command_line_imports_a_tariff() {
    let app = TestApp::new();
    let help = lims_cmd(&app).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("import-tariff"));

    let good = app.db.data_dir().join("nandina.csv");
    std::fs::write(&good, NATIONAL).unwrap();
    let out = lims_cmd(&app)
        .args(["import-tariff", "--nomenclature", "NANDINA"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("6 new, 0 updated"), "{stdout}");

    let bad = app.db.data_dir().join("bad.csv");
    std::fs::write(
        &bad,
        "section,hscode,description,parent,level\nI,01,Animals,TOTAL,2\nI,0X01,Horses,01,4\n",
    )
    .unwrap();
    let out = lims_cmd(&app)
        .arg("import-tariff")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Line 3: the code “0X01” must have 2 to 10 digits"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was imported"), "{stderr}");

    let missing = lims_cmd(&app)
        .args(["import-tariff", "/nonexistent/tariff.csv"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("Cannot read /nonexistent/tariff.csv")
    );

    let mut conn = app.db.conn();
    assert_eq!(tariff::count(&mut conn).unwrap(), 6);
    assert_eq!(
        tariff::find(&mut conn, "01012100")
            .unwrap()
            .unwrap()
            .nomenclature,
        "NANDINA"
    );
    let audit = tariff_audit(&mut conn);
    assert_eq!(audit.len(), 1);
    assert!(audit[0].username.as_deref().unwrap().starts_with("cli:"));
}

#[test]
#[cfg_attr(not(lims_shared_data), ignore = "../shared/data/hs2022.csv is absent")]
fn command_line_imports_hs2022_over_a_national_tariff() {
    let app = TestApp::new();
    let national = app.db.data_dir().join("nandina.csv");
    std::fs::write(&national, NATIONAL).unwrap();
    let out = lims_cmd(&app)
        .args(["import-tariff", "--nomenclature", "NANDINA"])
        .arg(&national)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let out = lims_cmd(&app)
        .arg("import-tariff")
        .arg(shared_hs2022())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // 010121 and its headings were in the national file already.
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains(&format!("{} new, 3 updated", HS2022_LINES - 3)),
        "{out:?}"
    );
}

#[actix_web::test]
async fn the_admin_imports_a_tariff_from_the_web() {
    use lims::user::Role;
    let app = TestApp::with_admin();
    app.create_user("tecnico", Role::Technician, "clave de laboratorio");
    app.create_user("oficial", Role::Enforcement, "clave de laboratorio");
    let mut c = app.client().await;
    c.login(crate::common::ADMIN.0, crate::common::ADMIN.1)
        .await;
    c.get("/admin/tariff")
        .await
        .assert_contains("0 líneas arancelarias importadas");

    // A bad file is refused whole, with its line numbers, and nothing is stored.
    let bad = "section,hscode,description,parent,level
I,01,Animales vivos,TOTAL,2
I,01A1,Caballos,01,4
I,0101,,01,4
";
    let page = c
        .post_multipart(
            "/admin/tariff",
            &[("nomenclature", "NANDINA")],
            ("file", "arancel.csv", bad.as_bytes()),
        )
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("El archivo se rechazó completo");
    page.assert_contains("Línea 3: el código «01A1» debe tener de 2 a 10 dígitos.");
    page.assert_contains("Línea 4:");
    page.assert_contains("value=\"NANDINA\"");
    assert_eq!(tariff::count(&mut app.db.conn()).unwrap(), 0);
    // No file chosen, and a bad nomenclature name.
    let page = c
        .post_multipart(
            "/admin/tariff",
            &[("nomenclature", "NANDINA")],
            ("file", "", b""),
        )
        .await;
    assert_eq!(page.status, 400);
    page.assert_contains("Elija el archivo CSV que desea importar.");
    let page = c
        .post_multipart(
            "/admin/tariff",
            &[("nomenclature", "HS 2022; DROP")],
            ("file", "arancel.csv", NATIONAL.as_bytes()),
        )
        .await;
    assert_eq!(page.status, 400);
    assert_eq!(tariff::count(&mut app.db.conn()).unwrap(), 0);
    // Without the form's token: refused.
    c.csrf = "forged".into();
    let forged = c
        .post_multipart(
            "/admin/tariff",
            &[("nomenclature", "NANDINA")],
            ("file", "arancel.csv", NATIONAL.as_bytes()),
        )
        .await;
    assert_eq!(forged.status, 403);
    c.get("/admin/tariff").await;

    // A good file: imported, audited like the command line's import.
    c.post_multipart(
        "/admin/tariff",
        &[("nomenclature", "NANDINA")],
        ("file", "C:\\Users\\lab\\nandina.csv", NATIONAL.as_bytes()),
    )
    .await
    .assert_redirect("/admin/tariff");
    let page = c.get("/admin/tariff").await;
    page.assert_contains(
        "nandina.csv importado como NANDINA: 6 línea(s) nueva(s), 0 actualizada(s).",
    );
    page.assert_contains("6 líneas arancelarias importadas");
    let mut conn = app.db.conn();
    assert_eq!(tariff::count(&mut conn).unwrap(), 6);
    let audit = tariff_audit(&mut conn);
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].username.as_deref(), Some("admin"));

    // The code fields' suggestions: by code prefix (dots ignored) or by words.
    let mut o = app.client().await;
    o.login("oficial", "clave de laboratorio").await;
    let hits = o.get("/tariff/suggest?q=0101.2").await;
    assert_eq!(hits.status, 200);
    let lines: serde_json::Value = serde_json::from_str(&hits.body).unwrap();
    let codes: Vec<&str> = lines
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["code"].as_str().unwrap())
        .collect();
    // Shown as tariffs print them; the field accepts the dots back.
    assert_eq!(
        codes,
        vec!["0101.21", "0101.21.00", "0101.21.00.00", "0101.29.00.00"]
    );
    let words: serde_json::Value =
        serde_json::from_str(&o.get("/tariff/suggest?q=CARRERA").await.body).unwrap();
    assert_eq!(words[0]["code"], "0101.21.00.00");
    assert_eq!(o.get("/admin/tariff").await.status, 403);
    let mut t = app.client().await;
    t.login("tecnico", "clave de laboratorio").await;
    t.get("/admin/tariff").await;
    let refused = t
        .post_multipart(
            "/admin/tariff",
            &[("nomenclature", "NANDINA")],
            ("file", "arancel.csv", NATIONAL.as_bytes()),
        )
        .await;
    assert_eq!(refused.status, 403);
}
