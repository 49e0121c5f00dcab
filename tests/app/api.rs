//! The JSON API: tokens (account page and command line), bearer authentication, role rules,
//! problem documents for every error, each endpoint with good and bad input, keyset pages,
//! issued reports only, and every call in the audit log.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::test::TestRequest;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};

use crate::common::{Client, Page, TestApp};
use lims::user::{Role, User};

const PASSWORD: &str = "api-test-password";

async fn call<S, B>(
    c: &mut Client<S>,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Page
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut req = TestRequest::default().method(method).uri(path);
    if let Some(t) = token {
        req = req.insert_header((header::AUTHORIZATION, format!("Bearer {t}")));
    }
    if let Some(b) = body {
        req = req
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .set_payload(b.to_string());
    }
    c.request(req).await
}

async fn get<S, B>(c: &mut Client<S>, path: &str, token: &str) -> Page
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    call(c, Method::GET, path, Some(token), None).await
}

fn body(page: &Page) -> Value {
    serde_json::from_str(&page.body).unwrap_or_else(|e| panic!("{e}: {}", page.body))
}

/// Checks the RFC 9457 shape and returns the document.
#[track_caller]
fn problem(page: &Page, status: u16, path: &str) -> Value {
    assert_eq!(page.status.as_u16(), status, "{}", page.body);
    assert_eq!(
        page.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/problem+json"
    );
    let p = body(page);
    assert_eq!(p["status"], status);
    assert_eq!(p["instance"], path);
    assert!(p["type"].as_str().unwrap().starts_with("urn:lims:problem:"));
    assert!(!p["title"].as_str().unwrap().is_empty());
    assert!(!p["detail"].as_str().unwrap().is_empty());
    p
}

fn token(app: &TestApp, user: &User) -> String {
    lims::api_token::create(
        &mut app.db.conn(),
        &lims::audit::Actor::command_line(),
        user,
        Some("SIGAD"),
    )
    .expect("token")
}

fn field_errors(p: &Value) -> Vec<String> {
    p["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["field"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[actix_rt::test]
async fn token_made_on_the_account_page_is_shown_once_works_and_is_refused_once_revoked() {
    let app = TestApp::new();
    let officer = app.create_user("oficial", Role::Enforcement, PASSWORD);
    let samples = app.register(&officer, "ACTA-2026-000412", &["PR-1"]);
    let path = format!("/api/v1/samples/{}", samples[0].lab_code);
    let mut c = app.client().await;
    c.login("oficial", PASSWORD).await;

    // The session cookie signs in pages, never API calls.
    let p = call(&mut c, Method::GET, &path, None, None).await;
    problem(&p, 401, &path);
    assert!(p.headers.get(header::WWW_AUTHENTICATE).is_some());

    c.get("/account").await;
    let long = "x".repeat(101);
    let p = c.post("/account/tokens", &[("label", long.as_str())]).await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
    p.assert_contains(&long);
    let p = c.post("/account/tokens", &[("label", "SIGAD Tacna")]).await;
    assert_eq!(p.status, StatusCode::OK);
    let marker = "<code class=\"token\">";
    let start = p.body.find(marker).expect("the new token is shown") + marker.len();
    let secret: String = p.body[start..]
        .chars()
        .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_' || *ch == '-')
        .collect();
    p.assert_contains("SIGAD Tacna");
    let again = c.get("/account").await;
    assert!(!again.contains(&secret), "shown once only");

    let p = get(&mut c, &path, &secret).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!(body(&p)["lab_code"], samples[0].lab_code.as_str());
    assert!(
        p.headers.get(header::SET_COOKIE).is_none(),
        "no session on the API"
    );
    assert_eq!(p.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
    let p = get(&mut c, &path, "lims_not-a-token").await;
    problem(&p, 401, &path);

    let listed = lims::api_token::list_for(&mut app.db.conn(), &officer.id).unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].last_used_at.is_some(), "last use recorded");
    c.get("/account").await;
    c.post(&format!("/account/tokens/{}/revoke", listed[0].id), &[])
        .await
        .assert_redirect("/account#tokens");
    let p = get(&mut c, &path, &secret).await;
    problem(&p, 401, &path);
    let actions: Vec<String> = app
        .audit_of("api_token")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["revoke", "create"]);
    // Revoking twice, or someone else's token, is not found.
    c.get("/account").await;
    let p = c
        .post(&format!("/account/tokens/{}/revoke", listed[0].id), &[])
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

#[actix_rt::test]
async fn command_line_token_works_until_the_account_is_deactivated() {
    let app = TestApp::new();
    let tech = app.create_user("tecnico", Role::Technician, PASSWORD);
    let samples = app.register(&tech, "ACTA-2026-000001", &["PR-1"]);
    let secret = token(&app, &tech);
    let path = format!("/api/v1/samples/{}", samples[0].lab_code);
    let mut c = app.client().await;
    assert_eq!(get(&mut c, &path, &secret).await.status, StatusCode::OK);
    app.db
        .conn()
        .batch_execute(&format!(
            "UPDATE users SET active = FALSE WHERE id = '{}'",
            tech.id
        ))
        .unwrap();
    problem(&get(&mut c, &path, &secret).await, 401, &path);
    // A scheme other than Bearer is no token.
    let p = c
        .request(
            TestRequest::get()
                .uri(&path)
                .insert_header((header::AUTHORIZATION, format!("Basic {secret}"))),
        )
        .await;
    problem(&p, 401, &path);
}

fn seizure_json(reference: &str, seal: &str) -> String {
    json!({
        "reference": reference,
        "customs_office": "Intendencia de Aduana de Tacna",
        "declaration_number": "118-2026-10-012345",
        "seized_at": "2026-03-01T10:30",
        "place": "Santa Rosa",
        "seizing_officer": "Of. Soto",
        "goods_description": "Polvo blanco",
        "risk_channel": "red",
        "samples": [
            {"description": "Bolsa 1", "seal_number": seal, "quantity": 12.5, "quantity_unit": "g"},
            {"description": "Bolsa 2", "seal_number": format!("{seal}-B"), "priority": "urgent"}
        ]
    })
    .to_string()
}

#[actix_rt::test]
async fn seizures_are_registered_with_their_samples_by_the_forms_rules() {
    let app = TestApp::new();
    let officer = app.create_user("oficial", Role::Enforcement, PASSWORD);
    let admin = app.create_user("admin", Role::Admin, PASSWORD);
    let secret = token(&app, &officer);
    let mut c = app.client().await;
    let path = "/api/v1/seizures";

    let p = call(
        &mut c,
        Method::POST,
        path,
        Some(&secret),
        Some(&seizure_json("acta-2026-000412", "PR-9")),
    )
    .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let created = body(&p);
    assert_eq!(created["reference"], "ACTA-2026-000412");
    let codes: Vec<&str> = created["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["lab_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 2);
    assert!(codes.iter().all(|c| c.starts_with("LAB-")));
    assert_eq!(
        p.location(),
        Some(format!("/seizures/{}", created["id"].as_str().unwrap()).as_str())
    );
    let seizure = lims::seizure::find_by_reference(&mut app.db.conn(), "ACTA-2026-000412")
        .unwrap()
        .expect("stored");
    assert_eq!(seizure.registered_by, officer.id);
    assert_eq!(app.audit_of("seizure")[0].action, "create");

    // The same reference again: refused beside the field, as on the form.
    let p = call(
        &mut c,
        Method::POST,
        path,
        Some(&secret),
        Some(&seizure_json("ACTA-2026-000412", "PR-10")),
    )
    .await;
    let doc = problem(&p, 422, path);
    assert_eq!(field_errors(&doc), ["reference"]);

    // A customs officer's sample needs its seal; fields left out are required fields.
    let p = call(
        &mut c,
        Method::POST,
        path,
        Some(&secret),
        Some(r#"{"samples": [{"description": "Bolsa"}]}"#),
    )
    .await;
    let doc = problem(&p, 422, path);
    let fields = field_errors(&doc);
    assert!(fields.contains(&"reference".to_string()), "{fields:?}");
    assert!(
        fields.contains(&"samples[0].seal_number".to_string()),
        "{fields:?}"
    );
    assert_eq!(doc["type"], "urn:lims:problem:invalid-input");
    let messages = doc["errors"].as_array().unwrap();
    assert!(messages
        .iter()
        .all(|m| !m["message"].as_str().unwrap().is_empty()));

    // Not JSON, JSON of the wrong shape, another content type, too large.
    let p = call(&mut c, Method::POST, path, Some(&secret), Some("{")).await;
    assert_eq!(field_errors(&problem(&p, 400, path)), ["body"]);
    let p = call(
        &mut c,
        Method::POST,
        path,
        Some(&secret),
        Some(r#"{"samples": 3}"#),
    )
    .await;
    problem(&p, 422, path);
    let p = c
        .request(
            TestRequest::post()
                .uri(path)
                .insert_header((header::AUTHORIZATION, format!("Bearer {secret}")))
                .insert_header((header::CONTENT_TYPE, "text/plain"))
                .set_payload("hello"),
        )
        .await;
    problem(&p, 415, path);
    let big = format!(r#"{{"notes": "{}"}}"#, "x".repeat(300 * 1024));
    let p = call(&mut c, Method::POST, path, Some(&secret), Some(&big)).await;
    problem(&p, 413, path);

    // An administrator may not register seizures, on the API as on the pages.
    let admin_token = token(&app, &admin);
    let p = call(
        &mut c,
        Method::POST,
        path,
        Some(&admin_token),
        Some(&seizure_json("ACTA-2026-000999", "PR-11")),
    )
    .await;
    problem(&p, 403, path);
}

#[actix_rt::test]
async fn sample_status_and_custody_pages_follow_the_chain() {
    let app = TestApp::new();
    let officer = app.create_user("oficial", Role::Enforcement, PASSWORD);
    let admin = app.create_user("admin", Role::Admin, PASSWORD);
    let samples = app.register(&officer, "ACTA-2026-000412", &["PR-1"]);
    let code = samples[0].lab_code.clone();
    let secret = token(&app, &officer);
    let mut c = app.client().await;

    let p = get(
        &mut c,
        &format!("/api/v1/samples/{}", code.to_lowercase()),
        &secret,
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let s = body(&p);
    assert_eq!(s["status"], "registered");
    assert_eq!(s["seizure_reference"], "ACTA-2026-000412");
    assert_eq!(s["holder"], "Of. Soto");
    assert_eq!(s["place_kind"], "at_seizure");
    assert_eq!(s["place"], "Santa Rosa");

    // Two events (collected, sealed): one per page.
    let base = format!("/api/v1/samples/{code}/custody");
    let p = get(&mut c, &format!("{base}?limit=1"), &secret).await;
    let first = body(&p);
    assert_eq!(first["events"].as_array().unwrap().len(), 1);
    assert_eq!(first["events"][0]["seq"], 1);
    assert_eq!(first["events"][0]["kind"], "collected");
    let next = first["next"].as_str().expect("a second page").to_string();
    let p = get(&mut c, &format!("{base}?limit=1&after={next}"), &secret).await;
    let second = body(&p);
    assert_eq!(second["events"][0]["seq"], 2);
    assert_eq!(second["events"][0]["prev_hash"], first["events"][0]["hash"]);
    assert!(second["next"].is_null());
    let all = body(&get(&mut c, &base, &secret).await);
    assert_eq!(all["events"].as_array().unwrap().len(), 2);

    for bad in ["?limit=0", "?limit=101", "?limit=abc", "?after=xyz"] {
        let p = get(&mut c, &format!("{base}{bad}"), &secret).await;
        problem(&p, 400, &base);
    }
    let missing = "/api/v1/samples/LAB-2099-999999";
    problem(&get(&mut c, missing, &secret).await, 404, missing);
    problem(
        &get(&mut c, &format!("{missing}/custody"), &secret).await,
        404,
        &format!("{missing}/custody"),
    );
    // The administrator does not read cases, here as on the pages.
    let admin_token = token(&app, &admin);
    problem(&get(&mut c, &base, &admin_token).await, 403, &base);
}

const SHA_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SHA_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const SHA_C: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

/// Issued versions written with plain SQL (the issuing code is another part of the work):
/// report rp1 version 1 (RPT-…001, superseded) and version 2 (RPT-…002), report rp2 issued
/// (RPT-…003), report rp3 with a version awaiting its second signature (RPT-…009), all of
/// seizure `seizure_id`; and a report of another seizure (RPT-…004).
fn seed_reports(app: &TestApp, user: &str, seizure_id: &str, other_seizure: &str, pdf_sha: &str) {
    let t = |h: u32| format!("'2026-03-0{h} 09:00:00'");
    let version = |id: &str,
                   report: &str,
                   no: i32,
                   status: &str,
                   number: &str,
                   sha: &str,
                   at: u32,
                   supersedes: Option<&str>| {
        let issued = status == "issued";
        format!(
            "INSERT INTO report_versions (id, report_id, version_no, format_version, locale, status,
                lab_settings_id, content, controlled_found, prohibited_found, counterfeit_found,
                drafted_by, drafted_at, updated_at, report_number, content_sha256, issued_at,
                issued_by, pdf_sha256, supersedes_id, amendment_reason)
             VALUES ('{id}', '{report}', {no}, 1, 'es', '{status}', 'ls1',
                '{{\"report_number\":\"{number}\",\"locale\":\"es\"}}', FALSE, FALSE, FALSE,
                '{user}', {t0}, {t0}, '{number}', '{sha}', {issued_at}, {issued_by}, {pdf},
                {supersedes}, {reason});",
            t0 = t(at),
            issued_at = if issued { t(at) } else { "NULL".into() },
            issued_by = if issued { format!("'{user}'") } else { "NULL".into() },
            pdf = if issued { format!("'{pdf_sha}'") } else { "NULL".into() },
            supersedes = supersedes.map_or("NULL".into(), |s| format!("'{s}'")),
            reason = supersedes.map_or("NULL".into(), |_| "'Error de tipeo'".to_string()),
        )
    };
    let mut sql = format!(
        "INSERT INTO lab_settings (id, name, address, report_locale, require_second_signature,
            changed_by, changed_at)
         VALUES ('ls1', 'Laboratorio Central', 'Av. Gamarra 680, Callao', 'es', FALSE, '{user}', {t1});
         INSERT INTO reports (id, seizure_id, created_by, created_at) VALUES
            ('rp1', '{seizure_id}', '{user}', {t1}), ('rp2', '{seizure_id}', '{user}', {t1}),
            ('rp3', '{seizure_id}', '{user}', {t1}), ('rp4', '{other_seizure}', '{user}', {t1});",
        t1 = t(1)
    );
    sql += &version(
        "01900000-0000-7000-8000-000000000001",
        "rp1",
        1,
        "issued",
        "RPT-2026-000001",
        SHA_A,
        2,
        None,
    );
    sql += &version(
        "01900000-0000-7000-8000-000000000002",
        "rp1",
        2,
        "issued",
        "RPT-2026-000002",
        SHA_B,
        4,
        Some("01900000-0000-7000-8000-000000000001"),
    );
    sql += &version(
        "01900000-0000-7000-8000-000000000003",
        "rp2",
        1,
        "issued",
        "RPT-2026-000003",
        SHA_C,
        3,
        None,
    );
    sql += &version(
        "01900000-0000-7000-8000-000000000009",
        "rp3",
        1,
        "pending_signature",
        "RPT-2026-000009",
        SHA_A,
        5,
        None,
    );
    sql += &version(
        "01900000-0000-7000-8000-000000000004",
        "rp4",
        1,
        "issued",
        "RPT-2026-000004",
        SHA_A,
        6,
        None,
    );
    sql += &format!(
        "INSERT INTO report_signatures (id, report_version_id, signer_id, signer_name,
            signer_username, signer_role, meaning_code, meaning_text, auth_method, signed_at,
            content_sha256, key_id, signature_hash)
         VALUES ('sg1', '01900000-0000-7000-8000-000000000001', '{user}', 'Ana Pérez', 'sup', 'supervisor', 'reviewed_approved',
            'Revisado y aprobado', 'password', {t2}, '{SHA_A}', 'k', 'aa');
         INSERT INTO attachments (id, owner_kind, report_version_id, file_name, content_type,
            size_bytes, sha256, storage_key, uploaded_by, uploaded_at)
         VALUES ('at1', 'report_version', '01900000-0000-7000-8000-000000000001', 'RPT-2026-000001.pdf', 'application/pdf', 9,
            '{pdf_sha}', '{key}', '{user}', {t2});",
        t2 = t(2),
        key = lims::blob::BlobStore::key_for(pdf_sha),
    );
    app.db.conn().batch_execute(&sql).expect("seed reports");
}

#[actix_rt::test]
async fn issued_reports_of_a_case_page_by_page_never_a_draft() {
    let app = TestApp::new();
    let officer = app.create_user("oficial", Role::Enforcement, PASSWORD);
    let sup = app.create_user("sup", Role::Supervisor, PASSWORD);
    let mut conn = app.db.conn();
    let input = lims::seizure::SeizureInput {
        reference: "ACTA-2026-000412".into(),
        customs_office: "Intendencia de Aduana de Tacna".into(),
        declaration_number: "118-2026-10-012345".into(),
        seized_at: "2026-03-01T10:30".into(),
        place: "Santa Rosa".into(),
        seizing_officer: "Of. Soto".into(),
        goods_description: "Polvo blanco".into(),
        risk_channel: "red".into(),
        ..Default::default()
    };
    let rows = [lims::sample::SampleInput {
        description: "Bolsa".into(),
        seal_number: "PR-1".into(),
        priority: "routine".into(),
        ..Default::default()
    }];
    let tz = chrono_tz::America::Lima;
    let who = officer.handler(None);
    let mine = lims::seizure::register(&mut conn, &who, &input, &rows, true, tz).unwrap();
    let other = lims::seizure::register(
        &mut conn,
        &who,
        &lims::seizure::SeizureInput {
            reference: "ACTA-2026-000413".into(),
            declaration_number: String::new(),
            ..input.clone()
        },
        &rows[..],
        true,
        tz,
    )
    .unwrap();
    drop(conn);
    let pdf = b"%PDF-1.7\n".to_vec();
    let pdf_sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&pdf))
    };
    seed_reports(
        &app,
        sup.id.as_str(),
        mine.seizure.id.as_str(),
        other.seizure.id.as_str(),
        &pdf_sha,
    );
    app.state
        .blobs()
        .unwrap()
        .overwrite(&lims::blob::BlobStore::key_for(&pdf_sha), pdf.clone())
        .await
        .unwrap();
    let secret = token(&app, &officer);
    let mut c = app.client().await;

    // Newest issue first, two to a page; the version awaiting a signature never shows.
    let p = get(
        &mut c,
        "/api/v1/reports?seizure=acta-2026-000412&limit=2",
        &secret,
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    let page1 = body(&p);
    let numbers = |page: &Value| -> Vec<String> {
        page["reports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["number"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(numbers(&page1), ["RPT-2026-000002", "RPT-2026-000003"]);
    let after = page1["next"].as_str().expect("next page").to_string();
    let p = get(
        &mut c,
        &format!("/api/v1/reports?seizure=ACTA-2026-000412&limit=2&after={after}"),
        &secret,
    )
    .await;
    let page2 = body(&p);
    assert_eq!(numbers(&page2), ["RPT-2026-000001"]);
    assert!(page2["next"].is_null());
    let v1 = &page2["reports"][0];
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["superseded_by"], "RPT-2026-000002");
    assert_eq!(v1["content_sha256"], SHA_A);
    assert_eq!(v1["issued_at"], "2026-03-02T09:00:00Z");
    assert_eq!(v1["pdf"], "/api/v1/reports/RPT-2026-000001/pdf");
    let by_dam = body(
        &get(
            &mut c,
            "/api/v1/reports?declaration=118-2026-10-012345",
            &secret,
        )
        .await,
    );
    assert_eq!(
        numbers(&by_dam),
        ["RPT-2026-000002", "RPT-2026-000003", "RPT-2026-000001"]
    );
    let none = body(
        &get(
            &mut c,
            "/api/v1/reports?declaration=000-0000-00-000000",
            &secret,
        )
        .await,
    );
    assert!(numbers(&none).is_empty());
    for bad in [
        "",
        "?seizure=A&declaration=B",
        "?seizure=A&after=nope",
        "?seizure=A&limit=-1",
    ] {
        let p = get(&mut c, &format!("/api/v1/reports{bad}"), &secret).await;
        problem(&p, 400, "/api/v1/reports");
    }

    // One version in full: its frozen content, signatures and successor.
    let path = "/api/v1/reports/RPT-2026-000001";
    let r = body(&get(&mut c, path, &secret).await);
    assert_eq!(r["number"], "RPT-2026-000001");
    assert_eq!(r["superseded_by"], "RPT-2026-000002");
    assert_eq!(r["content"]["report_number"], "RPT-2026-000001");
    assert_eq!(r["signatures"][0]["signer_name"], "Ana Pérez");
    assert_eq!(r["signatures"][0]["meaning"], "Revisado y aprobado");
    let p = get(&mut c, &format!("{path}/pdf"), &secret).await;
    assert_eq!(p.status, StatusCode::OK);
    assert_eq!(
        p.headers.get(header::CONTENT_TYPE).unwrap(),
        "application/pdf"
    );
    assert_eq!(p.body.as_bytes(), pdf.as_slice());

    // A version awaiting its signature does not exist for the API; nor does a PDF never stored.
    for missing in [
        "/api/v1/reports/RPT-2026-000009",
        "/api/v1/reports/RPT-2026-000009/pdf",
        "/api/v1/reports/RPT-2026-000002/pdf",
        "/api/v1/reports/nonsense",
    ] {
        problem(&get(&mut c, missing, &secret).await, 404, missing);
    }
}

#[actix_rt::test]
async fn every_error_is_a_problem_and_every_call_is_audited() {
    let app = TestApp::new();
    let officer = app.create_user("oficial", Role::Enforcement, PASSWORD);
    let secret = token(&app, &officer);
    let mut c = app.client().await;
    c.accept_language = "en".into();

    let p = call(
        &mut c,
        Method::DELETE,
        "/api/v1/reports",
        Some(&secret),
        None,
    )
    .await;
    let doc = problem(&p, 405, "/api/v1/reports");
    assert_eq!(doc["type"], "urn:lims:problem:method-not-allowed");
    let p = get(&mut c, "/api/v1/nothing/here", &secret).await;
    problem(&p, 404, "/api/v1/nothing/here");
    let p = get(&mut c, "/api/v2/reports", &secret).await;
    problem(&p, 404, "/api/v2/reports");
    let p = call(&mut c, Method::GET, "/api/v1/reports?seizure=A", None, None).await;
    let doc = problem(&p, 401, "/api/v1/reports");
    assert!(
        doc["detail"].as_str().unwrap().contains("API token"),
        "{doc}"
    );

    // The description is public and needs no token.
    let p = call(&mut c, Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(p.status, StatusCode::OK);

    let p = get(&mut c, "/api/v1/reports?seizure=A", &secret).await;
    assert_eq!(p.status, StatusCode::OK);
    let calls = app.audit_of("api");
    let seen: Vec<(String, u64, bool)> = calls
        .iter()
        .map(|e| {
            let after: Value = serde_json::from_str(e.after_json.as_deref().unwrap()).unwrap();
            (
                format!(
                    "{} {}",
                    after["method"].as_str().unwrap(),
                    after["path"].as_str().unwrap()
                ),
                after["status"].as_u64().unwrap(),
                after["token_id"].is_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("GET /api/v1/reports".to_string(), 200, true),
            ("GET /api/v1/reports".to_string(), 401, false),
            ("GET /api/v1/nothing/here".to_string(), 404, true),
            ("DELETE /api/v1/reports".to_string(), 405, true),
        ]
    );
    assert_eq!(calls[0].user_id.as_ref(), Some(&officer.id));
    assert!(calls[1].user_id.is_none());
}
