//! Public report verification: `/verify/{number}?h=…` and the upload form answer without an
//! account, re-check the signatures, log every check and pace each client address. Issued
//! versions are written with plain SQL (as issuing would leave them), their signatures keyed
//! with the test custody key.

use actix_web::http::StatusCode;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use lims::custody::key::Keyring;
use lims::db::DbConn;
use lims::report::signature::Signed;
use lims::user::{Role, User};
use sha2::{Digest, Sha256};

use crate::common::{TestApp, CUSTODY_KEY};

pub const LAB: &str = "Laboratorio Central de Aduanas";

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A report version written as issuing leaves it.
pub struct Issued {
    pub version_id: String,
    pub number: String,
    pub hash: String,
    pub pdf: Vec<u8>,
}

pub fn exec(conn: &mut DbConn, sql: &str) {
    conn.batch_execute(sql)
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

/// The lab settings and a report on `sample_id` of `seizure_id` (ids `ls-…`, `rp-…`).
pub fn report_of(conn: &mut DbConn, user: &User, seizure_id: &str, sample_id: &str) -> String {
    let report = uuid::Uuid::now_v7().to_string();
    exec(
        conn,
        &format!(
            "INSERT INTO lab_settings (id, name, address, report_locale, require_second_signature,
                changed_by, changed_at)
             VALUES ('ls-{report}', '{LAB}', 'Av. Gamarra 680, Callao', 'es', FALSE, '{u}',
                '2026-03-01 10:00:00');
             INSERT INTO reports (id, seizure_id, sample_id, created_by, created_at)
             VALUES ('{report}', '{seizure_id}', '{sample_id}', '{u}', '2026-03-01 10:00:00');",
            u = user.id
        ),
    );
    report
}

/// Version `version_no` of `report`, issued as `number` and signed by `user` (superseding
/// `supersedes` with a reason when given).
pub fn issue(
    conn: &mut DbConn,
    user: &User,
    report: &str,
    version_no: i32,
    number: &str,
    supersedes: Option<&str>,
) -> Issued {
    let version_id = uuid::Uuid::now_v7().to_string();
    let content = format!(
        r#"{{"format_version":1,"locale":"es","report_number":"{number}","version_no":{version_no},"laboratory":{{"name":"{LAB}","address":"Av. Gamarra 680, Callao"}},"results":[{{"value":"Cocaína 82,4 %"}}]}}"#
    );
    let hash = sha(content.as_bytes());
    let pdf = format!("%PDF-1.7\n% {number}\n").into_bytes();
    let (sup, reason) = match supersedes {
        Some(id) => (
            format!("'{id}'"),
            "'Corrección del peso declarado'".to_string(),
        ),
        None => ("NULL".to_string(), "NULL".to_string()),
    };
    let at = "2026-03-02 14:30:00";
    exec(
        conn,
        &format!(
            "INSERT INTO report_versions (id, report_id, version_no, format_version, locale, status,
                lab_settings_id, content, controlled_found, prohibited_found, counterfeit_found,
                supersedes_id, amendment_reason, report_number, content_sha256, drafted_by,
                drafted_at, updated_at, issued_at, issued_by, pdf_sha256)
             VALUES ('{version_id}', '{report}', {version_no}, 1, 'es', 'issued', 'ls-{report}',
                '{content}', TRUE, FALSE, FALSE, {sup}, {reason}, '{number}', '{hash}', '{u}',
                '{at}', '{at}', '{at}', '{u}', '{pdf_sha}')",
            u = user.id,
            pdf_sha = sha(&pdf),
        ),
    );
    sign(conn, user, &version_id, number, &hash, None);
    Issued {
        version_id,
        number: number.to_string(),
        hash,
        pdf,
    }
}

/// A signature row over `hash`: keyed with the test key, or with `forged` as its hash.
pub fn sign(
    conn: &mut DbConn,
    user: &User,
    version_id: &str,
    number: &str,
    hash: &str,
    forged: Option<&str>,
) {
    let id = uuid::Uuid::now_v7().to_string();
    let signed_at = chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap()
        .and_hms_opt(14, 30, 0)
        .unwrap();
    let meaning = if forged.is_some() {
        "technical_review"
    } else {
        "reviewed_approved"
    };
    let signed = Signed {
        signature_id: &id,
        report_version_id: version_id,
        report_number: number,
        signer_id: user.id.as_str(),
        signer_name: "Ana Pérez",
        signer_username: &user.username,
        signer_role: "supervisor",
        meaning_code: meaning,
        meaning_text: "Revisado y aprobado",
        auth_method: "password",
        signed_at,
        content_sha256: hash,
    };
    let ring = Keyring::new(&CUSTODY_KEY, &[]);
    let tag = forged
        .map(str::to_string)
        .unwrap_or_else(|| signed.hash(ring.active()));
    exec(
        conn,
        &format!(
            "INSERT INTO report_signatures (id, report_version_id, signer_id, signer_name,
                signer_username, signer_role, meaning_code, meaning_text, auth_method, signed_at,
                content_sha256, key_id, signature_hash)
             VALUES ('{id}', '{version_id}', '{signer}', 'Ana Pérez', '{username}', 'supervisor',
                '{meaning}', 'Revisado y aprobado', 'password', '2026-03-02 14:30:00', '{hash}',
                '{key}', '{tag}')",
            signer = user.id,
            username = user.username,
            key = ring.active().id(),
        ),
    );
}

/// Version 1 of `report`, frozen as `number` by a first signature but never issued.
pub fn freeze_unissued(conn: &mut DbConn, user: &User, report: &str, number: &str, hash: &str) {
    exec(
        conn,
        &format!(
            "INSERT INTO report_versions (id, report_id, version_no, format_version, locale, status,
                lab_settings_id, content, controlled_found, prohibited_found, counterfeit_found,
                report_number, content_sha256, drafted_by, drafted_at, updated_at)
             VALUES ('{}', '{report}', 1, 1, 'es', 'pending_signature', 'ls-{report}', '{{}}',
                FALSE, FALSE, FALSE, '{number}', '{hash}', '{}', '2026-04-11 10:00:00',
                '2026-04-11 10:00:00')",
            uuid::Uuid::now_v7(),
            user.id
        ),
    );
}

/// A seizure with one sample, and a supervisor: (supervisor, seizure id, sample id).
pub fn case(app: &TestApp, reference: &str) -> (User, String, String) {
    let officer = app.create_user("oficial", Role::Enforcement, "oficial-password");
    let boss = app.create_user("jefa", Role::Supervisor, "jefa-password-1");
    let samples = app.register(&officer, reference, &["PR-0001"]);
    (
        boss,
        samples[0].seizure_id.to_string(),
        samples[0].id.to_string(),
    )
}

/// Every recorded check: (number, outcome, via, address), oldest first.
fn checks(conn: &mut DbConn) -> Vec<(String, String, String, Option<String>)> {
    use lims::db::schema::report_verifications as rv;
    rv::table
        .order((rv::checked_at, rv::id))
        .select((rv::report_number, rv::outcome, rv::via, rv::remote_addr))
        .load(conn)
        .unwrap()
}

#[actix_web::test]
async fn a_report_is_checked_by_number_and_hash_without_an_account() {
    let app = TestApp::new();
    let (boss, seizure, sample) = case(&app, "ACTA-2026-000412");
    let mut conn = app.db.conn();
    let report = report_of(&mut conn, &boss, &seizure, &sample);
    let v1 = issue(&mut conn, &boss, &report, 1, "RPT-2026-000001", None);
    let mut c = app.client().await;

    // Issued and valid: when (with the time zone) and by which laboratory, nothing more.
    let page = c.get(&format!("/verify/{}?h={}", v1.number, v1.hash)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("Emitido y válido");
    page.assert_contains(LAB);
    page.assert_contains("02/03/2026 09:30 (America/Lima UTC-05:00)");
    assert!(!page.contains("Cocaína"), "no result is revealed");
    assert!(!page.contains("Ana Pérez"), "no name of a person");
    assert!(!page.contains("ACTA-2026-000412"), "no seizure");
    assert!(!page.contains("mainnav"), "no navigation");

    // The number typed in lower case, the hash in upper case: the same report.
    let page = c
        .get(&format!(
            "/verify?number=rpt-2026-000001&h={}",
            v1.hash.to_uppercase()
        ))
        .await;
    page.assert_redirect(&format!("/verify/RPT-2026-000001?h={}", v1.hash));

    // Another hash: the number was issued, not with this content.
    let other = "0".repeat(64);
    let page = c.get(&format!("/verify/{}?h={other}", v1.number)).await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("El contenido no coincide");
    assert!(!page.contains(LAB));

    // A number never given.
    let page = c
        .get(&format!("/verify/RPT-2026-000777?h={}", v1.hash))
        .await;
    page.assert_contains("No emitido por este laboratorio");

    // An amendment supersedes version 1; version 1 says so and names it.
    let v2 = issue(
        &mut conn,
        &boss,
        &report,
        2,
        "RPT-2026-000002",
        Some(&v1.version_id),
    );
    let page = c.get(&format!("/verify/{}?h={}", v1.number, v1.hash)).await;
    page.assert_contains("reemplazado por una modificación");
    page.assert_contains("RPT-2026-000002");
    let page = c.get(&format!("/verify/{}?h={}", v2.number, v2.hash)).await;
    page.assert_contains("Emitido y válido");

    // In English as well.
    c.accept_language = "en".into();
    let page = c.get(&format!("/verify/{}?h={}", v1.number, v1.hash)).await;
    page.assert_contains("Superseded by");

    // Every check was kept (the redirect of the form is not a check).
    let outcomes: Vec<(String, String)> = checks(&mut conn)
        .into_iter()
        .map(|(n, o, v, _)| {
            assert_eq!(v, "page");
            (n, o)
        })
        .collect();
    let want = [
        ("RPT-2026-000001", "issued"),
        ("RPT-2026-000001", "mismatch"),
        ("RPT-2026-000777", "unknown"),
        ("RPT-2026-000001", "superseded"),
        ("RPT-2026-000002", "issued"),
        ("RPT-2026-000001", "superseded"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(n, o)| (n.to_string(), o.to_string()))
        .collect();
    assert_eq!(outcomes, want);
}

#[actix_web::test]
async fn a_forged_signature_or_altered_content_is_never_valid() {
    let app = TestApp::new();
    let (boss, seizure, sample) = case(&app, "ACTA-2026-000413");
    let mut conn = app.db.conn();
    let report = report_of(&mut conn, &boss, &seizure, &sample);
    let v1 = issue(&mut conn, &boss, &report, 1, "RPT-2026-000010", None);
    let mut c = app.client().await;
    let url = format!("/verify/{}?h={}", v1.number, v1.hash);
    c.get(&url).await.assert_contains("Emitido y válido");

    // A second signature row inserted behind the application's back.
    let intruder = app.create_user("intruso", Role::Supervisor, "intruso-password");
    sign(
        &mut conn,
        &intruder,
        &v1.version_id,
        &v1.number,
        &v1.hash,
        Some(&"ab".repeat(32)),
    );
    let page = c.get(&url).await;
    page.assert_contains("El contenido no coincide");
    assert!(!page.contains("Emitido y válido"));

    // A version issued wholly by SQL, its only signature made up.
    let report2 = report_of(&mut conn, &boss, &seizure, &sample);
    let content = r#"{"laboratory":{"name":"Falso"}}"#;
    let hash = sha(content.as_bytes());
    let version = uuid::Uuid::now_v7().to_string();
    exec(
        &mut conn,
        &format!(
            "INSERT INTO report_versions (id, report_id, version_no, format_version, locale, status,
                lab_settings_id, content, controlled_found, prohibited_found, counterfeit_found,
                report_number, content_sha256, drafted_by, drafted_at, updated_at, issued_at,
                issued_by, pdf_sha256)
             VALUES ('{version}', '{report2}', 1, 1, 'es', 'issued', 'ls-{report2}', '{content}',
                FALSE, FALSE, FALSE, 'RPT-2026-000011', '{hash}', '{u}', '2026-03-02 10:00:00',
                '2026-03-02 10:00:00', '2026-03-02 10:00:00', '{u}', '{hash}')",
            u = boss.id
        ),
    );
    sign(
        &mut conn,
        &boss,
        &version,
        "RPT-2026-000011",
        &hash,
        Some(&"cd".repeat(32)),
    );
    c.get(&format!("/verify/RPT-2026-000011?h={hash}"))
        .await
        .assert_contains("El contenido no coincide");

    // A version frozen but never issued.
    let report3 = report_of(&mut conn, &boss, &seizure, &sample);
    freeze_unissued(&mut conn, &boss, &report3, "RPT-2026-000012", &hash);
    c.get(&format!("/verify/RPT-2026-000012?h={hash}"))
        .await
        .assert_contains("No emitido por este laboratorio");

    let outcomes: Vec<String> = checks(&mut conn).into_iter().map(|c| c.1).collect();
    assert_eq!(outcomes, ["issued", "mismatch", "mismatch", "not_issued"]);
}

#[actix_web::test]
async fn bad_numbers_and_hashes_are_explained_and_not_checked() {
    let app = TestApp::with_admin();
    let mut c = app.client().await;
    let page = c.get("/verify").await;
    assert_eq!(page.status, StatusCode::OK);
    page.assert_contains("Verificar un informe de ensayo");
    for url in [
        "/verify/RPT-26-1?h=abc",
        "/verify/'%20OR%201=1?h=",
        "/verify/RPT-2026-000001",
        "/verify?number=x&h=y",
    ] {
        let page = c.get(url).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{url}");
        page.assert_contains("64 caracteres hexadecimales");
    }
    c.get("/verify/RPT-26-1?h=abc")
        .await
        .assert_contains("RPT-AAAA-NNNNNN");
    // What was typed comes back.
    c.get("/verify?number=RPT-2026-1&h=zz")
        .await
        .assert_contains("value=\"RPT-2026-1\"");
    assert!(checks(&mut app.db.conn()).is_empty());
}

#[actix_web::test]
async fn the_uploaded_pdf_is_checked_against_the_stored_one() {
    let app = TestApp::new();
    let (boss, seizure, sample) = case(&app, "ACTA-2026-000414");
    let mut conn = app.db.conn();
    let report = report_of(&mut conn, &boss, &seizure, &sample);
    let v1 = issue(&mut conn, &boss, &report, 1, "RPT-2026-000020", None);
    let mut c = app.client().await;
    c.get("/verify").await;

    let page = c
        .post_multipart("/verify/upload", &[], ("pdf", "informe.pdf", &v1.pdf))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.assert_contains("Emitido y válido");
    page.assert_contains("RPT-2026-000020");

    let mut altered = v1.pdf.clone();
    altered.extend_from_slice(b"% one more line\n");
    let page = c
        .post_multipart("/verify/upload", &[], ("pdf", "informe.pdf", &altered))
        .await;
    page.assert_contains("No emitido por este laboratorio");

    let page = c
        .post_multipart("/verify/upload", &[], ("pdf", "informe.txt", b"hola"))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    page.assert_contains("El archivo no es un PDF.");
    let page = c
        .post_multipart("/verify/upload", &[], ("pdf", "", b""))
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    page.assert_contains("Elija el archivo PDF");

    let got: Vec<(String, String, String)> = checks(&mut conn)
        .into_iter()
        .map(|(n, o, v, _)| (n, o, v))
        .collect();
    assert_eq!(
        got,
        [
            ("RPT-2026-000020".into(), "issued".into(), "upload".into()),
            (String::new(), "unknown".into(), "upload".into()),
        ]
    );
}

#[actix_web::test]
async fn checks_are_limited_per_client_address() {
    let app = TestApp::with_config(|c| c.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()]);
    let (boss, seizure, sample) = case(&app, "ACTA-2026-000415");
    let mut conn = app.db.conn();
    let report = report_of(&mut conn, &boss, &seizure, &sample);
    let v1 = issue(&mut conn, &boss, &report, 1, "RPT-2026-000030", None);
    let url = format!("/verify/{}?h={}", v1.number, v1.hash);
    let behind_proxy = |addr: &str| vec![("X-Forwarded-For".to_string(), addr.to_string())];
    let proxy = Some("10.0.0.2:40000".parse().unwrap());
    let mut a = app.client().await;
    (a.peer, a.headers) = (proxy, behind_proxy("203.0.113.7"));
    for _ in 0..lims::report::verification::LIMIT_PER_MINUTE {
        assert_eq!(a.get(&url).await.status, StatusCode::OK);
    }
    let page = a.get(&url).await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = page
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=61).contains(&retry), "{retry}");
    page.assert_contains("Demasiadas verificaciones");
    // The upload is paced by the same count.
    a.get("/verify").await;
    let page = a
        .post_multipart("/verify/upload", &[], ("pdf", "informe.pdf", &v1.pdf))
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);

    // Another client behind the same proxy is not held back.
    let mut b = app.client().await;
    (b.peer, b.headers) = (proxy, behind_proxy("198.51.100.9"));
    b.get(&url).await.assert_contains("Emitido y válido");

    let rows = checks(&mut conn);
    let limit = lims::report::verification::LIMIT_PER_MINUTE as usize;
    assert_eq!(rows.len(), limit + 1, "refused checks are not recorded");
    assert!(rows[..limit]
        .iter()
        .all(|r| r.3.as_deref() == Some("203.0.113.7")));
    assert_eq!(rows[limit].3.as_deref(), Some("198.51.100.9"));
}

#[actix_web::test]
async fn a_signed_in_user_sees_the_public_page_without_their_navigation() {
    let app = TestApp::new();
    let (boss, seizure, sample) = case(&app, "ACTA-2026-000416");
    let mut conn = app.db.conn();
    let report = report_of(&mut conn, &boss, &seizure, &sample);
    let v1 = issue(&mut conn, &boss, &report, 1, "RPT-2026-000040", None);
    let mut c = app.client().await;
    c.login("jefa", "jefa-password-1").await;
    assert!(c.get("/").await.contains("mainnav"));
    let page = c.get(&format!("/verify/{}?h={}", v1.number, v1.hash)).await;
    page.assert_contains("Emitido y válido");
    assert!(!page.contains("mainnav"));
    assert!(!page.contains("jefa"));
}

#[actix_web::test]
async fn the_api_answers_the_same_check_without_a_token_and_paces_it_alike() {
    let app = TestApp::new();
    let (boss, seizure, sample) = case(&app, "ACTA-2026-000417");
    let mut conn = app.db.conn();
    let report = report_of(&mut conn, &boss, &seizure, &sample);
    let v1 = issue(&mut conn, &boss, &report, 1, "RPT-2026-000040", None);
    let mut c = app.client().await;
    let json = |body: &str| serde_json::from_str::<serde_json::Value>(body).unwrap();

    let res = c
        .get(&format!("/api/v1/verify/{}?h={}", v1.number, v1.hash))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let answer = json(&res.body);
    assert_eq!(answer["outcome"], "issued");
    assert_eq!(answer["valid"], true);
    assert_eq!(answer["laboratory"], LAB);
    assert_eq!(answer["issued_at"], "2026-03-02T14:30:00Z");
    assert!(answer.get("content").is_none() && !res.body.contains("Ana Pérez"));

    let res = c
        .get(&format!(
            "/api/v1/verify/{}?h={}",
            v1.number,
            "0".repeat(64)
        ))
        .await;
    let answer = json(&res.body);
    assert_eq!(
        (answer["outcome"].as_str(), answer["valid"].as_bool()),
        (Some("mismatch"), Some(false))
    );
    assert!(answer["laboratory"].is_null());
    let res = c
        .get(&format!("/api/v1/verify/RPT-2026-000999?h={}", v1.hash))
        .await;
    assert_eq!(json(&res.body)["outcome"], "unknown");

    // Bad input: a problem naming the field, and nothing recorded.
    let before = checks(&mut conn).len();
    for (url, field) in [
        (
            format!("/api/v1/verify/LAB-2026-000001?h={}", v1.hash),
            "number",
        ),
        (format!("/api/v1/verify/{}?h=abc", v1.number), "h"),
        (format!("/api/v1/verify/{}", v1.number), "h"),
    ] {
        let res = c.get(&url).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{url}: {}", res.body);
        let problem = json(&res.body);
        assert_eq!(problem["errors"][0]["field"], field, "{url}");
        assert_eq!(problem["status"], 400);
    }
    assert_eq!(checks(&mut conn).len(), before);
    assert!(checks(&mut conn).iter().all(|(_, _, via, _)| via == "api"));

    // The same limit as the page, as a problem with Retry-After.
    let url = format!("/api/v1/verify/{}?h={}", v1.number, v1.hash);
    for _ in before..lims::report::verification::LIMIT_PER_MINUTE as usize {
        assert_eq!(c.get(&url).await.status, StatusCode::OK);
    }
    let res = c.get(&url).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "{}", res.body);
    assert!(res.headers.get("retry-after").is_some());
    assert_eq!(json(&res.body)["status"], 429);
}
